"""The ``cxpulse`` command: one entry point, a subcommand per job.

Subcommands live beside the code they drive (``producers/cli.py``, ``processors/worker/faustapp/cli.py``,
...) and are registered here. Heavy imports (faust, kafka clients) happen inside the
commands, so ``cxpulse --help`` stays fast.
"""

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

try:  # typer >= 0.29 carries its own copy of click
    from typer._click.core import Context, ParameterSource
except ImportError:  # pragma: no cover - older typer on top of click
    from click.core import Context, ParameterSource  # type: ignore[assignment]  # the same classes, click's own copy

try:  # typer >= 0.29 carries its own copy of click
    from typer._click.exceptions import ClickException, NoArgsIsHelpError, UsageError
except ImportError:  # pragma: no cover - older typer on top of click
    from click.exceptions import ClickException, NoArgsIsHelpError, UsageError  # type: ignore[assignment]  # as above

from cxpulse import __version__
from cxpulse.console import CliState, err_console
from cxpulse.errors import CxpulseError
from cxpulse.logs import configure_logging, parse_level

__all__ = ["LOG_LEVEL_ENV", "app", "main"]

LOG_LEVEL_ENV = "CXPULSE_LOG_LEVEL"
HELP_NAMES = ["-h", "--help"]

app = typer.Typer(
    name="cxpulse",
    help="Customer-service monitoring on Apache Kafka: experience scores and churn-risk alerts.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": HELP_NAMES},
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
        typer.Option("--log-level", envvar=LOG_LEVEL_ENV, help="debug, info, warning or error (every command; "
                     "info and debug let the Kafka clients' and faust's own lines through)."),
    ] = "warning",
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """Customer-service monitoring on Apache Kafka."""
    from_env = ctx.get_parameter_source("log_level") is ParameterSource.ENVIRONMENT
    level = parse_level(log_level, f"{LOG_LEVEL_ENV}={log_level!r}: it" if from_env else "--log-level")
    configure_logging(level)
    if config is not None and not config.is_file():
        raise CxpulseError(f"config file {config} does not exist")
    ctx.obj = CliState(config_path=config, log_level=log_level.lower())


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


def _flags_as_flags(command: Any) -> Any:
    """Show boolean flags as flags in --help (typer's rich help gives them a ``<bool>`` value)."""
    # The help option is made on first use; make it now, with the names every command has.
    help_option = command.get_help_option(Context(command, help_option_names=HELP_NAMES))
    for param in [*getattr(command, "params", []), *([help_option] if help_option else [])]:
        if getattr(param, "is_flag", False) and param.metavar is None:
            param.metavar = ""
    for sub in getattr(command, "commands", {}).values():
        _flags_as_flags(sub)
    return command


def build_command() -> Any:
    """The click command tree of ``cxpulse`` as ``main`` runs it."""
    return _flags_as_flags(typer.main.get_command(app))


def main(argv: list[str] | None = None) -> None:
    """Run the CLI; every error ends as one line on stderr and a non-zero exit."""
    command = build_command()
    try:
        code = command.main(args=argv, prog_name="cxpulse", standalone_mode=False)
    except NoArgsIsHelpError as exc:  # bare `cxpulse` or `cxpulse kafka`: the help is the answer, not an error
        text = exc.format_message()  # empty when Rich printed the help already
        if text.strip():
            typer.echo(text)
        sys.exit(0)
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
