"""The simulator's ground truth against the real engine: every expected alert fires, nothing else does.

This is the measurement the pipeline is built for (precision and recall of the alerts),
run in one process through :class:`EngineDriver`, the same code the worker calls.
"""

from collections import defaultdict

import orjson
import pytest

from cxpulse.processors.engine import EngineDriver
from cxpulse.schemas import parse_event

from . import oracle


@pytest.mark.parametrize(
    "overrides",
    [
        {"seed": 1, "customers": 800},
        {"seed": 2, "customers": 500, "days": 1.5, "engine": {"repeat_warning_at": 4, "repeat_critical_at": 5}},
    ],
)
def test_alerts_match_the_ground_truth(simulation_factory, overrides):
    sim = simulation_factory(**overrides)
    driver = EngineDriver(sim.config.engine)
    for event in sim.events():
        driver.feed(parse_event(orjson.dumps(event)))
    driver.finish()
    truth = sim.ground_truth()

    fired: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))  # customer -> rule -> severities
    incidents = []
    for alert in driver.alerts:
        if alert.rule == "incident":
            if all(known.alert_id != alert.alert_id for known in incidents):  # updates share the id
                incidents.append(alert)
        else:
            fired[alert.customer_id][alert.rule].add(alert.severity)

    expected = {entry["customer_id"]: entry["patterns"][0] for entry in truth["struggling"]}
    for customer, pattern in expected.items():
        rules = set(fired[customer]) - set(pattern["possible_rules"])
        assert rules == set(pattern["expected_rules"]), (customer, pattern["pattern"])
        severity = pattern["detail"].get("severity")
        if severity is not None:
            assert severity in fired[customer][pattern["expected_rules"][0]], (customer, pattern)
    assert {customer: dict(rules) for customer, rules in fired.items() if customer not in expected} == {}

    outage = truth["outage"]
    assert [(a.service_type, a.customer_id) for a in incidents] == [(outage["service_type"], None)]
    moment = incidents[0].triggered_at.timestamp()
    assert oracle.at(outage["start"]) <= moment <= oracle.at(outage["end"])
