"""InfluxDB 1.x with authentication: an admin and one least-privileged user per consumer, their
passwords from the secrets folder.

The native stack (``labdcs up``) and the compose stack (``influxdb/init/00-users.sh``, checked against
:data:`USERS` by a test) create the same users with the same grants. Privileged start-up work
(database, retention policies, users) is done here, once, as the admin: a service never needs more
than its grant at run time.
"""

from __future__ import annotations

from labdcs.ingest.influx import InfluxClient, InfluxError, InfluxSettings
from labdcs.security.secrets import SecretsDir

ADMIN, WRITER, READER, EXPERIMENTS = "admin", "writer", "reader", "experiments"

#: Non-admin user -> its privilege on the labdcs database, and who logs in as it.
USERS: dict[str, str] = {
    WRITER: "WRITE",  # the ingester and Telegraf: writes points, reads nothing
    READER: "READ",  # Grafana's datasource: reads, writes nothing
    EXPERIMENTS: "ALL",  # the experiments manager: reads runs, writes imports, deletes a failed import
}


def settings(url: str, database: str, store: SecretsDir, user: str) -> InfluxSettings:
    return InfluxSettings(
        url=url, database=database, username=user, password_file=str(store.require(f"influxdb/{user}"))
    )


def ensure_users(url: str, database: str, store: SecretsDir) -> InfluxClient:
    """Create the admin (InfluxDB accepts that one unauthenticated while it has no user) and every
    user of :data:`USERS` with its grant, or set their passwords to the secrets' (after a rotation);
    returns an admin client."""
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
    for user, grant in USERS.items():
        secret = store.read(f"influxdb/{user}")
        if user in existing:
            admin.query(f"SET PASSWORD FOR {user} = '{secret}'", database="")
        else:
            admin.query(f"CREATE USER {user} WITH PASSWORD '{secret}'", database="")
        admin.query(f'GRANT {grant} ON "{database}" TO {user}', database="")
    return admin
