"""Locations: paths, file:// and http(s) URIs, and portable (job-relative) forms."""

from __future__ import annotations

from pathlib import Path

from evgen.uris import is_http, local_path, portable, resolve_against


def test_local_paths(tmp_path: Path) -> None:
    assert local_path(tmp_path.as_uri()) == tmp_path
    assert local_path("a/b", base=tmp_path) == tmp_path / "a" / "b"
    assert local_path("file:///srv/with%20space") == Path("/srv/with space")
    assert is_http("HTTPS://x") and not is_http("file:///x")


def test_portable_round_trip(tmp_path: Path) -> None:
    job = tmp_path / "repo" / "generated_examples" / "job"
    shared = tmp_path / "shared" / "streams.json"
    recorded = portable(str(shared), job)
    assert recorded == "../../../shared/streams.json"
    assert Path(resolve_against(recorded, job)) == shared
    assert portable(shared.as_uri(), job) == recorded
    assert portable("https://example.org/r", job) == "https://example.org/r"
    assert portable("/elsewhere/x", Path("/tmp/job")) == "/elsewhere/x"  # only the root in common: absolute
