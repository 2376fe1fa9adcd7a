"""What each broker login of ``labdcs init`` can and cannot do, on the real broker with the ACL it
writes: the per-credential table of docs/security.md rests on this."""

from __future__ import annotations

from collections.abc import Callable

from labdcs.contract import topics
from labdcs.security.mosquitto import SERVICE_USERS, Role
from tests.support import Broker, Probe, wait_until

FOREIGN_STATE = topics.state("hv1", "ch1")
FOREIGN_ALARM = topics.alarm("hv1", "forged")


def test_each_login_commands_reads_and_writes_only_what_its_role_allows(
    broker: Broker, probe: Callable[..., Probe], fault_report: Callable[..., None]
) -> None:
    logins = {**SERVICE_USERS, "env1": Role.DEVICE}
    watcher = probe(f"{topics.PREFIX}/#")
    owner = Probe(broker.port, username="hv1").start()
    readers = {user: Probe(broker.port, username=user).start(FOREIGN_STATE) for user in logins}
    try:
        for user in logins:
            sender = Probe(broker.port, username=user).start()
            try:
                sender.publish(topics.command("hv1", "ch1", "on", user), f'{{"from": "{user}"}}')
                sender.publish(FOREIGN_STATE, f'{{"forged_by": "{user}"}}')
                sender.publish(FOREIGN_ALARM, f'{{"forged_by": "{user}"}}')
                own = topics.online(user)
                sender.publish(own, b'{"online": true}')  # allowed to everyone: proves delivery
                wait_until(lambda own=own: watcher.on(own), 10, f"{user}'s own message")
            finally:
                sender.stop()
        owner.publish(FOREIGN_STATE, b'{"by": "hv1"}')
        wait_until(lambda: watcher.on(FOREIGN_STATE), 10, "hv1's own state")
        may_read = {user for user, role in logins.items() if role is not Role.DEVICE}
        # One broker loop delivers in order: once every reader that may read has it, a device would too.
        wait_until(lambda: all(readers[user].on(FOREIGN_STATE) for user in may_read), 10, "the readers")
        commanded = {m.json()["from"] for m in watcher.on(topics.command("hv1", "ch1", "on", "+"))}
        forged = [
            m.json() for m in watcher.on(FOREIGN_STATE) + watcher.on(FOREIGN_ALARM) if "forged_by" in m.json()
        ]
        read = {user for user, reader in readers.items() if reader.on(FOREIGN_STATE)}
    finally:
        owner.stop()
        for reader in readers.values():
            reader.stop()
    commanders = {user for user, role in logins.items() if role is Role.COMMANDER}
    fault_report(
        f"each broker login ({len(logins)}: every service login and a device) sends a command, forges "
        "hv1's state and an alarm, reads hv1's state",
        f"commands delivered from {sorted(commanded)}; forged: {len(forged)}; "
        f"read hv1's state: {len(read)}/{len(logins)} (not: {sorted(set(logins) - read)})",
    )
    assert commanded == commanders == {"nodered", "experiments", "interlock", "cli"}
    assert forged == []
    assert read == may_read
