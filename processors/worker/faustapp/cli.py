"""``cxpulse worker``: run the stream processor (faust) until SIGTERM or Ctrl-C."""

import asyncio
import logging
import os
from pathlib import Path
from typing import Annotated

import typer

from cxpulse.console import settings_of
from cxpulse.errors import CxpulseError
from cxpulse.settings import Settings

__all__ = ["run_worker", "worker"]

_LEVELS = ("debug", "info", "warning", "error")


def worker(
    ctx: typer.Context,
    web_port: Annotated[int | None, typer.Option("--web-port", help="Port of the read API (default: \\[worker] web_port).", show_default=False)] = None,
    workdir: Annotated[Path | None, typer.Option("--workdir", "--data-dir", help="Directory for table data (default: \\[worker] data_dir).", show_default=False)] = None,
    loglevel: Annotated[str, typer.Option("--loglevel", "-l", help="debug, info, warning or error.")] = "info",
    uvloop: Annotated[bool | None, typer.Option("--uvloop/--no-uvloop", help="Run on uvloop (default: \\[worker] uvloop, on).", show_default=False)] = None,
) -> None:
    """Score events from the events topic, raise alerts, keep state in a changelog-backed table.

    Reads the events topic, writes alerts, score snapshots and dead letters, and answers
    GET /customers/{id}, GET /healthz and GET /metrics (Prometheus) on the web port. Stops cleanly on SIGTERM/SIGINT.
    """
    if loglevel.lower() not in _LEVELS:
        raise CxpulseError(f"--loglevel must be one of {', '.join(_LEVELS)}, not {loglevel!r}")
    settings = settings_of(ctx)
    # Absolute: faust changes into the work directory before it creates its data directory.
    changes = {k: v for k, v in {"web_port": web_port, "data_dir": str(Path(workdir or settings.worker.data_dir).resolve()),
                                 "uvloop": uvloop}.items() if v is not None}
    if changes:
        settings = settings.model_copy(update={"worker": settings.worker.model_copy(update=changes)})
    run_worker(settings, loglevel.lower())


def run_worker(settings: Settings, loglevel: str = "info") -> None:
    """Create the topics if missing, then run the faust worker in this process until stopped."""
    from faust.worker import Worker

    from cxpulse.topics import TopicSpec, ensure_topics, topic_specs

    from .app import contacts_topic_name, create_app

    # The contacts topic is made here, not left to faust: a topic faust declares while its
    # consumer subscribes can be missed by the first assignment ("Ignoring missing topic").
    contacts = TopicSpec(contacts_topic_name(settings), settings.topics.partitions, settings.topics.replication_factor)
    ensure_topics(settings.kafka, [*topic_specs(settings.topics), contacts])
    data_dir = Path(settings.worker.data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    if settings.worker.uvloop:
        _use_uvloop()
    app = create_app(settings)
    # faust logs table contents and keys at debug only; keep third-party chatter at warning.
    for noisy in ("aiokafka", "faust.transport", "mode"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(loglevel.upper())))
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    _quiet_retries(Worker)(app, loglevel=loglevel, quiet=True, redirect_stdouts=False, workdir=str(data_dir),
                           loop=loop, logging_config=None).execute_from_commandline()


def _quiet_retries(worker_class: type) -> type:
    """faust's ``Worker`` whose log handlers let each Kafka client message through once per 30 s."""
    from cxpulse.logthrottle import throttle_logs

    class QuietWorker(worker_class):  # type: ignore[misc, valid-type]
        def on_setup_root_logger(self, logger: logging.Logger, level: int) -> None:
            super().on_setup_root_logger(logger, level)
            # While the broker is away aiokafka logs each connection error ~1,000 times a
            # second across its clients (10,000 ERROR lines in an 8 s broker restart).
            throttle_logs()

    return QuietWorker


def _use_uvloop() -> None:
    if os.name == "nt":  # pragma: no cover
        return
    try:
        import uvloop
    except ImportError:  # pragma: no cover - declared dependency on POSIX
        raise CxpulseError("uvloop is not installed; run with --no-uvloop") from None
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
