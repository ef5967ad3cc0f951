"""The golden stream (``golden.py``) still gives exactly the recorded alerts, step results and states.

Recorded before the per-event path was optimised; a failure here means behaviour changed.
Customer alerts and incident alerts are compared apart, so a deliberate change to the
incident rule names itself.
"""

import pytest

from cxpulse.processors.engine import CustomerState

from .golden import load_golden, run_golden


@pytest.fixture(scope="module")
def golden():
    return load_golden()


@pytest.fixture(scope="module")
def fresh():
    return run_golden()


def _first_difference(expected: list, actual: list) -> str:
    for i, (e, a) in enumerate(zip(expected, actual, strict=False)):
        if e != a:
            return f"first difference at #{i}: expected {e}, got {a}"
    return f"lengths differ: expected {len(expected)}, got {len(actual)}"


def test_counts_and_clock(golden, fresh):
    assert (fresh["events"], fresh["duplicates"], fresh["clock"]) == (
        golden["events"], golden["duplicates"], golden["clock"])


def test_customer_alerts_are_identical(golden, fresh):
    expected = [a for a in golden["alerts"] if a[1] != "incident"]
    actual = [a for a in fresh["alerts"] if a[1] != "incident"]
    assert len(expected) > 2000  # the stream exercises every customer rule
    assert {a[1] for a in expected} == {"repeat_contact", "sensitive_customer", "sensitive_contact", "detractor",
                                        "sla_breach", "churn_risk"}
    assert actual == expected, _first_difference(expected, actual)


RERECORD = ("if the incident rule was changed on purpose, record the golden file again: "
            "python -m tests.unit.engine.golden --record (and say so in the commit)")


def test_incident_alerts_are_identical(golden, fresh):
    expected = [a for a in golden["alerts"] if a[1] == "incident"]
    assert expected
    assert [a for a in fresh["alerts"] if a[1] == "incident"] == expected, RERECORD


def test_every_step_result_is_identical(golden, fresh):
    assert fresh["steps_sha256"] == golden["steps_sha256"]


def test_states_are_byte_identical(golden, fresh):
    differing = sorted(c for c in golden["states"] if fresh["states"].get(c) != golden["states"][c])
    assert fresh["states"].keys() == golden["states"].keys()
    assert not differing, f"{len(differing)} states differ, e.g. {differing[:3]}"


def test_incident_states_are_byte_identical(golden, fresh):
    assert fresh["incidents"] == golden["incidents"], RERECORD


def test_recorded_states_read_back_equal(golden):
    # The bytes written when the golden file was recorded (state format v1) stay readable
    # and mean the same state, whatever format the engine writes now.
    fresh_states = _states()
    for cid, data in golden["state_samples"].items():
        assert CustomerState.from_bytes(data.encode()) == fresh_states[cid], cid


def _states() -> dict[str, CustomerState]:
    from cxpulse.processors.engine import EngineDriver
    from cxpulse.schemas import parse_event

    from .golden import GOLDEN_SETTINGS, golden_lines

    driver = EngineDriver(GOLDEN_SETTINGS, keep_alerts=False)
    for line in golden_lines():
        driver.feed(parse_event(line))
    driver.finish()
    return driver.states
