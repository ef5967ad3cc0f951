"""``cxpulse kafka``: run the local single-node Kafka broker without Docker."""

from typing import Annotated

import typer

from cxpulse.console import console, err_console, settings_of
from cxpulse.errors import BrokerError
from cxpulse.settings import BrokerSettings

__all__ = ["kafka_app"]

kafka_app = typer.Typer(
    help="Run a local single-node Apache Kafka broker (KRaft) from the official jars.", no_args_is_help=True
)

Port = Annotated[int | None, typer.Option("--port", min=1, max=65535, help="Client port (default: the broker.port setting).")]
ControllerPort = Annotated[
    int | None,
    typer.Option("--controller-port", min=1, max=65535, help="KRaft controller port (default: the broker.controller_port setting)."),
]


def _broker(ctx: typer.Context, secure: bool = False, **overrides: object):
    from cxpulse.broker import LocalBroker

    settings: BrokerSettings = settings_of(ctx).broker
    changed = {key: value for key, value in overrides.items() if value is not None}
    progress = lambda m: err_console.print(f"{m} ...")  # noqa: E731
    return LocalBroker(settings.model_copy(update=changed), progress=progress, secure=secure)


@kafka_app.command("up")
def up(
    ctx: typer.Context,
    port: Port = None,
    controller_port: ControllerPort = None,
    wipe: Annotated[bool, typer.Option("--wipe", help="Delete the broker's data first (a fresh, empty cluster).")] = False,
    secure: Annotated[
        bool,
        typer.Option(
            "--secure",
            help="Clients must use SASL/SCRAM over TLS, and the controller listener admits only the broker's own "
            "certificate (a throwaway CA and users are made in the data directory; the clients' [kafka] settings "
            "are written to security/kafka-client.toml).",
        ),
    ] = False,
) -> None:
    """Start the broker (resolving its jars with Maven the first time) and wait until it answers."""
    broker = _broker(ctx, secure=secure, port=port, controller_port=controller_port)
    if wipe:
        broker.wipe()
    stale = broker.status().stale_pid
    if stale is not None:
        err_console.print(f"removed a stale pid file (pid {stale} is not running)")
    started = broker.start()
    if started.already_running:
        console.print(f"Kafka is already running on {started.bootstrap_servers} (pid {started.pid})")
        return
    console.print(
        f"Kafka {broker.settings.kafka_version} is up on {started.bootstrap_servers} "
        f"(pid {started.pid}, started in {started.seconds:.1f} s; data in {broker.data_dir})",
        markup=False,
    )
    if secure:
        console.print(
            f"clients must use SASL_SSL with SCRAM-SHA-512; their settings: {broker.security_dir / 'kafka-client.toml'}",
            markup=False,
        )


@kafka_app.command("down")
def down(ctx: typer.Context) -> None:
    """Stop the broker by its pid (SIGTERM, then SIGKILL after a grace period); fine if it is not running."""
    broker = _broker(ctx)
    stale = broker.status().stale_pid
    if broker.stop():
        console.print("Kafka stopped")
    elif stale is not None:
        console.print(f"Kafka was not running (removed a stale pid file for pid {stale})")
    else:
        console.print("Kafka was not running")


@kafka_app.command("status")
def status(ctx: typer.Context) -> None:
    """Say whether the broker runs and answers; exit 1 when it does not."""
    broker = _broker(ctx)
    current = broker.status()
    if not current.running:
        hint = f" (stale pid file: pid {current.stale_pid} is gone)" if current.stale_pid else ""
        raise BrokerError(f"Kafka is not running{hint}; start it with 'cxpulse kafka up'")
    if not current.answering:
        raise BrokerError(
            f"Kafka runs (pid {current.pid}) but does not answer on {current.bootstrap_servers}: "
            f"{broker.failure_cause()}"
        )
    console.print(f"Kafka is running on {current.bootstrap_servers} (pid {current.pid}; data in {broker.data_dir})")


@kafka_app.command("wipe")
def wipe(ctx: typer.Context) -> None:
    """Delete the broker's data directory (topics, offsets, logs); refused while it runs."""
    broker = _broker(ctx)
    existed = broker.data_dir.exists()
    broker.wipe()
    console.print(f"deleted {broker.data_dir}" if existed else f"nothing to delete at {broker.data_dir}")
