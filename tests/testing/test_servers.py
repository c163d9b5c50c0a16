"""The test HTTP servers: a static file server following text symlinks, a streamconfigs Action API."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests

from evgen.testing.servers import StaticFileServer, StreamConfigServer


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "1.0.0.yaml").write_text("title: s\n")
    (tmp_path / "s" / "1.0.0").write_text("1.0.0.yaml")
    (tmp_path / "s" / "latest").write_text("1.0.0")  # a pointer to a pointer
    (tmp_path / "s" / "dangling").write_text("9.9.9.yaml")
    (tmp_path / "outside.txt").write_text("secret")
    return tmp_path


def test_static_server_follows_text_symlinks(tree: Path) -> None:
    with StaticFileServer(tree / "s") as server:
        for path in ("/1.0.0.yaml", "/1.0.0", "/latest"):
            response = requests.get(server.url + path, timeout=5)
            assert (response.status_code, response.text) == (200, "title: s\n")
        assert requests.get(server.url + "/1.0.0.yaml", timeout=5).headers["Content-Type"] == "application/yaml"
        assert requests.get(server.url + "/dangling", timeout=5).text == "9.9.9.yaml"
        assert server.requests == ["/1.0.0.yaml", "/1.0.0", "/latest", "/1.0.0.yaml", "/dangling"]


def test_static_server_without_following(tree: Path) -> None:
    with StaticFileServer(tree / "s", follow_text_symlinks=False) as server:
        assert requests.get(server.url + "/1.0.0", timeout=5).text == "1.0.0.yaml"


def test_static_server_404s(tree: Path) -> None:
    with StaticFileServer(tree / "s") as server:
        assert requests.get(server.url + "/missing", timeout=5).status_code == 404
        assert requests.get(server.url + "/", timeout=5).status_code == 404  # no listings
        assert requests.get(server.url + "/../outside.txt", timeout=5).status_code == 404
        assert requests.get(server.url + "/%2e%2e/outside.txt", timeout=5).status_code == 404


def test_static_server_serves_the_primary_repo_with_symlinks(primary_schema_server: StaticFileServer, primary_schema_repo: Path) -> None:
    body = requests.get(primary_schema_server.url + "/mediawiki/page/change/latest", timeout=5).text
    assert body == (primary_schema_repo / "mediawiki/page/change/1.2.0.yaml").read_text()


def test_fixture_factories(static_file_server, stream_config_server, tree: Path) -> None:
    files = static_file_server(tree / "s")
    api = stream_config_server({"streams": {"a": {"schema_title": "t"}}})
    assert requests.get(files.url + "/latest", timeout=5).ok
    answer = requests.get(api.url, params={"action": "streamconfigs", "format": "json"}, timeout=5).json()
    assert answer == {"streams": {"a": {"schema_title": "t"}}}


def test_stream_config_api_filters_and_matches_regexes(stream_configs_file: Path) -> None:
    everything = json.loads(stream_configs_file.read_text())["streams"]
    with StreamConfigServer(stream_configs_file) as api:
        def get(**params: str) -> dict:
            response = requests.get(api.url, params=params, timeout=5)
            assert response.status_code == 200 and response.headers["Content-Type"].startswith("application/json")
            return response.json()

        base = {"action": "streamconfigs", "format": "json"}
        assert get(**base) == {"streams": everything}
        assert get(**base, streams="mediawiki.page_change.v1|nope") == {
            "streams": {"mediawiki.page_change.v1": everything["mediawiki.page_change.v1"]}
        }
        regex = "/^mediawiki\\.job\\..+/"
        assert get(**base, streams="mediawiki.job.refreshLinks") == {"streams": {regex: everything[regex]}}
        assert get(action="query", format="json")["error"]["code"] == "badvalue"
        assert get(action="streamconfigs", format="xml")["error"]["code"] == "badvalue"
        assert requests.get(api.base_url + "/other.php", timeout=5).status_code == 404


def test_closed_server_frees_its_port(tree: Path) -> None:
    server = StaticFileServer(tree)
    server.start()
    url = server.url
    server.close()
    with pytest.raises(requests.ConnectionError):
        requests.get(url + "/outside.txt", timeout=2)
    with pytest.raises(RuntimeError, match="not started"):
        _ = server.url
