"""Who logs into InfluxDB as whom, natively and in compose, and what each login may do: the compose
image's init scripts run against a real InfluxDB (authentication on, empty, as the image starts a new
volume), then each service's login does exactly its service's work and no more."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
import tomllib
from pathlib import Path

import pytest
import yaml

from labdcs.experiments.series import IMPORT_POLICY, SOURCES, ExperimentSeries
from labdcs.ingest.influx import InfluxClient, InfluxError, InfluxSettings
from labdcs.ingest.mapping import DATABASE
from labdcs.security import influx as influx_auth
from labdcs.security.secrets import DOCKER_SECRETS
from labdcs.stack.paths import project_root
from tests.support import Influx

ROOT = project_root()
INIT = ROOT / "influxdb" / "init"
NOW_MS = int(time.time() * 1000)
POINT = f"power,device=hv1,channel=ch1,kind=hv v_mon=1.5 {NOW_MS}"  # the clients write ms


def compose_logins() -> dict[str, tuple[str, str]]:
    """Service -> (InfluxDB user, Docker secret holding its password), read from the files compose
    mounts: docker-compose.yml (experiments), Telegraf's configuration, Grafana's datasource."""
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    logins: dict[str, tuple[str, str]] = {}
    for name, service in compose["services"].items():
        env = service.get("environment") or {}
        if "LABDCS_INFLUX__USERNAME" in env:
            secret = env["LABDCS_INFLUX__PASSWORD_FILE"].removeprefix("/run/secrets/")
            logins[name] = (env["LABDCS_INFLUX__USERNAME"], secret)
    telegraf = tomllib.loads((ROOT / "telegraf" / "telegraf.conf").read_text())
    outputs = telegraf["outputs"]["influxdb"]
    assert {(o["username"], o["password"]) for o in outputs} == {
        ("writer", "@{docker_secrets:influxdb_writer}")
    }
    logins["telegraf"] = ("writer", "influxdb_writer")
    datasources = yaml.safe_load((ROOT / "grafana/provisioning/datasources/labdcs.yaml").read_text())
    (source,) = datasources["datasources"]
    found = re.fullmatch(r"\$__file\{/run/secrets/(\w+)\}", source["secureJsonData"]["password"])
    assert found, source
    logins["grafana"] = (source["user"], found.group(1))
    for service, (_, secret) in logins.items():
        assert secret in compose["services"][service]["secrets"], f"{service} is not given {secret}"
    return logins


def test_every_compose_service_logs_in_as_a_user_of_its_own_and_is_given_that_secret() -> None:
    logins = compose_logins()
    assert logins == {
        "experiments": ("experiments", "influxdb_experiments"),
        "telegraf": ("writer", "influxdb_writer"),
        "grafana": ("reader", "influxdb_reader"),
    }
    assert {user for user, _ in logins.values()} <= set(influx_auth.USERS)
    for user, secret in logins.values():
        assert DOCKER_SECRETS[secret] == f"influxdb/{user}"


@pytest.fixture
def compose_influx(tmp_path: Path) -> Influx:
    """A real InfluxDB after the compose image's init: 00-users.sh sourced, then every .iql run through
    `$INFLUX_CMD "$(cat file)"`, as the image's entrypoint does for an empty volume."""
    if shutil.which("influx") is None:
        pytest.skip("the influx CLI (Debian package influxdb-client) is not installed: run scripts/setup")
    influx = Influx(tmp_path / "influxdb", prepared=False)
    influx.start()
    mounted = tmp_path / "run-secrets"  # /run/secrets as compose mounts it
    mounted.mkdir()
    for name, relative in DOCKER_SECRETS.items():
        if influx.secrets.path(relative).is_file():
            (mounted / name).symlink_to(influx.secrets.path(relative))
    init = (
        'set -eu; for f in ./*; do case "$f" in *.sh) . "$f" ;; '
        '*.iql) $INFLUX_CMD "$(cat "$f")" ;; esac; done'
    )
    done = subprocess.run(
        ["sh", "-c", init],
        cwd=INIT,
        env={**os.environ, "INFLUXDB_INIT_PORT": str(influx.port), "LABDCS_SECRETS_DIR": str(mounted)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    yield influx  # type: ignore[misc]
    influx.stop()


def _refused(action: object) -> bool:
    try:
        action()  # type: ignore[operator]
    except InfluxError as exc:
        return any(word in str(exc) for word in ("401", "403", "authoriz"))
    return False


def test_compose_init_creates_the_policies_and_each_login_does_its_work_and_no_more(
    compose_influx: Influx,
) -> None:
    admin = compose_influx.client
    policies = {row[0]: row for row in admin.series_values("SHOW RETENTION POLICIES")}
    assert policies["raw"][4] is True and set(policies) >= {"raw", "trend", "events", IMPORT_POLICY}
    assert admin.series_values("SHOW CONTINUOUS QUERIES") is not None
    for user, privilege in influx_auth.USERS.items():
        grants = admin.series_values(f'SHOW GRANTS FOR "{user}"')
        assert grants == [[DATABASE, "ALL PRIVILEGES" if privilege == "ALL" else privilege]], (user, grants)
    users = {row[0]: row[1] for row in admin.series_values("SHOW USERS")}
    assert users == {"admin": True, **dict.fromkeys(influx_auth.USERS, False)}

    writer, reader = compose_influx.login("writer"), compose_influx.login("reader")
    experiments = compose_influx.login("experiments")
    assert writer.write([POINT]).written == 1  # Telegraf, the ingester
    assert _refused(lambda: writer.query('SELECT * FROM "power"'))
    assert reader.series_values('SELECT "v_mon" FROM "power"') == [[NOW_MS, 1.5]]  # Grafana
    assert _refused(lambda: reader.write([POINT.replace("1.5", "2.5")]))
    # The experiments manager: reads live and imported runs, writes an import, deletes a failed one.
    series = ExperimentSeries(experiments)
    imported = "cycler,experiment=x1 voltage=3.7,current=1.0 1767225600000"
    series.write_imported([imported])
    assert experiments.series_values(f'SELECT "voltage" FROM {SOURCES}') == [[1767225600000, 3.7]]
    series.delete("x1")
    assert series.count("x1") == 0
    for login in (writer, reader, experiments):  # privileged set-up is never theirs
        assert _refused(lambda login=login: login.query('CREATE DATABASE "other"', database=""))
        assert _refused(
            lambda login=login: login.query(
                f'CREATE RETENTION POLICY "p" ON "{DATABASE}" DURATION 1d REPLICATION 1', database=""
            )
        )


def test_native_influxdb_is_prepared_the_same_way(influx: Influx) -> None:
    """`labdcs up`'s preparation (tests' Influx fixture runs it) gives the same users, grants and
    policies as the compose init."""
    admin = influx.client
    for user, privilege in influx_auth.USERS.items():
        grants = admin.series_values(f'SHOW GRANTS FOR "{user}"')
        assert grants == [[DATABASE, "ALL PRIVILEGES" if privilege == "ALL" else privilege]]
    assert {row[0] for row in admin.series_values("SHOW RETENTION POLICIES")} == {
        name for name in ("raw", "trend", "events", IMPORT_POLICY)
    } | {"autogen"}
    anonymous = InfluxClient(InfluxSettings(url=influx.url, database=DATABASE))
    assert _refused(lambda: anonymous.query("SHOW MEASUREMENTS"))


def test_the_manager_says_in_words_when_the_imports_policy_was_never_created(tmp_path: Path) -> None:
    """A database made by hand without `labdcs up`/the compose init: a clear error naming the policy
    and who creates it, never a privileged statement attempted by the manager."""
    influx = Influx(tmp_path / "influxdb")
    influx.start()
    try:
        influx.client.query(f'DROP RETENTION POLICY "{IMPORT_POLICY}" ON "{DATABASE}"', database="")
        series = ExperimentSeries(influx.login("experiments"))
        with pytest.raises(InfluxError, match=r"retention policy not found.*created by `labdcs up`"):
            series.count("x1")
    finally:
        influx.stop()
