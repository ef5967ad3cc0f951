"""A second worker joins a running one: the customer gauges move with the partitions, never doubled."""

import os

import pytest

from cxpulse.supervisor import Children, cxpulse_command

from .conftest import BAD_RECORDS, free_ports, get_json, get_text, produce_records, wait_until

pytestmark = pytest.mark.timeout(600)


def _customers(url: str) -> float | None:
    text = get_text(url + "/metrics")
    if text is None:
        return None
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith("cxpulse_customers{"))


def _events(url: str) -> float:
    text = get_text(url + "/metrics") or ""
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith(("cxpulse_events_total{", "cxpulse_events_invalid_total ")))


def _settled(url: str) -> bool:
    body = get_json(url + "/healthz")
    return bool(body) and not body["rebalancing"] and body["assigned_partitions"] > 0


def test_customers_are_counted_once_after_a_rebalance(settings_factory, config_file_factory, tmp_path):
    settings = settings_factory(partitions=4)
    config = config_file_factory(settings)
    children = Children(tmp_path / "logs")
    children.env = {**{k: v for k, v in os.environ.items() if not k.startswith(("CXPULSE_", "KAFKA_BOOTSTRAP"))},
                    "CXPULSE_CONFIG": str(config)}
    records = [(f"C-{i % 60}".encode(), (
        f'{{"event_id": "e{i}", "event_type": "call", "customer_id": "C-{i % 60}", "channel": "phone",'
        f' "service_type": "billing", "occurred_at": "2026-01-15T09:{i % 60:02d}:00+00:00", "direction": "inbound",'
        f' "wait_seconds": 5, "talk_seconds": 60, "outcome": "resolved"}}').encode()) for i in range(240)]
    first = f"http://127.0.0.1:{settings.worker.web_port}"
    second_port = free_ports(1)[0]
    second = f"http://127.0.0.1:{second_port}"
    try:
        children.start("worker-a", cxpulse_command("worker", "--data-dir", str(tmp_path / "a")))
        wait_until(lambda: children.check() or _settled(first), 180, "the first worker owns the partitions")
        produce_records(settings.kafka, settings.topics.events, records + BAD_RECORDS)
        wait_until(lambda: _events(first) == len(records) + len(BAD_RECORDS), 120, "the first worker read everything")
        assert _customers(first) == 60

        children.start("worker-b", cxpulse_command("worker", "--web-port", str(second_port),
                                                   "--data-dir", str(tmp_path / "b")))
        wait_until(lambda: children.check() or (_settled(first) and _settled(second)), 180,
                   "both workers own partitions after the rebalance")
        # the second recovered its customers from the changelog; the first let go of them
        wait_until(lambda: (_customers(first) or 0) + (_customers(second) or 0) == 60, 120,
                   "the customer gauges of the two workers add up to the 60 customers")
        assert 0 < _customers(first) < 60 and 0 < _customers(second) < 60
    finally:
        children.stop_all(grace=20)
