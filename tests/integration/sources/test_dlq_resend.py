"""``cxpulse dlq resend`` against a broker: a letter whose raw value was truncated is refused, the others sent.

A record larger than a dead letter holds keeps its first 1.5 MiB (``raw_truncated``, with
the whole value's ``raw_size`` and ``raw_sha256``). Re-sending those bytes would put another
record on the events topic than the one that failed, so the command refuses it with a
one-line reason, counts it, still sends every other letter, and exits 1.
"""

import orjson
import pytest

from cxpulse.cli import main
from cxpulse.clients import kafka_python_config
from cxpulse.schemas import dead_letter, dead_letter_json, parse_event

pytestmark = pytest.mark.timeout(180)

EVENT = {"event_id": "e-1", "event_type": "call", "customer_id": "C-1", "occurred_at": "2025-05-01T10:00:00Z",
         "channel": "phone", "service_type": "billing", "direction": "inbound", "wait_seconds": 5,
         "talk_seconds": 60, "outcome": "resolved"}  # fmt: skip


def _send_letters(settings, values: list[bytes]) -> None:
    from kafka import KafkaProducer

    # A truncated letter is about 2 MiB: over kafka-python's default request size, under the DLQ topic's limit.
    producer = KafkaProducer(**kafka_python_config(settings.kafka), acks="all", max_request_size=4 * 1024 * 1024)
    try:
        for future in [producer.send(settings.topics.dlq, value=value) for value in values]:
            future.get(timeout=30)
    finally:
        producer.close()


def test_resend_refuses_a_truncated_letter_and_sends_the_others(settings_factory, config_file_factory, consume, capfd):
    settings = settings_factory(partitions=1)
    config = config_file_factory(settings)
    good = orjson.dumps(EVENT)
    big = orjson.dumps({**EVENT, "event_id": "e-2"}) + b" " * 3_000_000  # its first 1.5 MiB still read as an event
    letters = [dead_letter("too large", big, source_topic=settings.topics.events, partition=0, offset=7, key=b"C-1"),
               dead_letter("a rule since fixed", good, source_topic=settings.topics.events, partition=0, offset=8,
                           key=b"C-1")]
    assert letters[0].raw_truncated and not letters[1].raw_truncated
    _send_letters(settings, [dead_letter_json(letter) for letter in letters])

    with pytest.raises(SystemExit) as done:
        main(["--config", str(config), "dlq", "resend"])
    out, err = capfd.readouterr()

    assert done.value.code == 1
    assert "2 letter(s): 1 valid now, sent 1 event(s)" in out and "1 refused (truncated)" in out
    assert "acknowledged by Kafka: 1 of 1" in out
    refused = [line for line in err.splitlines() if "refused 0:0" in line]
    assert len(refused) == 1 and "raw value truncated (1,572,864 of 3,000," in refused[0], err
    assert "1 letter(s) refused: their raw value was truncated" in err
    sent = consume(settings.topics.events)
    assert [parse_event(r.value).event_id for r in sent] == ["e-1"] and sent[0].value == good
