"""Dagster loads and runs the code ``lakegate generate dagster`` writes for the demo
project: the assets materialize in process, in dependency order, and load the lake
tables (``dagster/row_count`` is the table's rows, ``rows_loaded`` the run's batch);
the asset checks report what lakegate stored for each run; a schedule's job skips a
pipeline whose upstream, run by another job, failed.

Runs only in ``.venv-orchestrators`` (dagster 1.13, prefect 3, lakegate editable):
``.venv-orchestrators/bin/python -m pytest -q tests/peers/orchestrators``.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

dg = pytest.importorskip("dagster", reason="dagster is not installed (.venv-orchestrators)")

from lakegate.api import RunFailed, run  # noqa: E402
from lakegate.config.project import Project, load_project  # noqa: E402
from lakegate.generate import generate_code  # noqa: E402
from lakegate.scaffold import create_project  # noqa: E402
from lakegate.state.store import StateStore  # noqa: E402

ORDER = ["airlines", "airports", "planes", "weather", "flights"]
# The post-load gate of the demo's airlines pipeline, and one its 16 rows fail.
AIRLINES_GATE = "{type: row_count, min: 10}"
FAILING_GATE = "{type: row_count, min: 100}"


def demo_project(root: Path) -> Project:
    """A fresh demo project without the pipeline that needs PostgreSQL."""
    create_project(root)
    (root / "pipelines" / "flights_from_postgres.yaml").unlink()
    return load_project(root)


def import_generated(files: dict[str, str], folder: Path) -> ModuleType:
    """Write the generated files to ``folder`` and import the one module."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, source in files.items():
        (folder / name).write_text(source)
    (name,) = files
    sys.path.insert(0, str(folder))
    try:
        return importlib.import_module(name.removesuffix(".py"))
    finally:
        sys.path.remove(str(folder))


def break_airlines(project: Project, *, broken: bool = True) -> None:
    """Make the airlines pipeline fail its post-load gate (or pass it again)."""
    path = project.root / "pipelines" / "airlines.yaml"
    old, new = (AIRLINES_GATE, FAILING_GATE) if broken else (FAILING_GATE, AIRLINES_GATE)
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def upstream_with_airlines_failed(project: Project) -> None:
    """Run flights' upstream pipelines with lakegate itself, as the 04:00 schedules
    would: airports and planes load, airlines fails."""
    for name in ("airports", "planes"):
        run(name, project=project.root, retries=False)
    break_airlines(project)
    with pytest.raises(RunFailed, match="post-load gate failed"):
        run("airlines", project=project.root, retries=False)


def pipeline_runs(project: Project, pipeline: str) -> list[str]:
    """The statuses of ``pipeline``'s runs, newest first."""
    with StateStore(project.state_url) as store:
        return [r.status for r in store.runs(pipeline, limit=50)]


def lake_rows(project: Project, table: str) -> int:
    """Rows of a lake table (a pyarrow dataset over the Delta table's files)."""
    import pyarrow.dataset as ds
    from deltalake import DeltaTable

    return ds.dataset(DeltaTable(project.table_uri(table)).file_uris()).count_rows()


@pytest.fixture
def generated(tmp_path: Path) -> Iterator[tuple[Project, ModuleType]]:
    project = demo_project(tmp_path / "demo")
    files = generate_code("dagster", project, command="lakegate generate dagster --all")
    module = import_generated(files, tmp_path / "code")
    yield project, module
    sys.modules.pop(module.__name__, None)


def test_definitions_load(generated: tuple[Project, ModuleType]) -> None:
    _, module = generated
    defs: dg.Definitions = module.defs
    graph = defs.resolve_asset_graph()
    keys = {key.to_user_string() for key in graph.get_all_asset_keys()}
    assert keys == set(ORDER)
    flights = graph.get(dg.AssetKey("flights"))
    assert {k.to_user_string() for k in flights.parent_keys} == {"airlines", "airports", "planes"}
    assert flights.group_name == "demo"
    checks = {(k.asset_key.to_user_string(), k.name) for k in graph.asset_check_keys}
    assert ("airlines", "carrier_not_null") in checks
    assert ("airlines", "post_load_row_count") in checks
    schedules = {s.name: s.cron_schedule for s in defs.schedules}
    assert schedules["cron_0_4_x_x_x_schedule"] == "0 4 * * *"
    job = defs.resolve_job_def("cron_0_4_x_x_x")
    assert job.asset_layer.selected_asset_keys == {dg.AssetKey("airlines"), dg.AssetKey("airports")}
    airlines = module.airlines_asset
    assert airlines.owners_by_key[dg.AssetKey("airlines")] == ["data-platform@example.com"]
    # fail-fast: no retries (lakegate.generate.retry_policy, as for Airflow and Prefect)
    assert airlines.op.retry_policy is None
    assert module.UPSTREAM["flights"] == ("airlines", "airports", "planes")


def test_materialize_loads_the_lake_and_reports_checks(
    generated: tuple[Project, ModuleType],
) -> None:
    project, module = generated
    assets = [getattr(module, f"{name}_asset") for name in reversed(ORDER)]
    result = dg.materialize(assets, raise_on_error=False)
    assert result.success

    # dependency order, from lakegate's run records
    with StateStore(project.state_url) as store:
        runs = {r.pipeline_name: r for r in store.runs(limit=50)}
        stored = {name: store.check_results(run.run_id) for name, run in runs.items()}
    assert set(runs) == set(ORDER)
    for upstream in ("airlines", "airports", "planes"):
        completed = runs[upstream].completed_at
        assert completed is not None and completed <= runs["flights"].started_at

    assert {t: lake_rows(project, t) for t in ("airlines", "airports", "flights")} == {
        "airlines": 16,
        "airports": 1_458,
        "flights": 336_776,
    }
    materialized = {
        e.asset_key.to_user_string(): e.materialization.metadata
        for e in result.get_asset_materialization_events()
    }
    assert materialized["flights"]["rows_loaded"].value == 336_776
    assert materialized["flights"]["dagster/row_count"].value == 336_776
    assert materialized["airlines"]["dagster/row_count"].value == 16
    assert materialized["flights"]["run_id"].value == runs["flights"].run_id
    assert materialized["weather"]["rows_rejected"].value == 1  # the 1,048 mph wind
    assert "quality_score" in materialized["weather"]

    evaluations = {
        (e.asset_key.to_user_string(), e.metadata["lakegate/check_id"].value, e.check_name): e
        for e in result.get_asset_check_evaluations()
    }
    for pipeline, results in stored.items():
        for r in results:
            gate = "pre_load" if r.table.endswith(":batch") else "post_load"
            name = module.__dict__[f"{pipeline}_checks"]
            (check,) = [c for c in name if c.gate == gate and c.id == r.id]
            evaluation = evaluations[(pipeline, r.id, check.name)]
            assert evaluation.passed == r.passed
            expected = "ERROR" if r.severity == "critical" else "WARN"
            assert evaluation.severity.value == expected
    wind = evaluations[("weather", "wind_speed.range", "wind_speed_range")]
    assert not wind.passed and wind.severity == dg.AssetCheckSeverity.ERROR
    assert wind.metadata["failing_rows"].value == 1


def test_a_failed_run_fails_its_asset_and_skips_downstream(
    generated: tuple[Project, ModuleType],
) -> None:
    project, module = generated
    airlines = project.root / "pipelines" / "airlines.yaml"
    text = airlines.read_text().replace("{type: row_count, min: 10}", "{type: row_count, min: 100}")
    airlines.write_text(text)  # the 16 airlines fail the post-load gate
    assets = [getattr(module, f"{name}_asset") for name in ORDER]
    result = dg.materialize(assets, raise_on_error=False)
    assert not result.success
    steps = {e.step_key: e.event_type_value for e in result.all_events if e.step_key}
    assert steps["airlines"] == "STEP_FAILURE"
    assert steps["airports"] == "STEP_SUCCESS"
    assert "flights" not in steps  # never started: its upstream failed
    retried = [e for e in result.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"]
    assert retried == []  # a data failure is terminal: no retry
    assert not (project.root / "lake" / "flights").exists()


def test_row_count_is_the_tables_not_the_batchs(generated: tuple[Project, ModuleType]) -> None:
    project, module = generated
    for name in ORDER[:-1]:
        run(name, project=project.root, retries=False)
    first = dg.materialize([module.flights_asset], raise_on_error=False)
    again = dg.materialize([module.flights_asset], raise_on_error=False)  # the lookback only
    assert first.success and again.success
    (before,) = [e.materialization.metadata for e in first.get_asset_materialization_events()]
    (after,) = [e.materialization.metadata for e in again.get_asset_materialization_events()]
    assert before["rows_loaded"].value == before["dagster/row_count"].value == 336_776
    assert 0 < after["rows_loaded"].value < 336_776  # the batch: 3 days of flights again
    assert after["dagster/row_count"].value == lake_rows(project, "flights") == 336_776


def test_a_job_skips_a_pipeline_whose_upstream_failed_in_another_job(
    generated: tuple[Project, ModuleType],
) -> None:
    project, module = generated
    upstream_with_airlines_failed(project)
    job = module.defs.resolve_job_def("cron_0_5_x_x_x")  # flights, at 05:00
    instance = dg.DagsterInstance.ephemeral()

    result = job.execute_in_process(instance=instance, raise_on_error=False)
    assert result.success  # skipped, not failed: the failure is the airlines job's
    assert result.get_asset_materialization_events() == []
    assert pipeline_runs(project, "flights") == []  # lakegate did not run it
    assert not (project.root / "lake" / "flights").exists()
    logs = [e.user_message for e in instance.all_logs(result.run_id)]
    (skipped,) = [m for m in logs if m.startswith("skipped: ")]
    assert "pipeline 'flights' not run: upstream 'airlines' run" in skipped
    assert "failed in load: post-load gate failed: row_count" in skipped

    break_airlines(project, broken=False)
    run("airlines", project=project.root, retries=False)  # fixed and run again by hand
    result = job.execute_in_process(instance=instance, raise_on_error=False)
    assert result.success
    (event,) = result.get_asset_materialization_events()
    assert event.materialization.metadata["rows_loaded"].value == 336_776
    assert pipeline_runs(project, "flights") == ["success"]


def test_checks_alone_report_the_newest_stored_run(generated: tuple[Project, ModuleType]) -> None:
    project, module = generated
    record = run("airlines", project=project.root, retries=False).record
    checks_only = dg.AssetSelection.checks_for_assets(module.airlines_asset)
    result = dg.materialize([module.airlines_asset], selection=checks_only)
    assert result.success
    assert result.get_asset_materialization_events() == []
    assert pipeline_runs(project, "airlines") == ["success"]  # nothing ran again
    evaluations = result.get_asset_check_evaluations()
    assert {e.check_name for e in evaluations} == {c.name for c in module.airlines_checks}
    assert {e.metadata["lakegate/run_id"].value for e in evaluations} == {record.run_id}
    assert all(e.passed for e in evaluations)
