"""Spark advice from lake table statistics: the seeds' "Spark Optimization Guide".

Four rules, registered for the ``spark`` dialect only, each judged on the real
statistics of the lake tables a statement scans (:mod:`lakegate.analyze.catalog`):

* LG201 ``broadcast-join``: a join side under 100 MB: broadcast it.
* LG202 ``skewed-key``: a join or GROUP BY key whose top value holds an outsized
  share of the rows: salt it, or let AQE split the skewed partition.
* LG203 ``shuffle-partitions``: ``spark.sql.shuffle.partitions`` sized from the bytes
  the statement scans.
* LG204 ``small-files``: a scan of many files averaging under 32 MB: compact them.

Sizes come from metadata through :func:`~lakegate.analyze.cost.estimate_scan`: the
files that partition pruning and min/max skipping keep, times the share of their
bytes held by the columns the query reads (Parquet footers); what it does not
understand keeps a file, so sizes err high. Filters that skip no file do not shrink
the estimate, as Spark's own estimate without cost-based optimization. The thresholds
are module constants, so a caller (or a test) can change them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from sqlglot import exp
from sqlglot.optimizer.scope import Scope

from lakegate.analyze.catalog import DataFile
from lakegate.analyze.cost import ScanEstimate, estimate_scan
from lakegate.analyze.engine import Context, register
from lakegate.analyze.model import Finding, Rule, Severity
from lakegate.analyze.partitioning import format_bytes
from lakegate.analyze.pruning import file_facts, may_match
from lakegate.analyze.scans import TableScan
from lakegate.analyze.syntax import split_and
from lakegate.sinks.maintenance import SMALL_FILE_BYTES

MB = 1024 * 1024
# The seed: "Broadcast small table (broadcast(df)) if <100MB"; held against the side's
# decoded bytes (what executors hold in memory), the larger and safer measure.
BROADCAST_MAX_BYTES = 100 * MB
# spark.sql.autoBroadcastJoinThreshold's default: Spark broadcasts on its own below it.
AUTO_BROADCAST_BYTES = 10 * MB
# A key is skewed when its top value's share exceeds both SKEW_FACTOR times the mean
# share (1 / distinct values), as AQE calls a partition skewed past 5 x the median
# (spark.sql.adaptive.skewJoin.skewedPartitionFactor), and SKEW_MIN_SHARE: with the
# default 200 shuffle partitions each task gets 0.5% of the rows, so a key over 10%
# makes its task at least 20 times the mean one.
SKEW_FACTOR = 5.0
SKEW_MIN_SHARE = 0.10
# Bytes per shuffle partition to aim for, and Spark's default partition count; the
# advice fires when the right count is off the default by more than the tolerance.
SHUFFLE_PARTITION_BYTES = 128 * MB
DEFAULT_SHUFFLE_PARTITIONS = 200
SHUFFLE_TOLERANCE = 2.0
# More than this many files averaging under SMALL_FILE_BYTES is a small-file scan;
# Spark charges each file spark.sql.files.openCostInBytes (4 MB) when planning.
SMALL_FILES_MIN = 8
# The file size `lakegate table optimize` compacts to by default (bytes).
COMPACT_TARGET_BYTES = 100 * MB

_GUIDE = "seeds: Spark Optimization Guide"

BROADCAST = Rule(
    "LG201",
    "broadcast-join",
    Severity.WARNING,
    "A join side is small enough to broadcast, but Spark may shuffle both sides.",
    "Add a /*+ BROADCAST(alias) */ hint (or broadcast(df)) for the small side.",
    "Avoids shuffling the large side: shuffle-heavy joins become map-side joins.",
    _GUIDE,
)
SKEW = Rule(
    "LG202",
    "skewed-key",
    Severity.WARNING,
    "A join or GROUP BY key has a value holding an outsized share of the rows.",
    "Salt the key (add a random prefix, join on the salted key, then aggregate), or for "
    "joins enable AQE skew handling: spark.sql.adaptive.skewJoin.enabled=true.",
    "One task no longer does the work of many: stragglers and spills go away.",
    _GUIDE,
)
SHUFFLE = Rule(
    "LG203",
    "shuffle-partitions",
    Severity.INFO,
    "spark.sql.shuffle.partitions (default 200) does not fit the data the statement shuffles.",
    "SET spark.sql.shuffle.partitions to about the shuffled bytes / 128 MB, and at least "
    "2-3x the cluster's cores; or leave AQE to coalesce (spark.sql.adaptive.enabled).",
    "Right-sized tasks: no thousands of tiny tasks, no spills from oversized ones.",
    _GUIDE,
)
SMALL_FILES = Rule(
    "LG204",
    "small-files",
    Severity.WARNING,
    "The statement reads many small files.",
    "Compact the table: lakegate table optimize TABLE.",
    "Fewer file opens and listings: scans of many small files are dominated by overhead.",
    _GUIDE,
)


# ---------------------------------------------------------------------- rules


@register(BROADCAST, dialects=("spark",))
def broadcast_join(ctx: Context) -> Iterator[Finding]:
    """LG201: each join side Spark could broadcast whose decoded size after pruning and
    projection is under :data:`BROADCAST_MAX_BYTES`; info when Spark's own estimate is
    under :data:`AUTO_BROADCAST_BYTES` (it broadcasts it already), warning otherwise."""
    for scope, scans in _by_scope(ctx.scans):
        select = scope.expression
        if not isinstance(select, exp.Select) or not select.args.get("joins"):
            continue
        sizes = {alias: estimate_scan(scan) for alias, scan in scans.items()}
        streamed = None
        if set(scope.selected_sources) <= set(scans):  # every side measured
            streamed = max(sizes, key=lambda a: sizes[a].logical_bytes_scanned)
        for alias in sorted(_broadcastable(select) & set(scans) - {streamed}):
            size, scan = sizes[alias], scans[alias]
            if size.logical_bytes_scanned >= BROADCAST_MAX_BYTES or _hinted(scan):
                continue
            auto = size.bytes_scanned < AUTO_BROADCAST_BYTES
            message = (
                f"join side {alias} (lake table {scan.table.name}) is ~"
                f"{format_bytes(size.logical_bytes_scanned)} decoded, "
                f"{format_bytes(size.bytes_scanned)} on storage ({_read(size)}), under the "
                f"{format_bytes(BROADCAST_MAX_BYTES)} broadcast limit: broadcast it; "
            )
            message += (
                "Spark broadcasts it on its own under spark.sql.autoBroadcastJoinThreshold "
                f"({format_bytes(AUTO_BROADCAST_BYTES)}), the hint keeps it so"
                if auto
                else "that is over spark.sql.autoBroadcastJoinThreshold "
                f"({format_bytes(AUTO_BROADCAST_BYTES)}): Spark shuffles it unless hinted"
            )
            yield ctx.finding(
                BROADCAST,
                scan.node,
                message,
                rewrite=_with_hint(ctx, scan),
                severity=Severity.INFO if auto else None,
                details={
                    "table": scan.table.name,
                    "alias": alias,
                    "bytes": size.bytes_scanned,
                    "logical_bytes": size.logical_bytes_scanned,
                    "files": size.files_scanned,
                    "table_files": size.files_total,
                    "columns": list(size.columns),
                    "broadcast_max_bytes": BROADCAST_MAX_BYTES,
                    "auto_broadcast_bytes": AUTO_BROADCAST_BYTES,
                },
            )


@register(SKEW, dialects=("spark",))
def skewed_key(ctx: Context) -> Iterator[Finding]:
    """LG202: join and GROUP BY keys on lake-table columns whose most frequent value
    holds more than ``max(SKEW_FACTOR / distinct, SKEW_MIN_SHARE)`` of the non-null
    rows (measured with :meth:`LakeTable.profile`), and join keys on the kept side of an
    outer join with more than ``SKEW_MIN_SHARE`` nulls (Spark filters null keys out of
    inner joins, but an outer join shuffles them all to one task)."""
    seen: set[tuple[str, str, str]] = set()
    for scope, scans in _by_scope(ctx.scans):
        select = scope.expression
        if not isinstance(select, exp.Select):
            continue
        for kind, alias, column, node, kept in _keys(select, scans):
            scan = scans[alias]
            if (scan.table.name, column, kind) in seen:
                continue
            seen.add((scan.table.name, column, kind))
            profile = scan.table.profile([column]).get(column)
            if profile is None or not profile.rows:
                continue
            where = f"{kind} key {alias}.{column} (lake table {scan.table.name})"
            details: dict[str, Any] = {
                "table": scan.table.name,
                "column": column,
                "key": kind,
                "rows": profile.rows,
                "distinct": profile.distinct,
                "nulls": profile.nulls,
                "top_value": profile.top_value,
                "top_rows": profile.top_rows,
                "top_share": round(profile.top_share, 4),
            }
            threshold = max(SKEW_FACTOR / max(profile.distinct, 1), SKEW_MIN_SHARE)
            if profile.top_value is not None and profile.top_share > threshold:
                severity = Severity.INFO
                if kind == "join" or _no_partial_aggregation(select):
                    severity = Severity.WARNING
                hot = round(profile.top_share * estimate_scan(scan).logical_bytes_scanned)
                message = (
                    f"{where}: value {profile.top_value!r} holds {profile.top_share:.1%} of the "
                    f"{profile.rows - profile.nulls:,} non-null rows, over the "
                    f"{threshold:.1%} skew threshold (max({SKEW_FACTOR:g} x the mean share of "
                    f"{profile.distinct:,} values, {SKEW_MIN_SHARE:.0%})): one task gets them "
                    f"all, ~{format_bytes(hot)} decoded"
                )
                if severity is Severity.INFO:
                    message += "; partial aggregation before the shuffle softens it"
                yield ctx.finding(
                    SKEW,
                    node,
                    message,
                    severity=severity,
                    details={**details, "threshold": round(threshold, 4), "top_bytes": hot},
                )
            null_share = profile.nulls / profile.rows
            if kind == "join" and kept and null_share > SKEW_MIN_SHARE:
                yield ctx.finding(
                    SKEW,
                    node,
                    f"{where}: {profile.nulls:,} rows ({null_share:.1%}) have a NULL key, over "
                    f"{SKEW_MIN_SHARE:.0%}; the outer join keeps them and shuffles them all to "
                    "one task",
                    fix="Join the non-null keys and UNION ALL the NULL-key rows back, or replace "
                    "NULL keys with a salted value that matches nothing.",
                    details={**details, "null_share": round(null_share, 4)},
                )


@register(SHUFFLE, dialects=("spark",))
def shuffle_partitions(ctx: Context) -> Iterator[Finding]:
    """LG203: for a statement that shuffles (joins, GROUP BY, DISTINCT, windows), the
    partition count that gives ~:data:`SHUFFLE_PARTITION_BYTES` per task from the decoded
    bytes its lake scans read, when it is off the default 200 by more than
    :data:`SHUFFLE_TOLERANCE` times."""
    if not ctx.scans or ctx.tree.find(exp.Join, exp.Group, exp.Distinct, exp.Window) is None:
        return
    sizes = [estimate_scan(s) for s in ctx.scans]
    stored, shuffled = (
        sum(s.bytes_scanned for s in sizes),
        sum(s.logical_bytes_scanned for s in sizes),
    )
    count = max(1, math.ceil(shuffled / SHUFFLE_PARTITION_BYTES))
    low = DEFAULT_SHUFFLE_PARTITIONS / SHUFFLE_TOLERANCE
    if low <= count <= DEFAULT_SHUFFLE_PARTITIONS * SHUFFLE_TOLERANCE:
        return
    tables = sorted({s.table for s in sizes})
    message = (
        f"the statement reads ~{format_bytes(shuffled)} decoded ({format_bytes(stored)} on "
        f"storage) from {', '.join(tables)}; at {format_bytes(SHUFFLE_PARTITION_BYTES)} per "
        f"shuffle partition that is {count:,} partition(s), not the default "
        f"{DEFAULT_SHUFFLE_PARTITIONS} (~{format_bytes(shuffled // DEFAULT_SHUFFLE_PARTITIONS)} "
        f"per task): SET spark.sql.shuffle.partitions = max({count:,}, 2-3 x the cluster's cores)"
    )
    option = exp.column("partitions", "shuffle", "sql", "spark")
    setting = exp.Set(expressions=[exp.SetItem(this=option.eq(count))])
    yield ctx.finding(
        SHUFFLE,
        None,
        message,
        rewrite=f"{ctx.sql(setting)};\n{ctx.sql(ctx.tree)}",
        severity=Severity.WARNING if count > DEFAULT_SHUFFLE_PARTITIONS else None,
        details={
            "tables": tables,
            "bytes": stored,
            "logical_bytes": shuffled,
            "partition_bytes": SHUFFLE_PARTITION_BYTES,
            "recommended_partitions": count,
            "default_partitions": DEFAULT_SHUFFLE_PARTITIONS,
        },
    )


@register(SMALL_FILES, dialects=("spark",))
def small_files(ctx: Context) -> Iterator[Finding]:
    """LG204: a lake table read through more than :data:`SMALL_FILES_MIN` files (after
    partition pruning and min/max skipping) averaging under ``SMALL_FILE_BYTES``. Compaction
    works within a partition; when every partition already holds about one file, the
    fix is coarser partitioning, and the finding says so."""
    read: dict[str, tuple[TableScan, dict[str, DataFile]]] = {}
    for scan in ctx.scans:
        facts = [
            (f, file_facts(f.partition, f.minimum, f.maximum, f.null_count, f.rows, stats=True))
            for f in scan.table.files
        ]
        read.setdefault(scan.table.name, (scan, {}))[1].update(
            (f.uri, f) for f, known in facts if may_match(scan.filters, known.get)
        )
    for name, (scan, by_uri) in read.items():
        files, total = list(by_uri.values()), sum(f.size_bytes for f in by_uri.values())
        if len(files) <= SMALL_FILES_MIN or total >= SMALL_FILE_BYTES * len(files):
            continue
        groups: dict[tuple[Any, ...], int] = {}
        for f in files:
            key = tuple(f.partition.get(c) for c in scan.table.partition_columns)
            groups[key] = groups.get(key, 0) + f.size_bytes
        after = sum(max(1, math.ceil(b / COMPACT_TARGET_BYTES)) for b in groups.values())
        small = sum(1 for f in files if f.size_bytes < SMALL_FILE_BYTES)
        message = (
            f"lake table {name}: the statement reads {len(files):,} files averaging "
            f"{format_bytes(total // len(files))} ({small:,} under "
            f"{format_bytes(SMALL_FILE_BYTES)}; {format_bytes(total)} in {len(groups):,} "
            "partition(s))"
        )
        fix = f"lakegate table optimize {name}"
        if after < len(files):
            message += f": compacting would leave about {after:,} files"
        else:
            message += ": one file per partition, so the partitioning is too fine"
            fix = (
                "Compaction cannot merge files across partitions: the table is "
                f"over-partitioned; see lakegate advise partitioning {name}."
            )
        yield ctx.finding(
            SMALL_FILES,
            scan.node,
            message,
            fix=fix,
            details={
                "table": name,
                "files": len(files),
                "small_files": small,
                "bytes": total,
                "average_bytes": total // len(files),
                "partitions": len(groups),
                "files_after_compaction": after,
                "small_file_bytes": SMALL_FILE_BYTES,
            },
        )


# ---------------------------------------------------------------------- helpers


def _by_scope(scans: Iterable[TableScan]) -> list[tuple[Scope, dict[str, TableScan]]]:
    """The scans grouped by the scope that reads them: ``(scope, {alias: scan})``."""
    groups: dict[int, tuple[Scope, dict[str, TableScan]]] = {}
    for scan in scans:
        if scan.scope is not None:
            groups.setdefault(id(scan.scope), (scan.scope, {}))[1][scan.alias] = scan
    return list(groups.values())


def _read(size: ScanEstimate) -> str:
    """``3 columns of 2 of 12 files``: what a scan reads."""
    return f"{len(size.columns)} columns of {size.files_scanned} of {size.files_total} files"


def _broadcastable(select: exp.Select) -> set[str]:
    """Aliases of the sides of ``select``'s joins Spark can build a broadcast hash join
    on: either side of an inner join, the right side of a LEFT (SEMI, ANTI) join, the
    left side of a RIGHT join, neither of a FULL join. A join's left side is one table
    only for the first join."""
    from_ = select.args.get("from_")
    first = from_.this.alias_or_name if from_ is not None else None
    out: set[str] = set()
    for i, join in enumerate(select.args.get("joins") or []):
        side = (join.side or "").upper()
        if side in ("", "LEFT"):
            out.add(join.this.alias_or_name)
        if side in ("", "RIGHT") and i == 0 and first:
            out.add(first)
    return out


def _keys(
    select: exp.Select, scans: Mapping[str, TableScan]
) -> Iterator[tuple[str, str, str, exp.Expr, bool]]:
    """``(kind, alias, column, node, kept by an outer join)`` of ``select``'s equi-join
    keys and GROUP BY columns that are columns of the lake scans in ``scans``."""
    from_ = select.args.get("from_")
    before = [from_.this.alias_or_name] if from_ is not None else []
    for join in select.args.get("joins") or []:
        right = join.this.alias_or_name
        side, kind = (join.side or "").upper(), (join.kind or "").upper()
        kept = set(before) if side == "LEFT" and kind != "SEMI" else set()
        kept |= {right} if side == "RIGHT" else set()
        kept |= {*before, right} if side == "FULL" else set()
        for condition in split_and(join.args["on"]) if join.args.get("on") else []:
            left, right_col = condition.args.get("this"), condition.args.get("expression")
            if not (isinstance(left, exp.Column) and isinstance(right_col, exp.Column)):
                continue
            if not isinstance(condition, exp.EQ) or left.table == right_col.table:
                continue
            for col in (left, right_col):
                found = scans[col.table].table.column(col.name) if col.table in scans else None
                if found is not None:
                    yield "join", col.table, found.name, col, col.table in kept
        before.append(right)
    group = select.args.get("group")
    for col in group.expressions if group is not None else []:
        if isinstance(col, exp.Column) and col.table in scans:
            found = scans[col.table].table.column(col.name)
            if found is not None:
                yield "group by", col.table, found.name, col, False


def _no_partial_aggregation(select: exp.Select) -> bool:
    """Whether ``select`` has an aggregate Spark cannot pre-aggregate before the shuffle
    (DISTINCT aggregates, collect_list/collect_set, percentiles)."""
    for agg in select.find_all(exp.AggFunc):
        if isinstance(agg, exp.ArrayAgg | exp.ArrayUniqueAgg | exp.Quantile | exp.GroupConcat):
            return True
        if agg.find(exp.Distinct) is not None:
            return True
    return False


def _hinted(scan: TableScan) -> bool:
    """Whether the SELECT joining ``scan`` already carries a broadcast hint for it."""
    hint = scan.scope.expression.args.get("hint") if scan.scope is not None else None
    names = {"BROADCAST", "BROADCASTJOIN", "MAPJOIN"}
    return hint is not None and any(
        str(h.this).upper() in names and any(a.name == scan.alias for a in h.expressions)
        for h in hint.expressions
    )


def _with_hint(ctx: Context, scan: TableScan) -> exp.Expr | None:
    """The statement with ``/*+ BROADCAST(alias) */`` added to the SELECT joining ``scan``
    (found in a copy of the statement as written by the position of the table's name)."""
    tree, start = ctx.tree.copy(), scan.node.this.meta.get("start")
    written = next((t for t in tree.find_all(exp.Table) if t.this.meta.get("start") == start), None)
    select = written.find_ancestor(exp.Select) if written and start is not None else None
    if select is None:
        return None
    hint = select.args.get("hint") or exp.Hint(expressions=[])
    table = exp.Table(this=exp.to_identifier(scan.alias))
    hint.append("expressions", exp.JoinHint(this="BROADCAST", expressions=[table]))
    select.set("hint", hint)
    return tree
