"""StreamConfig / StreamConfigs: from a file and from a real Action API server on 127.0.0.1."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from evgen.errors import StreamConfigError
from evgen.streamconfig import StreamConfig, StreamConfigs


def test_file_stream_exposes_stream_config_fields(stream_configs_file: Path) -> None:
    cfg = StreamConfigs.load(str(stream_configs_file)).get("mediawiki.page_change.v1")
    assert cfg == StreamConfig(
        stream="mediawiki.page_change.v1",
        schema_title="mediawiki/page/change",
        topics=("eqiad.mediawiki.page_change.v1", "codfw.mediawiki.page_change.v1"),
        topic_prefixes=("eqiad.", "codfw."),
        destination_event_service="eventgate-main",
        canary_events_enabled=True,
        message_key_fields={"wiki_id": "wiki_id", "page_id": "page.page_id"},
    )


def test_file_uri_and_yaml_are_read(tmp_path: Path, stream_configs_file: Path) -> None:
    import yaml

    data = json.loads(stream_configs_file.read_text())
    yaml_file = tmp_path / "streams.yaml"
    yaml_file.write_text(yaml.safe_dump(data))
    from_yaml = StreamConfigs.load(yaml_file.as_uri()).get("mediawiki.page_content_change.v1")
    from_json = StreamConfigs.load(str(stream_configs_file)).get("mediawiki.page_content_change.v1")
    assert from_yaml == from_json
    assert from_yaml.canary_events_enabled is False


def test_regex_stream_matches_concrete_name_with_concrete_topics(stream_configs_file: Path) -> None:
    cfg = StreamConfigs.load(str(stream_configs_file)).get("mediawiki.job.refreshLinks")
    assert cfg.stream == "mediawiki.job.refreshLinks"
    assert cfg.schema_title == "mediawiki/job"
    assert cfg.topics == ("eqiad.mediawiki.job.refreshLinks", "codfw.mediawiki.job.refreshLinks")


def test_null_topic_prefixes_and_absent_topics() -> None:
    configs = StreamConfigs.from_data(
        {
            "streams": {
                "bare": {"schema_title": "test/event", "topic_prefixes": None},
                "prefixed": {"schema_title": "test/event", "topic_prefixes": ["a.", "b."]},
            }
        }
    )
    bare = configs.get("bare")
    assert bare.topics == ("bare",) and bare.topic_prefixes is None
    assert bare.canary_events_enabled is True and bare.message_key_fields == {}
    assert configs.get("prefixed").topics == ("a.prefixed", "b.prefixed")


def test_snapshot_with_null_prefixes(stream_configs_file: Path) -> None:
    cfg = StreamConfigs.load(str(stream_configs_file)).get("test.event.no_prefix")
    assert cfg.topic_prefixes is None and cfg.topics == ("test.event.no_prefix",)


def test_to_dict_round_trips() -> None:
    cfg = StreamConfig("s", "t", ("a.s",), ("a.",), "eventgate-main", False, {"k": "a.b"})
    assert StreamConfig.from_dict(cfg.to_dict()) == cfg
    assert json.loads(json.dumps(cfg.to_dict())) == cfg.to_dict()


def test_unknown_stream_names_the_config_and_suggests(stream_configs_file: Path) -> None:
    configs = StreamConfigs.load(str(stream_configs_file))
    with pytest.raises(StreamConfigError, match=r"unknown stream 'mediawiki.page_chnage.v1' .*did you mean mediawiki.page_change.v1"):
        configs.get("mediawiki.page_chnage.v1")


@pytest.mark.parametrize(
    ("text", "suffix", "message"),
    [
        ('{"streams": ', ".json", r"invalid JSON in .*streams.json: Expecting value \(line 1, column 13\)"),
        ("streams: [unclosed", ".yaml", r"invalid YAML in .*streams.yaml"),
        ('{"stream": {}}', ".json", r"is not of the form"),
        ('{"streams": {"x": 3}}', ".json", r"entry 'x' is not a mapping"),
    ],
)
def test_invalid_files(tmp_path: Path, text: str, suffix: str, message: str) -> None:
    path = tmp_path / f"streams{suffix}"
    path.write_text(text)
    with pytest.raises(StreamConfigError, match=message):
        StreamConfigs.load(str(path))


def test_malformed_entry_is_reported_on_get() -> None:
    configs = StreamConfigs.from_data({"streams": {"x": {"topic_prefixes": ["a."]}}}, "mem")
    with pytest.raises(StreamConfigError, match=r"stream config mem: stream config entry 'x' has no schema_title"):
        configs.get("x")


def test_missing_file() -> None:
    with pytest.raises(StreamConfigError, match=r"stream config /nonexistent/streams.json not found"):
        StreamConfigs.load("/nonexistent/streams.json")


# -- the MediaWiki Action API, served for real ---------------------------------------------------


def test_api_filters_to_requested_streams(stream_config_server, stream_configs_file: Path) -> None:
    api = stream_config_server(stream_configs_file)
    configs = StreamConfigs.load(api.url, streams=["mediawiki.page_change.v1", "mediawiki.job.foo"])
    assert sorted(configs.names()) == ["/^mediawiki\\.job\\..+/", "mediawiki.page_change.v1"]
    assert configs.get("mediawiki.job.foo").topics == ("eqiad.mediawiki.job.foo", "codfw.mediawiki.job.foo")
    assert configs.get("mediawiki.page_change.v1") == StreamConfigs.load(str(stream_configs_file)).get(
        "mediawiki.page_change.v1"
    )
    (target,) = api.requests
    assert urlsplit(target).path == "/w/api.php"
    assert parse_qs(urlsplit(target).query) == {
        "action": ["streamconfigs"],
        "format": ["json"],
        "streams": ["mediawiki.page_change.v1|mediawiki.job.foo"],
    }


def test_api_without_filter_returns_everything(stream_config_server, stream_configs_file: Path) -> None:
    api = stream_config_server(stream_configs_file)
    expected = json.loads(stream_configs_file.read_text())["streams"]
    assert StreamConfigs.load(api.url).names() == list(expected)


def test_api_error_answer(stream_config_server, stream_configs_file: Path) -> None:
    api = stream_config_server(stream_configs_file)
    with pytest.raises(StreamConfigError, match=r"answered an error: badvalue: Unrecognized value for parameter \"action\""):
        StreamConfigs.load(api.url + "?action=query")


def test_unreachable_api() -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(StreamConfigError, match=rf"stream config http://127.0.0.1:{port}/w/api.php is unreachable: Connection refused"):
        StreamConfigs.load(f"http://127.0.0.1:{port}/w/api.php")


def test_api_answering_non_json(static_file_server, tmp_path: Path) -> None:
    (tmp_path / "api.php").write_text("<html>not json</html>")
    server = static_file_server(tmp_path)
    with pytest.raises(StreamConfigError, match=r"did not answer JSON"):
        StreamConfigs.load(server.url + "/api.php")


def test_api_http_error_status(static_file_server, tmp_path: Path) -> None:
    server = static_file_server(tmp_path)
    with pytest.raises(StreamConfigError, match=r"answered HTTP 404"):
        StreamConfigs.load(server.url + "/w/api.php")


def test_a_stream_name_that_is_not_a_string_is_one_error() -> None:
    with pytest.raises(StreamConfigError, match=r"^stream config <memory>: stream name 123 is not a string$"):
        StreamConfigs.from_data({"streams": {123: {"schema_title": "t/x"}}})


def test_a_stream_config_url_that_does_not_parse_is_one_error() -> None:
    with pytest.raises(StreamConfigError, match=r"^stream config http://\[bad/w/api.php is not a valid URL: "):
        StreamConfigs.load("http://[bad/w/api.php")
