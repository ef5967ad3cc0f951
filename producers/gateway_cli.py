"""``cxpulse ingest``: run the HTTP ingest gateway and make its tokens."""

import secrets
import sys
from typing import Annotated

import typer

from cxpulse.console import err_console, settings_of
from cxpulse.errors import ConfigError, CxpulseError

__all__ = ["ingest_app"]

ingest_app = typer.Typer(help="HTTP ingest gateway: POST /v1/events into Kafka.", no_args_is_help=True)


@ingest_app.command("serve")
def serve(
    ctx: typer.Context,
    host: Annotated[str | None, typer.Option("--host", help="Address to listen on (default: gateway.host).")] = None,
    port: Annotated[
        int | None, typer.Option("--port", min=1, max=65535, help="Port to listen on (default: gateway.port).")
    ] = None,
) -> None:
    """Serve POST /v1/events, /healthz, /metrics and /openapi.json until SIGINT or SIGTERM.

    Needs at least one token in gateway.tokens (see 'cxpulse ingest new-token').
    Starts without Kafka and answers 503 until the brokers are reachable.
    """
    from cxpulse.producers.gateway import GATEWAY, create_app
    from cxpulse.producers.gateway_http import AccessLogger
    from cxpulse.producers.gateway_server import ServerHooks, serve

    from cxpulse.logthrottle import throttle_logs

    settings = settings_of(ctx)
    gateway = settings.gateway
    throttle_logs()  # aiokafka repeats each connection error ~10 times a second while Kafka is away
    throttle_logs(("cxpulse.producers.gateway_server",), 10.0)  # a flood of malformed requests: a line per 10 s
    if not gateway.tokens:
        raise ConfigError("no ingest tokens configured: add one to [gateway] tokens (see 'cxpulse ingest new-token')")
    host, port = host or gateway.host, port or gateway.port
    announce = f"ingest gateway on http://{host}:{port} -> {settings.topics.events} at {settings.kafka.bootstrap_servers}"
    app = create_app(settings)
    metrics = app[GATEWAY].metrics
    hooks = ServerHooks(refused=metrics.connections_refused.inc,
                        answered_error=lambda status: metrics.answered("other", status, 0.0))  # fmt: skip
    try:
        serve(app, gateway, host, port, announce=lambda: err_console.print(announce), loop=_new_loop(),
              access_log_class=AccessLogger, hooks=hooks)  # fmt: skip
    except OSError as exc:
        raise CxpulseError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    err_console.print("ingest gateway stopped")


def _new_loop():
    import asyncio

    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency where it exists
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


@ingest_app.command("new-token")
def new_token(
    name: Annotated[str, typer.Argument(help="A name for the token, e.g. the system that will use it.")],
) -> None:
    """Make a random token; print it once, and the gateway.tokens entry that stores only its SHA-256."""
    from cxpulse.producers.gateway_auth import token_digest
    from cxpulse.producers.settings import GatewayToken
    from pydantic import ValidationError

    token = secrets.token_urlsafe(32)
    try:
        entry = GatewayToken(name=name, sha256=token_digest(token))
    except ValidationError:
        raise CxpulseError(f"token name {name!r} must be 1-64 characters of A-Z a-z 0-9 . _ -") from None
    typer.echo(f"token (give it to the client; it is not stored anywhere): {token}")
    typer.echo("add to cxpulse.toml (only the SHA-256 is kept):")
    typer.echo(f'[[gateway.tokens]]\nname = "{entry.name}"\nsha256 = "{entry.sha256}"')


@ingest_app.command("hash-token")
def hash_token() -> None:
    """Read a token on standard input and print its SHA-256, for a gateway.tokens entry."""
    from cxpulse.producers.gateway_auth import token_digest

    token = sys.stdin.readline().strip()
    if not token:
        raise CxpulseError("no token on standard input")
    typer.echo(token_digest(token))
