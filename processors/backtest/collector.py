"""What a backtest takes from a replay: scores and signal features at the cut-offs, alerts, outcomes.

A :class:`Collector` is the replay's step hook (``EngineDriver(on_step=...)``). It keeps,
per customer, the decayed sum of every signal the engine applied (``StepResult.signals``),
exactly as the engine decays its penalty, so that at a cut-off ``T``

    penalty(T) = Σ weight(signal) × feature(signal, T)

The one signal a step result does not always show is ``sla_breach``: a breach the stream
clock finds is applied outside the customer's own steps, and one found by a step is
applied at its due time, not the event's. So the breach feature is what the engine's own
penalty at ``T`` leaves over: ``(penalty(T) − Σ other weights × features) / weight(sla_breach)``
— exact, as every other signal is applied at its event's time. Two approximations: a late
contact that turns later contacts into repeats (those are timed at the late event), and the
end record of a started contact (its ``inbound_contact``/``repeat_contact`` points are the
engine's at the start's time, timed here at the end's: off by the decay over the contact's
length, minutes against a half-life of weeks; docs/rules.md, "Contacts: start and end").
"""

import math
from array import array
from collections.abc import Iterable
from dataclasses import dataclass, field

from cxpulse.processors.engine import EngineDriver, EngineSettings, Weights

__all__ = ["FEATURES", "Collector", "CustomerRecord", "Snapshot"]

FEATURES: tuple[str, ...] = tuple(Weights.model_fields)
_INDEX = {name: i for i, name in enumerate(FEATURES)}
BREACH = _INDEX["sla_breach"]
# signal -> (feature, sign): every weight's own signal, and a withdrawn credit as minus that credit.
_SIGNALS: dict[str, tuple[int, float]] = {name: (i, 1.0) for name, i in _INDEX.items() if name != "sla_breach"}
_SIGNALS["first_contact_resolution_withdrawn"] = (_INDEX["first_contact_resolution"], -1.0)
# "sla_breach" and "sla_breach_withdrawn" come from the penalty (module docstring); "ces_neutral" has no weight.


@dataclass(slots=True)
class CustomerRecord:
    """One customer as the backtest sees it."""

    first_at: float  # its first contact event (not an account event)
    segment: str
    features: array  # decayed at `ref`
    ref: float
    penalty: float = 0.0  # the engine's, after its latest own step (for the cut-off it triggers)
    penalty_ref: float = 0.0
    alerts: list[tuple[str, float]] = field(default_factory=list)  # (rule, triggered_at) of firing alerts


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A customer at a cut-off: its score, and (for calibration) its features with the breach part."""

    customer_id: str
    segment: str
    score: float
    features: tuple[float, ...] | None


class Collector:
    """The step hook; ``driver`` must be set to the replay's :class:`EngineDriver` before it runs."""

    def __init__(self, settings: EngineSettings, cutoffs: Iterable[float], keep_features: bool = False) -> None:
        self.settings = settings
        self.k = math.log(2.0) / settings.half_life_seconds
        self.weights = [float(getattr(settings.weights, name)) for name in FEATURES]
        self.cutoffs = sorted(set(cutoffs))
        self.keep_features = keep_features
        self.driver: EngineDriver | None = None
        self.customers: dict[str, CustomerRecord] = {}
        self.outcomes: list[tuple[str, float, str, str | None]] = []  # (customer, at, action, reason)
        self.alert_times: dict[str, list[float]] = {}  # triggered_at of firing alerts by rule, incidents included
        self._counted: set[str] = set()  # firing alert ids seen: an incident re-emitted with its count is one alert
        self.snapshots: dict[float, list[Snapshot]] = {}
        self.first_at: float | None = None
        self.last_at: float | None = None
        self._next = 0

    # -- the hook ----------------------------------------------------------------------

    def __call__(self, event, result, alerts) -> None:
        if result.duplicate:
            return
        t = result.at
        cid = event.customer_id
        if self._next < len(self.cutoffs) and t > self.cutoffs[self._next]:
            self._pass_cutoffs(t, cid)
        if self.first_at is None or t < self.first_at:
            self.first_at = t
        if self.last_at is None or t > self.last_at:
            self.last_at = t
        if event.event_type == "account":
            self.outcomes.append((cid, t, event.action, event.reason))
        else:
            record = self.customers.get(cid)
            if record is None:
                record = self.customers[cid] = CustomerRecord(t, event.segment, array("d", bytes(8 * len(FEATURES))), t)
            elif t < record.first_at:
                record.first_at = t
            record.segment = result.state.segment
            if result.signals:
                self._add(record, result.signals, t)
            state = result.state
            record.penalty, record.penalty_ref = state.penalty, state.ref
        for alert in alerts:
            if alert.status != "firing" or alert.alert_id in self._counted:
                continue
            self._counted.add(alert.alert_id)
            self.alert_times.setdefault(alert.rule, []).append(alert.triggered_at.timestamp())
            owner = self.customers.get(alert.customer_id) if alert.customer_id else None
            if owner is not None:
                owner.alerts.append((alert.rule, alert.triggered_at.timestamp()))

    def finish(self) -> None:
        """After the replay: cut-offs the stream never passed are taken from the final states."""
        while self._next < len(self.cutoffs):
            self._snapshot(self.cutoffs[self._next], None)
            self._next += 1

    # -- inside ------------------------------------------------------------------------

    def _add(self, record: CustomerRecord, signals: tuple[str, ...], t: float) -> None:
        features = record.features
        if t > record.ref:
            decay = math.exp((record.ref - t) * self.k)
            for i, value in enumerate(features):
                if value:
                    features[i] = value * decay
            record.ref = t
            factor = 1.0
        else:
            factor = math.exp((t - record.ref) * self.k)
        for signal in signals:
            hit = _SIGNALS.get(signal)
            if hit is not None:
                features[hit[0]] += hit[1] * factor

    def _pass_cutoffs(self, t: float, trigger: str) -> None:
        while self._next < len(self.cutoffs) and t > self.cutoffs[self._next]:
            self._snapshot(self.cutoffs[self._next], trigger)
            self._next += 1

    def _snapshot(self, cutoff: float, trigger: str | None) -> None:
        """Every customer seen by ``cutoff``, as the stream stood when it first passed it.

        ``trigger`` is the customer whose event passed it: its state already holds that
        event, so its penalty is the one kept after its previous step.
        """
        states = self.driver.states if self.driver is not None else {}
        rows = []
        for cid, record in self.customers.items():
            if record.first_at > cutoff:
                continue
            state = states.get(cid)
            if cid == trigger or state is None:
                penalty, ref = record.penalty, record.penalty_ref
            else:
                penalty, ref = state.penalty, state.ref
            at_cutoff = penalty * math.exp((ref - cutoff) * self.k)
            score = min(100.0, max(0.0, 100.0 - at_cutoff))
            rows.append(Snapshot(cid, record.segment, score,
                                 self._features(record, cutoff, at_cutoff) if self.keep_features else None))
        self.snapshots[cutoff] = rows

    def _features(self, record: CustomerRecord, cutoff: float, penalty: float) -> tuple[float, ...]:
        decay = math.exp((record.ref - cutoff) * self.k)
        features = [value * decay for value in record.features]
        breach_weight = self.weights[BREACH]
        if breach_weight:
            explained = sum(w * x for w, x in zip(self.weights, features, strict=True))
            features[BREACH] = max(0.0, (penalty - explained) / breach_weight)
        return tuple(features)
