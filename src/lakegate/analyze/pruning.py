"""Which data files a scan's filters can skip: partition pruning and min/max skipping.

A filter is judged against what the Delta log knows of one file: the exact value of
each partition column, and for other columns the smallest and largest non-null value
and the null count. :func:`outcomes` answers, for the rows of the file, two questions:
can the filter be TRUE for some row, and can it be FALSE for some row. A file is kept
when every filter can be TRUE. Both answers err towards "yes": whatever is not
understood (functions, casts of columns, column-to-column comparisons, strings whose
max statistic may be truncated, NaN) keeps the file, so the bytes estimated from the
kept files are never fewer than an engine would read.

Understood: ``=``, ``<>``, ``<``, ``<=``, ``>``, ``>=`` between a column and a literal
(either side; ``-1``, ``DATE '...'``, ``CAST('...' AS ...)`` and ``TRUE`` count as
literals), ``IN (literals)``, ``BETWEEN``, ``IS NULL``, and ``AND``, ``OR``, ``NOT``
and parentheses around them. SQL's NULL is respected: a comparison with a null value
is neither TRUE nor FALSE, so ``NOT`` swaps the two answers.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlglot import exp

# Both answers "yes": the filter is not understood.
UNKNOWN = (True, True)
# Delta writers truncate string statistics to a 32-character prefix; a max that long
# may be below the real max, so it bounds nothing.
STRING_STATS_PREFIX = 32
# A naive literal compared with UTC statistics (or the reverse) may be off by any
# time-zone offset: widen the file's range by the largest one.
TIME_ZONE_SLACK = dt.timedelta(hours=14)

_FLIP: dict[type[exp.Expr], type[exp.Expr]] = {
    exp.LT: exp.GT,
    exp.LTE: exp.GTE,
    exp.GT: exp.LT,
    exp.GTE: exp.LTE,
}


@dataclass(frozen=True)
class ColumnFacts:
    """What the log knows of one column in one file.

    Attributes:
        low: The smallest non-null value, or None when unknown (unbounded).
        high: The largest non-null value, or None when unknown (unbounded).
        values: False when every value is null.
        nulls: False when no value is null.
    """

    low: Any = None
    high: Any = None
    values: bool = True
    nulls: bool = True

    @classmethod
    def exact(cls, value: Any) -> ColumnFacts:
        """A partition column: one value (None: the null partition)."""
        if value is None:
            return cls(values=False, nulls=True)
        return cls(low=value, high=value, values=True, nulls=False)

    @classmethod
    def from_stats(
        cls, low: Any, high: Any, null_count: int | None, rows: int | None
    ) -> ColumnFacts:
        """A column's file statistics (any of them may be missing)."""
        all_null = null_count is not None and rows is not None and null_count >= rows
        if _unusable(low):
            low = None
        if _unusable(high) or (isinstance(high, str) and len(high) >= STRING_STATS_PREFIX):
            high = None
        return cls(
            low=low,
            high=high,
            values=not all_null,
            nulls=null_count is None or null_count > 0,
        )


Facts = Callable[[str], ColumnFacts | None]


def may_match(filters: list[exp.Expr], facts: Facts) -> bool:
    """Whether some row of a file can pass every filter (True when unsure).

    Args:
        filters: AND-ed conditions (sqlglot expressions) over the table's columns.
        facts: The file's :class:`ColumnFacts` by lowercase column name; None for a
            column nothing is known of.
    """
    return all(outcomes(f, facts)[0] for f in filters)


def outcomes(node: exp.Expr, facts: Facts) -> tuple[bool, bool]:
    """``(can be TRUE, can be FALSE)`` of the condition ``node`` over a file's rows."""
    if isinstance(node, exp.Paren):
        return outcomes(node.this, facts)
    if isinstance(node, exp.Not):
        can_true, can_false = outcomes(node.this, facts)
        return can_false, can_true
    if isinstance(node, exp.And):
        left, right = outcomes(node.left, facts), outcomes(node.right, facts)
        return left[0] and right[0], left[1] or right[1]
    if isinstance(node, exp.Or):
        left, right = outcomes(node.left, facts), outcomes(node.right, facts)
        return left[0] or right[0], left[1] and right[1]
    if isinstance(node, exp.Boolean):
        return bool(node.this), not node.this
    if isinstance(node, exp.Is) and isinstance(node.expression, exp.Null):
        column = _facts(node.this, facts)
        return UNKNOWN if column is None else (column.nulls, column.values)
    if isinstance(node, exp.Between):
        low = exp.GTE(this=node.this, expression=node.args.get("low"))
        high = exp.LTE(this=node.this, expression=node.args.get("high"))
        return outcomes(exp.And(this=low, expression=high), facts)
    if isinstance(node, exp.In):
        return _in(node, facts)
    if isinstance(node, exp.EQ | exp.NEQ | exp.LT | exp.LTE | exp.GT | exp.GTE):
        return _compare(node, facts)
    return UNKNOWN


def _compare(node: exp.Binary, facts: Facts) -> tuple[bool, bool]:
    kind: type[exp.Expr] = type(node)
    column, literal = node.this, node.expression
    if not isinstance(column, exp.Column):
        column, literal = literal, column
        kind = _FLIP.get(kind, kind)  # 3 < x is x > 3
    found = _facts(column, facts)
    if found is None or not _is_literal(literal):
        return UNKNOWN
    if not found.values:
        return False, False  # every value is null: the comparison is never TRUE nor FALSE
    bounds = _bounds(found, _literal(literal))
    if bounds is None:
        return UNKNOWN
    low, high, value = bounds
    try:
        return _range_outcomes(kind, low, high, value)
    except TypeError:
        return UNKNOWN


def _range_outcomes(kind: type[exp.Expr], low: Any, high: Any, value: Any) -> tuple[bool, bool]:
    """``(can be TRUE, can be FALSE)`` of ``x <kind> value`` for x in [low, high]
    (None bounds are unbounded)."""
    below = low is None or low < value  # some x < value
    at_or_below = low is None or low <= value
    above = high is None or high > value
    at_or_above = high is None or high >= value
    single = low is not None and high is not None and low == value == high
    if kind is exp.EQ:
        return at_or_below and at_or_above, not single
    if kind is exp.NEQ:
        return not single, at_or_below and at_or_above
    if kind is exp.LT:
        return below, at_or_above
    if kind is exp.LTE:
        return at_or_below, above
    if kind is exp.GT:
        return above, at_or_below
    return at_or_above, below  # GTE


def _in(node: exp.In, facts: Facts) -> tuple[bool, bool]:
    if any(node.args.get(k) is not None for k in ("query", "unnest", "field")):
        return UNKNOWN
    items = node.expressions
    found = _facts(node.this, facts)
    if found is None or not items or not all(_is_literal(i) for i in items):
        return UNKNOWN
    values = [_literal(i) for i in items]
    if any(v is None for v in values):
        return UNKNOWN  # x IN (1, NULL) is never FALSE: leave it to the engine
    if not found.values:
        return False, False
    can_true, all_false = False, True
    for value in values:
        bounds = _bounds(found, value)
        if bounds is None:
            return UNKNOWN
        try:
            eq_true, eq_false = _range_outcomes(exp.EQ, *bounds)
        except TypeError:
            return UNKNOWN
        can_true = can_true or eq_true
        all_false = all_false and eq_false
    # FALSE needs a value outside the list: only a single-valued file can rule it out.
    single = found.low is not None and found.low == found.high
    return can_true, all_false if single else True


def _facts(node: exp.Expr, facts: Facts) -> ColumnFacts | None:
    return facts(node.name.lower()) if isinstance(node, exp.Column) else None


def _is_literal(node: exp.Expr | None) -> bool:
    if isinstance(node, exp.Cast | exp.Neg | exp.Paren):
        return _is_literal(node.this)
    return isinstance(node, exp.Literal | exp.Boolean | exp.Null)


_NOT_UNDERSTOOD = object()  # a literal value that compares with nothing


def _literal(node: exp.Expr) -> Any:
    """The Python value of a literal: int, Decimal, str, bool, date, datetime or None;
    :data:`_NOT_UNDERSTOOD` for one whose value is not certain."""
    if isinstance(node, exp.Paren):
        return _literal(node.this)
    if isinstance(node, exp.Cast):
        return _cast(_literal(node.this), node.to)
    if isinstance(node, exp.Neg):
        inner = _literal(node.this)
        return -inner if isinstance(inner, int | Decimal) else _NOT_UNDERSTOOD
    if isinstance(node, exp.Boolean):
        return bool(node.this)
    if isinstance(node, exp.Null):
        return None
    text = str(node.this)
    if node.is_string:
        return text
    try:
        return int(text)
    except ValueError:
        try:
            return Decimal(text)
        except InvalidOperation:
            return _NOT_UNDERSTOOD


_T = exp.DataType.Type
_DATES = {_T.DATE, _T.DATE32}
_TIMESTAMPS = exp.DataType.TEMPORAL_TYPES - _DATES - {_T.TIME, _T.TIMETZ}


def _cast(value: Any, to: exp.DataType) -> Any:
    """``CAST(value AS to)`` for the casts whose result is certain; anything else is
    :data:`_NOT_UNDERSTOOD` (rounding rules differ between engines)."""
    if value is None:
        return None
    kind = to.this
    try:
        if kind in _DATES and isinstance(value, str):
            try:
                return dt.date.fromisoformat(value)
            except ValueError:
                return dt.datetime.fromisoformat(value).date()
        if kind in _TIMESTAMPS and isinstance(value, str):
            return dt.datetime.fromisoformat(value)
        if kind in exp.DataType.TEXT_TYPES:
            return value if isinstance(value, str) else _NOT_UNDERSTOOD
        if isinstance(value, str | int | Decimal) and not isinstance(value, bool):
            number = Decimal(value)
            exact = number == number.to_integral_value()
            if kind in exp.DataType.INTEGER_TYPES and exact:
                return int(number)
            if kind in exp.DataType.FLOAT_TYPES or (kind in exp.DataType.REAL_TYPES and exact):
                return number
    except (ValueError, InvalidOperation):
        pass
    return _NOT_UNDERSTOOD


def _bounds(found: ColumnFacts, value: Any) -> tuple[Any, Any, Any] | None:
    """``(low, high, value)`` in comparable types, or None when they are not."""
    sample = found.low if found.low is not None else found.high
    if sample is None:
        return None, None, value  # nothing known: unbounded either way
    converted = _coerce(value, sample)
    if converted is None:
        return None
    low, high = found.low, found.high
    if isinstance(sample, dt.datetime):
        low, high, converted, mixed = _same_zone(low, high, converted)
        if mixed:
            low = None if low is None else low - TIME_ZONE_SLACK
            high = None if high is None else high + TIME_ZONE_SLACK
    return low, high, converted


def _coerce(value: Any, like: Any) -> Any:
    """``value`` converted to the type of the statistic ``like`` as SQL would compare
    them; None when that is not certain."""
    try:
        if isinstance(like, bool) or isinstance(value, bool):
            return value if isinstance(value, bool) and isinstance(like, bool) else None
        if isinstance(like, int | float | Decimal):
            if isinstance(value, int | Decimal):
                return value
            return Decimal(value.strip()) if isinstance(value, str) else None
        if isinstance(like, str):
            return value if isinstance(value, str) else None
        if isinstance(like, dt.datetime):
            if isinstance(value, str):
                return dt.datetime.fromisoformat(value)
            if isinstance(value, dt.datetime):
                return value
            if isinstance(value, dt.date):
                return dt.datetime.combine(value, dt.time())
            return None
        if isinstance(like, dt.date):
            if isinstance(value, str):
                value = dt.datetime.fromisoformat(value)
            if isinstance(value, dt.datetime):
                # A date column compares as midnight: only a midnight value is a date.
                return value.date() if value.time() == dt.time() and not value.tzinfo else None
            return value if isinstance(value, dt.date) else None
    except (ValueError, InvalidOperation):
        return None
    return None


def _same_zone(low: Any, high: Any, value: dt.datetime) -> tuple[Any, Any, dt.datetime, bool]:
    """Bounds and value as naive UTC datetimes, and whether their zones disagreed."""
    sample = low if low is not None else high
    mixed = (sample.tzinfo is None) != (value.tzinfo is None)

    def naive(moment: dt.datetime | None) -> dt.datetime | None:
        if moment is None or moment.tzinfo is None:
            return moment
        return moment.astimezone(dt.UTC).replace(tzinfo=None)

    converted = naive(value)
    assert converted is not None
    return naive(low), naive(high), converted, mixed


def _unusable(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)


def file_facts(
    partition: Mapping[str, Any],
    minimum: Mapping[str, Any],
    maximum: Mapping[str, Any],
    null_count: Mapping[str, int | None],
    rows: int | None,
    *,
    stats: bool,
) -> dict[str, ColumnFacts]:
    """Every column's :class:`ColumnFacts` for one file, by lowercase name.

    Args:
        partition: ``{partition column: value}``.
        minimum: ``{column: min}`` (used when ``stats``).
        maximum: ``{column: max}`` (used when ``stats``).
        null_count: ``{column: nulls}`` (used when ``stats``).
        rows: The file's row count, if known.
        stats: False for partition pruning alone (min/max statistics ignored).
    """
    found: dict[str, ColumnFacts] = {}
    if stats:
        for name in {*minimum, *maximum, *null_count}:
            found[name.lower()] = ColumnFacts.from_stats(
                minimum.get(name), maximum.get(name), null_count.get(name), rows
            )
    for name, value in partition.items():
        found[name.lower()] = ColumnFacts.exact(value)
    return found
