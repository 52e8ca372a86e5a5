"""The distribution of each numeric column, for the HTML report's charts.

Two queries over the table, both sqlglot trees (identifiers quoted, literals
made by sqlglot, no user text pasted into SQL), whatever the number of columns:

1. **One aggregate SELECT** gives, per column, the non-null count, the count of
   finite values, min, max, mean and the quartiles (``QUANTILE_CONT`` in DuckDB,
   exact) of the finite values.
2. **One binning query** puts every finite value in one of at most ``bins``
   equal-width bins and counts them for every column in a single pass, with
   ``GROUP BY GROUPING SETS ((b0), (b1), ...)`` (the technique of
   :mod:`lakegate.profile.stats`).

Bins (see :class:`Bin`):

* integer columns whose values span at most ``bins`` integers get one bin per
  integer (``month`` gets 12 bins); wider integer columns get bins of a whole
  number of integers, ``ceil((max - min + 1) / bins)`` wide, so every bin holds
  the same count of possible values;
* other numeric columns (floating point, decimal) get ``bins`` bins of width
  ``(max - min) / bins``; a column with one distinct value gets one bin.

Arithmetic is in DOUBLE and the bin index is clamped to ``[0, bins - 1]``, so a
rounding error at an edge never loses a value: the bins' counts add up to the
column's finite values (its non-null values, for integer and decimal columns).
NaN and infinities of floating-point columns are counted apart (``non_finite``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlglot import exp

from lakegate.checks.model import LogicalType
from lakegate.engines.base import Engine
from lakegate.profile.stats import logical_type

DEFAULT_BINS = 32
"""How many bins a column's histogram has at most."""

_NUMERIC = {LogicalType.INTEGER, LogicalType.NUMBER, LogicalType.DECIMAL}
_FLOATS = {exp.DataType.Type.FLOAT, exp.DataType.Type.DOUBLE}
_MAX_DOUBLE = 1.7976931348623157e308
_STATS = ("present", "finite", "min", "max", "mean", "q1", "median", "q3")


@dataclass(frozen=True)
class Bin:
    """One histogram bar: values from ``lower`` (inclusive) to ``upper`` (exclusive).

    The last bin of a non-integer column also holds ``upper`` (the maximum); an
    integer column's bins hold the integers ``lower`` to ``upper - 1``.
    """

    lower: float
    upper: float
    count: int


@dataclass(frozen=True)
class ColumnChart:
    """The distribution of one numeric column.

    Attributes:
        column: The column's name.
        engine_type: The engine's type as SQL text (``BIGINT``, ``DOUBLE``).
        integer: Whether the column holds integers (bins are integer-aligned).
        rows: Rows in the table.
        nulls: Rows where the column is null.
        non_finite: NaN and infinite values (floating-point columns only).
        min: Smallest finite value, or None when there is none.
        max: Largest finite value, or None.
        mean: Mean of the finite values, or None.
        q1: First quartile (exact, interpolated), or None.
        median: Median, or None.
        q3: Third quartile, or None.
        bins: The histogram, ascending; empty when the column has no finite value.
    """

    column: str
    engine_type: str
    integer: bool
    rows: int
    nulls: int
    non_finite: int = 0
    min: float | None = None
    max: float | None = None
    mean: float | None = None
    q1: float | None = None
    median: float | None = None
    q3: float | None = None
    bins: tuple[Bin, ...] = ()

    @property
    def count(self) -> int:
        """Values in the histogram (the non-null, finite values)."""
        return sum(b.count for b in self.bins)


@dataclass(frozen=True)
class _Plan:
    """How one column is measured and binned."""

    name: str
    dtype: exp.DataType
    integer: bool
    floating: bool

    def value(self) -> exp.Expr:
        """The column as DOUBLE, null when not finite (NaN, +-inf)."""
        as_double: exp.Expr = exp.Cast(
            this=exp.column(self.name, quoted=True), to=exp.DataType.build("DOUBLE")
        )
        if not self.floating:
            return as_double
        finite = exp.Between(
            this=as_double.copy(),
            low=exp.Literal.number(-_MAX_DOUBLE),
            high=exp.Literal.number(_MAX_DOUBLE),
        )
        return exp.Case(ifs=[exp.If(this=finite, true=as_double)])

    def aggregates(self) -> list[exp.Expr]:
        """The aggregates in :data:`_STATS` order."""
        value = self.value()
        quartiles = [
            exp.PercentileCont(this=value.copy(), expression=exp.Literal.number(q))
            for q in (0.25, 0.5, 0.75)
        ]
        return [
            exp.Count(this=exp.column(self.name, quoted=True)),
            exp.Count(this=value.copy()),
            exp.Min(this=value.copy()),
            exp.Max(this=value.copy()),
            exp.Avg(this=value.copy()),
            *quartiles,
        ]


def numeric_columns(engine: Engine, table: str) -> list[str]:
    """The columns of ``table`` whose contract type is integer, number or decimal."""
    return [
        name
        for name, dtype in engine.columns(table).items()
        if logical_type(dtype).name in _NUMERIC
    ]


def column_charts(
    engine: Engine,
    table: str,
    columns: Sequence[str] | None = None,
    *,
    bins: int = DEFAULT_BINS,
) -> list[ColumnChart]:
    """The distribution of each numeric column of ``table`` (see the module docstring).

    Args:
        engine: An engine on which ``table`` is registered.
        table: The table's name in the engine.
        columns: Columns to chart, in this order; those that are not numeric
            (or not in the table) are left out. Default: every numeric column.
        bins: The most bins a histogram has (at least 1).

    Returns:
        One chart per numeric column, in the order of ``columns`` (or the table's).

    Raises:
        ValueError: ``bins`` is below 1.
        EngineError: The engine failed to run a query.
        InputDataError: The table's data cannot be read.
    """
    if bins < 1:
        raise ValueError(f"bins must be at least 1, got {bins}")
    types = engine.columns(table)
    wanted = list(types) if columns is None else [c for c in columns if c in types]
    plans = [
        _Plan(
            name,
            types[name],
            integer=logical_type(types[name]).name is LogicalType.INTEGER,
            floating=types[name].this in _FLOATS,
        )
        for name in dict.fromkeys(wanted)
        if logical_type(types[name]).name in _NUMERIC
    ]
    if not plans:
        return []
    source = exp.to_table(exp.to_identifier(table, quoted=True).sql(), dialect=engine.dialect)
    aggregates = [exp.Count(this=exp.Star())] + [a for p in plans for a in p.aggregates()]
    row = engine.query(
        exp.select(*[a.as_(f"a{i}", quoted=True) for i, a in enumerate(aggregates)]).from_(
            source.copy()
        )
    )[0]
    rows = int(row[0])
    stats = [
        dict(zip(_STATS, row[1 + i * len(_STATS) : 1 + (i + 1) * len(_STATS)], strict=True))
        for i in range(len(plans))
    ]
    edges = [_edges(p, s, bins) for p, s in zip(plans, stats, strict=True)]
    binned = [(p, e) for p, e in zip(plans, edges, strict=True) if e is not None]
    counts = _bin_counts(engine, binned, source) if binned else {}
    return [
        _chart(plan, stat, rows, edge, counts.get(plan.name, {}), engine.dialect)
        for plan, stat, edge in zip(plans, stats, edges, strict=True)
    ]


def _edges(plan: _Plan, stat: dict[str, Any], bins: int) -> tuple[float, float, int] | None:
    """``(lower, width, n)`` of a column's bins, or None when it has no finite value."""
    if stat["min"] is None or stat["max"] is None:
        return None
    low, high = float(stat["min"]), float(stat["max"])
    if plan.integer:
        span = high - low + 1
        width = float(max(1, math.ceil(span / bins)))
        return low, width, max(1, math.ceil(span / width))
    if high == low:
        return low, 1.0, 1
    return low, (high - low) / bins, bins


def _bin_index(plan: _Plan, lower: float, width: float, n: int) -> exp.Expr:
    """``GREATEST(0, LEAST(n - 1, FLOOR((value - lower) / width)))`` as an integer."""
    offset = exp.Sub(this=plan.value(), expression=exp.Literal.number(repr(lower)))
    index = exp.Floor(
        this=exp.Div(this=exp.paren(offset), expression=exp.Literal.number(repr(width)))
    )
    clamped = exp.Greatest(
        this=exp.Literal.number(0),
        expressions=[exp.Least(this=exp.Literal.number(n - 1), expressions=[index])],
    )
    return exp.Cast(this=clamped, to=exp.DataType.build("INT"))


def _bin_counts(
    engine: Engine, binned: Sequence[tuple[_Plan, tuple[float, float, int]]], source: exp.Table
) -> dict[str, dict[int, int]]:
    """``{column: {bin index: count}}`` from one grouping-sets query.

    Rows are ``(k, b0, ..., bn, count)``: ``k`` is the column's position in
    ``binned``, ``b<k>`` its bin (the other ``b`` are null); a null ``b<k>`` is
    the group of the column's nulls and non-finite values, left out.
    """
    names = [f"b{i}" for i in range(len(binned))]
    refs = [exp.column(name, quoted=True) for name in names]
    inner = exp.select(
        *[
            _bin_index(plan, *edge).as_(name, quoted=True)
            for (plan, edge), name in zip(binned, names, strict=True)
        ]
    ).from_(source.copy())
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
    query = (
        exp.select(
            which.as_("k", quoted=True),
            *[ref.copy() for ref in refs],
            exp.Count(this=exp.Star()).as_("n", quoted=True),
        )
        .from_(inner.subquery("binned"))
        .group_by(exp.GroupingSets(expressions=[exp.paren(ref.copy()) for ref in refs]))
    )
    out: dict[str, dict[int, int]] = {plan.name: {} for plan, _ in binned}
    for row in engine.query(query):
        k = int(row[0])
        index = row[1 + k]
        if index is not None:
            out[binned[k][0].name][int(index)] = int(row[-1])
    return out


def _chart(
    plan: _Plan,
    stat: dict[str, Any],
    rows: int,
    edge: tuple[float, float, int] | None,
    counts: dict[int, int],
    dialect: str,
) -> ColumnChart:
    present = int(stat["present"])
    bins: tuple[Bin, ...] = ()
    if edge is not None:
        lower, width, n = edge
        last = float(stat["max"]) + (1 if plan.integer else 0)
        bins = tuple(
            Bin(
                lower=lower + i * width,
                upper=last if i == n - 1 else lower + (i + 1) * width,
                count=counts.get(i, 0),
            )
            for i in range(n)
        )
    return ColumnChart(
        column=plan.name,
        engine_type=plan.dtype.sql(dialect=dialect),
        integer=plan.integer,
        rows=rows,
        nulls=rows - present,
        non_finite=present - int(stat["finite"]),
        min=_float(stat["min"]),
        max=_float(stat["max"]),
        mean=_float(stat["mean"]),
        q1=_float(stat["q1"]),
        median=_float(stat["median"]),
        q3=_float(stat["q3"]),
        bins=bins,
    )


def _float(value: Any) -> float | None:
    return None if value is None else float(value)
