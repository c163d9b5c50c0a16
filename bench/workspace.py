"""The generated evgen job the benchmarks run, made fresh for each invocation.

``Workspace.create(root)`` runs :func:`evgen.project.new_job` (page_change 1.1.0 →
page_content_change 1.1.0, from the shared stream config and schema repository) into
``root`` and adds the benchmark's pipeline modules to the job's package:

- ``passthrough``: the pass-through that changes one field, typed;
- ``template_carry``: the process function the job template generates (a carry-over through
  ``model_dump`` / ``model_validate``) plus the same one-field change;
- ``enrich``: revision content from the Action API (``evgen.mediawiki.ActionApi`` with an
  injected, pooled ``requests.Session``, or with ``params.http_client: aiohttp`` its async twin
  on an ``aiohttp.ClientSession``), batch settings read from the job config's ``params``.

    ws = Workspace.create(Path("/tmp/bench"))
    ws.module("passthrough")            # 'bench_job.passthrough'
    ws.source_schema["$id"]             # '/mediawiki/page/change/1.1.0'
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evgen.lock import Lock
from evgen.project import new_job

from bench import REPO
from bench.handwritten import MARK

JOB = "bench_job"
SOURCE = "mediawiki.page_change.v1:1.1.0"
SINK = "mediawiki.page_content_change.v1:1.1.0"
SHARED = REPO.parent / "shared" / "wikimedia"

PASSTHROUGH = f'''"""Benchmark pipeline: a typed pass-through that changes one field."""

from __future__ import annotations

from evgen import Stream

from .models import PageChange, PageContentChange

MARK = {MARK!r}


def process(event: PageChange) -> PageContentChange:
    """The event with ``page.page_title`` prefixed by MARK (both streams share one model)."""
    return event.model_copy(update={{"page": event.page.model_copy(update={{"page_title": MARK + event.page.page_title}})}})


def pipeline(stream: Stream) -> Stream:
    return stream.process(process)
'''

TEMPLATE_CARRY = f'''"""Benchmark pipeline: the job template's generated carry-over, plus the one-field change."""

from __future__ import annotations

from evgen import Stream

from .models import PageChange, PageContentChange

MARK = {MARK!r}


def process(event: PageChange) -> PageContentChange:
    """What `evgen new-job` writes into job.py, with ``page.page_title`` prefixed by MARK."""
    out = PageContentChange.model_validate(event.model_dump(by_alias=True, exclude_unset=True))
    out.page.page_title = MARK + out.page.page_title
    return out


def pipeline(stream: Stream) -> Stream:
    return stream.process(process)
'''

ENRICH = '''"""Benchmark pipeline: enrich each page change with its revision's content (Action API)."""

from __future__ import annotations

import aiohttp
import requests

from evgen import Stream
from evgen.mediawiki import ActionApi, AsyncActionApi, Slot

from .models import PageChange, PageContentChange


def filled(event: PageChange, slots: dict[str, Slot]) -> PageContentChange:
    """``event`` with content_body / model / format of every slot from ``slots``."""
    revision = event.revision
    out = {}
    for role, slot in (revision.content_slots or {}).items():
        fetched = slots.get(role)
        if fetched is None or fetched.content is None:
            raise LookupError(f"revision {revision.rev_id} has no content for slot {role!r}")
        out[role] = slot.model_copy(update={
            "content_body": fetched.content,
            "content_model": fetched.contentmodel or slot.content_model,
            "content_format": fetched.contentformat,
        })
    return event.model_copy(update={"revision": revision.model_copy(update={"content_slots": out})})


def pipeline(stream: Stream) -> Stream:
    """``params``: action_api_url, batch_size, max_workers, sync, http_client (requests | aiohttp)."""
    url = str(stream.params["action_api_url"])

    def enrich(event: PageChange, session: requests.Session) -> PageContentChange:
        """Fetch every slot of the event's revision (requests session, a worker thread per call)."""
        return filled(event, ActionApi(session, url, maxlag=None).revision_slots(event.meta.domain,
                                                                                 event.revision.rev_id))

    async def enrich_async(event: PageChange, session: aiohttp.ClientSession) -> PageContentChange:
        """The same on an aiohttp session: the operator's event loop makes every request."""
        api = AsyncActionApi(session, url, maxlag=None)
        return filled(event, await api.revision_slots(event.meta.domain, event.revision.rev_id))

    params = stream.params
    return stream.process(
        enrich_async if params.get("http_client") == "aiohttp" else enrich,
        batch_size=int(params["batch_size"]),
        max_workers=int(params["max_workers"]),
        sync=bool(params.get("sync", False)),
    )
'''

MODULES = {"passthrough": PASSTHROUGH, "template_carry": TEMPLATE_CARRY, "enrich": ENRICH}


@dataclass(frozen=True)
class Workspace:
    """A generated job directory plus the resolved schemas of its source and sink."""

    root: Path
    job_dir: Path
    source_schema: dict[str, Any]
    sink_schema: dict[str, Any]

    @classmethod
    def create(cls, root: Path, *, stream_config: Path | None = None, schema_repo: Path | None = None) -> Workspace:
        """Generate the job under ``root`` (which must not hold it yet) and add the pipelines."""
        stream_config = stream_config or SHARED / "streamconfigs.json"
        schema_repo = schema_repo or SHARED / "schema-repos" / "primary" / "jsonschema"
        job_dir = new_job(
            JOB, source=SOURCE, sink=SINK, stream_config=str(stream_config),
            schema_uris=[str(schema_repo)], output_dir=root, env={},
        )
        for name, text in MODULES.items():
            (job_dir / JOB / f"{name}.py").write_text(text, encoding="utf-8")
        lock = Lock.load(job_dir / "evgen.lock")
        models = job_dir / JOB / "models"

        def schema(role: str) -> dict[str, Any]:
            return json.loads((models / f"{lock.streams[role].module}.schema.json").read_text(encoding="utf-8"))

        return cls(root=root, job_dir=job_dir, source_schema=schema("source"), sink_schema=schema("sink"))

    def module(self, name: str) -> str:
        """The importable name of a pipeline module (``bench_job.<name>``)."""
        if name not in MODULES:
            raise KeyError(name)
        return f"{JOB}.{name}"

    @property
    def lock(self) -> Lock:
        return Lock.load(self.job_dir / "evgen.lock")

    def error_stream(self) -> str:
        return str(self.lock.streams["error_sink"].ref)

    def config(self, source: dict[str, Any], sink: dict[str, Any], errors: dict[str, Any], **settings: Any) -> dict[str, Any]:
        """A job config mapping (what ``config/*.yaml`` holds) for one run."""
        return {
            "job": JOB,
            "source": {"stream": SOURCE, **source},
            "sink": {"stream": SINK, **sink},
            "error_sink": {"stream": self.error_stream(), **errors},
            "live_status": False,
            **settings,
        }
