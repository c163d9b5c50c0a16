"""`evgen new-job` / `evgen regen` on the command line: output, exit codes, one-line errors."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner, Result

from evgen.cli import cli
from evgen.devkafka import free_port

SOURCE = "mediawiki.page_change.v1:1.1.0"
SINK = "mediawiki.page_content_change.v1:1.1.0"


@pytest.fixture
def runner(tmp_path: Path) -> CliRunner:
    # No user config or EVGEN_* defaults leak in from the machine running the tests.
    (tmp_path / "config.yaml").touch()  # an empty user config; tests may fill it
    return CliRunner(env={"EVGEN_CONFIG": str(tmp_path / "config.yaml"), "EVGEN_STREAM_CONFIG": None,
                          "EVGEN_SCHEMA_URIS": None})  # fmt: skip


@pytest.fixture
def sources(stream_configs_file: Path, primary_schema_repo: Path) -> list[str]:
    return ["--stream-config", str(stream_configs_file), "--schema-uri", str(primary_schema_repo)]


def _new_job(runner: CliRunner, out: Path, *args: str) -> Result:
    return runner.invoke(cli, ["new-job", "job", "--output-dir", str(out), *args], catch_exceptions=False)


def _one_line_error(result: Result, pattern: str) -> None:
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output + result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert re.search(pattern, lines[0]), lines[0]


def test_new_job_then_regen(runner: CliRunner, tmp_path: Path, sources: list[str]) -> None:
    result = _new_job(runner, tmp_path, "--source", SOURCE, "--sink", SINK, *sources)
    assert result.exit_code == 0, result.output
    job_dir = tmp_path / "job"
    assert result.output.splitlines() == [
        f"created {job_dir}",
        f"  source     {SOURCE}  ->  job.models.mediawiki_page_change_v1.PageChange  (/mediawiki/page/change/1.1.0)",
        f"  sink       {SINK}  ->  job.models.mediawiki_page_content_change_v1.PageContentChange  (/mediawiki/page/change/1.1.0)",
        "  error_sink job.error:2.1.0  ->  job.models.job_error.ErrorEvent  (/error/2.1.0)",
        f"next: cd {job_dir} && pip install -e . && pytest; edit job/job.py",
    ]
    check = runner.invoke(cli, ["regen", "--check", "--job-dir", str(job_dir)])
    assert (check.exit_code, check.output) == (0, f"up to date: {job_dir}\n")

    stale = runner.invoke(cli, ["regen", "--check", "--job-dir", str(job_dir), "--source", "mediawiki.page_change.v1:1.2.0"])
    assert stale.exit_code == 1
    assert "  ~ performer: required -> optional  BREAKING" in stale.output
    assert "stale: job/models/mediawiki_page_change_v1.py (differs from what the schemas generate)" in stale.stderr
    assert stale.stderr.splitlines()[-1] == "error: generated code is stale; run `evgen regen`"

    bumped = runner.invoke(cli, ["regen", "--job-dir", str(job_dir), "--source", "mediawiki.page_change.v1:1.2.0"])
    assert bumped.exit_code == 0, bumped.output + bumped.stderr
    assert bumped.output.splitlines()[:2] == [
        "schema diff, source mediawiki.page_change.v1: /mediawiki/page/change/1.1.0 -> /mediawiki/page/change/1.2.0 (BREAKING)",
        "  ~ performer: required -> optional  BREAKING",
    ]
    assert "wrote job/models/mediawiki_page_change_v1.py" in bumped.output
    assert "note: config/local.yaml still names mediawiki.page_change.v1:1.1.0; change it to mediawiki.page_change.v1:1.2.0" in bumped.output
    again = runner.invoke(cli, ["regen", "--job-dir", str(job_dir)])
    assert (again.exit_code, again.output) == (0, "models up to date\n")


def test_regen_refuses_hand_edits(runner: CliRunner, tmp_path: Path, sources: list[str]) -> None:
    assert _new_job(runner, tmp_path, "--source", SOURCE, "--sink", SINK, *sources).exit_code == 0
    model = tmp_path / "job/job/models/job_error.py"
    model.write_text(model.read_text() + "# edited\n")
    _one_line_error(runner.invoke(cli, ["regen", "--job-dir", str(tmp_path / "job")]),
                    r"generated file\(s\) edited by hand: job/models/job_error.py; .*--force")  # fmt: skip
    check = runner.invoke(cli, ["regen", "--check", "--job-dir", str(tmp_path / "job")])
    assert check.exit_code == 1 and "stale: job/models/job_error.py (edited by hand)" in check.stderr
    assert check.stderr.splitlines()[-1] == "error: generated code is stale; run `evgen regen --force` (files were edited by hand)"
    forced = runner.invoke(cli, ["regen", "--force", "--job-dir", str(tmp_path / "job")])
    assert forced.exit_code == 0 and "wrote job/models/job_error.py" in forced.output


# -- bad input: one line on stderr, exit 1, no traceback ----------------------------------------


def test_unknown_stream(runner: CliRunner, tmp_path: Path, sources: list[str]) -> None:
    _one_line_error(_new_job(runner, tmp_path, "--source", "mediawiki.nope.v1:1.0.0", "--sink", SINK, *sources),
                    r"^error: unknown stream 'mediawiki.nope.v1' in stream config .*streamconfigs.json \(18 streams\)")  # fmt: skip


def test_missing_version(runner: CliRunner, tmp_path: Path, sources: list[str]) -> None:
    _one_line_error(_new_job(runner, tmp_path, "--source", "mediawiki.page_change.v1", "--sink", SINK, *sources),
                    r"stream reference 'mediawiki.page_change.v1' has no version")  # fmt: skip


def test_unknown_version(runner: CliRunner, tmp_path: Path, sources: list[str]) -> None:
    _one_line_error(_new_job(runner, tmp_path, "--source", "mediawiki.page_change.v1:9.0.0", "--sink", SINK, *sources),
                    r"schema /mediawiki/page/change/9.0.0 not found; tried file://.*/9.0.0, .*/9.0.0.yaml, .*/9.0.0.json; "
                    r"versions here: 1.0.0, 1.1.0, 1.2.0$")  # fmt: skip


def test_unreachable_stream_config(runner: CliRunner, tmp_path: Path, primary_schema_repo: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}/w/api.php"
    result = _new_job(runner, tmp_path, "--source", SOURCE, "--sink", SINK, "--stream-config", url,
                      "--schema-uri", str(primary_schema_repo))  # fmt: skip
    _one_line_error(result, rf"stream config {url} is unreachable: Connection refused")


def test_invalid_stream_config(runner: CliRunner, tmp_path: Path, primary_schema_repo: Path) -> None:
    bad = tmp_path / "streams.json"
    bad.write_text('{"streams": {"a": ')
    result = _new_job(runner, tmp_path, "--source", SOURCE, "--sink", SINK, "--stream-config", str(bad),
                      "--schema-uri", str(primary_schema_repo))  # fmt: skip
    _one_line_error(result, r"stream config: invalid JSON in .*streams.json: Expecting value \(line 1, column 19\)")


def test_invalid_yaml_stream_config(runner: CliRunner, tmp_path: Path, primary_schema_repo: Path) -> None:
    bad = tmp_path / "streams.yaml"
    bad.write_text("streams:\n  a: [\n")
    result = _new_job(runner, tmp_path, "--source", SOURCE, "--sink", SINK, "--stream-config", str(bad),
                      "--schema-uri", str(primary_schema_repo))  # fmt: skip
    _one_line_error(result, r"stream config: invalid YAML in .*streams.yaml")


def test_unreachable_schema_repo(runner: CliRunner, tmp_path: Path, stream_configs_file: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = _new_job(runner, tmp_path, "--source", SOURCE, "--sink", SINK, "--stream-config", str(stream_configs_file),
                      "--schema-uri", url)  # fmt: skip
    _one_line_error(result, rf"schema /mediawiki/page/change/1.1.0 not found; tried {url}/mediawiki/page/change/1.1.0; unreachable: {url} \(Connection refused\)")


def test_invalid_schema_repo_document(runner: CliRunner, tmp_path: Path, stream_config_server, static_file_server) -> None:
    repo = tmp_path / "repo"
    (repo / "test/broken").mkdir(parents=True)
    (repo / "test/broken/1.0.0.yaml").write_text("title: test/broken\nproperties: {a: [\n")
    api = stream_config_server({"streams": {"broken.v1": {"schema_title": "test/broken"}}})
    server = static_file_server(repo)
    result = _new_job(runner, tmp_path, "--source", "broken.v1:1.0.0", "--sink", SINK, "--stream-config", api.url,
                      "--schema-uri", server.url)  # fmt: skip
    _one_line_error(result, rf"invalid YAML in {server.url}/test/broken/1.0.0.yaml: .*\(line 3, column 1\)")


def test_schema_the_generator_cannot_handle(runner: CliRunner, tmp_path: Path, primary_schema_repo: Path, stream_configs_file: Path) -> None:
    streams = json.loads(stream_configs_file.read_text())
    streams["streams"]["slots.v1"] = {"schema_title": "fragment/mediawiki/state/entity/revision_slots"}
    config = tmp_path / "streams.json"
    config.write_text(json.dumps(streams))
    result = _new_job(runner, tmp_path, "--source", "slots.v1:1.0.0", "--sink", SINK, "--stream-config", str(config),
                      "--schema-uri", str(primary_schema_repo))  # fmt: skip
    _one_line_error(result, r"\"/fragment/mediawiki/state/entity/revision_slots/1.0.0\": the root of an event schema must be an object with properties")


def test_existing_non_empty_target(runner: CliRunner, tmp_path: Path, sources: list[str]) -> None:
    (tmp_path / "job").mkdir()
    (tmp_path / "job" / "notes.txt").write_text("mine")
    _one_line_error(_new_job(runner, tmp_path, "--source", SOURCE, "--sink", SINK, *sources),
                    rf"{tmp_path / 'job'} already exists and is not empty")  # fmt: skip


def test_no_stream_config_anywhere(runner: CliRunner, tmp_path: Path) -> None:
    _one_line_error(_new_job(runner, tmp_path, "--source", SOURCE, "--sink", SINK),
                    r"no stream config: pass --stream-config URI, set EVGEN_STREAM_CONFIG, or put 'stream_config:' in .*config.yaml")  # fmt: skip


def test_defaults_from_user_config_file(runner: CliRunner, tmp_path: Path, stream_configs_file: Path, primary_schema_repo: Path) -> None:
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(
        {"stream_config": str(stream_configs_file), "schema_uris": [str(primary_schema_repo)]}))  # fmt: skip
    result = _new_job(runner, tmp_path, "--source", SOURCE, "--sink", SINK)
    assert result.exit_code == 0, result.stderr


def test_regen_outside_a_job(runner: CliRunner, tmp_path: Path) -> None:
    _one_line_error(runner.invoke(cli, ["regen", "--job-dir", str(tmp_path)]),
                    r"no evgen.lock in .* or any parent: run this inside a job directory made by `evgen new-job`")  # fmt: skip


def test_missing_required_option_is_a_usage_error(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(cli, ["new-job", "job", "--sink", SINK])
    assert result.exit_code == 2 and "Missing option '--source'" in result.stderr and "Traceback" not in result.stderr


def test_real_process_prints_one_line_and_no_traceback(tmp_path: Path, stream_configs_file: Path, primary_schema_repo: Path) -> None:
    evgen = shutil.which("evgen", path=str(Path(sys.executable).parent))
    assert evgen, "the evgen console script is not installed next to this python"
    done = subprocess.run(
        [evgen, "new-job", "job", "--source", "mediawiki.page_change.v1:2.0.0", "--sink", SINK,
         "--stream-config", str(stream_configs_file), "--schema-uri", str(primary_schema_repo), "--output-dir", str(tmp_path)],
        capture_output=True, text=True, env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
    )  # fmt: skip
    assert done.returncode == 1
    assert done.stdout == ""
    assert done.stderr.startswith("error: schema /mediawiki/page/change/2.0.0 not found; tried ")
    assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
    assert list(tmp_path.iterdir()) == []


def test_regen_check_with_force_and_a_missing_job_dir(runner: CliRunner, tmp_path: Path) -> None:
    both = runner.invoke(cli, ["regen", "--check", "--force", "--job-dir", str(tmp_path)])
    assert both.exit_code == 2 and "Error: --check changes nothing, so --force does not apply" in both.stderr
    missing = runner.invoke(cli, ["regen", "--job-dir", str(tmp_path / "nope")])
    assert missing.exit_code == 2 and f"Directory '{tmp_path / 'nope'}' does not exist." in missing.stderr
