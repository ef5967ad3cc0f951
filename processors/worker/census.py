"""How many customers a worker owns, by risk band and segment and by score range.

Gauges over every customer cannot be recomputed per scrape (100,000 states to decode),
so the census keeps one small integer per customer — its score range, band and segment
packed together — and moves a customer between counts only when a batch changed it.
Cost: one dict entry per owned customer (about 100 bytes), and per changed customer per
batch a score, a band and one dict update.

Only customers on partitions this worker owns are counted, so the gauges of several
workers add up to the whole population. :meth:`CustomerCensus.recount` rebuilds the
counts after every rebalance from the recovered table.
"""

from collections.abc import Callable, Iterable, Iterator, Mapping

from cxpulse.processors.engine import CustomerState
from cxpulse.processors.engine.score import score_of as _score_of

__all__ = ["BANDS", "SCORE_RANGES", "SEGMENTS", "CustomerCensus"]

BANDS = ("healthy", "at_risk", "critical")
SEGMENTS = ("standard", "key", "vip", "vulnerable")
SCORE_RANGES = tuple(f"{low}-{low + 10}" for low in range(0, 100, 10))  # "90-100" includes 100
_BAND_INDEX = {band: i for i, band in enumerate(BANDS)}
_SEGMENT_INDEX = {segment: i for i, segment in enumerate(SEGMENTS)}
_PER_RANGE = len(BANDS) * len(SEGMENTS)


class CustomerCensus:
    """Counts of owned customers; ``band`` maps a score to its risk band name."""

    def __init__(self, band: Callable[[float], str]) -> None:
        self._band = band
        self._codes: dict[bytes, int] = {}
        self.by_band_segment = [0] * _PER_RANGE  # index: band * len(SEGMENTS) + segment
        self.by_score_range = [0] * len(SCORE_RANGES)

    def __len__(self) -> int:
        return len(self._codes)

    def update(self, changed: Mapping[bytes, tuple[CustomerState, int]]) -> None:
        """Record the new states of the customers a batch changed (key -> (state, partition))."""
        codes, by_band, by_range, band, score_of = (self._codes, self.by_band_segment, self.by_score_range,
                                                    self._band, _score_of)
        segments, per_range, width = _SEGMENT_INDEX, _PER_RANGE, len(SEGMENTS)
        for key, (state, _) in changed.items():
            score = score_of(state)  # runs once per changed customer per batch: kept inline
            new = ((9 if score >= 90.0 else int(score // 10.0)) * per_range + _BAND_INDEX[band(score)] * width
                   + segments.get(state.segment, 0))
            old = codes.get(key)
            if old == new:
                continue
            if old is not None:
                by_band[old % per_range] -= 1
                by_range[old // per_range] -= 1
            codes[key] = new
            by_band[new % per_range] += 1
            by_range[new // per_range] += 1

    def recount(self, states: Iterable[tuple[CustomerState, int]], owned: Callable[[int], bool]
                ) -> Iterator[tuple[CustomerState, int]]:
        """Start over from ``states`` (``(state, partition)``), counting those on owned partitions.

        A pass-through generator: the caller's own loop over the table (the SLA clock's
        rebuild) drives it, so the table is decoded once.
        """
        self._codes = {}
        self.by_band_segment = [0] * _PER_RANGE
        self.by_score_range = [0] * len(SCORE_RANGES)
        for state, partition in states:
            if owned(partition):
                self.update({state.customer_id.encode("utf-8"): (state, partition)})
            yield state, partition

    def band_segment_counts(self) -> Iterator[tuple[str, str, int]]:
        """``(risk_band, segment, customers)`` for every combination."""
        for i, count in enumerate(self.by_band_segment):
            yield BANDS[i // len(SEGMENTS)], SEGMENTS[i % len(SEGMENTS)], count

    def score_range_counts(self) -> Iterator[tuple[str, int]]:
        """``(score_range, customers)``, lowest range first."""
        return zip(SCORE_RANGES, self.by_score_range, strict=True)
