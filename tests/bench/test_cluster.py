"""bench/cluster.py: parallelism 1 vs 2 on a real session cluster, at smoke size."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.cluster import run_cluster
from bench.context import Context, Settings
from bench.data import dataset
from bench.workspace import Workspace
from evgen.testing.cluster import FlinkCluster


@pytest.mark.cluster
def test_scaling_section_measures_both_parallelisms(tmp_path: Path, flink_cluster: FlinkCluster) -> None:
    settings = Settings.smoke_preset()
    workspace = Workspace.create(tmp_path / "workspace")
    ctx = Context(settings=settings, workspace=workspace, data=dataset(settings.events, workspace.source_schema),
                  runs_root=tmp_path / "runs", quiet=True)
    ctx.runs_root.mkdir()
    results = run_cluster(ctx, flink_cluster)
    assert results["events"] == settings.events and results["runs"] == 1
    for p in ("1", "2"):
        assert results["parallelism"][p]["events_per_s"]["median"] > 0
    ratio = results["ratio"]["median"]
    rates = {p: results["parallelism"][p]["events_per_s"]["median"] for p in ("1", "2")}
    assert ratio == pytest.approx(rates["2"] / rates["1"], rel=1e-2)
