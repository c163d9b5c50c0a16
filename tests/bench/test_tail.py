"""bench.tail: the latency probe's file."""

from __future__ import annotations

from pathlib import Path

from bench.tail import read_probe


def test_read_probe_skips_a_line_being_written(tmp_path: Path) -> None:
    probe = tmp_path / "probe.txt"
    assert read_probe(probe) == {}
    probe.write_text("a 1000.500\nb 2000.000\nc 30")
    assert read_probe(probe) == {"a": 1000.5, "b": 2000.0}
