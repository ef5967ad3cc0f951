"""Per-customer engine state: small, bounded, and serialisable for the faust changelog.

Everything that shapes a future decision lives here — the decayed penalty, the windows,
open tickets, sensitivity, cooldowns and the de-duplication ring — so a state restored
from bytes continues exactly as the original would have.
"""

from typing import Any, Final

import orjson

from cxpulse.errors import CxpulseError

__all__ = ["COOLDOWN_RULES", "COOLDOWN_RULES_PER_SERVICE", "NEVER", "NO_DUE", "OUTCOME_STATE_VERSION", "SOURCE_STATE_VERSION", "STATE_VERSION", "CustomerState",
           "StateError", "Ticket"]

STATE_VERSION = 1
# A state that remembers an outcome (an account event) is written as version 2: version 1's
# row with the outcome appended. Without one it stays version 1, byte for byte.
# Both versions' rows have 18 fixed elements, then the optional contact ids (written only when
# there are some), then — version 2 only — the outcome, always last:
#   version 1: [1, ...18]  or  [1, ...18, contact_ids]
#   version 2: [2, ...18, outcome]  or  [2, ...18, contact_ids, outcome]
OUTCOME_STATE_VERSION = 2
# A state the live worker wrote also remembers where its latest record was read (the source
# position, below): version 3, a row of fixed length whatever it holds —
#   version 3: [3, ...18, contact_ids or [], outcome or null, [partition, offset]]
# The engine never sets a position, so what replay and the golden tests write is unchanged.
SOURCE_STATE_VERSION = 3
NEVER = -1.0e18  # the reference time of a customer with no events (decays any penalty to 0)
NO_DUE = float("inf")
# Rules whose cooldown is kept per service type: detractor, repeat_contact, sensitive_contact,
# sensitive_customer and sla_breach; churn_risk keeps one for all ("*"). A customer keeps at
# most ``COOLDOWN_RULES_PER_SERVICE * max_service_types + 1`` cooldowns (docs/rules.md, "Limits").
COOLDOWN_RULES = ("detractor", "repeat_contact", "sensitive_contact", "sensitive_customer", "sla_breach")
COOLDOWN_RULES_PER_SERVICE = len(COOLDOWN_RULES)


_dumps = orjson.dumps


class StateError(CxpulseError):
    """Bytes that are not a customer or incident state this version understands."""


class Ticket:
    """An open ticket: what the SLA rule and the resolution credit need to know."""

    __slots__ = ("service_type", "due_at", "urgent", "complaint", "breached_due", "alert_level",
                 "opened_at", "evidence")

    def __init__(self, service_type: str, due_at: float | None, urgent: bool, complaint: bool,
                 opened_at: float, evidence: list[str] | None = None,
                 breached_due: float | None = None, alert_level: int = 0) -> None:
        self.service_type = service_type
        self.due_at = due_at
        self.urgent = urgent
        self.complaint = complaint
        self.breached_due = breached_due  # the due time that was breached, or None
        self.alert_level = alert_level  # level of the sla_breach alert that fired (0: none fired)
        self.opened_at = opened_at
        self.evidence = evidence if evidence is not None else []

    def to_list(self) -> list[Any]:
        return [self.service_type, self.due_at, int(self.urgent) | int(self.complaint) << 1,
                self.breached_due, self.alert_level, self.opened_at, self.evidence]

    @classmethod
    def from_list(cls, row: list[Any]) -> "Ticket":
        svc, due, flags, breached, level, opened, evidence = row
        return cls(svc, due, bool(flags & 1), bool(flags & 2), opened, evidence, breached, level)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Ticket) and self.to_list() == other.to_list()

    def __repr__(self) -> str:
        return f"Ticket({self.to_list()!r})"


class CustomerState:
    """One customer's state. Mutated in place by :class:`~cxpulse.processors.engine.Engine`.

    ``contacts[svc]`` holds ``(t, event_id, flags)`` of inbound contacts inside the repeat
    window, ``grievances[svc]`` holds ``(t, event_id)`` of complaints and dissatisfied
    responses inside the sensitivity window; both sorted by ``(t, event_id)``.
    """

    __slots__ = ("customer_id", "penalty", "ref", "segment", "events_seen", "seen_ids",
                 "contacts", "grievances", "sensitive_since", "sensitive_until", "tickets",
                 "closed", "cooldowns", "churn_level", "churn_open", "recent", "swept", "due_min",
                 "contact_ids", "outcome", "source", "seen_mask", "seen_of")

    def __init__(self, customer_id: str) -> None:
        self.customer_id: str = customer_id
        self.penalty = 0.0  # decayed penalty points at time `ref`
        self.ref = NEVER  # event time the penalty refers to: the latest time seen
        self.segment = "standard"
        self.events_seen = 0
        self.seen_ids: list[str] = []  # ring of recent event ids, oldest first
        self.contacts: dict[str, list[tuple[float, str, int]]] = {}
        self.grievances: dict[str, list[tuple[float, str]]] = {}
        self.sensitive_since = 0.0
        self.sensitive_until = 0.0  # sensitive while since <= t < until
        self.tickets: dict[str, Ticket] = {}
        self.closed: dict[str, tuple[float, bool]] = {}  # ticket id -> (closed at, complaint)
        self.cooldowns: dict[tuple[str, str], tuple[float, int]] = {}  # (rule, svc) -> (t, level)
        self.churn_level = 0  # band level the open churn_risk alerts cover (0: re-armed)
        # open churn_risk alerts: (alert_id, level, triggered_at, service_type, trigger event id)
        # Tuples, not lists: usually empty, and an empty tuple costs the cyclic GC nothing.
        self.churn_open: tuple[tuple[str, int, float, str, str], ...] = ()
        # recent alerts for the read API: (alert_id, rule, severity, status, service_type, triggered_at)
        self.recent: tuple[tuple[str, str, str, str, str, float], ...] = ()
        self.swept = NEVER  # `ref` at the last sweep of stale window lists
        self.due_min = NO_DUE  # earliest due time of an open, unbreached ticket (derived, not stored)
        # Recent contacts named by a contact_id, oldest first (``[engine] contact_ids_kept``):
        # (contact_id, service_type, t, event_id, ended) — where the contact sits in
        # ``contacts[service_type]`` (its first record's time and event id), and whether its
        # end record was read. Empty for version-1 streams, and then not written at all.
        self.contact_ids: list[tuple[str, str, float, str, int]] = []
        # The latest account event: (action, event time), e.g. ("cancelled", 1.7e9); None: none seen.
        self.outcome: tuple[str, float] | None = None
        # Where the live worker read the latest record it applied to this state: (partition,
        # offset) of ``cx.events``; None outside the worker. Kept in the same changelog record
        # as the state, so a record read again after a rebalance or a crash (at-least-once
        # delivery) is known to be applied already, however many events came after it
        # (the de-duplication ring holds only ``dedup_event_ids``). Not engine state: equality
        # leaves it out.
        self.source: tuple[int, int] | None = None
        # Derived, not stored nor compared: a one-bit-per-id filter of ``seen_ids`` (bit
        # ``id_bit(event_id)`` of every id in it, and maybe of ids that left the ring), so that
        # the duplicate check scans the ring only when the bit is set. Valid while ``seen_of``
        # is ``seen_ids`` (the same list); a list assigned from outside is re-read (issue 11).
        self.seen_mask = 0
        self.seen_of: list[str] | None = self.seen_ids

    def refresh_due(self) -> None:
        """Recompute :attr:`due_min` after the tickets changed."""
        earliest = NO_DUE
        for tk in self.tickets.values():
            if tk.breached_due is None and tk.due_at is not None and tk.due_at < earliest:
                earliest = tk.due_at
        self.due_min = earliest

    def drop_oldest_cooldowns(self, keep: int) -> int:
        """Keep the ``keep`` latest cooldowns (by the time they fired); returns how many were dropped."""
        cooldowns = self.cooldowns
        dropped = len(cooldowns) - keep
        if dropped <= 0:
            return 0
        # Oldest first; among equal times the one recorded first (a stable sort of the stored order).
        for key, _ in sorted(cooldowns.items(), key=_fired_at)[:dropped]:
            del cooldowns[key]
        return dropped

    def is_sensitive(self, at: float | None = None) -> bool:
        """Whether the customer is sensitive at event time ``at`` (default: its latest time)."""
        t = self.ref if at is None else at
        return self.sensitive_since <= t < self.sensitive_until

    def due_tickets(self) -> list[tuple[float, str]]:
        """``(due_at, ticket_id)`` of open, not yet breached tickets; to rebuild an SLA index."""
        return [(tk.due_at, tid) for tid, tk in self.tickets.items()
                if tk.due_at is not None and tk.breached_due is None]

    def to_bytes(self) -> bytes:
        """Compact, versioned JSON; :meth:`from_bytes` restores an identical state."""
        # Written once per changed customer per batch by the worker: empty containers (the
        # common case) skip their comprehension, and tuples go to orjson as they are.
        tickets, cooldowns, linked, outcome = self.tickets, self.cooldowns, self.contact_ids, self.outcome
        row: tuple[Any, ...] = (
            STATE_VERSION if outcome is None else OUTCOME_STATE_VERSION, self.customer_id, self.penalty,
            self.ref, self.segment, self.events_seen, self.seen_ids, self.contacts, self.grievances,
            self.sensitive_since, self.sensitive_until,
            {tid: tk.to_list() for tid, tk in tickets.items()} if tickets else tickets,
            self.closed, [(*key, *value) for key, value in cooldowns.items()] if cooldowns else (),
            self.churn_level, self.churn_open, self.recent, self.swept,
        )
        # The contact ids are optional: a state without them is written exactly as before they
        # existed (and such bytes read back with none). The outcome stays the last element.
        source = self.source
        if source is not None:
            return _dumps((SOURCE_STATE_VERSION, *row[1:], linked, outcome, source))
        if linked:
            row = (*row, linked)
        return _dumps(row if outcome is None else (*row, outcome))

    @classmethod
    def from_bytes(cls, data: bytes) -> "CustomerState":
        """Restore a state written by :meth:`to_bytes`; raises :class:`StateError`."""
        try:
            row = orjson.loads(data)
            if not isinstance(row, list) or not row or row[0] not in _VERSIONS:
                raise StateError(f"customer state: unsupported version {row[0] if row else None!r}")
            if row[0] == STATE_VERSION:
                return cls._from_row(row, None)
            if row[0] == SOURCE_STATE_VERSION:
                if len(row) != 21:
                    raise ValueError("malformed state row")
                *row, linked, outcome, (partition, offset) = row
                if linked:
                    row.append(linked)
                state = cls._from_row(row, None if outcome is None else (outcome[0], outcome[1]))
                state.source = (partition, offset)
                return state
            *row, (action, at) = row
            return cls._from_row(row, (action, at))
        except (orjson.JSONDecodeError, ValueError, TypeError, IndexError, KeyError) as exc:
            raise StateError(f"customer state: cannot decode ({exc})") from None

    @classmethod
    def _from_row(cls, row: list[Any], outcome: tuple[str, float] | None) -> "CustomerState":
        # Decoded for every customer the worker's live cache misses: no Python-level loop
        # per entry (map/zip build the tuples in C), nothing done for empty containers.
        (_, cid, penalty, ref, segment, seen, ids, contacts, grievances, since, until,
         tickets, closed, cooldowns, churn_level, churn_open, recent, swept, *linked) = row
        if len(linked) > 1:
            raise ValueError("malformed state row")
        if type(ids) is not list or type(contacts) is not dict or type(grievances) is not dict:
            raise TypeError("malformed state row")
        # A plain constructor call: the class is compiled (mypyc), and a native class
        # cannot be made with ``object.__new__``; its empty containers are replaced below.
        state = cls(cid)
        state.penalty, state.ref, state.segment, state.events_seen = penalty, ref, segment, seen
        state.seen_ids = ids
        for svc, lst in contacts.items():
            contacts[svc] = list(map(tuple, lst))
        state.contacts = contacts
        for svc, lst in grievances.items():
            grievances[svc] = list(map(tuple, lst))
        state.grievances = grievances
        state.sensitive_since, state.sensitive_until = since, until
        state.tickets = {tid: Ticket.from_list(t) for tid, t in tickets.items()} if tickets else tickets
        state.closed = {tid: tuple(entry) for tid, entry in closed.items()} if closed else closed
        state.cooldowns = {(r, s): (t, lvl) for r, s, t, lvl in cooldowns} if cooldowns else {}
        state.churn_level = churn_level
        state.churn_open = tuple(map(tuple, churn_open))
        state.recent = tuple(map(tuple, recent))
        state.swept = swept
        state.contact_ids = list(map(tuple, linked[0])) if linked else []
        state.outcome = outcome
        if tickets:
            state.refresh_due()
        else:
            state.due_min = NO_DUE
        return state

    def _fields(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in _FIELDS)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CustomerState) and self._fields() == other._fields()

    def __repr__(self) -> str:
        return f"CustomerState({self.customer_id!r}, penalty={self.penalty:.3f}, ref={self.ref})"


MASK_BITS: Final = 62  # the filter stays a small int (unboxed in the compiled class)


def id_bit(event_id: str) -> int:
    """The filter bit of an event id (from its hash: this process's only, never written)."""
    return 1 << (hash(event_id) % MASK_BITS)


def id_mask(ids: list[str]) -> int:
    """The filter of exactly ``ids``."""
    mask = 0
    for eid in ids:
        mask |= id_bit(eid)
    return mask


def _fired_at(item: tuple[tuple[str, str], tuple[float, int]]) -> float:
    return item[1][0]


_VERSIONS = (STATE_VERSION, OUTCOME_STATE_VERSION, SOURCE_STATE_VERSION)

# What equality compares: every field (``CustomerState.__slots__``) but those of _UNCOMPARED; a
# test keeps the two lists equal to the slots.
_FIELDS = ("customer_id", "penalty", "ref", "segment", "events_seen", "seen_ids",
           "contacts", "grievances", "sensitive_since", "sensitive_until", "tickets",
           "closed", "cooldowns", "churn_level", "churn_open", "recent", "swept", "due_min",
           "contact_ids", "outcome")
# Not compared: where the worker read the last record (``source``: not the customer's state, and a
# replay of what the worker read must equal the worker's states), and what is derived from the
# fields above in this process (``seen_ids``' filter).
_UNCOMPARED = ("source", "seen_mask", "seen_of")
