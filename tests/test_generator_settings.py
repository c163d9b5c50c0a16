"""evgen.settings — generator defaults: options over EVGEN_* variables over ~/.config/evgen/config.yaml.

(Named test_generator_settings.py: tests/http/test_settings.py holds the HTTP settings tests.)
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from evgen.errors import ConfigError
from evgen.settings import config_path, load_settings


def test_precedence(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("stream_config: streams.json\nschema_uris: [repo, https://example.org/repo]\n")
    env = {"EVGEN_CONFIG": str(config)}
    from_file = load_settings(env=env)
    assert from_file.stream_config == str(tmp_path / "streams.json")
    assert from_file.schema_uris == [str(tmp_path / "repo"), "https://example.org/repo"]
    env |= {"EVGEN_STREAM_CONFIG": "https://meta.example.org/w/api.php", "EVGEN_SCHEMA_URIS": "a, b"}
    from_env = load_settings(env=env)
    assert (from_env.stream_config, from_env.schema_uris) == ("https://meta.example.org/w/api.php", ["a", "b"])
    explicit = load_settings(stream_config="x.json", schema_uris=["c"], env=env)
    assert (explicit.stream_config, explicit.schema_uris) == ("x.json", ["c"])


def test_default_path_follows_xdg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert config_path({}) == tmp_path / "evgen" / "config.yaml"
    (tmp_path / "evgen").mkdir()
    (tmp_path / "evgen" / "config.yaml").write_text("stream_config: /srv/s.json\n")
    assert load_settings(env={}).stream_config == "/srv/s.json"


def test_require_says_how_to_configure(tmp_path: Path) -> None:
    (tmp_path / "none.yaml").touch()
    env = {"EVGEN_CONFIG": str(tmp_path / "none.yaml")}
    with pytest.raises(ConfigError, match=r"no stream config: pass --stream-config URI, set EVGEN_STREAM_CONFIG, or put 'stream_config:' in .*none.yaml"):
        load_settings(env=env).require()
    with pytest.raises(ConfigError, match=r"no schema repository: pass --schema-uri URI, set EVGEN_SCHEMA_URIS"):
        load_settings(stream_config="s.json", env=env).require()
    assert load_settings(stream_config="s.json", schema_uris=["r"], env=env).require() == ("s.json", ["r"])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("stream_config: [", r"evgen config: invalid YAML in .*config.yaml"),
        ("- a", r"must be a mapping"),
        ("streams: x", r"unknown key\(s\) streams"),
        ("schema_uris: {a: 1}", r"schema_uris must be a list of strings"),
        ("stream_config: 3", r"stream_config must be a string"),
    ],
)
def test_invalid_config_file(tmp_path: Path, text: str, message: str) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_settings(env={"EVGEN_CONFIG": str(config)})


def test_a_config_file_named_by_the_environment_must_exist(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"^evgen config .*missing.yaml \(named by EVGEN_CONFIG\) does not exist$"):
        load_settings(stream_config="s.json", env={"EVGEN_CONFIG": str(tmp_path / "missing.yaml")})
    assert load_settings(env={"EVGEN_CONFIG": os.devnull}).stream_config is None
