"""Rules about conditions: filters that defeat pruning or indexes, and comparisons that
are wrong (NOT IN over NULLs, = NULL) or wasteful (COUNT for existence, HAVING filters)."""

from __future__ import annotations

from collections.abc import Iterator

from sqlglot import exp

from lakegate.analyze.engine import Context, register
from lakegate.analyze.model import Finding
from lakegate.analyze.rewrites import (
    count_to_exists,
    function_free_range,
    having_to_where,
    not_in_to_not_exists,
    null_comparison_fixed,
)
from lakegate.analyze.rules.definitions import (
    COUNT_FOR_EXISTS,
    HAVING_FILTER,
    LEADING_WILDCARD,
    NON_SARGABLE,
    NOT_IN_NULLABLE,
    NULL_COMPARISON,
)
from lakegate.analyze.syntax import (
    aggregate_aliases,
    comparisons,
    conjuncts,
    is_constant,
    physical_sources,
    select_of,
    split_and,
    uses_aggregate,
    wrapped_column,
)


@register(NON_SARGABLE)
def function_on_filtered_column(ctx: Context) -> Iterator[Finding]:
    """A comparison in WHERE or JOIN ... ON whose column side is wrapped in a function,
    cast or arithmetic while the other side is a constant (or, in a join, a column).
    Only columns of stored tables count: a CTE's or a derived table's computed columns
    have no statistics or indexes to lose."""
    for select in ctx.find_all(exp.Select):
        scope = ctx.scope_of.get(id(select))
        if scope is None:
            continue
        stored = physical_sources(scope, pipeline_stage=ctx.statement.source.pipeline_stage)
        everything_stored = len(stored) == len(scope.selected_sources)
        for condition, in_join in conjuncts(select):
            for comparison in comparisons(condition):
                wrapped = wrapped_column(comparison, allow_column_other_side=in_join)
                if wrapped is None:
                    continue
                function, column = wrapped
                if column.table not in stored and not (not column.table and everything_stored):
                    continue
                pruning = column.name.lower() in _partition_columns(ctx)
                yield ctx.finding(
                    NON_SARGABLE,
                    function,
                    f"{function.sql(dialect=ctx.dialect)} in {'JOIN' if in_join else 'WHERE'}"
                    + (
                        f": {column.name} is a partition column, so no partition is pruned"
                        if pruning
                        else ": the column's statistics and indexes cannot be used"
                    ),
                    rewrite=function_free_range(ctx, comparison) if ctx.recommend else None,
                    details={"column": column.name, "partition_column": pruning},
                )


@register(NOT_IN_NULLABLE)
def not_in_nullable(ctx: Context) -> Iterator[Finding]:
    """``x NOT IN (SELECT col ...)`` where ``col`` may be NULL: not a literal, not
    declared NOT NULL in a lake table's schema, and not filtered with IS NOT NULL."""
    for negation in ctx.find_all(exp.Not):
        inner = negation.this
        if not isinstance(inner, exp.In) or inner.args.get("query") is None:
            continue
        query = select_of(inner.args["query"])
        if query is None or not _may_be_null(ctx, query):
            continue
        yield ctx.finding(
            NOT_IN_NULLABLE,
            negation,
            f"NOT IN over a subquery whose {query.selects[0].sql(dialect=ctx.dialect)} may "
            "be NULL: one NULL makes the condition unknown for every row",
            rewrite=not_in_to_not_exists(ctx, negation) if ctx.recommend else None,
        )


@register(LEADING_WILDCARD)
def leading_wildcard(ctx: Context) -> Iterator[Finding]:
    """LIKE / ILIKE whose pattern is a string literal starting with ``%`` or ``_``."""
    for like in ctx.find_all(exp.Like, exp.ILike):
        pattern = like.expression
        if isinstance(pattern, exp.Escape):
            pattern = pattern.this
        if not (isinstance(pattern, exp.Literal) and pattern.is_string):
            continue
        if pattern.this.startswith(("%", "_")) and like.this.find(exp.Column) is not None:
            yield ctx.finding(
                LEADING_WILDCARD,
                pattern,
                f"pattern {pattern.sql(dialect=ctx.dialect)} starts with a wildcard",
            )


@register(NULL_COMPARISON)
def null_comparison(ctx: Context) -> Iterator[Finding]:
    """``= NULL``, ``<> NULL`` and ``!= NULL`` (never true in SQL's three-valued logic)."""
    for comparison in ctx.find_all(exp.EQ, exp.NEQ):
        if not any(isinstance(side, exp.Null) for side in (comparison.left, comparison.right)):
            continue
        if comparison.arg_key == "expressions" and not isinstance(comparison.parent, exp.Select):
            continue  # UPDATE ... SET x = NULL is an assignment
        yield ctx.finding(
            NULL_COMPARISON,
            comparison,
            f"{comparison.sql(dialect=ctx.dialect)} is never true",
            rewrite=null_comparison_fixed(ctx, comparison) if ctx.recommend else None,
        )


@register(HAVING_FILTER)
def having_without_aggregate(ctx: Context) -> Iterator[Finding]:
    """A HAVING conjunct with no aggregate function and no alias of one."""
    for select in ctx.find_all(exp.Select):
        having = select.args.get("having")
        if having is None or not select.args.get("group"):
            continue
        aliases = aggregate_aliases(select)
        for conjunct in split_and(having.this):
            if uses_aggregate(conjunct, aliases):
                continue
            yield ctx.finding(
                HAVING_FILTER,
                conjunct,
                f"HAVING {conjunct.sql(dialect=ctx.dialect)} uses no aggregate",
                rewrite=having_to_where(ctx, select) if ctx.recommend else None,
            )


@register(COUNT_FOR_EXISTS)
def count_for_existence(ctx: Context) -> Iterator[Finding]:
    """``(SELECT COUNT(*) ...) > 0`` / ``>= 1`` / ``<> 0`` / ``= 0`` (and mirrored)."""
    for comparison in ctx.find_all(exp.GT, exp.GTE, exp.NEQ, exp.EQ, exp.LT, exp.LTE):
        fixed = count_to_exists(ctx, comparison, build=ctx.recommend)
        if fixed is False:
            continue
        yield ctx.finding(
            COUNT_FOR_EXISTS,
            comparison,
            f"{comparison.sql(dialect=ctx.dialect)[:80]} counts matches to test for one",
            rewrite=fixed if isinstance(fixed, exp.Expr) else None,
        )


def _may_be_null(ctx: Context, query: exp.Select) -> bool:
    """Whether the first projection of ``query`` (a NOT IN subquery) can be NULL."""
    if len(query.selects) != 1:
        return True
    projected = query.selects[0].unalias()
    if is_constant(projected) or isinstance(projected, exp.Count):
        return False
    if not isinstance(projected, exp.Column):
        return True
    where = query.args.get("where")
    if where is not None:
        for conjunct in split_and(where.this):
            if (
                isinstance(conjunct, exp.Not)
                and isinstance(conjunct.this, exp.Is)
                and isinstance(conjunct.this.expression, exp.Null)
                and isinstance(conjunct.this.this, exp.Column)
                and conjunct.this.this.name.lower() == projected.name.lower()
            ):
                return False
    source = query.args.get("from_") or query.args.get("from")
    if source is not None and isinstance(source.this, exp.Table) and not query.args.get("joins"):
        table = ctx.lake_table(source.this)
        column = table.column(projected.name) if table else None
        if column is not None and not column.nullable:
            return False
    return True


def _partition_columns(ctx: Context) -> set[str]:
    """Lower-case partition columns of the lake tables the statement reads."""
    return {c.lower() for scan in ctx.scans for c in scan.table.partition_columns}
