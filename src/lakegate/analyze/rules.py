"""The analyzer's anti-pattern rules, each a check over sqlglot's AST.

The problems, fixes and impacts come from the seeds' "SQL Optimization Checklist"
(full table scan, SELECT *, correlated subquery, DISTINCT on a large result, ORDER BY
without LIMIT, string operations in WHERE, multiple passes over the same data, NOT IN
with NULLs); the others are classics every engine's tuning guide lists. Rewrites
(``--recommend``) are built by transforming a copy of the tree, never by editing text.
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlglot import exp

from lakegate.analyze.catalog import LakeTable
from lakegate.analyze.engine import Context, register
from lakegate.analyze.model import Finding, Rule, Severity
from lakegate.analyze.rewrites import (
    count_to_exists,
    expand_stars,
    function_free_range,
    having_to_where,
    merge_scalar_passes,
    not_in_to_not_exists,
    null_comparison_fixed,
    unnest_correlated,
    without_order,
)
from lakegate.analyze.syntax import (
    aggregate_aliases,
    comparisons,
    conjuncts,
    has_aggregate,
    is_constant,
    physical_sources,
    prunes_on,
    select_of,
    wrapped_column,
)

CHECKLIST = "seeds: SQL Optimization Checklist"

SELECT_STAR = Rule(
    "LG001",
    "select-star",
    Severity.WARNING,
    "SELECT * reads every column of a table.",
    "Select only the columns you need.",
    "2-10x faster on columnar stores (Parquet, Delta, warehouses)",
    CHECKLIST,
)
FULL_SCAN = Rule(
    "LG002",
    "full-scan-partitioned",
    Severity.WARNING,
    "A partitioned lake table is read without a filter on its partition columns.",
    "Filter on the partition column(s) with plain comparisons so partitions are pruned.",
    "10-100x faster (partition pruning)",
    CHECKLIST,
)
CORRELATED = Rule(
    "LG003",
    "correlated-subquery",
    Severity.WARNING,
    "A subquery refers to the outer query's columns and may run once per outer row.",
    "Rewrite it as a JOIN to a grouped derived table, or as a window function.",
    "10-100x faster",
    CHECKLIST,
)
DISTINCT = Rule(
    "LG004",
    "distinct-large-result",
    Severity.INFO,
    "DISTINCT over a join or a large table hides duplication with a full sort or hash.",
    "Fix the duplication upstream (join on the full key, pre-aggregate) instead.",
    "2-5x faster",
    CHECKLIST,
)
ORDER_NO_LIMIT = Rule(
    "LG005",
    "order-by-without-limit",
    Severity.WARNING,
    "ORDER BY without LIMIT sorts the whole result.",
    "Add a LIMIT, or remove the ORDER BY (a subquery's or a load's order is not kept).",
    "Prevents memory spills",
    CHECKLIST,
)
NON_SARGABLE = Rule(
    "LG006",
    "function-on-filtered-column",
    Severity.WARNING,
    "A function or cast wraps a column in a WHERE or JOIN condition.",
    "Compare the bare column (to a range), or pre-compute the expression in a column.",
    "Enables partition pruning, min/max file skipping and index use",
    CHECKLIST + " (string operations in WHERE)",
)
MULTIPLE_PASSES = Rule(
    "LG007",
    "repeated-table-scan",
    Severity.WARNING,
    "The same table is aggregated in several passes that differ only in their filter.",
    "Aggregate once with CASE WHEN per condition (and GROUP BY where needed).",
    "2-5x faster",
    CHECKLIST + " (multiple passes over same data)",
)
NOT_IN_NULLABLE = Rule(
    "LG008",
    "not-in-nullable-subquery",
    Severity.ERROR,
    "NOT IN over a subquery returns no rows at all if the subquery yields one NULL.",
    "Use NOT EXISTS (or LEFT JOIN ... IS NULL).",
    "Correctness, and an anti-join plan instead of a nested loop",
    CHECKLIST + " (NOT IN with NULLs)",
)
CARTESIAN = Rule(
    "LG009",
    "cartesian-join",
    Severity.ERROR,
    "Two tables are joined without a condition linking them (an implicit cross join).",
    "Add the join condition, or write CROSS JOIN if every pair is really wanted.",
    "Avoids a result of rows(a) x rows(b)",
    "engine tuning guides (implicit cross join)",
)
UNION_DISTINCT = Rule(
    "LG010",
    "union-instead-of-union-all",
    Severity.WARNING,
    "UNION removes duplicates with a sort or hash over the whole result.",
    "Use UNION ALL when the branches cannot overlap or duplicates are wanted.",
    "Skips a full deduplication of the result",
    "engine tuning guides (UNION vs UNION ALL)",
)
LEADING_WILDCARD = Rule(
    "LG011",
    "leading-wildcard-like",
    Severity.WARNING,
    "LIKE with a leading wildcard cannot use an index, min/max statistics or pruning.",
    "Anchor the pattern, or search a pre-computed column (reversed text, tokens).",
    "Avoids a full scan of the column",
    "engine tuning guides (leading wildcard)",
)
NULL_COMPARISON = Rule(
    "LG012",
    "comparison-with-null",
    Severity.ERROR,
    "= NULL or <> NULL is never true: the condition filters out every row.",
    "Use IS NULL or IS NOT NULL.",
    "Correctness",
    "SQL standard three-valued logic",
)
HAVING_FILTER = Rule(
    "LG013",
    "having-without-aggregate",
    Severity.WARNING,
    "A HAVING condition uses no aggregate: it filters rows after grouping them.",
    "Move the condition to WHERE so rows are dropped before the aggregation.",
    "Less data grouped; filters can be pushed to the scan",
    "engine tuning guides (filter early)",
)
OR_IN_JOIN = Rule(
    "LG014",
    "or-in-join-condition",
    Severity.WARNING,
    "An OR across the join condition prevents a hash join (nested loop instead).",
    "Split into one join per branch combined with UNION ALL, or join on one key.",
    "Hash join instead of rows(a) x rows(b) comparisons",
    "engine tuning guides (OR in joins)",
)
COUNT_FOR_EXISTS = Rule(
    "LG015",
    "count-for-existence",
    Severity.WARNING,
    "COUNT(*) compared with 0 counts every match only to learn whether one exists.",
    "Use EXISTS / NOT EXISTS, which stops at the first match.",
    "Stops at the first matching row",
    "engine tuning guides (EXISTS vs COUNT)",
)
WINDOW_NO_PARTITION = Rule(
    "LG016",
    "window-without-partition",
    Severity.WARNING,
    "A window function without PARTITION BY moves all rows to one partition (one task).",
    "Partition the window by a key, or compute the global value in an aggregate.",
    "Parallel instead of single-threaded; Spark warns 'No Partition Defined'",
    "seeds: Spark Optimization Guide (shuffle) and Spark's WindowExec warning",
)

# A lake table at least this large (rows) makes DISTINCT over it worth a finding.
LARGE_TABLE_ROWS = 1_000_000


@register(SELECT_STAR)
def select_star(ctx: Context) -> Iterator[Finding]:
    """``*`` or ``t.*`` in a projection whose scope reads a stored table (not a CTE or a
    pipeline's batch); the rewrite lists the columns when every table is in the lake."""
    for scope in ctx.scopes:
        select = scope.expression
        if not isinstance(select, exp.Select):
            continue
        tables = physical_sources(scope, pipeline_stage=ctx.statement.source.pipeline_stage)
        for projection in select.expressions:
            star: exp.Expr | None = None
            if isinstance(projection, exp.Star) and tables:
                star, read = projection, sorted(tables)
            elif (
                isinstance(projection, exp.Column)
                and isinstance(projection.this, exp.Star)
                and projection.table in tables
            ):
                star, read = projection, [projection.table]
            if star is None:
                continue
            yield ctx.finding(
                SELECT_STAR,
                star,
                f"SELECT {star.sql(dialect=ctx.dialect)} reads every column of "
                f"{', '.join(tables[a] for a in read)}",
                rewrite=expand_stars(ctx) if ctx.recommend else None,
            )


@register(FULL_SCAN)
def full_scan(ctx: Context) -> Iterator[Finding]:
    """A lake table with partition columns, read with no pruning filter on any of them."""
    for scan in ctx.scans:
        partitions = scan.table.partition_columns
        if not partitions or any(prunes_on(f, partitions) for f in scan.filters):
            continue
        count = len(scan.table.partitions())
        yield ctx.finding(
            FULL_SCAN,
            scan.node,
            f"{scan.table.name} is partitioned by {', '.join(partitions)} but read without a "
            f"filter on it: all {count} partitions, {len(scan.table.files)} files, "
            f"{scan.table.size_bytes:,} bytes",
            details={
                "table": scan.table.name,
                "partition_columns": list(partitions),
                "partitions": count,
                "files": len(scan.table.files),
                "bytes": scan.table.size_bytes,
            },
        )


@register(CORRELATED)
def correlated_subquery(ctx: Context) -> Iterator[Finding]:
    """A subquery scope using outer columns, except under EXISTS (a semi-join engines
    plan well, and the form the other rules recommend)."""
    for scope in ctx.scopes:
        if not scope.is_correlated_subquery:
            continue
        node = scope.expression
        parent = node.parent.parent if isinstance(node.parent, exp.Subquery) else node.parent
        if isinstance(parent, exp.Exists) or isinstance(node.parent, exp.Exists):
            continue
        # Unqualified names may be the subquery's own columns: only a qualifier that
        # names no source of the subquery proves a correlation.
        outer = sorted({c.sql(dialect=ctx.dialect) for c in scope.external_columns if c.table})
        if not outer:
            continue
        yield ctx.finding(
            CORRELATED,
            node,
            f"subquery correlated with the outer query on {', '.join(outer)}",
            rewrite=unnest_correlated(ctx) if ctx.recommend else None,
            details={"outer_columns": outer},
        )


@register(DISTINCT)
def distinct_large(ctx: Context) -> Iterator[Finding]:
    """SELECT DISTINCT over a join (likely fan-out duplicates) or over a lake table of
    at least :data:`LARGE_TABLE_ROWS` rows."""
    for select in ctx.tree.find_all(exp.Select):
        distinct = select.args.get("distinct")
        if distinct is None or distinct.args.get("on") is not None:
            continue
        joined = bool(select.args.get("joins"))
        large = [
            t
            for t in (_lake_table(ctx, ref) for ref in _from_tables(select))
            if t is not None and (t.rows or 0) >= LARGE_TABLE_ROWS
        ]
        if not joined and not large:
            continue
        why = (
            "over a join (duplicates from the join's fan-out?)"
            if joined
            else f"over {large[0].name} ({large[0].rows:,} rows)"
        )
        yield ctx.finding(DISTINCT, distinct, f"SELECT DISTINCT {why}")


@register(ORDER_NO_LIMIT)
def order_without_limit(ctx: Context) -> Iterator[Finding]:
    """ORDER BY with no LIMIT/FETCH: in a subquery or CTE (where the order is not kept)
    or in a pipeline stage (a load keeps no order) a warning, at the top of a plain
    query advice (info)."""
    for query in ctx.tree.find_all(exp.Select, exp.SetOperation):
        order = query.args.get("order")
        if order is None or query.args.get("limit") or query.args.get("fetch"):
            continue
        if isinstance(query.parent, exp.SetOperation | exp.Insert | exp.Create):
            nested = False
        else:
            nested = query is not ctx.tree
        stage = ctx.statement.source.pipeline_stage
        yield ctx.finding(
            ORDER_NO_LIMIT,
            order,
            "ORDER BY without LIMIT"
            + (" in a subquery: the order is not kept" if nested else "")
            + (" in a pipeline stage: a load keeps no order" if stage and not nested else ""),
            severity=Severity.WARNING if nested or stage else Severity.INFO,
            rewrite=without_order(ctx, query) if ctx.recommend and (nested or stage) else None,
        )


@register(NON_SARGABLE)
def function_on_filtered_column(ctx: Context) -> Iterator[Finding]:
    """A comparison in WHERE or JOIN ... ON whose column side is wrapped in a function,
    cast or arithmetic while the other side is a constant (or, in a join, a column)."""
    partitions = {c.lower() for s in ctx.scans for c in s.table.partition_columns}
    for select in ctx.tree.find_all(exp.Select):
        for condition, in_join in conjuncts(select):
            for comparison in comparisons(condition):
                wrapped = wrapped_column(comparison, allow_column_other_side=in_join)
                if wrapped is None:
                    continue
                function, column = wrapped
                pruning = column.name.lower() in partitions
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


@register(MULTIPLE_PASSES)
def repeated_scan(ctx: Context) -> Iterator[Finding]:
    """Two or more single-table aggregate SELECTs over the same table with the same
    GROUP BY, differing in WHERE, in one statement."""
    groups: dict[tuple[str, str], list[exp.Select]] = {}
    for select in ctx.tree.find_all(exp.Select):
        source = select.args.get("from_") or select.args.get("from")
        if source is None or select.args.get("joins") or select.args.get("where") is None:
            continue
        table = source.this
        if not isinstance(table, exp.Table) or not has_aggregate(select):
            continue
        group = select.args.get("group")
        key = (
            ".".join(p.name.lower() for p in table.parts),
            group.sql(dialect=ctx.dialect) if group else "",
        )
        groups.setdefault(key, []).append(select)
    for (table_name, _), selects in groups.items():
        if len(selects) < 2:
            continue
        first_line = ctx.statement.position(selects[0])[0]
        yield ctx.finding(
            MULTIPLE_PASSES,
            selects[1],
            f"{table_name} is scanned {len(selects)} times with different filters "
            f"(first at line {first_line})",
            rewrite=merge_scalar_passes(ctx, selects) if ctx.recommend else None,
            details={"table": table_name, "passes": len(selects)},
        )


@register(NOT_IN_NULLABLE)
def not_in_nullable(ctx: Context) -> Iterator[Finding]:
    """``x NOT IN (SELECT col ...)`` where ``col`` may be NULL: not a literal, not
    declared NOT NULL in a lake table's schema, and not filtered with IS NOT NULL."""
    for negation in ctx.tree.find_all(exp.Not):
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


@register(CARTESIAN)
def cartesian_join(ctx: Context) -> Iterator[Finding]:
    """A comma join with no WHERE conjunct linking the new table to the others, or a
    JOIN with neither ON nor USING, or ON a constant (sqlglot reads Spark's bare JOIN
    as ON TRUE). Explicit CROSS JOINs and UNNEST/LATERAL are meant."""
    for select in ctx.tree.find_all(exp.Select):
        source = select.args.get("from_") or select.args.get("from")
        joins = select.args.get("joins") or []
        if source is None or not joins:
            continue
        seen = {source.this.alias_or_name}
        where = select.args.get("where")
        links = [c for c, _ in conjuncts(select, joins_too=False)] if where is not None else []
        for join in joins:
            target = join.this
            name = target.alias_or_name
            kind = (join.kind or "").upper()
            if (
                kind == "CROSS"
                or (join.args.get("on") is not None and not is_constant(join.args["on"]))
                or join.args.get("using")
                or isinstance(target, exp.Unnest | exp.Lateral)
                or (isinstance(target, exp.Table) and not isinstance(target.this, exp.Identifier))
                or join.args.get("method")
            ):
                seen.add(name)
                continue
            comma = not kind and not join.side
            if comma and any(_links(c, name, seen) for c in links):
                seen.add(name)
                continue
            yield ctx.finding(
                CARTESIAN,
                target,
                f"{name} is joined {'with a comma' if comma else 'with JOIN'} and no "
                f"condition links it to {', '.join(sorted(seen))}",
            )
            seen.add(name)


@register(UNION_DISTINCT)
def union_distinct(ctx: Context) -> Iterator[Finding]:
    """Every UNION that is not UNION ALL (the rewrite keeps duplicates: check it)."""
    for union in ctx.tree.find_all(exp.Union):
        if not union.args.get("distinct"):
            continue
        fixed = None
        if ctx.recommend:
            fixed = ctx.tree.copy()
            for candidate in fixed.find_all(exp.Union):
                if candidate.args.get("distinct") and candidate.meta == union.meta:
                    candidate.set("distinct", False)
        yield ctx.finding(
            UNION_DISTINCT,
            union.args.get("expression") or union,
            "UNION deduplicates the combined result",
            rewrite=fixed,
        )


@register(LEADING_WILDCARD)
def leading_wildcard(ctx: Context) -> Iterator[Finding]:
    """LIKE / ILIKE whose pattern is a string literal starting with ``%`` or ``_``."""
    for like in ctx.tree.find_all(exp.Like, exp.ILike):
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
    for comparison in ctx.tree.find_all(exp.EQ, exp.NEQ):
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
    for select in ctx.tree.find_all(exp.Select):
        having = select.args.get("having")
        if having is None or not select.args.get("group"):
            continue
        aliases = aggregate_aliases(select)
        for conjunct in _split_and(having.this):
            if has_aggregate(conjunct) or any(
                c.name.lower() in aliases for c in conjunct.find_all(exp.Column)
            ):
                continue
            yield ctx.finding(
                HAVING_FILTER,
                conjunct,
                f"HAVING {conjunct.sql(dialect=ctx.dialect)} uses no aggregate",
                rewrite=having_to_where(ctx, select) if ctx.recommend else None,
            )


@register(OR_IN_JOIN)
def or_in_join(ctx: Context) -> Iterator[Finding]:
    """A JOIN ... ON conjunct that is an OR whose branches reference columns."""
    for join in ctx.tree.find_all(exp.Join):
        on = join.args.get("on")
        if on is None:
            continue
        for conjunct in _split_and(on):
            if (
                isinstance(conjunct, exp.Or)
                and len({c.table for c in conjunct.find_all(exp.Column) if c.table}) >= 2
            ):
                yield ctx.finding(
                    OR_IN_JOIN,
                    conjunct,
                    f"join condition {conjunct.sql(dialect=ctx.dialect)} has OR across tables",
                )


@register(COUNT_FOR_EXISTS)
def count_for_existence(ctx: Context) -> Iterator[Finding]:
    """``(SELECT COUNT(*) ...) > 0`` / ``>= 1`` / ``<> 0`` / ``= 0`` (and mirrored)."""
    for comparison in ctx.tree.find_all(exp.GT, exp.GTE, exp.NEQ, exp.EQ, exp.LT, exp.LTE):
        fixed = count_to_exists(ctx, comparison, build=ctx.recommend)
        if fixed is False:
            continue
        yield ctx.finding(
            COUNT_FOR_EXISTS,
            comparison,
            f"{comparison.sql(dialect=ctx.dialect)[:80]} counts matches to test for one",
            rewrite=fixed if isinstance(fixed, exp.Expr) else None,
        )


@register(WINDOW_NO_PARTITION)
def window_without_partition(ctx: Context) -> Iterator[Finding]:
    """A window (OVER ...) with no PARTITION BY, over a query that reads a table."""
    for window in ctx.tree.find_all(exp.Window):
        if window.args.get("partition_by") or isinstance(window.this, exp.Window):
            continue
        if window.args.get("alias") and window.args.get("this") is None:
            continue  # a named window definition
        select = window.find_ancestor(exp.Select)
        if select is None or (select.args.get("from_") or select.args.get("from")) is None:
            continue
        yield ctx.finding(
            WINDOW_NO_PARTITION,
            window,
            f"{window.this.sql(dialect=ctx.dialect)} OVER (...) has no PARTITION BY",
        )


# ---------------------------------------------------------------------- helpers


def _split_and(condition: exp.Expr) -> list[exp.Expr]:
    if isinstance(condition, exp.Paren):
        return _split_and(condition.this)
    if isinstance(condition, exp.And):
        return [*_split_and(condition.left), *_split_and(condition.right)]
    return [condition]


def _from_tables(select: exp.Select) -> list[exp.Table]:
    """The tables named in ``select``'s FROM and JOINs."""
    source = select.args.get("from_") or select.args.get("from")
    nodes = [source.this] if source is not None else []
    nodes += [j.this for j in select.args.get("joins") or []]
    return [n for n in nodes if isinstance(n, exp.Table)]


def _lake_table(ctx: Context, ref: exp.Table) -> LakeTable | None:
    """The lake table ``ref`` names (in a pipeline stage, only ``lake.<table>``)."""
    if ctx.statement.source.pipeline_stage and ref.db != "lake":
        return None
    return ctx.catalog.resolve(ref)


def _links(condition: exp.Expr, name: str, others: set[str]) -> bool:
    """Whether ``condition`` references the source ``name`` and one of ``others`` (or,
    unqualified, two columns: the analyzer cannot tell whose they are)."""
    columns = list(condition.find_all(exp.Column))
    tables = {c.table for c in columns}
    if "" in tables and len(columns) >= 2:
        return True
    return name in tables and bool(tables & others)


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
        for conjunct in _split_and(where.this):
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
        table = _lake_table(ctx, source.this)
        column = table.column(projected.name) if table else None
        if column is not None and not column.nullable:
            return False
    return True
