"""``cxpulse worker``: run the stream processor (faust) until SIGTERM or Ctrl-C."""

import asyncio
import errno
import gc
import logging
import os
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from cxpulse.console import CliState, settings_of
from cxpulse.errors import CxpulseError
from cxpulse.logs import configure_logging, parse_level, third_party_level
from cxpulse.settings import Settings

__all__ = ["check_web_port", "crash_message", "run_worker", "usable_data_dir", "worker"]

def worker(
    ctx: typer.Context,
    web_port: Annotated[int | None, typer.Option("--web-port", help="Port of the read API (default: \\[worker] web_port).", show_default=False)] = None,
    workdir: Annotated[Path | None, typer.Option("--workdir", "--data-dir", help="Directory for table data (default: \\[worker] data_dir).", show_default=False)] = None,
    loglevel: Annotated[str | None, typer.Option("--log-level", "--loglevel", "-l", help="debug, info, warning or error (default: the root --log-level, warning).", show_default=False)] = None,
    uvloop: Annotated[bool | None, typer.Option("--uvloop/--no-uvloop", help="Run on uvloop (default: \\[worker] uvloop, on).", show_default=False)] = None,
) -> None:
    """Score events from the events topic, raise alerts, keep state in a changelog-backed table.

    Reads the events topic, writes alerts, score snapshots and dead letters, and answers
    GET /customers/{id}, GET /healthz and GET /metrics (Prometheus) on the web port. Stops cleanly on SIGTERM/SIGINT.
    """
    state = ctx.find_object(CliState)
    level = (loglevel or (state.log_level if state else "warning")).lower()
    configure_logging(parse_level(level))
    settings = settings_of(ctx)
    # Absolute: faust changes into the work directory before it creates its data directory.
    changes = {k: v for k, v in {"web_port": web_port, "data_dir": str(Path(workdir or settings.worker.data_dir).resolve()),
                                 "uvloop": uvloop}.items() if v is not None}
    if changes:
        settings = settings.model_copy(update={"worker": settings.worker.model_copy(update=changes)})
    run_worker(settings, level)


def run_worker(settings: Settings, loglevel: str = "warning") -> None:
    """Create the topics if missing, then run the faust worker in this process until stopped."""
    from faust.worker import Worker

    from cxpulse.processors.worker.versions import check_versions
    from cxpulse.topics import OUTPUT_MAX_MESSAGE_BYTES, TopicSpec, ensure_topics, topic_specs

    from .app import contacts_topic_name, create_app

    data_dir = usable_data_dir(Path(settings.worker.data_dir))
    if settings.worker.web_enabled:
        check_web_port(settings.worker.web_host, settings.worker.web_port)
    # The contacts topic is made here, not left to faust: a topic faust declares while its
    # consumer subscribes can be missed by the first assignment ("Ignoring missing topic").
    check_versions(settings.worker.allow_untested_versions)  # before anything connects: one line, exit 1
    contacts = TopicSpec(contacts_topic_name(settings), settings.topics.partitions, settings.topics.replication_factor,
                         {"max.message.bytes": str(OUTPUT_MAX_MESSAGE_BYTES)})
    ensure_topics(settings.kafka, [*topic_specs(settings.topics), contacts])
    if settings.worker.uvloop:
        _use_uvloop()
    app = create_app(settings)
    check_changelog_limits(settings, [table.changelog_topic.get_topic_name()
                                      for table in (app.runtime.customers, app.runtime.incidents)])
    # faust logs table contents and keys at debug only; the libraries' chatter shows from info on.
    quiet = third_party_level(parse_level(loglevel))
    for noisy in ("aiokafka", "faust", "mode"):
        logging.getLogger(noisy).setLevel(quiet)
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    runner = _quiet_retries(Worker, quiet)(app, loglevel=loglevel, quiet=True, redirect_stdouts=False,
                                           workdir=str(data_dir), loop=loop, logging_config=None)
    # The cyclic GC, as a replay runs it (replay/run.py's fewer_collections): customer states
    # are long-lived and have no cycles, and with the default thresholds the collector walks
    # them again and again (about a quarter of a batch's CPU; docs/benchmarks.md, "Worker").
    # Unlike a replay it runs for ever: full collections stay (every 10th middle one), so
    # cyclic garbage from the libraries is still freed; they cost the batch nothing measurable.
    gc.freeze()
    gc.set_threshold(100_000, 50, 10)
    try:
        runner.execute_from_commandline()
    except SystemExit as exc:
        reason = runner.crash_reason or app.crash_reason
        if exc.code and reason is not None:
            raise CxpulseError(crash_message(reason, settings)) from None
        raise


def check_changelog_limits(settings: Settings, names: list[str]) -> None:
    """Changelog topics that exist already (made before ``worker.changelog_max_message_bytes``, or
    by hand) must take the largest state record, or the worker would stop on it some day: one line
    that says which topic and how to raise its limit, before anything is consumed."""
    from cxpulse.processors.engine.limits import state_bounds
    from cxpulse.topics import message_limits

    need = state_bounds(settings.engine).record_bytes
    for name, limit in sorted(message_limits(settings.kafka, names).items()):
        if limit < need:
            raise CxpulseError(
                f"changelog topic {name} takes records of at most {limit:,} bytes (max.message.bytes), less than the "
                f"largest state record of these settings ({need:,} bytes; docs/rules.md, \"Limits\"): raise it with "
                f"kafka-configs --bootstrap-server {settings.kafka.bootstrap_servers} --alter --entity-type topics "
                f"--entity-name {name} --add-config max.message.bytes={settings.worker.changelog_max_message_bytes}")


def usable_data_dir(path: Path) -> Path:
    """``path`` made and writable, or a one-line error that says why it cannot be the data directory."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except FileExistsError:
        raise CxpulseError(f"--data-dir {path}: a file is in the way; give a directory") from None
    except OSError as exc:
        raise CxpulseError(f"--data-dir {path}: cannot write there ({exc.strerror or exc})") from None
    return path


def check_web_port(host: str, port: int) -> None:
    """Fail now, in one line, when the read API's port is taken (faust would crash with a traceback)."""
    from cxpulse.broker import port_in_use

    if port_in_use(host, port):
        raise CxpulseError(_port_taken(host, port))


def _port_taken(host: str, port: int) -> str:
    return (f"port {port} on {host} is in use (another worker?); give the worker another with --web-port "
            "or CXPULSE_WORKER__WEB_PORT")


def crash_message(reason: BaseException, settings: Settings) -> str:
    """The one line for a worker that stopped on an error (``--log-level info`` shows faust's account)."""
    if isinstance(reason, OSError) and reason.errno == errno.EADDRINUSE:
        return _port_taken(settings.worker.web_host, settings.worker.web_port)
    return f"the worker stopped: {type(reason).__name__}: {reason} (--log-level info shows more)"


def _quiet_retries(worker_class: type, library_level: int) -> type:
    """faust's ``Worker`` without its spinner, whose log handlers let each Kafka client message through once per 30 s."""
    from cxpulse.logthrottle import throttle_logs

    class QuietWorker(worker_class):
        def on_setup_root_logger(self, logger: logging.Logger, level: int) -> None:
            self.spinner = None  # it writes cursor escapes to logs and pipes, and sets the root logger to debug
            super().on_setup_root_logger(logger, level)
            # While the broker is away aiokafka logs each connection error ~1,000 times a
            # second across its clients (10,000 ERROR lines in an 8 s broker restart).
            throttle_logs()
            for noisy in ("aiokafka", "faust", "mode", "kafka"):
                logging.getLogger(noisy).setLevel(library_level)

    return QuietWorker


def _use_uvloop() -> None:
    if os.name == "nt":  # pragma: no cover
        return
    try:
        import uvloop
    except ImportError:  # pragma: no cover - declared dependency on POSIX
        raise CxpulseError("uvloop is not installed; run with --no-uvloop") from None
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
