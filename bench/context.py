"""What every section of the suite shares: its settings, the generated job, the data, a place
for run directories, and progress messages on stderr.

    >>> Settings.smoke_preset().events
    2000
    >>> Settings().enrich_workers
    (1, 8, 32, 64, 128)
"""

from __future__ import annotations

import itertools
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from bench.workspace import Workspace


@dataclass(frozen=True)
class Settings:
    """Sizes and repetitions of the suite (the full run by default)."""

    events: int = 100_000  #: file → file and data-path runs
    runs: int = 3  #: repetitions of every figure (median, min, max)
    kafka_events: int = 100_000
    memory_copies: int = 10  #: memory run: this many copies of the dataset (1M events)
    memory_runs: int = 3
    memory_sample_s: float = 1.0
    enrich_workers: tuple[int, ...] = (1, 8, 32, 64, 128)
    enrich_latency_ms: float = 50.0
    enrich_seconds: float = 5.0  #: events per level = Little's-law bound × this
    enrich_batch_factor: int = 4  #: batch_size = factor × max_workers
    latency_events: int = 300
    latency_rate: float = 10.0  #: events/s fed to the latency run
    codegen_runs: int = 3
    kafka: bool = True
    smoke: bool = False
    execution_mode: str = "thread"  #: of the typed vs hand-written comparison
    data_path: str = "json"

    @classmethod
    def smoke_preset(cls) -> Settings:
        """The CI smoke run: tiny inputs, one run, every section exercised."""
        return cls(events=2_000, runs=1, kafka_events=2_000, memory_copies=10, memory_runs=1,
                   memory_sample_s=0.2, enrich_seconds=0.5, latency_events=30, codegen_runs=1, smoke=True)

    def with_overrides(self, **changes: Any) -> Settings:
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    @property
    def memory_events(self) -> int:
        return self.events * self.memory_copies


@dataclass
class Context:
    """The state one invocation's sections share."""

    settings: Settings
    workspace: Workspace
    data: Path  #: the dataset file (``settings.events`` events)
    runs_root: Path
    quiet: bool = False
    _counter: Any = field(default_factory=lambda: itertools.count(1))
    _started: float = field(default_factory=time.monotonic)

    def run_dir(self, label: str) -> Path:
        """A fresh directory for one run."""
        path = self.runs_root / f"{next(self._counter):03d}-{label}"
        path.mkdir(parents=True)
        return path

    def log(self, message: str) -> None:
        if not self.quiet:
            elapsed = time.monotonic() - self._started
            print(f"[bench {elapsed:6.0f}s] {message}", file=sys.stderr, flush=True)
