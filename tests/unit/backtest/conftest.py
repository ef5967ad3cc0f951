from ..engine.conftest import event_factory  # noqa: F401 - the engine tests' event builder
