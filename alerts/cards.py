"""The supervisor's queue: one card per customer at risk, gathering that customer's open alerts.

:class:`Board` is pure (no I/O, no clock: every call that needs the time is given ``now``,
epoch seconds). The console's server feeds it what it reads — alerts from ``cx.alerts``,
agent warnings from the warnings topic, and Alertmanager's view of each alert (receivers,
silences, inhibition) — and asks it for the cards a browser's filters let through::

    board = Board(resolve_timeout=4 * 3600, warning_seconds=900)
    board.add_alert(alert_dict, now)             # a record of cx.alerts (JSON object)
    board.add_warning(warning_dict, now)         # a record of the warnings topic
    board.apply_alertmanager(am_alerts, silences, now)   # GET /api/v2/alerts and /api/v2/silences
    board.expire(now)                            # alerts past their lifetime leave their card
    view = board.view(CardFilter.of(severity=["critical"]), now, limit=200)

An alert is open from its (last) ``firing`` record until a ``resolved`` record with its id
or the end of its lifetime in Alertmanager (``emitted_at`` + the resolve timeout), as the
router delivers it; an incident updated with its count replaces its earlier record.
Incidents have no customer: they get a card of their own per service type.

Cards are sorted as a supervisor works them: cards that still need someone first (not
acknowledged, silenced or explained by an incident), then by severity, then customers
contacting us right now (a recent agent warning), then the oldest open alert first.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cxpulse.errors import CxpulseError

__all__ = ["ACK_PREFIX", "SEVERITY_RANK", "AmStatus", "Board", "CardFilter", "View", "card_key"]

SEVERITY_RANK = {"info": 0, "warning": 1, "critical": 2}
ACK_PREFIX = "[ack] "  # the comment of a silence the console made to acknowledge a card
_PRIORITY_SEGMENTS = ("vip", "vulnerable")  # the priority lane (seed 001: VIP and vulnerable customers)
_WARNINGS_KEPT = 5  # agent warnings kept per customer
_FILTERS = {
    "severity": tuple(SEVERITY_RANK),
    "segment": ("standard", "key", "vip", "vulnerable", "none"),  # none: incidents
    "state": ("open", "acknowledged", "silenced", "inhibited", "pending"),
}


def card_key(alert: Mapping[str, Any]) -> str | None:
    """The card an alert or warning belongs on: its customer, or ``incident:<service type>``."""
    customer = alert.get("customer_id")
    if isinstance(customer, str) and customer:
        return customer
    service = alert.get("service_type")
    if alert.get("rule") == "incident" and isinstance(service, str) and service:
        return f"incident:{service}"
    return None


@dataclass(frozen=True)
class AmStatus:
    """Alertmanager's view of one alert: ``state`` (active, suppressed, unprocessed), who it is
    routed to, and the silences and alerts that mute it."""

    state: str
    receivers: tuple[str, ...] = ()
    silenced_by: tuple[str, ...] = ()
    inhibited_by: tuple[str, ...] = ()

    @classmethod
    def of(cls, entry: Mapping[str, Any]) -> "AmStatus":
        """From one entry of ``GET /api/v2/alerts``."""
        status = entry.get("status") or {}
        receivers = tuple(sorted(str(r.get("name")) for r in entry.get("receivers") or [] if r.get("name")))
        return cls(str(status.get("state") or "unprocessed"), receivers, tuple(status.get("silencedBy") or ()),
                   tuple(status.get("inhibitedBy") or ()))


@dataclass
class _Alert:
    record: dict[str, Any]
    expires: float  # epoch seconds: the end of its lifetime in Alertmanager
    am: AmStatus | None = None


@dataclass
class _Card:
    key: str
    alerts: dict[str, _Alert] = field(default_factory=dict)
    warnings: list[tuple[float, dict[str, Any]]] = field(default_factory=list)  # (shown until, record)
    version: int = 0


@dataclass(frozen=True)
class CardFilter:
    """What one browser wants to see; an empty set lets every value through."""

    receivers: frozenset[str] = frozenset()
    severities: frozenset[str] = frozenset()
    segments: frozenset[str] = frozenset()
    service_types: frozenset[str] = frozenset()
    states: frozenset[str] = frozenset()
    text: str = ""  # part of a customer id (or service type), any case

    @classmethod
    def of(cls, receiver: Iterable[str] = (), severity: Iterable[str] = (), segment: Iterable[str] = (),
           service_type: Iterable[str] = (), state: Iterable[str] = (), q: str = "") -> "CardFilter":
        """From query values (repeatable or comma-separated); an unknown severity, segment or
        state raises :class:`CxpulseError`."""
        return cls(_values("receiver", receiver), _values("severity", severity), _values("segment", segment),
                   _values("service_type", service_type), _values("state", state), q.strip().lower()[:100])

    def matches(self, card: Mapping[str, Any]) -> bool:
        segment = card["segment"] or "none"
        return ((not self.receivers or bool(self.receivers & set(card["receivers"])))
                and (not self.severities or card["severity"] in self.severities)
                and (not self.segments or segment in self.segments)
                and (not self.service_types or bool(self.service_types & set(card["service_types"])))
                and (not self.states or card["state"] in self.states)
                and (not self.text or self.text in card["key"].lower()))


def _values(name: str, given: Iterable[str]) -> frozenset[str]:
    values = frozenset(v.strip().lower() for item in given for v in str(item).split(",") if v.strip())
    allowed = _FILTERS.get(name)
    unknown = sorted(values - set(allowed)) if allowed else []
    if unknown:
        raise CxpulseError(f"{name}: unknown value {', '.join(unknown)} (choose from {', '.join(allowed or ())})")
    return values


@dataclass(frozen=True)
class View:
    """The cards one filter lets through (sorted, at most ``limit``), how many matched, and
    the counts of every filter value over all cards (for the filter bar)."""

    cards: list[dict[str, Any]]
    matched: int
    total: int
    facets: dict[str, dict[str, int]]


class Board:
    """Open alerts and recent agent warnings by card (see the module docstring)."""

    def __init__(self, resolve_timeout: float, warning_seconds: float) -> None:
        self.resolve_timeout = resolve_timeout
        self.warning_seconds = warning_seconds
        self._cards: dict[str, _Card] = {}
        self._where: dict[str, str] = {}  # alert_id -> card key
        self._silences: dict[str, dict[str, Any]] = {}  # Alertmanager's active silences by id
        self._rendered: dict[str, tuple[int, dict[str, Any]]] = {}
        self.version = 0  # grows with every change

    # -- input -------------------------------------------------------------------------

    def add_alert(self, alert: Mapping[str, Any], now: float) -> str | None:
        """One record of the alerts topic; returns the key of the card it changed."""
        alert_id, key = alert.get("alert_id"), card_key(alert)
        if not isinstance(alert_id, str) or key is None or alert.get("rule") is None:
            return None
        if alert.get("status", "firing") == "resolved":
            return self._drop(alert_id)
        expires = _moment(alert.get("emitted_at"), now) + self.resolve_timeout
        if expires <= now:
            return None  # its lifetime ended before the console read it
        card = self._cards.setdefault(key, _Card(key))
        known = card.alerts.get(alert_id)
        card.alerts[alert_id] = _Alert(dict(alert), expires, known.am if known else None)
        self._where[alert_id] = key
        return self._touch(card)

    def add_warning(self, warning: Mapping[str, Any], now: float) -> str | None:
        """One agent warning (a customer contacting us now); returns the key of the card it changed."""
        key = warning.get("customer_id")
        if not isinstance(key, str) or not key:
            return None
        until = _moment(warning.get("emitted_at"), now) + self.warning_seconds
        if until <= now:
            return None
        card = self._cards.setdefault(key, _Card(key))
        wid = warning.get("warning_id")
        kept = [(u, w) for u, w in card.warnings if wid is None or w.get("warning_id") != wid]
        card.warnings = sorted([*kept, (until, dict(warning))], key=lambda item: item[0])[-_WARNINGS_KEPT:]
        return self._touch(card)

    def apply_alertmanager(self, alerts: Iterable[Mapping[str, Any]], silences: Iterable[Mapping[str, Any]],
                           now: float) -> set[str]:
        """Alertmanager's current view; returns the keys of the cards whose view changed.

        An open alert Alertmanager does not hold (not delivered yet, or the router is down)
        shows as ``pending``."""
        held = {}
        for entry in alerts:
            alert_id = (entry.get("labels") or {}).get("alert_id")
            if alert_id:
                held[alert_id] = AmStatus.of(entry)
        active = {str(s["id"]): dict(s) for s in silences
                  if s.get("id") and (s.get("status") or {}).get("state") == "active"}
        edited = {sid for sid in active if sid in self._silences and active[sid] != self._silences[sid]}
        self._silences = active
        changed = set()
        for card in self._cards.values():
            touched = any(sid in edited for a in card.alerts.values() if a.am for sid in a.am.silenced_by)
            for alert_id, alert in card.alerts.items():
                status = held.get(alert_id)
                if status != alert.am:
                    alert.am, touched = status, True
            if touched:
                changed.add(self._touch(card))
        return changed

    def expire(self, now: float) -> set[str]:
        """Drop alerts past their lifetime and warnings past theirs; returns the keys changed."""
        changed = set()
        for card in list(self._cards.values()):
            gone = [alert_id for alert_id, alert in card.alerts.items() if alert.expires <= now]
            for alert_id in gone:
                del card.alerts[alert_id]
                self._where.pop(alert_id, None)
            warnings = [(u, w) for u, w in card.warnings if u > now]
            if gone or len(warnings) != len(card.warnings):
                card.warnings = warnings
                changed.add(self._touch(card))
        return changed

    # -- output ------------------------------------------------------------------------

    def card(self, key: str) -> dict[str, Any] | None:
        """One card as JSON-ready data (``None`` when there is none)."""
        card = self._cards.get(key)
        if card is None or not self._shown(card):
            return None
        rendered = self._rendered.get(key)
        if rendered is None or rendered[0] != card.version:
            rendered = (card.version, _render(card, self._silences))
            self._rendered[key] = rendered
        return rendered[1]

    def view(self, wanted: CardFilter, now: float, limit: int) -> View:
        """The cards ``wanted`` lets through, in the order a supervisor works them."""
        cards = [c for c in (self.card(key) for key in list(self._cards)) if c is not None]
        matched = sorted((c for c in cards if wanted.matches(c)), key=sort_key)
        return View(matched[:limit], len(matched), len(cards), _facets(cards))

    def alert_ids(self, key: str) -> list[str]:
        """The open alerts of a card (for an acknowledgement)."""
        card = self._cards.get(key)
        return sorted(card.alerts) if card else []

    def silences_of(self, key: str) -> list[dict[str, Any]]:
        """The active silences that mute any alert of a card."""
        card = self._cards.get(key)
        ids = {sid for a in (card.alerts.values() if card else ()) if a.am for sid in a.am.silenced_by}
        return [self._silences[sid] for sid in sorted(ids) if sid in self._silences]

    # -- internals ---------------------------------------------------------------------

    def _shown(self, card: _Card) -> bool:
        """A card with open alerts, or a warning that is not merely informative."""
        if card.alerts:
            return True
        return any(str(w.get("severity")) in ("warning", "critical") for _, w in card.warnings)

    def _drop(self, alert_id: str) -> str | None:
        key = self._where.pop(alert_id, None)
        card = self._cards.get(key) if key else None
        if card is None or card.alerts.pop(alert_id, None) is None:
            return None
        return self._touch(card)

    def _touch(self, card: _Card) -> str:
        self.version += 1
        card.version = self.version
        if not card.alerts and not card.warnings:
            self._cards.pop(card.key, None)
            self._rendered.pop(card.key, None)
        return card.key


def sort_key(card: Mapping[str, Any]) -> tuple[Any, ...]:
    """Cards that need someone first, then the most severe; among those a customer who is
    contacting us right now (an agent warning), then the oldest open alert."""
    handled = card["state"] in ("acknowledged", "silenced", "inhibited")
    return handled, -SEVERITY_RANK.get(card["severity"], 0), not card["warnings"], card["since_ts"], card["key"]


def _render(card: _Card, silences: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    alerts = sorted(card.alerts.values(), key=lambda a: (-SEVERITY_RANK.get(a.record.get("severity") or "", 0),
                                                         str(a.record.get("triggered_at"))))
    latest = max(alerts, key=lambda a: (str(a.record.get("emitted_at") or ""), str(a.record.get("triggered_at"))),
                 default=None)
    warnings = [w for _, w in card.warnings]
    newest_warning = warnings[-1] if warnings else {}
    source = latest.record if latest else newest_warning
    severities = [str(a.record.get("severity")) for a in alerts] + [str(w.get("severity")) for w in warnings]
    segment = source.get("segment")
    incident = card.key.startswith("incident:")
    since = min((str(a.record.get("triggered_at")) for a in alerts), key=lambda t: _moment(t, 0.0),
                default=newest_warning.get("started_at"))
    return {
        "key": card.key,
        "kind": "incident" if incident else "customer",
        "customer_id": None if incident else card.key,
        "segment": segment,
        "priority_lane": bool(newest_warning.get("priority_lane")) or segment in _PRIORITY_SEGMENTS,
        "severity": max(severities, key=lambda s: SEVERITY_RANK.get(s, -1), default="info"),
        "score": source.get("score"),
        "risk_band": source.get("risk_band"),
        "service_types": sorted({str(a.record.get("service_type")) for a in alerts}
                                | {str(w.get("service_type")) for w in warnings if w.get("service_type")}),
        "since": since,
        "since_ts": _moment(since, 0.0),
        "state": _state(alerts, silences),
        "receivers": sorted({r for a in alerts if a.am for r in a.am.receivers}),
        "alerts": [_alert_view(a, silences) for a in alerts],
        "warnings": [_warning_view(w) for w in reversed(warnings)],
        "version": card.version,
    }


def _state(alerts: list[_Alert], silences: Mapping[str, Mapping[str, Any]]) -> str:
    """``pending`` (some alert not in Alertmanager yet), ``open``, or — when every alert is
    muted — ``acknowledged`` (by the console's acknowledgement silences only), ``silenced``
    or ``inhibited`` (explained by an incident)."""
    if not alerts:
        return "open"  # a card for an agent warning alone
    if any(a.am is None for a in alerts):
        return "pending"
    if any(not a.am.silenced_by and not a.am.inhibited_by for a in alerts if a.am):
        return "open"
    silenced = [a for a in alerts if a.am and a.am.silenced_by]
    if not silenced:
        return "inhibited"
    acks = all(str(silences.get(sid, {}).get("comment", "")).startswith(ACK_PREFIX)
               for a in silenced if a.am for sid in a.am.silenced_by)
    return "acknowledged" if acks else "silenced"


def _alert_view(alert: _Alert, silences: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    record, am = alert.record, alert.am
    return {
        "alert_id": record.get("alert_id"), "rule": record.get("rule"), "severity": record.get("severity"),
        "service_type": record.get("service_type"), "summary": record.get("summary"),
        "triggered_at": record.get("triggered_at"), "emitted_at": record.get("emitted_at"),
        "evidence": len(record.get("evidence") or ()), "score": record.get("score"),
        "alertmanager": None if am is None else {
            "state": am.state, "receivers": list(am.receivers), "inhibited": bool(am.inhibited_by),
            "silences": [_silence_view(silences[s]) for s in am.silenced_by if s in silences],
        },
    }


def _silence_view(silence: Mapping[str, Any]) -> dict[str, Any]:
    comment = str(silence.get("comment", ""))
    return {"id": silence.get("id"), "acknowledgement": comment.startswith(ACK_PREFIX),
            "comment": comment.removeprefix(ACK_PREFIX), "created_by": silence.get("createdBy"),
            "ends_at": silence.get("endsAt"),
            "matchers": [f"{m.get('name')}{_operator(m)}{m.get('value')}" for m in silence.get("matchers") or []]}


def _operator(matcher: Mapping[str, Any]) -> str:
    equal, regex = matcher.get("isEqual", True), matcher.get("isRegex", False)
    return {(True, False): "=", (False, False): "!=", (True, True): "=~", (False, True): "!~"}[(bool(equal),
                                                                                              bool(regex))]


def _warning_view(warning: Mapping[str, Any]) -> dict[str, Any]:
    """What the card shows of an agent warning (schemas/outputs.py ``AgentWarning``); a field the
    record lacks is ``None`` (an older or foreign record is shown with what it has)."""
    keep = ("warning_id", "service_type", "severity", "summary", "started_at", "emitted_at", "score", "risk_band",
            "priority_lane", "contact_id", "channel", "agent_id", "queue", "first_record")
    view = {name: warning.get(name) for name in keep}
    repeat, sensitive = warning.get("repeat"), warning.get("sensitive")
    tickets = warning.get("tickets")
    view["repeat_count"] = repeat.get("count") if isinstance(repeat, Mapping) else None
    view["sensitive_until"] = sensitive.get("until") if isinstance(sensitive, Mapping) else None
    if isinstance(tickets, list):
        view["open_tickets"] = len(tickets)
        view["overdue_tickets"] = sum(1 for t in tickets if isinstance(t, Mapping) and t.get("overdue"))
    else:
        view["open_tickets"] = view["overdue_tickets"] = None
    alerts = warning.get("alerts")
    view["alerts"] = [str(a) for a in alerts] if isinstance(alerts, list) else []
    return view


def _facets(cards: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    facets: dict[str, dict[str, int]] = {"receiver": {}, "severity": {}, "segment": {}, "service_type": {},
                                         "state": {}}
    for card in cards:
        for name, values in (("receiver", card["receivers"]), ("severity", [card["severity"]]),
                             ("segment", [card["segment"] or "none"]), ("service_type", card["service_types"]),
                             ("state", [card["state"]])):
            for value in values:
                facets[name][value] = facets[name].get(value, 0) + 1
    return {name: dict(sorted(counts.items())) for name, counts in facets.items()}


def _moment(value: Any, default: float) -> float:
    """An RFC 3339 string as epoch seconds (``default`` when absent or unreadable)."""
    if not isinstance(value, str):
        return default
    try:
        return datetime.fromisoformat(value).timestamp()
    except ValueError:
        return default
