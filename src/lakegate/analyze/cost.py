"""Cost estimates before execution: the bytes each statement would scan in the lake,
and what that costs on BigQuery, Snowflake, Redshift and Databricks.

Everything comes from metadata (the Delta log and Parquet footers, through
:class:`~lakegate.analyze.catalog.Catalog`); no query runs. For each read of a lake
table (:func:`~lakegate.analyze.scans.table_scans`):

1. partition pruning keeps the files whose partition values can satisfy the scan's
   filters, then file skipping keeps those whose min/max statistics can
   (:mod:`lakegate.analyze.pruning`; what is not understood keeps the file);
2. the bytes read from a kept file are its size times the projected columns' share
   of the table's bytes (:attr:`~lakegate.analyze.catalog.LakeTable.column_bytes`):
   compressed bytes are what a lake engine reads from storage, logical (uncompressed)
   bytes are close to what BigQuery bills;
3. :func:`~lakegate.analyze.pricing.price_scan` prices the bytes per platform.

Tables that are not in the lake are listed as unknown and left out of the totals;
a lake table the scan analysis cannot follow is counted as a full scan.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from sqlglot import exp

from lakegate.analyze.catalog import Catalog, DataFile, LakeTable
from lakegate.analyze.platforms import PLATFORMS, PlatformCost, price_scan, sum_costs
from lakegate.analyze.pricing import Pricing, PricingInfo
from lakegate.analyze.pruning import Facts, file_facts, may_match
from lakegate.analyze.scans import TableScan, table_scans
from lakegate.analyze.sources import Statement, collect_sources, parse_source
from lakegate.transform import LAKE_SCHEMA

UNKNOWN_TABLE = "unknown (not a lake table)"
_READING = (exp.Query, exp.Insert, exp.Create, exp.Merge, exp.Update, exp.Delete)


@dataclass(frozen=True)
class EstimateOptions:
    """How to price.

    Attributes:
        platforms: Platforms to price, from :data:`~lakegate.analyze.pricing.PLATFORMS`.
        warehouse_size: Snowflake's and Databricks' warehouse size (``XS``, ``M``,
            ``X-Large``, ...); None: each platform's ``default_size`` in the pricing table.
    """

    platforms: tuple[str, ...] = PLATFORMS
    warehouse_size: str | None = None


@dataclass(frozen=True)
class ScanEstimate:
    """One read of a lake table and what it scans.

    Attributes:
        table: The lake table.
        line: 1-based line of the table reference in its file.
        column: 1-based column.
        columns: Columns read (projection), sorted.
        filters: The filters pruning and skipping used, as SQL.
        files_total: Files in the table's snapshot.
        files_after_pruning: Files left after partition pruning.
        files_scanned: Files left after min/max skipping too: the files read.
        partitions_total: Partitions of the table (0 when it is not partitioned).
        partitions_scanned: Partitions the read files belong to.
        rows_total: Rows in the snapshot (None when a file has no statistics).
        rows_scanned: Rows in the files read (None when unknown).
        table_bytes: Bytes of the snapshot's files (compressed, on storage).
        bytes_scanned: Compressed bytes read: the read files' bytes of the projected columns.
        logical_bytes_scanned: The same columns uncompressed (BigQuery's billing basis).
        analyzed: False when the statement could not be analyzed and a full scan of
            every column and file is assumed.
    """

    table: str
    line: int
    column: int
    columns: tuple[str, ...]
    filters: tuple[str, ...]
    files_total: int
    files_after_pruning: int
    files_scanned: int
    partitions_total: int
    partitions_scanned: int
    rows_total: int | None
    rows_scanned: int | None
    table_bytes: int
    bytes_scanned: int
    logical_bytes_scanned: int
    analyzed: bool = True


@dataclass(frozen=True)
class UnknownTable:
    """A table a statement reads that is not in the lake (left out of the totals)."""

    name: str
    line: int
    column: int
    reason: str = UNKNOWN_TABLE


@dataclass(frozen=True)
class StatementEstimate:
    """What one statement scans and costs.

    Attributes:
        path: The file (a ``.sql`` file or the pipeline YAML of an inline stage).
        origin: ``stage 'enrich' of pipelines/flights.yaml`` for a stage; empty otherwise.
        statement: 1-based index of the statement in its source.
        line: 1-based line of the statement's first token in ``path``.
        column: 1-based column.
        sql: The statement, on one line (at most 200 characters).
        scans: Its reads of lake tables.
        unknown: Tables it reads that are not in the lake.
        bytes_scanned: Compressed bytes over ``scans``.
        logical_bytes_scanned: Uncompressed bytes over ``scans``.
        costs: Its price per platform (empty when it reads no lake table).
    """

    path: str
    origin: str
    statement: int
    line: int
    column: int
    sql: str
    scans: tuple[ScanEstimate, ...]
    unknown: tuple[UnknownTable, ...]
    bytes_scanned: int
    logical_bytes_scanned: int
    costs: tuple[PlatformCost, ...]


@dataclass(frozen=True)
class ParseProblem:
    """A statement that does not parse (not estimated)."""

    path: str
    line: int
    column: int
    message: str


@dataclass(frozen=True)
class CostEstimate:
    """The estimates of every statement under some paths.

    Attributes:
        statements: One estimate per statement, in source order.
        failures: Statements that do not parse (their cost is not in the totals).
        totals: The price per platform summed over the statements (each statement is
            priced alone, minimums included, as if it ran on its own).
        bytes_scanned: Compressed bytes over every statement.
        logical_bytes_scanned: Uncompressed bytes over every statement.
        pricing: Where the prices come from (``as_of`` date, currency, sources).
    """

    statements: tuple[StatementEstimate, ...]
    failures: tuple[ParseProblem, ...]
    totals: tuple[PlatformCost, ...]
    bytes_scanned: int
    logical_bytes_scanned: int
    pricing: PricingInfo


def estimate_paths(
    paths: Iterable[str | Path],
    catalog: Catalog,
    pricing: Pricing,
    *,
    dialect: str | None = None,
    options: EstimateOptions | None = None,
) -> CostEstimate:
    """Estimate every statement under ``paths`` (``.sql`` files, folders, pipeline files).

    Args:
        paths: Where the SQL is (see :func:`~lakegate.analyze.sources.collect_sources`).
        catalog: The lake tables statements may read.
        pricing: The pricing table (:func:`~lakegate.analyze.pricing.load_pricing`).
        dialect: sqlglot dialect for every text; None: duckdb for ``.sql`` files and the
            project engine's for pipeline stages.
        options: Platforms and warehouse size.

    Raises:
        UserInputError: A path does not exist, an unknown platform or warehouse size.
        ConfigError: A pipeline file is invalid.
    """
    options = options or EstimateOptions()
    # Pricing nothing checks the platforms and the warehouse size before any work.
    price_scan(pricing, {}, {}, platforms=options.platforms, warehouse_size=options.warehouse_size)
    statements: list[StatementEstimate] = []
    failures: list[ParseProblem] = []
    for source in collect_sources(paths, dialect):
        parsed, failed = parse_source(source)
        failures.extend(
            ParseProblem(str(f.source.path), f.line, f.column, f.message) for f in failed
        )
        statements.extend(estimate_statement(s, catalog, pricing, options) for s in parsed)
    return CostEstimate(
        statements=tuple(statements),
        failures=tuple(failures),
        totals=tuple(sum_costs([c for s in statements for c in s.costs])),
        bytes_scanned=sum(s.bytes_scanned for s in statements),
        logical_bytes_scanned=sum(s.logical_bytes_scanned for s in statements),
        pricing=pricing.info(),
    )


def estimate_statement(
    statement: Statement,
    catalog: Catalog,
    pricing: Pricing,
    options: EstimateOptions | None = None,
) -> StatementEstimate:
    """What ``statement`` scans in the lake and what that costs per platform.

    Raises:
        UserInputError: An unknown platform or warehouse size in ``options``.
    """
    options = options or EstimateOptions()
    scans = [estimate_scan(s, *statement.position(s.node)) for s in table_scans(statement, catalog)]
    seen = {s.table for s in scans}
    unknown: list[UnknownTable] = []
    for ref in _read_tables(statement):
        found = _lake_table(ref, statement, catalog)
        if found is None:
            name = _name(ref, statement.source.dialect)
            if name not in {u.name for u in unknown}:
                unknown.append(UnknownTable(name, *statement.position(ref)))
        elif found.name not in seen:  # read, but not followed: assume a full scan
            seen.add(found.name)
            scans.append(full_scan(found, *statement.position(ref)))
    compressed: dict[str, int] = {}
    logical: dict[str, int] = {}
    for scan in scans:
        compressed[scan.table] = compressed.get(scan.table, 0) + scan.bytes_scanned
        logical[scan.table] = logical.get(scan.table, 0) + scan.logical_bytes_scanned
    costs = (
        price_scan(
            pricing,
            compressed,
            logical,
            platforms=options.platforms,
            warehouse_size=options.warehouse_size,
        )
        if scans
        else []
    )
    line, column = statement.position(None)
    text = " ".join(statement.tree.sql(dialect=statement.source.dialect).split())
    return StatementEstimate(
        path=str(statement.source.path),
        origin=statement.source.origin,
        statement=statement.index,
        line=line,
        column=column,
        sql=text if len(text) <= 200 else text[:197] + "...",
        scans=tuple(scans),
        unknown=tuple(unknown),
        bytes_scanned=sum(compressed.values()),
        logical_bytes_scanned=sum(logical.values()),
        costs=tuple(costs),
    )


def estimate_scan(scan: TableScan, line: int = 0, column: int = 0) -> ScanEstimate:
    """The files, partitions, rows and bytes one lake-table read scans.

    Args:
        scan: The read (its table, projected columns and filters).
        line: Where the table reference is (for the report).
        column: Its column.
    """
    pruned, kept = scan_files(scan)
    return _estimate(scan.table, kept, len(pruned), scan.columns, scan.filters, line, column)


def scan_files(scan: TableScan) -> tuple[list[DataFile], list[DataFile]]:
    """``(after partition pruning, after min/max skipping too)``: the table's files
    each step keeps for the scan's filters (a file is dropped only when its partition
    values or statistics prove no row can pass)."""
    pruned = [f for f in scan.table.files if may_match(scan.filters, _facts(f, stats=False))]
    kept = [f for f in pruned if may_match(scan.filters, _facts(f, stats=True))]
    return pruned, kept


def full_scan(table: LakeTable, line: int = 0, column: int = 0) -> ScanEstimate:
    """A read of every file and column of ``table`` (when a statement cannot be analyzed)."""
    estimate = _estimate(
        table, list(table.files), len(table.files), set(table.column_names), [], line, column
    )
    return replace(estimate, analyzed=False)


# ---------------------------------------------------------------------- helpers


def _estimate(
    table: LakeTable,
    kept: list[DataFile],
    after_pruning: int,
    columns: set[str],
    filters: Sequence[exp.Expr],
    line: int,
    column: int,
) -> ScanEstimate:
    compressed_share, logical_share = _projection_share(table, columns)
    kept_bytes = sum(f.size_bytes for f in kept)
    counts = [f.rows for f in kept]
    partitioned = bool(table.partition_columns)
    keys = {tuple(f.partition.get(c) for c in table.partition_columns) for f in kept}
    return ScanEstimate(
        table=table.name,
        line=line,
        column=column,
        columns=tuple(sorted(columns)),
        filters=tuple(f.sql() for f in filters),
        files_total=len(table.files),
        files_after_pruning=after_pruning,
        files_scanned=len(kept),
        partitions_total=len(table.partitions()) if partitioned else 0,
        partitions_scanned=len(keys) if partitioned else 0,
        rows_total=table.rows,
        rows_scanned=None if any(n is None for n in counts) else sum(n or 0 for n in counts),
        table_bytes=table.size_bytes,
        bytes_scanned=math.ceil(kept_bytes * compressed_share),
        logical_bytes_scanned=max(
            math.ceil(kept_bytes * logical_share),
            _typed_bytes(table, columns, sum(n or 0 for n in counts)),
        ),
    )


# BigQuery's logical size per value by type (bytes): its on-demand billing basis. Strings
# and binaries are 2 bytes plus their length, which only a scan knows: they count 2 here
# and their decoded Parquet bytes come in through the footer-based estimate.
_LOGICAL_WIDTH = {"boolean": 1, "date": 8, "timestamp": 8, "timestamp_ntz": 8}


def _typed_bytes(table: LakeTable, columns: set[str], rows: int) -> int:
    """A floor for the logical bytes of ``columns`` over ``rows`` rows: each value at its
    type's width in BigQuery's data size table (8 for integers and floats, 16 for
    decimals, 2 + length for strings, counted as 2)."""
    total = 0
    for name in columns:
        found = table.column(name)
        if found is None:
            continue
        kind = found.type
        if kind in _LOGICAL_WIDTH:
            width = _LOGICAL_WIDTH[kind]
        elif kind in ("byte", "short", "integer", "long", "float", "double"):
            width = 8
        elif kind.startswith("decimal"):
            width = 16
        else:
            width = 2
        total += width * rows
    return total


def _projection_share(table: LakeTable, columns: set[str]) -> tuple[float, float]:
    """``(compressed, uncompressed)`` bytes of ``columns`` per byte of the table's files.
    A column the footers do not show (and that is not a partition column, which lives
    in the paths) counts as the whole file: never fewer bytes than an engine reads."""
    sizes = {name.lower(): size for name, size in table.column_bytes.items()}
    total = sum(s.compressed for s in sizes.values())
    if not total:
        return 0.0, 0.0
    whole = (1.0, max(1.0, sum(s.uncompressed for s in sizes.values()) / total))
    partitions = {c.lower() for c in table.partition_columns}
    compressed = uncompressed = 0
    for name in (c.lower() for c in columns):
        size = sizes.get(name)
        if size is None:
            if name in partitions:
                continue
            return whole
        compressed += size.compressed
        uncompressed += size.uncompressed
    return compressed / total, uncompressed / total


def _facts(data_file: DataFile, *, stats: bool) -> Facts:
    found = file_facts(
        data_file.partition,
        data_file.minimum,
        data_file.maximum,
        data_file.null_count,
        data_file.rows,
        stats=stats,
    )
    return found.get


def _read_tables(statement: Statement) -> list[exp.Table]:
    """The table references ``statement`` reads: not the targets of INSERT or CREATE,
    not CTE names, nothing in statements that read no data (DDL, SET, ...)."""
    tree = statement.tree
    if not isinstance(tree, _READING):
        return []
    ctes = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    found = []
    for ref in tree.find_all(exp.Table):
        if not ref.db and ref.name.lower() in ctes:
            continue
        parent = ref.parent.parent if isinstance(ref.parent, exp.Schema) else ref.parent
        target = ref.parent if isinstance(ref.parent, exp.Schema) else ref
        if isinstance(parent, exp.Insert | exp.Create) and parent.this is target:
            continue
        found.append(ref)
    return found


def _name(ref: exp.Table, dialect: str) -> str:
    """``db.table`` as written, without its alias (a table function as SQL)."""
    if ref.name:
        return ".".join(part.name for part in ref.parts)
    return ref.this.sql(dialect=dialect)


def _lake_table(ref: exp.Table, statement: Statement, catalog: Catalog) -> LakeTable | None:
    """The lake table ``ref`` names, as :func:`table_scans` resolves it (in a pipeline
    stage only ``lake.<table>`` names a lake table)."""
    if statement.source.pipeline_stage and ref.db != LAKE_SCHEMA:
        return None
    return catalog.resolve(ref)
