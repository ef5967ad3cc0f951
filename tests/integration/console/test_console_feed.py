"""The console's Kafka feed when no broker answers: it says so (for the page's banner) and keeps trying."""

import asyncio

from cxpulse.alerts.console_feed import KafkaFeed

from cxpulse.settings import KafkaSettings

from ...conftest import _free_port


def test_an_unreachable_broker_is_a_status_not_a_crash():
    states: list[str] = []

    async def main() -> KafkaFeed:
        feed = KafkaFeed(KafkaSettings(bootstrap_servers=f"127.0.0.1:{_free_port()}"), ["a", "w"], 3600,
                         lambda topic, value: None)
        feed.on_status = lambda: states.append(feed.status.kafka)
        stop = asyncio.Event()
        task = asyncio.create_task(feed.run(stop))
        for _ in range(300):  # up to 30 s: the first attempt fails, the retry waits 1 s
            if states.count("unreachable") >= 2:
                break
            await asyncio.sleep(0.1)
        stop.set()
        await asyncio.wait_for(task, 30)
        return feed

    feed = asyncio.run(main())
    assert states.count("unreachable") >= 2  # tried again after the first failure
    assert feed.status.detail.startswith("cannot reach Kafka at 127.0.0.1:") and feed.status.records == 0
