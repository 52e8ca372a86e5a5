"""Prefect runs the flows ``lakegate generate prefect`` writes for the demo project,
locally in ephemeral mode: the pipelines load the lake in dependency order, a failed
pipeline keeps its downstream from running (and is not retried: the failure is not
transient), and the deployments carry the cron schedules.

Runs only in ``.venv-orchestrators``:
``.venv-orchestrators/bin/python -m pytest -q tests/peers/orchestrators``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
pytest.importorskip("prefect", reason="prefect is not installed (.venv-orchestrators)")

from lakegate.config.project import Project
from lakegate.generate import generate_code
from lakegate.state.store import StateStore
from tests.peers.orchestrators.test_dagster import (
    ORDER,
    demo_project,
    import_generated,
    lake_rows,
)


@pytest.fixture(scope="module", autouse=True)
def prefect_server() -> Iterator[None]:
    """One temporary Prefect server (and database) for the module, stopped before
    pytest closes its output (an ephemeral one would log to closed files at exit)."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture
def generated(tmp_path: Path) -> Iterator[tuple[Project, ModuleType]]:
    project = demo_project(tmp_path / "demo")
    files = generate_code("prefect", project, command="lakegate generate prefect --all")
    module = import_generated(files, tmp_path / "code")
    yield project, module
    sys.modules.pop(module.__name__, None)


def test_flow_loads_the_lake_in_dependency_order(generated: tuple[Project, ModuleType]) -> None:
    project, module = generated
    summary = module.all_pipelines()
    assert list(summary) == ORDER
    assert summary["flights"]["rows_loaded"] == 336_776
    assert {t: lake_rows(project, t) for t in ("airlines", "airports", "flights")} == {
        "airlines": 16,
        "airports": 1_458,
        "flights": 336_776,
    }
    with StateStore(project.state_url) as store:
        runs = {r.pipeline_name: r for r in store.runs(limit=50)}
    assert summary["flights"]["run_id"] == runs["flights"].run_id
    for upstream in ("airlines", "airports", "planes"):
        completed = runs[upstream].completed_at
        assert completed is not None and completed <= runs["flights"].started_at

    deployments = {d.name: d for d in module.deployments()}
    assert set(deployments) == {
        "demo-cron_0_4_x_x_x",
        "demo-cron_0_4_x_x_1",
        "demo-cron_0_5_1_x_x",
        "demo-cron_0_5_x_x_x",
        "demo-all_pipelines",
    }
    (schedule,) = deployments["demo-cron_0_4_x_x_x"].schedules
    assert schedule.schedule.cron == "0 4 * * *"
    assert schedule.schedule.timezone == "UTC"
    assert deployments["demo-all_pipelines"].schedules == []


def test_a_failed_pipeline_stops_its_downstream(generated: tuple[Project, ModuleType]) -> None:
    project, module = generated
    airlines = project.root / "pipelines" / "airlines.yaml"
    text = airlines.read_text().replace("{type: row_count, min: 10}", "{type: row_count, min: 100}")
    airlines.write_text(text)  # the 16 airlines fail the post-load gate
    state = module.all_pipelines(return_state=True)
    assert state.is_failed()
    with pytest.raises(RuntimeError, match="failed or not run: airlines, flights"):
        state.result()
    with StateStore(project.state_url) as store:
        runs = store.runs(limit=50)
    assert sorted(r.pipeline_name for r in runs) == ["airlines", "airports", "planes", "weather"]
    assert [r.status for r in runs if r.pipeline_name == "airlines"] == ["failed"]  # no retry
    assert not (project.root / "lake" / "flights").exists()
