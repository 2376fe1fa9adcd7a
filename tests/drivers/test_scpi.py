"""SCPI helpers: resource opening, answer parsing and human-readable error messages."""

from __future__ import annotations

import pytest
from pyvisa import constants
from pyvisa.errors import VisaIOError

from labdcs.drivers.base import InstrumentError
from labdcs.drivers.scpi import explain, open_resource, parse_error, parse_idn
from labdcs_dummy import VISA_SIM_RESOURCE, visa_sim_path
from labdcs_dummy.instruments import HMP4040Model
from labdcs_dummy.scpi_server import ScpiServer


def test_parse_idn() -> None:
    identity = parse_idn("ROHDE&SCHWARZ,HMP4040,123456,HW50020001/SW2.51\n")
    assert (identity.manufacturer, identity.model, identity.serial, identity.firmware) == (
        "ROHDE&SCHWARZ",
        "HMP4040",
        "123456",
        "HW50020001/SW2.51",
    )
    with pytest.raises(ValueError, match="4 comma-separated fields"):
        parse_idn("garbage")


def test_parse_error() -> None:
    assert parse_error('-222,"Data out of range"') == (-222, "Data out of range")
    assert parse_error('+0,"No error"') == (0, "No error")


def test_explain_speaks_instrument() -> None:
    assert "not answering" in explain(VisaIOError(constants.StatusCode.error_timeout), 2.0)
    assert "within 2 s" in explain(VisaIOError(constants.StatusCode.error_timeout), 2.0)
    assert "nothing is listening" in explain(ConnectionRefusedError(111, "Connection refused"))
    assert "closed the connection" in explain(ConnectionResetError(104, "reset"))
    assert "invalid VISA resource" in explain(VisaIOError(constants.StatusCode.error_invalid_resource_name))


def test_open_resource_sets_termination_and_timeout() -> None:
    with ScpiServer(HMP4040Model(seed=1)) as server:
        resource = open_resource(server.resource, "@py", timeout_s=0.5)
        try:
            assert resource.timeout == 500
            assert resource.read_termination == "\n"
            assert resource.query("*IDN?").startswith("ROHDE&SCHWARZ,HMP4040")
        finally:
            resource.close()


def test_open_resource_on_pyvisa_sim() -> None:
    resource = open_resource(VISA_SIM_RESOURCE, visa_sim_path("envmon"), timeout_s=0.5)
    try:
        assert resource.query("*IDN?") == "LABDCS,ENVMON-SHT31,EM000123,1.4.0"
    finally:
        resource.close()


@pytest.mark.parametrize(
    ("resource", "library", "message"),
    [
        ("NOT-A-RESOURCE", "@py", "invalid VISA resource string"),
        ("TCPIP::127.0.0.1::5025::SOCKET", "/no/such/file.yaml@sim", "cannot load VISA library"),
        ("TCPIP::127.0.0.1::5025::SOCKET", "@nonexistent", "cannot load VISA library '@nonexistent'"),
    ],
)
def test_open_resource_errors_are_instrument_errors(resource: str, library: str, message: str) -> None:
    with pytest.raises(InstrumentError, match=message):
        open_resource(resource, library, timeout_s=0.5)
