"""``--diff`` with a changed threshold reports exactly the changes the threshold causes.

The "live" alerts are what the engine gives with the current settings, written to the
alerts topic in the worker's own format; the expected changes are computed here with
two independent EngineDriver runs, one per setting.
"""

import orjson

from cxpulse.processors.archive import SourceRecord
from cxpulse.processors.engine import EngineDriver, EngineSettings
from cxpulse.processors.worker.records import alert_record
from cxpulse.schemas import InvalidEvent, parse_event

NEW = {"repeat_warning_at": 4, "weights": {"complaint": 30.0}}


def engine_alerts(records: list[SourceRecord], settings: EngineSettings) -> dict[tuple[str, str], dict]:
    driver = EngineDriver(settings)
    for record in sorted(records, key=lambda r: r.timestamp):  # stamped 1 s apart: the order written
        try:
            event = parse_event(record.value, now=record.timestamp / 1000)
        except InvalidEvent:
            continue
        if record.key == event.customer_id.encode():
            driver.feed(event)
    driver.finish()
    return {(a.alert_id, a.status): a.model_dump(mode="json", exclude={"emitted_at"}) for a in driver.alerts}


def test_diff_reports_exactly_what_the_new_threshold_changes(settings_factory, scenario, send_records, cli,
                                                             tmp_path):
    settings = settings_factory(partitions=3)
    records = scenario(customers=400, days=6, seed=21)
    send_records(settings.topics.events, records)
    base = engine_alerts(records, settings.engine)
    new = engine_alerts(records, settings.engine.model_validate({**settings.engine.model_dump(), **NEW,
                                                                "weights": {**settings.engine.weights.model_dump(),
                                                                            **NEW["weights"]}}))
    live = [SourceRecord(None, None, records[0].timestamp + i, *alert_record(_alert(a), "2025-03-10T01:00:00Z"))
            for i, a in enumerate(base.values())]
    send_records(settings.topics.alerts, live)
    (tmp_path / "new.toml").write_text("[engine]\nrepeat_warning_at = 4\n[engine.weights]\ncomplaint = 30\n")

    run = cli(settings, "replay", "--settings", "new.toml", "--diff", "--out", "d")

    lines = [orjson.loads(line) for line in (tmp_path / "d/diff.jsonl").read_bytes().splitlines()]
    both = base.keys() & new.keys()
    same = {k for k in both if base[k] == new[k]}
    by_id = [d for d in lines if d["change"] == "changed" and d["live"]["alert_id"] == d["replay"]["alert_id"]]
    summary = orjson.loads((tmp_path / "d/summary.json").read_bytes())["diff"]
    assert summary["live_alerts"] == len(base) and summary["unchanged"] == len(same)
    assert {_key(d["live"]) for d in by_id if _key(d["live"]) == _key(d["replay"])} == both - same
    for d in by_id:
        assert set(d["fields"]) == {f for f in base[_key(d["live"])] if base[_key(d["live"])][f] != new[_key(d["replay"])][f]}
    live_side = [_key(d["alert"]) for d in lines if d["change"] == "removed"]
    live_side += [_key(d["live"]) for d in lines if d["change"] == "changed" and _key(d["live"]) not in both]
    replay_side = [_key(d["alert"]) for d in lines if d["change"] == "added"]
    replay_side += [_key(d["replay"]) for d in lines if d["change"] == "changed" and _key(d["replay"]) not in both]
    assert sorted(live_side) == sorted(base.keys() - new.keys())
    assert sorted(replay_side) == sorted(new.keys() - base.keys())
    assert base.keys() - new.keys() and new.keys() - base.keys() and both - same  # the change did something
    for d in lines:
        if d["change"] == "changed" and d["matched_by"] == "nearby":
            assert [d["live"][f] for f in ("rule", "customer_id", "service_type")] == [
                d["replay"][f] for f in ("rule", "customer_id", "service_type")]
    assert "Diff against the live alerts" in run.out and "setting: engine.repeat_warning_at 3 -> 4" in run.out


def test_no_change_no_difference(settings_factory, scenario, send_records, cli, tmp_path):
    settings = settings_factory(partitions=2)
    records = scenario(customers=150, days=3, seed=22, partitions=2)
    send_records(settings.topics.events, records)
    base = engine_alerts(records, settings.engine)
    send_records(settings.topics.alerts, [SourceRecord(None, None, records[-1].timestamp,
                                                       *alert_record(_alert(a), "2025-03-10T02:00:00Z"))
                                          for a in list(base.values()) * 2])  # each written twice: at-least-once

    cli(settings, "replay", "--diff", "--out", "d")

    summary = orjson.loads((tmp_path / "d/summary.json").read_bytes())["diff"]
    assert (summary["unchanged"], summary["changed"], summary["added"], summary["removed"]) == (len(base), 0, 0, 0)


def _key(alert: dict) -> tuple[str, str]:
    return alert["alert_id"], alert["status"]


def _alert(data: dict):
    from cxpulse.schemas import Alert

    return Alert.model_validate(data)
