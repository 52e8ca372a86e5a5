"""Profile a table: per-column statistics for ``lakegate profile``.

Two queries, both built as sqlglot trees (every identifier quoted, every
literal made by sqlglot, no user text pasted into SQL):

1. **One aggregate SELECT** over the table computes the row count and, per
   column, the non-null and distinct counts, min/max, mean and sample standard
   deviation (numeric columns), min/max length in characters (string columns)
   and, for each known pattern, how many values do *not* match it.
2. **One exact top-values query**: ``GROUP BY GROUPING SETS ((a), (b), ...)``
   counts every value of every scalar column in a single pass, and a
   ``ROW_NUMBER()`` window keeps the most frequent values of each column.
   Exact rather than DuckDB's ``approx_top_k`` because the counts are then
   true counts, ties are broken by value, and the result is deterministic
   (the contract suggestion must be byte-identical on the same data and needs
   the complete list of values of low-cardinality columns for ``enum``);
   ``GROUPING SETS`` is standard SQL that sqlglot also writes for Spark.
   Columns with more than ``DOMAIN_LIMIT`` non-null values, all distinct, are
   left out of this query (every value occurs once, so their top values say
   nothing, and they would need the largest hash tables).

Patterns (checked in this order; the first that every non-null value matches
wins, and none is detected on a column without non-null values):

* ``uuid``, ``email``, ``date``: the contract formats' own regular expressions
  (:data:`lakegate.contracts.compile.FORMAT_PATTERNS`), so a detected pattern is
  exactly what the suggested contract will check;
* ``code``: 1 to 10 characters, each an upper-case ASCII letter or a digit
  (``^[A-Z0-9]{1,10}$``), e.g. carrier ``UA``, airport ``JFK``, tail number
  ``N14228``. Digits-only values (``10001``) are codes too; lower case,
  spaces and punctuation are not.

Regular expressions run on the engine (DuckDB's RE2), the engine that runs the
contract's checks. Non-text columns that map to ``string`` (UUID, TIME, BLOB,
...) are measured on their text form, as the checks read them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any

from sqlglot import exp

from lakegate.checks.compile import type_accepts
from lakegate.checks.model import ColumnType, LogicalType
from lakegate.checks.results import to_jsonable
from lakegate.contracts.compile import FORMAT_PATTERNS
from lakegate.engines import create_engine
from lakegate.engines.base import Engine
from lakegate.sources.files import Dataset

DATASET = "dataset"  # the table name profile_dataset registers

TOP_VALUES = 5
"""How many of the most frequent values a column profile keeps."""

DOMAIN_LIMIT = 20
"""A column with at most this many distinct values has all of them listed."""

PATTERNS: dict[str, str] = {
    "uuid": FORMAT_PATTERNS["uuid"],
    "email": FORMAT_PATTERNS["email"],
    "date": FORMAT_PATTERNS["date"],
    "code": r"^[A-Z0-9]{1,10}$",
}
"""Detectable patterns, in the order they are tried (see the module docstring)."""

# Tried in this order after decimals; the first whose type check accepts the engine type wins.
_SCALAR_ORDER = (
    LogicalType.INTEGER,
    LogicalType.NUMBER,
    LogicalType.BOOLEAN,
    LogicalType.DATE,
    LogicalType.TIMESTAMP,
    LogicalType.ARRAY,
    LogicalType.OBJECT,
)
_NUMERIC = {LogicalType.INTEGER, LogicalType.NUMBER, LogicalType.DECIMAL}
_NESTED = {LogicalType.ARRAY, LogicalType.OBJECT}


@dataclass(frozen=True)
class ColumnProfile:
    """Statistics of one column. Counts are in rows; lengths in characters.

    Attributes:
        name: The column's name.
        engine_type: The engine's type, as SQL text (``BIGINT``, ``DECIMAL(10, 2)``).
        logical_type: The contract type the engine type maps to (decimals keep
            precision and scale).
        null_count: Rows where the column is null.
        null_rate: ``null_count / rows`` (0.0 on an empty table).
        distinct_count: Distinct non-null values (exact); None for arrays and objects.
        min: Smallest non-null value (engine value), or None.
        max: Largest non-null value, or None.
        mean: Mean of a numeric column, or None.
        stddev: Sample standard deviation of a numeric column (None under 2 values).
        min_length: Shortest string length, for string columns.
        max_length: Longest string length, for string columns.
        top_values: Up to :data:`TOP_VALUES` ``(value, count)`` pairs, most
            frequent first, ties by ascending value. Empty for arrays and objects,
            and when more than :data:`DOMAIN_LIMIT` non-null values are all
            distinct (each occurs once: listing five of them says nothing).
        distinct_values: Every distinct non-null value, ascending, when there are
            at most :data:`DOMAIN_LIMIT`; else None.
        pattern: ``uuid``, ``email``, ``date`` or ``code`` when every non-null
            value matches it (see :data:`PATTERNS`), else None.
    """

    name: str
    engine_type: str
    logical_type: ColumnType
    null_count: int
    null_rate: float
    distinct_count: int | None = None
    min: Any = None
    max: Any = None
    mean: float | None = None
    stddev: float | None = None
    min_length: int | None = None
    max_length: int | None = None
    top_values: tuple[tuple[Any, int], ...] = ()
    distinct_values: tuple[Any, ...] | None = None
    pattern: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The column profile as JSON-friendly data (decimals add precision and scale)."""
        out = {f.name: to_jsonable(getattr(self, f.name)) for f in fields(self)}
        logical = self.logical_type
        out["logical_type"] = logical.name.value
        if logical.name is LogicalType.DECIMAL:
            out |= {"precision": logical.precision, "scale": logical.scale}
        out["top_values"] = [{"value": to_jsonable(v), "count": n} for v, n in self.top_values]
        return out


@dataclass(frozen=True)
class Profile:
    """The profile of one table.

    Attributes:
        label: How reports name the table (the input path, or the table name).
        rows: Rows in the table.
        columns: One profile per column, in the table's column order.
    """

    label: str
    rows: int
    columns: tuple[ColumnProfile, ...]

    def column(self, name: str) -> ColumnProfile:
        """The profile of column ``name``.

        Raises:
            KeyError: The table has no such column.
        """
        for column in self.columns:
            if column.name == name:
                return column
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        """The profile as JSON-friendly data (the shape of ``lakegate profile --format json``)."""
        return {
            "input": self.label,
            "rows": self.rows,
            "columns": [c.to_dict() for c in self.columns],
        }


def logical_type(dtype: exp.DataType) -> ColumnType:
    """The contract type an engine type maps to.

    Decimals keep precision and scale; otherwise the first of integer, number,
    boolean, date, timestamp, array, object whose contract type check accepts
    the engine type as it is (:func:`lakegate.checks.compile.type_accepts`, so
    the suggested type always passes); every other type (text, UUID, TIME,
    BLOB, BIT, ...) is ``string``, read as text.
    """
    if dtype.is_type(exp.DataType.Type.DECIMAL):
        params = [int(p.name) for p in dtype.expressions if p.name.isdigit()]
        if not params:
            return ColumnType(LogicalType.DECIMAL)
        return ColumnType(LogicalType.DECIMAL, params[0], params[1] if len(params) > 1 else 0)
    if dtype.is_type(exp.DataType.Type.BIT):  # a bit string, though sqlglot files it as integer
        return ColumnType(LogicalType.STRING)
    for kind in _SCALAR_ORDER:
        if type_accepts(ColumnType(kind), dtype):
            return ColumnType(kind)
    return ColumnType(LogicalType.STRING)


def profile_table(engine: Engine, table: str, *, label: str = "") -> Profile:
    """Profile the table ``table`` registered on ``engine``.

    Runs one aggregate scan for every statistic but the top values, and at most
    one grouping-sets scan for the top values (see the module docstring).

    Args:
        engine: An engine on which ``table`` is registered.
        table: The table's name in the engine.
        label: How the profile names the table (default: ``table``).

    Returns:
        The profile, columns in the table's order.

    Raises:
        EngineError: The engine failed to run a query.
        InputDataError: The table's data cannot be read.
    """
    types = engine.columns(table)
    source = exp.to_table(exp.to_identifier(table, quoted=True).sql(), dialect=engine.dialect)
    plans = [_ColumnPlan(name, dtype, logical_type(dtype)) for name, dtype in types.items()]
    select, slots = _aggregate_select(plans, source)
    row = engine.query(select)[0]
    rows = int(row[0])
    values = [{stat: row[i] for stat, i in slot.items()} for slot in slots]
    ranked = [p for p, v in zip(plans, values, strict=True) if _wants_top_values(p, v)]
    counts = _top_values(engine, ranked, source) if ranked else {}
    columns = tuple(
        _column_profile(p, v, rows, counts.get(p.name), engine.dialect)
        for p, v in zip(plans, values, strict=True)
    )
    return Profile(label=label or table, rows=rows, columns=columns)


def profile_dataset(dataset: Dataset, *, engine: Engine | None = None) -> Profile:
    """Profile a file, folder, glob or Delta table (see :func:`resolve_input`).

    Args:
        dataset: What to read.
        engine: An engine to use (default: a new DuckDB engine, closed afterwards).

    Returns:
        The profile, labelled with the dataset's label.

    Raises:
        InputDataError: The dataset cannot be read.
        EngineError: The engine failed to run a query.
    """
    own = engine is None
    engine = engine or create_engine()
    try:
        engine.register(DATASET, dataset)
        return profile_table(engine, DATASET, label=dataset.label)
    finally:
        if own:
            engine.close()


# ----------------------------------------------------------------------------- the aggregate scan


@dataclass(frozen=True)
class _ColumnPlan:
    name: str
    dtype: exp.DataType
    type: ColumnType

    @property
    def ref(self) -> exp.Column:
        return exp.column(self.name, quoted=True)

    def text(self) -> exp.Expression:
        """The column as text (the form regex and length checks read)."""
        if self.dtype.this in exp.DataType.TEXT_TYPES:
            return self.ref
        return exp.Cast(this=self.ref, to=exp.DataType.build("VARCHAR"))

    def aggregates(self) -> dict[str, exp.Expression]:
        """``{statistic: aggregate expression}`` for this column."""
        kind = self.type.name
        aggs: dict[str, exp.Expression] = {"present": exp.Count(this=self.ref)}
        if kind in _NESTED:
            return aggs
        aggs["distinct"] = exp.Count(this=exp.Distinct(expressions=[self.ref]))
        aggs["min"] = exp.Min(this=self.ref)
        aggs["max"] = exp.Max(this=self.ref)
        if kind in _NUMERIC:
            aggs["mean"] = exp.Avg(this=self.ref)
            aggs["stddev"] = exp.StddevSamp(this=self.ref)
        if kind is LogicalType.STRING:
            aggs["min_length"] = exp.Min(this=exp.Length(this=self.text()))
            aggs["max_length"] = exp.Max(this=exp.Length(this=self.text()))
            for pattern, regex in PATTERNS.items():
                matches = exp.RegexpLike(this=self.text(), expression=exp.Literal.string(regex))
                aggs[f"mismatch:{pattern}"] = exp.CountIf(this=exp.Not(this=matches))
        return aggs


def _aggregate_select(
    plans: Sequence[_ColumnPlan], source: exp.Table
) -> tuple[exp.Select, list[dict[str, int]]]:
    """One SELECT with every aggregate; per column, ``{statistic: position in the row}``.

    Position 0 is ``COUNT(*)``. Aliases are positional (``a0``, ``a1``, ...), so no
    column name ever becomes an alias.
    """
    expressions: list[exp.Expression] = [exp.Count(this=exp.Star())]
    slots: list[dict[str, int]] = []
    for plan in plans:
        slot = {}
        for stat, aggregate in plan.aggregates().items():
            slot[stat] = len(expressions)
            expressions.append(aggregate)
        slots.append(slot)
    aliased = [e.as_(f"a{i}", quoted=True) for i, e in enumerate(expressions)]
    return exp.select(*aliased).from_(source.copy()), slots


# ----------------------------------------------------------------------------- top values


def _wants_top_values(plan: _ColumnPlan, values: dict[str, Any]) -> bool:
    """Scalar columns with values, except more than DOMAIN_LIMIT values all distinct."""
    if plan.type.name in _NESTED or int(values["present"]) == 0:
        return False
    distinct, present = int(values["distinct"]), int(values["present"])
    return distinct < present or distinct <= DOMAIN_LIMIT


def _top_values_query(plans: Sequence[_ColumnPlan], source: exp.Table) -> exp.Select:
    """Per column, its DOMAIN_LIMIT + 1 most frequent values (one may be the null group).

    Rows are ``(k, v0, ..., vn, n, r)``: ``k`` is the column's position in ``plans``,
    ``v<k>`` its value (the other ``v`` are null), ``n`` the count, ``r`` the rank.
    """
    refs = [p.ref for p in plans]
    which = exp.Case(
        ifs=[
            exp.If(
                this=exp.EQ(
                    this=exp.Grouping(expressions=[ref.copy()]), expression=exp.Literal.number(0)
                ),
                true=exp.Literal.number(i),
            )
            for i, ref in enumerate(refs)
        ]
    )
    k, n, r = (exp.column(a, quoted=True) for a in ("k", "n", "r"))
    value_names = [f"v{i}" for i in range(len(refs))]
    grouped = (
        exp.select(
            which.as_("k", quoted=True),
            *[ref.copy().as_(v, quoted=True) for ref, v in zip(refs, value_names, strict=True)],
            exp.Count(this=exp.Star()).as_("n", quoted=True),
        )
        .from_(source.copy())
        .group_by(exp.GroupingSets(expressions=[exp.paren(ref.copy()) for ref in refs]))
    )
    order = [exp.Ordered(this=n.copy(), desc=True)] + [
        exp.Ordered(this=exp.column(v, quoted=True), nulls_first=False) for v in value_names
    ]
    rank = exp.Window(
        this=exp.RowNumber(), partition_by=[k.copy()], order=exp.Order(expressions=order)
    )
    ranked = exp.select(exp.Star(), rank.as_("r", quoted=True)).from_(grouped.subquery("g"))
    return (
        exp.select(exp.Star())
        .from_(ranked.subquery("ranked"))
        .where(exp.LTE(this=r, expression=exp.Literal.number(DOMAIN_LIMIT + 1)))
        .order_by(k.copy(), r.copy())
    )


def _top_values(
    engine: Engine, plans: Sequence[_ColumnPlan], source: exp.Table
) -> dict[str, list[tuple[Any, int]]]:
    """``{column: [(value, count), ...]}``, most frequent first, nulls left out."""
    out: dict[str, list[tuple[Any, int]]] = {p.name: [] for p in plans}
    for row in engine.query(_top_values_query(plans, source)):
        index, count = int(row[0]), int(row[-2])
        value = row[1 + index]
        if value is not None:
            out[plans[index].name].append((value, count))
    return out


# ----------------------------------------------------------------------------- assembly


def _column_profile(
    plan: _ColumnPlan,
    values: dict[str, Any],
    rows: int,
    counts: list[tuple[Any, int]] | None,
    dialect: str,
) -> ColumnProfile:
    present = int(values["present"])
    distinct = None if values.get("distinct") is None else int(values["distinct"])
    domain: tuple[Any, ...] | None = None
    if distinct is not None and distinct <= DOMAIN_LIMIT:
        domain = _ascending([v for v, _ in counts or ()])
    pattern = None
    if present > 0 and plan.type.name is LogicalType.STRING:
        pattern = next((p for p in PATTERNS if int(values[f"mismatch:{p}"]) == 0), None)
    return ColumnProfile(
        name=plan.name,
        engine_type=plan.dtype.sql(dialect=dialect),
        logical_type=plan.type,
        null_count=rows - present,
        null_rate=(rows - present) / rows if rows else 0.0,
        distinct_count=distinct,
        min=values.get("min"),
        max=values.get("max"),
        mean=_float(values.get("mean")),
        stddev=_float(values.get("stddev")),
        min_length=values.get("min_length"),
        max_length=values.get("max_length"),
        top_values=tuple(counts[:TOP_VALUES]) if counts else (),
        distinct_values=domain,
        pattern=pattern,
    )


def _ascending(values: list[Any]) -> tuple[Any, ...]:
    """``values`` sorted ascending; in the given order if they do not compare."""
    try:
        return tuple(sorted(values))
    except TypeError:
        return tuple(values)


def _float(value: Any) -> float | None:
    return None if value is None else float(value)
