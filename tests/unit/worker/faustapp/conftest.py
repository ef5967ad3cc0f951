"""Fixtures of the faust adapter's unit tests: an event loop of their own and the worker's real faust app."""

import asyncio
from collections.abc import Iterator

import pytest

from cxpulse.processors.worker.faustapp.app import WorkerApp, create_app
from cxpulse.settings import Settings


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    made = asyncio.new_event_loop()
    asyncio.set_event_loop(made)
    yield made
    made.close()
    asyncio.set_event_loop(None)


@pytest.fixture
def app(loop: asyncio.AbstractEventLoop) -> Iterator[WorkerApp]:
    """The worker's faust app (never started); its aiokafka consumer, if one was made, is stopped."""
    settings = Settings.model_validate({"kafka": {"bootstrap_servers": "127.0.0.1:1"}, "worker": {"web_enabled": False}})
    made = create_app(settings)
    yield made
    consumer = made.consumer._thread._consumer
    if consumer is not None:
        loop.run_until_complete(consumer.stop())  # never started: releases its client
