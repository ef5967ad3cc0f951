"""One customer's timeline: every event in order, the score after it, the alerts it caused.

The customer's whole history is replayed (their state depends on all of it); the rows
shown can then be narrowed to a time window. Records of other customers on the same
partition are not scored, but their event times move the partition's stream clock, so an
SLA breach the live worker found by that clock shows up here too, where it passed the due
time. (An idle partition following the overall clock is not reproduced: that needs every
partition.)
"""

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import orjson

from cxpulse.processors.archive.record import SourceRecord
from cxpulse.processors.engine import EngineDriver, EngineSettings, RecordFailed, StepResult
from cxpulse.schemas import Alert, Event, InvalidEvent, ScoreSnapshot
from cxpulse.schemas.types import EARLIEST, LATEST

from .verdict import read_event

__all__ = ["Timeline", "TimelineBuilder", "TimelineRow"]


@dataclass
class TimelineRow:
    """``kind``: ``event``, ``duplicate``, ``invalid``, or ``clock`` (alerts the stream clock raised)."""

    kind: str
    at: datetime  # event time; record time for an invalid record; the due time for a clock row
    record: SourceRecord | None = None
    event: Event | None = None
    signals: tuple[str, ...] = ()
    score: float | None = None
    band: str | None = None
    band_before: str | None = None
    alerts: list[Alert] = field(default_factory=list)
    reason: str | None = None


@dataclass
class Timeline:
    """Every row of the customer's history, the alerts, and the final state."""

    customer_id: str
    rows: list[TimelineRow]
    final: ScoreSnapshot | None
    open_tickets: list[tuple[str, float | None]]  # (ticket id, due time) still open at the end
    records_read: int = 0
    partial: bool = False

    @property
    def alerts(self) -> list[Alert]:
        return [a for row in self.rows for a in row.alerts]

    def window(self, since: datetime | None, until: datetime | None) -> list[TimelineRow]:
        """The rows whose time is in ``[since, until)``."""
        return [r for r in self.rows if (since is None or r.at >= since) and (until is None or r.at < until)]


class TimelineBuilder:
    """Replays one customer's records (and the stream clock around them)."""

    def __init__(self, settings: EngineSettings, customer_id: str, max_future_seconds: float) -> None:
        self.customer_id = customer_id
        self.key = customer_id.encode("utf-8")
        self.max_future_seconds = max_future_seconds
        self.driver = EngineDriver(settings, on_step=self._stepped, keep_alerts=False)
        self._last: StepResult | None = None
        self.stopping = False

    def stop(self) -> None:
        self.stopping = True

    def _stepped(self, event: object, result: StepResult, alerts: list[Alert]) -> None:
        self._last = result

    def build(self, records: Iterable[SourceRecord]) -> Timeline:
        """The timeline of every record given (one partition's, in offset order)."""
        rows: list[TimelineRow] = []
        read = 0
        for record in records:
            if self.stopping:
                break
            read += 1
            if record.key is not None and record.key != self.key:
                self._clock(record, rows)
                continue
            try:
                event = read_event(record, self.max_future_seconds)
            except InvalidEvent as exc:
                if record.key == self.key:
                    rows.append(TimelineRow("invalid", _record_time(record), record, reason=exc.reason))
                continue
            if event.customer_id != self.customer_id:
                self._advance(self._capped(event.occurred_at.timestamp(), record), rows)
                continue
            try:
                rows.append(self._row(record, event))
            except RecordFailed as failure:  # what the worker dead-letters
                rows.append(TimelineRow("invalid", _record_time(record), record, reason=failure.reason))
        return self._timeline(rows, read)

    def _row(self, record: SourceRecord, event: Event) -> TimelineRow:
        alerts = self.driver.feed(event, received=None if record.timestamp is None else record.timestamp / 1000)
        result = self._last
        assert result is not None
        if result.duplicate:
            return TimelineRow("duplicate", event.occurred_at, record, event, score=result.score,
                               band=result.band_after)
        return TimelineRow("event", event.occurred_at, record, event, result.signals, result.score,
                           result.band_after, result.band_before,
                           [a for a in alerts if a.customer_id == self.customer_id])

    def _clock(self, record: SourceRecord, rows: list[TimelineRow]) -> None:
        moment = _event_time(record, self.max_future_seconds)
        if moment is not None:
            self._advance(self._capped(moment, record), rows)

    def _capped(self, moment: float, record: SourceRecord) -> float:
        """As far as the record moves the worker's clock (docs/rules.md, "The stream clock")."""
        if record.timestamp is None:
            return moment
        return min(moment, record.timestamp / 1000 + self.driver.settings.stream_clock_lead_seconds)

    def _advance(self, moment: float, rows: list[TimelineRow]) -> None:
        """Another customer's event moved the stream clock: breach what fell due before it."""
        if moment <= self.driver.clock:
            return
        found = [a for a in self.driver.advance(moment) if a.customer_id == self.customer_id]
        if found:  # the score and band right after the breaches, as the alerts carry them
            rows.append(TimelineRow("clock", min(a.triggered_at for a in found), signals=("sla_breach",),
                                    score=found[-1].score, band=found[-1].risk_band, alerts=found))

    def _timeline(self, rows: list[TimelineRow], read: int) -> Timeline:
        state = self.driver.states.get(self.customer_id)
        final = None if state is None else self.driver.engine.snapshot(state)
        tickets = [] if state is None else [(tid, t.due_at) for tid, t in sorted(state.tickets.items())]
        return Timeline(self.customer_id, rows, final, tickets, read, self.stopping)


_EARLIEST, _LATEST = EARLIEST.timestamp(), LATEST.timestamp()


def _record_time(record: SourceRecord) -> datetime:
    return datetime.fromtimestamp((record.timestamp or 0) / 1000, UTC)


def _event_time(record: SourceRecord, max_future_seconds: float) -> float | None:
    """A cheap reading of another customer's ``occurred_at`` (no full validation)."""
    try:
        value = orjson.loads(record.value or b"")
        moment = datetime.fromisoformat(value["occurred_at"].upper()).timestamp()
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError):
        return None
    if record.timestamp is not None and moment > record.timestamp / 1000 + max_future_seconds:
        return None  # the worker refuses it: it does not move the clock
    if not _EARLIEST <= moment <= _LATEST:
        return None  # outside the contract's time range (docs/rules.md): refused too
    return moment
