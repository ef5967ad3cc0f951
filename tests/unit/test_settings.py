"""load_settings: TOML file, environment, KAFKA_BOOTSTRAP_SERVERS, and one-line errors."""

from pathlib import Path

import pytest

from cxpulse.cli import main
from cxpulse.errors import ConfigError
from cxpulse.settings import Settings, load_settings


pytestmark = pytest.mark.usefixtures("clean_env")  # tests/unit/conftest.py


def write(tmp_path: Path, text: str, name: str = "cx.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_without_a_file():
    settings = load_settings()

    assert settings.kafka.bootstrap_servers == "127.0.0.1:9092"
    assert settings.topics.partitions == 6
    assert settings.topics.scores == "cx.scores"


def test_toml_file_sets_values(tmp_path):
    path = write(tmp_path, '[kafka]\nbootstrap_servers = "k1:9092,k2:9092"\n[topics]\npartitions = 12\n')

    settings = load_settings(path)

    assert settings.kafka.bootstrap_servers == "k1:9092,k2:9092"
    assert settings.topics.partitions == 12
    assert settings.topics.events == "cx.events"


def test_nested_tables(tmp_path):
    path = write(tmp_path, "[engine.weights]\ncomplaint = 30\n")

    assert load_settings(path).engine.weights.complaint == 30


def test_cxpulse_toml_in_the_working_directory_is_read(tmp_path):
    write(tmp_path, "[topics]\npartitions = 3\n", name="cxpulse.toml")

    assert load_settings().topics.partitions == 3


def test_cxpulse_config_env_names_the_file(tmp_path, monkeypatch):
    monkeypatch.setenv("CXPULSE_CONFIG", str(write(tmp_path, "[topics]\npartitions = 2\n")))

    assert load_settings().topics.partitions == 2


def test_environment_beats_the_file(tmp_path, monkeypatch):
    path = write(tmp_path, '[topics]\npartitions = 12\nevents = "file.events"\n')
    monkeypatch.setenv("CXPULSE_TOPICS__PARTITIONS", "4")

    settings = load_settings(path)

    assert settings.topics.partitions == 4
    assert settings.topics.events == "file.events"


def test_kafka_bootstrap_servers_env_sets_the_address_and_keeps_the_rest(tmp_path, monkeypatch):
    path = write(tmp_path, '[kafka]\nbootstrap_servers = "file:9092"\nclient_id = "from-file"\n')
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "env:29092")

    settings = load_settings(path)

    assert settings.kafka.bootstrap_servers == "env:29092"
    assert settings.kafka.client_id == "from-file"


def test_explicit_arguments_beat_everything(monkeypatch):
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "env:29092")

    assert load_settings(kafka={"bootstrap_servers": "arg:1"}).kafka.bootstrap_servers == "arg:1"


def test_secrets_are_hidden_in_repr(monkeypatch):
    monkeypatch.setenv("CXPULSE_KAFKA__SASL_PASSWORD", "s3cret")

    settings = load_settings()

    assert settings.kafka.sasl_password.get_secret_value() == "s3cret"
    assert "s3cret" not in repr(settings)


def test_broker_paths_expand_the_home_directory(tmp_path):
    path = write(tmp_path, '[broker]\ndata_dir = "~/kafka-data"\n')

    assert load_settings(path).broker.data_dir == Path.home() / "kafka-data"


def test_settings_are_frozen():
    with pytest.raises(ValueError):
        load_settings().topics.partitions = 1  # type: ignore[misc]


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("[topics]\npartitions = 0\n", "invalid setting topics.partitions: Input should be greater than or equal to 1"),
        ('[topics]\npartitions = "many"\n', "invalid setting topics.partitions"),
        ("[topics]\nshards = 3\n", "invalid setting topics.shards: Extra inputs are not permitted"),
        ("[nonsense]\nx = 1\n", "invalid setting nonsense"),
        ('[kafka]\nsecurity_protocol = "TLS"\n', "invalid setting kafka.security_protocol"),
        ("[topics\npartitions = 3\n", "cannot read config file"),
        ("partitions = = 3\n", "cannot read config file"),
    ],
    ids=["out-of-range", "wrong-type", "unknown-field", "unknown-section", "bad-choice", "bad-header", "bad-syntax"],
)
def test_bad_file_is_a_one_line_config_error(tmp_path, text, fragment):
    with pytest.raises(ConfigError) as caught:
        load_settings(write(tmp_path, text))

    assert fragment in str(caught.value)
    assert "\n" not in str(caught.value)


def test_bad_environment_value_is_a_config_error(monkeypatch):
    monkeypatch.setenv("CXPULSE_BROKER__PORT", "99999")

    with pytest.raises(ConfigError, match="broker.port"):
        load_settings()


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("CXPULSE_TOPICS__PARTITIONS", "abc", "CXPULSE_TOPICS__PARTITIONS='abc': topics.partitions expects an integer >= 1"),
        ("CXPULSE_BROKER__PORT", "99999", "CXPULSE_BROKER__PORT='99999': broker.port expects an integer from 1 to 65535"),
        ("CXPULSE_KAFKA__SECURITY_PROTOCOL", "TLS",
         "CXPULSE_KAFKA__SECURITY_PROTOCOL='TLS': kafka.security_protocol expects one of 'PLAINTEXT', 'SSL'"),
        ("CXPULSE_WORKER__UVLOOP", "maybe", "CXPULSE_WORKER__UVLOOP='maybe': worker.uvloop expects true or false"),
        ("CXPULSE_ENGINE__WEIGHTS__COMPLAINT", "lots",
         "CXPULSE_ENGINE__WEIGHTS__COMPLAINT='lots': engine.weights.complaint expects a number"),
        ("cxpulse_topics__partitions", "0", "cxpulse_topics__partitions='0': topics.partitions expects an integer >= 1"),
        ("KAFKA_BOOTSTRAP_SERVERS", ",,", "KAFKA_BOOTSTRAP_SERVERS=',,': kafka.bootstrap_servers"),
        ("KAFKA_BOOTSTRAP_SERVERS", "kafka-1", "must be a comma-separated list of host:port"),
        ("CXPULSE_METRICS__SERVICE_TYPES", "billing",
         "CXPULSE_METRICS__SERVICE_TYPES='billing': not valid JSON; lists and tables from the environment are JSON"),
        ("CXPULSE_KAFKA", '{"adress": "x:1"}', """CXPULSE_KAFKA='{"adress": "x:1"}': kafka has no setting 'adress'"""),
        ("CXPULSE_TOPIC__EVENTS", "x", "CXPULSE_TOPIC__EVENTS is not a setting: variables are CXPULSE_<SECTION>__<FIELD>"),
        ("CXPULSE_TOPICS__PARTITION", "3", "CXPULSE_TOPICS__PARTITION is not a setting"),
    ],
    ids=["int", "range", "choice", "bool", "nested", "lower-case", "empty-address", "no-port", "list-json",
         "section-json", "unknown-section", "unknown-field"],
)
def test_a_bad_environment_variable_is_named_with_what_it_expects(monkeypatch, variable, value, message):
    monkeypatch.setenv(variable, value)

    with pytest.raises(ConfigError) as caught:
        load_settings()

    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_secret_from_the_environment_is_not_echoed(monkeypatch):
    monkeypatch.setenv("CXPULSE_GATEWAY__TOKENS", '[{"name": "a", "token": "short-secret"}]')

    with pytest.raises(ConfigError) as caught:
        load_settings()

    assert "short-secret" not in str(caught.value) and "CXPULSE_GATEWAY__TOKENS='***'" in str(caught.value)


def test_variables_that_are_no_settings_path_are_left_alone(monkeypatch):
    monkeypatch.setenv("CXPULSE_TOKEN", "not a setting, a user's shell variable")
    monkeypatch.setenv("CXPULSE_HYPOTHESIS_EXAMPLES", "5")

    assert load_settings() == Settings()


def test_the_cli_names_a_bad_variable_in_one_line(monkeypatch, capsys):
    monkeypatch.setenv("CXPULSE_TOPICS__PARTITIONS", "many")

    with pytest.raises(SystemExit) as exited:
        main(["topics", "list"])

    err = capsys.readouterr().err
    assert exited.value.code == 1
    assert err.startswith("cxpulse: error: CXPULSE_TOPICS__PARTITIONS='many': topics.partitions expects an integer")
    assert err.count("\n") == 1


def test_missing_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="config file .* does not exist"):
        load_settings(tmp_path / "nope.toml")


def test_missing_file_from_env_is_a_config_error(tmp_path, monkeypatch):
    monkeypatch.setenv("CXPULSE_CONFIG", str(tmp_path / "nope.toml"))

    with pytest.raises(ConfigError, match="does not exist"):
        load_settings()


def test_cli_reports_a_bad_file_in_one_line(tmp_path, capsys):
    path = write(tmp_path, "[topics]\npartitions = -1\n")

    with pytest.raises(SystemExit) as exited:
        main(["--config", str(path), "topics", "create"])

    err = capsys.readouterr().err
    assert exited.value.code == 1
    assert err.startswith("cxpulse: error: invalid setting topics.partitions")
    assert err.count("\n") == 1 and "Traceback" not in err


def test_defaults_equal_a_fresh_settings_object():
    assert load_settings() == Settings()
