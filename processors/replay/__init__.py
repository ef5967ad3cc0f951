"""The engineer's tools: ``cxpulse replay`` and ``cxpulse customer`` (see docs/replay.md).

Records come from Kafka or the archive (:mod:`.sources`), are selected by Kafka's own
timestamp rule (:mod:`.ranges`), judged as the live worker judges them (:mod:`.verdict`)
and fed through the one engine (:mod:`.run`, :mod:`.timeline`). Alerts are compared with
the live ones by :mod:`.diff`; :mod:`.republish` copies a range into another topic.
"""

from .diff import AlertDiff, diff_alerts
from .ranges import PartitionRange, RangeStart, clip, key_partition, merge_partitions, plan_ranges
from .run import ReplayCounts, Replayer, ReplayResult
from .timeline import Timeline, TimelineBuilder, TimelineRow

__all__ = [
    "AlertDiff",
    "PartitionRange",
    "RangeStart",
    "ReplayCounts",
    "ReplayResult",
    "Replayer",
    "Timeline",
    "TimelineBuilder",
    "TimelineRow",
    "clip",
    "diff_alerts",
    "key_partition",
    "merge_partitions",
    "plan_ranges",
]
