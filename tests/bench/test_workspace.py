"""bench.workspace: the generated job and its benchmark pipelines, run in-process."""

from __future__ import annotations

import importlib
import json
import sys
from typing import Any, Iterator

import pytest

from bench.handwritten import MARK
from bench.workspace import JOB, Workspace
from evgen.testing import run_in_process
from evgen.testing.action_api import FakeActionApi


@pytest.fixture(scope="module")
def workspace(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    ws = Workspace.create(tmp_path_factory.mktemp("bench-ws"))
    sys.path.insert(0, str(ws.job_dir))
    yield ws
    sys.path.remove(str(ws.job_dir))
    for name in [m for m in sys.modules if m == JOB or m.startswith(JOB + ".")]:
        del sys.modules[name]


def test_the_job_is_generated_with_both_schemas(workspace: Workspace) -> None:
    assert (workspace.job_dir / "evgen.lock").is_file()
    assert workspace.source_schema["$id"] == workspace.sink_schema["$id"] == "/mediawiki/page/change/1.1.0"
    assert workspace.module("passthrough") == "bench_job.passthrough"
    with pytest.raises(KeyError):
        workspace.module("nope")


@pytest.mark.parametrize("module", ["passthrough", "template_carry"])
def test_passthrough_pipelines_change_one_field(workspace: Workspace, module: str,
                                                valid_events: list[dict[str, Any]]) -> None:
    pipeline = importlib.import_module(workspace.module(module)).pipeline
    events = [json.dumps(e) for e in valid_events]
    run = run_in_process(pipeline, job_dir=workspace.job_dir, events=events)
    run.assert_conserved()
    assert run.errors == [] and len(run.outputs) == len(events)
    titles = sorted(o["page"]["page_title"] for o in run.outputs)
    assert titles == sorted(MARK + e["page"]["page_title"] for e in valid_events)


@pytest.mark.parametrize("client", ["requests", "aiohttp"])
def test_enrich_pipeline_fills_every_slot_from_the_api(workspace: Workspace, valid_events: list[dict[str, Any]],
                                                       client: str) -> None:
    pipeline = importlib.import_module(workspace.module("enrich")).pipeline
    with FakeActionApi() as api:
        params = {"action_api_url": api.url_template, "batch_size": 8, "max_workers": 2, "http_client": client}
        run = run_in_process(pipeline, job_dir=workspace.job_dir, events=[json.dumps(e) for e in valid_events],
                             config={"params": params})
        assert api.total_requests == len(valid_events)
    run.assert_conserved()
    assert run.errors == [] and len(run.outputs) == len(valid_events)
    for output in run.outputs:
        rev_id = output["revision"]["rev_id"]
        for slot in output["revision"]["content_slots"].values():
            assert slot["content_body"].startswith(f"== Revision {rev_id} ==")
