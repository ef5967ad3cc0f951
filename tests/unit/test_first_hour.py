"""The first hour of a new user: help, flags, log levels, quiet libraries, one-line errors.

Nothing here needs a broker: each mistake is found before Kafka is asked anything.
"""

import io
import logging
import re
import socket
import warnings

import pytest
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn

from cxpulse import logs
from cxpulse.cli import build_command, main
from cxpulse.demo import namespaced
from cxpulse.processors.worker.faustapp.cli import crash_message
from cxpulse.settings import Settings

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


@pytest.fixture(autouse=True)
def clean(clean_env, monkeypatch):
    monkeypatch.setenv("COLUMNS", "120")
    yield
    logs.configure_logging(logging.WARNING)


def cxpulse(capsys, *argv: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exited:
        main(list(argv))
    out, err = capsys.readouterr()
    return exited.value.code, out, err


def _command_paths(command, path=()):
    yield path
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        yield from _command_paths(sub, (*path, name))


COMMANDS = list(_command_paths(build_command()))


def test_bare_cxpulse_prints_help_and_no_error(capsys):
    code, out, err = cxpulse(capsys)

    assert code == 0
    assert "Usage: cxpulse" in out and "Commands" in out
    assert err == ""


def test_a_bare_group_prints_its_help_and_no_error(capsys):
    code, out, err = cxpulse(capsys, "kafka")

    assert code == 0 and "Usage: cxpulse kafka" in out and err == ""


@pytest.mark.parametrize("path", COMMANDS, ids=lambda path: " ".join(path) or "cxpulse")
def test_boolean_flags_show_as_flags_in_help(capsys, path):
    code, out, _ = cxpulse(capsys, *path, "--help")

    assert code == 0
    assert "<bool>" not in out, f"cxpulse {' '.join(path)} --help shows a flag as taking a value"
    assert "--help" in out


def test_every_log_level_option_is_spelled_log_level():
    for path in COMMANDS:
        command = build_command()
        for name in path:
            command = command.commands[name]
        for param in command.params:
            names = [*param.opts, *getattr(param, "secondary_opts", [])]
            if any("loglevel" in n.replace("-", "").replace("_", "") for n in names):
                assert "--log-level" in names, f"cxpulse {' '.join(path)}: {names}"


@pytest.mark.parametrize("argv", [["--log-level", "loud", "topics", "list"], ["worker", "--log-level", "loud"],
                                  ["worker", "--loglevel", "loud"]], ids=["root", "worker", "worker-alias"])
def test_a_bad_log_level_is_one_line(capsys, argv):
    code, out, err = cxpulse(capsys, *argv)

    assert code == 1 and out == ""
    assert err == "cxpulse: error: --log-level must be one of debug, info, warning, error, not 'loud'\n"


def test_a_bad_log_level_from_the_environment_names_the_variable(capsys, monkeypatch):
    monkeypatch.setenv("CXPULSE_LOG_LEVEL", "loud")

    code, _, err = cxpulse(capsys, "topics", "list")

    assert code == 1 and err.startswith("cxpulse: error: CXPULSE_LOG_LEVEL='loud': it must be one of debug")


def _lines_at(level: int, capsys) -> str:
    logs.configure_logging(level)
    for name in ("kafka.net.manager", "aiokafka.conn", "faust.worker", "mode.services"):
        logging.getLogger(name).warning("connection refused (library)")
        logging.getLogger(name).error("bootstrap failed (library)")
    logging.getLogger("cxpulse.test").warning("our own warning")
    return capsys.readouterr().err


def test_library_lines_stay_out_of_the_default_output(capsys):
    err = _lines_at(logging.WARNING, capsys)

    assert "(library)" not in err
    assert err.count("our own warning") == 1


def test_info_lets_library_warnings_through_and_debug_everything(capsys):
    info = _lines_at(logging.INFO, capsys)
    logging.getLogger("kafka.conn").debug("debug chatter (library)")
    info += capsys.readouterr().err
    debug = _lines_at(logging.DEBUG, capsys)
    logging.getLogger("kafka.conn").debug("debug chatter (library)")
    debug += capsys.readouterr().err

    assert info.count("connection refused (library)") == 4 and "debug chatter" not in info
    assert "debug chatter (library)" in debug


def test_python_warnings_go_through_the_log_handler(capsys):
    with warnings.catch_warnings():  # pytest records warnings itself; let them be shown here
        warnings.simplefilter("always")
        logging.captureWarnings(False)
        logs.configure_logging(logging.WARNING)
        warnings.warn("a runtime warning from somewhere", RuntimeWarning, stacklevel=1)
        logging.captureWarnings(False)

    err = capsys.readouterr().err
    assert "WARNING py.warnings:" in err and "a runtime warning from somewhere" in err


def _progress_with_a_log_line(handler: logging.Handler, out: io.StringIO, console: Console) -> list[str]:
    logger = logging.getLogger("cxpulse.progress-test")
    logger.propagate = False
    logger.addHandler(handler)
    try:
        progress = Progress(TextColumn("replaying"), BarColumn(), console=console, auto_refresh=False)
        with progress:
            task = progress.add_task("replaying", total=10)
            progress.advance(task, 5)
            progress.refresh()
            logger.warning("a warning while the bar is drawn")
            progress.advance(task, 5)
            progress.refresh()
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    return [line for line in ANSI.sub("", out.getvalue()).replace("\r", "\n").splitlines() if line.strip()]


def test_a_log_line_does_not_tear_a_progress_bar(monkeypatch):
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=100)
    monkeypatch.setattr(logs, "err_console", console)
    handler = logs.ConsoleHandler()
    handler.setFormatter(logging.Formatter(logs.FORMAT))

    lines = _progress_with_a_log_line(handler, out, console)

    logged = [line for line in lines if "a warning while the bar is drawn" in line]
    assert len(logged) == 1 and re.match(r"^\d{4}-\d\d-\d\d .* WARNING cxpulse.progress-test: a warning", logged[0])
    assert "━" not in logged[0]


def test_the_old_stream_handler_did_tear_it():
    # The handler before: logging.basicConfig's StreamHandler writes past the console.
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=100)
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter(logs.FORMAT))

    lines = _progress_with_a_log_line(handler, out, console)

    logged = [line for line in lines if "a warning while the bar is drawn" in line]
    assert logged and "━" in logged[0]  # the bar and the log line share a line


def test_worker_with_its_web_port_in_use_is_one_line(capsys, tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, out, err = cxpulse(capsys, "worker", "--web-port", str(port), "--data-dir", str(tmp_path / "w"))

    assert code == 1 and out == ""
    assert err == (f"cxpulse: error: port {port} on 127.0.0.1 is in use (another worker?); give the worker "
                   "another with --web-port or CXPULSE_WORKER__WEB_PORT\n")


@pytest.mark.parametrize("kind", ["file", "under-a-file"])
def test_worker_with_an_unusable_data_dir_is_one_line(capsys, tmp_path, kind):
    (tmp_path / "a-file").write_text("x")
    target = tmp_path / "a-file" if kind == "file" else tmp_path / "a-file" / "worker"

    code, out, err = cxpulse(capsys, "worker", "--data-dir", str(target))

    assert code == 1 and out == ""
    assert err.startswith(f"cxpulse: error: --data-dir {target}: ") and err.count("\n") == 1


def test_a_worker_that_crashes_on_a_taken_port_says_so_in_one_line():
    import errno

    settings = Settings(worker={"web_port": 7777})
    taken = OSError(errno.EADDRINUSE, "error while attempting to bind on address: address already in use")

    assert crash_message(taken, settings).startswith("port 7777 on 127.0.0.1 is in use")
    assert crash_message(RuntimeError("boom"), settings) == (
        "the worker stopped: RuntimeError: boom (--log-level info shows more)")


def test_the_demo_uses_its_own_topics_and_groups():
    settings = Settings()

    demo, env = namespaced(settings, "cxpulse-demo")

    assert demo.topics.events == "cxpulse-demo.cx.events" and demo.topics.dlq == "cxpulse-demo.cx.events.dlq"
    assert demo.worker.app_id == "cxpulse-demo" and demo.alerts.group_id == "cxpulse-demo-alert-router"
    assert demo.archive.group_id == "cxpulse-demo-archive"
    mine = {settings.worker.app_id, settings.alerts.group_id, settings.archive.group_id,
            settings.topics.events, settings.topics.alerts, settings.topics.scores, settings.topics.dlq}
    theirs = {demo.worker.app_id, demo.alerts.group_id, demo.archive.group_id,
              demo.topics.events, demo.topics.alerts, demo.topics.scores, demo.topics.dlq}
    assert not mine & theirs
    assert env["CXPULSE_TOPICS__EVENTS"] == "cxpulse-demo.cx.events" and env["CXPULSE_WORKER__APP_ID"] == "cxpulse-demo"


def test_the_demos_variables_load_as_its_settings(monkeypatch):
    demo, env = namespaced(Settings(), "cxpulse-demo")
    for name, value in env.items():
        monkeypatch.setenv(name, value)

    from cxpulse.settings import load_settings

    assert load_settings() == demo


def test_an_empty_namespace_keeps_the_configured_names():
    settings = Settings()

    assert namespaced(settings, "") == (settings, {})


def test_the_demos_default_namespace_is_on():
    from cxpulse.demo import DemoOptions

    assert DemoOptions().namespace == "cxpulse-demo"


def test_cannot_reach_kafka_is_one_line(capsys, monkeypatch):
    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", f"127.0.0.1:{port}")

    code, out, err = cxpulse(capsys, "topics", "list", "--timeout", "1")

    assert code == 1 and out == ""
    assert err.startswith(f"cxpulse: error: cannot reach Kafka at 127.0.0.1:{port}") and err.count("\n") == 1


def test_the_demos_router_console_and_backtest_read_its_own_topics(tmp_path, monkeypatch):
    import io

    from rich.console import Console

    from cxpulse.alerts.console_web import ConsoleServer
    from cxpulse.demo import Demo, DemoOptions
    from cxpulse.settings import load_settings

    demo = Demo(Settings(), DemoOptions(run_dir=tmp_path), Console(file=io.StringIO()))
    for name, value in demo.names.items():
        assert demo.children.env[name] == value  # what `alerts route` and `console serve` are started with
        monkeypatch.setenv(name, value)
    child = load_settings()  # as the router and the console load their settings

    assert child.topics.alerts == "cxpulse-demo.cx.alerts" and child.alerts.group_id == "cxpulse-demo-alert-router"
    assert ConsoleServer(child, background=False).alerts_topic == "cxpulse-demo.cx.alerts"
    assert ConsoleServer(child, background=False).feed.topics[0] == "cxpulse-demo.cx.alerts"
    assert demo.settings.topics.events == "cxpulse-demo.cx.events"  # the summary's backtest reads these events
