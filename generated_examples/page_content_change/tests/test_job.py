"""page_content_change against a real fake Action API on 127.0.0.1, in-process and on Flink.

The sample events are the real ones in ``tests/fixtures/page_change_events.jsonl`` (plus a
line that is not JSON, one invalid against the schema and a canary). Tests that take a
``runner`` run the same assertions through evgen's in-process harness and on the local
Flink mini-cluster (marked ``flink``). The fake counts requests server-side, so retries,
single attempts and fetches that must not happen (deletes) are seen where they happen.
"""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import cloudpickle  # type: ignore[import-untyped]
import fastjsonschema
import pytest
from pydantic import ValidationError

from evgen.errors import ConfigError
from evgen.http import HttpSettings, wrap_injected
from evgen.runtime.job import Job
from evgen.testing import JobRun, run_in_process, run_on_flink, with_new_id
from evgen.testing.action_api import FakeActionApi, FakeSlot, Fault

from page_content_change import job
from page_content_change.models import PageChange

JOB_DIR = Path(__file__).resolve().parents[1]
EVENTS = JOB_DIR / "tests" / "fixtures" / "page_change_events.jsonl"
DOMAIN = "test.wikidata.org"

Runner = Callable[..., JobRun]
RUNNERS = [run_in_process, pytest.param(run_on_flink, marks=pytest.mark.flink)]

#: Retries for tests: 1 attempt + 2 retries, (almost) no backoff, server-asked waits capped short.
RETRIES = 2
ATTEMPTS = RETRIES + 1
HTTP = {"retries": RETRIES, "backoff_factor": 0.01, "backoff_jitter": 0.0, "backoff_max_s": 0.05,
        "retry_after_max_s": 0.05}


# -- the inputs -----------------------------------------------------------------------------


def sample_lines() -> list[str]:
    return [line for line in EVENTS.read_text(encoding="utf-8").splitlines() if line.strip()]


def classify(line: str) -> str:
    """What the job must make of an input: undecodable, invalid, canary, delete or fetch."""
    try:
        data = json.loads(line)
    except ValueError:
        return "undecodable"
    try:
        event = PageChange.model_validate(data)
    except ValidationError:
        return "invalid"
    if event.meta.domain == "canary":
        return "canary"
    return "delete" if event.page_change_kind == "delete" else "fetch"


def real_event(kind: str) -> dict[str, Any]:
    """The first valid sample event whose ``page_change_kind`` is ``kind``."""
    for line in sample_lines():
        if classify(line) in ("fetch", "delete") and json.loads(line)["page_change_kind"] == kind:
            return dict(json.loads(line))
    raise AssertionError(f"no {kind} event among the samples")


def edit_of_revision(rev_id: int) -> str:
    """A real edit event moved to page and revision ``rev_id`` (fresh ``meta.id``)."""
    event = with_new_id(real_event("edit"))
    event["page"]["page_id"] = rev_id
    event["revision"]["rev_id"] = rev_id
    event["revision"]["content_slots"]["main"]["origin_rev_id"] = rev_id
    return json.dumps(event)


def config(template: str, client: str = "requests", **http: Any) -> dict[str, Any]:
    return {"params": {"action_api_url": template, "http_client": client}, "http": {**HTTP, **http}}


#: ``params.http_client``: the process function on a requests session, and its async twin on aiohttp.
CLIENTS = ["requests", "aiohttp"]


@dataclass(frozen=True)
class Case:
    """One revision the fake answers with ``fault`` (``times`` times, or always when None)."""

    rev_id: int
    fault: Fault
    times: int | None
    error_type: str | None  # None: recovers, the event is enriched
    requests: int  # the requests the server must see for it

    def inject(self, api: FakeActionApi) -> None:
        api.inject(self.fault, rev_id=self.rev_id, times=self.times)


#: Every status/body failure class of the enrichment table, and flakiness that recovers.
CASES = [
    # retried up to the threshold, then an error event
    Case(900001, Fault.http_status(503), None, "http_retryable_status", ATTEMPTS),
    Case(900002, Fault.http_status(408), None, "http_retryable_status", ATTEMPTS),
    Case(900003, Fault.http_status(500, retry_after=1), None, "http_retryable_status", ATTEMPTS),
    Case(900004, Fault.badrevids(), None, "mw_badrevids", ATTEMPTS),
    Case(900005, Fault.maxlag(lag=8), None, "mw_maxlag", ATTEMPTS),
    # no retry: an error event at once
    Case(900011, Fault.no_content(), None, "http_no_content", 1),
    Case(900012, Fault.redirect(), None, "http_redirect", 1),
    Case(900013, Fault.http_status(404), None, "http_client_error", 1),
    Case(900014, Fault.http_status(429, retry_after=1), None, "http_client_error", 1),
    Case(900015, Fault.http_status(501), None, "http_server_error", 1),
    Case(900016, Fault.invalid_body(), None, "http_invalid_body", 1),
    Case(900017, Fault.api_error(), None, "mw_api_error", 1),
    # flaky: fails, then succeeds within the retries
    Case(900021, Fault.http_status(502), 2, None, 3),
    Case(900022, Fault.http_status(504), 1, None, 2),
    Case(900023, Fault.badrevids(), 1, None, 2),
    Case(900024, Fault.maxlag(lag=8), 2, None, 3),
]


# -- shared assertions ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def validate_error() -> Callable[[dict[str, Any]], Any]:
    schema = json.loads((JOB_DIR / "page_content_change/models/page_content_change_error.schema.json").read_text())
    return fastjsonschema.compile(schema, formats={"uri-reference": r".*"})


def without(mapping: dict[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in mapping.items() if k not in keys}


def check_outputs(run: JobRun, lines: list[str], api: FakeActionApi) -> None:
    """Each output is its input plus the fake's content of every slot (deletes unchanged)."""
    inputs = {json.loads(line)["meta"]["id"]: json.loads(line) for line in lines if classify(line) in ("fetch", "delete")}
    for output in run.outputs:
        source = inputs[output["meta"]["id"]]
        assert output["$schema"] == "/mediawiki/page/change/1.1.0"
        assert output["meta"]["stream"] == "mediawiki.page_content_change.v1"
        assert without(output, "$schema", "meta", "revision") == without(source, "$schema", "meta", "revision")
        revision, original = output["revision"], source["revision"]
        if source["page_change_kind"] == "delete":
            assert revision == original
            continue
        assert without(revision, "content_slots") == without(original, "content_slots")
        fake = api.revision(original["rev_id"], DOMAIN)
        assert set(revision["content_slots"]) == set(fake.slots) | set(original.get("content_slots", {}))
        for role, slot in fake.slots.items():
            got = revision["content_slots"][role]
            assert got["content_body"] == slot.content
            assert (got["content_model"], got["content_format"], got["content_size"]) == (slot.model, slot.format, slot.size)
            # MediaWiki's base-36 form of the body's SHA-1, as page_change events carry it
            assert len(got["content_sha1"]) == 31 and int(got["content_sha1"], 36) == int(slot.sha1_hex, 16)
            kept = original.get("content_slots", {}).get(role, {})
            assert got["slot_role"] == role and got.get("origin_rev_id") == kept.get("origin_rev_id")


def check_errors(run: JobRun, expected: dict[str, str], validate_error: Callable[[dict[str, Any]], Any]) -> None:
    """Exactly the ``expected`` error events (raw input line -> error_type), all schema-valid."""
    assert sorted((e["raw_event"], e["error_type"]) for e in run.errors) == sorted(expected.items())
    for error in run.errors:
        validate_error(error)
        assert error["emitter_id"] == "page_content_change"
        assert error["meta"]["stream"] == "page_content_change.error"
        assert error["errored_stream_name"] == "mediawiki.page_change.v1"


# -- the job end to end ---------------------------------------------------------------------


@pytest.mark.parametrize("client", CLIENTS)
@pytest.mark.parametrize("runner", RUNNERS)
def test_enriches_the_sample_events_and_sends_each_failure_class_to_the_error_stream(
    runner: Runner, client: str, action_api: FakeActionApi, validate_error: Callable[[dict[str, Any]], Any]
) -> None:
    samples = sample_lines()
    case_lines = {case.rev_id: edit_of_revision(case.rev_id) for case in CASES}
    lines = samples + list(case_lines.values())
    for case in CASES:
        case.inject(action_api)

    run = runner(job.pipeline, job_dir=JOB_DIR, events=lines, config=config(action_api.url_template, client))

    kinds = {line: classify(line) for line in lines}
    failing = {case_lines[c.rev_id]: c.error_type for c in CASES if c.error_type is not None}
    expected_errors = {line: f"{kind}_input" for line, kind in kinds.items() if kind in ("undecodable", "invalid")}
    check_errors(run, {**expected_errors, **failing}, validate_error)
    enriched = [line for line, kind in kinds.items() if kind in ("fetch", "delete") and line not in failing]
    assert sorted(o["meta"]["id"] for o in run.outputs) == sorted(json.loads(line)["meta"]["id"] for line in enriched)
    check_outputs(run, lines, action_api)

    # Server side: one request per fetched sample event (none for deletes and canaries), and
    # each case's attempts: the retry threshold for retried classes, exactly one otherwise.
    expected_requests = Counter(json.loads(line)["revision"]["rev_id"] for line in samples if kinds[line] == "fetch")
    expected_requests.update({case.rev_id: case.requests for case in CASES})
    assert {rev: action_api.count(rev) for rev in expected_requests} == dict(expected_requests)
    assert action_api.total_requests == sum(expected_requests.values())
    user_agent = Job.load(JOB_DIR).config.http["user_agent"]  # config/local.yaml
    for request in action_api.requests:
        assert request.domain == DOMAIN and request.headers["User-Agent"] == user_agent
        assert (request.params["rvslots"], request.params["maxlag"], request.params["formatversion"]) == ("*", "5", "2")

    # Messages name the status and the endpoint that failed.
    for error in run.errors:
        failed = next((c for c in CASES if case_lines[c.rev_id] == error["raw_event"]), None)
        if failed is not None:
            assert f"for {action_api.base_url}/{DOMAIN}/w/api.php?" in error["message"]
            assert f"revids={failed.rev_id}" in error["message"]
            assert f"HTTP {failed.fault.status}" in error["message"]

    # The changes of one page leave in their input order.
    page = real_event("edit")["page"]["page_id"]
    out_order = [o["meta"]["id"] for o in run.outputs if o["page"]["page_id"] == page]
    in_order = [json.loads(line)["meta"]["id"] for line in enriched if json.loads(line)["page"]["page_id"] == page]
    assert out_order == in_order and len(in_order) > 3

    assert run.counts["filtered.canary"] == sum(kind == "canary" for kind in kinds.values()) == 1
    assert run.counts["completed"] == len(run.outputs)
    assert run.inputs == len(lines)
    run.assert_conserved()


@pytest.mark.parametrize("client", CLIENTS)
@pytest.mark.parametrize("runner", RUNNERS)
def test_read_timeouts_are_retried_then_an_error_event(
    runner: Runner, client: str, action_api: FakeActionApi, validate_error: Callable[[dict[str, Any]], Any]
) -> None:
    silent, stalls_once = 900101, 900102
    action_api.inject(Fault.read_timeout(delay_s=3), rev_id=silent)  # no answer in time, ever
    action_api.inject(Fault.stall_body(delay_s=3), rev_id=stalls_once, times=1)  # half a body, then silence
    lines = [edit_of_revision(silent), edit_of_revision(stalls_once)]

    run = runner(job.pipeline, job_dir=JOB_DIR, events=lines, config=config(action_api.url_template, client, read_timeout_s=1))

    check_errors(run, {lines[0]: "http_read_timeout"}, validate_error)
    assert f"no HTTP response for {action_api.base_url}/{DOMAIN}/w/api.php?" in run.errors[0]["message"]
    assert [o["revision"]["rev_id"] for o in run.outputs] == [stalls_once]
    check_outputs(run, lines, action_api)
    assert (action_api.count(silent), action_api.count(stalls_once)) == (ATTEMPTS, 2)
    run.assert_conserved()


@pytest.mark.parametrize("client", CLIENTS)
@pytest.mark.parametrize("runner", RUNNERS)
def test_connect_timeouts_are_an_error_event_and_deletes_need_no_connection(
    runner: Runner, client: str, action_api: FakeActionApi, validate_error: Callable[[dict[str, Any]], Any]
) -> None:
    edit, delete = json.dumps(real_event("edit")), json.dumps(real_event("delete"))
    template = action_api.connect_timeout_url_template  # a port that never accepts

    run = runner(job.pipeline, job_dir=JOB_DIR, events=[edit, delete],
                 config=config(template, client, connect_timeout_s=0.2, retries=1))

    check_errors(run, {edit: "http_connect_timeout"}, validate_error)
    assert [o["page_change_kind"] for o in run.outputs] == ["delete"]
    check_outputs(run, [edit, delete], action_api)
    run.assert_conserved()


# -- details, in-process --------------------------------------------------------------------


def test_deletes_pass_through_without_a_request(action_api: FakeActionApi) -> None:
    deletes = [line for line in sample_lines() if classify(line) == "delete"]
    run = run_in_process(job.pipeline, job_dir=JOB_DIR, events=deletes, config=config(action_api.url_template))
    assert len(run.outputs) == len(deletes) > 0 and run.errors == []
    check_outputs(run, deletes, action_api)
    assert action_api.total_requests == 0


def test_every_slot_is_filled_and_hidden_content_is_left_out(action_api: FakeActionApi) -> None:
    multi, hidden = 900201, 900202
    action_api.add_revision(multi, {"main": "Some [[wikitext]].",
                                    "mediainfo": FakeSlot('{"type":"mediainfo","labels":{}}', "wikibase-mediainfo",
                                                          "application/json")})
    action_api.add_revision(hidden, "suppressed text", hidden=True)
    lines = [edit_of_revision(multi), edit_of_revision(hidden)]

    run = run_in_process(job.pipeline, job_dir=JOB_DIR, events=lines, config=config(action_api.url_template))

    assert run.errors == []
    slots = {o["revision"]["rev_id"]: o["revision"]["content_slots"] for o in run.outputs}
    assert slots[multi]["mediainfo"] == {
        "slot_role": "mediainfo", "content_body": '{"type":"mediainfo","labels":{}}',
        "content_model": "wikibase-mediainfo", "content_format": "application/json",
        "content_size": 32, "content_sha1": job.sha1_base36(action_api.revision(multi).slots["mediainfo"].sha1_hex),
    }
    assert slots[multi]["main"]["content_body"] == "Some [[wikitext]]."
    # Revision-deleted content: no body, the event's own sha1 kept, what the API tells filled in.
    original = json.loads(lines[1])["revision"]["content_slots"]["main"]
    assert "content_body" not in slots[hidden]["main"]
    assert slots[hidden]["main"]["content_sha1"] == original["content_sha1"]
    assert slots[hidden]["main"]["content_size"] == len(b"suppressed text")


def test_an_event_without_a_domain_is_an_error_event(action_api: FakeActionApi) -> None:
    event = with_new_id(real_event("edit"))
    del event["meta"]["domain"]
    line = json.dumps(event)
    run = run_in_process(job.pipeline, job_dir=JOB_DIR, events=[line], config=config(action_api.url_template))
    assert [(e["error_type"], e["raw_event"]) for e in run.errors] == [("missing_domain", line)]
    assert "has no meta.domain" in run.errors[0]["message"]
    assert action_api.total_requests == 0


def test_events_are_keyed_by_wiki_and_page() -> None:
    assert dict(Job.load(JOB_DIR).source.codec.key_fields) == {"wiki_id": "wiki_id", "page_id": "page.page_id"}


def test_sha1_base36_is_mediawikis_form() -> None:
    # SHA-1 of the empty string, as MediaWiki stores it (rev_sha1 of an empty revision)
    assert job.sha1_base36("da39a3ee5e6b4b0d3255bfef95601890afd80709") == "phoiac9h4m842xq45sp7s6u21eteeq1"
    assert job.sha1_base36("0" * 39 + "1") == "0" * 30 + "1"


@pytest.mark.parametrize("function", [job.EnrichWithContent, job.EnrichWithContentAsync])
def test_the_process_function_pickles_and_works_where_it_lands(action_api: FakeActionApi, function: Any) -> None:
    enrich = function(action_api.url_template, maxlag=3)
    assert pickle.loads(pickle.dumps(enrich)) == enrich
    assert cloudpickle.loads(cloudpickle.dumps(enrich)) == enrich
    # As the runtime ships it: wrapped for session injection, pickled, opened in the operator.
    shipped = cloudpickle.loads(cloudpickle.dumps(wrap_injected(enrich)))
    shipped.open(HttpSettings(**HTTP), 2)
    try:
        out = shipped(PageChange.model_validate_json(edit_of_revision(900301)))
    finally:
        shipped.close()
    assert out.revision.content_slots["main"].content_body == action_api.revision(900301).slots["main"].content
    assert [r.params["maxlag"] for r in action_api.requests] == ["3"]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"action_api_url": "http://127.0.0.1:8089/w/api.php"}, "must contain '{domain}' and no other placeholder"),
        ({"action_api_url": "ftp://{domain}/w/api.php"}, "must start with http:// or https://"),
        ({"action_api_uri": "https://{domain}/w/api.php"}, "invalid job params: params.action_api_uri: unknown key"),
        ({"maxlag": -1}, "invalid job params: params.maxlag: Input should be greater than or equal to 0"),
    ],
)
def test_bad_params_fail_when_the_job_is_built(params: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        run_in_process(job.pipeline, job_dir=JOB_DIR, events=[], config={"params": params})
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_bad_params_are_one_line_from_evgen_run() -> None:
    evgen = Path(sys.executable).with_name("evgen")
    result = subprocess.run(
        [str(evgen), "run", "--job-dir", str(JOB_DIR), "--set", "params.action_api_url=http://127.0.0.1/api.php"],
        capture_output=True, text=True, timeout=120, cwd=JOB_DIR,
    )
    assert result.returncode == 1
    assert result.stderr.startswith("error: Action API URL template 'http://127.0.0.1/api.php' must contain '{domain}'")
    assert "Traceback" not in result.stderr and result.stderr.count("\n") == 1


def test_the_job_type_checks_strictly(tmp_path: Path) -> None:
    import evgen

    env = dict(os.environ)
    checkout = Path(evgen.__file__).resolve().parents[1]
    if (checkout / "pyproject.toml").is_file():  # an editable evgen: mypy cannot follow its import hook
        env["MYPYPATH"] = str(checkout)
    typed = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--cache-dir", str(tmp_path / "mypy"), "page_content_change"],
        cwd=JOB_DIR, capture_output=True, text=True, env=env, timeout=300,
    )
    assert typed.returncode == 0, typed.stdout + typed.stderr
