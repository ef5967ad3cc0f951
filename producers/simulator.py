"""A deterministic population of customers and their contacts, emitted in event-time order.

The simulated period is ``days`` long and ends at ``anchor``. Every customer is a lazy
stream of episodes (a Poisson process following the daily rhythm); the streams are
merged by a heap, so memory grows with the number of customers and the events in
flight, never with the length of the run. Each customer and episode draws from its
own generator seeded from ``(seed, customer, episode)``: the same configuration gives
the same events, byte for byte.
"""

import hashlib
import heapq
import itertools
import random
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, NamedTuple

from cxpulse.processors.engine.settings import EngineSettings

from .churn import Churn, ChurnTracker, Experience, account_draft
from .drafts import Draft, Persona, contact_started
from .episodes import Episode, content_episode, quiet_episode
from .errors import ProducerError
from .limits import ContactLog, Limits
from .outage import Outage, outage_size, plan_outage
from .patterns import Struggle, build_pattern, pattern_for
from .population import SEGMENTS, SERVICE_TYPES, choose, choose_service_type
from .rhythm import DAY_MS, HOUR_MS, Rhythm, to_ms
from .settings import ChurnSettings

__all__ = ["Simulation", "SimulationConfig"]

_PROFILE, _EPISODE, _PATTERN, _OUTAGE, _CONTACTS = range(5)
_CHECK, _GONE = object(), object()  # heap entries of the churn model: a check, a silent departure
_CLOSING = frozenset({"resolved", "closed"})  # ticket actions the company still takes after its customer left
# Inbound calls: most are announced by a contact start (same contact_id, same time: the
# moment the customer began to wait); some telephony systems send only the ended call;
# a few content customers' abandoned calls leave only their start (hung up in the queue).
LINKED_CALLS = 0.85
START_ONLY_ABANDONED = 0.15
class _Unsent(NamedTuple):
    """The heap tag of a contact start whose call is never emitted (the caller hung up waiting)."""

    call: dict[str, Any]


_SEGMENT_RATE = {"standard": 1.0, "key": 1.6, "vip": 1.2, "vulnerable": 1.1}
MIN_DAYS = 0.25


@dataclass(frozen=True)
class SimulationConfig:
    """What to simulate. ``anchor`` is the end of the simulated period (aware datetime)."""

    anchor: datetime
    seed: int = 1
    customers: int = 1000
    days: float = 3.0
    contact_rate: float = 0.5  # ordinary episodes per customer per day
    struggling: float = 0.08  # share of customers that follow a struggling pattern
    outage_customers: int | None = None  # None: sized from the incident threshold; 0: no outage
    outage_service_type: str = "outage"
    engine: EngineSettings = field(default_factory=EngineSettings)
    churn: ChurnSettings | None = None  # the hidden churn model (None: nobody leaves)
    churn_events: bool = True  # churned customers' account events go into the stream
    churn_scale: float = 1.0  # the churn model's rates times this (a short period shows what weeks would)

    def __post_init__(self) -> None:
        problem = _problem(self)
        if problem:
            raise ProducerError(problem)


def _problem(c: SimulationConfig) -> str | None:
    checks = (
        (c.anchor.tzinfo is None or c.anchor.utcoffset() is None, "the anchor needs a UTC offset"),
        (c.seed < 0, "--seed must be 0 or more"),
        (c.customers < 1, "--customers must be at least 1"),
        (c.days < MIN_DAYS, f"--days must be at least {MIN_DAYS}"),
        (c.contact_rate < 0, "--contact-rate must be 0 or more"),
        (not 0 <= c.struggling <= 1, "--struggling must be between 0 and 1"),
        (c.outage_customers is not None and c.outage_customers < 0, "--outage-customers must be 0 or more"),
        (c.churn_scale <= 0, "--churn-scale must be more than 0"),
    )
    return next((message for failed, message in checks if failed), None)


@dataclass(slots=True)
class _Customer:
    index: int
    who: Persona
    rate: float  # episodes per day
    until_ms: int  # ordinary episodes stop here (a struggling customer's pattern start)
    avoid: str | None = None  # never an ordinary episode on this service type
    episode: int = 0
    penalty: float = 0.0
    log: ContactLog = field(default_factory=ContactLog)
    exp: Experience | None = None  # the churn model's view of the customer
    gone: bool = False  # left: nothing more of it is emitted but the closing of its open tickets


class Simulation:
    """One simulated run: iterate :meth:`events`, then read :meth:`ground_truth`."""

    def __init__(self, config: SimulationConfig) -> None:
        self.config = config
        self.limits = Limits(config.engine)
        offset = config.anchor.utcoffset() or timedelta(0)
        self.tz = timezone(offset)
        self.rhythm = Rhythm(int(offset.total_seconds() * 1000))
        self.end_ms = to_ms(config.anchor)
        self.start_ms = self.end_ms - int(config.days * DAY_MS)
        self.run_id = _run_id(config)
        self.agents = max(20, config.customers // 40)
        self.struggles: list[Struggle] = []
        self.outage: Outage | None = None
        self.warnings: list[str] = []
        self.counts: Counter[str] = Counter()
        self.emitted = 0
        self.first_ms: int | None = None
        self.last_ms: int | None = None
        self._active = bytearray(config.customers)
        self._heap: list[tuple[int, int, Any, _Customer, Any]] = []
        self._seq = itertools.count()
        self._contacts = self._rng(_CONTACTS, 0)  # drawn in push order, which is deterministic
        self._contact_ids = itertools.count(1)
        self.churn = None if config.churn is None else ChurnTracker(config.churn, config.seed, self.end_ms,
                                                                    config.churn_scale)
        self._populate()

    # -- set-up ------------------------------------------------------------------------

    def _rng(self, stream: int, index: int, k: int = 0) -> random.Random:
        return random.Random((((self.config.seed << 2 | stream) << 40 | index) << 24) | k)

    def customer_id(self, index: int) -> str:
        """The pseudonymous id of customer ``index`` (stable for a seed)."""
        return f"cust-{self.config.seed}-{index:06d}"

    def _populate(self) -> None:
        config, content = self.config, []
        for index in range(config.customers):
            rng = self._rng(_PROFILE, index)
            segment = choose(rng, SEGMENTS)
            who = Persona(self.customer_id(index), segment, self.tz)
            customer = _Customer(index, who, config.contact_rate * _SEGMENT_RATE[segment], self.end_ms)
            if rng.random() < config.struggling:
                self._struggle(customer)
            else:
                content.append(customer)
            if customer.rate > 0:
                self._schedule(customer, self.rhythm.next_arrival(rng, self.start_ms, customer.rate))
            if self.churn is not None:
                customer.exp = self.churn.experience(index)
                self._push_checks(customer, self.churn.start(customer.exp, segment, self.start_ms))
        self._plan_outage(content)
        self._warn_about_incidents()

    def _struggle(self, customer: _Customer) -> None:
        rng = self._rng(_PATTERN, customer.index)
        name = pattern_for(rng)
        service_type = choose_service_type(rng)
        ep = self._episode_context(rng, customer, "p")
        low, high = self.start_ms + HOUR_MS, self.end_ms - HOUR_MS
        struggle, drafts = build_pattern(name, ep, self.limits, service_type, low, high)
        _raise_for_segment(struggle)
        self.struggles.append(struggle)
        customer.until_ms, customer.avoid = struggle.start_ms, service_type
        self._push_all(drafts, customer, struggle)

    def _plan_outage(self, content: list[_Customer]) -> None:
        config = self.config
        size = outage_size(self.limits, config.customers, config.outage_customers)
        if size == 0:
            return
        threshold = self.limits.engine.incident_customers
        if len(content) < max(size, threshold) and config.outage_customers is None:
            size = len(content)
        if size < threshold:
            self.warnings.append(
                f"no outage burst: {size} content customers cannot reach the incident threshold of {threshold}"
            )
            return
        if size > len(content):
            raise ProducerError(f"--outage-customers {size} is more than the {len(content)} content customers")
        rng = self._rng(_OUTAGE, 0)
        callers = sorted(rng.sample(content, size), key=lambda c: c.index)
        window = (self.start_ms, self.end_ms)
        outage, drafts = plan_outage(
            rng, self.rhythm, self.limits, [c.who for c in callers], config.outage_service_type, window, self.agents
        )
        for customer, draft in zip(callers, drafts, strict=True):
            customer.log.add(outage.service_type, draft[0])
            customer.penalty += self.limits.penalty(draft[1])
            self._push(draft, customer, outage)
        self.outage = outage

    def _warn_about_incidents(self) -> None:
        """Ordinary traffic alone may reach the incident threshold in a big population."""
        config, engine = self.config, self.limits.engine
        busiest = max(weight for _, weight in SERVICE_TYPES) / sum(weight for _, weight in SERVICE_TYPES)
        per_window = (
            config.customers * config.contact_rate * (self.rhythm.peak / self.rhythm.mean)
            * engine.incident_window_seconds / 86400 * busiest
        )  # fmt: skip
        if per_window >= engine.incident_customers / 3:
            self.warnings.append(
                f"ordinary traffic peaks near {per_window:.0f} contacts per incident window on the busiest "
                f"service type (threshold {engine.incident_customers}); `incident` may fire without an outage: "
                "lower --contact-rate or raise engine.incident_customers"
            )

    # -- the merged stream -----------------------------------------------------------------

    def _push(self, draft: Draft, owner: _Customer, tag: Any = None) -> None:
        at, body = draft
        if self.start_ms <= at <= self.end_ms:
            if body["event_type"] == "call" and body["direction"] == "inbound":
                announced = self._announce(at, body, owner, tag)
                if announced is None:
                    return
                body = announced
            heapq.heappush(self._heap, (at, next(self._seq), body, owner, tag))

    def _announce(self, at: int, body: dict[str, Any], owner: _Customer, tag: Any) -> dict[str, Any] | None:
        """Push the contact start of an inbound call (before it: same time, earlier sequence);
        return the call as it is then emitted (linked by ``contact_id``), or ``None`` for none."""
        roll = self._contacts.random()
        start_only = tag is None and body["outcome"] == "abandoned" and roll >= 1 - START_ONLY_ABANDONED
        if roll >= LINKED_CALLS and not start_only:
            return body  # an ended call with no start: counted as contacts always were
        contact_id = f"K-{self.run_id}-{next(self._contact_ids):08d}"
        _, start = contact_started(owner.who, at, body["service_type"], body["channel"], contact_id,
                                   agent=body.get("agent_id"), queue=body["service_type"])
        # A start-only contact carries the call it stands for: the customer still lived the
        # abandoned call, and the hidden churn model judges experience, not what was sent.
        heapq.heappush(self._heap, (at, next(self._seq), start, owner, _Unsent(body) if start_only else tag))
        if tag is not None:
            tag.planned += 1
        if start_only:
            return None
        return {**body, "contact_id": contact_id}

    def _push_all(self, drafts: list[Draft], owner: _Customer, tag: Any = None) -> None:
        for draft in drafts:
            self._push(draft, owner, tag)

    def _schedule(self, customer: _Customer, at_ms: int) -> None:
        if at_ms < customer.until_ms:
            heapq.heappush(self._heap, (at_ms, next(self._seq), None, customer, None))

    def _push_checks(self, owner: _Customer, checks: list[tuple[int, Any]]) -> None:
        for at, tag in checks:
            heapq.heappush(self._heap, (at, next(self._seq), _CHECK, owner, tag))

    def events(self) -> Iterator[dict[str, Any]]:
        """Every event of the period in event-time order (a generator; stop it any time)."""
        heap, prefix, churn = self._heap, f"sim-{self.run_id}-", self.churn
        while heap:
            at, _, body, owner, tag = heapq.heappop(heap)
            if owner.gone:
                if not _closes_ticket(body):
                    continue
                # The customer left, but its open ticket is the company's work: it is still resolved
                # as planned (else a content customer who left would breach its SLA in the stream).
                self.emitted += 1
                event = {"event_id": f"{prefix}{self.emitted:09d}", **body}
                self._account(event, at, owner, tag if not isinstance(tag, (Churn, _Unsent)) else None)
                yield event
                continue
            if body is None:
                self._wake(owner, at)
                continue
            if body is _CHECK or body is _GONE:
                self._churn_entry(owner, at, body, tag)
                continue
            self.emitted += 1
            event = {"event_id": f"{prefix}{self.emitted:09d}", **body}
            if isinstance(tag, Churn):
                self._left(owner, tag, event["event_id"])
                self._account(event, at, owner, None)
            else:
                lived = event
                if isinstance(tag, _Unsent):
                    lived, tag = tag.call, None
                self._account(event, at, owner, tag)
                if churn is not None and owner.exp is not None:  # every customer has one with a churn model
                    self._push_checks(owner, churn.observe(owner.exp, owner.who, lived, at))
            yield event

    def _churn_entry(self, owner: _Customer, at: int, body: Any, tag: Any) -> None:
        """A churn check came due (perhaps a decision to leave), or a customer left without an event."""
        if body is _GONE:
            self._left(owner, tag, None)
            return
        churn, exp = self.churn, owner.exp
        assert churn is not None and exp is not None, "churn checks are only scheduled with a churn model"
        checks, decided = churn.check(exp, owner.who, at, tag)
        self._push_checks(owner, checks)
        if decided is None or decided.churned_ms > self.end_ms:
            return  # decided too late to leave inside the period: it stays, as far as the stream shows
        if self.config.churn_events:
            draft = account_draft(exp.rng, owner.who, decided)
            heapq.heappush(self._heap, (draft[0], next(self._seq), draft[1], owner, decided))
        else:
            heapq.heappush(self._heap, (decided.churned_ms, next(self._seq), _GONE, owner, decided))

    def _left(self, owner: _Customer, churn: Churn, event_id: str | None) -> None:
        owner.gone = True
        churn.emitted = True
        churn.event_id = event_id

    def _account(self, event: dict[str, Any], at: int, owner: _Customer, tag: Any) -> None:
        self.counts[event["event_type"]] += 1
        self._active[owner.index] = 1
        if self.first_ms is None:
            self.first_ms = at
        self.last_ms = at
        if tag is not None:
            tag.event_ids.append(event["event_id"])

    def _episode_context(self, rng: random.Random, customer: _Customer, suffix: str) -> Episode:
        ticket_id = f"T-{self.run_id}-{customer.index:06d}-{suffix}"
        max_wait = 0.8 * self.limits.engine.long_wait_seconds
        return Episode(rng, customer.who, ticket_id, self.agents, self.rhythm, max_wait)

    def _wake(self, customer: _Customer, at_ms: int) -> None:
        if customer.exp is not None and customer.exp.decided:
            return  # it has decided to leave: no new contacts
        rng = self._rng(_EPISODE, customer.index, customer.episode)
        customer.episode += 1
        ep = self._episode_context(rng, customer, str(customer.episode))
        service_type = choose_service_type(rng, exclude=customer.avoid)
        drafts = content_episode(ep, at_ms, service_type)
        if not self._admit(customer, service_type, drafts):
            drafts = quiet_episode(ep, at_ms, service_type)
        self._push_all(drafts, customer)
        customer.log.forget_before(at_ms - 2 * self.limits.content_window_ms)
        self._schedule(customer, self.rhythm.next_arrival(rng, at_ms, customer.rate))

    def _admit(self, customer: _Customer, service_type: str, drafts: list[Draft]) -> bool:
        """Keep a content customer below the repeat threshold and within the penalty budget."""
        limits = self.limits
        penalty = sum(limits.penalty(body) for _, body in drafts)
        contacts = [at for at, body in drafts if _is_inbound(body)]
        for at in contacts:
            near = customer.log.neighbours(service_type, at, limits.content_window_ms)
            if near + len(contacts) > limits.content_contacts:
                return False
            if near:
                penalty += limits.weight("repeat_contact")
        if customer.penalty + penalty > limits.penalty_budget:
            return False
        for at in contacts:
            customer.log.add(service_type, at)
        customer.penalty += penalty
        return True

    # -- results -----------------------------------------------------------------------

    @property
    def pending(self) -> int:
        """Entries waiting in the merge heap: customers' next episodes and events in flight."""
        return len(self._heap)

    @property
    def active_customers(self) -> int:
        """Customers with at least one emitted event."""
        return sum(self._active)

    def outcomes(self) -> list[Any]:
        """The customers who left inside the period, as rows of an outcomes file (docs/backtest.md)."""
        from cxpulse.schemas.outcomes import Outcome

        if self.churn is None:
            return []
        return [Outcome(customer_id=c.customer_id, churned_at=datetime.fromtimestamp(c.churned_ms / 1000, self.tz),
                        reason=c.reason, action=c.action) for c in self.churn.churns if c.emitted]

    def ground_truth(self) -> dict[str, Any]:
        """Which customers were made to struggle and how, and the outage (see docs/producers.md)."""
        from .groundtruth import ground_truth

        return ground_truth(self)


def _is_inbound(body: dict[str, Any]) -> bool:
    if body["event_type"] == "call":
        return body["direction"] == "inbound"
    if body["event_type"] == "ticket":
        return body["action"] == "opened"
    return body["event_type"] == "contact_started"


def _raise_for_segment(struggle: Struggle) -> None:
    """VIP, key and vulnerable customers' alerts are one level more severe (docs/rules.md)."""
    if struggle.segment in ("vip", "key", "vulnerable") and "severity" in struggle.detail:
        struggle.detail["severity"] = "critical"


def _run_id(config: SimulationConfig) -> str:
    """A short tag of everything that shapes the output: event and ticket ids never collide across runs."""
    anchor_ms = to_ms(config.anchor)
    text = "|".join(
        str(part)
        for part in (
            3,  # generator version (3: contact starts)
            config.seed,
            anchor_ms,
            config.anchor.utcoffset(),
            config.days,
            config.customers,
            config.contact_rate,
            config.struggling,
            config.outage_customers,
            config.outage_service_type,
            config.engine.model_dump_json(),
            # Only a run with the churn model differs from the runs before it existed.
            *(() if config.churn is None else ("churn", config.churn.model_dump_json(), config.churn_events,
                                               config.churn_scale)),
        )
    )
    return hashlib.blake2b(text.encode(), digest_size=5).hexdigest()


def _closes_ticket(body: Any) -> bool:
    return isinstance(body, dict) and body.get("event_type") == "ticket" and body.get("action") in _CLOSING
