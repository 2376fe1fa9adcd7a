"""Clocks shared by the cycler's protocol engine and the simulated cell, so a run can go faster than
real time while every published sample keeps its simulated timestamp.

- :class:`WallClock` (speed 1): real hardware, real time.
- :class:`ScaledClock` (speed N): simulated time runs N times faster than the wall clock from the
  moment the clock is made; waits are N times shorter. Two processes with the same speed agree on
  durations (what physics needs), not on the absolute time.
- :class:`SteppedClock` (speed ``max``): simulated time only moves when the engine waits, by exactly
  the time it waits; nothing sleeps. The engine and an in-process simulator share the object, so the
  simulator integrates precisely the sample period between two samples.

``time()`` is epoch seconds (the ``ts`` of published messages); ``monotonic()`` is for durations.
"""

from __future__ import annotations

import math
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable


class Clock(ABC):
    """Simulated seconds; ``speed`` simulated seconds pass per wall second (inf: as fast as possible)."""

    speed: float = 1.0

    @abstractmethod
    def time(self) -> float:
        """Seconds since the Unix epoch, in simulated time."""

    @abstractmethod
    def monotonic(self) -> float:
        """A simulated monotonic clock, for durations."""

    @abstractmethod
    def wait(self, seconds: float, wake: threading.Event | None = None) -> bool:
        """Let ``seconds`` of simulated time pass, or less if ``wake`` is set; True when woken."""

    def time_ms(self) -> int:
        return math.floor(self.time() * 1000)


class WallClock(Clock):
    speed = 1.0

    def time(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()

    def wait(self, seconds: float, wake: threading.Event | None = None) -> bool:
        if wake is None:
            time.sleep(max(0.0, seconds))
            return False
        return wake.wait(max(0.0, seconds))


class ScaledClock(Clock):
    def __init__(self, speed: float, start: float | None = None) -> None:
        if not (speed > 0 and math.isfinite(speed)):
            raise ValueError(f"speed must be a positive number, not {speed!r}")
        self.speed = speed
        self._wall0 = time.monotonic()
        self._epoch0 = time.time() if start is None else start

    def monotonic(self) -> float:
        return (time.monotonic() - self._wall0) * self.speed

    def time(self) -> float:
        return self._epoch0 + self.monotonic()

    def wait(self, seconds: float, wake: threading.Event | None = None) -> bool:
        wall = max(0.0, seconds) / self.speed
        if wake is None:
            time.sleep(wall)
            return False
        return wake.wait(wall)


class SteppedClock(Clock):
    """Time moves only by :meth:`wait` (or :meth:`advance`); thread-safe to read."""

    speed = math.inf

    def __init__(self, start: float | None = None) -> None:
        self._epoch0 = time.time() if start is None else start
        self._elapsed = 0.0
        self._lock = threading.Lock()

    def monotonic(self) -> float:
        with self._lock:
            return self._elapsed

    def time(self) -> float:
        return self._epoch0 + self.monotonic()

    def advance(self, seconds: float) -> None:
        with self._lock:
            self._elapsed += max(0.0, seconds)

    def wait(self, seconds: float, wake: threading.Event | None = None) -> bool:
        if wake is not None and wake.is_set():
            return True
        self.advance(seconds)
        return False


def make_clock(speed: float) -> Clock:
    """The clock for a speed: 1 -> wall, inf -> stepped, anything else -> scaled."""
    if speed == 1:
        return WallClock()
    if math.isinf(speed) and speed > 0:
        return SteppedClock()
    return ScaledClock(speed)


def parse_speed(text: str | float) -> float:
    """``1000`` -> 1000.0; ``max`` -> inf; refuses zero, negative and NaN."""
    if isinstance(text, str) and text.strip().lower() in ("max", "inf", "fastest"):
        return math.inf
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"speed {text!r} is neither a number nor 'max'") from None
    if not value > 0:
        raise ValueError(f"speed must be > 0 (or 'max'), not {text!r}")
    return value


class ClockJumpDetector:
    """Notices a step of the wall clock (NTP correction, an operator setting the time): the offset
    between the wall clock and the monotonic clock changes by more than ``threshold_s`` between two
    checks. Timestamps around a jump are unreliable, so a service says so instead of staying quiet."""

    def __init__(
        self,
        threshold_s: float = 2.0,
        wall: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.threshold_s = threshold_s
        self._wall = wall
        self._monotonic = monotonic
        self._offset = wall() - monotonic()

    def check(self) -> float | None:
        """The size of a jump since the last check (s, negative: backwards), or None."""
        offset = self._wall() - self._monotonic()
        jump = offset - self._offset
        self._offset = offset
        return jump if abs(jump) > self.threshold_s else None
