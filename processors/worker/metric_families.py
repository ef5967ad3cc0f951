"""Counters and histograms kept in plain Python containers, exposed at scrape time.

The worker's per-event path is its hottest code: a ``prometheus_client`` ``Counter``
``labels(...).inc()`` or ``Histogram.observe()`` costs 1–2.5 µs (a lock and a label
lookup each time), a dict increment or a ``bisect`` into a list about 0.15–0.25 µs.
These families keep the numbers in dicts and lists and build
``prometheus_client`` metric families only when ``/metrics`` is scraped.

They are not thread-safe for writers: the worker updates and scrapes them on its one
event loop. Reading copies the containers first, so a scrape from another thread sees
a consistent-enough snapshot and never fails.
"""

from bisect import bisect_left
from collections.abc import Iterable, Sequence

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily

__all__ = ["Buckets", "LabelledGauge", "Tally"]


class Tally:
    """A counter family: label values (a tuple) -> count. ``name`` without ``_total``."""

    __slots__ = ("name", "documentation", "labelnames", "counts")

    def __init__(self, name: str, documentation: str, labelnames: Sequence[str] = (),
                 initial: Iterable[tuple[str, ...]] = ()) -> None:
        self.name = name
        self.documentation = documentation
        self.labelnames = tuple(labelnames)
        # Series listed in `initial` exist from the start at 0, so rate() works at once.
        self.counts: dict[tuple[str, ...], float] = {key: 0 for key in initial}

    def add(self, key: tuple[str, ...], amount: float = 1) -> None:
        counts = self.counts
        counts[key] = counts.get(key, 0) + amount

    def value(self, *key: str) -> float:
        """The count of one series (0 when it never moved); for tests and ``/healthz``."""
        return self.counts.get(key, 0)

    def family(self) -> CounterMetricFamily:
        family = CounterMetricFamily(self.name, self.documentation, labels=self.labelnames)
        for key, count in list(self.counts.items()):
            family.add_metric(key, count)
        return family


class LabelledGauge:
    """A gauge family kept as label values -> value."""

    __slots__ = ("name", "documentation", "labelnames", "values")

    def __init__(self, name: str, documentation: str, labelnames: Sequence[str] = ()) -> None:
        self.name = name
        self.documentation = documentation
        self.labelnames = tuple(labelnames)
        self.values: dict[tuple[str, ...], float] = {}

    def family(self) -> GaugeMetricFamily:
        family = GaugeMetricFamily(self.name, self.documentation, labels=self.labelnames)
        for key, value in list(self.values.items()):
            family.add_metric(key, value)
        return family


class Buckets:
    """An unlabelled histogram: ``observe`` is one ``bisect`` and two additions.

    ``bounds`` are the upper bounds (``le``) in increasing order, without ``+Inf``.
    """

    __slots__ = ("name", "documentation", "bounds", "counts", "total")

    def __init__(self, name: str, documentation: str, bounds: Sequence[float]) -> None:
        if list(bounds) != sorted(set(bounds)):
            raise ValueError(f"{name}: bucket bounds must increase strictly")
        self.name = name
        self.documentation = documentation
        self.bounds = tuple(float(b) for b in bounds)
        self.counts = [0] * (len(self.bounds) + 1)  # the last one is +Inf
        self.total = 0.0

    def observe(self, value: float) -> None:
        # bisect_left: a value equal to a bound belongs to that bound's bucket (le = less or equal).
        self.counts[bisect_left(self.bounds, value)] += 1
        self.total += value

    @property
    def count(self) -> int:
        return sum(self.counts)

    def family(self, labelnames: Sequence[str] = (), labels: Sequence[str] = ()) -> HistogramMetricFamily:
        family = HistogramMetricFamily(self.name, self.documentation, labels=labelnames)
        self.add_to(family, labels)
        return family

    def add_to(self, family: HistogramMetricFamily, labels: Sequence[str] = ()) -> None:
        """Add this histogram as one labelled series of ``family``."""
        counts, cumulative, buckets = list(self.counts), 0, []
        for bound, count in zip((*self.bounds, float("inf")), counts, strict=True):
            cumulative += count
            buckets.append((_le(bound), cumulative))
        family.add_metric(list(labels), buckets, self.total)


def _le(bound: float) -> str:
    if bound == float("inf"):
        return "+Inf"
    return repr(float(bound)) if bound != int(bound) else f"{bound:.1f}"
