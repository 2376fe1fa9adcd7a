"""labdcs.protocols: the text form both ways, every validation rule with its message, the importer."""

from __future__ import annotations

import pytest

from labdcs.protocols import (
    Envelope,
    Protocol,
    ProtocolError,
    TextError,
    estimate,
    format_protocol,
    load,
    parse,
    parse_wattrex,
    validate,
)

TEXT = """\
Protocol: cc-cv-cycling
Version: 3
Capacity: 2.5 Ah
Safety: v_min 2.5 V, v_max 4.25 V, i_min -5 A, i_max 5 A, t_max 55 degC, capacity_max 3 Ah
Record: every 1 second, on 0.005 V, on 0.01 A

Rest for 30 minutes
Cycle 100 times:
    [chg] Charge at 1 A until 4.2 V or 3 hours then abort
    Hold at 4.2 V until C/50
    Rest for 10 minutes (10 seconds period)
    [dchg] Discharge at C/2 until 2.5 V or 3 hours
    Repeat 2 times:
        Charge at C/2 and hold at 4.2 V for 2 hours or until C/20
        Pulse discharge at 2 A for 10 seconds, rest 30 seconds, 5 times until 3 V
    Discharge at 10 W until 3 V or 1 hour
    Hold at 3.7 V limited to 1 A for 5 minutes or until 0.1 A then goto dchg
"""
CELL = Envelope(v_min=2.5, v_max=4.2, i_min=-5.0, i_max=5.0, t_max_c=60.0)


def test_text_round_trip_is_exact() -> None:
    protocol = parse(TEXT)
    assert format_protocol(protocol) == TEXT
    assert parse(format_protocol(protocol)) == protocol


def test_model_round_trip_through_yaml_json_and_text() -> None:
    protocol = parse(TEXT)
    document = protocol.to_document()
    assert Protocol.model_validate(document) == protocol
    assert load(protocol.model_dump_json()) == protocol
    assert load(format_protocol(protocol)) == protocol


def test_pybamm_style_lines() -> None:
    protocol = parse(
        "Charge at 1 A until 4.2 V\nHold at 4.2 V until C/50\n"
        "Discharge at 0.5C until 2.5 V\nRest for 30 minutes",
        name="pybamm",
    )
    cc, cv, dchg, rest = protocol.steps
    assert cc.type == "cc" and cc.until[0].describe() == "voltage >= 4.2 V"
    assert cv.type == "cv" and cv.until[0].describe() == "current <= 0.02 C"
    assert dchg.type == "cc" and dchg.until[0].describe() == "voltage <= 2.5 V"
    assert rest.type == "rest" and rest.until[0].value == 1800.0


def test_text_errors_name_the_line() -> None:
    with pytest.raises(TextError, match=r"line 2: .*unknown unit 'Amp'"):
        parse("Rest for 1 hour\nCharge at 1 Amp until 4.2 V")
    with pytest.raises(TextError, match=r"line 1: not a step"):
        parse("Jump around")
    with pytest.raises(TextError, match=r"line 1: a loop needs its steps"):
        parse("Cycle 3 times:\nRest for 1 hour")


def _errors(protocol: Protocol, **kwargs: object) -> list[str]:
    return [str(p) for p in validate(protocol, **kwargs).errors]  # type: ignore[arg-type]


GOOD = "Safety: v_min 2.5 V, v_max 4.2 V, i_min -5 A, i_max 5 A\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Charge at 1 A until 0.5 A", r"step 1 \(cc\): a constant-current step cannot end on current alone"),
        ("Hold at 4.1 V until 4.2 V", r"step 1 \(cv\): a constant-voltage step cannot end on voltage alone"),
        ("Rest until 0.1 A", r"step 1 \(rest\): a rest cannot end on current alone"),
        (
            "Charge at 1 A and hold at 4.2 V until 4.2 V",
            r"step 1 \(cccv\): a CC-CV step cannot end on voltage",
        ),
        ("Charge at 1 A until below 3 V", r"step 1 \(cc\): 'voltage <= 3 V' cannot end a charge step"),
        ("Discharge at 0.5C until 3 V", r"step 1 \(cc\): uses a C-rate but neither"),
        ("Charge at 6 A until 4.2 V", r"step 1 \(cc\): charge current 6 A exceeds the allowed 5 A"),
        ("Discharge at 6 A until 3 V", r"step 1 \(cc\): discharge current 6 A exceeds the allowed 5 A"),
        ("Charge at 1 A until 4.3 V", r"step 1 \(cc\): end condition 'voltage >= 4.3 V': 4.3 V is above"),
        ("Hold at 2.4 V for 1 hour", r"step 1 \(cv\): setpoint: 2.4 V is below the allowed 2.5 V"),
        (
            "Charge at 1 A until 70 degC or 4.2 V",
            r"step 1 \(cc\): end condition 'temperature >= 70 degC' lies",
        ),
        (
            "[a] Rest for 1 hour\n[a] Rest for 1 hour",
            r"step 2 'a' \(rest\): id 'a' is already used by step 1",
        ),
        ("Rest until 1 hour then goto nowhere", r"step 1 \(rest\): 'time >= 3600 s' jumps to 'nowhere'"),
    ],
)
def test_each_rule_has_a_failing_example(text: str, message: str) -> None:
    errors = _errors(parse(GOOD + text), cell=Envelope(t_max_c=60.0))
    assert any(__import__("re").search(message, e) for e in errors), errors


def test_a_step_without_an_ending_is_refused() -> None:
    protocol = Protocol.model_validate({"name": "x", "steps": [{"type": "rest"}]})
    assert "step 1 (rest): the step has no end condition, so it would never end" in _errors(
        protocol, cell=CELL
    )


def test_limits_are_required_and_named() -> None:
    errors = _errors(parse("Rest for 1 hour"))
    assert (
        "protocol: no voltage limits: give the cell's limits or the protocol's safety v_min and v_max"
        in errors
    )


def test_the_envelope_is_the_intersection_of_cell_station_and_protocol() -> None:
    protocol = parse("Safety: i_max 3 A\nCharge at 4 A until 4.2 V")
    station = Envelope(v_min=0.0, v_max=80.0, i_min=-60.0, i_max=60.0)
    report = validate(protocol, cell=CELL, station=station)
    assert report.limits.i_max == 3.0 and report.limits.v_max == 4.2
    assert [str(e) for e in report.errors] == [
        "step 1 (cc): charge current 4 A exceeds the allowed 3 A (cell 5, station 60, protocol 3)"
    ]
    assert report.estimate is None


def test_schema_errors_name_the_step() -> None:
    with pytest.raises(ProtocolError) as caught:
        load(
            {
                "name": "x",
                "steps": [
                    {"type": "rest", "until": []},
                    {"type": "loop", "count": 2, "steps": [{"type": "cc"}]},
                ],
            }
        )
    assert any(problem.startswith("step 2.1: direction: Field required") for problem in caught.value.problems)


def test_estimate_of_duration_and_data_volume() -> None:
    protocol = parse(
        "Record: every 10 seconds\nCycle 10 times:\n    Rest for 1 hour\n    Rest for 30 minutes"
    )
    report = validate(protocol, cell=CELL)
    assert report.ok
    assert report.estimate == estimate(protocol)
    assert report.estimate is not None
    assert report.estimate.duration_s == 10 * 5400.0
    assert report.estimate.cycles == 10 and report.estimate.steps_run == 20
    assert report.estimate.samples == 10 * (360 + 1 + 180 + 1)
    assert report.estimate.bytes > report.estimate.samples * 100


def test_wattrex_import() -> None:
    protocol = parse_wattrex(
        "CC, 2.5, VOLTAGE, 4.2\nCV, 4.2, CURRENT, 0.1\nWAIT, 60\nCC, -2.5, VOLTAGE, 2.8\nCP, -10, TIME, 600"
    )
    assert [step.type for step in protocol.steps] == ["cc", "cv", "rest", "cc", "cp"]
    assert format_protocol(protocol).splitlines()[-5:] == [
        "Charge at 2.5 A until 4.2 V",
        "Hold at 4.2 V until 0.1 A",
        "Rest for 1 minute",
        "Discharge at 2.5 A until 2.8 V",
        "Discharge at 10 W for 10 minutes",
    ]
    assert validate(protocol, cell=CELL).ok


def test_wattrex_errors_list_every_bad_line() -> None:
    with pytest.raises(ProtocolError) as caught:
        parse_wattrex("CC, 1, CURRENT, 0.5\nCV, 4.2, VOLTAGE, 4.1\nWAIT, -1\nXX, 1\nWAIT, 10, 3")
    problems = caught.value.problems
    assert len(problems) == 5
    assert "line 1 (CC, 1, CURRENT, 0.5): a CC instruction cannot be limited by CURRENT" in problems[0]
    assert "cannot be limited by VOLTAGE" in problems[1]
    assert "WAIT time -1 s must be positive" in problems[2]
    assert "unknown mode 'XX'" in problems[3]
    assert "WAIT takes exactly one value" in problems[4]


def test_the_estimate_a_person_reads_is_a_clock_not_fractions_of_an_hour() -> None:
    """A 2-minute protocol was described as "estimate: 0.0 h" in the station's log."""
    from labdcs.protocols import describe

    safety = "Safety: v_min 2.5 V, v_max 4.2 V, i_min -5 A, i_max 5 A\n"
    short = parse(f"Protocol: short\n{safety}Record: every 1 second\nRest for 2 minutes\n")
    assert describe(validate(short)).startswith("estimate: 0:02:00, ")
    long = parse(f"Protocol: long\n{safety}Record: every 10 minutes\nRest for 51 hours\n")
    assert describe(validate(long)).startswith("estimate: 2 d 03:00:00, ")
