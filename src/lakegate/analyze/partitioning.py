"""``lakegate advise partitioning``: which partition columns a lake table should have.

The seeds' "Partitioning Strategy", applied to measured numbers:

* target 100 MB-1 GB per partition (compressed bytes on storage);
* fewer than 10,000 partitions per table;
* never partition on a high-cardinality column (``user_id``);
* always include the partition key in WHERE clauses: a column no query filters on
  prunes nothing;
* transactional/event data -> a date (daily or monthly); reference/dimension tables
  -> don't partition ("too small, full scan is fine").

Each column is a candidate, and each date or timestamp column also yields its
truncations (year, month, day, hour). The numbers behind every verdict are measured:
the table's bytes and rows from the Delta log, distinct values with
:meth:`LakeTable.profile`, truncated dates with DuckDB, and the filters from the
project's SQL (:func:`table_scans` over every statement that reads the table).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlglot import exp

from lakegate.analyze.catalog import Catalog, LakeTable
from lakegate.analyze.measure import truncation_counts
from lakegate.analyze.scans import table_scans
from lakegate.analyze.sources import collect_sources, parse_source
from lakegate.errors import InputDataError, UserInputError
from lakegate.sinks.maintenance import Column

MB = 1024 * 1024
GB = 1024 * MB
TARGET_MIN_BYTES = 100 * MB
TARGET_MAX_BYTES = 1 * GB
MAX_PARTITIONS = 10_000
# More than one distinct value per 100 rows: an identifier-like key (user_id) whose
# partition count grows with the data, however the bytes divide today.
HIGH_CARDINALITY_RATIO = 0.01
# The truncations tried for date and timestamp columns (the seed: daily or monthly;
# hourly for high-volume logs).
GRANULARITIES = {
    "date": ("year", "month"),
    "timestamp": ("year", "month", "day", "hour"),
    "timestamp_ntz": ("year", "month", "day", "hour"),
}
# Types that make no partition key: continuous values, blobs, nested values.
_NOT_KEYS = {"float": "floating-point", "double": "floating-point", "binary": "binary"}


def format_bytes(n: float) -> str:
    """``n`` bytes for people, in powers of 1024: ``512 B``, ``1.5 KB``, ``6.2 MB``."""
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if abs(size) < 1024:
            return f"{int(size)} B" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{size:.1f} TB"


@dataclass(frozen=True)
class PartitionRules:
    """The thresholds the advice applied (bytes are compressed, on storage).

    Attributes:
        target_min_bytes: Smallest average partition accepted (the seed: 100 MB).
        target_max_bytes: Largest average partition accepted (the seed: 1 GB).
        max_partitions: Partitions allowed per table, exclusive (the seed: 10,000).
        min_table_bytes: Tables smaller than this are not partitioned (default: the
            largest partition, 1 GB: the whole table fits in one).
    """

    target_min_bytes: int
    target_max_bytes: int
    max_partitions: int
    min_table_bytes: int


@dataclass(frozen=True)
class Candidate:
    """One way to partition the table, judged.

    Attributes:
        name: ``carrier``, or ``month(time_hour)`` for a truncated date.
        column: The table column it derives from.
        type: That column's Delta type.
        granularity: ``year``, ``month``, ``day`` or ``hour`` for a truncated date; None
            for the column's own values.
        expression: The partition value in Spark SQL (``DATE_TRUNC('MONTH', time_hour)``).
        partition_column: The column to partition by: the column itself, or a derived
            one (``time_hour_month``) the pipeline adds from ``expression``.
        partitions: Partitions it would make (distinct values, a null counting as one);
            None when not measured (an unusable type).
        average_bytes: Table bytes / partitions (bytes, compressed).
        largest_bytes: The bytes of the partition with the most rows, at the table's
            average bytes per row (bytes, compressed).
        filtered_by: Statements reading the table that filter on the column.
        verdict: ``recommended`` (the one pick), ``fits`` (passes the rules) or ``rejected``.
        reasons: Every rule's outcome, with its numbers.
    """

    name: str
    column: str
    type: str
    granularity: str | None
    expression: str
    partition_column: str
    partitions: int | None
    average_bytes: int | None
    largest_bytes: int | None
    filtered_by: int
    verdict: str
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class CurrentPartitioning:
    """The table's partitioning today.

    Attributes:
        columns: Its partition columns (empty when unpartitioned).
        partitions: Partitions in the snapshot (1 when unpartitioned).
        average_bytes: Bytes per partition on average (bytes, compressed).
        smallest_bytes: The smallest partition (bytes).
        largest_bytes: The largest partition (bytes).
        verdict: ``not partitioned``, ``over-partitioned``, ``under-partitioned``,
            ``too many partitions`` or ``within target``.
        reason: The verdict in a sentence, with its numbers.
    """

    columns: tuple[str, ...]
    partitions: int
    average_bytes: int
    smallest_bytes: int
    largest_bytes: int
    verdict: str
    reason: str


@dataclass(frozen=True)
class PartitioningAdvice:
    """The advice for one table.

    Attributes:
        table: The table's name in the lake.
        uri: Its location.
        version: The snapshot measured.
        size_bytes: Its data files' bytes (compressed, on storage).
        rows: Its rows.
        rules: The thresholds applied.
        current: Its partitioning today, judged by the same rules.
        candidates: Every candidate, the recommended one first, then those that fit,
            then the rejected ones.
        recommended: The pick, or None (don't partition).
        summary: The advice in a sentence.
        statements: Statements found that read the table.
        sql_statements: Statements parsed in all.
        skipped: Files and statements that could not be read or parsed.
    """

    table: str
    uri: str
    version: int
    size_bytes: int
    rows: int
    rules: PartitionRules
    current: CurrentPartitioning
    candidates: tuple[Candidate, ...]
    recommended: Candidate | None
    summary: str
    statements: int
    sql_statements: int
    skipped: tuple[str, ...]


@dataclass(frozen=True)
class _Usage:
    statements: int
    parsed: int
    filtered: dict[str, int]  # {lower-case column: statements filtering on it}
    skipped: tuple[str, ...]


def advise_partitioning(
    catalog: Catalog,
    table: str,
    *,
    sql_paths: Sequence[str | Path] = (),
    dialect: str | None = None,
    default_dialect: str = "duckdb",
    target_min_bytes: int = TARGET_MIN_BYTES,
    target_max_bytes: int = TARGET_MAX_BYTES,
    max_partitions: int = MAX_PARTITIONS,
    min_table_bytes: int | None = None,
) -> PartitioningAdvice:
    """Recommend partition columns for ``table`` by the seeds' partitioning rules.

    Args:
        catalog: The lake.
        table: A table name in it (``flights`` or ``lake.flights``).
        sql_paths: SQL files, folders and pipeline files whose statements show how the
            table is filtered (see :func:`collect_sources`); empty: filters unknown.
        dialect: Parse every text in this sqlglot dialect; None: ``default_dialect``
            for ``.sql`` files and the project engine's for pipeline stages.
        default_dialect: See ``dialect``.
        target_min_bytes: Smallest average partition accepted (bytes, compressed).
        target_max_bytes: Largest average partition accepted (bytes, compressed).
        max_partitions: Partitions allowed per table (exclusive).
        min_table_bytes: Tables under this are not partitioned (bytes; default
            ``target_max_bytes``).

    Raises:
        InputDataError: No such table, or it has no data, or its files cannot be read.
        UserInputError: A SQL path does not exist, or the thresholds are inconsistent.
        ConfigError: A pipeline file under ``sql_paths`` is invalid.
    """
    if not 0 < target_min_bytes <= target_max_bytes or max_partitions < 2:
        raise UserInputError(
            "partition targets need 0 < target_min_bytes <= target_max_bytes and "
            "max_partitions >= 2"
        )
    lake = catalog.table(table)
    if not lake.files:
        raise InputDataError(f"table {lake.name!r} has no data files: nothing to measure")
    rules = PartitionRules(
        target_min_bytes,
        target_max_bytes,
        max_partitions,
        target_max_bytes if min_table_bytes is None else min_table_bytes,
    )
    usage = _filter_usage(catalog, lake, sql_paths, dialect, default_dialect)
    judged = list(_candidates(lake, rules, usage))
    eligible = [
        c for c in judged if c.verdict == "fits" and (not usage.statements or c.filtered_by)
    ]
    best = None
    if eligible and lake.size_bytes >= rules.min_table_bytes:
        middle = math.log(math.sqrt(rules.target_min_bytes * rules.target_max_bytes))
        best = min(
            eligible,
            key=lambda c: (
                -c.filtered_by,
                c.type not in GRANULARITIES,
                abs(math.log(c.average_bytes or 1) - middle),
            ),
        )
        others = ", ".join(c.name for c in eligible if c is not best) or "no other candidate"
        reason = f"picked over {others}: the most filtered on, then a date, then the size"
        best = dataclasses.replace(best, verdict="recommended", reasons=(*best.reasons, reason))
        judged = [best if c.name == best.name else c for c in judged]
    order = {"recommended": 0, "fits": 1, "rejected": 2}
    current = _current(lake, rules)
    return PartitioningAdvice(
        table=lake.name,
        uri=lake.uri,
        version=lake.version,
        size_bytes=lake.size_bytes,
        rows=lake.rows if lake.rows is not None else 0,
        rules=rules,
        current=current,
        candidates=tuple(sorted(judged, key=lambda c: order[c.verdict])),
        recommended=best,
        summary=_summary(lake, rules, best, judged, current),
        statements=usage.statements,
        sql_statements=usage.parsed,
        skipped=usage.skipped,
    )


def _candidates(lake: LakeTable, rules: PartitionRules, usage: _Usage) -> Iterator[Candidate]:
    """Every column, and the truncations of date columns, judged by ``rules``."""
    usable = [c for c in lake.columns if _unusable(c.type) is None]
    profiles = lake.profile([c.name for c in usable])
    truncated = truncation_counts(
        lake, [(c.name, unit) for c in usable for unit in GRANULARITIES.get(c.type, ())]
    )
    rows = next((p.rows for p in profiles.values()), lake.rows or 0)
    for column in lake.columns:
        ident = exp.to_identifier(column.name)
        p = profiles.get(column.name)
        # A null is a partition too (Delta's __HIVE_DEFAULT_PARTITION__).
        counts = None
        if p is not None:  # distinct values are approximate: never more than the rows
            counts = (min(p.distinct + bool(p.nulls), p.rows), max(p.top_rows, p.nulls))
        yield _judge(lake, rules, usage, rows, column, None, ident.sql("spark"), counts)
        for unit in GRANULARITIES.get(column.type, ()) if p is not None else ():
            value = exp.TimestampTrunc(this=ident.copy(), unit=exp.var(unit.upper()))
            counts = truncated[(column.name, unit)]
            yield _judge(lake, rules, usage, rows, column, unit, value.sql("spark"), counts)


def _judge(
    lake: LakeTable,
    rules: PartitionRules,
    usage: _Usage,
    rows: int,
    column: Column,
    unit: str | None,
    expression: str,
    counts: tuple[int, int] | None,
) -> Candidate:
    """``column`` (truncated to ``unit``) judged by ``rules``; ``counts`` is
    ``(partitions, rows of the largest)``, None for a type that cannot be a key."""
    partitions, largest_rows = counts or (0, 0)
    average = lake.size_bytes // max(partitions, 1)
    largest = round(lake.size_bytes * largest_rows / rows) if rows else lake.size_bytes
    lo, hi = format_bytes(rules.target_min_bytes), format_bytes(rules.target_max_bytes)
    shape = (
        f"{partitions:,} partition(s) averaging {format_bytes(average)} "
        f"(largest ~{format_bytes(largest)})"
    )
    rejections = []
    if counts is None:
        rejections.append(f"{_unusable(column.type) or 'unmeasured'} type {column.type}: no key")
    elif partitions <= 1:
        rejections.append(f"a single value: {shape}; nothing to prune")
    elif average < rules.target_min_bytes:
        rejections.append(f"{shape}: under the {lo} minimum per partition (too fine)")
    elif average > rules.target_max_bytes:
        rejections.append(f"{shape}: over the {hi} maximum per partition (too coarse)")
    if counts is not None and partitions >= rules.max_partitions:
        rejections.append(
            f"{partitions:,} partitions: not under the {rules.max_partitions:,} limit"
        )
    if counts is not None and rows and partitions / rows > HIGH_CARDINALITY_RATIO:
        rejections.append(
            f"high-cardinality: {partitions:,} values in {rows:,} rows, one per "
            f"{rows / partitions:,.0f} rows (the limit: one per {1 / HIGH_CARDINALITY_RATIO:,.0f}"
            "); the seed: never partition on high-cardinality columns"
        )
    reasons = list(rejections) or [f"{shape}: within the {lo}-{hi} target"]
    filtered = usage.filtered.get(column.name.lower(), 0)
    if not usage.statements:
        reasons.append(f"no SQL found reading {lake.name}: which filters it gets is unknown")
    elif filtered:
        reasons.append(f"filtered on by {filtered} of {usage.statements} statements reading it")
    else:
        reasons.append(
            f"none of the {usage.statements} statements reading {lake.name} filters on "
            f"{column.name}: nothing would be pruned (the seed: the partition key belongs in WHERE)"
        )
    if column.type in GRANULARITIES:
        reasons.append("a date: the seed partitions transactional/event data by date")
    return Candidate(
        name=f"{unit}({column.name})" if unit else column.name,
        column=column.name,
        type=column.type,
        granularity=unit,
        expression=expression,
        partition_column=f"{column.name}_{unit}" if unit else column.name,
        partitions=None if counts is None else partitions,
        average_bytes=None if counts is None else average,
        largest_bytes=None if counts is None else largest,
        filtered_by=filtered,
        verdict="rejected" if rejections else "fits",
        reasons=tuple(reasons),
    )


def _current(lake: LakeTable, rules: PartitionRules) -> CurrentPartitioning:
    """The table's partitioning today, judged by ``rules``."""
    sizes = [sum(f.size_bytes for f in files) for files in lake.partitions().values()]
    count, average = len(sizes), lake.size_bytes // len(sizes)
    by = f"partitioned by {', '.join(lake.partition_columns)}: {count:,} partition(s) averaging "
    by += format_bytes(average)
    if not lake.partition_columns:
        verdict = "not partitioned"
        reason = f"not partitioned: {format_bytes(lake.size_bytes)} in {len(lake.files):,} file(s)"
    elif count >= rules.max_partitions:
        verdict, reason = "too many partitions", f"{by}, not under {rules.max_partitions:,}"
    elif average < rules.target_min_bytes:
        verdict = "over-partitioned"
        reason = f"{by}, under the {format_bytes(rules.target_min_bytes)} minimum"
    elif average > rules.target_max_bytes:
        verdict = "under-partitioned"
        reason = f"{by}, over the {format_bytes(rules.target_max_bytes)} maximum"
    else:
        verdict, reason = "within target", f"{by}, within the target"
    return CurrentPartitioning(
        tuple(lake.partition_columns), count, average, min(sizes), max(sizes), verdict, reason
    )


def _summary(
    lake: LakeTable,
    rules: PartitionRules,
    best: Candidate | None,
    judged: Sequence[Candidate],
    current: CurrentPartitioning,
) -> str:
    size = format_bytes(lake.size_bytes)
    if lake.size_bytes < rules.min_table_bytes:
        text = (
            f"don't partition {lake.name}: at {size} it is under "
            f"{format_bytes(rules.min_table_bytes)}, no bigger than one target partition, "
            "so a full scan is fine (the seed, for reference/dimension tables: too small to "
            "partition)"
        )
    elif best is not None:
        text = (
            f"partition {lake.name} by {best.partition_column}: {best.partitions:,} partitions "
            f"averaging {format_bytes(best.average_bytes or 0)}"
        )
        if best.granularity:
            text += f" (a column the pipeline adds as {best.expression})"
        text += f"; load.partition_by: [{best.partition_column}]"
    else:
        unfiltered = [c.name for c in judged if c.verdict == "fits"]
        text = f"don't partition {lake.name}: no candidate passes every rule"
        if unfiltered:
            text += f" ({', '.join(unfiltered)} fit the sizes, but no statement filters on them)"
    return f"{text}; currently {current.reason}"


def _unusable(delta_type: str) -> str | None:
    """Why a column of ``delta_type`` makes no partition key, or None when it can."""
    if delta_type.startswith(("array", "map", "struct")):
        return "nested"
    return _NOT_KEYS.get(delta_type)


def _filter_usage(
    catalog: Catalog,
    lake: LakeTable,
    sql_paths: Sequence[str | Path],
    dialect: str | None,
    default_dialect: str,
) -> _Usage:
    """How the statements under ``sql_paths`` read ``lake``: how many read it, and per
    column how many filter on it (WHERE and JOIN ... ON conditions on the table alone)."""
    skipped: list[str] = []
    sources = collect_sources(
        sql_paths,
        dialect,
        default_dialect=default_dialect,
        on_error=lambda path, exc: skipped.append(f"{path}: {exc}"),
    )
    reading, parsed = 0, 0
    filtered: dict[str, int] = {}
    for source in sources:
        statements, failures = parse_source(source)
        skipped.extend(f"{f.source.path}:{f.line}:{f.column}: {f.message}" for f in failures)
        parsed += len(statements)
        for statement in statements:
            scans = [s for s in table_scans(statement, catalog) if s.table.name == lake.name]
            if not scans:
                continue
            reading += 1
            for column in set().union(*(s.filtered_columns() for s in scans)):
                filtered[column] = filtered.get(column, 0) + 1
    return _Usage(reading, parsed, filtered, tuple(skipped))
