"""A client id belongs to its user (issue 12, point 1): the broker refuses an id of the form
``<user>:...`` to every other login (mosquitto/plugin/labdcs_clientid.c), so a stolen device password
cannot knock the interlock off the broker or take the ingester's persistent session."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any

from labdcs.contract import topics
from labdcs.ingest.mapping import MAPPINGS
from labdcs.mqtt import owned_id
from labdcs.security.mosquitto import SERVICE_USERS
from labdcs.settings import MqttSettings
from tests.safety.conftest import INTERLOCK, hv, interlock_link, rules
from tests.support import Broker, DeviceProcess, LabdcsProcess, Probe, mqtt_connect_as, wait_until

ACCEPTED, NOT_AUTHORISED = 0, 5
_CONNECTED = re.compile(r"connected to \S+ as (\S+) \(session present")


def _client_id(process: LabdcsProcess) -> str:
    """The id a service connected with, from its log: an attacker reads it in a log or guesses it."""
    return wait_until(lambda: next(iter(_CONNECTED.findall(process.log_text())), None), 10, "its client id")


DEVICES = ("hv1", "env1")


def _service_ids() -> dict[str, list[str]]:
    """Every fixed id a service or device of the stack connects with, by its login (from the code)."""

    def of(user: str, *names: str) -> list[str]:
        return [owned_id(MqttSettings(username=user), name) for name in names]

    ids = {
        "ingest": of("ingest", "ingest"),
        "interlock": of("interlock", "interlock-interlock"),
        "telegraf": of("telegraf", *(mapping.name for mapping in MAPPINGS)),
        "cli": of("cli", "status-0a1b2c3d", "cli-0a1b2c3d"),
        "experiments": of("experiments", "experiments-0a1b2c3d"),
        "nodered": of("nodered", "nodered"),
    }
    ids.update({device: of(device, f"device-{device}") for device in DEVICES})
    return ids


def test_every_service_id_is_refused_to_every_other_user(broker: Broker, fault_report) -> None:
    for device in DEVICES:
        broker.add_user(device)
    users = [*SERVICE_USERS, *DEVICES, "probe"]
    ids = _service_ids()
    assert set(ids) <= set(users)
    refused, tried = 0, 0
    for owner, owned in ids.items():
        for client_id in owned:
            # The owner itself gets in (also with a persistent session): the refusals below are not
            # a broker that refuses everything.
            assert mqtt_connect_as(broker.port, owner, broker.password(owner), client_id)[0] == ACCEPTED
            for user in users:
                if user == owner:
                    continue
                tried += 1
                for clean in (True, False):
                    code, _ = mqtt_connect_as(
                        broker.port, user, broker.password(user), client_id, clean=clean
                    )
                    assert code == NOT_AUTHORISED, (
                        f"{user} got in with {owner}'s id {client_id} (clean={clean})"
                    )
                refused += 1
    fault_report(
        "a login presents another login's client id (every service and device id, every user of "
        "`labdcs init`, clean and persistent sessions)",
        f"{refused}/{tried} refused (CONNACK 5, not authorised); each owner accepted with its own id",
    )


def test_the_interlock_stays_online_while_a_device_login_uses_its_client_id_for_15_s(
    broker: Broker,
    scpi_sim: Callable[..., tuple[Any, Any]],
    device_process: Callable[..., DeviceProcess],
    probe: Callable[..., Probe],
    fault_report,
) -> None:
    broker.add_user("env1")
    watcher = probe(f"{topics.PREFIX}/+/online", f"{topics.PREFIX}/+/alarm/#")
    for device in ("hv1", "hv2"):
        _, link = scpi_sim("keithley2410")
        device_process(hv(device, link.port, interlock=interlock_link()))
    limit = {
        "name": "bias-limit",
        "when": [{"above": f"{device}/ch1/v_mon", "limit": 400.0} for device in ("hv1", "hv2")],
        "actions": {"ramp_down": ["hv1/ch1", "hv2/ch1"]},
    }
    interlock = device_process(rules(limit), command=INTERLOCK)
    for device in ("interlock", "hv1", "hv2"):
        watcher.wait_for(topics.online(device), lambda o: o["online"], timeout=20)
    # The attacker learns the id the way one would: it is in the broker's log (or guessed).
    interlock_id = _client_id(interlock)
    password = broker.password("env1")
    attempts = refused = 0
    end = time.monotonic() + 15.0
    while time.monotonic() < end:
        code, _ = mqtt_connect_as(broker.port, "env1", password, interlock_id)
        attempts += 1
        refused += code == NOT_AUTHORISED
        time.sleep(0.1)
    flips = [m for m in watcher.on(topics.online("interlock")) if not m.json()["online"]]
    watchdog = [m.topic for device in ("hv1", "hv2") for m in watcher.on(topics.alarm(device, "watchdog"))]
    fault_report(
        f"a device login (env1) connects with the interlock's client id {interlock_id} for 15 s",
        f"{refused}/{attempts} connects refused; interlock/online false {len(flips)} times; "
        f"watchdog alarms on hv1/hv2: {len(watchdog)}",
    )
    assert refused == attempts
    assert not flips, "the interlock was knocked off the broker"
    assert not watchdog, f"the HV devices lost the interlock's heartbeat: {watchdog}"
    assert interlock.alive()


def test_the_ingesters_persistent_session_cannot_be_taken(
    broker: Broker, ingester: Callable[..., Any], probe: Callable[..., Probe], fault_report
) -> None:
    broker.add_user("env1")
    watcher = probe(ONLINE := topics.online("ingest"))
    ingest = ingester()
    watcher.wait_for(topics.online("ingest"), lambda o: o["online"], timeout=30)
    ingest_id = _client_id(ingest)
    results = [
        mqtt_connect_as(broker.port, "env1", broker.password("env1"), ingest_id, clean=False)
        for _ in range(20)
    ]
    taken = [present for code, present in results if code == ACCEPTED]
    fault_report(
        f"a device login (env1) connects 20 times with the ingester's id {ingest_id}, persistent session",
        f"{len(results) - len(taken)}/20 refused; sessions taken over: {sum(taken)}; "
        f"ingest/online false {sum(not m.json()['online'] for m in watcher.on(ONLINE))} times",
    )
    assert not taken, f"env1 got in with the ingester's id (session present: {taken})"
    assert all(m.json()["online"] for m in watcher.on(topics.online("ingest")))
    assert ingest.alive()
