"""The command side every contract participant shares: expiry, the one ack, the audit line."""

from __future__ import annotations

import json
import logging

from labdcs.contract import topics
from labdcs.contract.codec import encode
from labdcs.contract.models import Ack, AckResult, Command, now_ms
from labdcs.mqtt import MqttConnection

log = logging.getLogger(__name__)


def salvage_id(payload: bytes) -> str | None:
    """The id of a command whose body broke the schema, so the client can still match the ack."""
    try:
        data = json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        return None
    if isinstance(data, dict):
        value = data.get("id")
        if isinstance(value, str) and 0 < len(value) <= 64:
            return value
    return None


def expiry_problem(command: Command, max_age_s: float) -> str | None:
    """Why a command is too old (or from the future) to act on, or None."""
    if command.ts is None:
        return None
    age = (now_ms() - command.ts) / 1000.0
    if age > max_age_s:
        return f"command expired: sent {age:.1f} s ago, max age {max_age_s:g} s"
    if age < -max_age_s:
        return f"command timestamp is {-age:.1f} s in the future: check the sender's clock"
    return None


def send_ack(
    connection: MqttConnection,
    device: str,
    command_id: str | None,
    channel: str,
    verb: str,
    value: float | bool | None,
    result: AckResult,
    reason: str | None,
    user: str | None = None,
    *,
    alarm: str | None = None,
    logger: logging.Logger = log,
) -> None:
    """Publish the one ack of a command and write the audit line."""
    ack = Ack(
        id=command_id,
        device=device,
        channel=channel,
        verb=verb,
        result=result,
        reason=reason,
        ts=now_ms(),
        value=value,
        alarm=alarm,
    )
    level = logging.INFO if result is AckResult.ACCEPTED else logging.WARNING
    logger.log(
        level,
        "command id=%s %s/%s %s value=%s user=%s -> %s%s",
        command_id,
        device,
        f"alarm/{alarm}" if alarm else channel,
        verb,
        value,
        user,
        result.value,
        f" ({reason})" if reason else "",
    )
    connection.publish(topics.ack(device), encode(ack), qos=1, retain=False)
