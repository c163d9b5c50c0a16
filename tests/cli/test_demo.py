"""`evgen demo` as a user (and .ci/demo) runs it: a real subprocess, the real mini-cluster, real files.

Also evgen.demo's parts without Flink: which revisions the fake fails, what counts as conserved.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import fastjsonschema
import pytest
import requests
import yaml

from evgen.connectors.file import read_json_lines
from evgen.demo import DemoRun, InjectedFaults, example_dir, run_demo
from evgen.errors import ConfigError
from evgen.runtime.execute import RunResult
from evgen.testing.action_api import FakeActionApi

EVGEN = str(Path(sys.executable).parent / "evgen")
EXAMPLE = Path(__file__).resolve().parents[2] / "generated_examples" / "page_content_change"


def evgen(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([EVGEN, *args], cwd=cwd, capture_output=True, text=True, timeout=300)


def written(directory: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in read_json_lines(directory)]


@pytest.mark.flink
def test_demo_enriches_the_sample_events_and_writes_outputs_and_errors(tmp_path: Path) -> None:
    result = evgen("demo", "--output-dir", "tmp", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    out = tmp_path / "tmp"
    outputs, errors = written(out / "output"), written(out / "errors")
    events = read_json_lines(EXAMPLE / "tests/fixtures/page_change_events.jsonl")
    canaries = sum('"domain":"canary"' in line for line in events)

    # The job's summary (stderr) matches the files, and every input is accounted for.
    summary = re.search(r"^job finished: (\d+) in, (\d+) out, (\d+) errors, (\d+) filtered in [\d.]+s \(", result.stderr, re.M)
    assert summary is not None, result.stderr
    assert tuple(map(int, summary.groups())) == (len(events), len(outputs), len(errors), canaries)
    assert len(outputs) + len(errors) + canaries == len(events)
    assert f"balance:    {len(events)} in = {len(outputs)} completed + {len(errors)} errors + {canaries} filtered" in result.stdout

    # Outputs: enriched page_content_change events (deletes as they were).
    for output in outputs:
        assert output["meta"]["stream"] == "mediawiki.page_content_change.v1"
        slots = output["revision"].get("content_slots", {})
        if output["page_change_kind"] != "delete":
            assert slots and all(slot["content_body"].startswith("== Revision ") for slot in slots.values())
    assert any(o["page_change_kind"] == "delete" for o in outputs)

    # Errors: the sample's bad lines and the revision the fake always fails, each with its input.
    schema = json.loads((EXAMPLE / "page_content_change/models/page_content_change_error.schema.json").read_text())
    validate = fastjsonschema.compile(schema, formats={"uri-reference": r".*"})
    for error in errors:
        validate(error)
        assert error["raw_event"] in events
    failing = re.search(r"revision (\d+) is always in badrevids", result.stdout)
    assert failing is not None, result.stdout
    badrevids = [e for e in errors if e["error_type"] == "mw_badrevids"]
    assert [json.loads(e["raw_event"])["revision"]["rev_id"] for e in badrevids] == [int(failing.group(1))]
    assert sorted({e["error_type"] for e in errors}) == ["invalid_input", "mw_badrevids", "undecodable_input"]

    # What it shows: where the files are, one content slot, one error event.
    assert f"outputs:    {out / 'output'}  ({len(outputs)} " in result.stdout
    assert f"errors:     {out / 'errors'}  ({len(errors)} error events)" in result.stdout
    assert re.search(r"^  content_body: \"== Revision \d+ ==", result.stdout, re.M)
    assert "one error event: mw_badrevids" in result.stdout
    overlay = yaml.safe_load((out / "demo.yaml").read_text())
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/\{domain\}/w/api\.php", overlay["params"]["action_api_url"])
    assert overlay["sink"]["options"]["path"] == str(out / "output")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--events", "missing.jsonl"], r"error: events file /.*/missing\.jsonl does not exist"),
        (["--job-dir", "."], r"error: /.* is not a job directory with config/local\.yaml"),
        (["--output-dir", "a-file"], r"error: cannot use /.*/a-file as the output directory: .+"),
    ],
)
def test_demo_bad_input_is_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    (tmp_path / "a-file").write_text("not a directory")
    result = evgen("demo", *args, cwd=tmp_path)
    assert result.returncode == 1
    assert re.fullmatch(message + "\n", result.stderr), result.stderr


# -- evgen.demo without Flink ---------------------------------------------------------------


def event(rev_id: int, kind: str = "edit", domain: str = "test.wikidata.org") -> str:
    return json.dumps({"page_change_kind": kind, "meta": {"domain": domain}, "revision": {"rev_id": rev_id}})


def test_faults_go_to_revisions_that_one_fetched_event_asks_for() -> None:
    lines = [event(1), event(2), event(2), event(3, "delete"), event(4, domain="canary"), "not json", event(5)]
    assert InjectedFaults.choose(lines) == InjectedFaults(flaky=1, failing=5)
    assert InjectedFaults.choose([event(7)]) == InjectedFaults(flaky=None, failing=7)
    assert InjectedFaults.choose(["{}", event(3, "delete")]) == InjectedFaults(None, None)


def test_injected_faults_reach_the_fake(action_api: FakeActionApi) -> None:
    InjectedFaults(flaky=1, failing=2).apply(action_api)
    params = {"action": "query", "prop": "revisions", "format": "json", "formatversion": "2", "rvslots": "*"}

    def ask(rev: int) -> requests.Response:
        return requests.get(action_api.endpoint("x.org"), params={**params, "revids": str(rev)}, timeout=10)

    assert [ask(1).status_code for _ in range(3)] == [502, 502, 200]
    assert "badrevids" in ask(2).json()["query"]


def run_with(counts: dict[str, int], outputs: int, errors: int, inputs: int = 4, status: str = "FINISHED") -> DemoRun:
    return DemoRun(
        result=RunResult(counts=Counter(counts), elapsed_s=1.0, status=status), events=Path("e.jsonl"),
        inputs=inputs, output_dir=Path("out"), config=Path("out/demo.yaml"), api_url="http://127.0.0.1:1/{domain}",
        faults=InjectedFaults(None, None), api_requests=0,
        outputs=[{}] * outputs, errors=[{}] * errors,
    )


def test_conserved_only_when_counts_and_files_account_for_every_input() -> None:
    counts = {"in": 4, "completed": 2, "out": 2, "error.invalid_input": 1, "filtered.canary": 1}
    assert run_with(counts, outputs=2, errors=1).conserved
    assert "4 in = 2 completed + 1 errors + 1 filtered" in run_with(counts, 2, 1).balance()
    assert not run_with(counts, outputs=1, errors=1).conserved  # an output missing from the files
    assert not run_with(counts, outputs=2, errors=0).conserved  # an error event missing
    assert not run_with(counts, outputs=2, errors=1, inputs=5).conserved  # an input never counted
    assert not run_with({**counts, "completed": 1}, outputs=2, errors=1).conserved
    assert not run_with(counts, outputs=2, errors=1, status="FAILED").conserved


def test_the_example_job_is_found_in_this_checkout(repo_root: Path) -> None:
    assert example_dir() == repo_root / "generated_examples" / "page_content_change"


def test_run_demo_rejects_a_directory_that_is_no_job(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"is not a job directory with config/local\.yaml"):
        run_demo(tmp_path / "out", job_dir=tmp_path)
