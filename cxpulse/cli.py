"""The ``cxpulse`` command: one entry point, a subcommand per job.

Subcommands live beside the code they drive (``producers/cli.py``, ``processors/worker/faustapp/cli.py``,
...) and are registered here. Heavy imports (faust, kafka clients) happen inside the
commands, so ``cxpulse --help`` stays fast.
"""

import logging
import sys
from pathlib import Path
from typing import Annotated

import typer

try:  # typer >= 0.29 carries its own copy of click
    from typer._click.exceptions import ClickException, UsageError
except ImportError:  # pragma: no cover - older typer on top of click
    from click.exceptions import ClickException, UsageError

from cxpulse import __version__
from cxpulse.console import CliState, err_console
from cxpulse.errors import CxpulseError

__all__ = ["app", "main"]

app = typer.Typer(
    name="cxpulse",
    help="Customer-service monitoring on Apache Kafka: experience scores and churn-risk alerts.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"cxpulse {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            "-c",
            envvar="CXPULSE_CONFIG",
            help="TOML config file (default: ./cxpulse.toml when present).",
            show_default=False,
        ),
    ] = None,
    log_level: Annotated[
        str,
        typer.Option("--log-level", envvar="CXPULSE_LOG_LEVEL", help="debug, info, warning or error."),
    ] = "warning",
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """Customer-service monitoring on Apache Kafka."""
    level = logging.getLevelName(log_level.upper())
    if not isinstance(level, int):
        raise CxpulseError(f"--log-level must be debug, info, warning or error, not {log_level!r}")
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if config is not None and not config.is_file():
        raise CxpulseError(f"config file {config} does not exist")
    ctx.obj = CliState(config_path=config)


def _register() -> None:
    from cxpulse.agent_desk import agent_desk
    from cxpulse.alerts.cli import alerts_app
    from cxpulse.alerts.console_cli import console_app
    from cxpulse.alerts.ops_cli import ops_app
    from cxpulse.broker_cli import kafka_app
    from cxpulse.demo_cli import demo
    from cxpulse.processors.worker.faustapp.cli import worker
    from cxpulse.processors.backtest.cli import register as register_backtest
    from cxpulse.processors.replay.cli import register as register_replay
    from cxpulse.producers.cli import register as register_producers
    from cxpulse.producers.dlq.cli import dlq_app
    from cxpulse.producers.gateway_cli import ingest_app
    from cxpulse.producers.mapping.cli import register as register_sources
    from cxpulse.schemas.cli import schemas_app
    from cxpulse.topics_cli import topics_app

    # --help lists commands, then groups, each in this order.
    app.command("demo")(demo)
    register_producers(app)
    app.command("worker")(worker)
    register_replay(app)
    register_sources(app)
    register_backtest(app)
    app.add_typer(kafka_app, name="kafka")
    app.add_typer(topics_app, name="topics")
    app.add_typer(ingest_app, name="ingest")
    app.add_typer(dlq_app, name="dlq")
    app.add_typer(alerts_app, name="alerts")
    app.add_typer(console_app, name="console")
    app.command("agent-desk")(agent_desk)
    app.add_typer(ops_app, name="ops")
    app.add_typer(schemas_app, name="schemas")


_register()


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; every error ends as one line on stderr and a non-zero exit."""
    command = typer.main.get_command(app)
    try:
        code = command.main(args=argv, prog_name="cxpulse", standalone_mode=False)
    except UsageError as exc:
        hint = f" (see '{exc.ctx.command_path} --help')" if exc.ctx else ""
        err_console.print(f"cxpulse: error: {exc.format_message()}{hint}", markup=False, highlight=False)
        sys.exit(2)
    except ClickException as exc:
        err_console.print(f"cxpulse: error: {exc.format_message()}", markup=False, highlight=False)
        sys.exit(exc.exit_code)
    except CxpulseError as exc:
        err_console.print(f"cxpulse: error: {exc}", markup=False, highlight=False)
        sys.exit(1)
    except (typer.Abort, KeyboardInterrupt):
        err_console.print("cxpulse: interrupted", highlight=False)
        sys.exit(130)
    sys.exit(code if isinstance(code, int) else 0)
