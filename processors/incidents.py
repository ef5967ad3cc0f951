"""One batch of contacts (repartitioned by service type) through the incident engine.

The ``detect_incidents`` agent reads the internal contacts topic, which the
``score_events`` agent writes keyed by service type, so one worker sees every contact of
a service type and the per-customer path never waits for this count.
"""

from collections.abc import Iterable, MutableMapping
from typing import Any

from cxpulse.processors.engine import IncidentEngine, IncidentState

from .records import Sink, alert_record, compact, contact_from_bytes

__all__ = ["IncidentProcessor"]


class IncidentProcessor:
    """``store`` maps service type (bytes) to ``IncidentState.to_bytes()``."""

    def __init__(self, engine: IncidentEngine, store: MutableMapping[bytes, bytes], alerts_topic: str,
                 changelog_topic: str) -> None:
        self.engine = engine
        self.store = store
        self.alerts_topic = alerts_topic
        self.changelog_topic = changelog_topic

    def process(self, messages: Iterable[Any], effects: Sink, state: Sink, emitted_at: str,
                raised_alerts: list | None = None) -> int:
        """Step every contact; queue incident alerts on ``effects``, new states on ``state``.

        Returns the number of alerts raised; they are also appended to ``raised_alerts``.
        """
        touched: dict[bytes, tuple[IncidentState, int]] = {}
        raised = 0
        for message in messages:
            contact = contact_from_bytes(message.value)
            key = contact.service_type.encode("utf-8")
            current = touched.get(key)
            if current is None:
                data = self.store.get(key)
                current = (None if data is None else IncidentState.from_bytes(data), message.partition)
            new_state, alerts = self.engine.step(current[0], contact)
            touched[key] = (new_state, message.partition)
            for alert in alerts:
                effects.add(self.alerts_topic, *alert_record(alert, emitted_at))
            raised += len(alerts)
            if alerts and raised_alerts is not None:
                raised_alerts.extend(alerts)
        for key, (incident, partition) in touched.items():
            data = compact(incident.to_bytes())
            self.store[key] = data
            state.add(self.changelog_topic, key, data, partition)
        return raised
