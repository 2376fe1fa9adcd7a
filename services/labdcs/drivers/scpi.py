"""Opening SCPI instruments through PyVISA and turning every failure into :class:`InstrumentError`.

A resource string says *where* the instrument is (``TCPIP::host::5025::SOCKET`` for a raw LXI
socket, ``USB0::0x0AAD::0x0117::123456::INSTR``, ``ASRL/dev/ttyUSB0::INSTR``); a VISA library
string says *which* VISA implementation talks to it: ``"@py"`` for pyvisa-py (real hardware,
and the TCP simulators of :mod:`labdcs_dummy`), or ``"<file>.yaml@sim"`` for pyvisa-sim.

Drivers build on PyMeasure instrument classes (their declarative properties carry the SCPI), fed
with a PyMeasure :class:`~pymeasure.adapters.VISAAdapter` created here, so the connection
settings (termination, timeout, serial speed) are set the same way for every driver.
:class:`ScpiDriver` is their common base: lazy (re)connection, ``*IDN?`` parsing, reading the
SCPI error queue after a setting, and error messages that name the instrument, the action and
what went wrong — the text a person sees on the dashboard when a bench misbehaves.
"""

from __future__ import annotations

import logging
import math
import socket
from abc import abstractmethod
from collections.abc import Callable
from typing import Any, TypeVar

import pyvisa
from pymeasure.adapters import Adapter
from pyvisa import constants as visa_constants
from pyvisa import errors as visa_errors
from pyvisa import rname

from labdcs.drivers.base import Driver, Identity, InstrumentError

log = logging.getLogger(__name__)

T = TypeVar("T")

#: SCPI error queue entry meaning "queue empty".
NO_ERROR_CODE = 0


def _resource_kwargs(
    timeout_s: float, read_termination: str, write_termination: str, baud_rate: int
) -> dict[str, Any]:
    """Connection settings for ``open_resource``; serial speed only matters for ASRL resources."""
    if not (timeout_s > 0 and math.isfinite(timeout_s)):
        raise InstrumentError(f"timeout must be a positive number of seconds, not {timeout_s!r}")
    return {
        "timeout": max(1, round(timeout_s * 1000)),  # VISA timeouts are in milliseconds
        "read_termination": read_termination,
        "write_termination": write_termination,
        "asrl": {"baud_rate": baud_rate},
    }


def check_resource_name(resource: str) -> str:
    """The resource string if PyVISA can parse it, else ValueError saying what is expected."""
    try:
        rname.parse_resource_name(resource)
    except Exception as exc:
        raise ValueError(
            f"invalid VISA resource string {resource!r} (expected e.g. TCPIP::192.168.1.20::5025::SOCKET, "
            f"USB0::0x0AAD::0x0117::123456::INSTR or ASRL/dev/ttyUSB0::INSTR): {exc}"
        ) from None
    return resource


def _checked_resource(resource: str) -> str:
    try:
        return check_resource_name(resource)
    except ValueError as exc:
        raise InstrumentError(str(exc)) from None


def resource_manager(visa_library: str = "@py") -> Any:
    """A PyVISA resource manager for ``visa_library`` ("@py", "<file>.yaml@sim", ...)."""
    try:
        return pyvisa.ResourceManager(visa_library)
    except Exception as exc:
        raise InstrumentError(
            f"cannot load VISA library {visa_library!r}: {explain(exc, phase='open')}"
        ) from exc


def open_resource(
    resource: str,
    visa_library: str = "@py",
    timeout_s: float = 2.0,
    *,
    read_termination: str = "\n",
    write_termination: str = "\n",
    baud_rate: int = 9600,
) -> Any:
    """Open a plain PyVISA message-based resource with termination and timeout set.

    For tools and drivers that do not use PyMeasure. Raises :class:`InstrumentError`.
    """
    _checked_resource(resource)
    kwargs = _resource_kwargs(timeout_s, read_termination, write_termination, baud_rate)
    manager = resource_manager(visa_library)
    try:
        serial = kwargs.pop("asrl")
        if manager.resource_info(resource).interface_type == visa_constants.InterfaceType.asrl:
            kwargs.update(serial)
        opened = manager.open_resource(resource, **kwargs)
    except Exception as exc:
        raise InstrumentError(
            f"cannot open {resource!r} with VISA library {visa_library!r}: {explain(exc, phase='open')}"
        ) from exc
    _disable_nagle(opened)
    return opened


def open_adapter(
    resource: str,
    visa_library: str = "@py",
    timeout_s: float = 2.0,
    *,
    read_termination: str = "\n",
    write_termination: str = "\n",
    baud_rate: int = 9600,
) -> Any:
    """A PyMeasure ``VISAAdapter`` for ``resource``, ready to hand to a PyMeasure instrument."""
    from pymeasure.adapters import VISAAdapter  # heavy import, only when a driver really opens

    _checked_resource(resource)
    kwargs = _resource_kwargs(timeout_s, read_termination, write_termination, baud_rate)
    resource_manager(visa_library)  # a clear message if the library itself is the problem
    try:
        adapter = VISAAdapter(resource, visa_library=visa_library, **kwargs)
    except Exception as exc:
        raise InstrumentError(
            f"cannot open {resource!r} with VISA library {visa_library!r}: {explain(exc, phase='open')}"
        ) from exc
    _disable_nagle(adapter.connection)
    return adapter


def _disable_nagle(resource: Any) -> None:
    """Send each SCPI message at once on raw sockets, as NI-VISA does by default.

    pyvisa-py leaves Nagle's algorithm on, so a setting followed by a query (``VOLT 5`` then
    ``SYST:ERR?``) waits for the instrument's delayed ACK: ~40 ms per setting. pyvisa-py 0.8
    accepts VI_ATTR_TCPIP_NODELAY but does not apply it to the socket, hence the fallback that
    sets the option on pyvisa-py's session socket. Failing both only costs speed.
    """
    if getattr(resource, "resource_class", None) != "SOCKET":
        return
    nodelay = visa_constants.ResourceAttribute.tcpip_nodelay
    try:
        resource.set_visa_attribute(nodelay, visa_constants.VI_TRUE)
        if resource.get_visa_attribute(nodelay) == visa_constants.VI_TRUE:
            return
    except Exception as exc:
        log.debug("VI_ATTR_TCPIP_NODELAY not supported on %s: %s", resource, exc)
    sessions = getattr(getattr(resource, "visalib", None), "sessions", {})
    sock = getattr(sessions.get(getattr(resource, "session", None)), "interface", None)
    if isinstance(sock, socket.socket):
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError as exc:
            log.debug("cannot set TCP_NODELAY on %s: %s", resource, exc)


def explain(exc: BaseException, timeout_s: float | None = None, phase: str = "io") -> str:
    """One sentence for a person: what happened, in instrument terms rather than exception names."""
    if isinstance(exc, visa_errors.VisaIOError):
        code = exc.error_code
        if code == visa_constants.StatusCode.error_timeout:
            within = f" within {timeout_s:g} s" if timeout_s is not None else ""
            return f"no answer{within} (timeout): the instrument is not answering"
        if code == visa_constants.StatusCode.error_invalid_resource_name:
            return "invalid VISA resource string (expected e.g. TCPIP::host::5025::SOCKET)"
        if code == visa_constants.StatusCode.error_resource_not_found:
            return "resource not found (instrument off, unplugged, or wrong address)"
        if code == visa_constants.StatusCode.error_connection_lost:
            return "connection lost"
        return f"VISA error {exc.abbreviation}: {exc.description}"
    if isinstance(exc, ConnectionRefusedError):
        return (
            "connection refused: nothing is listening at that address "
            "(instrument off, wrong host/port, or its simulator is not running)"
        )
    if isinstance(exc, ConnectionResetError | BrokenPipeError | ConnectionAbortedError):
        return "the instrument closed the connection"
    if isinstance(exc, socket.gaierror):
        return f"cannot resolve the host name ({exc.strerror or exc})"
    if isinstance(exc, TimeoutError):
        within = f" within {timeout_s:g} s" if timeout_s is not None else ""
        return f"no answer{within} (timeout): the instrument is not answering"
    if isinstance(exc, OSError):
        return f"I/O error: {exc.strerror or exc}"
    if phase == "io" and isinstance(exc, ValueError | TypeError | IndexError | KeyError):
        return f"unexpected answer from the instrument ({exc})"
    text = str(exc) or type(exc).__name__
    return text if type(exc) is Exception else f"{type(exc).__name__}: {text}"


def parse_idn(reply: str) -> Identity:
    """Split an IEEE 488.2 ``*IDN?`` answer: manufacturer, model, serial, firmware."""
    parts = [part.strip() for part in reply.strip().split(",", 3)]
    if len(parts) != 4 or not parts[0] or not parts[1]:
        raise ValueError(f"*IDN? answer {reply.strip()!r} does not have 4 comma-separated fields")
    return Identity(manufacturer=parts[0], model=parts[1], serial=parts[2], firmware=parts[3])


def parse_error(reply: str) -> tuple[int, str]:
    """Split a ``SYST:ERR?`` answer such as ``-113,"Undefined header"`` into code and text."""
    code_text, _, message = reply.strip().partition(",")
    return int(float(code_text)), message.strip().strip('"')


def read_error_queue(instrument: Any, limit: int = 20) -> list[str]:
    """Read ``SYST:ERR?`` until the queue is empty; the entries found, oldest first."""
    found: list[str] = []
    for _ in range(limit):
        code, message = parse_error(str(instrument.ask("SYST:ERR?")))
        if code == NO_ERROR_CODE:
            break
        found.append(f'{code},"{message}"')
    return found


def as_float(value: Any, what: str) -> float:
    """A finite-or-NaN float from a PyMeasure property value, or ValueError naming the quantity."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValueError(f"{what}: got {value!r}, expected a number")
    try:
        return float(value)
    except ValueError:
        raise ValueError(f"{what}: got {value!r}, expected a number") from None


def as_bool(value: Any, what: str) -> bool:
    """A bool from a PyMeasure mapped property (True/False) or a raw 0/1 answer."""
    if isinstance(value, bool):
        return value
    number = as_float(value, what)
    if number not in (0.0, 1.0):
        raise ValueError(f"{what}: got {value!r}, expected 0 or 1")
    return number == 1.0


def as_switch(value: str, what: str) -> bool:
    """A bool from a raw SCPI boolean answer: 0/1 (IEEE 488.2) or ON/OFF."""
    text = value.strip().upper()
    if text in ("ON", "OFF"):
        return text == "ON"
    return as_bool(text, what)


def split_compound(reply: Any, expected: int, query: str) -> list[str]:
    """The response units of a compound query (``A?;:B?`` -> ``"a;b"``), exactly ``expected`` of them."""
    parts = str(reply).strip().split(";")
    if len(parts) != expected:
        raise ValueError(f"answer {str(reply).strip()!r} has {len(parts)} values, {query!r} asks {expected}")
    return parts


def check_range(value: float, low: float, high: float, what: str, label: str) -> float:
    """Refuse a setpoint outside the instrument's ratings before anything is sent."""
    if not math.isfinite(value) or not low <= value <= high:
        raise InstrumentError(
            f"{label}: {what} {value!r} is outside the instrument's range {low:g}..{high:g}"
        )
    return float(value)


class ScpiDriver(Driver):
    """Base of the SCPI drivers: owns one PyMeasure instrument on one VISA connection.

    The connection opens lazily: any method opens it if needed, so after an error (which drops
    the connection, because a late answer could otherwise be read as the reply to the next query)
    the next call simply reconnects. ``open()`` checks that the instrument answers ``*IDN?``.
    """

    #: Line endings of the instrument's SCPI parser.
    read_termination: str = "\n"
    write_termination: str = "\n"
    #: Serial speed used when the resource is an ASRL (RS-232 / USB-serial) port.
    baud_rate: int = 9600
    #: Upper bound of ``SYST:ERR?`` reads when draining the queue (it is ~10-20 entries deep).
    max_error_reads: int = 20

    def __init__(self, resource: str, visa_library: str = "@py", timeout_s: float = 2.0) -> None:
        if not resource:
            raise InstrumentError(f"{self.name}: no VISA resource string given")
        if not (timeout_s > 0 and math.isfinite(timeout_s)):
            raise InstrumentError(f"{self.name}: timeout must be > 0 s, not {timeout_s!r}")
        self.resource = resource
        self.visa_library = visa_library
        self.timeout_s = float(timeout_s)
        #: Read a snapshot in one compound query (``A?;:B?``); off: one query per quantity through
        #: PyMeasure's properties (pyvisa-sim's static definitions answer single queries only).
        self.compound_reads = not visa_library.endswith("@sim")
        self._instrument: Any = None
        self._adapter: Any = None

    @property
    def label(self) -> str:
        """How error messages name this instrument."""
        return f"{self.name} at {self.resource}"

    @property
    def is_open(self) -> bool:
        """Whether a connection is currently held (it may still turn out to be dead)."""
        return self._instrument is not None

    @abstractmethod
    def _create_instrument(self, adapter: Any) -> Any:
        """Build the PyMeasure instrument on ``adapter`` (may talk to the instrument)."""

    def _on_open(self, instrument: Any) -> None:
        """Bring a freshly connected instrument into the state the driver relies on.

        Must not change outputs: the device service may reconnect to an instrument that is
        driving a detector at high voltage.
        """
        del instrument

    def open(self) -> None:
        if self._instrument is not None:
            return
        adapter = self._open_adapter()
        self._adapter = adapter
        try:
            instrument = self._create_instrument(adapter)
            parse_idn(str(instrument.ask("*IDN?")))  # proves that something answers like an instrument
            self._on_open(instrument)
        except InstrumentError:
            self._drop()
            raise
        except Exception as exc:
            self._drop()
            raise InstrumentError(
                f"{self.label}: cannot start talking to the instrument: {explain(exc, self.timeout_s)}"
            ) from exc
        self._instrument = instrument
        log.debug("%s: connected", self.label)

    def _open_adapter(self) -> Any:
        """The PyMeasure adapter to talk through; a simulated instrument may bring its own."""
        return open_adapter(
            self.resource,
            self.visa_library,
            self.timeout_s,
            read_termination=self.read_termination,
            write_termination=self.write_termination,
            baud_rate=self.baud_rate,
        )

    def close(self) -> None:
        self._drop()

    def _drop(self) -> None:
        """Forget the connection; never raises."""
        adapter, self._adapter, self._instrument = self._adapter, None, None
        if adapter is None:
            return
        try:
            adapter.close()
        except Exception as exc:  # a dead socket may complain while closing; nothing to do about it
            log.debug("%s: ignoring error while closing: %s", self.label, exc)

    def _io(self, action: str, operation: Callable[[Any], T]) -> T:
        """Run ``operation`` on the instrument; any failure becomes an InstrumentError."""
        if self._instrument is None:
            self.open()
        instrument = self._instrument
        assert instrument is not None
        try:
            return operation(instrument)
        except InstrumentError:
            raise
        except Exception as exc:
            self._drop()
            raise InstrumentError(f"{self.label}: {action}: {explain(exc, self.timeout_s)}") from exc

    def _raise_instrument_errors(self, instrument: Any, action: str) -> None:
        """Drain ``SYST:ERR?``; raise if the instrument reported anything.

        Used after every setting: the query both confirms that the command was processed
        (like ``*OPC?``) and surfaces e.g. ``-222,"Data out of range"``.
        """
        errors = read_error_queue(instrument, self.max_error_reads)
        if errors:
            raise InstrumentError(f"{self.label}: {action}: the instrument reported {'; '.join(errors)}")

    def _set(self, action: str, operation: Callable[[Any], None]) -> None:
        """Send a setting and confirm it through the error queue."""

        def set_and_check(instrument: Any) -> None:
            operation(instrument)
            self._raise_instrument_errors(instrument, action)

        self._io(action, set_and_check)

    def identify(self) -> Identity:
        return self._io("reading *IDN?", lambda instrument: parse_idn(str(instrument.ask("*IDN?"))))

    def clear_errors(self) -> list[str]:
        """Read and return all queued SCPI errors (e.g. left over from front-panel use)."""
        return self._io(
            "reading the error queue", lambda instrument: read_error_queue(instrument, self.max_error_reads)
        )

    def _check_channel(self, channel: int, channels: range) -> int:
        if channel not in channels:
            raise InstrumentError(
                f"{self.label}: channel {channel!r} does not exist "
                f"(channels {channels.start}..{channels.stop - 1})"
            )
        return channel


class LoopbackAdapter(Adapter):  # type: ignore[misc]
    """A PyMeasure adapter that hands each message to a function in the same process.

    For simulated instruments that must share state with the caller (the simulated cell and the
    cycler share one clock, so a run can go faster than real time): the driver code and the SCPI
    text are exactly those of the real instrument, only the socket is left out.
    """

    def __init__(self, handler: Callable[[str], str | None], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._handler = handler
        self._replies: list[str] = []

    def _write(self, command: str, **kwargs: Any) -> None:
        reply = self._handler(command)
        if reply is not None:
            self._replies.append(reply)

    def _read(self, **kwargs: Any) -> str:
        if not self._replies:
            raise TimeoutError("no answer: the simulated instrument sent nothing")
        return self._replies.pop(0)

    def close(self) -> None:
        self._replies.clear()
