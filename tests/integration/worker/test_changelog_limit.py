"""A changelog topic that exists already with a limit below the largest state record.

The settings refuse a ``worker.changelog_max_message_bytes`` below the largest state record
(docs/rules.md, "Limits"), but that setting only reaches topics the worker creates: a
changelog made earlier (before the setting, or by hand) keeps its own ``max.message.bytes``,
and a record over it would stop the worker some day. The worker checks the limit in force on
the real broker at start and refuses in one line, before consuming anything.
"""

import pytest

from cxpulse.processors.engine.limits import state_bounds
from cxpulse.topics import TopicSpec, ensure_topics, message_limits

from .conftest import WorkerProcess, with_reader

pytestmark = pytest.mark.timeout(180)

SMALL = 1_048_588  # Kafka's default, below the default settings' largest state record


def test_a_changelog_topic_with_a_smaller_limit_is_refused_at_start_and_accepted_once_raised(
        settings_factory, config_file_factory, tmp_path, worker_factory, wait_for):
    from kafka.admin import ConfigResource, ConfigResourceType

    from cxpulse.topics import admin_client

    settings = with_reader(settings_factory(partitions=2))
    changelog = f"{settings.worker.app_id}-customer_to_state-changelog"
    ensure_topics(settings.kafka, [TopicSpec(changelog, 2, 1, {"cleanup.policy": "compact", "max.message.bytes": str(SMALL)})])
    need = state_bounds(settings.engine).record_bytes
    assert SMALL < need <= settings.worker.changelog_max_message_bytes
    assert message_limits(settings.kafka, [changelog, "no-such-topic"]) == {changelog: SMALL}

    worker = WorkerProcess(settings, config_file_factory(settings), tmp_path / "refused.log")
    try:
        wait_for(lambda: worker.process.poll() is not None, timeout=90, message="the worker refused to start")
    finally:
        worker.stop()
    assert worker.process.returncode != 0
    log = worker.log()
    lines = [line for line in log.splitlines() if f"changelog topic {changelog}" in line]
    assert len(lines) == 1, log
    assert f"{SMALL:,} bytes" in lines[0] and f"{need:,} bytes" in lines[0]
    assert f"--entity-name {changelog} --add-config max.message.bytes={settings.worker.changelog_max_message_bytes}" in lines[0]
    assert "Traceback" not in log

    with admin_client(settings.kafka) as admin:
        admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, changelog,
                                            configs={"cleanup.policy": "compact",
                                                     "max.message.bytes": str(settings.worker.changelog_max_message_bytes)})])
    started = worker_factory(settings)  # ready: partitions assigned
    assert started.health()["assigned_partitions"] > 0
