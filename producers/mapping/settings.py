"""``[sources]``: where source mappings live, the key of pseudonymous ids, and the bridge's pace."""

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

__all__ = ["MIN_HASH_KEY_CHARS", "SourcesSettings"]

MIN_HASH_KEY_CHARS = 16


class SourcesSettings(BaseModel):
    """Source mappings (docs/sources.md): files, the hashing key, webhooks served, the bridge."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    # A folder of mapping files, <name>.toml; a name found there wins over a preset of that name.
    dir: Path | None = None
    """A folder of mapping files, <name>.toml; a name found there wins over a preset of that name; none: the presets only."""
    # The secret of keyed hashes (HMAC-SHA256) that turn phone numbers or e-mails into customer ids.
    hash_key: SecretStr | None = None
    """The secret of the keyed hashes (HMAC-SHA256) that turn phone numbers or e-mails into customer ids (at least 16 characters); keep it out of files: set CXPULSE_SOURCES__HASH_KEY. Never printed."""
    # Sources the ingest gateway serves at POST /v1/sources/{name} (loaded when it starts).
    webhooks: list[str] = Field(default_factory=list)
    """Sources the ingest gateway serves at POST /v1/sources/{name} (loaded when it starts)."""
    # The bridge's consumer group is "<bridge_group_prefix>.<source>.<raw topic>" unless --group says otherwise.
    bridge_group_prefix: str = Field("cxpulse-bridge", min_length=1, max_length=100)
    """The bridge's consumer group is "<bridge_group_prefix>.<source>.<raw topic>" unless --group says otherwise."""
    # Raw records mapped, delivered and committed together; and the longest wait for them.
    bridge_batch_records: int = Field(500, ge=1, le=100_000)
    """Raw records the bridge maps, delivers and commits together ..."""
    bridge_poll_seconds: float = Field(1.0, gt=0, le=60)
    """... and the longest it waits for them."""

    @field_validator("hash_key")
    @classmethod
    def _long_enough(cls, key: SecretStr | None) -> SecretStr | None:
        if key is not None and len(key.get_secret_value()) < MIN_HASH_KEY_CHARS:
            raise ValueError(f"the hash key must have at least {MIN_HASH_KEY_CHARS} characters")
        return key

    @field_validator("dir")
    @classmethod
    def _expand_home(cls, path: Path | None) -> Path | None:
        return None if path is None else path.expanduser()
