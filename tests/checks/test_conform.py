"""Conform: a column held in another type than its contract's is checked as that type.

Issue "Defects found by trying lakegate as a new user would", item 6: ``alt`` (an
integer with a range or an enum) arriving as text made the engine compare text with
numbers (a Binder or Conversion Error) instead of the value checks judging typed
values and the type check reporting the values that do not cast.
"""

from __future__ import annotations

import datetime as dt

import pyarrow as pa
import pytest
from sqlglot import exp

from lakegate.checks import model as m
from lakegate.checks.compile import Scope
from lakegate.checks.conform import conform_checks, conform_types, declared_types
from lakegate.checks.evaluate import (
    FAILED_CHECKS_COLUMN,
    aggregate_select,
    compile_all,
    evaluate_checks,
    row_failures_select,
)
from lakegate.engines import create_engine
from lakegate.errors import EngineError

INTEGER = m.ColumnType(m.LogicalType.INTEGER)
TIMESTAMP = m.ColumnType(m.LogicalType.TIMESTAMP)
NOW = dt.datetime(2024, 6, 1, 12, 0, tzinfo=dt.UTC)

ALT = ["1044", "13", "unknown", "99999", None]  # text, as a CSV column with one bad value
ALT_CHECKS = [
    m.TypeCheck(id="alt.type", column="alt", type=INTEGER),
    m.Range(id="alt.range", column="alt", min=-1000, max=10000),
    m.AcceptedValues(id="alt.accepted_values", column="alt", values=(13, 1044)),
]


def outcome(result):
    return (result.passed, result.failing_rows, result.evaluated_rows, result.samples)


def test_text_integers_are_checked_as_integers_and_the_uncastable_fail_type(engine, load):
    load({"alt": pa.array(ALT, pa.string())})
    report = evaluate_checks(engine, "dataset", ALT_CHECKS, now=NOW)
    by_id = {r.check.id: outcome(r) for r in report.results}
    assert by_id == {
        # 'unknown' is the one value that is not an integer: a type failure, with its text.
        "alt.type": (False, 1, 4, ("unknown",)),
        # The others are compared as integers; 'unknown' is null here, so it passes.
        "alt.range": (False, 1, 3, (99999,)),
        "alt.accepted_values": (False, 1, 3, (99999,)),
    }


def test_the_contract_types_conform_columns_without_a_type_check(engine, load):
    load({"alt": pa.array(["1044", "20000"], pa.string())})
    range_only = [m.Range(id="alt.range", column="alt", max=10000)]
    report = evaluate_checks(engine, "dataset", range_only, now=NOW, types={"alt": INTEGER})
    assert outcome(report.results[0]) == (False, 1, 2, (20000,))


def test_a_row_that_does_not_cast_fails_only_its_type_check(engine, load):
    load({"alt": pa.array(ALT, pa.string()), "id": pa.array([1, 2, 3, 4, 5], pa.int64())})
    scope = Scope(
        table="dataset",
        columns=engine.columns("dataset"),
        dialect=engine.dialect,
        conform=conform_types({"alt": INTEGER}, engine.columns("dataset")),
    )
    select = row_failures_select(compile_all(ALT_CHECKS, scope), scope)
    flagged = engine.query(
        exp.select("id", exp.column(FAILED_CHECKS_COLUMN, quoted=True))
        .from_(select.subquery("f"))
        .order_by("id")
    )
    assert [(i, sorted(ids)) for i, ids in flagged] == [
        (1, []),
        (2, []),
        (3, ["alt.type"]),
        (4, ["alt.accepted_values", "alt.range"]),
        (5, []),
    ]


def test_text_timestamps_are_judged_as_timestamps_by_freshness(engine, load):
    load({"at": pa.array(["2024-06-01 10:00:00", "2024-05-01 00:00:00", "never"])})
    checks = [
        m.TypeCheck(id="at.type", column="at", type=TIMESTAMP),
        m.Freshness(id="at.freshness", column="at", max_age_seconds=3 * 3600),
    ]
    fresh = evaluate_checks(engine, "dataset", checks, now=NOW).results[1]
    assert fresh.passed and fresh.observed["age_seconds"] == 7200


def test_duplicates_are_found_among_the_typed_values(engine, load):
    load({"id": pa.array(["1", "01", "2"], pa.string())})
    checks = [
        m.TypeCheck(id="id.type", column="id", type=INTEGER),
        m.Unique(id="id.unique", column="id"),
    ]
    unique = evaluate_checks(engine, "dataset", checks, now=NOW).results[1]
    assert unique.observed == {"duplicate_keys": 1, "duplicate_rows": 2}


def test_data_of_the_contract_types_is_not_conformed(engine, load):
    """The clean path's SQL is as before: no cast in the one aggregate scan."""
    load({"alt": pa.array([1044, 13], pa.int64())})
    columns = engine.columns("dataset")
    assert conform_types(declared_types(ALT_CHECKS), columns) == {}
    scope = Scope(table="dataset", columns=columns, dialect=engine.dialect)
    select, _ = aggregate_select(compile_all(ALT_CHECKS, scope), scope)
    assert select.find(exp.TryCast) is None
    report = evaluate_checks(engine, "dataset", ALT_CHECKS, now=NOW)
    assert [r.failing_rows for r in report.results] == [0, 0, 0]


def test_conform_checks_add_a_critical_type_check_where_the_gate_has_none():
    physical = {
        "alt": exp.DataType.build("VARCHAR"),
        "faa": exp.DataType.build("VARCHAR"),
        "lat": exp.DataType.build("VARCHAR"),
    }
    types = {"alt": INTEGER, "faa": m.ColumnType(m.LogicalType.STRING), "lat": INTEGER}
    gate = [
        m.TypeCheck(id="lat.type", column="lat", type=INTEGER),  # critical: covered
        m.TypeCheck(id="alt.type", column="alt", type=INTEGER, severity=m.Severity.WARNING),
    ]
    added = conform_checks(types, physical, gate)
    # faa is text already; lat has its critical check; alt's warning quarantines nothing.
    assert [(c.id, c.column, c.severity) for c in added] == [
        ("alt.type#2", "alt", m.Severity.CRITICAL)
    ]


@pytest.fixture
def duckdb_engine():
    eng = create_engine("duckdb")
    yield eng
    eng.close()


def test_an_engine_error_is_one_line_without_the_generated_sql(duckdb_engine, tmp_path):
    import pyarrow.parquet as pq

    from lakegate.sources.files import resolve_input

    pq.write_table(pa.table({"n": pa.array([1, 2], pa.int64())}), tmp_path / "d.parquet")
    duckdb_engine.register("dataset", resolve_input(tmp_path / "d.parquet"))
    # Text accepted values for an integer column: DuckDB cannot convert 'a' to a number.
    check = m.AcceptedValues(id="n.accepted_values", column="n", values=("a",))
    with pytest.raises(EngineError) as info:
        evaluate_checks(duckdb_engine, "dataset", [check], label="d.parquet", now=NOW)
    message = str(info.value)
    assert "\n" not in message and "SELECT" not in message
    assert message.startswith("the checks of d.parquet could not run on the duckdb engine:")
    assert info.value.sql is not None and "COUNT_IF" in info.value.sql
    assert info.value.exit_code == 2
