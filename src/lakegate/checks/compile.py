"""Compile checks to sqlglot expression trees.

Each check becomes a :class:`Compiled` piece:

* ``aggregates`` - named aggregate expressions; the evaluator puts the
  aggregates of every check of a dataset into ONE ``SELECT`` (one scan),
  sharing identical ones (``COUNT(*)`` is computed once);
* ``queries`` - queries that need a pass of their own (duplicate keys,
  orphan foreign keys, the most common value, custom SQL, the other
  dataset's total of a reconciliation);
* ``failure`` - for row-level checks, a predicate that is TRUE exactly when
  a row fails (never NULL), used both for counting and for quarantining rows;
* ``evaluate`` - turns the fetched values into a :class:`CheckResult`.

Checks that judge values read a conformed column cast to its contract type
(:meth:`Scope.value`, :mod:`lakegate.checks.conform`); ``type`` and ``not_null``
read it as it is.

Identifiers are quoted and literals are built with ``exp.convert``, so no user
string is ever pasted into SQL text. User SQL (``expression``, ``custom_sql``)
is parsed by sqlglot and checked before it is used.
"""

from __future__ import annotations

import datetime as dt
import decimal
import difflib
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import sqlglot
from sqlglot import exp

from lakegate.checks import model as m
from lakegate.checks.conform import cast_failure, try_cast
from lakegate.checks.conform import engine_type as engine_type  # re-exported
from lakegate.checks.conform import type_accepts as type_accepts  # re-exported
from lakegate.checks.results import CheckResult
from lakegate.checks.samples import SAMPLE_SIZE, is_aggregate, smallest
from lakegate.errors import ConfigError, InputDataError
from lakegate.transform import parse_select

ROWS = "rows"  # the shared COUNT(*) aggregate every evaluation carries

Values = Mapping[str, Any]
QueryRows = Mapping[str, list[tuple[Any, ...]]]


@dataclass(frozen=True)
class Scope:
    """What a check is compiled against.

    Attributes:
        table: The engine's name for the dataset (a view or table).
        columns: ``{column: type}`` of the dataset, in the engine's types.
        refs: ``{check 'to' value: engine table name}`` for the other datasets that
            relationships and reconciliation checks read.
        now: Reference time for freshness (timezone-aware, UTC).
        dialect: The engine's sqlglot dialect (``duckdb``, ``spark``): user SQL is
            parsed in it, and the few trees the dialects need spelled differently
            (samples, a failing expression) are built for it.
        ref_columns: ``{engine table name: {column: type}}`` of the bound datasets,
            so checks can name their columns with the same errors as the dataset's.
        history: Row counts of the previous runs' batches, newest first (for
            volume_anomaly), or None when the caller has no run history.
        label: How error messages name the dataset.
        conform: ``{column: engine type}`` of the columns held in another type than
            the contract's (:func:`lakegate.checks.conform.conform_types`): the checks
            that judge values read them cast to that type (see :meth:`value`).
    """

    table: str
    columns: Mapping[str, exp.DataType]
    refs: Mapping[str, str] = field(default_factory=dict)
    now: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    dialect: str = "duckdb"
    ref_columns: Mapping[str, Mapping[str, exp.DataType]] = field(default_factory=dict)
    history: tuple[int, ...] | None = None
    label: str = "the data"
    conform: Mapping[str, exp.DataType] = field(default_factory=dict)

    def column(self, name: str, check_id: str) -> exp.Column:
        """A quoted reference to ``name``.

        Raises:
            InputDataError: The dataset has no such column (with close matches).
        """
        if name not in self.columns:
            close = difflib.get_close_matches(name, list(self.columns), n=3)
            hint = f"; did you mean {', '.join(map(repr, close))}?" if close else ""
            raise InputDataError(
                f"check {check_id!r} reads column {name!r}, which {self.label} does not have"
                f"{hint} (columns: {', '.join(self.columns)})"
            )
        return exp.column(name, quoted=True)

    def value(self, name: str, check_id: str) -> exp.Expr:
        """``name``'s values as the checks that judge values read them: the column, or
        ``TRY_CAST(column AS <contract type>)`` when it is conformed (a value that does
        not cast is NULL here and fails the column's type check).

        Raises:
            InputDataError: The dataset has no such column (with close matches).
        """
        return self.conformed(self.column(name, check_id), name)

    def conformed(self, reference: exp.Expr, name: str) -> exp.Expr:
        """``reference`` (a reference to column ``name``, possibly table-qualified) cast
        to the contract's type when the column is conformed, else as it is."""
        target = self.conform.get(name)
        return reference if target is None else try_cast(reference, target)

    def value_type(self, name: str) -> exp.DataType:
        """The engine type of :meth:`value` (the contract's type when conformed)."""
        return self.conform.get(name) or self.columns[name]

    def source(self) -> exp.Table:
        return exp.to_table(exp.to_identifier(self.table, quoted=True).sql(), dialect=self.dialect)

    def parent(self, to: str, check_id: str) -> Scope:
        """The scope of the dataset a check's ``to`` names.

        Raises:
            InputDataError: ``to`` is not bound in ``refs``.
        """
        if to not in self.refs:
            raise InputDataError(f"check {check_id!r}: dataset {to!r} (its 'to') is not bound")
        table = self.refs[to]
        return Scope(
            table=table,
            columns=self.ref_columns.get(table, {}),
            now=self.now,
            dialect=self.dialect,
            label=repr(to),
        )


@dataclass(frozen=True)
class Compiled:
    """A check compiled for one dataset (see the module docstring)."""

    check: m.Check
    aggregates: dict[str, exp.Expr]
    evaluate: Callable[[Values, QueryRows], CheckResult]
    queries: dict[str, exp.Query] = field(default_factory=dict)
    failure: exp.Expr | None = None
    sample: exp.Expr | None = None


def _count_if(predicate: exp.Expr) -> exp.Expr:
    return exp.CountIf(this=predicate)


def samples_aggregate(compiled: Compiled, scope: Scope) -> exp.Expr:
    """The expression fetching a row-level check's samples (see
    :func:`lakegate.checks.samples.smallest`: an aggregate over ``scope``'s table on
    DuckDB, a scalar subquery on Spark).

    Samples are not part of the shared scan: ``MIN(DISTINCT ...)`` there would make
    DuckDB materialise the scanned columns, and on clean data no check needs one.
    The evaluator fetches them for the checks that failed, in one follow-up query.
    """
    assert compiled.failure is not None and compiled.sample is not None
    return smallest(compiled.sample, scope.source(), compiled.failure, scope.dialect)


def _distinct_samples(values: Any) -> tuple[Any, ...]:
    out: list[Any] = []
    for v in values or ():
        if v not in out:
            out.append(v)
    return tuple(out)


def _mostly_passes(failing: int, evaluated: int, mostly: float) -> bool:
    """Great Expectations' rule: the passing share of evaluated rows is >= mostly."""
    if evaluated == 0:
        return True
    return (evaluated - failing) / evaluated >= mostly


def _row_check(
    check: m.Check,
    failure: exp.Expr,
    evaluated: exp.Expr,
    sample: exp.Expr,
    mostly: float,
    note: str | None = None,
) -> Compiled:
    # A constant FALSE failure (a type the data already has) costs nothing per row.
    never_fails = failure == exp.false()
    aggregates = {"evaluated": evaluated}
    if not never_fails:
        aggregates["failing"] = _count_if(failure)

    def evaluate(values: Values, _: QueryRows) -> CheckResult:
        failing, total = int(values.get("failing") or 0), int(values["evaluated"] or 0)
        return CheckResult(
            check=check,
            passed=_mostly_passes(failing, total, mostly),
            observed=failing,
            failing_rows=failing,
            evaluated_rows=total,
            samples=_distinct_samples(values.get("samples")),
            note=note,
        )

    if never_fails:
        return Compiled(check, aggregates, evaluate)
    return Compiled(check, aggregates, evaluate, failure=failure, sample=sample)


def _not_null(c: exp.Expr) -> exp.Expr:
    return exp.Not(this=exp.Is(this=c.copy(), expression=exp.Null()))


# ----------------------------------------------------------------------------- compilers


def _compile_not_null(check: m.NotNull, scope: Scope) -> Compiled:
    c = scope.column(check.column, check.id)
    failure = exp.Is(this=c, expression=exp.Null())
    return _row_check(
        check, failure, exp.Count(this=exp.Star()), c, check.mostly, note="evaluated over all rows"
    )


def _compile_type(check: m.TypeCheck, scope: Scope) -> Compiled:
    c = scope.column(check.column, check.id)
    physical = scope.columns[check.column]
    if type_accepts(check.type, physical):
        failure: exp.Expr = exp.false()
        note = f"stored as {physical.sql(scope.dialect)}"
    else:
        failure = cast_failure(check.type, c, physical)
        note = f"stored as {physical.sql(scope.dialect)}; each value cast to {check.type}"
    return _row_check(check, failure, exp.Count(this=c.copy()), c, check.mostly, note=note)


def _compile_accepted_values(check: m.AcceptedValues, scope: Scope) -> Compiled:
    c = scope.value(check.column, check.id)
    values = [exp.convert(v) for v in check.values if v is not None]
    failure = (
        exp.and_(_not_null(c), exp.Not(this=exp.In(this=c.copy(), expressions=values)))
        if values
        else _not_null(c)
    )
    return _row_check(check, failure, exp.Count(this=c.copy()), c, check.mostly)


def _compile_range(check: m.Range, scope: Scope) -> Compiled:
    c = scope.value(check.column, check.id)
    outside: list[exp.Expr] = []
    if check.min is not None:
        low = exp.convert(check.min)
        outside.append(
            exp.LTE(this=c.copy(), expression=low)
            if check.strict_min
            else exp.LT(this=c.copy(), expression=low)
        )
    if check.max is not None:
        high = exp.convert(check.max)
        outside.append(
            exp.GTE(this=c.copy(), expression=high)
            if check.strict_max
            else exp.GT(this=c.copy(), expression=high)
        )
    failure = (
        exp.and_(_not_null(c), exp.paren(exp.or_(*outside), copy=False)) if outside else exp.false()
    )
    return _row_check(check, failure, exp.Count(this=c.copy()), c, check.mostly)


def _as_text(c: exp.Expr, scope: Scope, column: str) -> exp.Expr:
    if scope.value_type(column).this in exp.DataType.TEXT_TYPES:
        return c.copy()
    return exp.Cast(this=c.copy(), to=exp.DataType.build("VARCHAR"))


def _compile_regex(check: m.Regex, scope: Scope) -> Compiled:
    c = scope.value(check.column, check.id)
    try:
        re.compile(check.pattern)
    except re.error as exc:
        raise ConfigError(
            f"check {check.id!r}: invalid regular expression {check.pattern!r}: {exc}"
        ) from None
    matches = exp.RegexpLike(
        this=_as_text(c, scope, check.column), expression=exp.Literal.string(check.pattern)
    )
    failure = exp.and_(_not_null(c), exp.Not(this=matches))
    return _row_check(check, failure, exp.Count(this=c.copy()), c, check.mostly)


def _compile_length(check: m.Length, scope: Scope) -> Compiled:
    c = scope.value(check.column, check.id)
    length = exp.Length(this=_as_text(c, scope, check.column))
    outside: list[exp.Expr] = []
    if check.min is not None:
        outside.append(exp.LT(this=length.copy(), expression=exp.convert(check.min)))
    if check.max is not None:
        outside.append(exp.GT(this=length.copy(), expression=exp.convert(check.max)))
    failure = (
        exp.and_(_not_null(c), exp.paren(exp.or_(*outside), copy=False)) if outside else exp.false()
    )
    return _row_check(check, failure, exp.Count(this=c.copy()), c, check.mostly)


def parse_condition(sql: str, scope: Scope, check_id: str, what: str = "expression") -> exp.Expr:
    """Parse a user's SQL boolean expression and check that it only reads columns.

    Args:
        sql: The user's text, e.g. ``amount > 0 AND status = 'paid'``.
        scope: The dataset whose columns it may name.
        check_id: For error messages.
        what: What the text is (``expression``, ``where``), for error messages.

    Raises:
        ConfigError: The text is not one SQL expression, or holds a subquery or
            a statement.
        InputDataError: It names a column the data lacks.
    """
    try:
        parsed = sqlglot.parse_one(sql, read=scope.dialect, into=exp.Condition)
    except sqlglot.errors.ParseError as exc:
        raise ConfigError(f"check {check_id!r}: cannot parse {what} {sql!r}: {exc}") from None
    if parsed.find(exp.Query, exp.DML, exp.Command, exp.Create, exp.Drop) is not None:
        raise ConfigError(f"check {check_id!r}: a {what} may not hold a query or statement")
    for col in parsed.find_all(exp.Column):
        if col.table:
            raise ConfigError(f"check {check_id!r}: use bare column names, not {col.sql()!r}")
        col.replace(scope.value(col.name, check_id))
    return parsed


def _compile_expression(check: m.Expression, scope: Scope) -> Compiled:
    condition = parse_condition(check.expression, scope, check.id)
    failure: exp.Expr = exp.Not(
        this=exp.Coalesce(this=exp.paren(condition), expressions=[exp.true()])
    )
    if scope.dialect == "duckdb":
        # A row the expression cannot be evaluated for (make_date(2013, 13, 1) raises)
        # fails, instead of the error stopping the whole validation: TRY gives NULL on
        # an error only, since the check inside is never NULL. (One TRY around it all:
        # DuckDB would hoist a subexpression shared by two TRYs out of them.)
        failure = exp.Coalesce(this=exp.Try(this=failure), expressions=[exp.true()])
    columns = sorted({c.name for c in condition.find_all(exp.Column)})
    sample: exp.Expr = (
        exp.Struct(
            expressions=[
                exp.PropertyEQ(
                    this=exp.to_identifier(n, quoted=True), expression=exp.column(n, quoted=True)
                )
                for n in columns
            ]
        )
        if columns
        else exp.Literal.number(1)
    )
    return _row_check(
        check,
        failure,
        exp.Count(this=exp.Star()),
        sample,
        check.mostly,
        note="evaluated over all rows; a null result passes, a row it cannot be "
        "evaluated for (an error) fails",
    )


def _duplicates_query(names: Sequence[str], scope: Scope, check_id: str) -> exp.Query:
    keys = [scope.value(name, check_id) for name in names]
    present = exp.or_(*[_not_null(k) for k in keys])
    key_value: exp.Expr = (
        keys[0].copy()
        if len(keys) == 1
        else exp.Struct(
            expressions=[
                exp.PropertyEQ(this=exp.to_identifier(name, quoted=True), expression=k.copy())
                for name, k in zip(names, keys, strict=True)
            ]
        )
    )
    groups = (
        exp.select(
            key_value.as_("k", quoted=True), exp.Count(this=exp.Star()).as_("n", quoted=True)
        )
        .from_(scope.source())
        .where(present)
        .group_by(*[k.copy() for k in keys])
        .having(exp.GT(this=exp.Count(this=exp.Star()), expression=exp.Literal.number(1)))
        .subquery(exp.to_identifier("d", quoted=True))
    )
    k, n = exp.column("k", quoted=True), exp.column("n", quoted=True)
    fields = (
        [exp.Dot(this=k.copy(), expression=exp.to_identifier(name, quoted=True)) for name in names]
        if len(keys) > 1
        else []
    )
    return exp.select(
        exp.Count(this=exp.Star()),
        exp.Sum(this=n),
        smallest(k, groups, None, scope.dialect, distinct=False, fields=fields),
    ).from_(groups.copy())


def _unique_result(check: m.Check, values: Values, rows: QueryRows) -> CheckResult:
    keys, dup_rows, samples = rows["duplicates"][0]
    return CheckResult(
        check=check,
        passed=int(keys) == 0,
        observed={"duplicate_keys": int(keys), "duplicate_rows": int(dup_rows or 0)},
        failing_rows=int(dup_rows or 0),
        evaluated_rows=int(values["evaluated"] or 0),
        samples=_distinct_samples(samples),
        note="failing rows count every row holding a duplicated key, not only the extra copies",
    )


def _compile_unique(check: m.Unique, scope: Scope) -> Compiled:
    c = scope.value(check.column, check.id)
    return Compiled(
        check,
        {"evaluated": exp.Count(this=c)},
        lambda values, rows: _unique_result(check, values, rows),
        queries={"duplicates": _duplicates_query([check.column], scope, check.id)},
    )


def _compile_unique_combination(check: m.UniqueCombination, scope: Scope) -> Compiled:
    keys = [scope.value(name, check.id) for name in check.keys]
    present = exp.or_(*[_not_null(k) for k in keys])
    return Compiled(
        check,
        {"evaluated": _count_if(present)},
        lambda values, rows: _unique_result(check, values, rows),
        queries={"duplicates": _duplicates_query(check.keys, scope, check.id)},
    )


def _compile_relationships(check: m.Relationships, scope: Scope) -> Compiled:
    c = scope.value(check.column, check.id)
    if check.to not in scope.refs:
        raise InputDataError(f"check {check.id!r}: parent dataset {check.to!r} is not bound")
    parent = exp.to_table(exp.to_identifier(scope.refs[check.to], quoted=True).sql()).as_(
        "parent", quoted=True
    )
    child_col = scope.conformed(exp.column(check.column, table="child", quoted=True), check.column)
    match = (
        exp.select(exp.Literal.number(1))
        .from_(parent)
        .where(
            exp.EQ(this=exp.column(check.field, table="parent", quoted=True), expression=child_col)
        )
    )
    child = scope.source().as_("child", quoted=True)
    orphan = exp.and_(_not_null(child_col), exp.Not(this=exp.Exists(this=match)))
    # An aggregate (DuckDB) reads this query's rows, the orphans already; a scalar
    # subquery (Spark) filters its own.
    only = None if is_aggregate(scope.dialect) else orphan
    samples = smallest(child_col, child, only, scope.dialect)
    orphans = (
        exp.select(exp.Count(this=exp.Star()), samples).from_(child.copy()).where(orphan.copy())
    )

    def evaluate(values: Values, rows: QueryRows) -> CheckResult:
        failing, samples = rows["orphans"][0]
        return CheckResult(
            check,
            passed=int(failing) == 0,
            observed=int(failing),
            failing_rows=int(failing),
            evaluated_rows=int(values["evaluated"]),
            samples=_distinct_samples(samples),
            note="failing rows count child rows whose value is missing in the parent",
        )

    return Compiled(check, {"evaluated": exp.Count(this=c)}, evaluate, queries={"orphans": orphans})


def _compile_row_count(check: m.RowCount, scope: Scope) -> Compiled:
    def evaluate(values: Values, _: QueryRows) -> CheckResult:
        n = int(values[ROWS])
        ok = (check.min is None or n >= check.min) and (check.max is None or n <= check.max)
        return CheckResult(check, passed=ok, observed=n)

    return Compiled(check, {ROWS: exp.Count(this=exp.Star())}, evaluate)


def _compile_null_rate(check: m.NullRate, scope: Scope) -> Compiled:
    c = scope.column(check.column, check.id)

    def evaluate(values: Values, _: QueryRows) -> CheckResult:
        total, present = int(values[ROWS]), int(values["present"])
        rate = (total - present) / total if total else 0.0
        return CheckResult(
            check,
            passed=rate <= check.max_rate,
            observed=round(rate, 6),
            failing_rows=total - present,
            evaluated_rows=total,
        )

    return Compiled(
        check, {ROWS: exp.Count(this=exp.Star()), "present": exp.Count(this=c)}, evaluate
    )


def _as_utc(value: Any) -> dt.datetime | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC)
    raise InputDataError(f"freshness needs a date or timestamp column, got {value!r}")


def _compile_freshness(check: m.Freshness, scope: Scope) -> Compiled:
    c = scope.value(check.column, check.id)
    physical = scope.value_type(check.column)
    if physical.this not in exp.DataType.TEMPORAL_TYPES:
        raise InputDataError(
            f"check {check.id!r}: freshness needs a date or timestamp column; "
            f"{check.column!r} is {physical.sql(scope.dialect)}"
        )

    def evaluate(values: Values, _: QueryRows) -> CheckResult:
        newest = _as_utc(values["newest"])
        if newest is None:
            return CheckResult(check, passed=False, observed=None, note="no value to judge")
        age = (scope.now - newest).total_seconds()
        return CheckResult(
            check,
            passed=age <= check.max_age_seconds,
            observed={
                "newest": newest.isoformat(),
                "age_seconds": round(age, 3),
                "as_of": scope.now.isoformat(),
            },
        )

    return Compiled(check, {"newest": exp.Max(this=c)}, evaluate)


def _compile_distribution(check: m.Distribution, scope: Scope) -> Compiled:
    c = scope.value(check.column, check.id)
    aggregates: dict[str, exp.Expr] = {"present": exp.Count(this=c.copy())}
    if check.mean_min is not None or check.mean_max is not None:
        aggregates["mean"] = exp.Avg(this=c.copy())
    if check.stddev_min is not None or check.stddev_max is not None:
        aggregates["stddev"] = exp.StddevSamp(this=c.copy())
    queries: dict[str, exp.Query] = {}
    if check.max_share is not None:
        queries["mode"] = (
            exp.select(c.copy(), exp.Count(this=exp.Star()))
            .from_(scope.source())
            .where(_not_null(c))
            .group_by(c.copy())
            .order_by(exp.Ordered(this=exp.Count(this=exp.Star()), desc=True), c.copy())
            .limit(1)
        )

    def within(value: float | None, low: float | None, high: float | None) -> bool:
        if value is None:
            return low is None and high is None
        return (low is None or value >= low) and (high is None or value <= high)

    def evaluate(values: Values, rows: QueryRows) -> CheckResult:
        observed: dict[str, Any] = {}
        ok = True
        if "mean" in aggregates:
            mean = None if values["mean"] is None else float(values["mean"])
            observed["mean"] = mean
            ok &= within(mean, check.mean_min, check.mean_max)
        if "stddev" in aggregates:
            sd = None if values["stddev"] is None else float(values["stddev"])
            observed["stddev"] = sd
            ok &= within(sd, check.stddev_min, check.stddev_max)
        samples: tuple[Any, ...] = ()
        if "mode" in queries:
            present = int(values["present"])
            top = rows["mode"][0] if rows["mode"] else None
            share = (int(top[1]) / present) if top and present else 0.0
            observed["top_value"], observed["top_share"] = (
                (top[0] if top else None),
                round(share, 6),
            )
            ok &= share <= (check.max_share or 0.0)
            samples = (top[0],) if top and share > (check.max_share or 0.0) else ()
        return CheckResult(check, passed=ok, observed=observed, samples=samples)

    return Compiled(check, aggregates, evaluate, queries=queries)


def parse_custom_query(sql: str, scope: Scope, check_id: str) -> exp.Query:
    """Parse a custom_sql check: one SELECT whose table ``dataset`` is the data checked.

    Raises:
        ConfigError: Not exactly one SELECT statement.
    """
    query = parse_select(sql, scope.dialect, f"check {check_id!r} (custom_sql)")
    for table in query.find_all(exp.Table):
        if table.name == "dataset" and not table.db:
            alias = table.alias or "dataset"
            table.replace(scope.source().as_(alias, quoted=True))
    return query


def _compile_custom_sql(check: m.CustomSql, scope: Scope) -> Compiled:
    user = parse_custom_query(check.sql, scope, check.id)
    failing = (
        exp.select(exp.Window(this=exp.Count(this=exp.Star())).as_("__n", quoted=True), exp.Star())
        .from_(user.subquery(exp.to_identifier("failing", quoted=True), copy=False))
        .order_by(exp.Ordered(this=exp.var("ALL")))  # the smallest rows: deterministic samples
        .limit(SAMPLE_SIZE)
    )

    def evaluate(_: Values, rows: QueryRows) -> CheckResult:
        found = rows["failing"]
        n = int(found[0][0]) if found else 0
        return CheckResult(
            check,
            passed=n == 0,
            observed=n,
            failing_rows=n,
            samples=tuple(r[1:] if len(r) > 2 else r[1] for r in found),
            note="failing rows are the rows the query returns",
        )

    return Compiled(check, {}, evaluate, queries={"failing": failing})


def _compile_volume_anomaly(check: m.VolumeAnomaly, scope: Scope) -> Compiled:
    previous = None if scope.history is None else scope.history[: check.runs]
    # Exact: a change of exactly max_change passes (2699 rows against a mean of 2699/3).
    limit = Fraction(str(check.max_change))

    def evaluate(values: Values, _: QueryRows) -> CheckResult:
        rows = int(values[ROWS])
        observed: dict[str, Any] = {"rows": rows, "mean": None, "change": None, "runs": 0}
        if not previous:
            note = "no run history" if previous is None else "no previous run"
            return CheckResult(check, passed=True, observed=observed, note=f"{note}: not judged")
        n, total = len(previous), sum(previous)
        # abs(rows - mean) / mean with mean = total / n; undefined for a mean of 0.
        change = Fraction(abs(rows * n - total), total) if total else None
        observed |= {
            "mean": total / n,
            "change": round(float(change), 6)
            if change is not None
            else (0.0 if not rows else None),
            "runs": n,
        }
        if n < check.min_runs:
            note = f"{n} previous run(s), fewer than min_runs {check.min_runs}: not judged"
            return CheckResult(check, passed=True, observed=observed, note=note)
        passed = change <= limit if change is not None else rows == 0
        note = f"change = abs(rows - mean) / mean over the previous {n} run(s)"
        if change is None:
            note += "; they averaged 0 rows, so only an empty batch passes"
        return CheckResult(check, passed=passed, observed=observed, note=note)

    return Compiled(check, {ROWS: exp.Count(this=exp.Star())}, evaluate)


def _measure(
    check: m.Reconciliation, scope: Scope, column: str | None, where: str | None
) -> exp.Expr:
    """The aggregate a reconciliation measures on one side: ``COUNT(*)``, ``COUNT(column)``
    or ``SUM(column)``, with ``FILTER (WHERE where)`` when a filter is given."""
    agg: exp.Expr
    if column is None:
        agg = exp.Count(this=exp.Star())
    else:
        c = scope.value(column, check.id)
        physical = scope.value_type(column)
        if check.measure == "sum" and physical.this not in exp.DataType.NUMERIC_TYPES:
            raise InputDataError(
                f"check {check.id!r}: reconciliation sums a numeric column; column "
                f"{column!r} of {scope.label} is {physical.sql(scope.dialect)}"
            )
        agg = exp.Sum(this=c) if check.measure == "sum" else exp.Count(this=c)
    if where is None:
        return agg
    condition = parse_condition(where, scope, check.id, what="where")
    return exp.Filter(this=agg, expression=exp.Where(this=condition))


Number = int | float | decimal.Decimal


def _number(value: Any) -> Number:
    """An engine total as a number (a NULL sum, over no rows, is 0)."""
    if value is None:
        return 0
    if isinstance(value, int | float | decimal.Decimal):
        return value
    return decimal.Decimal(str(value))


def _compare(mine: Number, theirs: Number, tolerance: float) -> tuple[Number, bool]:
    """``(abs(mine - theirs), whether it is <= tolerance * abs(theirs))``, exact for
    integers and decimals (a float total makes the comparison a float one)."""
    if isinstance(mine, float) or isinstance(theirs, float):
        difference = abs(float(mine) - float(theirs))
        return difference, difference <= tolerance * abs(float(theirs))
    exact = abs(decimal.Decimal(mine) - decimal.Decimal(theirs))
    within = exact <= decimal.Decimal(str(tolerance)) * abs(decimal.Decimal(theirs))
    if isinstance(mine, int) and isinstance(theirs, int):
        return int(exact), within
    return exact, within


def _compile_reconciliation(check: m.Reconciliation, scope: Scope) -> Compiled:
    total = _measure(check, scope, check.column, check.where)
    parent = scope.parent(check.to, check.id)
    to_total = _measure(check, parent, check.to_column or check.column, check.to_where)
    other = exp.select(to_total.as_("to_total", quoted=True)).from_(parent.source())
    tolerance = check.effective_tolerance

    def evaluate(values: Values, rows: QueryRows) -> CheckResult:
        mine, theirs = _number(values["total"]), _number(rows["to_total"][0][0])
        difference, within = _compare(mine, theirs, tolerance)
        if theirs:
            relative: float | None = round(float(difference) / abs(float(theirs)), 6)
        else:
            relative = None if difference else 0.0
        return CheckResult(
            check,
            passed=within,
            observed={
                "total": mine,
                "to_total": theirs,
                "difference": difference,
                "relative_difference": relative,
            },
            note=f"{check.measure} of this dataset against {check.to!r}, relative to "
            f"{check.to!r}'s total",
        )

    return Compiled(check, {"total": total}, evaluate, queries={"to_total": other})


_COMPILERS: dict[type[m.Check], Callable[[Any, Scope], Compiled]] = {
    m.NotNull: _compile_not_null,
    m.TypeCheck: _compile_type,
    m.AcceptedValues: _compile_accepted_values,
    m.Range: _compile_range,
    m.Regex: _compile_regex,
    m.Length: _compile_length,
    m.Expression: _compile_expression,
    m.Unique: _compile_unique,
    m.UniqueCombination: _compile_unique_combination,
    m.Relationships: _compile_relationships,
    m.RowCount: _compile_row_count,
    m.NullRate: _compile_null_rate,
    m.Freshness: _compile_freshness,
    m.Distribution: _compile_distribution,
    m.CustomSql: _compile_custom_sql,
    m.VolumeAnomaly: _compile_volume_anomaly,
    m.Reconciliation: _compile_reconciliation,
}


def compile_check(check: m.Check, scope: Scope) -> Compiled:
    """Compile one check against a dataset's scope.

    Raises:
        InputDataError: The check reads a column the data lacks.
        ConfigError: The check's user SQL or pattern is invalid.
    """
    return _COMPILERS[type(check)](check, scope)
