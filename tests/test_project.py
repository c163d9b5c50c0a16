"""new-job and regen against real files, a real schema-repo server and a real stream-config API."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from evgen.codegen import load_models
from evgen.errors import CodegenError, EvgenError, SchemaError, StreamConfigError
from evgen.flinkdist import child_environment
from evgen.lock import LOCK_FILE, Lock
from evgen.project import new_job, regen
from evgen.uris import resolve_against

PAGE_CHANGE = "mediawiki.page_change.v1"
PAGE_CONTENT_CHANGE = "mediawiki.page_content_change.v1"
USER_OWNED = (
    "pyproject.toml", "README.md", ".gitignore", "config/local.yaml", "config/kafka.yaml",
    "tests/test_job.py", "{pkg}/__init__.py", "{pkg}/__main__.py", "{pkg}/job.py",
    "Dockerfile", ".dockerignore", "deploy/flinkdeployment.yaml", "DEPLOY.md",
)  # fmt: skip


def _tree(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts and ".mypy_cache" not in p.parts
    }


@pytest.fixture
def shared_args(stream_configs_file: Path, primary_schema_repo: Path) -> dict[str, Any]:
    return {"stream_config": str(stream_configs_file), "schema_uris": [str(primary_schema_repo)]}


@pytest.fixture
def page_content_change(tmp_path: Path, shared_args: dict[str, Any]) -> Path:
    return new_job(
        "page_content_change",
        source=f"{PAGE_CHANGE}:1.1.0",
        sink=f"{PAGE_CONTENT_CHANGE}:1.1.0",
        output_dir=tmp_path / "jobs",
        **shared_args,
    )


# -- a small schema repository whose next major version breaks readers --------------------------


def _small_schema(version: str, *, count: bool, name_type: str) -> dict[str, Any]:
    properties: dict[str, Any] = {
        "$schema": {"type": "string"},
        "meta": {"type": "object", "required": ["stream"], "properties": {
            "stream": {"type": "string"}, "dt": {"type": "string", "format": "date-time"}, "id": {"type": "string"}}},
        "dt": {"type": "string", "format": "date-time"},
        "name": {"type": name_type},
    }  # fmt: skip
    example: dict[str, Any] = {
        "$schema": f"/test/small/{version}", "meta": {"stream": "test.small.v1"}, "dt": "2024-01-01T00:00:00.0Z",
        "name": "a" if name_type == "string" else 1,
    }  # fmt: skip
    if count:
        properties["count"] = {"type": "integer", "description": "how many"}
        example["count"] = 2
    return {
        "title": "test/small",
        "$id": f"/test/small/{version}",
        "$schema": "https://json-schema.org/draft-07/schema#",
        "type": "object",
        "additionalProperties": False,
        "required": ["$schema", "meta", "name"],
        "properties": properties,
        "examples": [example],
    }


@pytest.fixture
def small_repo(tmp_path: Path, primary_schema_repo: Path) -> tuple[Path, Path, Path]:
    """(stream config file, schema repo dir with test/small 1.0.0 and a breaking 2.0.0, primary repo)."""
    repo = tmp_path / "schemas"
    (repo / "test/small").mkdir(parents=True)
    (repo / "test/small/1.0.0.yaml").write_text(yaml.safe_dump(_small_schema("1.0.0", count=True, name_type="string")))
    (repo / "test/small/2.0.0.yaml").write_text(yaml.safe_dump(_small_schema("2.0.0", count=False, name_type="integer")))
    (repo / "test/small/latest").write_text("2.0.0.yaml")
    streams = tmp_path / "streams.yaml"
    streams.write_text(yaml.safe_dump({"streams": {
        "test.small.v1": {"schema_title": "test/small", "topic_prefixes": ["eqiad.", "codfw."]},
        "test.out.v1": {"schema_title": "test/small", "topic_prefixes": ["eqiad.", "codfw."], "canary_events_enabled": False},
        "other.small.v1": {"schema_title": "test/small", "topic_prefixes": None},
    }}))  # fmt: skip
    return streams, repo, primary_schema_repo


def _small_job(tmp_path: Path, small_repo: tuple[Path, Path, Path]) -> Path:
    """A job on the small repo; the error schema comes from the primary repo, searched second."""
    streams, repo, primary = small_repo
    return new_job(
        "small_job",
        source="test.small.v1:1.0.0",
        sink="test.out.v1:1.0.0",
        stream_config=str(streams),
        schema_uris=[str(repo), str(primary)],
        output_dir=tmp_path / "jobs",
    )


# -- new-job --------------------------------------------------------------------------------------


def test_new_job_layout(page_content_change: Path) -> None:
    pkg = "page_content_change"
    files = set(_tree(page_content_change))
    generated = {
        f"{pkg}/models/__init__.py",
        *(f"{pkg}/models/{m}{ext}" for m in ("mediawiki_page_change_v1", "mediawiki_page_content_change_v1",
                                            "page_content_change_error") for ext in (".py", ".schema.json")),
    }  # fmt: skip
    owned = {p.format(pkg=pkg) for p in USER_OWNED}
    assert files == generated | owned | {LOCK_FILE, "tests/fixtures/mediawiki_page_change_v1.jsonl"}
    lock = Lock.load(page_content_change / LOCK_FILE)
    assert set(lock.generated) == generated
    for path, sha in lock.generated.items():
        assert hashlib.sha256((page_content_change / path).read_bytes()).hexdigest() == sha
    for path in generated - {f"{pkg}/models/__init__.py"}:
        if path.endswith(".py"):
            assert (page_content_change / path).read_text().startswith("# GENERATED by evgen")


def test_new_job_lock(page_content_change: Path, stream_configs_file: Path, primary_schema_repo: Path) -> None:
    lock = Lock.load(page_content_change / LOCK_FILE)
    assert (lock.job, lock.package) == ("page_content_change", "page_content_change")
    assert Path(resolve_against(lock.stream_config_uri, page_content_change)) == stream_configs_file
    assert [Path(resolve_against(u, page_content_change)) for u in lock.schema_uris] == [primary_schema_repo]
    source, sink, error = lock.streams["source"], lock.streams["sink"], lock.streams["error_sink"]
    assert (source.stream, source.version, source.module, source.model) == (PAGE_CHANGE, "1.1.0", "mediawiki_page_change_v1", "PageChange")
    assert (sink.stream, sink.version, sink.model) == (PAGE_CONTENT_CHANGE, "1.1.0", "PageContentChange")
    assert source.schema_uri == sink.schema_uri == "/mediawiki/page/change/1.1.0"
    assert Path(resolve_against(source.source_url, page_content_change)) == primary_schema_repo / "mediawiki/page/change/1.1.0.yaml"
    assert source.config.topics == ("eqiad.mediawiki.page_change.v1", "codfw.mediawiki.page_change.v1")
    assert source.config.message_key_fields == {"wiki_id": "wiki_id", "page_id": "page.page_id"}
    assert (error.stream, error.version, error.requested_version, error.model) == (
        "page_content_change.error", "2.1.0", "latest", "ErrorEvent")
    assert error.config.topics == ("page_content_change.error",) and error.config.canary_events_enabled is False
    assert lock.find(f"{PAGE_CHANGE}:1.1.0") == source


def test_new_job_user_files(page_content_change: Path) -> None:
    job_py = (page_content_change / "page_content_change/job.py").read_text()
    assert "from .models import PageChange, PageContentChange\n" in job_py
    assert "def process(event: PageChange) -> PageContentChange:" in job_py
    assert "    return event\n" in job_py  # one schema, one model: no conversion
    assert "def pipeline(stream: Stream) -> Stream:\n" in job_py
    compile(job_py, "job.py", "exec")
    test_py = (page_content_change / "tests/test_job.py").read_text()
    assert 'FIXTURE = "tests/fixtures/mediawiki_page_change_v1.jsonl"' in test_py and "xfail" not in test_py
    local = yaml.safe_load((page_content_change / "config/local.yaml").read_text())
    assert local == {
        "job": "page_content_change",
        "source": {"stream": f"{PAGE_CHANGE}:1.1.0", "connector": "file",
                   "options": {"path": "tests/fixtures/mediawiki_page_change_v1.jsonl"}},
        "sink": {"stream": f"{PAGE_CONTENT_CHANGE}:1.1.0", "connector": "file", "options": {"path": "out/output"}},
        "error_sink": {"stream": "page_content_change.error:2.1.0", "connector": "file", "options": {"path": "out/errors"}},
    }  # fmt: skip
    kafka = yaml.safe_load((page_content_change / "config/kafka.yaml").read_text())
    servers = "${KAFKA_BOOTSTRAP_SERVERS:-127.0.0.1:9092}"
    assert kafka["source"]["options"] == {"bootstrap_servers": servers, "group_id": "page_content_change"}
    assert kafka["sink"]["options"] == {"bootstrap_servers": servers, "topic_prefix": "eqiad."}
    assert kafka["error_sink"]["options"] == {"bootstrap_servers": servers}
    project = (page_content_change / "pyproject.toml").read_text()
    assert 'dependencies = ["evgen>=0.1.0"]' in project and 'pythonpath = ["."]' in project


def test_fixtures_are_the_schema_examples_and_fit_the_models(page_content_change: Path, primary_schema_repo: Path) -> None:
    examples = yaml.safe_load((primary_schema_repo / "mediawiki/page/change/1.1.0.yaml").read_text())["examples"]
    lines = (page_content_change / "tests/fixtures/mediawiki_page_change_v1.jsonl").read_text().splitlines()
    assert [json.loads(line) for line in lines] == examples
    source = (page_content_change / "page_content_change/models/mediawiki_page_change_v1.py").read_text()
    model = load_models(source, "fixture_check").PageChange
    for example in examples:
        assert model.model_validate(example).model_dump(mode="json", by_alias=True, exclude_unset=True) == example


def test_new_job_over_http_with_latest(tmp_path: Path, stream_config_server, stream_configs_file: Path, primary_schema_server) -> None:
    api = stream_config_server(stream_configs_file)
    job_dir = new_job(
        "latest_job",
        source=f"{PAGE_CHANGE}:latest",
        sink=f"{PAGE_CONTENT_CHANGE}:latest",
        error_sink="mw_page_content_change_enrich.error:latest",
        stream_config=api.url,
        schema_uris=[primary_schema_server.url],
        output_dir=tmp_path,
    )
    lock = Lock.load(job_dir / LOCK_FILE)
    assert lock.stream_config_uri == api.url and lock.schema_uris == [primary_schema_server.url]
    source, error = lock.streams["source"], lock.streams["error_sink"]
    assert (source.version, source.requested_version) == ("1.2.0", "latest")
    assert source.source_url == f"{primary_schema_server.url}/mediawiki/page/change/1.2.0"
    assert error.config.topics == ("eqiad.mw_page_content_change_enrich.error", "codfw.mw_page_content_change_enrich.error")
    kafka = yaml.safe_load((job_dir / "config/kafka.yaml").read_text())
    assert kafka["error_sink"]["options"]["topic_prefix"] == "eqiad."
    assert yaml.safe_load((job_dir / "config/local.yaml").read_text())["source"]["stream"] == f"{PAGE_CHANGE}:1.2.0"


def test_different_schemas_carry_over_shared_fields_only(tmp_path: Path, shared_args: dict[str, Any]) -> None:
    job_dir = new_job("to_errors", source=f"{PAGE_CHANGE}:1.2.0", sink="eventgate-main.error.validation:2.1.0",
                      output_dir=tmp_path, **shared_args)  # fmt: skip
    job_py = (job_dir / "to_errors/job.py").read_text()
    assert "from .models import ErrorValidation, PageChange\n" in job_py
    assert 'include={"dt", "meta", "schema_"}' in job_py
    assert "# TODO: the sink requires fields the source lacks or defines differently: emitter_id, message." in job_py
    test_py = (job_dir / "tests/test_job.py").read_text()
    assert "@pytest.mark.xfail(\n    strict=True," in test_py and "(emitter_id, message)" in test_py
    compile(job_py, "job.py", "exec") and compile(test_py, "test_job.py", "exec")


def test_an_output_dir_under_a_file_is_one_error(tmp_path: Path, shared_args: dict[str, Any]) -> None:
    (tmp_path / "a_file").write_text("")
    with pytest.raises(CodegenError, match=r"^cannot create the job in .*/a_file/sub: Not a directory$"):
        new_job("job", source=f"{PAGE_CHANGE}:1.1.0", sink=f"{PAGE_CONTENT_CHANGE}:1.1.0",
                output_dir=tmp_path / "a_file" / "sub", **shared_args)


def test_existing_target(tmp_path: Path, shared_args: dict[str, Any]) -> None:
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "file").write_text("mine")
    with pytest.raises(CodegenError, match=r"busy already exists and is not empty"):
        new_job("busy", source=f"{PAGE_CHANGE}:1.1.0", sink=f"{PAGE_CONTENT_CHANGE}:1.1.0", output_dir=tmp_path, **shared_args)
    assert [p.name for p in (tmp_path / "busy").iterdir()] == ["file"]
    (tmp_path / "empty").mkdir()
    made = new_job("empty", source=f"{PAGE_CHANGE}:1.1.0", sink=f"{PAGE_CONTENT_CHANGE}:1.1.0", output_dir=tmp_path, **shared_args)
    assert (made / LOCK_FILE).is_file()


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"name": "Bad-Name"}, CodegenError, r"job name 'Bad-Name' must be a lower-case Python identifier"),
        ({"name": "class"}, CodegenError, r"job name 'class' must be"),
        ({"source": "nope.v1:1.0.0"}, StreamConfigError, r"unknown stream 'nope.v1' in stream config"),
        ({"source": PAGE_CHANGE}, EvgenError, r"has no version"),
        ({"sink": f"{PAGE_CONTENT_CHANGE}:7.0.0"}, SchemaError, r"schema /mediawiki/page/change/7.0.0 not found; tried"),
        ({"source": "bad name:1.0.0"}, EvgenError, r"--source: 'bad name' is not a stream name"),
        ({"sink": f"{PAGE_CHANGE}:1.2.0"}, CodegenError, r"same stream 'mediawiki.page_change.v1' at different versions"),
    ],
)
def test_bad_input_writes_nothing(tmp_path: Path, shared_args: dict[str, Any], kwargs: dict[str, Any], error: type, message: str) -> None:
    args: dict[str, Any] = {"name": "job", "source": f"{PAGE_CHANGE}:1.1.0", "sink": f"{PAGE_CONTENT_CHANGE}:1.1.0"}
    args.update(kwargs)
    with pytest.raises(error, match=message):
        new_job(args.pop("name"), output_dir=tmp_path / "out", **args, **shared_args)
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []


@pytest.mark.parametrize(
    ("source", "sink", "modules", "models"),
    [
        # Both models would be PageChange.
        ("mediawiki.page_change.v1", "page_change.v1",
         ("mediawiki_page_change_v1", "page_change_v1"), ("PageChange", "PageChange2")),
        # Both modules would be mediawiki_page_change_v1.
        ("mediawiki.page_change.v1", "mediawiki.page-change.v1",
         ("mediawiki_page_change_v1", "mediawiki_page_change_v1_2"), ("PageChange", "MediawikiPageChange")),
    ],
)
def test_streams_whose_names_clash_get_their_own_module_and_model(
    tmp_path: Path, stream_configs_file: Path, primary_schema_repo: Path,
    source: str, sink: str, modules: tuple[str, str], models: tuple[str, str],
) -> None:
    streams = json.loads(stream_configs_file.read_text())["streams"]
    config = tmp_path / "streams.json"
    config.write_text(json.dumps({"streams": {
        name: {**streams[PAGE_CHANGE], "stream": name, "topics": [name]} for name in (source, sink)
    }}))
    job_dir = new_job("clash", source=f"{source}:1.1.0", sink=f"{sink}:1.1.0", error_sink="clash.error:2.1.0",
                      stream_config=str(config), schema_uris=[primary_schema_repo.as_uri()], output_dir=tmp_path)
    lock = Lock.load(job_dir / LOCK_FILE)
    assert (lock.streams["source"].module, lock.streams["sink"].module) == modules
    assert (lock.streams["source"].model, lock.streams["sink"].model) == models
    assert f"def process(event: {models[0]}) -> {models[1]}:" in (job_dir / "clash/job.py").read_text()
    imports = "; ".join(f"from clash.models.{module} import {model}" for module, model in zip(modules, models))
    done = subprocess.run([sys.executable, "-c", f"{imports}; import clash.job"], cwd=job_dir, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_same_stream_and_version_share_a_module(tmp_path: Path, shared_args: dict[str, Any]) -> None:
    job_dir = new_job("passthrough", source=f"{PAGE_CHANGE}:1.2.0", sink=f"{PAGE_CHANGE}:1.2.0", output_dir=tmp_path, **shared_args)
    lock = Lock.load(job_dir / LOCK_FILE)
    assert lock.streams["source"].module == lock.streams["sink"].module == "mediawiki_page_change_v1"
    assert "from .models import PageChange\n" in (job_dir / "passthrough/job.py").read_text()
    assert "def process(event: PageChange) -> PageChange:" in (job_dir / "passthrough/job.py").read_text()


def test_defaults_from_environment(tmp_path: Path, stream_configs_file: Path, primary_schema_repo: Path) -> None:
    env = {"EVGEN_STREAM_CONFIG": str(stream_configs_file), "EVGEN_SCHEMA_URIS": str(primary_schema_repo),
           "EVGEN_CONFIG": os.devnull}  # fmt: skip
    job_dir = new_job("from_env", source=f"{PAGE_CHANGE}:1.1.0", sink=f"{PAGE_CONTENT_CHANGE}:1.1.0", output_dir=tmp_path, env=env)
    assert [Path(resolve_against(u, job_dir)) for u in Lock.load(job_dir / LOCK_FILE).schema_uris] == [primary_schema_repo]


def test_local_locations_are_recorded_relative_to_the_job(tmp_path: Path, small_repo: tuple[Path, Path, Path]) -> None:
    lock = Lock.load(_small_job(tmp_path, small_repo) / LOCK_FILE)
    assert (lock.stream_config_uri, lock.schema_uris[0]) == ("../../streams.yaml", "../../schemas")
    assert lock.streams["source"].source_url == "../../schemas/test/small/1.0.0.yaml"


def test_model_names_that_would_clash_keep_their_namespace(tmp_path: Path, small_repo: tuple[Path, Path, Path]) -> None:
    streams, repo, primary = small_repo
    job_dir = new_job("clash", source="test.small.v1:1.0.0", sink="other.small.v1:latest", stream_config=str(streams),
                      schema_uris=[str(repo), str(primary)], output_dir=tmp_path)  # fmt: skip
    lock = Lock.load(job_dir / LOCK_FILE)
    assert (lock.streams["source"].model, lock.streams["sink"].model) == ("Small", "OtherSmall")
    assert (lock.streams["sink"].version, lock.streams["sink"].config.topics) == ("2.0.0", ("other.small.v1",))
    assert "def process(event: Small) -> OtherSmall:" in (job_dir / "clash/job.py").read_text()


# -- regen ----------------------------------------------------------------------------------------


def test_regen_without_changes_is_a_no_op(page_content_change: Path) -> None:
    before = _tree(page_content_change)
    check = regen(page_content_change, check=True)
    assert not check.stale and check.diffs == {}
    result = regen(page_content_change / "page_content_change" / "models")  # any directory inside the job
    assert not result.stale and result.changed == [] and result.notes == []
    assert _tree(page_content_change) == before


def test_regen_refuses_hand_edits_unless_forced(page_content_change: Path) -> None:
    models = page_content_change / "page_content_change/models/mediawiki_page_change_v1.py"
    original = models.read_bytes()
    models.write_text(models.read_text() + "\n# my tweak\n")
    check = regen(page_content_change, check=True)
    assert check.stale and check.edited == ["page_content_change/models/mediawiki_page_change_v1.py"]
    with pytest.raises(CodegenError, match=r"generated file\(s\) edited by hand: page_content_change/models/mediawiki_page_change_v1.py; .*--force"):
        regen(page_content_change)
    assert models.read_text().endswith("# my tweak\n")
    regen(page_content_change, force=True)
    assert models.read_bytes() == original


def test_regen_restores_deleted_generated_files(page_content_change: Path) -> None:
    models = page_content_change / "page_content_change/models/__init__.py"
    original = models.read_bytes()
    models.unlink()
    assert regen(page_content_change, check=True).missing == ["page_content_change/models/__init__.py"]
    regen(page_content_change)
    assert models.read_bytes() == original


def test_regen_writes_only_what_it_still_generates(page_content_change: Path) -> None:
    gone = "page_content_change/models/mediawiki_page_content_change_v1.py"
    (page_content_change / gone).unlink()
    result = regen(page_content_change, sink=f"{PAGE_CHANGE}:1.1.0", check=True)  # the sink's module goes
    assert gone in result.removed and gone in result.missing and gone not in result.written
    assert result.written == ["page_content_change/models/__init__.py"]


def test_regen_bump_prints_diff_keeps_user_files_and_notes_config(page_content_change: Path) -> None:
    pkg = page_content_change / "page_content_change"
    (pkg / "job.py").write_text((pkg / "job.py").read_text() + "\n# user code\n")
    owned = {p.format(pkg="page_content_change") for p in USER_OWNED} | {"tests/fixtures/mediawiki_page_change_v1.jsonl"}
    before = {k: v for k, v in _tree(page_content_change).items() if k in owned}

    check = regen(page_content_change, source=f"{PAGE_CHANGE}:latest", check=True)
    assert check.stale and "page_content_change/models/mediawiki_page_change_v1.py" in check.changed
    assert Lock.load(page_content_change / LOCK_FILE).streams["source"].version == "1.1.0"  # check wrote nothing

    result = regen(page_content_change, source=f"{PAGE_CHANGE}:latest")
    assert set(result.diffs) == {"source"}
    diff = result.diffs["source"]
    assert (diff.old_uri, diff.new_uri) == ("/mediawiki/page/change/1.1.0", "/mediawiki/page/change/1.2.0")
    assert diff.render() == "  ~ performer: required -> optional  BREAKING"
    lock = Lock.load(page_content_change / LOCK_FILE)
    assert (lock.streams["source"].version, lock.streams["source"].requested_version) == ("1.2.0", "latest")
    assert {k: v for k, v in _tree(page_content_change).items() if k in owned} == before
    assert result.notes == [
        f"config/kafka.yaml still names {PAGE_CHANGE}:1.1.0; change it to {PAGE_CHANGE}:1.2.0",
        f"config/local.yaml still names {PAGE_CHANGE}:1.1.0; change it to {PAGE_CHANGE}:1.2.0",
    ]
    assert not regen(page_content_change, check=True).stale


def test_check_detects_schema_changed_under_the_same_version(tmp_path: Path, small_repo: tuple[Path, Path, Path]) -> None:
    job_dir = _small_job(tmp_path, small_repo)
    _, repo, _ = small_repo
    schema = yaml.safe_load((repo / "test/small/1.0.0.yaml").read_text())
    schema["properties"]["extra"] = {"type": "string"}
    (repo / "test/small/1.0.0.yaml").write_text(yaml.safe_dump(schema))
    check = regen(job_dir, check=True)
    assert check.stale and check.lock_changed
    assert "small_job/models/test_small_v1.py" in check.changed
    assert [c.render() for c in check.diffs["source"].changes] == ["  + extra: string, optional  compatible"]
    regen(job_dir)
    assert not regen(job_dir, check=True).stale


def _mypy_errors(job_dir: Path, repo_root: Path) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-m", "mypy", "--cache-dir", str(job_dir / ".mypy_cache"), "small_job"],
        cwd=job_dir, capture_output=True, text=True, env={**os.environ, "MYPYPATH": str(repo_root)},
    )
    assert "error: " in done.stdout or done.returncode == 0, done.stdout + done.stderr
    return {line for line in done.stdout.splitlines() if ": error: " in line}


def test_mypy_reports_the_user_line_a_breaking_bump_breaks(tmp_path: Path, small_repo: tuple[Path, Path, Path], repo_root: Path) -> None:
    job_dir = _small_job(tmp_path, small_repo)
    job_py = job_dir / "small_job/job.py"
    text = job_py.read_text()
    assert "def process(event: Small) -> Out:" in text
    body = (
        "def process(event: Small) -> Out:\n"
        "    total = (event.count or 0) + 1\n"
        "    label: str = event.name.upper()\n"
        "    return Out.model_validate({**event.model_dump(by_alias=True, exclude_unset=True), \"name\": f\"{label}{total}\"})\n"
    )
    text = re.sub(r"def process\(event: Small\) -> Out:\n(?:    .*\n|\n(?=    ))*", body, text)
    job_py.write_text(text)
    lines = text.splitlines()
    count_line = lines.index("    total = (event.count or 0) + 1") + 1
    name_line = lines.index("    label: str = event.name.upper()") + 1

    before = _mypy_errors(job_dir, repo_root)
    assert not any(f"job.py:{n}:" in e for e in before for n in (count_line, name_line)), before

    result = regen(job_dir, source="test.small.v1:2.0.0")
    assert {(c.path, c.kind, c.compatible) for c in result.diffs["source"].changes} == {
        ("count", "removed", False), ("name", "type-changed", False),
    }  # fmt: skip
    new = _mypy_errors(job_dir, repo_root) - before
    assert any(f"small_job/job.py:{count_line}: error: \"Small\" has no attribute \"count\"" in e for e in new), new
    assert any(f"small_job/job.py:{name_line}: error: \"int\" has no attribute \"upper\"" in e for e in new), new


# -- a generated job's own checks ---------------------------------------------------------------


@pytest.mark.parametrize(("sink", "outcome"), [(f"{PAGE_CONTENT_CHANGE}:1.1.0", "2 passed"), ("eventgate-main.error.validation:2.1.0", "2 xfailed")])
def test_generated_job_tests_pass_and_type_check(tmp_path: Path, shared_args: dict[str, Any], repo_root: Path, sink: str, outcome: str) -> None:
    job_dir = new_job("gen_job", source=f"{PAGE_CHANGE}:1.1.0", sink=sink, output_dir=tmp_path, **shared_args)
    tests = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=job_dir,
                           capture_output=True, text=True, env=child_environment())  # fmt: skip
    assert tests.returncode == 0 and outcome in tests.stdout, tests.stdout + tests.stderr
    typed = subprocess.run(
        [sys.executable, "-m", "mypy", "--cache-dir", str(tmp_path / ".mypy_cache"), "gen_job/job.py", "gen_job/models"],
        cwd=job_dir, capture_output=True, text=True, env={**os.environ, "MYPYPATH": str(repo_root)},
    )
    assert typed.returncode == 0, typed.stdout + typed.stderr


def test_streams_sharing_a_schema_share_a_model(page_content_change: Path) -> None:
    models = page_content_change / "page_content_change/models"
    sink = (models / "mediawiki_page_content_change_v1.py").read_text()
    assert "from .mediawiki_page_change_v1 import PageChange as PageContentChange\n" in sink
    assert "class " not in sink  # no second copy of the classes
    assert "class PageChange(BaseModel)" in (models / "mediawiki_page_change_v1.py").read_text()
