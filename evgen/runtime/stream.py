"""The typed, lazy pipeline a job describes: ``filter``, ``partition_by``,
``process``, then ``execute``.

    with stream_manager(
        source=SourceDescriptor(stream="mediawiki.page_change.v1:1.1.0",
                                options={"path": "events.jsonl"}),
        sink=SinkDescriptor(stream="mediawiki.page_content_change.v1:1.1.0",
                            options={"path": "out/output"}),
    ) as stream:
        stream.filter(lambda e: e.page.namespace_id == 0).process(enrich).execute()

Nothing runs before :meth:`Stream.execute`. Each call returns a new
``Stream``; the types of the functions are checked as the pipeline is built.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator

from evgen.errors import ContractError
from evgen.runtime import contract
from evgen.runtime.chain import EventChain, Step
from evgen.runtime.config import JobConfig, SinkDescriptor, SourceDescriptor, parse_config
from evgen.runtime.job import Job
from evgen.runtime.operators import BatchSettings

if TYPE_CHECKING:
    from evgen.runtime.execute import RunResult


@dataclass(frozen=True)
class Stream:
    """A pipeline under construction over one job's source."""

    job: Job
    steps: tuple[Step, ...] = ()
    partition_key: Callable[[Any], Any] | None = None
    batch: BatchSettings | None = None
    resources: tuple[Any, ...] = ()
    flowing: Any = field(default=None)
    #: ``batch.sync`` was left to the default (no ``sync`` argument, none in the config):
    #: a later step that does I/O still gets the pool.
    auto_sync: bool = field(default=False, repr=False)

    def __post_init__(self) -> None:
        if self.flowing is None:
            object.__setattr__(self, "flowing", self.job.source.model)

    @property
    def params(self) -> dict[str, Any]:
        """The job config's free-form ``params`` section (the job's own settings)."""
        return self.job.config.params

    def filter(self, fn: Callable[[Any], bool], name: str | None = None) -> Stream:
        """Keep events for which ``fn`` is true; the others are counted as filtered."""
        if contract.is_async(fn):  # its coroutine would always be true
            raise ContractError(f"filter({contract.function_name(fn)}): a filter is a plain `def`, not `async def`")
        step = Step.filter(fn, name)
        contract.check_accepts(fn, self.flowing, f"filter({step.name})")
        return replace(self, steps=self.steps + (step,))

    def partition_by(self, key_fn: Callable[[Any], Any]) -> Stream:
        """Key events by ``key_fn(source_event)`` instead of the stream's message key.

        Events with one key are processed in order. Must come before ``process``.
        """
        if any(s.kind == "process" for s in self.steps):
            raise ContractError("partition_by must come before the first process step")
        contract.check_accepts(key_fn, self.job.source.model, "partition_by")
        return replace(self, partition_key=key_fn)

    def process(
        self,
        fn: Callable[..., Any],
        name: str | None = None,
        *,
        batch_size: int | None = None,
        batch_duration_ms: int | None = None,
        max_workers: int | None = None,
        sync: bool | None = None,
    ) -> Stream:
        """Apply ``fn`` to each event, in mini-batches on a thread pool or synchronously.

        ``fn`` returns one event, or yields 0..N (a generator). Returning None is an
        error event. Functions asking for a ``requests.Session`` get a pooled one and run
        on a pool of ``max_workers`` threads; other functions run synchronously unless
        ``max_workers`` or ``sync=False`` asks for a pool.
        """
        if self.batch is not None and (batch_size or batch_duration_ms or max_workers or sync is not None):
            raise ContractError("batch settings belong to the first process step; later steps run in its batches")
        fn, resources = _inject(fn)
        step = Step.process(fn, name)
        contract.check_accepts(fn, self.flowing, f"process({step.name})")
        defaults = self.job.config.process
        batch, auto_sync = self.batch, self.auto_sync
        if batch is None:
            sync = defaults.sync if sync is None else sync
            auto_sync = sync is None
            if sync is None:  # a pool helps only functions that wait (on I/O); Python code holds the GIL
                sync = not resources and max_workers is None and "max_workers" not in defaults.model_fields_set
            batch = BatchSettings(
                batch_size=batch_size or defaults.batch_size,
                batch_duration_ms=batch_duration_ms or defaults.batch_duration_ms,
                max_workers=max_workers or defaults.max_workers,
                sync=sync,
                buckets=defaults.buckets,
            )
        elif resources and auto_sync and batch.sync:  # this later step waits on I/O
            batch = replace(batch, sync=False)
        return replace(
            self,
            steps=self.steps + (step,),
            batch=batch,
            resources=self.resources + resources,
            flowing=contract.produced_type(fn),
            auto_sync=auto_sync,
        )

    def chain(self) -> EventChain:
        """The per-event logic of this pipeline (checks the final output type)."""
        if not any(s.kind == "process" for s in self.steps) and self.job.source.model is not self.job.sink.model:
            raise ContractError(
                f"the pipeline has no process step: it would send {self.job.source.model.__name__} "
                f"events to a sink expecting {self.job.sink.model.__name__}"
            )
        contract.check_produces(self.flowing, self.job.sink.model, "the pipeline")
        return EventChain(
            source=self.job.source.codec,
            sink=self.job.sink.codec,
            errors=self.job.error_factory(),
            steps=self.steps,
            drop_canary=self.job.config.drop_canary_events,
            keyed=self.job.sink.connector.wants_records,
        )

    def execute(self) -> RunResult:
        """Build the Flink job and run it to completion (bounded sources) or until stopped."""
        from evgen.runtime.execute import execute_on_flink

        return execute_on_flink(self)

    def to_table(self) -> Any:
        """The pipeline's outputs as a Flink ``Table`` typed by the sink schema's row type.

        Errors still go to the error sink. Query the table with the Table API or SQL
        and run it through its environment (``table.execute()``, ``execute_insert``)::

            table = stream.process(enrich).to_table()
            for row in table.select(col("wiki_id")).execute().collect(): ...
        """
        from evgen.runtime.execute import output_table

        return output_table(self)


def _inject(fn: Callable[..., Any]) -> tuple[Callable[..., Any], tuple[Any, ...]]:
    """Wrap ``fn`` when it asks for injected resources (a ``requests.Session``, an ``aiohttp.ClientSession``)."""
    if hasattr(fn, "open") and hasattr(fn, "__wrapped__"):  # already an injected function
        return fn, (fn,)
    extras = contract.extra_parameters(fn)
    if not extras:
        if contract.is_async(fn):
            raise ContractError(f"{contract.function_name(fn)}: an `async def` process function takes an "
                                "aiohttp.ClientSession parameter (its requests run on the operator's event loop)")
        return fn, ()
    from evgen.http import wrap_injected

    wrapped = wrap_injected(fn)
    return wrapped, (wrapped,)


@contextlib.contextmanager
def stream_manager(
    source: SourceDescriptor | None = None,
    sink: SinkDescriptor | None = None,
    error_sink: SinkDescriptor | None = None,
    *,
    config: JobConfig | dict[str, Any] | None = None,
    job_dir: str | Path | None = None,
    **settings: Any,
) -> Iterator[Stream]:
    """Yield a :class:`Stream` over ``source`` writing to ``sink`` (and ``error_sink``).

    Either pass descriptors (plus any :class:`JobConfig` setting as keyword), or a
    whole ``config``. ``job_dir`` defaults to the directory holding ``evgen.lock``
    above the current directory.
    """
    if config is None:
        if source is None or sink is None:
            raise ContractError("stream_manager needs source and sink descriptors, or a config")
        data: dict[str, Any] = {"source": source.model_dump(), "sink": sink.model_dump(), **settings}
        if error_sink is not None:
            data["error_sink"] = error_sink.model_dump()
        config = parse_config(data, source="stream_manager arguments")
    elif isinstance(config, dict):
        config = parse_config(config)
    job = Job.from_config(config, Path(job_dir) if job_dir is not None else None)
    yield Stream(job)
