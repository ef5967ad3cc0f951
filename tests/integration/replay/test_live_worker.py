"""A scenario run live through ``cxpulse worker``, then replayed from Kafka and from the archive,
gives the same alerts (ids and contents, ``emitted_at`` aside) and the same final scores.

One partition, and three partitions with every rule — SLA breaches by the partition
clocks and incidents behind the watermark included: a customer's results depend only on
its partition's records, and an incident only on the set of contacts, so the worker's
own interleaving of partitions changes nothing. The worker is left until every partition
is idle (its last sweep and incident decisions), as a replay ends with ``finish()``.
"""

import orjson
import pytest

from ..worker.helpers import consumed_everything, settled

pytestmark = pytest.mark.timeout(420)


def without_emitted(alert: dict) -> dict:
    return {k: v for k, v in alert.items() if k != "emitted_at"}


def live_and_replayed(settings, records, send_records, read_topic, worker_factory, cli, wait_for, tmp_path):
    live = worker_factory(settings, ready_timeout=120)
    send_records(settings.topics.events, records)
    wait_for(lambda: live.health()["events"] == len(records), timeout=180, message="the worker read every record")
    # Every partition idle (engine.partition_idle_seconds of silence): the last SLA sweep ran at
    # the overall clock and the incident watermark is open, as at the end of a replay.
    wait_for(lambda: settled(live.health()), timeout=120, message="every partition idle")
    contacts = f"{settings.worker.app_id}-contacts"
    wait_for(lambda: consumed_everything(settings, [settings.topics.events, contacts]), timeout=120,
             message="the worker committed everything it read")
    live.stop()
    alerts = {(a["alert_id"], a["status"]): without_emitted(a)
              for a in (orjson.loads(r.value) for r in read_topic(settings.topics.alerts))}
    scores = {}
    for record in read_topic(settings.topics.scores):  # per partition in offset order: the last one wins
        scores[record.key.decode()] = orjson.loads(record.value)
    for run in (cli(settings, "archive", "--dir", "arch", "--once"), cli(settings, "replay", "--out", "k"),
                cli(settings, "replay", "--from", "arch", "--out", "a")):
        print(run.out[:600], run.err[-2000:])  # shown if the test fails
    return alerts, scores


def explain(replay: dict, live: dict) -> str:
    """What differs, briefly: keys on one side only, and the fields that differ on both."""
    lines = [f"only in the replay: {sorted(replay.keys() - live.keys())[:5]}",
             f"only live: {sorted(live.keys() - replay.keys())[:5]}"]
    for key in sorted(k for k in replay.keys() & live.keys() if replay[k] != live[k])[:5]:
        lines.append(f"{key}: " + ", ".join(f"{f} replay={replay[key][f]!r} live={live[key].get(f)!r}"
                                            for f in replay[key] if replay[key][f] != live[key].get(f)))
    return "\n".join(lines)


def replayed(directory) -> tuple[dict, dict]:
    alerts = [orjson.loads(line) for line in (directory / "alerts.jsonl").read_bytes().splitlines()]
    scores = [orjson.loads(line) for line in (directory / "scores.jsonl").read_bytes().splitlines()]
    return ({(a["alert_id"], a["status"]): without_emitted(a) for a in alerts},
            {s["customer_id"]: s for s in scores})


def assert_both_replays_match(tmp_path, alerts: dict, scores: dict) -> None:
    """The replays from Kafka (``k``) and from the archive (``a``) equal the live run."""
    for source in ("k", "a"):
        replay_alerts, replay_scores = replayed(tmp_path / source)
        assert replay_alerts == alerts, explain(replay_alerts, alerts)
        assert replay_scores == scores, explain(replay_scores, scores)


def test_one_partition_every_rule(settings_factory, scenario, send_records, read_topic, worker_factory, cli, wait_for,
                                  tmp_path):
    settings = settings_factory(partitions=1)
    records = scenario(customers=400, days=6, seed=61, partitions=1)

    alerts, scores = live_and_replayed(settings, records, send_records, read_topic, worker_factory, cli, wait_for,
                                       tmp_path)

    assert_both_replays_match(tmp_path, alerts, scores)
    assert {rule for _, rule in ((k, a["rule"]) for k, a in alerts.items())} == {
        "repeat_contact", "sensitive_customer", "sensitive_contact", "detractor", "sla_breach", "churn_risk",
        "incident"}


def test_three_partitions_every_rule(settings_factory, scenario, send_records, read_topic, worker_factory, cli,
                                     wait_for, tmp_path):
    settings = settings_factory(partitions=3)
    records = scenario(customers=500, days=6, seed=63, partitions=3)

    alerts, scores = live_and_replayed(settings, records, send_records, read_topic, worker_factory, cli, wait_for,
                                       tmp_path)

    assert_both_replays_match(tmp_path, alerts, scores)
    rules = {a["rule"] for a in alerts.values()}
    assert {"sla_breach", "incident", "churn_risk", "repeat_contact"} <= rules
    assert sum(a["rule"] == "sla_breach" for a in alerts.values()) > 5


def test_three_partitions_without_due_times(settings_factory, scenario, send_records, read_topic, worker_factory, cli,
                                            wait_for, tmp_path):
    settings = settings_factory(partitions=3)
    records = [r for r in scenario(customers=500, days=6, seed=62, outage_customers=0)]
    records = [_without_due(r) for r in records]

    alerts, scores = live_and_replayed(settings, records, send_records, read_topic, worker_factory, cli, wait_for,
                                       tmp_path)

    assert_both_replays_match(tmp_path, alerts, scores)
    assert len(alerts) > 50 and len(scores) > 400


def _without_due(record):
    try:
        event = orjson.loads(record.value)
    except orjson.JSONDecodeError:
        return record
    if not isinstance(event, dict) or "due_at" not in event:
        return record
    del event["due_at"]
    return record._replace(value=orjson.dumps(event))
