"""InfluxDB 1.x with authentication: the admin, a write-only user (ingest) and a read-only user
(Grafana, the experiments manager), their passwords from the secrets folder."""

from __future__ import annotations

from labdcs.ingest.influx import InfluxClient, InfluxError, InfluxSettings
from labdcs.security.secrets import SecretsDir

ADMIN, WRITER, READER = "admin", "writer", "reader"


def settings(url: str, database: str, store: SecretsDir, user: str) -> InfluxSettings:
    return InfluxSettings(
        url=url, database=database, username=user, password_file=str(store.require(f"influxdb/{user}"))
    )


def ensure_users(url: str, database: str, store: SecretsDir) -> InfluxClient:
    """Create the admin (InfluxDB accepts that one unauthenticated while it has no user) and the
    writer and reader, or set their passwords to the secrets' (after a rotation); returns an admin
    client."""
    anonymous = InfluxClient(InfluxSettings(url=url, database=database))
    admin = InfluxClient(settings(url, database, store, ADMIN))
    password = store.read(f"influxdb/{ADMIN}")
    try:
        users = admin.query("SHOW USERS", database="")
    except InfluxError:
        anonymous.query(f"CREATE USER {ADMIN} WITH PASSWORD '{password}' WITH ALL PRIVILEGES", database="")
        users = admin.query("SHOW USERS", database="")
    admin.query(f'CREATE DATABASE "{database}"', database="")  # idempotent; grants need it
    existing = {row[0] for result in users for series in result.get("series", []) for row in series["values"]}
    for user, grant in ((WRITER, "WRITE"), (READER, "READ")):
        secret = store.read(f"influxdb/{user}")
        verb = "SET PASSWORD FOR" if user in existing else "CREATE USER"
        admin.query(
            f"{verb} {user} = '{secret}'" if user in existing else f"{verb} {user} WITH PASSWORD '{secret}'",
            database="",
        )
        admin.query(f'GRANT {grant} ON "{database}" TO {user}', database="")
    return admin
