"""Source mappings: other systems' JSON (contact centres, helpdesks, CRMs) turned into cxpulse events.

A mapping is a TOML file of JMESPath expressions (docs/sources.md). It is used by the
ingest gateway (``POST /v1/sources/{name}``), ``cxpulse produce FILE --source NAME``,
``cxpulse bridge`` (a raw Kafka topic into ``cx.events``) and ``cxpulse dlq resend``.

    mapper = load_source("zendesk", settings)
    outcome = judge_record(mapper, record, now=time.time(), max_future_seconds=86400)
    # Events(accepted=(Accepted(key, value, identity), ...)) | Skipped() | Failed(errors, reason)
"""

from .judge import Events, Failed, Skipped, judge_bytes, judge_record
from .mapper import Mapper
from .registry import load_mapping, load_source, preset_names
from .settings import SourcesSettings

__all__ = ["Events", "Failed", "Mapper", "Skipped", "SourcesSettings", "judge_bytes", "judge_record", "load_mapping",
           "load_source", "preset_names"]  # fmt: skip
