"""Rewritten statements for ``lakegate analyze --recommend``.

Each function takes the rule's context and the offending node of the statement as
written, transforms a copy of the tree with sqlglot and returns it (None when it
cannot produce a rewrite it can vouch for). The original tree is never changed.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.simplify import simplify
from sqlglot.optimizer.unnest_subqueries import unnest_subqueries

from lakegate.analyze.syntax import aggregate_aliases, select_of, split_and, uses_aggregate

if TYPE_CHECKING:
    from lakegate.analyze.engine import Context


def counterpart(copy: exp.Expr, original_root: exp.Expr, node: exp.Expr) -> exp.Expr:
    """The node of ``copy`` (a ``copy()`` of ``original_root``) at ``node``'s place."""
    path: list[tuple[str, int | None]] = []
    current: exp.Expr = node
    while current is not original_root:
        parent, key = current.parent, current.arg_key
        assert parent is not None and key is not None, "node is not under original_root"
        value = parent.args[key]
        path.append((key, current.index if isinstance(value, list) else None))
        current = parent
    target = copy
    for key, index in reversed(path):
        child = target.args[key]
        target = child[index] if index is not None else child
    return target


def _replace(ctx: Context, node: exp.Expr, new: exp.Expr) -> exp.Expr:
    """A copy of the statement with ``node`` replaced by ``new``."""
    tree = ctx.tree.copy()
    target = counterpart(tree, ctx.tree, node)
    if target is tree:
        return new
    target.replace(new)
    return tree


def expand_stars(ctx: Context) -> exp.Expr | None:
    """The statement with ``*`` expanded to the lake tables' columns (None when a star
    reads a table outside the lake)."""
    from lakegate.analyze.scans import qualified_copy

    tree = qualified_copy(ctx.statement, ctx.catalog, expand_stars=True, as_written=True)
    if tree is None or any(isinstance(p, exp.Star) for p in _projections(tree)):
        return None
    return tidy(tree)


def tidy(tree: exp.Expr) -> exp.Expr:
    """Undo the noise qualification adds: ``x AS x`` aliases, a table aliased as itself,
    and column qualifiers in a SELECT that reads a single table."""
    for table in list(tree.find_all(exp.Table)):
        if table.alias and table.alias == table.name:
            table.set("alias", None)
    for select in tree.find_all(exp.Select):
        source = select.args.get("from_") or select.args.get("from")
        for projection in select.expressions:
            if (
                isinstance(projection, exp.Alias)
                and isinstance(projection.this, exp.Column)
                and projection.alias == projection.this.name
            ):
                projection.replace(projection.this)
        if (
            source is not None
            and not select.args.get("joins")
            and isinstance(source.this, exp.Table)
        ):
            own = source.this.alias_or_name
            for column in select.find_all(exp.Column):
                # Only the table's own qualifier: an outer one is a correlation.
                if column.table == own and column.find_ancestor(exp.Select) is select:
                    column.set("table", None)
    return tree


def _projections(tree: exp.Expr) -> list[exp.Expr]:
    return [p for s in tree.find_all(exp.Select) for p in s.expressions]


def unnest_correlated(ctx: Context) -> exp.Expr | None:
    """Correlated subqueries turned into joins to grouped derived tables (sqlglot's
    ``unnest_subqueries``); None when some correlation is left."""
    try:
        tree = qualify(
            ctx.tree.copy(),
            dialect=ctx.dialect,
            validate_qualify_columns=False,
            quote_identifiers=False,
            identify=False,
        )
        tree = simplify(unnest_subqueries(tree), dialect=ctx.dialect)
    except (SqlglotError, KeyError, ValueError, AttributeError):
        return None
    from lakegate.analyze.syntax import scopes

    if any(s.is_correlated_subquery for s in scopes(tree)):
        return None
    return tidy(tree)


def without_order(ctx: Context, query: exp.Expr) -> exp.Expr:
    """The statement without ``query``'s ORDER BY."""
    tree = ctx.tree.copy()
    counterpart(tree, ctx.tree, query).set("order", None)
    return tree


def function_free_range(ctx: Context, comparison: exp.Expr) -> exp.Expr | None:
    """``YEAR(c) = 2024``, ``CAST(c AS DATE) = '2024-03-05'``, ``DATE(c) = ...`` and
    ``DATE_TRUNC('month', c) = '2024-03-01'`` as half-open ranges on the bare column."""
    if not isinstance(comparison, exp.EQ):
        return None
    wrapped, value = comparison.left, comparison.right
    if not isinstance(value, exp.Literal):
        wrapped, value = value, wrapped
    if not isinstance(value, exp.Literal):
        return None
    bounds = _range(wrapped, value)
    if bounds is None:
        return None
    column, low, high = bounds
    condition = exp.Paren(
        this=exp.and_(
            exp.GTE(this=column.copy(), expression=_date(low)),
            exp.LT(this=column.copy(), expression=_date(high)),
        )
    )
    return _replace(ctx, comparison, condition)


def _range(wrapped: exp.Expr, value: exp.Literal) -> tuple[exp.Column, dt.date, dt.date] | None:
    """``(column, first day, day after the last)`` that ``wrapped = value`` selects."""
    column = wrapped.this if isinstance(wrapped, exp.Func | exp.Cast) else None
    if isinstance(wrapped, exp.Year) and isinstance(column, exp.Column) and value.is_int:
        year = int(value.this)
        return column, dt.date(year, 1, 1), dt.date(year + 1, 1, 1)
    day = _parse_date(value)
    if day is None:
        return None
    is_date_cast = isinstance(wrapped, exp.Cast) and wrapped.to.is_type(exp.DataType.Type.DATE)
    if (is_date_cast or isinstance(wrapped, exp.Date | exp.TsOrDsToDate)) and isinstance(
        column, exp.Column
    ):
        return column, day, day + dt.timedelta(days=1)
    if isinstance(wrapped, exp.DateTrunc | exp.TimestampTrunc):
        unit = wrapped.args.get("unit")
        unit_name = (unit.name if unit is not None else "").lower()
        target = wrapped.this
        if not isinstance(target, exp.Column):
            return None
        if unit_name == "month" and day.day == 1:
            nxt = dt.date(day.year + day.month // 12, day.month % 12 + 1, 1)
            return target, day, nxt
        if unit_name == "year" and (day.month, day.day) == (1, 1):
            return target, day, dt.date(day.year + 1, 1, 1)
        if unit_name == "day":
            return target, day, day + dt.timedelta(days=1)
    return None


def _parse_date(value: exp.Literal) -> dt.date | None:
    if not value.is_string:
        return None
    try:
        return dt.date.fromisoformat(value.this)
    except ValueError:
        return None


def _date(day: dt.date) -> exp.Expr:
    return exp.cast(exp.Literal.string(day.isoformat()), exp.DataType.Type.DATE)


def merge_scalar_passes(ctx: Context, selects: list[exp.Select]) -> exp.Expr | None:
    """Scalar subqueries over one table, each with its own WHERE, as one pass:
    ``SELECT (SELECT COUNT(*) FROM t WHERE a) AS x, (SELECT SUM(v) FROM t WHERE b) AS y``
    becomes ``SELECT COUNT(CASE WHEN a THEN 1 END) AS x, SUM(CASE WHEN b THEN v END) AS y
    FROM t``. None for other shapes (UNION ALL of passes changes the result's shape)."""
    outer = selects[0].parent.parent if isinstance(selects[0].parent, exp.Subquery) else None
    if not isinstance(outer, exp.Alias | exp.Select):
        return None
    outer = outer if isinstance(outer, exp.Select) else outer.parent
    if not isinstance(outer, exp.Select) or (outer.args.get("from_") or outer.args.get("from")):
        return None
    # Conditions every pass shares stay in WHERE (so partitions are still pruned);
    # the others move into the CASE of their own aggregate.
    parts = [split_and(select.args["where"].this) for select in selects]
    shared = [c for c in parts[0] if all(_holds(c, other) for other in parts[1:])]
    projections: list[exp.Expr] = []
    for select, conditions in zip(selects, parts, strict=True):
        subquery = select.parent
        holder = subquery.parent if isinstance(subquery, exp.Subquery) else None
        if holder is not outer and not (isinstance(holder, exp.Alias) and holder.parent is outer):
            return None
        if len(select.expressions) != 1 or select.args.get("group"):
            return None
        aggregate = select.expressions[0].unalias()
        if not isinstance(aggregate, exp.AggFunc):
            return None
        own = [c for c in conditions if not _holds(c, shared)]
        name = holder.alias if isinstance(holder, exp.Alias) else select.expressions[0].alias
        projection = _conditional(aggregate, exp.and_(*own)) if own else aggregate.copy()
        projections.append(projection.as_(name) if name else projection)
    if len(projections) != len(outer.expressions):
        return None
    source = selects[0].args.get("from_") or selects[0].args.get("from")
    assert source is not None  # the rule only groups SELECTs with a FROM
    merged = exp.select(*projections).from_(source.this.copy())
    if shared:
        merged = merged.where(exp.and_(*(c.copy() for c in shared)), copy=False)
    return _replace(ctx, outer, merged)


def _holds(condition: exp.Expr, conditions: list[exp.Expr]) -> bool:
    """Whether ``condition`` is (structurally) one of ``conditions``."""
    return any(condition == other for other in conditions)


def _conditional(aggregate: exp.AggFunc, condition: exp.Expr) -> exp.Expr:
    """``AGG(x)`` as ``AGG(CASE WHEN condition THEN x END)``; ``COUNT(*)`` counts 1s."""
    new = aggregate.copy()
    argument = new.this
    value = exp.Literal.number(1) if isinstance(argument, exp.Star) else argument
    new.set("this", exp.Case(ifs=[exp.If(this=condition.copy(), true=value.copy())]))
    return new


def not_in_to_not_exists(ctx: Context, negation: exp.Not) -> exp.Expr | None:
    """``x NOT IN (SELECT c FROM t WHERE w)`` as
    ``NOT EXISTS (SELECT 1 FROM t WHERE w AND t.c = x)``."""
    membership = negation.this
    inner = select_of(membership.args["query"])
    if inner is None or len(inner.expressions) != 1 or inner.args.get("group"):
        return None
    source = inner.args.get("from_") or inner.args.get("from")
    if source is None or not isinstance(source.this, exp.Table):
        return None
    outer_select = negation.find_ancestor(exp.Select)
    inner = inner.copy()
    table = (inner.args.get("from_") or inner.args["from"]).this
    outer_value = membership.this.copy()
    outer_from = outer_select.args.get("from_") if outer_select else None
    outer_name = outer_from.this.alias_or_name if outer_from is not None else ""
    if not table.alias and table.name == outer_name:
        table.set("alias", exp.TableAlias(this=exp.to_identifier("_sub")))
    inner_name = table.alias_or_name
    if isinstance(outer_value, exp.Column) and not outer_value.table and outer_name:
        outer_value.set("table", exp.to_identifier(outer_name))
    projected = inner.expressions[0].unalias().copy()
    if isinstance(projected, exp.Column) and not projected.table:
        projected.set("table", exp.to_identifier(inner_name))
    inner.set("expressions", [exp.Literal.number(1)])
    inner = inner.where(exp.EQ(this=projected, expression=outer_value), copy=False)
    return _replace(ctx, negation, exp.Not(this=exp.Exists(this=inner)))


def null_comparison_fixed(ctx: Context, comparison: exp.Binary) -> exp.Expr:
    """``x = NULL`` as ``x IS NULL``; ``x <> NULL`` as ``x IS NOT NULL``."""
    left, right = comparison.left, comparison.right
    value = right if isinstance(left, exp.Null) else left
    test: exp.Expr = exp.Is(this=value.copy(), expression=exp.null())
    if isinstance(comparison, exp.NEQ):
        test = exp.Not(this=test)
    return _replace(ctx, comparison, test)


def having_to_where(ctx: Context, select: exp.Select) -> exp.Expr:
    """``select`` with its HAVING conjuncts that use no aggregate moved to WHERE."""
    tree = ctx.tree.copy()
    target = counterpart(tree, ctx.tree, select)
    assert isinstance(target, exp.Select)
    aliases = aggregate_aliases(target)
    keep: list[exp.Expr] = []
    move: list[exp.Expr] = []
    for conjunct in split_and(target.args["having"].this):
        (keep if uses_aggregate(conjunct, aliases) else move).append(conjunct)
    target.set("having", exp.Having(this=exp.and_(*keep)) if keep else None)
    for conjunct in move:
        target.where(conjunct.copy(), copy=False)
    return tree


def count_to_exists(ctx: Context, comparison: exp.Binary, *, build: bool) -> exp.Expr | bool:
    """For ``(SELECT COUNT(*) ...) > 0`` and its variants: the statement with EXISTS (or
    NOT EXISTS) when ``build``, else True; False when ``comparison`` is not one."""
    left, right = comparison.left, comparison.right
    flipped = False
    if isinstance(left, exp.Literal):
        left, right, flipped = right, left, True
    if not (isinstance(right, exp.Literal) and right.is_int and isinstance(left, exp.Subquery)):
        return False
    inner = select_of(left)
    if (
        inner is None
        or len(inner.expressions) != 1
        or not isinstance(inner.expressions[0].unalias(), exp.Count)
        or inner.args.get("group")
        or inner.args.get("having")
    ):
        return False
    number = int(right.this)
    op: type[exp.Expr] = type(comparison)
    if flipped:  # 0 < x is x > 0
        mirror: dict[type[exp.Expr], type[exp.Expr]] = {
            exp.GT: exp.LT,
            exp.LT: exp.GT,
            exp.GTE: exp.LTE,
            exp.LTE: exp.GTE,
        }
        op = mirror.get(op, op)
    exists: set[tuple[type[exp.Expr], int]] = {(exp.GT, 0), (exp.GTE, 1), (exp.NEQ, 0)}
    absent: set[tuple[type[exp.Expr], int]] = {(exp.EQ, 0), (exp.LT, 1), (exp.LTE, 0)}
    if (op, number) not in exists | absent:
        return False
    if not build:
        return True
    probe = inner.copy()
    probe.set("expressions", [exp.Literal.number(1)])
    test: exp.Expr = exp.Exists(this=probe)
    if (op, number) in absent:
        test = exp.Not(this=test)
    return _replace(ctx, comparison, test)
