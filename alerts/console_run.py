"""The shell of ``cxpulse console serve``: check what it needs, bind, serve until a signal."""

import asyncio
import logging
from collections.abc import Callable

from aiohttp import web

from cxpulse.errors import CxpulseError
from cxpulse.settings import Settings

from .console_web import ConsoleServer

__all__ = ["run_console"]


def run_console(settings: Settings, say: Callable[[str], None] = print) -> None:
    """Serve the console until SIGTERM or SIGINT; a port in use or a missing token is a one-line error."""
    quiet = logging.getLogger("aiokafka")  # reconnect chatter: the feed logs one line of its own per retry
    quiet.setLevel(max(logging.ERROR, quiet.getEffectiveLevel()))  # never louder than --log-level left it
    server = ConsoleServer(settings)
    console = settings.console
    runner = web.AppRunner(server.app(), access_log=None, handle_signals=True)

    async def main() -> None:
        await runner.setup()
        site = web.TCPSite(runner, console.host, console.port)
        try:
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            raise CxpulseError(f"cannot listen on {console.host}:{console.port}: {exc.strerror} "
                               "(choose another with --port or [console] port)") from None
        say(f"supervisor console on {console_url(settings, _bound_port(site))} "
            f"(alerts from {server.alerts_topic}, agent warnings from {server.warnings_topic}; "
            f"Alertmanager {settings.alerts.alertmanager_url}"
            + ("; bearer token required" if server.protected else "") + ")")
        try:
            await asyncio.Event().wait()  # until a signal ends the loop
        finally:
            await runner.cleanup()

    try:
        asyncio.run(main())
    except (KeyboardInterrupt, web.GracefulExit):
        pass


def _bound_port(site: web.TCPSite) -> int:
    server = site._server  # the asyncio server: the port actually bound (--port 0)
    sockets = getattr(server, "sockets", None) or []
    return sockets[0].getsockname()[1] if sockets else site._port


def console_url(settings: Settings, port: int | None = None) -> str:
    """Where a browser finds the console."""
    host = settings.console.host
    shown = "127.0.0.1" if host in ("0.0.0.0", "") else (f"[{host}]" if ":" in host else host)
    return f"http://{shown}:{port if port is not None else settings.console.port}/"
