"""Several broker addresses in the MQTT settings: parsed, checked, in failover order."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from labdcs.settings import MqttSettings


def test_hosts_replace_host_and_keep_their_order_with_the_default_port() -> None:
    settings = MqttSettings(host="ignored", port=1884, hosts=["n1", "n2:1999", "[::1]:1885"])
    assert settings.addresses() == [("n1", 1884), ("n2", 1999), ("::1", 1885)]
    assert MqttSettings(port=1884).addresses() == [("localhost", 1884)]


def test_the_environment_gives_hosts_as_a_comma_list_or_json(monkeypatch: pytest.MonkeyPatch) -> None:
    assert MqttSettings(hosts="n1:1, n2").addresses() == [("n1", 1), ("n2", 1883)]  # type: ignore[arg-type]
    assert MqttSettings(hosts='["n1:1", "n2"]').addresses() == [("n1", 1), ("n2", 1883)]  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("hosts", "words"),
    [
        (["n1:0"], "the port must be a number from 1 to 65535"),
        (["n1:x"], "the port must be a number from 1 to 65535"),
        (["tcp://n1"], "expected host or host:port"),
        (["n 1"], "expected host or host:port"),
        ("[n1", "not a valid JSON list"),
    ],
)
def test_a_bad_address_is_refused_in_words(hosts: object, words: str) -> None:
    with pytest.raises(ValidationError, match=words):
        MqttSettings(hosts=hosts)  # type: ignore[arg-type]
