"""The hand-written PyFlink baselines: dicts, ``json.loads`` / ``json.dumps`` (eventutilities-python style).

``validated`` does the same work as the typed evgen job: decode, validate the input against
the resolved source schema (fastjsonschema, compiled from the very schema files evgen's
models were generated from), drop canaries, change ``page.page_title``, set ``$schema`` /
``meta.stream`` / ``meta.dt`` / ``meta.id`` as evgen's normalization does, validate the
output against the sink schema, encode, and route every failure as an error event to a side
output. ``minimal`` only decodes, changes the field and encodes (failures still go to the
side output): the floor of what any Python job pays. ``validated_rs`` is ``validated`` with
jsonschema-rs (what evgen's sinks validate outputs with) instead of fastjsonschema, both ways.
``bare_chain`` calls the typed job's own chain from a plain ProcessFunction (:class:`BareChain`).

    job = HandWrittenJob(variant="validated", source_schema=..., sink_schema=...,
                         sink_stream="mediawiki.page_content_change.v1", job="handwritten")
    env = create_environment(FlinkSettings(), job_dir)
    job.build_file(env, Path("in.jsonl"), Path("out/output"), Path("out/errors"))
    env.execute("handwritten")
"""

from __future__ import annotations

import json
import traceback
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator, Literal

from pyflink.common import Types, WatermarkStrategy
from pyflink.common.serialization import Encoder
from pyflink.datastream import OutputTag, ProcessFunction, RuntimeContext
from pyflink.datastream.connectors.file_system import (
    BucketAssigner,
    FileSink,
    FileSource,
    OutputFileConfig,
    StreamFormat,
)

#: What every benchmark job puts in front of ``page.page_title`` (the one changed field).
MARK = "bench:"
ERRORS = OutputTag("errors", Types.STRING())
Variant = Literal["validated", "validated_rs", "minimal", "bare_chain"]


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class HandWritten(ProcessFunction):  # type: ignore[misc]
    """The per-event work of the hand-written job (picklable; validators compiled in ``open``)."""

    variant: Variant
    source_schema: dict[str, Any]
    sink_schema: dict[str, Any]
    sink_stream: str
    job: str
    error_stream: str
    _validate_in: Any = field(default=None, repr=False)
    _validate_out: Any = field(default=None, repr=False)

    def open(self, runtime_context: RuntimeContext) -> None:
        if self.variant == "validated":
            import fastjsonschema

            formats = {"uri-reference": r"^.*$"}
            self._validate_in = fastjsonschema.compile(self.source_schema, formats=formats)
            self._validate_out = fastjsonschema.compile(self.sink_schema, formats=formats)
        elif self.variant == "validated_rs":
            import jsonschema_rs

            self._validate_in = jsonschema_rs.validator_for(self.source_schema).validate
            self._validate_out = jsonschema_rs.validator_for(self.sink_schema).validate

    def process_element(self, value: str, ctx: ProcessFunction.Context) -> Iterator[Any]:
        try:
            event = json.loads(value)
            if self.variant != "minimal":
                self._validate_in(event)
                if event["meta"].get("domain") == "canary":
                    return
            page = event["page"]
            page["page_title"] = MARK + page["page_title"]
            if self.variant != "minimal":
                event["$schema"] = self.sink_schema["$id"]
                meta = event["meta"]
                meta["stream"] = self.sink_stream
                meta["dt"] = _now()
                if "id" not in meta:
                    meta["id"] = str(uuid.uuid4())
                self._validate_out(event)
            yield json.dumps(event, ensure_ascii=False, separators=(",", ":"))
        except Exception as e:  # every failure becomes an error event
            yield ERRORS, json.dumps(self._error(value, e), ensure_ascii=False, separators=(",", ":"))

    def _error(self, raw: str, exc: Exception) -> dict[str, Any]:
        now = _now()
        return {
            "$schema": "/error/2.1.0",
            "meta": {"stream": self.error_stream, "id": str(uuid.uuid4()), "dt": now},
            "dt": now,
            "emitter_id": self.job,
            "error_type": type(exc).__name__,
            "message": f"{type(exc).__name__}: {exc}",
            "stack": "".join(traceback.format_exception(exc))[-8000:],
            "raw_event": raw,
            "errored_schema_uri": self.source_schema.get("$id", ""),
            "errored_stream_name": "mediawiki.page_change.v1",
        }


@dataclass
class BareChain(ProcessFunction):  # type: ignore[misc]
    """evgen's typed chain (decode, validate, process, normalize, validate, encode) called from a
    bare PyFlink ProcessFunction: the typed job's per-event work without evgen's operator
    (no status counters, no latency timing). Against ``typed`` it isolates the operator's cost."""

    chain: Any

    def process_element(self, value: str, ctx: ProcessFunction.Context) -> Iterator[Any]:
        done = self.chain.complete(value)
        if done.error is not None:
            yield ERRORS, json.dumps(done.error, ensure_ascii=False, separators=(",", ":"))
        for _, output, _ in done.outputs:
            yield output


@dataclass(frozen=True)
class HandWrittenJob:
    """The hand-written job's graph: a source, the process function, a sink and an error sink."""

    variant: Variant
    source_schema: dict[str, Any]
    sink_schema: dict[str, Any]
    sink_stream: str
    job: str = "handwritten"
    chain: Any = None  #: for ``bare_chain``: the evgen chain the function calls

    def function(self) -> ProcessFunction:
        if self.variant == "bare_chain":
            return BareChain(self.chain)
        return HandWritten(self.variant, self.source_schema, self.sink_schema, self.sink_stream, self.job,
                           f"{self.job}.error")

    def build(self, source: Any) -> tuple[Any, Any]:
        """Attach the process function to a DataStream of JSON strings; return (outputs, errors)."""
        outputs = source.process(self.function(), output_type=Types.STRING()).name(f"{self.job}:process")
        return outputs, outputs.get_side_output(ERRORS)

    def build_file(self, env: Any, input_path: Path, output: Path, errors: Path) -> None:
        """FileSource (text lines) → process → FileSink, errors → FileSink."""
        source = env.from_source(
            FileSource.for_record_stream_format(StreamFormat.text_line_format(), str(input_path)).build(),
            WatermarkStrategy.no_watermarks(),
            f"file:{input_path.name}",
        )
        outputs, failures = self.build(source)
        outputs.sink_to(file_sink(output)).name("sink:file")
        failures.sink_to(file_sink(errors)).name("error_sink:file")


def file_sink(path: Path) -> Any:
    """JSON lines in ``part-*.jsonl`` files under ``path`` (what evgen's file connector writes)."""
    return (
        FileSink.for_row_format(str(path), Encoder.simple_string_encoder("UTF-8"))
        .with_bucket_assigner(BucketAssigner.base_path_bucket_assigner())
        .with_output_file_config(OutputFileConfig.builder().with_part_prefix("part").with_part_suffix(".jsonl").build())
        .build()
    )
