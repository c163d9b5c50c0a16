"""The demo: the page_content_change example job end to end on this machine.

:func:`run_demo` starts a fake MediaWiki Action API on 127.0.0.1 (a thread in this process),
runs the example job (``generated_examples/page_content_change``) over its real sample
events on the local Flink mini-cluster with its own ``config/local.yaml`` plus an overlay
(``demo.yaml`` in the output directory: the fake's URL, the output paths), and reads back
what the job wrote. To show retries and the error stream, the fake fails one revision
twice before answering and answers another one with ``badrevids`` every time.

    run = run_demo(Path("out/demo"))
    print(run.result.summary())
    run.conserved        # every input is an output, an error event or a counted drop

``evgen demo`` (:mod:`evgen.cli.demo`) prints it.
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from evgen.errors import ConfigError
from evgen.testing.action_api import FakeActionApi, Fault

if TYPE_CHECKING:
    from evgen.runtime.execute import RunResult

#: The example job the demo runs, under ``generated_examples/`` of the evgen checkout.
EXAMPLE = "page_content_change"


def example_dir() -> Path:
    """``generated_examples/page_content_change`` next to the evgen package (a source checkout)."""
    path = Path(__file__).resolve().parents[1] / "generated_examples" / EXAMPLE
    if not (path / "evgen.lock").is_file():
        raise ConfigError(f"the demo job is not at {path} (run the demo from an evgen source checkout, or pass --job-dir)")
    return path


@dataclass(frozen=True)
class InjectedFaults:
    """The revisions the fake fails: ``flaky`` twice with a 502 (then OK), ``failing`` always."""

    flaky: int | None
    failing: int | None

    def apply(self, api: FakeActionApi) -> None:
        if self.flaky is not None:
            api.inject(Fault.http_status(502), rev_id=self.flaky, times=2)
        if self.failing is not None:
            api.inject(Fault.badrevids(), rev_id=self.failing)

    def describe(self) -> str:
        parts = []
        if self.flaky is not None:
            parts.append(f"revision {self.flaky} answers 502 twice, then its content (retried, recovers)")
        if self.failing is not None:
            parts.append(f"revision {self.failing} is always in badrevids (retried, then an error event)")
        return "; ".join(parts) or "none"

    @classmethod
    def choose(cls, lines: list[str]) -> InjectedFaults:
        """The first and last revisions that exactly one fetched event of ``lines`` asks for."""
        revisions: Counter[int] = Counter()
        for line in lines:
            try:
                event = json.loads(line)
                if event.get("page_change_kind") != "delete" and event["meta"].get("domain") != "canary":
                    revisions[int(event["revision"]["rev_id"])] += 1
            except (ValueError, KeyError, TypeError, AttributeError):
                continue
        once = [rev for rev, n in revisions.items() if n == 1]
        return cls(flaky=once[0] if len(once) > 1 else None, failing=once[-1] if once else None)


@dataclass(frozen=True)
class DemoRun:
    """What the demo did: the run's result and the files it wrote, read back."""

    result: RunResult
    events: Path
    inputs: int
    output_dir: Path
    config: Path
    api_url: str
    faults: InjectedFaults
    api_requests: int
    outputs: list[dict[str, Any]]
    errors: list[dict[str, Any]]

    @property
    def conserved(self) -> bool:
        """Inputs = completed + error events + filtered, and the files hold what was counted."""
        counts = self.result.counts
        return (
            self.result.status == "FINISHED"
            and counts["in"] == self.inputs
            and counts["completed"] + self.result.errors + self.result.filtered == self.inputs
            and len(self.outputs) == counts["out"]
            and len(self.errors) == self.result.errors
        )

    def balance(self) -> str:
        """``13 in = 8 completed + 4 errors + 1 filtered (...)``, as counted and as written."""
        counts = self.result.counts
        return (f"{counts['in']} in = {counts['completed']} completed + {self.result.errors} errors"
                f" + {self.result.filtered} filtered (events file: {self.inputs} lines; written: "
                f"{len(self.outputs)} outputs, {len(self.errors)} error events)")


def outputs_dir(output_dir: Path) -> Path:
    """Where the demo's sink writes (JSON-lines part files)."""
    return output_dir / "output"


def errors_dir(output_dir: Path) -> Path:
    """Where the demo's error sink writes."""
    return output_dir / "errors"


def run_demo(
    output_dir: Path,
    *,
    job_dir: Path | None = None,
    events: Path | None = None,
    latency_s: float = 0.0,
    faults: bool = True,
) -> DemoRun:
    """Run the example job against a fake Action API; outputs and errors under ``output_dir``."""
    from evgen.connectors.file import read_json_lines
    from evgen.runtime.runner import run_job

    job_dir = (job_dir or example_dir()).resolve()
    base = job_dir / "config" / "local.yaml"
    if not base.is_file():
        raise ConfigError(f"{job_dir} is not a job directory with config/local.yaml")
    events = (events or _configured_events(base, job_dir)).resolve()
    if not events.exists():
        raise ConfigError(f"events file {events} does not exist")
    lines = read_json_lines(events)
    output_dir = output_dir.resolve()
    _prepare(output_dir)
    injected = InjectedFaults.choose(lines) if faults else InjectedFaults(None, None)
    config = output_dir / "demo.yaml"
    with FakeActionApi(latency_s=latency_s) as api:
        injected.apply(api)
        overlay = {
            "source": {"options": {"path": str(events)}},
            "sink": {"options": {"path": str(outputs_dir(output_dir))}},
            "error_sink": {"options": {"path": str(errors_dir(output_dir))}},
            "params": {"action_api_url": api.url_template},
        }
        config.write_text(
            f"# evgen demo: merged over {base}\n# (the fake Action API lived at {api.base_url} during the run)\n"
            + yaml.safe_dump(overlay, sort_keys=False)
        )
        result = run_job(job_dir, [str(base), str(config)])
        api_url, requests = api.url_template, api.total_requests

    def written(directory: Path) -> list[dict[str, Any]]:
        return [json.loads(line) for line in read_json_lines(directory)] if directory.exists() else []

    return DemoRun(
        result=result, events=events, inputs=len(lines), output_dir=output_dir, config=config,
        api_url=api_url, faults=injected, api_requests=requests,
        outputs=written(outputs_dir(output_dir)), errors=written(errors_dir(output_dir)),
    )


def _configured_events(config: Path, job_dir: Path) -> Path:
    data = yaml.safe_load(config.read_text()) or {}
    path = ((data.get("source") or {}).get("options") or {}).get("path")
    if not isinstance(path, str):
        raise ConfigError(f"{config} names no source file (source.options.path); pass --events")
    p = Path(path)
    return p if p.is_absolute() else job_dir / p


def _prepare(output_dir: Path) -> None:
    """Create the output directory; empty the two sub-directories the demo writes."""
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
        for sub in (outputs_dir(output_dir), errors_dir(output_dir)):
            if sub.exists():
                shutil.rmtree(sub)
    except OSError as e:
        raise ConfigError(f"cannot use {output_dir} as the output directory: {e.strerror or e}") from None
