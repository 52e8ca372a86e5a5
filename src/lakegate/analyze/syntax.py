"""Small questions the rules ask of sqlglot trees (is this constant, which columns does
a function wrap, which conditions filter this SELECT, ...)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.optimizer.scope import Scope, traverse_scope

from lakegate.transform import LAKE_SCHEMA

COMPARISONS = (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.Between, exp.In)
# Operators that wrap a column as surely as a function does.
_ARITHMETIC = (exp.Add, exp.Sub, exp.Mul, exp.Div, exp.DPipe, exp.Mod)


def scopes(tree: exp.Expr) -> list[Scope]:
    """sqlglot's scopes of ``tree`` (empty when it has none, e.g. DDL, or cannot be built)."""
    try:
        return list(traverse_scope(tree))
    except (SqlglotError, KeyError, ValueError, AttributeError):
        return []


def physical_sources(scope: Scope, *, pipeline_stage: bool) -> dict[str, str]:
    """``{alias: table name}`` of the stored tables a scope selects from: not CTEs or
    derived tables, and in a pipeline stage only ``lake.<table>`` (the batch and the
    earlier stages are in memory)."""
    out: dict[str, str] = {}
    for alias, source in scope.selected_sources.items():
        node = source[0] if isinstance(source, tuple) else source
        target = source[1] if isinstance(source, tuple) else source
        if not isinstance(target, exp.Table) or not isinstance(node, exp.Table):
            continue
        if not isinstance(node.this, exp.Identifier):
            continue  # a table function
        if pipeline_stage and node.db != LAKE_SCHEMA:
            continue
        out[alias] = ".".join(p.name for p in node.parts)
    return out


def conjuncts(select: exp.Select, *, joins_too: bool = True) -> list[tuple[exp.Expr, bool]]:
    """``(conjunct, in_join)`` for the AND-ed parts of ``select``'s WHERE and, with
    ``joins_too``, of its JOIN ... ON conditions."""
    out: list[tuple[exp.Expr, bool]] = []
    where = select.args.get("where")
    if where is not None:
        out.extend((c, False) for c in split_and(where.this))
    if joins_too:
        for join in select.args.get("joins") or []:
            on = join.args.get("on")
            if on is not None:
                out.extend((c, True) for c in split_and(on))
    return out


def split_and(condition: exp.Expr) -> list[exp.Expr]:
    """The AND-ed parts of ``condition`` (parentheses looked through)."""
    if isinstance(condition, exp.Paren):
        return split_and(condition.this)
    if isinstance(condition, exp.And):
        return [*split_and(condition.left), *split_and(condition.right)]
    return [condition]


def comparisons(condition: exp.Expr) -> Iterator[exp.Expr]:
    """The comparisons inside ``condition`` (through AND, OR, NOT and parentheses), not
    those of subqueries, which are their own SELECTs."""
    stack = [condition]
    while stack:
        node = stack.pop()
        if isinstance(node, exp.Subquery | exp.Select):
            continue
        if isinstance(node, COMPARISONS):
            yield node
            continue
        if isinstance(node, exp.Connector | exp.Not | exp.Paren):
            stack.extend(reversed(list(node.iter_expressions())))


def is_constant(node: exp.Expr) -> bool:
    """No column and no subquery inside: a literal, a parameter, ``CURRENT_DATE - 7``."""
    return node.find(exp.Column, exp.Subquery, exp.Select, exp.Star) is None


def has_aggregate(node: exp.Expr) -> bool:
    """An aggregate function in ``node`` that belongs to ``node``'s own SELECT: not a
    window's, not a subquery's."""
    owner = node if isinstance(node, exp.Select) else node.find_ancestor(exp.Select)
    for agg in node.find_all(exp.AggFunc):
        if agg.find_ancestor(exp.Select) is owner and agg.find_ancestor(exp.Window) is None:
            return True
    return False


def aggregate_aliases(select: exp.Select) -> set[str]:
    """Lower-case aliases of ``select``'s projections that hold an aggregate."""
    return {
        p.alias.lower()
        for p in select.expressions
        if isinstance(p, exp.Alias) and p.this.find(exp.AggFunc) is not None
    }


def uses_aggregate(condition: exp.Expr, aliases: set[str]) -> bool:
    """Whether a HAVING ``condition`` needs the aggregation: an aggregate in it, or a
    column named like one of ``aliases`` (see :func:`aggregate_aliases`)."""
    return has_aggregate(condition) or any(
        c.name.lower() in aliases for c in condition.find_all(exp.Column)
    )


def select_of(query: exp.Expr) -> exp.Select | None:
    """The SELECT of a subquery argument (``IN (SELECT ...)``), None for set operations."""
    while isinstance(query, exp.Subquery | exp.Paren):
        query = query.this
    return query if isinstance(query, exp.Select) else None


def sides(comparison: exp.Expr) -> tuple[exp.Expr, list[exp.Expr]]:
    """``(subject, others)``: the left side of a comparison and what it is compared with
    (the right side; BETWEEN's bounds; IN's list)."""
    if isinstance(comparison, exp.Between):
        return comparison.this, [comparison.args["low"], comparison.args["high"]]
    if isinstance(comparison, exp.In):
        return comparison.this, list(comparison.expressions)
    assert isinstance(comparison, exp.Binary)
    return comparison.left, [comparison.right]


def wrapped_column(
    comparison: exp.Expr, *, allow_column_other_side: bool
) -> tuple[exp.Expr, exp.Column] | None:
    """``(wrapper, column)`` when one side of ``comparison`` wraps a column in a function,
    cast or arithmetic and the other side is constant (or, with
    ``allow_column_other_side``, anything: a join condition); else None."""
    if isinstance(comparison, exp.In) and comparison.args.get("query") is not None:
        return None
    subject, others = sides(comparison)
    candidates = [(subject, others)]
    if len(others) == 1:
        candidates.append((others[0], [subject]))
    for side, rest in candidates:
        while isinstance(side, exp.Paren):
            side = side.this
        if not _wraps(side):
            continue
        if allow_column_other_side or all(is_constant(o) for o in rest):
            column = side.find(exp.Column)
            assert column is not None
            return side, column
    return None


def _wraps(node: exp.Expr) -> bool:
    """Whether ``node`` is a function/cast/arithmetic over a column (not an aggregate,
    a window, or a bare column)."""
    if isinstance(node, exp.Column) or node.find(exp.Column) is None:
        return False
    if node.find(exp.Subquery, exp.Select) is not None:
        return False
    if isinstance(node, exp.AggFunc | exp.Window) or node.find(exp.Window) is not None:
        return False
    return isinstance(node, (exp.Func, exp.Cast, exp.TryCast, *_ARITHMETIC))


def prunes_on(condition: exp.Expr, columns: Sequence[str]) -> bool:
    """Whether ``condition`` restricts one of ``columns`` in a form a partition pruner
    understands: the bare column compared with constants (=, <, IN, BETWEEN, IS NULL),
    through AND, OR (every branch) and NOT."""
    names = {c.lower() for c in columns}
    if isinstance(condition, exp.Paren | exp.Not):
        return prunes_on(condition.this, columns)
    if isinstance(condition, exp.And):
        return prunes_on(condition.left, columns) or prunes_on(condition.right, columns)
    if isinstance(condition, exp.Or):
        return prunes_on(condition.left, columns) and prunes_on(condition.right, columns)
    if isinstance(condition, exp.Is):
        return _bare(condition.this, names)
    if isinstance(condition, COMPARISONS):
        if isinstance(condition, exp.In) and condition.args.get("query") is not None:
            return False
        subject, others = sides(condition)
        if _bare(subject, names) and all(is_constant(o) for o in others):
            return True
        return len(others) == 1 and _bare(others[0], names) and is_constant(subject)
    return False


def _bare(node: exp.Expr, names: set[str]) -> bool:
    return isinstance(node, exp.Column) and node.name.lower() in names
