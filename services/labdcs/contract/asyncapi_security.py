"""The AsyncAPI document's servers and their security, from the broker's own configuration code.

What a third-party client needs before its first message: the listeners (plain MQTT on 1883, TLS on
8883) and the MQTT version, that anonymous clients are refused, which logins exist and what each may
read, write and command (from the same user/role table and ACL rules ``labdcs init`` writes), which
client ids a login may use, the largest message the broker takes and the age after which a command
is refused. The ``x-labdcs-*`` fields carry these machine-readably (AsyncAPI specification
extensions); tests/contract/test_contract_asyncapi.py checks they are the code's values.
"""

from __future__ import annotations

from typing import Any

from labdcs.contract import examples, topics
from labdcs.contract.codec import encode
from labdcs.contract.limits import MAX_MESSAGE_BYTES
from labdcs.contract.models import DEFAULT_MAX_COMMAND_AGE_S
from labdcs.mqtt.connection import OWNER_SEPARATOR
from labdcs.security.mosquitto import (
    SERVICE_USERS,
    Role,
    command_rules,
    own_namespace_rules,
    role_rules,
    shared_read_rules,
)

MQTT_BINDING_VERSION = "0.2.0"
MQTT_VERSION = "3.1.1"
SCHEME = "brokerLogin"
QOS = 1

_ROLES: dict[Role, str] = {
    Role.DEVICE: "A device service (user name = device id): its own namespace only; reads its commands, "
    "never sends one.",
    Role.READER: "Reads the whole contract (Telegraf).",
    Role.INGEST: "Reads the whole contract and the broker's dropped-messages counter (the ingester).",
    Role.COMMANDER: "Reads the whole contract and sends commands and alarm commands (Node-RED, the "
    "experiments manager, the interlock, the operators' CLI).",
}


def _rules(rules: list[tuple[str, str]]) -> dict[str, list[str]]:
    """ACL lines as what a client may publish to and subscribe to (``%u``: its user name)."""
    return {
        "publish": [topic for access, topic in rules if access in ("write", "readwrite")],
        "subscribe": [topic for access, topic in rules if access in ("read", "readwrite")],
    }


def _role(role: Role) -> dict[str, Any]:
    return {
        "description": _ROLES[role],
        "commands": any(rule in command_rules("%u") for rule in role_rules(role)),
        **_rules(role_rules(role)),
    }


def security_schemes() -> dict[str, Any]:
    """``components.securitySchemes``: the one way in, a broker login."""
    logins = [{"user": user, "role": role.value} for user, role in SERVICE_USERS.items()]
    logins.append({"user": "<device id>", "role": Role.DEVICE.value})
    return {
        SCHEME: {
            "type": "userPassword",
            "description": (
                "MQTT user name and password; anonymous clients are refused (`allow_anonymous false`). "
                "`labdcs init` makes one login per service and one per device (the user name is the "
                "device id) and writes each password to `secrets/mqtt/<user>`. What a login may do is "
                "its role's: `x-labdcs-roles` lists the topic filters each may publish to and subscribe "
                "to besides `x-labdcs-every-login` (`%u` is the login's user name); only roles with "
                "`commands: true` may send commands. A client id of the form `<user>:<name>` belongs "
                "to that login: the broker refuses it to every other login (CONNACK 5), so a client "
                "that needs a fixed id (a persistent session, a retained last will) uses one."
            ),
            "x-labdcs-anonymous": False,
            "x-labdcs-logins": logins,
            "x-labdcs-roles": {role.value: _role(role) for role in Role},
            "x-labdcs-every-login": _rules([*own_namespace_rules(), *shared_read_rules()]),
            "x-labdcs-client-id": {
                "owned": f"<user>{OWNER_SEPARATOR}<name>",
                "description": f"An id containing `{OWNER_SEPARATOR}` may be used only by the login named "
                "before it; ids without it are nobody's.",
            },
        }
    }


def _server(host: str, protocol: str, title: str, summary: str, description: str) -> dict[str, Any]:
    last_will = examples.last_will()
    return {
        "host": host,
        "protocol": protocol,
        "protocolVersion": MQTT_VERSION,
        "title": title,
        "summary": summary,
        "description": description,
        "security": [{"$ref": f"#/components/securitySchemes/{SCHEME}"}],
        "x-labdcs-max-message-bytes": MAX_MESSAGE_BYTES,
        "x-labdcs-command-max-age-s": DEFAULT_MAX_COMMAND_AGE_S,
        "bindings": {
            "mqtt": {
                "lastWill": {
                    "topic": topics.online("hv1"),
                    "qos": QOS,
                    "message": encode(last_will).decode(),
                    "retain": True,
                },
                "bindingVersion": MQTT_BINDING_VERSION,
            }
        },
    }


_COMMON = (
    "Started by `labdcs up` or the compose stack (`mosquitto/mosquitto.conf`). Log in with a broker "
    f"login (`security`); labdcs's clients speak MQTT {MQTT_VERSION} (Mosquitto 2 also takes 3.1 and 5). The "
    "broker cuts off a client whose packet carries more than `x-labdcs-max-message-bytes` of payload "
    "(the largest legitimate message with a margin); a device refuses a command whose `ts` is more "
    "than `x-labdcs-command-max-age-s` old (its default `max_command_age_s`). The last will below is "
    "what every device service sets, with its own device id and boot id (the example shows `hv1`)."
)


def servers() -> dict[str, Any]:
    """The plain listener (services inside the stack, loopback natively) and the TLS listener."""
    return {
        "mosquitto": _server(
            "localhost:1883",
            "mqtt",
            "Local Mosquitto",
            "The bench broker (Mosquitto 2), plain MQTT on port 1883.",
            _COMMON,
        ),
        "mosquitto-tls": _server(
            "localhost:8883",
            "secure-mqtt",
            "Mosquitto over TLS",
            "The same broker over TLS on port 8883, for remote devices (the gateway publishes it).",
            "The server certificate is signed by the local CA of `labdcs init` (`secrets/tls/ca.crt`) "
            "unless the site brings its own; clients verify it. " + _COMMON,
        ),
    }
