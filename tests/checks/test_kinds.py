"""Every check kind, run end to end on DuckDB over small Parquet files.

Each kind is tested for a pass, a fail, nulls, an empty input and column names
that need quoting (a space, a double quote, a reserved word). Expected numbers
are worked out by hand from the data written in each test.

Semantics asserted (dbt / Great Expectations): a null passes every row-level
check but not_null; ``mostly`` is the share of evaluated (non-null) rows that
must pass; unique counts every row holding a duplicated key; unique_combination
ignores rows whose keys are all null; freshness is judged at ``now``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pyarrow as pa
import pytest
from sqlglot import exp

from lakegate.checks import model as m
from lakegate.checks.compile import ROWS, Scope
from lakegate.checks.evaluate import (
    FAILED_CHECKS_COLUMN,
    aggregate_select,
    compile_all,
    evaluate_checks,
    row_failures_select,
)
from lakegate.checks.results import CheckResult, ValidationReport
from lakegate.engines import Engine
from lakegate.errors import ConfigError, EngineError, InputDataError

NOW = dt.datetime(2024, 6, 1, 12, 0, tzinfo=dt.UTC)
INTEGER = m.ColumnType(m.LogicalType.INTEGER)

# A plain name, then names SQL can only read quoted: a space, a double quote, a keyword.
COLUMNS = ["value", "first name", 'say "hi"', "select"]


def quote(engine: Engine, name: str) -> str:
    """``name`` as a quoted SQL identifier, for the SQL text a user writes in the engine's
    dialect: double quotes on DuckDB, backticks on Spark."""
    return exp.to_identifier(name, quoted=True).sql(dialect=engine.dialect)


def run(
    engine: Engine, *checks: m.Check, refs: dict[str, str] | None = None, now: dt.datetime = NOW
) -> ValidationReport:
    return evaluate_checks(engine, "dataset", list(checks), refs=refs, now=now)


def result_of(engine: Engine, check: m.Check, **kwargs: Any) -> CheckResult:
    (result,) = run(engine, check, **kwargs).results
    return result


def counts(result: CheckResult) -> tuple[Any, ...]:
    """The numbers a result reports, in one tuple for a single exact comparison."""
    return (
        result.passed,
        result.observed,
        result.failing_rows,
        result.evaluated_rows,
        result.samples,
    )


# ============================================================================ row-level kinds
# type, accepted_values, range, regex and length share one rule: a null is neither
# evaluated nor failing. Each case lists values that pass and values that fail; the
# failing ones are more than five and written in no sorted order, so the samples must
# be the five smallest.


@dataclass(frozen=True)
class RowCase:
    make: Callable[[str], m.Check]
    type: pa.DataType
    passing: tuple[Any, ...]
    failing: tuple[Any, ...]
    samples: tuple[Any, ...]


ROW_CASES = {
    "type": RowCase(
        lambda c: m.TypeCheck(id="chk", column=c, type=INTEGER),
        pa.string(),
        passing=("12", "-3", "0"),
        failing=("zz", "abc", "1x", "x", "ab", "a", "12a"),
        samples=("12a", "1x", "a", "ab", "abc"),
    ),
    "accepted_values": RowCase(
        lambda c: m.AcceptedValues(id="chk", column=c, values=("a", "O'Brien", "b c")),
        pa.string(),
        passing=("a", "O'Brien", "b c"),
        failing=("o'brien", "e", "d", "c", "B", "A"),
        samples=("A", "B", "c", "d", "e"),
    ),
    "range": RowCase(
        lambda c: m.Range(id="chk", column=c, min=0, max=10),
        pa.int64(),
        passing=(0, 5, 10),
        failing=(100, 50, 11, -1, -5, -100),
        samples=(-100, -5, -1, 11, 50),
    ),
    "regex": RowCase(
        lambda c: m.Regex(id="chk", column=c, pattern=r"^\d{3}-\d{4}$"),
        pa.string(),
        passing=("555-1234", "000-0000", "999-9999"),
        failing=("x555-1234", "5551234", "555-12345", "abc-defg", "555 1234", "55-1234"),
        samples=("55-1234", "555 1234", "555-12345", "5551234", "abc-defg"),
    ),
    "length": RowCase(
        # "héé" is 3 characters but 5 bytes: length counts characters.
        lambda c: m.Length(id="chk", column=c, min=2, max=4),
        pa.string(),
        passing=("ab", "abcd", "héé"),
        failing=("zzzzzz", "abcdefg", "ééééé", "a", "abcde", "x"),
        samples=("a", "abcde", "abcdefg", "x", "zzzzzz"),
    ),
}


def _column(case: RowCase, values: tuple[Any, ...], name: str = "value") -> dict[str, pa.Array]:
    return {name: pa.array(values, case.type)}


@pytest.mark.parametrize("kind", ROW_CASES)
def test_row_check_passes(engine, load, kind):
    case = ROW_CASES[kind]
    load(_column(case, case.passing))
    result = result_of(engine, case.make("value"))
    assert counts(result) == (True, 0, 0, len(case.passing), ())


@pytest.mark.parametrize("column", COLUMNS)
@pytest.mark.parametrize("kind", ROW_CASES)
def test_row_check_fails(engine, load, kind, column):
    case = ROW_CASES[kind]
    load(_column(case, (*case.failing, None, *case.passing), column))
    report = run(engine, case.make(column))
    n_fail = len(case.failing)
    assert counts(report.results[0]) == (
        False,
        n_fail,
        n_fail,
        n_fail + len(case.passing),
        case.samples,
    )
    assert report.rows == n_fail + len(case.passing) + 1
    assert report.passed is False


@pytest.mark.parametrize("kind", ROW_CASES)
def test_row_check_null_passes_and_is_not_evaluated(engine, load, kind):
    case = ROW_CASES[kind]
    load(_column(case, (None, *case.passing, None, None)))
    assert counts(result_of(engine, case.make("value"))) == (True, 0, 0, len(case.passing), ())


@pytest.mark.parametrize("kind", ROW_CASES)
def test_row_check_all_null_column_passes(engine, load, kind):
    case = ROW_CASES[kind]
    load(_column(case, (None, None)))
    assert counts(result_of(engine, case.make("value"))) == (True, 0, 0, 0, ())


@pytest.mark.parametrize(("mostly", "passed"), [(0.75, True), (0.8, False)])
@pytest.mark.parametrize("kind", ROW_CASES)
def test_row_check_mostly_counts_non_null_rows(engine, load, kind, mostly, passed):
    # 3 pass, 1 fails, 2 nulls: 3/4 = 0.75 of the evaluated rows pass. Were the
    # nulls counted as evaluated, 5/6 would pass and mostly=0.8 would pass too.
    case = ROW_CASES[kind]
    load(_column(case, (*case.passing[:3], case.failing[0], None, None)))
    result = result_of(engine, dataclasses.replace(case.make("value"), mostly=mostly))
    assert (result.passed, result.failing_rows, result.evaluated_rows) == (passed, 1, 4)


# ---------------------------------------------------------------------------- not_null


@pytest.mark.parametrize("column", COLUMNS)
def test_not_null_fails_each_null_row(engine, load, column):
    load({column: pa.array([3, None, 1, None, 2], pa.int64())})
    report = run(engine, m.NotNull(id="nn", column=column))
    # Evaluated over all rows; a null has no value to show as a sample.
    assert counts(report.results[0]) == (False, 2, 2, 5, ())
    assert report.passed is False


def test_not_null_passes_without_nulls(engine, load):
    load({"value": pa.array([3, 1, 2], pa.int64())})
    assert counts(result_of(engine, m.NotNull(id="nn", column="value"))) == (True, 0, 0, 3, ())


@pytest.mark.parametrize(("mostly", "passed"), [(0.5, True), (0.6, False)])
def test_not_null_mostly_counts_all_rows(engine, load, mostly, passed):
    load({"value": pa.array([1, None, None, 4], pa.int64())})
    result = result_of(engine, m.NotNull(id="nn", column="value", mostly=mostly))
    assert (result.passed, result.failing_rows, result.evaluated_rows) == (passed, 2, 4)


# ---------------------------------------------------------------------------- expression


@pytest.mark.parametrize("column", COLUMNS)
def test_expression_fails_false_rows_and_passes_null_results(engine, load, column):
    load(
        {
            column: pa.array([1, 5, 7, 9, None, 2], pa.int64()),
            "cap": pa.array([5, 5, 5, 6, 1, None], pa.int64()),
        }
    )
    report = run(engine, m.Expression(id="ex", expression=f"{quote(engine, column)} <= cap"))
    # (7, 5) and (9, 6) fail; the two rows holding a null give NULL, which passes.
    # Samples show the columns the expression reads.
    samples = ({column: 7, "cap": 5}, {column: 9, "cap": 6})
    assert counts(report.results[0]) == (False, 2, 2, 6, samples)
    assert report.passed is False


def test_expression_passes(engine, load):
    load({"a": pa.array([1, 2, None], pa.int64()), "b": pa.array([2, 3, 4], pa.int64())})
    result = result_of(engine, m.Expression(id="ex", expression="a < b"))
    assert counts(result) == (True, 0, 0, 3, ())


@pytest.mark.spark_gap(
    EngineError,
    match=r"DATETIME_FIELD_OUT_OF_BOUNDS",
    reason="Spark SQL has no TRY(expression): under ANSI mode the row's error stops the "
    "whole validation (and without ANSI it would be NULL, which passes: a wrong result)",
)
def test_a_row_the_expression_cannot_be_evaluated_for_fails_without_stopping(engine, load):
    # make_date raises on month 13: that row fails; a NULL input still passes.
    load(
        {
            "year": pa.array([2013, 2013, None, 2013], pa.int64()),
            "month": pa.array([1, 13, 2, 2], pa.int64()),
            "day": pa.array([1, 1, 2, 28], pa.int64()),
        }
    )
    check = m.Expression(id="ex", expression="make_date(year, month, day) >= DATE '2013-01-01'")
    result = result_of(engine, check)
    assert counts(result) == (False, 1, 1, 4, ({"day": 1, "month": 13, "year": 2013},))


@pytest.mark.parametrize(("mostly", "passed"), [(0.75, True), (0.8, False)])
def test_expression_mostly(engine, load, mostly, passed):
    load({"a": pa.array([1, 2, 3, -1], pa.int64())})
    result = result_of(engine, m.Expression(id="ex", expression="a > 0", mostly=mostly))
    assert (result.passed, result.failing_rows, result.evaluated_rows) == (passed, 1, 4)


# ---------------------------------------------------------------------------- kind specifics


@pytest.mark.parametrize(
    ("arrow_type", "values", "declared", "failing", "samples"),
    [
        pytest.param(
            pa.float64(),
            [1.0, 1.5, None, 2.0, -3.0],
            INTEGER,
            1,
            (1.5,),
            id="double-1.5-is-not-integer",
        ),
        pytest.param(pa.float64(), [1e30, 7.0], INTEGER, 1, (1e30,), id="double-overflows-bigint"),
        pytest.param(
            pa.string(),
            ["12", "abc", None, "-7"],
            INTEGER,
            1,
            ("abc",),
            id="varchar-abc-is-not-integer",
        ),
        pytest.param(pa.string(), ["12"], INTEGER, 0, (), id="varchar-12-is-integer"),
        pytest.param(pa.int32(), [1, 2**31 - 1], INTEGER, 0, (), id="int32-is-integer"),
        pytest.param(
            pa.string(),
            ["2024-02-29", "2023-02-29", None],
            m.ColumnType(m.LogicalType.DATE),
            1,
            ("2023-02-29",),
            id="varchar-date",
        ),
        pytest.param(
            pa.decimal128(10, 2),
            [Decimal("1.20"), Decimal("1.25")],
            m.ColumnType(m.LogicalType.DECIMAL, 5, 1),
            1,
            (Decimal("1.25"),),
            id="decimal-scale-loss",
        ),
        pytest.param(
            pa.string(),
            ["1.5", "2"],
            INTEGER,
            1,
            ("1.5",),
            id="varchar-1.5-is-not-integer",
        ),
    ],
)
def test_type_check(engine, load, arrow_type, values, declared, failing, samples):
    load({"value": pa.array(values, arrow_type)})
    result = result_of(engine, m.TypeCheck(id="ty", column="value", type=declared))
    non_null = sum(v is not None for v in values)
    assert counts(result) == (failing == 0, failing, failing, non_null, samples)


@pytest.mark.parametrize(
    ("strict", "samples"),
    [(False, (0, 11)), (True, (0, 1, 10, 11))],
)
def test_range_strict_bounds(engine, load, strict, samples):
    load({"value": pa.array([0, 1, 5, 10, 11], pa.int64())})
    check = m.Range(id="r", column="value", min=1, max=10, strict_min=strict, strict_max=strict)
    result = result_of(engine, check)
    assert (result.failing_rows, result.samples) == (len(samples), samples)


def test_range_on_dates(engine, load):
    load({"value": pa.array([dt.date(2024, 1, 1), dt.date(2023, 12, 31), None])})
    result = result_of(engine, m.Range(id="r", column="value", min=dt.date(2024, 1, 1)))
    assert counts(result) == (False, 1, 1, 2, (dt.date(2023, 12, 31),))


def test_regex_searches_and_reads_numbers_as_text(engine, load):
    load({"s": pa.array(["abc", "xyz", None]), "n": pa.array([12, 345, None], pa.int64())})
    report = run(
        engine,
        m.Regex(id="search", column="s", pattern="b"),
        m.Regex(id="digits", column="n", pattern=r"^\d{2}$"),
    )
    assert [counts(r) for r in report.results] == [
        (False, 1, 1, 2, ("xyz",)),
        (False, 1, 1, 2, (345,)),
    ]


def test_accepted_values_with_no_values_fails_every_non_null(engine, load):
    load({"value": pa.array([1, 2, None], pa.int64())})
    result = result_of(engine, m.AcceptedValues(id="av", column="value", values=(None,)))
    assert counts(result) == (False, 2, 2, 2, (1, 2))


# ============================================================================ set-level kinds
# ---------------------------------------------------------------------------- unique


@pytest.mark.parametrize("column", COLUMNS)
def test_unique_counts_every_row_of_a_duplicated_key(engine, load, column):
    load({column: pa.array([3, 1, 1, 1, 2, 2, None, None, 4], pa.int64())})
    report = run(engine, m.Unique(id="u", column=column))
    # Keys 1 (x3) and 2 (x2) repeat: 5 rows fail. The two nulls are not duplicates.
    observed = {"duplicate_keys": 2, "duplicate_rows": 5}
    assert counts(report.results[0]) == (False, observed, 5, 7, (1, 2))
    assert report.passed is False


def test_unique_passes_with_repeated_nulls(engine, load):
    load({"value": pa.array([1, None, 2, None, 3], pa.int64())})
    observed = {"duplicate_keys": 0, "duplicate_rows": 0}
    assert counts(result_of(engine, m.Unique(id="u", column="value"))) == (
        True,
        observed,
        0,
        3,
        (),
    )


def test_unique_samples_the_five_smallest_keys(engine, load):
    load({"value": pa.array([7, 6, 5, 4, 3, 2, 1, 1, 2, 3, 4, 5, 6, 7, 8], pa.int64())})
    result = result_of(engine, m.Unique(id="u", column="value"))
    assert (result.failing_rows, result.samples) == (14, (1, 2, 3, 4, 5))


# ---------------------------------------------------------------------------- unique_combination


@pytest.mark.parametrize("column", COLUMNS)
def test_unique_combination(engine, load, column):
    load(
        {
            column: pa.array([1, 1, 1, None, None, 2, 2, 3], pa.int64()),
            "b": pa.array(["x", "x", "y", None, None, None, None, "z"]),
        }
    )
    report = run(engine, m.UniqueCombination(id="uc", keys=(column, "b")))
    # (1, x) and (2, null) repeat: 4 rows. The two all-null rows are ignored, also
    # in evaluated_rows (8 rows - 2).
    observed = {"duplicate_keys": 2, "duplicate_rows": 4}
    samples = ({column: 1, "b": "x"}, {column: 2, "b": None})
    assert counts(report.results[0]) == (False, observed, 4, 6, samples)
    assert report.passed is False


def test_struct_samples_order_a_null_field_last(engine, load):
    # DuckDB orders a struct's NULL field after every value (Spark, natively, before):
    # every engine gives DuckDB's order, so both list the same samples.
    load(
        {
            "a": pa.array([2, 2, 2, 2, None, None, 1, 1], pa.int64()),
            "b": pa.array([None, None, "a", "a", "z", "z", "q", "q"]),
        }
    )
    result = result_of(engine, m.UniqueCombination(id="uc", keys=("a", "b")))
    assert result.samples == (
        {"a": 1, "b": "q"},
        {"a": 2, "b": "a"},
        {"a": 2, "b": None},
        {"a": None, "b": "z"},
    )
    load({"a": pa.array([None, -1, -1, 9], pa.int64()), "b": pa.array([1, 2, None, 3], pa.int64())})
    result = result_of(engine, m.Expression(id="ex", expression="coalesce(a, b, 0) > 5"))
    assert result.samples == ({"a": -1, "b": 2}, {"a": -1, "b": None}, {"a": None, "b": 1})


def test_unique_combination_passes_with_repeated_all_null_keys(engine, load):
    load(
        {
            "a": pa.array([1, 1, None, None], pa.int64()),
            "b": pa.array(["x", "y", None, None]),
        }
    )
    observed = {"duplicate_keys": 0, "duplicate_rows": 0}
    result = result_of(engine, m.UniqueCombination(id="uc", keys=("a", "b")))
    assert counts(result) == (True, observed, 0, 2, ())


# ---------------------------------------------------------------------------- relationships


@pytest.mark.parametrize("column", COLUMNS)
def test_relationships_counts_orphan_rows(engine, load, column):
    field = f"parent {column}"
    load({column: pa.array([1, 2, 2, 3, None, 9, 8, 9], pa.int64())})
    load({field: pa.array([1, 2, None, 5], pa.int64())}, name="parent data")
    check = m.Relationships(id="rel", column=column, to="customers", field=field)
    report = run(engine, check, refs={"customers": "parent data"})
    # 3, 9, 8, 9 have no parent; the null child row passes and is not evaluated.
    assert counts(report.results[0]) == (False, 4, 4, 7, (3, 8, 9))
    assert report.passed is False


def test_relationships_passes(engine, load):
    load({"value": pa.array([1, None, 2, 2], pa.int64())})
    load({"id": pa.array([1, 2, 3], pa.int64())}, name="parent")
    check = m.Relationships(id="rel", column="value", to="parent", field="id")
    assert counts(result_of(engine, check, refs={"parent": "parent"})) == (True, 0, 0, 3, ())


def test_relationships_needs_a_bound_parent(engine, load):
    load({"value": pa.array([1], pa.int64())})
    check = m.Relationships(id="rel", column="value", to="parent", field="id")
    with pytest.raises(InputDataError, match="parent"):
        run(engine, check, refs={})


# ---------------------------------------------------------------------------- row_count


@pytest.mark.parametrize(
    ("low", "high", "passed"),
    [(3, None, True), (4, None, False), (None, 3, True), (None, 2, False), (1, 5, True)],
)
def test_row_count(engine, load, low, high, passed):
    # Rows holding nulls are rows; column names need quoting.
    load({name: pa.array([1, None, 3], pa.int64()) for name in COLUMNS})
    result = result_of(engine, m.RowCount(id="rc", min=low, max=high))
    assert counts(result) == (passed, 3, None, None, ())


# ---------------------------------------------------------------------------- null_rate


@pytest.mark.parametrize("column", COLUMNS)
@pytest.mark.parametrize(("max_rate", "passed"), [(0.5, True), (0.49, False)])
def test_null_rate(engine, load, column, max_rate, passed):
    load({column: pa.array([1, None, None, 4], pa.int64())})
    result = result_of(engine, m.NullRate(id="nr", column=column, max_rate=max_rate))
    assert counts(result) == (passed, 0.5, 2, 4, ())


def test_null_rate_is_rounded(engine, load):
    load({"value": pa.array([1, None, 3], pa.int64())})
    result = result_of(engine, m.NullRate(id="nr", column="value", max_rate=0.3))
    assert counts(result) == (False, 0.333333, 1, 3, ())


# ---------------------------------------------------------------------------- freshness

TWO_HOURS_AGO = NOW.replace(tzinfo=None) - dt.timedelta(hours=2)


@pytest.mark.parametrize("column", COLUMNS)
@pytest.mark.parametrize(("max_age", "passed"), [(3600, True), (3599, False)])
def test_freshness_judges_the_newest_value(engine, load, column, max_age, passed):
    # Naive timestamps are UTC; the newest is one hour before NOW; the null is ignored.
    values = [
        TWO_HOURS_AGO,
        NOW.replace(tzinfo=None) - dt.timedelta(hours=1),
        None,
        TWO_HOURS_AGO - dt.timedelta(days=3),
    ]
    load({column: pa.array(values, pa.timestamp("us"))})
    result = result_of(engine, m.Freshness(id="f", column=column, max_age_seconds=max_age))
    observed = {
        "newest": "2024-06-01T11:00:00+00:00",
        "age_seconds": 3600.0,
        "as_of": "2024-06-01T12:00:00+00:00",
    }
    assert counts(result) == (passed, observed, None, None, ())


@pytest.mark.parametrize(
    ("now", "passed", "age"),
    [
        (NOW, True, 7200.0),
        (NOW + dt.timedelta(seconds=1), False, 7201.0),
        # The same instant as NOW, given in another zone.
        (dt.datetime(2024, 6, 1, 14, 0, tzinfo=dt.timezone(dt.timedelta(hours=2))), True, 7200.0),
    ],
)
def test_freshness_uses_the_now_argument(engine, load, now, passed, age):
    load({"ts": pa.array([TWO_HOURS_AGO], pa.timestamp("us", tz="UTC"))})
    result = result_of(engine, m.Freshness(id="f", column="ts", max_age_seconds=7200), now=now)
    assert (result.passed, result.observed["age_seconds"]) == (passed, age)


def test_freshness_of_a_date_column_starts_at_midnight_utc(engine, load):
    load({"d": pa.array([dt.date(2024, 6, 1), None])})
    result = result_of(engine, m.Freshness(id="f", column="d", max_age_seconds=12 * 3600))
    assert (result.passed, result.observed["age_seconds"]) == (True, 43200.0)


def test_freshness_of_an_all_null_column_fails(engine, load):
    load({"ts": pa.array([None, None], pa.timestamp("us"))})
    result = result_of(engine, m.Freshness(id="f", column="ts", max_age_seconds=1e9))
    assert counts(result) == (False, None, None, None, ())


def test_freshness_needs_a_temporal_column(engine, load):
    load({"ts": pa.array(["2024-06-01"])})
    with pytest.raises(InputDataError, match="date or timestamp"):
        run(engine, m.Freshness(id="f", column="ts", max_age_seconds=60))


# ---------------------------------------------------------------------------- distribution

VALUES = [1, 2, 3, 4]
MEAN, STDDEV = statistics.mean(VALUES), statistics.stdev(VALUES)  # stdev: sample


@pytest.mark.parametrize("column", COLUMNS)
def test_distribution_passes(engine, load, column):
    load({column: pa.array([4, None, 2, 1, 3], pa.int64())})
    check = m.Distribution(
        id="d",
        column=column,
        mean_min=2.5,
        mean_max=2.5,
        stddev_min=1.29,
        stddev_max=1.30,
        max_share=0.25,
    )
    result = result_of(engine, check)
    # Every value is held once: the top share is 1/4 of the non-null rows, and the
    # tie goes to the smallest value.
    assert result.passed is True
    assert result.observed == {
        "mean": MEAN,
        "stddev": pytest.approx(STDDEV),
        "top_value": 1,
        "top_share": 0.25,
    }
    assert (result.failing_rows, result.evaluated_rows, result.samples) == (None, None, ())


@pytest.mark.parametrize(
    "bounds",
    [{"mean_min": 2.6}, {"mean_max": 2.4}, {"stddev_min": 1.3}, {"stddev_max": 1.29}],
)
def test_distribution_fails_outside_mean_or_stddev_bounds(engine, load, bounds):
    load({"value": pa.array([4, None, 2, 1, 3], pa.int64())})
    result = result_of(engine, m.Distribution(id="d", column="value", **bounds))
    assert result.passed is False
    assert result.samples == ()


@pytest.mark.parametrize("column", COLUMNS)
def test_distribution_max_share_over_non_null_rows(engine, load, column):
    # 5 holds 2 of the 4 non-null values: 0.5 (it would be 2/6 were nulls counted).
    load({column: pa.array([5, None, 1, 5, None, 2], pa.int64())})
    report = run(
        engine,
        m.Distribution(id="ok", column=column, max_share=0.5),
        m.Distribution(id="bad", column=column, max_share=0.49),
    )
    ok, bad = report.results
    observed = {"top_value": 5, "top_share": 0.5}
    assert (ok.passed, ok.observed, ok.samples) == (True, observed, ())
    assert (bad.passed, bad.observed, bad.samples) == (False, observed, (5,))


# ---------------------------------------------------------------------------- custom_sql


@pytest.mark.parametrize("column", COLUMNS)
def test_custom_sql_fails_on_returned_rows(engine, load, column):
    load(
        {
            column: pa.array([1, -2, 3, -4, None], pa.int64()),
            "label": pa.array(["a", "b", "c", "d", "e"]),
        }
    )
    q = quote(engine, column)
    report = run(
        engine,
        m.CustomSql(id="rows", sql=f"SELECT * FROM dataset WHERE {q} < 0"),
        m.CustomSql(id="one", sql=f"SELECT d.{q} FROM dataset AS d WHERE d.{q} < 0"),
        m.CustomSql(id="none", sql=f"SELECT * FROM dataset WHERE {q} > 100"),
    )
    rows, one, none = report.results
    # Samples are rows (tuples), or bare values when the query returns one column.
    assert (rows.passed, rows.observed, rows.failing_rows) == (False, 2, 2)
    assert sorted(rows.samples) == [(-4, "d"), (-2, "b")]
    assert (one.passed, one.observed, one.failing_rows, sorted(one.samples)) == (
        False,
        2,
        2,
        [-4, -2],
    )
    assert counts(none) == (True, 0, 0, None, ())
    assert report.passed is False


def test_custom_sql_samples_are_the_five_smallest(engine, load):
    load({"value": pa.array(range(20, 0, -1), pa.int64())})
    result = result_of(
        engine, m.CustomSql(id="cs", sql="SELECT value FROM dataset WHERE value > 3")
    )
    assert (result.failing_rows, result.samples) == (17, (4, 5, 6, 7, 8))


# ============================================================================ all kinds


@pytest.mark.parametrize(
    "kind",
    [
        "range",
        "relationships",
    ],
)
def test_samples_are_five_distinct_values(engine, load, kind):
    load({"value": pa.array([6, 5, 4, 3, 2, 2, 1, 1], pa.int64())})
    load({"id": pa.array([100], pa.int64())}, name="parent")
    check = (
        m.Range(id="chk", column="value", max=0)
        if kind == "range"
        else m.Relationships(id="chk", column="value", to="parent", field="id")
    )
    result = result_of(engine, check, refs={"parent": "parent"})
    assert (result.failing_rows, result.samples) == (8, (1, 2, 3, 4, 5))


EMPTY_CASES = {
    "not_null": (m.NotNull(id="c", column="v"), True, 0, 0, 0),
    "type": (m.TypeCheck(id="c", column="s", type=INTEGER), True, 0, 0, 0),
    "accepted_values": (m.AcceptedValues(id="c", column="s", values=("a",)), True, 0, 0, 0),
    "range": (m.Range(id="c", column="v", min=0), True, 0, 0, 0),
    "regex": (m.Regex(id="c", column="s", pattern="^a$"), True, 0, 0, 0),
    "length": (m.Length(id="c", column="s", max=1), True, 0, 0, 0),
    "expression": (m.Expression(id="c", expression="v > 0"), True, 0, 0, 0),
    "unique": (
        m.Unique(id="c", column="v"),
        True,
        {"duplicate_keys": 0, "duplicate_rows": 0},
        0,
        0,
    ),
    "unique_combination": (
        m.UniqueCombination(id="c", keys=("v", "s")),
        True,
        {"duplicate_keys": 0, "duplicate_rows": 0},
        0,
        0,
    ),
    "relationships": (m.Relationships(id="c", column="v", to="parent", field="id"), True, 0, 0, 0),
    "row_count": (m.RowCount(id="c", min=1), False, 0, None, None),
    "row_count_max": (m.RowCount(id="c", max=0), True, 0, None, None),
    "null_rate": (m.NullRate(id="c", column="v", max_rate=0.0), True, 0.0, 0, 0),
    # An empty column is not fresh.
    "freshness": (m.Freshness(id="c", column="t", max_age_seconds=1e9), False, None, None, None),
    # No mean to judge: a bounded mean fails; with no value, no share is too large.
    "distribution_mean": (
        m.Distribution(id="c", column="v", mean_min=0),
        False,
        {"mean": None},
        None,
        None,
    ),
    "distribution_share": (
        m.Distribution(id="c", column="v", max_share=0.1),
        True,
        {"top_value": None, "top_share": 0.0},
        None,
        None,
    ),
    "custom_sql": (m.CustomSql(id="c", sql="SELECT * FROM dataset"), True, 0, 0, None),
    # No run history given: not judged.
    "volume_anomaly": (
        m.VolumeAnomaly(id="c"),
        True,
        {"rows": 0, "mean": None, "change": None, "runs": 0},
        None,
        None,
    ),
    # Against the 2-row parent: 0 of 2 rows.
    "reconciliation": (
        m.Reconciliation(id="c", to="parent"),
        False,
        {"total": 0, "to_total": 2, "difference": 2, "relative_difference": 1.0},
        None,
        None,
    ),
}


@pytest.mark.parametrize("case", EMPTY_CASES)
def test_empty_input(engine, load, case):
    check, passed, observed, failing, evaluated = EMPTY_CASES[case]
    schema = pa.schema([("v", pa.int64()), ("s", pa.string()), ("t", pa.timestamp("us"))])
    load(schema.empty_table())
    load({"id": pa.array([1, 2], pa.int64())}, name="parent")
    report = run(engine, check, refs={"parent": "parent"})
    assert report.rows == 0
    assert counts(report.results[0]) == (passed, observed, failing, evaluated, ())


def test_every_kind_is_covered():
    covered = {type(case[0]).kind for case in EMPTY_CASES.values()}
    assert covered == set(m.CHECK_KINDS)


@pytest.mark.parametrize(
    ("severity", "report_passed"),
    [(m.Severity.CRITICAL, False), (m.Severity.WARNING, True), (m.Severity.INFO, True)],
)
def test_report_passed_respects_severity(engine, load, severity, report_passed):
    load({"value": pa.array([1, None], pa.int64())})
    report = run(
        engine,
        m.NotNull(id="fails", column="value", severity=severity),
        m.RowCount(id="passes", min=1),
    )
    assert [r.passed for r in report.results] == [False, True]
    assert report.passed is report_passed
    assert [r.check.id for r in report.failed_critical] == ([] if report_passed else ["fails"])


# ============================================================================ row_failures_select


@pytest.mark.parametrize("column", COLUMNS)
def test_row_failures_select_lists_the_failed_row_checks(engine, load, column):
    load(
        {
            "id": pa.array([1, 2, 3, 4, 5, 6], pa.int64()),
            column: pa.array([1, None, 20, 3, 3, 1], pa.int64()),
            "b": pa.array(["x", "x", "q", None, "y", "toolong"]),
            "c": pa.array([5, 5, 5, None, 1, 9], pa.int64()),
        }
    )
    checks = [
        m.NotNull(id="not_null", column=column),
        m.Range(id="range", column=column, max=10),
        m.AcceptedValues(id="accepted", column="b", values=("x", "y", "toolong")),
        m.Length(id="length", column="b", max=3),
        m.Expression(id="expr", expression=f"{quote(engine, column)} < c"),
        # Set-level: each fails on this data, and none may show up per row.
        m.Unique(id="unique", column=column),
        m.RowCount(id="row_count", min=100),
        m.CustomSql(id="custom", sql="SELECT * FROM dataset"),
    ]
    scope = Scope(table="dataset", columns=engine.columns("dataset"), dialect=engine.dialect)
    select = row_failures_select(compile_all(checks, scope), scope)
    rows = engine.query(select)
    failed = {row[0]: sorted(row[-1]) for row in rows}
    assert failed == {
        1: [],
        2: ["not_null"],  # null passes range and expression
        3: ["accepted", "expr", "range"],
        4: [],  # b and c null: every check passes
        5: ["expr"],
        6: ["length"],
    }
    assert [row[1:4] for row in sorted(rows)] == [
        (1, "x", 5),
        (None, "x", 5),
        (20, "q", 5),
        (3, None, None),
        (3, "y", 1),
        (1, "toolong", 9),
    ]
    columns = [e.alias_or_name for e in select.expressions]
    assert columns == ["*", FAILED_CHECKS_COLUMN]


def test_row_failures_select_without_row_level_checks(engine, load):
    load({"value": pa.array([1, 1, None], pa.int64())})
    checks = [m.Unique(id="unique", column="value"), m.RowCount(id="rc", min=10)]
    scope = Scope(table="dataset", columns=engine.columns("dataset"), dialect=engine.dialect)
    rows = engine.query(row_failures_select(compile_all(checks, scope), scope))
    assert sorted(rows, key=repr) == [(1, []), (1, []), (None, [])]


def test_failure_predicates_are_never_null(engine, load):
    load({"a": pa.array([1, None, 50], pa.int64()), "s": pa.array([None, "zz", "1.5x"])})
    checks = [
        m.NotNull(id="nn", column="a"),
        m.TypeCheck(id="ty", column="s", type=INTEGER),
        m.AcceptedValues(id="av", column="s", values=("zz",)),
        m.Range(id="rg", column="a", min=0, max=10),
        m.Regex(id="re", column="s", pattern="z"),
        m.Length(id="ln", column="s", max=1),
        m.Expression(id="ex", expression="a < 10"),
    ]
    scope = Scope(table="dataset", columns=engine.columns("dataset"), dialect=engine.dialect)
    compiled = compile_all(checks, scope)
    select = exp.select(*[c.failure.copy() for c in compiled]).from_(scope.source())
    for row in engine.query(select):
        assert all(isinstance(flag, bool) for flag in row), row


# ============================================================================ one aggregate scan


def test_aggregate_select_is_one_select_sharing_identical_aggregates(engine, load):
    load({"a": pa.array([1, None, 20, 3], pa.int64())})
    checks = [
        m.RowCount(id="rc", min=1),  # COUNT(*)
        m.NotNull(id="nn", column="a"),  # COUNT(*) as evaluated rows
        m.NullRate(id="nr", column="a", max_rate=0.5),  # COUNT(*) and COUNT(a)
        m.Unique(id="un", column="a"),  # COUNT(a)
        m.Range(id="rg", column="a", max=10),  # COUNT(a)
        m.Distribution(id="di", column="a", mean_max=100),  # COUNT(a), AVG(a)
    ]
    scope = Scope(table="dataset", columns=engine.columns("dataset"), dialect=engine.dialect)
    select, mappings = aggregate_select(compile_all(checks, scope), scope)
    rc, nn, nr, un, rg, di = mappings

    assert isinstance(select, exp.Select)
    assert len(list(select.find_all(exp.Select))) == 1
    assert select.find(exp.Join, exp.Subquery, exp.Union) is None
    assert [t.name for t in select.find_all(exp.Table)] == ["dataset"]
    assert select.find(exp.From).this.name == "dataset"

    count_star = "a0"
    assert rc[ROWS] == nn["evaluated"] == nr[ROWS] == count_star
    assert nr["present"] == un["evaluated"] == rg["evaluated"] == di["present"] != count_star
    aliases = [e.alias for e in select.expressions]
    assert aliases == [f"a{i}" for i in range(len(aliases))]
    assert {a for mapping in mappings for a in mapping.values()} == set(aliases)
    stars = [e for e in select.expressions if e.this == exp.Count(this=exp.Star())]
    assert len(stars) == 1
    # count_if for not_null and range, plus COUNT(*), COUNT(a), AVG(a); samples are
    # fetched afterwards, only for checks that failed.
    assert len(aliases) == 5

    (row,) = engine.query(select)
    by_alias = dict(zip(aliases, row, strict=True))
    assert (by_alias[count_star], by_alias[nr["present"]], by_alias[rg["failing"]]) == (4, 3, 1)


def test_evaluate_checks_scans_once_for_all_aggregates(engine, load, monkeypatch):
    load(
        {
            "a": pa.array([1, None, 2], pa.int64()),
            "s": pa.array(["1", "x", None]),
            "t": pa.array([TWO_HOURS_AGO] * 3, pa.timestamp("us")),
        }
    )
    queries: list[exp.Expression] = []
    real_query = engine.query

    def spy(expression: exp.Expression) -> list[tuple[Any, ...]]:
        queries.append(expression)
        return real_query(expression)

    monkeypatch.setattr(engine, "query", spy)
    aggregate_only = [
        m.NotNull(id="nn", column="a"),
        m.TypeCheck(id="ty", column="s", type=INTEGER),
        m.AcceptedValues(id="av", column="s", values=("1",)),
        m.Range(id="rg", column="a", max=1),
        m.Regex(id="re", column="s", pattern="x"),
        m.Length(id="ln", column="s", max=1),
        m.Expression(id="ex", expression="a > 1"),
        m.RowCount(id="rc", min=1),
        m.NullRate(id="nr", column="a", max_rate=0.5),
        m.Freshness(id="fr", column="t", max_age_seconds=3600),
        m.Distribution(id="di", column="a", mean_max=10, stddev_max=10),
    ]
    report = run(engine, *aggregate_only)
    scans = [q for q in queries if q.find(exp.Table)]  # the regex probe reads no table
    # The aggregate scan, plus one query fetching the samples of the failing row checks.
    assert len(scans) == 2
    assert not any(isinstance(e.this, exp.Filter) for e in scans[0].expressions)
    # DuckDB: one aggregate per failing check; Spark: one top-5 subquery per failing check.
    sample_kind = exp.Subquery if engine.dialect == "spark" else exp.Filter
    assert all(isinstance(e, sample_kind) for e in scans[1].expressions)
    assert [r.passed for r in report.results] == [
        False,
        False,
        True,  # s is declared an integer: 'x' fails its type check, not accepted_values
        False,
        False,
        True,
        False,
        True,
        True,
        False,
        True,
    ]
    queries.clear()
    run(engine, *aggregate_only, m.Unique(id="un", column="a"))
    scans = [q for q in queries if q.find(exp.Table)]
    assert len(scans) == 3  # the aggregate scan, the samples, plus the duplicate-key query
    queries.clear()
    passing = [m.RowCount(id="rc", min=1), m.NotNull(id="nn", column="t")]
    assert run(engine, *passing).passed
    assert len([q for q in queries if q.find(exp.Table)]) == 1  # clean data: one scan


def test_duplicate_check_ids_are_rejected(engine, load):
    load({"a": pa.array([1], pa.int64())})
    with pytest.raises(ConfigError, match="share the id"):
        run(engine, m.NotNull(id="x", column="a"), m.RowCount(id="x", min=1))


def test_regex_the_engine_cannot_run_is_a_config_error(engine, load):
    load({"s": pa.array(["a"])})
    # A back-reference: Python's re has it, neither RE2 (DuckDB) nor Java (Spark) does.
    with pytest.raises(ConfigError, match="cannot use the regular expression"):
        run(engine, m.Regex(id="re", column="s", pattern="(?P<x>a)(?P=x)"))


def test_a_look_ahead_is_a_config_error_on_duckdb_and_runs_on_spark(engine, load):
    # RE2 (DuckDB) has no look-arounds; Java's regex (Spark's RLIKE) has them.
    load({"s": pa.array(["ab", "ac", None])})
    check = m.Regex(id="re", column="s", pattern="a(?=b)")
    if engine.dialect == "duckdb":
        with pytest.raises(ConfigError, match="cannot use the regular expression"):
            run(engine, check)
    else:
        assert counts(result_of(engine, check)) == (False, 1, 1, 2, ("ac",))
