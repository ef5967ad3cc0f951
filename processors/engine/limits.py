"""The largest state record the engine can write, computed from its settings (docs/rules.md, "Limits").

Every collection in a :class:`~.state.CustomerState` and an :class:`~.incident.IncidentState`
is capped by a setting (windows, tickets, ids kept, service types), every id by its event
schema's ``maxLength``, so ``to_bytes()`` has a largest size. It is computed here by
arithmetic over the JSON that ``to_bytes()`` writes: each element at its largest — a float
is at most 24 bytes as orjson writes it (``-2.2250738585072014e-308``), an int 20, a string
two quotes plus its characters at their largest encoding (6 bytes for a control character,
``\\u00XX``, where the schema allows any; 4 for a service type, printable but any script; 1
for a customer id, ASCII by its pattern). :func:`worst_customer_state` and
:func:`worst_incident_state` build states of exactly that size, and the tests check that
states the engine makes from random, hostile streams never exceed it.

The worker's changelog topics must take the largest record: the settings refuse a
``worker.changelog_max_message_bytes`` below the bound plus :data:`RECORD_OVERHEAD`
(cxpulse/settings.py). Pure Python: no Kafka, no faust.
"""

from dataclasses import dataclass
from functools import cache
from typing import Any

from cxpulse.schemas import AccountEvent, Alert, CallEvent, ContactStartedEvent, TicketEvent
from cxpulse.schemas.types import SERVICE_TYPE_PATTERN

from .alerting import alert_id
from .compiled import BANDS
from .incident import Firing, IncidentState
from .settings import EngineSettings
from .state import COOLDOWN_RULES, COOLDOWN_RULES_PER_SERVICE, SOURCE_STATE_VERSION, CustomerState, Ticket
from .tickets import EVIDENCE_PER_TICKET

__all__ = ["FLOAT_BYTES", "INT_BYTES", "RECORD_OVERHEAD", "Bound", "StateBounds", "cooldowns_kept", "state_bounds",
           "worst_customer_state", "worst_incident_state"]

# A Kafka record batch of one record: the batch header (61 bytes), the record's own header
# (varints, at most about 25 bytes) and its key (a customer id, 64 bytes, or a service type,
# at most 160 bytes): well under this. The changelog limit must exceed the bound by it.
RECORD_OVERHEAD = 1024
FLOAT_BYTES = 24  # the longest float orjson writes: sign, 17 digits, point, exponent with sign and 3 digits
INT_BYTES = 20  # the longest int orjson writes (it refuses ints outside 64 bits)
_WORST_FLOAT = -2.2250738585072014e-308  # exactly FLOAT_BYTES long
_WORST_INT = 2**64 - 1  # exactly INT_BYTES long

# Bytes of one character in orjson's JSON, at most, for the string patterns of the event
# schemas; a string without a pattern (or one not listed) may hold control characters,
# which are written as \u00XX: 6 bytes. A test checks every code point against each pattern.
ANY_CHAR_BYTES = 6
PATTERN_CHAR_BYTES = {
    r"^[A-Za-z0-9._:-]+$": 1,  # customer ids: ASCII letters, digits and ._:-
    SERVICE_TYPE_PATTERN: 4,  # printable: no control characters; up to 4 UTF-8 bytes (a quote is 2)
}
# Six-byte control characters (all but the five with a short escape: \b \t \n \f \r).
_SIX_BYTE = [chr(code) for code in range(0x20) if chr(code) not in "\b\t\n\f\r"]


@dataclass(frozen=True)
class Text:
    """A string field: at most ``chars`` characters of at most ``per_char`` bytes each in JSON."""

    chars: int
    per_char: int

    @property
    def json(self) -> int:
        return 2 + self.chars * self.per_char


@dataclass(frozen=True)
class Bound:
    """The largest ``to_bytes()`` of one kind of state, and its largest parts (setting -> bytes)."""

    total: int
    parts: dict[str, int]

    def largest_part(self) -> str:
        """The settings that shape the largest part, e.g. ``engine.incident_max_contacts``."""
        return max(self.parts, key=self.parts.__getitem__)


@dataclass(frozen=True)
class StateBounds:
    customer: Bound
    incident: Bound

    @property
    def largest(self) -> Bound:
        return self.customer if self.customer.total >= self.incident.total else self.incident

    @property
    def record_bytes(self) -> int:
        """The smallest ``max.message.bytes`` that takes every state record."""
        return self.largest.total + RECORD_OVERHEAD


def _text(model: Any, field: str) -> Text:
    """A string field of an event model, from its JSON Schema (``maxLength``, ``pattern``)."""
    schema = model.model_json_schema()["properties"][field]
    options = [schema, *schema.get("anyOf", ())]
    found = next(option for option in options if option.get("type") == "string")
    pattern = found.get("pattern")
    per_char = ANY_CHAR_BYTES if pattern is None else PATTERN_CHAR_BYTES.get(pattern, ANY_CHAR_BYTES)
    return Text(int(found["maxLength"]), per_char)


def _enum(model: Any, field: str) -> int:
    """The longest value of a ``Literal`` field, as JSON (ASCII words)."""
    schema = model.model_json_schema()["properties"][field]
    return 2 + max(len(value) for value in schema["enum"])


@dataclass(frozen=True)
class _Sizes:
    """JSON sizes of the elements states are made of."""

    customer: Text
    service: Text
    event: Text
    ticket: Text
    contact: Text
    segment: int
    rule: int
    severity: int
    status: int
    action: int
    alert_id: int


@cache
def _sizes() -> _Sizes:
    return _Sizes(
        customer=_text(CallEvent, "customer_id"), service=_text(CallEvent, "service_type"),
        event=_text(CallEvent, "event_id"), ticket=_text(TicketEvent, "ticket_id"),
        contact=Text(max(_text(m, "contact_id").chars for m in (CallEvent, TicketEvent, ContactStartedEvent)),
                     max(_text(m, "contact_id").per_char for m in (CallEvent, TicketEvent, ContactStartedEvent))),
        segment=_enum(CallEvent, "segment"), rule=_enum(Alert, "rule"),
        severity=2 + max(len(s) for s in ("info", "warning", "critical")), status=_enum(Alert, "status"),
        action=_enum(AccountEvent, "action"), alert_id=2 + len(alert_id("x", None, "x", "x")),
    )


def _list(*sizes: int) -> int:
    """A JSON array of elements of these sizes."""
    return 2 + sum(sizes) + max(len(sizes) - 1, 0)


def _many(count: int, size: int) -> int:
    """A JSON array of ``count`` elements of ``size`` bytes each."""
    return 2 + count * size + max(count - 1, 0)


def _mapping(count: int, key: int, value: int) -> int:
    """A JSON object of ``count`` members (``key`` includes its quotes)."""
    return 2 + count * (key + 1 + value) + max(count - 1, 0)


def _digits(largest: int) -> int:
    return len(str(largest))


CHURN_OPEN_KEPT = len(BANDS) - 1  # one open churn_risk alert per band below healthy (at_risk, critical)
_SLA_TRIGGER_TIME = 16  # f"{due:.3f}" of a due time up to 9999-12-31 (253402300799.000)


def cooldowns_kept(settings: EngineSettings) -> int:
    """Cooldowns kept per customer: 5 rules per service type kept, and churn_risk's one."""
    return COOLDOWN_RULES_PER_SERVICE * settings.max_service_types + 1


def _customer_bound(s: EngineSettings) -> Bound:
    z = _sizes()
    f, svc, eid = FLOAT_BYTES, z.service.json, z.event.json
    services, window = s.max_service_types, s.max_window_events
    tid = z.ticket.json
    ticket = _list(svc, f, 1, f, 1, f, _many(EVIDENCE_PER_TICKET, eid))
    trigger = max(eid, 2 + len("sla:") + z.ticket.chars * z.ticket.per_char + 1 + _SLA_TRIGGER_TIME)
    # Per service type kept, one cooldown per rule of COOLDOWN_RULES; churn_risk's one for all ("*").
    per_service = sum(_list(2 + len(rule), svc, f, 1) + 1 for rule in COOLDOWN_RULES)
    cooldown_rows = services * per_service + _list(2 + len("churn_risk"), 2 + len("*"), f, 1)
    parts = {  # what each group of settings holds at most, in bytes
        "engine.max_service_types x engine.max_window_events":  # the contact and the grievance windows
            _mapping(services, svc, _many(window, _list(f, eid, 1))) + _mapping(services, svc, _many(window, _list(f, eid))),
        "engine.max_open_tickets": _mapping(s.max_open_tickets, tid, ticket),
        "engine.closed_tickets_kept": _mapping(s.closed_tickets_kept, tid, _list(f, len("false"))),
        "engine.dedup_event_ids": _many(s.dedup_event_ids, eid),
        "engine.max_service_types": 2 + cooldown_rows,  # the cooldowns
        "engine.recent_alerts": _many(s.recent_alerts, _list(z.alert_id, z.rule, z.severity, z.status, svc, f)),
        "engine.contact_ids_kept": _many(s.contact_ids_kept, _list(z.contact.json, svc, f, eid, 1)),
    }
    churn_open = _many(CHURN_OPEN_KEPT, _list(z.alert_id, 1, f, svc, trigger))
    # The row: [version, customer_id, penalty, ref, segment, events_seen, seen_ids, contacts,
    # grievances, since, until, tickets, closed, cooldowns, churn_level, churn_open, recent,
    # swept, contact_ids, outcome, source] — the largest shape, a state the worker wrote with
    # contact ids and an outcome (version 3). The parts above stand in as 0 (two of them for
    # the windows), added after.
    fixed = _list(1, z.customer.json, f, f, z.segment, INT_BYTES, 0, 0, 0, f, f, 0, 0, 0, 1, churn_open, 0, f, 0,
                  _list(z.action, f), _list(INT_BYTES, INT_BYTES))
    return Bound(fixed + sum(parts.values()), parts)


def _incident_bound(s: EngineSettings) -> Bound:
    z = _sizes()
    f, eid = FLOAT_BYTES, z.event.json
    count = _digits(s.incident_max_contacts + 1)  # distinct customers counted in one window
    evidence = min(s.incident_customers, s.evidence_limit)
    parts = {
        "engine.incident_max_contacts": _many(s.incident_max_contacts, _list(f, eid, z.customer.json)),
        "engine.incident_customers / engine.evidence_limit": _list(count, count, count, f, _many(evidence, eid)),
    }
    # [version, service_type, contacts, done, last_fire, firing] (the parts as 0, added after)
    fixed = _list(1, z.service.json, 0, f, f, 0)
    return Bound(fixed + sum(parts.values()), parts)


@cache
def state_bounds(settings: EngineSettings) -> StateBounds:
    """The largest ``to_bytes()`` of a customer and of an incident state under ``settings``."""
    return StateBounds(_customer_bound(settings), _incident_bound(settings))


# -- the worst states themselves (tests and benchmarks) -----------------------------------

def _string(text: Text, index: int) -> str:
    """A distinct string of ``text.chars`` characters, each at its largest encoding."""
    if text.per_char == 6:
        base = _SIX_BYTE
    elif text.per_char == 4:
        base = [chr(0x10000 + i) for i in range(4096)]
    else:
        base = [chr(c) for c in range(0x30, 0x3A)] + [chr(c) for c in range(0x41, 0x5B)]
    digits = []
    n = index
    while True:
        n, r = divmod(n, len(base))
        digits.append(base[r])
        if not n:
            break
    if len(digits) > text.chars:
        raise ValueError("more distinct strings asked for than fit")
    return "".join(digits) + base[0] * (text.chars - len(digits))


def worst_customer_state(settings: EngineSettings) -> CustomerState:
    """A customer state whose ``to_bytes()`` is exactly the bound: every collection full, every
    id at its longest and most escaped, every float and int at its longest. (It is a state no
    stream would make — times all equal — but the largest in bytes.)"""
    z, s, f = _sizes(), settings, _WORST_FLOAT
    eid = _string(z.event, 0)
    svcs = [_string(z.service, i) for i in range(s.max_service_types)]
    state = CustomerState(_string(z.customer, 0))
    state.penalty = state.ref = state.sensitive_since = state.sensitive_until = state.swept = f
    state.segment = max(("standard", "key", "vip", "vulnerable"), key=len)
    state.events_seen = _WORST_INT
    state.seen_ids = [eid] * s.dedup_event_ids
    state.contacts = {svc: [(f, eid, 5)] * s.max_window_events for svc in svcs}
    state.grievances = {svc: [(f, eid)] * s.max_window_events for svc in svcs}
    state.tickets = {_string(z.ticket, i): Ticket(svcs[0], f, True, True, f, [eid] * EVIDENCE_PER_TICKET, f, 2)
                     for i in range(s.max_open_tickets)}
    state.closed = {_string(z.ticket, s.max_open_tickets + i): (f, False) for i in range(s.closed_tickets_kept)}
    state.cooldowns = {(rule, svc): (f, 2) for svc in svcs for rule in COOLDOWN_RULES}
    state.cooldowns[("churn_risk", "*")] = (f, 2)
    aid = "cxa-" + "0" * (z.alert_id - 2 - 4)
    trigger = "sla:" + _string(z.ticket, 0) + "@" + "253402300799.000"
    state.churn_level = 2
    state.churn_open = tuple((aid, 2, f, svcs[0], trigger) for _ in range(CHURN_OPEN_KEPT))
    state.recent = tuple((aid, "sensitive_customer", "critical", "resolved", svcs[0], f)
                         for _ in range(s.recent_alerts))
    state.contact_ids = [(_string(z.contact, i), svcs[0], f, eid, 1) for i in range(s.contact_ids_kept)]
    state.outcome = ("not_renewed", f)
    state.source = (_WORST_INT, _WORST_INT)
    assert state.to_bytes()[:2] == f"[{SOURCE_STATE_VERSION}".encode()
    return state


def worst_incident_state(settings: EngineSettings) -> IncidentState:
    """An incident state whose ``to_bytes()`` is exactly the bound (see :func:`worst_customer_state`)."""
    z, s, f = _sizes(), settings, _WORST_FLOAT
    state = IncidentState(_string(z.service, 0))
    eid, cid = _string(z.event, 0), _string(z.customer, 0)
    state.contacts = [(f, eid, cid)] * s.incident_max_contacts
    state.done = state.last_fire = f
    big = int("9" * _digits(s.incident_max_contacts + 1))
    state.firing = Firing(big, big, big, f, [eid] * min(s.incident_customers, s.evidence_limit))
    return state
