"""A fixed event stream through ``parse_event`` and :class:`EngineDriver`, and its recorded output.

The golden file pins what the per-event path produces — every alert (as JSON), every
step result (signals, bands, score, contact, due times), every customer and incident
state's ``to_bytes()`` — so speed work on the parser, the engine and the state format
cannot change behaviour unnoticed. ``test_golden.py`` compares a fresh run with it.

The stream is generated (``random.Random`` with a fixed seed: its algorithms are stable
across Python versions) and exercises every rule: repeat contacts, grievances and
sensitivity, detractors, ticket lifecycles with breaches found by the clock, by the
customer's next event and by a late resolution, withdrawn breaches, reopened tickets,
churn episodes, an outage burst (incidents), duplicates, late and very late events,
segments, mixed-case service types and timestamps with various offsets.

Record it again only when behaviour is *meant* to change (a rule change, say), and say
so in the commit::

    .venv/bin/python -m tests.unit.engine.golden --record
"""

import argparse
import gzip
import hashlib
import random
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import orjson

from cxpulse.processors.engine import EngineDriver, EngineSettings
from cxpulse.schemas import parse_event

__all__ = ["GOLDEN", "golden_lines", "run_golden"]

GOLDEN = Path(__file__).parent / "golden" / "driver-v1.json.gz"
START = datetime(2025, 3, 3, 6, 0, tzinfo=timezone.utc)
SERVICES = ["billing", "Repair", "outage", "BILLING", "installation"]
OFFSETS = [timezone.utc, timezone(timedelta(hours=2)), timezone(timedelta(hours=-5, minutes=-30))]
HOUR = 3600.0
DAY = 86400.0


def _iso(rng: random.Random, seconds: float) -> str:
    moment = (START + timedelta(seconds=seconds)).astimezone(rng.choice(OFFSETS))
    text = moment.isoformat(timespec=rng.choice(["seconds", "milliseconds", "microseconds"]))
    if text.endswith("+00:00") and rng.random() < 0.5:
        text = text[:-6] + rng.choice(["Z", "z"])
    return text.replace("T", "t") if rng.random() < 0.05 else text


def _call(rng: random.Random, svc: str, inbound: bool | None = None) -> dict[str, Any]:
    record: dict[str, Any] = {
        "event_type": "call", "service_type": svc,
        "direction": "inbound" if (inbound if inbound is not None else rng.random() < 0.8) else "outbound",
        "wait_seconds": rng.choice([5, 30.5, 120, 301, 900]), "talk_seconds": rng.choice([0, 60, 240.25]),
        "outcome": rng.choice(["resolved", "resolved", "unresolved", "transferred", "escalated", "abandoned",
                               "callback"]),
    }
    if rng.random() < 0.1:
        record["is_complaint"] = True
    if rng.random() < 0.5:
        record["sentiment"] = rng.choice([-1.0, -0.75, -0.5, 0.0, 0.6])
    if rng.random() < 0.5:
        record["agent_id"] = f"A-{rng.randrange(20)}"
    return record


def _survey(rng: random.Random, svc: str) -> dict[str, Any]:
    survey = rng.choice(["csat", "nps", "ces", "comment"])
    record: dict[str, Any] = {"event_type": "feedback", "service_type": svc, "survey": survey}
    if survey == "comment":
        record["comment"] = rng.choice(["slow again", "thanks", "ünïcödé ✓"])
    else:
        record["score"] = rng.randint(*{"csat": (1, 5), "nps": (0, 10), "ces": (1, 7)}[survey])
    if rng.random() < 0.1:
        record["is_complaint"] = True
    if rng.random() < 0.2:
        record["related_ticket_id"] = f"T-{rng.randrange(1000)}"
    return record


def _lifecycle(rng: random.Random, cust: int, svc: str, t: float, out: list) -> None:
    tid = f"T-{cust}-{rng.randrange(10**6)}"
    due = t + rng.choice([2 * HOUR, DAY, 2 * DAY])
    base = {"event_type": "ticket", "service_type": svc, "ticket_id": tid}
    opened = {**base, "action": "opened", "due_at": due, "priority": rng.choice(["low", "normal", "urgent"])}
    if rng.random() < 0.1:
        opened["is_complaint"] = True
    out.append((t, cust, opened))
    fate = rng.random()
    done = t + (due - t) * (rng.uniform(0.2, 0.9) if fate < 0.8 else rng.uniform(1.1, 2.5))
    if rng.random() < 0.3:  # a due-time extension, sometimes arriving after the clock passed the old one
        extended = {**base, "action": "updated", "due_at": due + DAY, "priority": "high"}
        out.append((rng.uniform(t, due), cust, extended, rng.uniform(0, 2 * DAY) if rng.random() < 0.3 else 0.0))
    if rng.random() < 0.15:
        out.append((rng.uniform(t, done), cust, {**base, "action": "escalated", "is_complaint": rng.random() < 0.3}))
    if fate < 0.95:
        late = rng.uniform(0, DAY) if rng.random() < 0.1 else 0.0  # an on-time resolution read late
        out.append((done, cust, {**base, "action": rng.choice(["resolved", "closed"])}, late))
    if rng.random() < 0.08:
        out.append((done + HOUR, cust, {**base, "action": "reopened", "due_at": done + DAY}))
        out.append((done + 2 * DAY, cust, {**base, "action": "closed"}))
    if rng.random() < 0.03:  # a resolution of a ticket never seen open, with its due time
        out.append((t + HOUR, cust, {"event_type": "ticket", "service_type": svc, "ticket_id": f"X-{tid}",
                                     "action": "resolved", "due_at": t}))


def golden_lines(seed: int = 20250303, n: int = 6000, customers: int = 400, days: float = 12.0) -> list[bytes]:
    """The golden stream: ``n`` JSON lines (plus duplicates) in arrival order."""
    rng = random.Random(seed)
    segments = [rng.choice(["standard"] * 6 + ["vip", "key", "vulnerable"]) for _ in range(customers)]
    timed: list[tuple] = []
    # Outages: many customers within 15 minutes (twice), and a near miss of 24.
    for burst, size, width in ((0.4, 60, 900.0), (0.7, 40, 2400.0), (0.2, 24, 600.0)):
        for cust in rng.sample(range(customers), size):
            timed.append((days * DAY * burst + rng.uniform(0, width), cust, _call(rng, "outage", inbound=True)))
    hot = range(0, customers, 8)  # a few customers who struggle
    while len(timed) < n:
        cust = rng.choice(hot) if rng.random() < 0.4 else rng.randrange(customers)
        svc = rng.choice(SERVICES)
        t = rng.uniform(0, days * DAY)
        kind = rng.random()
        if kind < 0.45:
            timed.append((t, cust, _call(rng, svc)))
            if rng.random() < 0.3:
                timed.append((t + rng.uniform(60, 4 * HOUR), cust, _survey(rng, svc)))
        elif kind < 0.8:
            _lifecycle(rng, cust, svc, t, timed)
        else:
            timed.append((t, cust, _survey(rng, svc)))
    # Arrival order: by occurred_at plus a delay (most none; some minutes; a few beyond the tolerance).
    arrivals = []
    for i, entry in enumerate(timed):
        t, cust, record = entry[0], entry[1], entry[2]
        delay = entry[3] if len(entry) > 3 else 0.0
        roll = rng.random()
        if roll < 0.03:
            delay += rng.uniform(60, 3 * HOUR)
        elif roll < 0.035:
            delay += rng.uniform(3 * DAY, 6 * DAY)
        if "due_at" in record:
            record = {**record, "due_at": _iso(rng, record["due_at"])}
        record = {**record, "event_id": f"g-{i:05d}", "customer_id": f"C-{cust:04d}", "occurred_at": _iso(rng, t),
                  "channel": rng.choice(["phone", "web", "app", "email", "chat"])}
        if segments[cust] != "standard" or rng.random() < 0.3:
            record["segment"] = segments[cust]
        arrivals.append((t + delay, i, orjson.dumps(record)))
    arrivals.sort()
    lines = [line for _, _, line in arrivals]
    for _ in range(n // 50):  # redelivered records, shortly after the original
        i = rng.randrange(len(lines))
        lines.insert(min(i + rng.randrange(1, 50), len(lines)), lines[i])
    return lines


# Recorded before engine.sla_grace_seconds existed: the grace changes only which event a
# breach found by the stream clock is reported with (tests/unit/orchestration checks that).
GOLDEN_SETTINGS = EngineSettings(sla_grace_seconds=0)


def run_golden(lines: list[bytes] | None = None) -> dict[str, Any]:
    """Parse and feed the stream; everything it produced, as JSON-ready values."""
    steps = hashlib.sha256()

    def hook(event, result, caused) -> None:
        steps.update(repr((event.event_id, result.duplicate, result.signals, result.band_before, result.band_after,
                           result.score.hex(), result.contact, result.due, result.at.hex(),
                           [a.alert_id for a in caused if a.rule != "incident"])).encode())

    driver = EngineDriver(GOLDEN_SETTINGS, on_step=hook)
    for line in golden_lines() if lines is None else lines:
        driver.feed(parse_event(line))
    driver.finish()
    return {
        "events": driver.events,
        "duplicates": driver.duplicates,
        "clock": driver.clock.hex(),
        "steps_sha256": steps.hexdigest(),
        # Each alert as (id, rule, status, digest of its JSON): small, and names what differs.
        "alerts": [[a.alert_id, a.rule, a.status, _digest(a.model_dump_json())] for a in driver.alerts],
        # Every state's digest, and every tenth state whole (to test reading this format back).
        "states": {cid: _digest(driver.states[cid].to_bytes().decode()) for cid in sorted(driver.states)},
        "state_samples": {cid: driver.states[cid].to_bytes().decode() for cid in sorted(driver.states)[::10]},
        "incidents": {svc: driver.incident_states[svc].to_bytes().decode() for svc in sorted(driver.incident_states)},
    }


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def load_golden() -> dict[str, Any]:
    return orjson.loads(gzip.decompress(GOLDEN.read_bytes()))


def _record() -> None:
    GOLDEN.parent.mkdir(exist_ok=True)
    out = run_golden()
    GOLDEN.write_bytes(gzip.compress(orjson.dumps(out), compresslevel=9, mtime=0))
    rules: dict[str, int] = {}
    for _, key, _, _ in out["alerts"]:
        rules[key] = rules.get(key, 0) + 1
    print(f"recorded {GOLDEN.name}: {out['events']} events, {out['duplicates']} duplicates, "
          f"{len(out['alerts'])} alerts {rules}, {len(out['states'])} customers")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description="Record the golden output of the engine driver.")
    parser.add_argument("--record", action="store_true", help="write the golden file from the current code")
    if parser.parse_args().record:
        _record()
    else:
        parser.print_help()
