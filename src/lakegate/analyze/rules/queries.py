"""Rules about what a query reads and how it combines tables: stars, scans, joins,
subqueries, set operations, sorting and windows."""

from __future__ import annotations

from collections.abc import Iterator

from sqlglot import exp

from lakegate.analyze.engine import Context, register
from lakegate.analyze.model import Finding, Severity
from lakegate.analyze.rewrites import (
    expand_stars,
    merge_scalar_passes,
    unnest_correlated,
    without_order,
)
from lakegate.analyze.rules.definitions import (
    CARTESIAN,
    CORRELATED,
    DISTINCT,
    FULL_SCAN,
    LARGE_TABLE_ROWS,
    MULTIPLE_PASSES,
    OR_IN_JOIN,
    ORDER_NO_LIMIT,
    SELECT_STAR,
    UNION_DISTINCT,
    WINDOW_NO_PARTITION,
)
from lakegate.analyze.syntax import (
    comparisons,
    conjuncts,
    has_aggregate,
    is_constant,
    physical_sources,
    prunes_on,
    sides,
    split_and,
)


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
                f"the projection {star.sql(dialect=ctx.dialect)} reads every column of "
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
    for select in ctx.find_all(exp.Select):
        distinct = select.args.get("distinct")
        if distinct is None or distinct.args.get("on") is not None:
            continue
        joined = bool(select.args.get("joins"))
        large = [
            t
            for t in (ctx.lake_table(ref) for ref in _from_tables(select))
            if t is not None and (t.rows or 0) >= LARGE_TABLE_ROWS
        ]
        if not joined and not large:
            continue
        why = (
            "over a join (duplicates from the join's fan-out?)"
            if joined
            else f"over {large[0].name} ({large[0].rows:,} rows)"
        )
        yield ctx.finding(DISTINCT, distinct, f"a DISTINCT {why}")


@register(ORDER_NO_LIMIT)
def order_without_limit(ctx: Context) -> Iterator[Finding]:
    """ORDER BY with no LIMIT/FETCH: in a subquery or CTE (where the order is not kept)
    or in a pipeline stage (a load keeps no order) a warning, at the top of a plain
    query advice (info)."""
    for query in ctx.find_all(exp.Select, exp.SetOperation):
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


@register(MULTIPLE_PASSES)
def repeated_scan(ctx: Context) -> Iterator[Finding]:
    """Two or more single-table aggregate SELECTs over the same table with the same
    GROUP BY, differing in WHERE, in one statement."""
    groups: dict[tuple[str, str], list[exp.Select]] = {}
    for select in ctx.find_all(exp.Select):
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


@register(CARTESIAN)
def cartesian_join(ctx: Context) -> Iterator[Finding]:
    """A comma join with no WHERE conjunct linking the new table to the others, or a
    JOIN with neither ON nor USING, or ON a constant (sqlglot reads Spark's bare JOIN
    as ON TRUE). Explicit CROSS JOINs and UNNEST/LATERAL are meant."""
    for select in ctx.find_all(exp.Select):
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
    for union in ctx.find_all(exp.Union):
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


@register(OR_IN_JOIN)
def or_in_join(ctx: Context) -> Iterator[Finding]:
    """A JOIN ... ON conjunct that is an OR whose branches reference columns."""
    for join in ctx.find_all(exp.Join):
        on = join.args.get("on")
        if on is None:
            continue
        for conjunct in split_and(on):
            if (
                isinstance(conjunct, exp.Or)
                and len({c.table for c in conjunct.find_all(exp.Column) if c.table}) >= 2
            ):
                yield ctx.finding(
                    OR_IN_JOIN,
                    conjunct,
                    f"join condition {conjunct.sql(dialect=ctx.dialect)} has OR across tables",
                )


@register(WINDOW_NO_PARTITION)
def window_without_partition(ctx: Context) -> Iterator[Finding]:
    """A window (OVER ...) with no PARTITION BY, over a query that reads a table."""
    for window in ctx.find_all(exp.Window):
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


def _from_tables(select: exp.Select) -> list[exp.Table]:
    """The tables named in ``select``'s FROM and JOINs."""
    source = select.args.get("from_") or select.args.get("from")
    nodes = [source.this] if source is not None else []
    nodes += [j.this for j in select.args.get("joins") or []]
    return [n for n in nodes if isinstance(n, exp.Table)]


def _links(condition: exp.Expr, name: str, others: set[str]) -> bool:
    """Whether ``condition`` compares a column of the source ``name`` with a column of one
    of ``others`` (unqualified columns on both sides count: the analyzer cannot tell
    whose they are). Columns inside subqueries belong to other SELECTs and never link."""
    for comparison in comparisons(condition):
        subject, rest = sides(comparison)
        left = _own_tables(subject)
        right = set().union(*(_own_tables(o) for o in rest)) if rest else set()
        if not left or not right:
            continue
        if ("" in left and right) or ("" in right and left):
            return True
        if (name in left and right & others) or (name in right and left & others):
            return True
    return False


def _own_tables(node: exp.Expr) -> set[str]:
    """Qualifiers of the columns in ``node`` outside subqueries ("" for unqualified)."""
    return {
        c.table
        for c in node.find_all(exp.Column)
        if c.find_ancestor(exp.Subquery, exp.Select) in (None, node.find_ancestor(exp.Select))
    }
