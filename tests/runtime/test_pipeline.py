"""One pipeline exercising every outcome, run in-process and on the Flink
mini-cluster with the same assertions: outputs, each error class, filters,
canaries — and conservation (inputs = outputs + errors + filtered)."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import fastjsonschema
import pytest

from evgen.errors import ContractError
from evgen.runtime.events import to_epoch_ms
from evgen.runtime.job import Job
from evgen.runtime.stream import Stream
from evgen.testing import JobRun, run_in_process, run_on_flink

from evgen.testing import with_new_id as fresh

PIPELINE = '''
from __future__ import annotations

from evgen import Stream

from .models import PageChange, PageContentChange


def keep(event: PageChange) -> bool:
    return not event.meta.id.startswith("skip-")


def process(event: PageChange) -> PageContentChange:
    tag = event.meta.id.split("-")[0]
    out = PageContentChange.model_validate(event.model_dump(by_alias=True, exclude_unset=True))
    if tag == "raise":
        raise RuntimeError("boom " + event.meta.id)
    if tag == "none":
        return None  # type: ignore[return-value]
    if tag == "invalid":
        return out.model_copy(update={"wiki_id": 5})
    if tag == "twice":
        return [out, out.model_copy(update={"comment": "second"})]  # type: ignore[return-value]
    return out


def pipeline(stream: Stream) -> Stream:
    return stream.filter(keep).process(process, batch_size=4, max_workers=3)
'''

TAGS = ["ok", "ok", "raise", "none", "invalid", "twice", "skip"]


@pytest.fixture(scope="module")
def outcomes(add_module: Any) -> Any:
    return add_module("outcomes", PIPELINE)


@pytest.fixture(scope="module")
def inputs(valid_events: list[dict[str, Any]]) -> list[str]:
    lines = []
    for i, tag in enumerate(TAGS * 2):
        event = fresh(valid_events[i % len(valid_events)])
        event["meta"]["id"] = f"{tag}-{event['meta']['id']}"
        lines.append(json.dumps(event))
    lines.append(json.dumps(fresh(valid_events[0], domain="canary")))
    lines.append('{"this is": not json')
    lines.append(json.dumps({"$schema": "/mediawiki/page/change/1.1.0", "meta": {"stream": "x"}}))
    return lines


@pytest.fixture(scope="module")
def error_validator(job_dir: Path) -> Any:
    schema = json.loads((job_dir / "rt_job/models/rt_job_error.schema.json").read_text())
    return fastjsonschema.compile(schema, formats={"uri-reference": r".*"})


def _meta_id(raw: str) -> str:
    try:
        return json.loads(raw).get("meta", {}).get("id", "")
    except ValueError:
        return "<undecodable>"


@pytest.mark.parametrize("runner", [run_in_process, pytest.param(run_on_flink, marks=pytest.mark.flink)])
def test_every_outcome(runner: Any, job_dir: Path, outcomes: Any, inputs: list[str], error_validator: Any) -> None:
    run: JobRun = runner(outcomes.pipeline, job_dir=job_dir, events=inputs)
    ids = lambda tag: sorted(json.loads(l)["meta"]["id"] for l in inputs if f'"{tag}-' in l)  # noqa: E731

    out_ids = sorted(o["meta"]["id"] for o in run.outputs)
    assert out_ids == sorted(ids("ok") + ids("twice") * 2)
    for output in run.outputs:
        assert output["$schema"] == "/mediawiki/page/change/1.1.0"
        assert output["meta"]["stream"] == "mediawiki.page_content_change.v1"

    by_type = {t: sorted(_meta_id(e["raw_event"]) for e in run.errors_of(t)) for t in {e["error_type"] for e in run.errors}}
    assert by_type.pop("RuntimeError") == ids("raise")
    assert by_type.pop("none_returned") == ids("none")
    assert by_type.pop("invalid_output") == ids("invalid")
    assert by_type.pop("invalid_input") == [""]
    assert by_type.pop("undecodable_input") == ["<undecodable>"]
    assert by_type == {}

    raws = {e["raw_event"] for e in run.errors}
    assert '{"this is": not json' in raws  # undecodable input preserved as is
    for error in run.errors:
        error_validator(error)
        assert error["raw_event"] in inputs
        assert error["emitter_id"] == "rt_job" and error["meta"]["stream"] == "rt_job.error"
    raise_error = run.errors_of("RuntimeError")[0]
    assert "boom" in raise_error["message"] and 'raise RuntimeError("boom "' in raise_error["stack"]

    assert run.counts["filtered.keep"] == len(ids("skip"))
    assert run.counts["filtered.canary"] == 1
    assert run.inputs == len(inputs) == run.counts["in"]
    run.assert_conserved()


def test_outputs_roundtrip_unchanged_fields(job_dir: Path, outcomes: Any, inputs: list[str]) -> None:
    run = run_in_process(outcomes.pipeline, job_dir=job_dir, events=inputs)
    originals = {json.loads(l)["meta"]["id"]: json.loads(l) for l in inputs if l.startswith("{\"") and '"ok-' in l}
    checked = 0
    for output in run.outputs:
        original = originals.get(output["meta"]["id"])
        if original is None:
            continue
        for key in original:
            if key not in ("$schema", "meta"):
                assert output[key] == original[key], key
        checked += 1
    assert checked == len(originals) > 0


@pytest.mark.parametrize("config, keyed", [("config/kafka.yaml", True), ("config/local.yaml", False)],
                         ids=["record-sink", "json-lines-sink"])
def test_outputs_carry_key_and_event_time_for_record_sinks_only(
    job_dir: Path, outcomes: Any, valid_events: list[dict[str, Any]], config: str, keyed: bool
) -> None:
    job = Job.load(job_dir, [config])
    [(key, value, ts)] = outcomes.pipeline(Stream(job)).chain().complete(json.dumps(fresh(valid_events[0]))).outputs
    output = json.loads(value)
    assert output["meta"]["stream"] == job.sink.codec.stream
    if keyed:  # what a Kafka record gets: the stream's message key, the output's event time
        assert key is not None and json.loads(key)["wiki_id"] == output["wiki_id"]
        assert ts == to_epoch_ms(output["dt"])
    else:  # a file sink writes the JSON alone: neither is computed
        assert (key, ts) == (None, None)


def test_contract_mismatch_fails_when_built(job_dir: Path, add_module: Any) -> None:
    wrong = add_module("wrong", '''
        from .models import ErrorEvent, PageChange

        def backwards(event: ErrorEvent) -> PageChange:
            raise AssertionError("never called")

        def returns_error(event: PageChange) -> ErrorEvent:
            raise AssertionError("never called")

        async def without_session(event: PageChange) -> PageChange:
            raise AssertionError("never called")
    ''')
    stream = Stream(Job.load(job_dir))
    with pytest.raises(ContractError, match=r"backwards takes ErrorEvent but the stream carries PageChange"):
        stream.process(wrong.backwards)
    with pytest.raises(ContractError, match=r"returns ErrorEvent but the sink expects PageChange"):
        stream.process(wrong.returns_error).chain()
    with pytest.raises(ContractError, match=r"without_session: an `async def` process function takes an aiohttp"):
        stream.process(wrong.without_session)
    with pytest.raises(ContractError, match=r"filter\(.*without_session\): a filter is a plain `def`, not `async def`"):
        stream.filter(wrong.without_session)  # type: ignore[arg-type]


@pytest.mark.flink
def test_partition_by_keeps_order_per_key_in_parallel(add_module: Any, job_dir: Path,
                                                      valid_events: list[dict[str, Any]]) -> None:
    module = add_module("bypage", '''
        from evgen import Stream

        from .models import PageChange


        def pipeline(stream: Stream) -> Stream:
            return stream.partition_by(lambda e: e.page.page_id % 5).process(lambda e: e, batch_size=2)
    ''')
    inputs = []
    for seq in range(6):
        for page in range(10):
            event = fresh(valid_events[0])
            event["page"] = {**event["page"], "page_id": page}
            event["meta"]["id"] = f"{page % 5}-{seq}-{page}"
            inputs.append(json.dumps(event))
    run = run_on_flink(module.pipeline, job_dir=job_dir, events=inputs,
                       config={"flink": {"parallelism": 2}, "process": {"buckets": 3},
                               "event_time": {"enabled": True, "max_out_of_orderness_ms": 1000, "idleness_ms": 2000}})
    assert run.errors == [] and len(run.outputs) == len(inputs)
    order: dict[str, list[str]] = {}
    for output in run.outputs:
        key, _, rest = output["meta"]["id"].partition("-")
        order.setdefault(key, []).append(rest)
    expected: dict[str, list[str]] = {}
    for line in inputs:
        key, _, rest = json.loads(line)["meta"]["id"].partition("-")
        expected.setdefault(key, []).append(rest)
    assert order == expected  # each partition key's events in input order


@pytest.mark.flink
@pytest.mark.parametrize(("configured", "expected"), [(None, logging.INFO), ("DEBUG", logging.DEBUG)])
def test_operators_set_the_python_log_level(add_module: Any, job_dir: Path, valid_events: list[dict[str, Any]],
                                            configured: str | None, expected: int) -> None:
    # Thread mode's worker starts with the root logger at DEBUG (every record then crosses
    # into the JVM); the operators set it to flink.python_log_level, INFO by default.
    module = add_module("loglevel", '''
        import logging

        from evgen import Stream

        from .models import PageChange


        def report(event: PageChange) -> PageChange:
            raise RuntimeError(f"root log level {logging.getLogger().level}")


        def pipeline(stream: Stream) -> Stream:
            return stream.process(report)
    ''')
    config = {"flink": {"execution_mode": "thread"}}
    if configured:
        config["flink"]["python_log_level"] = configured
    run = run_on_flink(module.pipeline, job_dir=job_dir, events=[json.dumps(fresh(valid_events[0]))], config=config)
    assert [e["message"] for e in run.errors] == [f"RuntimeError: root log level {expected}"]


@pytest.mark.flink
def test_async_steps_run_their_chains_on_the_event_loop(add_module: Any, job_dir: Path,
                                                       valid_events: list[dict[str, Any]]) -> None:
    # An async process function's operator runs each event's whole chain as a task on its own
    # event loop, at most max_workers at a time, on Flink's task thread: the sync step after it
    # runs there too (on the worker pool, the thread would be an "evgen-process" one; on a loop
    # thread of the function's own, "evgen-http-pause").
    module = add_module("asyncsteps", '''
        import asyncio
        import threading

        import aiohttp

        from evgen import Stream

        from .models import PageChange


        async def pause(event: PageChange, session: aiohttp.ClientSession) -> PageChange:
            await asyncio.sleep(0.05)
            return event


        def where(event: PageChange) -> PageChange:
            try:
                asyncio.get_running_loop()
                on = "loop"
            except RuntimeError:
                on = "no loop"
            return event.model_copy(update={"comment": f"{on} on {threading.current_thread().name}"})


        def pipeline(stream: Stream) -> Stream:
            return stream.process(pause, batch_size=8, max_workers=4).process(where)
    ''')
    events = [json.dumps(fresh(valid_events[i % len(valid_events)])) for i in range(12)]
    run = run_on_flink(module.pipeline, job_dir=job_dir, events=events)
    run.assert_conserved()
    where = {o["comment"] for o in run.outputs}
    assert len(run.outputs) == 12 and len(where) == 1, where
    (comment,) = where
    assert comment.startswith("loop on ") and not comment.startswith(("loop on evgen-process", "loop on evgen-http")), comment


def test_a_cancelled_error_from_an_async_step_is_an_error_event(job_dir: Path, valid_events: list[dict[str, Any]],
                                                               add_module: Any) -> None:
    import asyncio

    module = add_module("cancels", '''
        import asyncio

        import aiohttp

        from evgen import Stream

        from .models import PageChange


        async def cancels(event: PageChange, session: aiohttp.ClientSession) -> PageChange:
            raise asyncio.CancelledError("gave up")


        def pipeline(stream: Stream) -> Stream:
            return stream.process(cancels)
    ''')
    stream = module.pipeline(Stream(Job.load(job_dir)))
    chain = stream.chain()
    for resource in stream.resources:
        resource.open()
    try:
        done = asyncio.run(chain.complete_async(json.dumps(fresh(valid_events[0]))))
    finally:
        for resource in stream.resources:
            resource.close()
    assert done.error is not None and done.error["error_type"] == "CancelledError"


def test_a_blocking_session_step_keeps_the_chain_off_the_event_loop(job_dir: Path, add_module: Any) -> None:
    module = add_module("mixed", '''
        import aiohttp
        import requests

        from .models import PageChange


        async def fetch(event: PageChange, session: aiohttp.ClientSession) -> PageChange:
            return event


        def fetch_blocking(event: PageChange, session: requests.Session) -> PageChange:
            return event


        def same(event: PageChange) -> PageChange:
            return event
    ''')
    alone = Stream(Job.load(job_dir)).process(module.fetch)
    mixed = alone.process(module.fetch_blocking)
    assert (alone.chain().awaits, alone.chain().blocks) == (True, False)  # runs on the operator's event loop
    assert (mixed.chain().awaits, mixed.chain().blocks) == (True, True)  # a requests call would stall the loop
    plain = Stream(Job.load(job_dir)).process(module.same).chain()
    assert (plain.awaits, plain.blocks) == (False, False)


def test_a_step_that_does_io_gets_the_pool_unless_sync_was_chosen(job_dir: Path, add_module: Any) -> None:
    module = add_module("pools", '''
        import requests

        from .models import PageChange


        def fetch(event: PageChange, session: requests.Session) -> PageChange:
            return event


        def same(event: PageChange) -> PageChange:
            return event
    ''')
    stream = Stream(Job.load(job_dir))

    def sync(pipeline: Stream) -> bool:
        assert pipeline.batch is not None
        return pipeline.batch.sync

    assert sync(stream.process(module.same)) is True  # Python code only: inline
    assert sync(stream.process(module.fetch)) is False
    assert sync(stream.process(module.same).process(module.fetch)) is False  # the second step waits on I/O
    assert sync(stream.process(module.same, sync=True).process(module.fetch)) is True  # chosen: kept
    assert sync(stream.process(module.same, sync=False).process(module.same)) is False
