import pytest

from .factories import EventFactory


@pytest.fixture
def event_factory():
    """Builds events: ``event_factory(customer_id=..., segment=...)`` returns a factory."""
    return EventFactory
