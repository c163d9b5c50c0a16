"""JSON/YAML reading: timestamps stay strings, errors are one line with a position."""

from __future__ import annotations

import pytest

from evgen.jsonyaml import loads


def test_yaml_timestamps_stay_strings() -> None:
    assert loads("dt: 2021-01-01T00:00:00Z\nd: 2021-01-01\nn: 1.5\nb: true", "x.yaml") == {
        "dt": "2021-01-01T00:00:00Z", "d": "2021-01-01", "n": 1.5, "b": True,
    }  # fmt: skip


def test_errors() -> None:
    with pytest.raises(ValueError, match=r"^invalid JSON in a.json: Expecting ',' delimiter \(line 1, column 9\)$"):
        loads('{"a": 1 "b": 2}', "a.json")
    with pytest.raises(ValueError, match=r"^invalid YAML in a.yaml: .* \(line 2, column 1\)$"):
        loads("a: [1,\n", "a.yaml")
    with pytest.raises(ValueError, match=r"a.yaml is not UTF-8 text"):
        loads(b"\xff\xfe", "a.yaml")
