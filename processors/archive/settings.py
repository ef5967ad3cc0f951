"""Settings of ``cxpulse archive`` (``[archive]`` in the config file)."""

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["ArchiveSettings"]


class ArchiveSettings(BaseModel):
    """Where the archive goes and how often it is made durable."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    dir: Path = Path("var/archive")
    """The archive directory: DIR/YYYY-MM-DD/<topic>-<partition>.jsonl.gz and manifest.json."""
    group_id: str = "cxpulse-archive"  # offsets are committed here too, for lag monitoring
    """The archive's consumer group (offsets are committed for lag monitoring only)."""
    flush_records: int = Field(50_000, ge=1)  # checkpoint after this many buffered records...
    """Checkpoint (fsync and manifest) after this many buffered records ..."""
    flush_seconds: float = Field(10.0, gt=0)  # ...or this long after the last checkpoint
    """... or this long after the last checkpoint."""
    retention_days: int = Field(0, ge=0)  # keep this many days (today included); 0 keeps everything
    """Keep this many UTC days, today included; 0 keeps everything."""
    compresslevel: int = Field(6, ge=1, le=9)
    """gzip level, 1 (fast) to 9 (small)."""
