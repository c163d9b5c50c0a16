"""JSONSchema → Flink types, Row conversion on real events, the Row data path and to_table()."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pyflink.common import Types
from pyflink.table.expressions import col

from evgen.errors import SchemaError
from evgen.runtime import rows
from evgen.runtime.job import Job
from evgen.runtime.stream import Stream
from evgen.testing import run_on_flink


def page_change_schema(job_dir: Path) -> dict[str, Any]:
    return json.loads((job_dir / "rt_job/models/mediawiki_page_change_v1.schema.json").read_text())


def test_type_mapping() -> None:
    schema = {
        "type": "object",
        "properties": {
            "i": {"type": "integer"}, "n": {"type": "number"}, "s": {"type": "string", "format": "date-time"},
            "b": {"type": "boolean"}, "e": {"type": "string", "enum": ["a", "b"]},
            "m": {"type": "object", "additionalProperties": {"type": "integer"}},
            "a": {"type": "array", "items": {"type": "object", "properties": {"x": {"type": "string"}}}},
        },
    }
    info = rows.row_type(schema)
    assert info.get_field_names() == ["a", "b", "e", "i", "m", "n", "s"]
    assert info.get_field_types()[3] == Types.LONG() and info.get_field_types()[5] == Types.DOUBLE()
    assert info.get_field_types()[4] == Types.MAP(Types.STRING(), Types.LONG())
    assert rows.sql_type(schema) == (
        "ROW<`a` ARRAY<ROW<`x` STRING>>, `b` BOOLEAN, `e` STRING, `i` BIGINT, `m` MAP<STRING, BIGINT>, "
        "`n` DOUBLE, `s` STRING>"
    )
    with pytest.raises(SchemaError, match=r"\$.u: a union type"):
        rows.row_type({"type": "object", "properties": {"u": {"type": ["string", "integer"]}}})


def test_real_events_roundtrip_through_rows(job_dir: Path, valid_events: list[dict[str, Any]],
                                            page_change_events: list[dict[str, Any]]) -> None:
    schema = page_change_schema(job_dir)
    for event in page_change_events:
        assert rows.from_row(rows.to_row(event, schema), schema) == event


@pytest.mark.flink
def test_row_data_path_matches_json_path(job_dir: Path, add_module: Any, valid_events: list[dict[str, Any]]) -> None:
    module = add_module("rowpath", '''
        from .models import PageChange, PageContentChange

        def process(event: PageChange) -> PageContentChange:
            return PageContentChange.model_validate(event.model_dump(by_alias=True, exclude_unset=True))

        def pipeline(stream):
            return stream.process(process)
    ''')
    path = job_dir / "tests/fixtures/valid.jsonl"
    path.write_text("".join(json.dumps(e) + "\n" for e in valid_events))
    json_run = run_on_flink(module.pipeline, job_dir=job_dir, events=str(path))
    row_run = run_on_flink(module.pipeline, job_dir=job_dir, events=str(path),
                           config={"flink": {"data_path": "row"}, "source": {
                               "stream": "mediawiki.page_change.v1:1.1.0", "connector": "file", "options": {"path": str(path)}}})
    strip = lambda outs: sorted((json.dumps({k: v for k, v in o.items() if k != "meta"}, sort_keys=True) for o in outs))  # noqa: E731
    assert len(row_run.outputs) == len(valid_events) and row_run.errors == []
    assert strip(row_run.outputs) == strip(json_run.outputs)


@pytest.mark.flink
def test_to_table_sql_over_outputs(job_dir: Path, add_module: Any, valid_events: list[dict[str, Any]]) -> None:
    module = add_module("totable", '''
        from .models import PageChange, PageContentChange

        def process(event: PageChange) -> PageContentChange:
            return PageContentChange.model_validate(event.model_dump(by_alias=True, exclude_unset=True))
    ''')
    path = job_dir / "tests/fixtures/valid.jsonl"
    path.write_text("".join(json.dumps(e) + "\n" for e in valid_events))
    job = Job.load(job_dir)
    job = Job.from_config(job.config.model_copy(update={"source": job.config.source.model_copy(
        update={"options": {"path": str(path)}})}), job_dir)
    table = Stream(job).process(module.process).to_table()
    flat = table.select(col("wiki_id"), col("page").get("page_id").alias("page_id"))
    collected = sorted((row[0], row[1]) for row in flat.execute().collect())
    assert collected == sorted((e["wiki_id"], e["page"]["page_id"]) for e in valid_events)
