from collections.abc import Callable
from pathlib import Path

import orjson
import pytest
from jsonschema import FormatChecker
from jsonschema.validators import validator_for

from cxpulse.cli import main

SCHEMA = Path(__file__).resolve().parents[3] / "schemas" / "json" / "event.schema.json"


@pytest.fixture(scope="session")
def event_schema():
    """A validator of the exported JSON Schema of events, formats (date-time) checked."""
    schema = orjson.loads(SCHEMA.read_bytes())
    cls = validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=FormatChecker())


@pytest.fixture
def cxpulse(capfdbinary) -> Callable[..., tuple[int, bytes, str]]:
    """``cxpulse(*argv) -> (exit code, stdout bytes, stderr text)``, in process."""

    def run(*argv: str) -> tuple[int, bytes, str]:
        with pytest.raises(SystemExit) as exit_:
            main([str(arg) for arg in argv])
        out, err = capfdbinary.readouterr()
        return exit_.value.code, out, err.decode()

    return run
