from pathlib import Path

import pytest

from evgen.errors import ConfigError
from evgen.runtime.config import env_overrides, interpolate, load_config, merge

BASE = """
job: demo
source: {stream: "a.stream:1.0.0", connector: file, options: {path: in.jsonl}}
sink: {stream: "b.stream:1.0.0", connector: file, options: {path: out}}
process: {batch_size: 10}
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_files_merge_left_to_right(tmp_path: Path) -> None:
    a = write(tmp_path, "a.yaml", BASE)
    b = write(tmp_path, "b.yaml", "process: {max_workers: 32}\nsink: {options: {path: other}}\n")
    cfg = load_config([a, b], environ={})
    assert cfg.process.batch_size == 10 and cfg.process.max_workers == 32
    assert cfg.sink.options == {"path": "other"}
    assert cfg.sink.stream == "b.stream:1.0.0"


def test_env_overrides_and_interpolation(tmp_path: Path) -> None:
    a = write(tmp_path, "a.yaml", BASE + "http: {user_agent: '${UA:-evgen-test}', token: '${TOKEN}'}\n")
    cfg = load_config([a], environ={"EVGEN__PROCESS__MAX_WORKERS": "64", "TOKEN": "s3cret"})
    assert cfg.process.max_workers == 64
    assert cfg.http == {"user_agent": "evgen-test", "token": "s3cret"}


def test_missing_env_var_is_one_line_error(tmp_path: Path) -> None:
    a = write(tmp_path, "a.yaml", BASE + "http: {token: '${NOPE_NOT_SET}'}\n")
    with pytest.raises(ConfigError, match=r"NOPE_NOT_SET is not set"):
        load_config([a], environ={})


@pytest.mark.parametrize(
    "extra, message",
    [
        ("bogus: 1\n", r"bogus: unknown key"),
        ("process: {batch_size: 0}\n", r"process.batch_size: Input should be greater than or equal to 1"),
        ("flink: {execution_mode: fibers}\n", r"flink.execution_mode: Input should be 'thread' or 'process'"),
    ],
)
def test_bad_keys_are_named(tmp_path: Path, extra: str, message: str) -> None:
    a = write(tmp_path, "a.yaml", BASE + extra)
    with pytest.raises(ConfigError, match=message) as info:
        load_config([a], environ={})
    assert "\n" not in str(info.value)


def test_invalid_yaml_and_missing_file(tmp_path: Path) -> None:
    bad = write(tmp_path, "bad.yaml", "source: [unclosed\n")
    with pytest.raises(ConfigError, match=r"bad.yaml line \d+ is not valid YAML"):
        load_config([bad], environ={})
    with pytest.raises(ConfigError, match=r"cannot read config file .*missing.yaml"):
        load_config([tmp_path / "missing.yaml"], environ={})
    listy = write(tmp_path, "list.yaml", "- a\n- b\n")
    with pytest.raises(ConfigError, match=r"must hold a mapping, not a list"):
        load_config([listy], environ={})


def test_helpers() -> None:
    assert merge({"a": {"b": 1, "c": 2}}, {"a": {"c": 3}}) == {"a": {"b": 1, "c": 3}}
    assert env_overrides({"EVGEN__A__B_C": "[1, 2]", "OTHER": "x"}) == {"a": {"b_c": [1, 2]}}
    assert interpolate({"x": ["${A}/y"]}, {"A": "z"}) == {"x": ["z/y"]}
