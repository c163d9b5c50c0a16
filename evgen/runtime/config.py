"""Job configuration: descriptors and settings, from code or merged YAML files.

    >>> cfg = JobConfig.model_validate({
    ...     "job": "my_job",
    ...     "source": {"stream": "mediawiki.page_change.v1:1.1.0", "connector": "file",
    ...                "options": {"path": "events.jsonl"}},
    ...     "sink": {"stream": "mediawiki.page_content_change.v1:1.1.0", "connector": "file",
    ...              "options": {"path": "out/output"}},
    ... })
    >>> cfg.process.batch_size
    100

YAML files merge left to right (mappings deeply, everything else replaced);
strings may use ``${VAR}`` / ``${VAR:-default}``; environment variables
``EVGEN__SECTION__KEY=value`` override any key (value parsed as YAML), e.g.
``EVGEN__PROCESS__MAX_WORKERS=32``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Literal, Mapping, Sequence

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from evgen.errors import ConfigError, summarize

ENV_PREFIX = "EVGEN__"
_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SourceDescriptor(_Strict):
    """Where events come from: ``"<stream>:<version>"``, a connector and its options."""

    stream: str
    connector: str = "file"
    options: dict[str, Any] = Field(default_factory=dict)


class SinkDescriptor(_Strict):
    """Where events go: ``"<stream>:<version>"`` (version mandatory), connector, options."""

    stream: str
    connector: str = "file"
    options: dict[str, Any] = Field(default_factory=dict)


class ProcessSettings(_Strict):
    """Defaults for every ``process`` step (each call may override them)."""

    batch_size: int = Field(default=100, ge=1)
    batch_duration_ms: int = Field(default=1000, ge=1)
    max_workers: int = Field(default=8, ge=1)
    #: True: call the function inline; False: a thread pool of max_workers. Unset: a pool only
    #: for functions that do I/O (they ask for a requests.Session) or set max_workers.
    sync: bool | None = None
    #: Batches form per bucket (a stable hash of the partition key) and subtask.
    buckets: int = Field(default=16, ge=1)


class EventTimeSettings(_Strict):
    """Event time from ``dt``: bounded out-of-orderness and source idleness."""

    enabled: bool = False
    max_out_of_orderness_ms: int = Field(default=0, ge=0)
    idleness_ms: int | None = Field(default=None, ge=1)


class FlinkSettings(_Strict):
    """How the job runs on Flink."""

    execution_mode: Literal["thread", "process"] = "thread"
    data_path: Literal["json", "row"] = "json"
    parallelism: int = Field(default=1, ge=1)
    checkpoint_interval_ms: int | None = Field(default=None, ge=100)
    #: Where checkpoints go; they are kept after a crash or cancel, for ``resume_from``.
    checkpoint_dir: str | None = None
    #: Restore state from ``latest`` (the newest checkpoint under ``checkpoint_dir``) or a
    #: checkpoint / savepoint path. With ``latest`` and no checkpoint yet, start fresh.
    resume_from: str | None = None
    #: Python log records below this level are dropped in the job's operators. PyFlink's
    #: process mode uses INFO; its thread mode would pass every DEBUG record (urllib3 logs
    #: one per request) through the JVM, ~7 % of an enrichment job's Python time.
    python_log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    configuration: dict[str, str] = Field(default_factory=dict)


class JobConfig(_Strict):
    """Everything ``evgen run`` needs besides the job's code."""

    job: str | None = None
    source: SourceDescriptor
    sink: SinkDescriptor
    error_sink: SinkDescriptor | None = None
    production: bool = False
    drop_canary_events: bool = True
    process: ProcessSettings = ProcessSettings()
    event_time: EventTimeSettings = EventTimeSettings()
    flink: FlinkSettings = FlinkSettings()
    http: dict[str, Any] = Field(default_factory=dict)
    #: The job's own settings (free-form), e.g. an API URL template: ``stream.params``.
    params: dict[str, Any] = Field(default_factory=dict)
    live_status: bool = True


def load_config(paths: Sequence[str | Path], environ: Mapping[str, str] | None = None) -> JobConfig:
    """Merge the YAML files at ``paths``, apply env overrides, validate."""
    environ = os.environ if environ is None else environ
    merged: dict[str, Any] = {}
    for path in paths:
        merged = merge(merged, _read_yaml(Path(path)))
    merged = merge(merged, env_overrides(environ))
    return parse_config(interpolate(merged, environ), source=", ".join(str(p) for p in paths) or "<env>")


def parse_config(data: Mapping[str, Any], source: str = "<config>") -> JobConfig:
    """Validate a config mapping; one-line :class:`ConfigError` naming each bad key."""
    try:
        return JobConfig.model_validate(data)
    except ValidationError as e:
        raise ConfigError(f"invalid job config ({source}): {summarize(e.errors(include_url=False))}") from None


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text()
    except OSError as e:
        raise ConfigError(f"cannot read config file {path}: {e.strerror}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        raise ConfigError(f"config file {path}{where} is not valid YAML: {getattr(e, 'problem', e)}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"config file {path} must hold a mapping, not a {type(data).__name__}")
    return data


def merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Deep-merge two mappings; ``override`` wins."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def env_overrides(environ: Mapping[str, str]) -> dict[str, Any]:
    """``EVGEN__A__B=v`` → ``{"a": {"b": yaml(v)}}``."""
    out: dict[str, Any] = {}
    for name, raw in sorted(environ.items()):
        if not name.startswith(ENV_PREFIX) or len(name) == len(ENV_PREFIX):
            continue
        keys = [k.lower() for k in name[len(ENV_PREFIX) :].split("__")]
        try:
            value = yaml.safe_load(raw)
        except yaml.YAMLError:
            value = raw
        node = out
        for key in keys[:-1]:
            node = node.setdefault(key, {})
        node[keys[-1]] = value
    return out


def expand_env(text: str, environ: Mapping[str, str]) -> str:
    """Replace ``${VAR}`` / ``${VAR:-default}`` in ``text`` with environment values.

    A missing variable without default is a :class:`ConfigError` naming the variable only.

        >>> expand_env("${HOST:-localhost}:${PORT}", {"PORT": "9092"})
        'localhost:9092'
    """

    def value(match: re.Match[str]) -> str:
        name, default = match.group(1), match.group(2)
        if name in environ:
            return environ[name]
        if default is not None:
            return default
        raise ConfigError(f"refers to ${{{name}}} but the environment variable {name} is not set")

    return _VAR.sub(value, text)


def interpolate(value: Any, environ: Mapping[str, str]) -> Any:
    """Replace ``${VAR}`` / ``${VAR:-default}`` in every string of ``value``."""
    if isinstance(value, str):
        try:
            return expand_env(value, environ)
        except ConfigError as e:
            raise ConfigError(f"config {e}") from None
    if isinstance(value, Mapping):
        return {k: interpolate(v, environ) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, environ) for v in value]
    return value
