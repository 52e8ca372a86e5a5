"""Samples: the few smallest distinct values of the rows a check fails, per dialect.

A failing check shows up to :data:`SAMPLE_SIZE` of its failing values, the smallest
first, so the same data always gives the same samples. Engines spell that differently:

* DuckDB has a bounded aggregate for it, ``MIN(DISTINCT value, 5) FILTER (WHERE
  failing)`` (a list of the 5 smallest), which shares its scan with other aggregates.
* Spark has none (sqlglot writes ``MIN(x, n)`` as ``LEAST(x, n)``, a row function, and
  ``COLLECT_SET`` would hold every failing value in one task). Spark reads them with a
  scalar subquery, ``(SELECT ARRAY_SORT(COLLECT_LIST(value)) FROM (SELECT value FROM
  source WHERE failing AND value IS NOT NULL GROUP BY value ORDER BY value LIMIT 5))``:
  a distinct aggregation (which spills) and a top-5 sort, so memory stays bounded
  however many rows fail. The subquery scans ``source`` once more. A struct (the
  columns an expression reads, a combination of keys) is ordered field by field with
  NULL last, as DuckDB orders it (Spark, natively, puts a NULL field first).

Both give the same list: distinct non-null values in ascending order, at most 5 (NULL
on DuckDB and an empty list on Spark when no value fails; both read as no sample).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlglot import exp

SAMPLE_SIZE = 5
_VALUE = "v"  # the sampled value's column in the Spark subqueries
_ORDER = "o"  # its ordering key, for structs


def smallest(
    value: exp.Expr,
    source: exp.Expr,
    predicate: exp.Expr | None,
    dialect: str,
    *,
    distinct: bool = True,
    fields: Sequence[exp.Expr] = (),
) -> exp.Expr:
    """The SAMPLE_SIZE smallest distinct non-null ``value`` among the rows of ``source``
    for which ``predicate`` is true, as an expression of a query that reads ``source``.

    Args:
        value: The sampled expression (a column, a cast, a struct), over ``source``'s
            columns.
        source: What the rows come from: a table (optionally aliased) or a subquery
            with an alias.
        predicate: The failing-row condition (never NULL), or None for every row.
        dialect: The sqlglot dialect the query is written in (``duckdb``, ``spark``).
        distinct: False when the values are distinct already (group keys): DuckDB then
            skips the DISTINCT.
        fields: When ``value`` is a struct column, its fields (expressions over
            ``source``); a struct built in place (``exp.Struct``) gives its own. Spark
            orders a struct's NULL field before any value and DuckDB after, so on Spark
            structs are ordered by ``(field IS NULL, field)`` per field, as DuckDB orders
            them.

    Returns:
        On DuckDB an aggregate (``MIN(DISTINCT value, 5) FILTER (WHERE predicate)``),
        to be selected FROM ``source``; on Spark a scalar subquery that reads ``source``
        itself, so it may stand in any query's select list (or one without FROM).
        Either evaluates to a list.
    """
    if dialect != "spark":
        arg: exp.Expr = exp.Distinct(expressions=[value.copy()]) if distinct else value.copy()
        least: exp.Expr = exp.Min(this=arg, expressions=[exp.Literal.number(SAMPLE_SIZE)])
        if predicate is None:
            return least
        return exp.Filter(this=least, expression=exp.Where(this=predicate.copy()))
    present = exp.Not(this=exp.Is(this=value.copy(), expression=exp.Null()))
    where = present if predicate is None else exp.and_(predicate.copy(), present)
    if isinstance(value, exp.Struct) and not fields:
        fields = [e.expression if isinstance(e, exp.PropertyEQ) else e for e in value.expressions]
    if not fields:
        return _spark_smallest(value, source, where, distinct)
    return _spark_smallest_struct(value, source, where, distinct, fields)


def _spark_smallest(value: exp.Expr, source: exp.Expr, where: exp.Expr, distinct: bool) -> exp.Expr:
    """``(SELECT ARRAY_SORT(COLLECT_LIST(v)) FROM (SELECT value AS v ... GROUP BY value
    ORDER BY value LIMIT 5))`` for a scalar value (never NULL here)."""
    rows = exp.select(value.copy().as_(_VALUE, quoted=True)).from_(source.copy()).where(where)
    if distinct:
        rows = rows.group_by(value.copy())
    top = rows.order_by(value.copy()).limit(SAMPLE_SIZE).subquery(_alias("top"), copy=False)
    listed = exp.select(exp.ArraySort(this=exp.ArrayAgg(this=_col(_VALUE)))).from_(top)
    return exp.Subquery(this=listed)


def _spark_smallest_struct(
    value: exp.Expr,
    source: exp.Expr,
    where: exp.Expr,
    distinct: bool,
    fields: Sequence[exp.Expr],
) -> exp.Expr:
    """The struct case: each value carries ``o``, a struct of ``(field IS NULL, field)``
    per field that orders as DuckDB orders the value; the list is sorted by ``o``."""
    order = exp.Struct(
        expressions=[
            exp.PropertyEQ(this=_alias(f"o{i}"), expression=part)
            for i, part in enumerate(
                p for f in fields for p in (exp.Is(this=f.copy(), expression=exp.Null()), f.copy())
            )
        ]
    )
    rows = (
        exp.select(value.copy().as_(_VALUE, quoted=True), order.as_(_ORDER, quoted=True))
        .from_(source.copy())
        .where(where)
        .subquery(_alias("rows"), copy=False)
    )
    top = exp.select(_col(_VALUE), _col(_ORDER)).from_(rows)
    if distinct:
        top = top.group_by(_col(_VALUE), _col(_ORDER))
    ranked = top.order_by(_col(_ORDER)).limit(SAMPLE_SIZE).subquery(_alias("top"), copy=False)
    pairs = exp.Struct(
        expressions=[
            exp.PropertyEQ(this=_alias(_ORDER), expression=_col(_ORDER)),
            exp.PropertyEQ(this=_alias(_VALUE), expression=_col(_VALUE)),
        ]
    )
    element = exp.to_identifier("x")
    values = exp.Transform(
        this=exp.ArraySort(this=exp.ArrayAgg(this=pairs)),
        expression=exp.Lambda(
            this=exp.column(_VALUE, table=element.copy(), quoted=True), expressions=[element]
        ),
    )
    return exp.Subquery(this=exp.select(values).from_(ranked))


def _alias(name: str) -> exp.Identifier:
    return exp.to_identifier(name, quoted=True)


def _col(name: str) -> exp.Column:
    return exp.column(name, quoted=True)


def is_aggregate(dialect: str) -> bool:
    """True when :func:`smallest` gives an aggregate in ``dialect`` (it then needs a
    query over the source rows; on Spark it is a self-contained scalar subquery)."""
    return dialect != "spark"
