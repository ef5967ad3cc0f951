"""Live alerts against replayed ones: added, removed and changed (pure functions).

Alerts are matched in three passes:

1. the same ``alert_id`` and ``status`` (a churn alert's ``firing`` and ``resolved``
   records share an id): changed when any compared field differs;
2. the same ``alert_id``, another status;
3. the same rule, customer and service type, triggered within ``pair_within`` seconds of
   each other — e.g. a repeat-contact alert that a higher threshold moves from the 3rd
   contact to the 4th — in time order, as many pairs as possible, the closest preferred.

What is left is *removed* (live only) or *added* (replay only). Live alerts written twice
(at-least-once delivery after a restart) count once. ``emitted_at`` is never compared.
"""

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from cxpulse.schemas import Alert

__all__ = ["COMPARED", "AlertChange", "AlertDiff", "FieldChange", "compare", "dedupe", "diff_alerts"]

COMPARED = ("severity", "status", "triggered_at", "evidence", "score", "risk_band", "segment", "summary")


@dataclass(frozen=True)
class FieldChange:
    """One field that differs: its live and replayed values."""

    field: str
    live: Any
    replay: Any


@dataclass(frozen=True)
class AlertChange:
    """A live alert and its replayed counterpart. ``matched_by``: ``id`` or ``nearby``."""

    live: Alert
    replay: Alert
    matched_by: str
    changes: tuple[FieldChange, ...]


@dataclass(frozen=True)
class AlertDiff:
    """The outcome of :func:`diff_alerts`."""

    added: list[Alert]
    removed: list[Alert]
    changed: list[AlertChange]
    unchanged: int

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)

    def by_rule(self) -> dict[str, tuple[int, int, int]]:
        """``rule -> (added, removed, changed)``."""
        counts: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
        for alert in self.added:
            counts[alert.rule][0] += 1
        for alert in self.removed:
            counts[alert.rule][1] += 1
        for change in self.changed:
            counts[change.live.rule][2] += 1
        return {rule: (a, r, c) for rule, (a, r, c) in sorted(counts.items())}


def dedupe(alerts: Iterable[Alert]) -> dict[tuple[str, str], Alert]:
    """Alerts by ``(alert_id, status)``; the last of repeated records wins."""
    return {(a.alert_id, a.status): a for a in alerts}


def compare(live: Alert, replay: Alert) -> tuple[FieldChange, ...]:
    """The compared fields that differ (evidence as a list: order matters)."""
    return tuple(FieldChange(name, getattr(live, name), getattr(replay, name))
                 for name in COMPARED if getattr(live, name) != getattr(replay, name))


def diff_alerts(live: Iterable[Alert], replayed: Iterable[Alert], pair_within: float = 3 * 86400) -> AlertDiff:
    """Compare the alerts the live pipeline emitted with those a replay produced."""
    left, right = dedupe(live), dedupe(replayed)
    changed: list[AlertChange] = []
    unchanged = 0
    for key in sorted(left.keys() & right.keys()):
        changes = compare(left[key], right[key])
        if changes:
            changed.append(AlertChange(left[key], right[key], "id", changes))
        else:
            unchanged += 1
    rest_left = [a for k, a in left.items() if k not in right]
    rest_right = [a for k, a in right.items() if k not in left]
    by_id, rest_left, rest_right = _pair_by_id(rest_left, rest_right)
    nearby, removed, added = _pair_nearby(rest_left, rest_right, pair_within)
    changed += by_id + nearby
    changed.sort(key=lambda c: (c.live.triggered_at, c.live.alert_id, c.live.status))
    return AlertDiff(_ordered(added), _ordered(removed), changed, unchanged)


def _ordered(alerts: list[Alert]) -> list[Alert]:
    return sorted(alerts, key=lambda a: (a.triggered_at, a.alert_id, a.status))


def _pair_by_id(left: list[Alert], right: list[Alert]) -> tuple[list[AlertChange], list[Alert], list[Alert]]:
    pending: dict[str, list[Alert]] = defaultdict(list)
    for alert in _ordered(right):
        pending[alert.alert_id].append(alert)
    pairs, rest = [], []
    for alert in _ordered(left):
        candidates = pending.get(alert.alert_id)
        if candidates:
            match = candidates.pop(0)
            pairs.append(AlertChange(alert, match, "id", compare(alert, match)))
        else:
            rest.append(alert)
    return pairs, rest, [a for group in pending.values() for a in group]


def _group(alert: Alert) -> tuple[str, str | None, str]:
    return alert.rule, alert.customer_id, alert.service_type


def _pair_nearby(left: list[Alert], right: list[Alert],
                 within: float) -> tuple[list[AlertChange], list[Alert], list[Alert]]:
    """Pair inside each (rule, customer, service type) group; see :func:`_align`."""
    groups: dict[tuple, tuple[list[Alert], list[Alert]]] = defaultdict(lambda: ([], []))
    for alert in _ordered(left):
        groups[_group(alert)][0].append(alert)
    for alert in _ordered(right):
        groups[_group(alert)][1].append(alert)
    pairs: list[AlertChange] = []
    removed: list[Alert] = []
    added: list[Alert] = []
    for key in sorted(groups, key=lambda k: (k[0], k[1] or "", k[2])):
        lives, replays = groups[key]
        matched = _align(lives, replays, within)
        pairs += [AlertChange(lives[i], replays[j], "nearby", compare(lives[i], replays[j])) for i, j in matched]
        paired_live, paired_replay = {i for i, _ in matched}, {j for _, j in matched}
        removed += [a for i, a in enumerate(lives) if i not in paired_live]
        added += [a for j, a in enumerate(replays) if j not in paired_replay]
    return pairs, removed, added


def _align(lives: list[Alert], replays: list[Alert], within: float) -> list[tuple[int, int]]:
    """The most pairs, then the least total time apart, without crossing (both sides in time order).

    A changed threshold or weight shifts a customer's alerts but keeps their order, so
    the k-th live alert pairs with the k-th replayed one when they are close enough.
    Dynamic programming over the two sorted lists (groups are small).
    """
    n, m = len(lives), len(replays)
    best = [[(0, 0.0)] * (m + 1) for _ in range(n + 1)]  # (pairs, -seconds apart) of prefixes
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            options = [best[i - 1][j], best[i][j - 1]]
            gap = abs((lives[i - 1].triggered_at - replays[j - 1].triggered_at).total_seconds())
            if gap <= within:
                pairs, closeness = best[i - 1][j - 1]
                options.append((pairs + 1, closeness - gap))
            best[i][j] = max(options)
    matched = []
    i, j = n, m
    while i and j:
        if best[i][j] == best[i - 1][j]:
            i -= 1
        elif best[i][j] == best[i][j - 1]:
            j -= 1
        else:
            matched.append((i - 1, j - 1))
            i, j = i - 1, j - 1
    return matched[::-1]
