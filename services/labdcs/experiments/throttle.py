"""Login throttling and the rate-limited log of refused logins.

Without them one client tried ~4,600 passwords a second and each refusal wrote a log line (5.1 MB in
10 s). Now, per client address (IPv6 by its /64, which one host usually holds whole): the first
``free`` failures cost nothing, each further one locks the address out for a delay that doubles up
to ``max_delay`` (429 with Retry-After, the password not even checked). Loopback addresses are
capped at ``local_max_delay``: whoever guesses from the host itself is slowed down, and the admin
at the console is never locked out for longer than a few seconds. A correct login clears the count.
"""

from __future__ import annotations

import ipaddress
import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field


class ThrottleSettings(BaseModel):
    """``LABDCS_LOGIN__*``: how refused logins are slowed down and logged."""

    model_config = ConfigDict(extra="forbid")

    free_failures: int = Field(default=5, ge=1, description="Failures per address before any delay")
    base_delay_s: float = Field(default=1.0, gt=0, description="First lockout; doubles with each failure")
    max_delay_s: float = Field(default=900.0, gt=0, description="Longest lockout of a remote address")
    local_max_delay_s: float = Field(default=5.0, gt=0, description="Longest lockout of a loopback address")
    forget_after_s: float = Field(default=3600.0, gt=0, description="Failures older than this are forgotten")
    max_addresses: int = Field(default=10_000, ge=10, description="Addresses remembered (oldest dropped)")
    log_interval_s: float = Field(default=60.0, gt=0, description="Refusals are summed up once per interval")


@dataclass
class _Record:
    failures: int = 0
    locked_until: float = 0.0
    last: float = 0.0


def client_key(address: str) -> str:
    """The unit of throttling: the address, or an IPv6 address's /64."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        if not ip.is_loopback:
            return str(ipaddress.IPv6Network(f"{ip}/64", strict=False))
    return str(ip)


def is_loopback(address: str) -> bool:
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


class LoginThrottle:
    """Failures and lockouts per client address; the table is bounded (``max_addresses``)."""

    def __init__(self, settings: ThrottleSettings, clock: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self.clock = clock
        self._records: dict[str, _Record] = {}

    def retry_after(self, address: str) -> float:
        """Seconds until this address may try again; 0 when it may now."""
        record = self._records.get(client_key(address))
        return max(0.0, record.locked_until - self.clock()) if record else 0.0

    def failed(self, address: str) -> float:
        """Count a refused login; returns the lockout it starts (0: none yet)."""
        now = self.clock()
        key = client_key(address)
        record = self._records.pop(key, None)  # re-inserted last: the dict stays in order of use
        if record is None or now - record.last > self.settings.forget_after_s:
            record = _Record()
        record.failures += 1
        record.last = now
        self._records[key] = record
        self._bound()
        over = record.failures - self.settings.free_failures
        if over <= 0:
            return 0.0
        cap = self.settings.local_max_delay_s if is_loopback(address) else self.settings.max_delay_s
        delay = min(cap, self.settings.base_delay_s * 2.0 ** min(over - 1, 30))
        record.locked_until = now + delay
        return delay

    def succeeded(self, address: str) -> None:
        self._records.pop(client_key(address), None)

    def _bound(self) -> None:
        while len(self._records) > self.settings.max_addresses:
            del self._records[next(iter(self._records))]


class RefusalLog:
    """Refused logins in the log (and the audit, when given) without flooding it: the first of an
    interval as its own line, the rest summed up in one line when the interval is over (at the next
    request). ``audit(user, address, detail)`` gets the same lines."""

    MAX_NAMES = 20

    def __init__(
        self,
        logger: logging.Logger,
        interval: float,
        clock: Callable[[], float] = time.monotonic,
        audit: Callable[[str, str, str], None] | None = None,
    ) -> None:
        self.audit = audit
        self.log = logger
        self.interval = interval
        self.clock = clock
        self._window_end = 0.0
        self._count = 0
        self._addresses: Counter[str] = Counter()
        self._users: set[str] = set()
        self._lockouts = 0

    def refused(self, user: str, address: str, lockout: float) -> None:
        self.flush()
        now = self.clock()
        if self._window_end == 0.0:  # the first refusal of an interval: said at once
            self._window_end = now + self.interval
            self.log.warning(
                "experiments: refused login for %r from %s%s (further refusals are summed up every %g s)",
                user[:64], address, f"; locked out for {lockout:g} s" if lockout else "", self.interval,
            )  # fmt: skip
            if self.audit is not None:
                self.audit(user, address, f"refused{f'; locked out for {lockout:g} s' if lockout else ''}")
            return
        self._count += 1
        if len(self._addresses) < 1000 or address in self._addresses:
            self._addresses[address] += 1
        if len(self._users) < self.MAX_NAMES:
            self._users.add(user[:64])
        self._lockouts += lockout > 0

    def flush(self) -> None:
        """Write the summary of an interval that is over (nothing when it is not, or was quiet)."""
        if self._window_end == 0.0 or self.clock() < self._window_end:
            return
        if self._count:
            (top, top_count), *_ = self._addresses.most_common(1) or [("?", 0)]
            self.log.warning(
                "experiments: %d more refused logins in the last %g s from %d addresses (most from %s: "
                "%d; users tried: %s); %d lockouts",
                self._count, self.interval, len(self._addresses), top, top_count,
                ", ".join(sorted(repr(u) for u in self._users)), self._lockouts,
            )  # fmt: skip
            if self.audit is not None:
                self.audit("*", f"{len(self._addresses)} addresses",
                           f"{self._count} more refused logins in {self.interval:g} s (users tried: "
                           f"{', '.join(sorted(self._users))}); {self._lockouts} lockouts")  # fmt: skip
        self._window_end = 0.0
        self._count = self._lockouts = 0
        self._addresses.clear()
        self._users.clear()
