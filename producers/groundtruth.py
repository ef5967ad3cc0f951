"""The simulator's ground truth as one JSON document (format described in docs/producers.md).

It says which customers were made to struggle, how, on which service type, with the
ids of the events that make up each pattern and the rules those events are built to
fire; and the outage burst. Every customer not listed is content: no rule should
fire for it (``incident`` aside, which has no customer).
"""

from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from .patterns import POSSIBLE_RULES, Struggle
from .rhythm import format_ms

if TYPE_CHECKING:  # pragma: no cover
    from .churn import ChurnTracker
    from .simulator import Simulation

__all__ = ["FORMAT_VERSION", "ground_truth", "write_ground_truth"]

FORMAT_VERSION = 1


def ground_truth(sim: "Simulation") -> dict[str, Any]:
    """The ground truth of a simulation, as far as its events have been emitted."""
    config, engine = sim.config, sim.limits.engine
    when = lambda ms: None if ms is None else format_ms(ms, sim.tz)  # noqa: E731
    return {
        "format": FORMAT_VERSION,
        "run_id": sim.run_id,
        "seed": config.seed,
        "period": {"start": when(sim.start_ms), "end": when(sim.end_ms)},
        "customers": config.customers,
        "customer_id_format": f"cust-{config.seed}-<index, 6 digits>, index 0..{config.customers - 1}",
        "emitted": {
            "events": sim.emitted,
            "by_type": dict(sorted(sim.counts.items())),
            "first": when(sim.first_ms),
            "last": when(sim.last_ms),
        },
        "thresholds": {
            "repeat_window_seconds": engine.repeat_window_seconds,
            "repeat_warning_at": engine.repeat_warning_at,
            "repeat_critical_at": engine.repeat_critical_at,
            "sensitive_at": engine.sensitive_at,
            "sensitive_window_seconds": engine.sensitive_window_seconds,
            "incident_customers": engine.incident_customers,
            "incident_window_seconds": engine.incident_window_seconds,
            "healthy_at_or_above": engine.healthy_at_or_above,
        },
        "struggling": [_customer(sim, s, when) for s in sim.struggles],
        "outage": _outage(sim, when),
        **({} if sim.churn is None else {"churn": _churn(sim, sim.churn, when)}),
        "warnings": list(sim.warnings),
    }


def _churn(sim: "Simulation", churn: "ChurnTracker", when: Any) -> dict[str, Any]:
    """The hidden churn model's settings and every customer who decided to leave."""
    left = [c for c in churn.churns if c.emitted]
    return {
        "model": {**churn.settings.model_dump(), "scale": sim.config.churn_scale},
        "account_events": sim.config.churn_events,
        "left": len(left),
        "decided_not_left": len(churn.churns) - len(left),  # their notice ran past the period's end
        "customers": [
            {"customer_id": c.customer_id, "segment": c.segment, "decided_at": when(c.decided_ms),
             "churned_at": when(c.churned_ms) if c.emitted else None, "action": c.action, "reason": c.reason,
             "cause": c.cause, "frustration": c.frustration, "event_id": c.event_id}
            for c in churn.churns
        ],
    }


def _complete(sim: "Simulation", planned: int, emitted: int, end_ms: int) -> bool:
    return emitted == planned and sim.last_ms is not None and sim.last_ms >= end_ms


def _customer(sim: "Simulation", s: Struggle, when: Any) -> dict[str, Any]:
    pattern = {
        "pattern": s.pattern,
        "service_type": s.service_type,
        "expected_rules": list(s.expected_rules),
        "possible_rules": list(POSSIBLE_RULES),
        "start": when(s.start_ms),
        "end": when(s.end_ms),
        "complete": _complete(sim, s.planned, len(s.event_ids), s.end_ms),
        "detail": s.detail,
        "event_ids": s.event_ids,
    }
    return {"customer_id": s.customer_id, "segment": s.segment, "patterns": [pattern]}


def _outage(sim: "Simulation", when: Any) -> dict[str, Any] | None:
    outage = sim.outage
    if outage is None:
        return None
    return {
        "service_type": outage.service_type,
        "start": when(outage.start_ms),
        "end": when(outage.end_ms),
        "expected_rules": ["incident"],
        "complete": _complete(sim, outage.planned, len(outage.event_ids), outage.end_ms),
        "customers": outage.customers,
        "event_ids": outage.event_ids,
    }


def write_ground_truth(path: Path, truth: dict[str, Any]) -> None:
    """Write the document as indented JSON (UTF-8)."""
    path.write_bytes(orjson.dumps(truth, option=orjson.OPT_INDENT_2) + b"\n")
