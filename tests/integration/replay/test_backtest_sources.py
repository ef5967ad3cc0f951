"""A backtest over a Kafka range and over an archive of the same records gives the same report."""

import json

import orjson
from cxpulse.producers.settings import ChurnSettings


def test_backtest_over_kafka_and_over_the_archive_agree(settings_factory, scenario, send_records, cli, tmp_path):
    settings = settings_factory(partitions=3)
    records = scenario(customers=400, days=4, seed=8, churn=ChurnSettings(), churn_scale=10.0)
    send_records(settings.topics.events, records)
    cli(settings, "archive", "--dir", "arch", "--once")
    window = ["--cutoff", "2025-03-08T00:00:00Z", "--horizon", "2d", "--observed-until", "2025-03-10T00:00:00Z",
              "--json"]

    from_kafka = json.loads(cli(settings, "backtest", *window).out)
    from_archive = json.loads(cli(settings, "backtest", "--from", "arch", *window).out)

    leavers = sum(1 for r in records if r.value.startswith(b"{") and b'"event_type":"account"' in r.value)
    assert leavers > 10
    for report in (from_kafka, from_archive):
        report.pop("source")
    assert from_kafka == from_archive
    assert from_kafka["join"]["stream_outcomes"] == leavers
    assert from_kafka["events"]["invalid"] == 11 and from_kafka["events"]["duplicates"] == 25
    assert from_kafka["overall"]["churned"] > 0 and from_kafka["overall"]["auc"] is not None
    assert orjson.dumps(from_kafka["rules"])  # every rule's figures are plain JSON
