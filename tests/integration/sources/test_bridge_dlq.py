"""``cxpulse bridge`` from a raw topic on the real broker, then ``cxpulse dlq`` on what it dead-lettered.

The bridge runs as a subprocess (``--until-end``): the events it produced, the dead letters with
their raw partition and offset, the group's committed offsets, and a second run that finds
nothing new. Then ``dlq list``/``explain`` show those letters, ``resend --dry-run`` sends
nothing, and ``resend --source <fixed mapping>`` sends what the fix maps, idempotently.
"""

import subprocess
from pathlib import Path

import orjson
import pytest

from cxpulse.cli import main
from cxpulse.clients import kafka_python_config
from cxpulse.producers.mapping.bridge import bridge_group
from cxpulse.schemas import DeadLetter, parse_event
from cxpulse.supervisor import cxpulse_command

pytestmark = pytest.mark.timeout(300)
PRESET = Path(__file__).resolve().parents[3] / "producers" / "mapping" / "presets" / "salesforce-case.toml"


def committed(settings, group: str, topic: str) -> dict[int, int]:
    from kafka import KafkaAdminClient

    admin = KafkaAdminClient(**kafka_python_config(settings.kafka))
    try:
        offsets = admin.list_group_offsets({group: None}).get(group, {})
    finally:
        admin.close()
    return {tp.partition: meta.offset for tp, meta in offsets.items() if tp.topic == topic}


def run_bridge(config: Path, raw: str, cwd: Path) -> subprocess.CompletedProcess:
    argv = cxpulse_command("--config", str(config), "bridge", "--source", "salesforce-case", "--from-topic", raw, "--until-end")
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=120, check=False)


def cli(capfd, *argv: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as done:
        main(list(argv))
    out, err = capfd.readouterr()
    return done.value.code, out, err


def test_bridge_then_dead_letters_listed_explained_and_resent(settings_factory, config_file_factory, topic_factory,
                                                               produce, consume, samples, tmp_path, capfd):  # fmt: skip
    settings = settings_factory(partitions=2)
    config = config_file_factory(settings)
    raw = topic_factory(partitions=2, prefix="raw")
    cases = samples("salesforce-case")
    produce(raw, [(case["data"]["payload"]["ChangeEventHeader"]["recordIds"][0], orjson.dumps(case)) for case in cases]
            + [(b"junk", b"\xff not json")])  # fmt: skip

    done = run_bridge(config, raw, tmp_path)
    assert done.returncode == 0, done.stderr
    assert "read 7 records: 4 events produced, 1 ignored, 2 dead-lettered" in done.stdout
    events = consume(settings.topics.events, count=4)
    assert len(events) == 4
    for record in events:
        event = parse_event(record.value)
        assert record.key == event.customer_id.encode()
    letters = [(r, DeadLetter.model_validate_json(r.value)) for r in consume(settings.topics.dlq, count=2)]
    reasons = sorted(letter.error for _, letter in letters)
    assert reasons[0].startswith("source salesforce-case, rule changed: customer_id: required")
    assert reasons[1] == "source salesforce-case: record: not valid UTF-8"
    for _, letter in letters:
        assert letter.source == "salesforce-case" and letter.source_topic == raw and letter.offset is not None
    group = bridge_group(settings, "salesforce-case", raw)
    ends = {r.partition: r.offset for r in consume(raw)}  # last offset per partition
    assert committed(settings, group, raw) == {p: last + 1 for p, last in ends.items()}

    again = run_bridge(config, raw, tmp_path)  # everything committed: nothing is mapped twice
    assert again.returncode == 0, again.stderr
    assert "read 0 records" in again.stdout
    assert len(consume(settings.topics.events)) == 4

    code, out, err = cli(capfd, "--config", str(config), "dlq", "list")
    assert code == 0, err
    lines = out.strip().splitlines()
    assert len(lines) == 2 and all("salesforce-case" in line and raw in line for line in lines)
    assert "\\xff" not in out and "Closed" not in out  # no raw record without --json

    code, out, err = cli(capfd, "--config", str(config), "dlq", "explain", "--reason", "customer_id")
    assert code == 0, err
    assert "1 dead letter(s) in 1 group(s)" in out and "customer_id: required by the event contract" in out

    code, out, err = cli(capfd, "--config", str(config), "dlq", "resend", "--dry-run")
    assert code == 1  # nothing maps yet: both still fail
    assert "2 letter(s): 0 valid now, would send 0 event(s)" in out
    assert "still failing 1 x source salesforce-case, rule changed: customer_id" in err

    # The fix: customers without a contact on the case go to one placeholder customer.
    fixed = tmp_path / "salesforce-case.toml"
    fixed.write_text(PRESET.read_text().replace('{ when = "AccountId", expr = "join(\'-\', [\'sf\', AccountId])" },',
                     '{ when = "AccountId", expr = "join(\'-\', [\'sf\', AccountId])" },\n  { value = "sf-unassigned" },'))
    for _ in range(2):  # twice: the same event id both times
        code, out, err = cli(capfd, "--config", str(config), "dlq", "resend", "--reason", "customer_id",
                             "--source", str(fixed))  # fmt: skip
        assert code == 0, err
        assert "1 letter(s): 1 valid now, sent 1 event(s)" in out and "acknowledged by Kafka: 1 of 1" in out
    resent = consume(settings.topics.events, count=6)[4:]
    assert len(resent) == 2
    ids = {parse_event(r.value).event_id for r in resent}
    assert ids == {"sf:0002343d-9d90-e395-ed20-cf416ba65206:1"} and {r.key for r in resent} == {b"sf-unassigned"}
