"""``trilink alerts | warnings | inspect | topics`` against the real broker."""

from __future__ import annotations

import json
from collections.abc import Sequence

import pytest
from typer.testing import CliRunner, Result

from cli import main as cli_main
from tests.conftest import KafkaEndpoint
from tests.factories import make_alert, make_warning
from trilink.codec import Codec, Framing
from trilink.config import KafkaConfig, Topics
from trilink.kafka import ResilientProducer, producer_config
from trilink.model import Nation
from trilink.registry import StaticSchemaIds
from trilink.timeutil import iso


@pytest.fixture(scope="module")
def cli() -> CliRunner:
    cli_main._load()
    return CliRunner()


def _run(cli: CliRunner, kafka: KafkaEndpoint, *args: str) -> Result:
    return cli.invoke(cli_main.app, [*args, "--bootstrap-servers", kafka.bootstrap_servers])


def _produce(kafka_config: KafkaConfig, topic: str, values: Sequence[bytes]) -> None:
    with ResilientProducer(producer_config(kafka_config)) as producer:
        for value in values:
            producer.produce(topic, value, key=b"k", partition=0)
        assert producer.flush(10) == 0


def _one_line_error(result: Result) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.output
    return lines[0]


@pytest.fixture(scope="module")
def codec() -> Codec:
    return Codec()


def test_alerts_reads_what_is_there_as_json_without_duplicates(
    cli: CliRunner, kafka: KafkaEndpoint, kafka_config: KafkaConfig, topics: Topics, codec: Codec
) -> None:
    values = [codec.encode(make_alert(version=v)) for v in (1, 2, 2, 3)]
    _produce(kafka_config, topics.alerts, [*values, b"not avro"])
    result = _run(cli, kafka, "alerts", "--topic", topics.alerts, "--json")
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["version"] for r in rows] == [1, 2, 3]
    assert rows[0]["alert_us"] == iso(make_alert().alert_us)
    assert rows[0]["contributors"][0]["nation"] == "KOR"
    assert "skipped" in result.stderr and "unknown framing" in result.stderr


def test_alerts_follow_prints_one_line_per_update_off_a_terminal(
    cli: CliRunner, kafka: KafkaEndpoint, kafka_config: KafkaConfig, topics: Topics, codec: Codec
) -> None:
    _produce(kafka_config, topics.alerts, [codec.encode(make_alert(version=v)) for v in (1, 2)])
    result = _run(
        cli,
        kafka,
        "alerts",
        "--topic",
        topics.alerts,
        "--follow",
        "--from-beginning",
        "--max",
        "2",
        "--timeout",
        "20",
    )
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 2
    assert "SYS-0001  v1" in lines[0] and "by KOR+JPN" in lines[0]


def test_alerts_since_a_time_and_bad_arguments(
    cli: CliRunner, kafka: KafkaEndpoint, kafka_config: KafkaConfig, topics: Topics, codec: Codec
) -> None:
    _produce(kafka_config, topics.alerts, [codec.encode(make_alert(version=7))])
    since = _run(cli, kafka, "alerts", "--topic", topics.alerts, "--since", "1h", "--json")
    assert since.exit_code == 0, since.output
    assert [json.loads(line)["version"] for line in since.stdout.splitlines()] == [7]
    bad = _run(cli, kafka, "alerts", "--topic", topics.alerts, "--since", "last tuesday")
    assert bad.exit_code == 2
    assert "--since" in _one_line_error(bad)
    both = _run(cli, kafka, "alerts", "--from-beginning", "--since", "1h")
    assert both.exit_code == 2
    _one_line_error(both)


def test_alerts_on_a_missing_topic_fails_in_one_line(cli: CliRunner, kafka: KafkaEndpoint) -> None:
    result = _run(cli, kafka, "alerts", "--topic", "no-such-topic-here")
    assert result.exit_code == 1
    assert "no-such-topic-here" in _one_line_error(result)


def test_warnings_of_one_nation(
    cli: CliRunner, kafka: KafkaEndpoint, kafka_config: KafkaConfig, topics: Topics, codec: Codec
) -> None:
    jpn = [
        make_warning(nation=Nation.JPN, track_id="JPN-0003", sequence=s, message_id=f"m{s}")
        for s in (1, 2)
    ]
    _produce(kafka_config, topics.warnings_jpn, [codec.encode(w) for w in jpn])
    result = _run(cli, kafka, "warnings", "--nation", "jpn", "--topic", topics.warnings_jpn)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 2
    assert all("JPN  JPN-0003" in line for line in lines)
    assert "#1" in lines[0] and "#2" in lines[1]
    as_json = _run(cli, kafka, "warnings", "-n", "JPN", "--topic", topics.warnings_jpn, "--json")
    assert [json.loads(line)["sequence"] for line in as_json.stdout.splitlines()] == [1, 2]


def test_warnings_rejects_an_unknown_nation(cli: CliRunner, kafka: KafkaEndpoint) -> None:
    result = _run(cli, kafka, "warnings", "--nation", "PRK")
    assert result.exit_code == 2
    assert "PRK" in _one_line_error(result)


def test_inspect_decodes_both_framings_and_says_why_not(
    cli: CliRunner, kafka: KafkaEndpoint, kafka_config: KafkaConfig, topics: Topics, codec: Codec
) -> None:
    confluent = Codec(framing=Framing.CONFLUENT, ids=StaticSchemaIds())
    values = [
        codec.encode(make_warning()),
        confluent.encode(make_warning(sequence=9)),
        b"\xc3\x01" + b"\x00" * 8 + b"body",
    ]
    _produce(kafka_config, topics.dead_letter, values)
    result = _run(cli, kafka, "inspect", topics.dead_letter, "--json", "--count", "5")
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["offset"] for r in rows] == [0, 1, 2]
    assert rows[0]["schema"] == "trilink.v1.MissileWarning"
    assert rows[0]["record"]["sequence"] == 3
    assert rows[0]["framing"].startswith("single-object fingerprint")
    # No registry was given, so the CLI cannot resolve the Confluent schema id.
    assert rows[1]["framing"].startswith("confluent schema id")
    assert rows[1]["error"]["type"] == "unknown-schema"
    assert rows[2]["error"] == {
        "type": "unknown-schema",
        "reason": "unknown schema fingerprint 0000000000000000",
    }
    text = _run(cli, kafka, "inspect", topics.dead_letter, "--offset", "-1", "--partition", "0")
    assert text.exit_code == 0, text.output
    assert "@2" in text.stdout and "cannot decode (unknown-schema)" in text.stdout
    bad = _run(cli, kafka, "inspect", topics.dead_letter, "--partition", "7")
    assert bad.exit_code == 1
    assert "no partition 7" in _one_line_error(bad)


def test_topics_lists_partitions_and_end_offsets(
    cli: CliRunner, kafka: KafkaEndpoint, kafka_config: KafkaConfig, topics: Topics, codec: Codec
) -> None:
    _produce(kafka_config, topics.launches, [b"x"])
    result = _run(cli, kafka, "topics", "--json")
    assert result.exit_code == 0, result.output
    listed = {t["name"]: t for t in json.loads(result.stdout)["topics"]}
    assert listed[topics.launches]["partitions"] == 3
    assert sum(listed[topics.launches]["end_offsets"]) >= 1
    assert not any(name.startswith("__") for name in listed)
    table = _run(cli, kafka, "topics")
    assert table.exit_code == 0 and topics.alerts in table.stdout


@pytest.mark.parametrize("command", [["alerts"], ["topics"]])
def test_an_unreachable_broker_is_one_line_and_a_failure(
    cli: CliRunner, command: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRILINK_CONNECT_TIMEOUT_S", "0.5")
    result = cli.invoke(cli_main.app, [*command, "--bootstrap-servers", "127.0.0.1:1"])
    assert result.exit_code == 1
    assert "cannot reach Kafka at 127.0.0.1:1" in _one_line_error(result)


def test_consumers_need_a_cluster(cli: CliRunner, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KAFKA_BOOTSTRAP_SERVERS", raising=False)
    result = cli.invoke(cli_main.app, ["alerts"])
    assert result.exit_code == 2
    assert "--bootstrap-servers" in _one_line_error(result)
