"""The login throttle's arithmetic on a clock the test turns: delays double up to their cap (short
for loopback), old failures are forgotten, the table is bounded, a /64 is one client; and the refusal
log writes two lines per interval however many refusals there are."""

from __future__ import annotations

import logging

import pytest

from labdcs.experiments.throttle import LoginThrottle, RefusalLog, ThrottleSettings, client_key


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _delays(throttle: LoginThrottle, clock: Clock, address: str, tries: int) -> list[float]:
    """Fail ``tries`` times, each as soon as the lockout allows."""
    delays = []
    for _ in range(tries):
        clock.now += throttle.retry_after(address)
        delays.append(throttle.failed(address))
    return delays


def test_a_remote_address_waits_longer_and_longer_loopback_a_few_seconds_at_most() -> None:
    clock = Clock()
    throttle = LoginThrottle(ThrottleSettings(), clock)
    remote = _delays(throttle, clock, "203.0.113.7", 20)
    assert remote[:5] == [0] * 5 and remote[5:10] == [1, 2, 4, 8, 16] and remote[-1] == 900
    # ~22 guesses in the first hour, then 4 an hour: no guessing a generated password.
    local = _delays(throttle, clock, "127.0.0.1", 20)
    assert max(local) == 5 and _delays(throttle, clock, "::1", 20)[-1] == 5
    assert throttle.retry_after("198.51.100.1") == 0  # another client is not affected


def test_a_correct_login_or_an_hour_of_quiet_clears_the_count() -> None:
    clock = Clock()
    throttle = LoginThrottle(ThrottleSettings(), clock)
    _delays(throttle, clock, "203.0.113.7", 8)
    throttle.succeeded("203.0.113.7")
    assert throttle.retry_after("203.0.113.7") == 0 and throttle.failed("203.0.113.7") == 0
    _delays(throttle, clock, "203.0.113.8", 8)
    clock.now += 3601
    assert throttle.failed("203.0.113.8") == 0


def test_the_table_is_bounded_and_an_ipv6_64_is_one_client() -> None:
    clock = Clock()
    throttle = LoginThrottle(ThrottleSettings(max_addresses=100), clock)
    for k in range(1000):
        throttle.failed(f"10.0.{k // 256}.{k % 256}")
    assert len(throttle._records) == 100
    assert client_key("2001:db8:1:2::1") == client_key("2001:db8:1:2:ffff::9") == "2001:db8:1:2::/64"
    assert client_key("::ffff:192.0.2.1") == "192.0.2.1"
    _delays(throttle, clock, "2001:db8:1:2::1", 6)
    assert throttle.retry_after("2001:db8:1:2:abcd::1") > 0


def test_refusals_are_summed_up_once_per_interval(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    refusals = RefusalLog(logging.getLogger("test.refusals"), 60.0, clock)
    with caplog.at_level(logging.WARNING, "test.refusals"):
        for k in range(46_000):  # 10 s of the 4,600 guesses/s measured, spread over two intervals
            clock.now += 120 / 46_000
            refusals.refused("admin" if k % 2 else "x" * 500, f"203.0.113.{k % 3}", 0.0)
        refusals.flush()
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 3, lines  # the first, the summary of the rest of the interval, the next first
    assert "22999 more refused logins" in lines[1] and "from 3 addresses" in lines[1]
    assert max(len(line) for line in lines) < 1000
