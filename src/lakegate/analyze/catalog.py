"""Lake table statistics for the analyzer, the partition advisor and the cost estimates.

Everything here comes from metadata: the Delta log's add actions (file sizes, row
counts, partition values, per-column min/max/null counts) and the Parquet footers
(bytes per column, compressed and not). Column cardinalities and key skew, which
no metadata holds, are measured with DuckDB over the snapshot's files, on demand.
Table data is never read through deltalake's ``to_pyarrow_*`` readers (they can
abort the process at exit: delta-rs issue 2184).
"""

from __future__ import annotations

import datetime as dt
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from sqlglot import exp

from lakegate.errors import InputDataError
from lakegate.sinks.maintenance import Column, _open, _type_name

# How many Parquet footers are read to measure bytes per column; the share of each
# column in the sampled files is applied to the others.
FOOTER_SAMPLE_FILES = 64


@dataclass(frozen=True)
class DataFile:
    """One data file of a snapshot, from its add action.

    Attributes:
        uri: Where the file is (a local path or an object-store URL).
        size_bytes: Its size on storage (bytes, compressed).
        rows: Its ``num_records``; None when it was written without statistics.
        partition: ``{partition column: value}`` (values typed as the log gives them).
        minimum: ``{column: min}`` from the file statistics (top-level columns).
        maximum: ``{column: max}``.
        null_count: ``{column: nulls}``.
        modified: When it was written (UTC).
    """

    uri: str
    size_bytes: int
    rows: int | None
    partition: Mapping[str, Any] = field(default_factory=dict)
    minimum: Mapping[str, Any] = field(default_factory=dict)
    maximum: Mapping[str, Any] = field(default_factory=dict)
    null_count: Mapping[str, int | None] = field(default_factory=dict)
    modified: dt.datetime | None = None


@dataclass(frozen=True)
class ColumnBytes:
    """A column's share of a table's bytes, from the Parquet footers.

    Attributes:
        compressed: Bytes on storage (what a lake engine reads), summed over the table.
        uncompressed: Bytes once decoded (close to what BigQuery bills as logical bytes).
    """

    compressed: int
    uncompressed: int


@dataclass(frozen=True)
class ColumnProfile:
    """What DuckDB measured of one column.

    Attributes:
        name: The column.
        distinct: Approximate distinct values (HyperLogLog; exact for partition columns).
        nulls: Null values.
        top_value: The most frequent non-null value (as text), if any.
        top_rows: How many rows hold it.
        rows: Rows measured.
    """

    name: str
    distinct: int
    nulls: int
    top_value: str | None
    top_rows: int
    rows: int

    @property
    def top_share(self) -> float:
        """The most frequent value's share of the non-null rows (0-1)."""
        non_null = self.rows - self.nulls
        return self.top_rows / non_null if non_null else 0.0


@dataclass
class LakeTable:
    """A snapshot of a Delta table, as the analyzer sees it.

    Attributes:
        name: Its name in the lake (the folder name).
        uri: Its directory or URL.
        version: The snapshot's version.
        columns: The schema (Delta type names: long, string, timestamp, ...).
        partition_columns: Partition columns, in order.
        files: The snapshot's data files.
        last_commit: When the snapshot was committed (UTC), if known.
    """

    name: str
    uri: str
    version: int
    columns: tuple[Column, ...]
    partition_columns: tuple[str, ...]
    files: tuple[DataFile, ...]
    last_commit: dt.datetime | None = None
    _profiles: dict[str, ColumnProfile] = field(default_factory=dict, repr=False)

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def size_bytes(self) -> int:
        """Bytes of the snapshot's data files (compressed, on storage)."""
        return sum(f.size_bytes for f in self.files)

    @property
    def rows(self) -> int | None:
        """Rows in the snapshot; None when a file has no statistics."""
        counts = [f.rows for f in self.files]
        return None if any(n is None for n in counts) else sum(n or 0 for n in counts)

    def column(self, name: str) -> Column | None:
        """The schema column called ``name`` (case-insensitive), or None."""
        lowered = name.lower()
        return next((c for c in self.columns if c.name.lower() == lowered), None)

    def partitions(self) -> dict[tuple[Any, ...], list[DataFile]]:
        """The snapshot's files grouped by partition values (one group when unpartitioned)."""
        groups: dict[tuple[Any, ...], list[DataFile]] = {}
        for f in self.files:
            key = tuple(f.partition.get(c) for c in self.partition_columns)
            groups.setdefault(key, []).append(f)
        return groups

    @cached_property
    def column_bytes(self) -> dict[str, ColumnBytes]:
        """Bytes per top-level column over the whole snapshot (see :class:`ColumnBytes`).

        Measured from the footers of up to :data:`FOOTER_SAMPLE_FILES` local files and
        scaled to the table's size; when no footer can be read (object stores), each
        column gets a share proportional to its type's width.
        """
        measured = _footer_bytes(self)
        total = self.size_bytes
        if measured:
            compressed_sum = sum(c for c, _ in measured.values()) or 1
            return {
                name: ColumnBytes(
                    compressed=round(total * c / compressed_sum),
                    uncompressed=round(total * u / compressed_sum),
                )
                for name, (c, u) in measured.items()
            }
        widths = {c.name: _type_width(c.type) for c in self.columns}
        width_sum = sum(widths.values()) or 1
        return {
            name: ColumnBytes(round(total * w / width_sum), round(total * w / width_sum))
            for name, w in widths.items()
        }

    def profile(self, columns: Sequence[str]) -> dict[str, ColumnProfile]:
        """Distinct counts, nulls and the most frequent value of ``columns``, measured
        with DuckDB over the snapshot's files (one scan for the distinct counts, one
        ``GROUP BY`` per column for its top value); cached per column.

        Raises:
            InputDataError: The files cannot be read.
        """
        wanted = [c for c in columns if c not in self._profiles and self.column(c)]
        if wanted:
            from lakegate.analyze.measure import measure_columns

            self._profiles.update(measure_columns(self, wanted))
        return {c: self._profiles[c] for c in columns if c in self._profiles}


class Catalog:
    """The lake tables a query may name, loaded lazily from the project's lake.

    A table is found by its bare name (``flights``) or as ``lake.flights`` (how
    pipeline stages name lake tables). Names not in the lake resolve to None.

    Args:
        lake_uri: The lake root (a local directory or an object-store URL), or None
            for no lake (every lookup returns None).
        tables: Extra ``{name: table uri}`` entries, looked up before the lake.
    """

    def __init__(self, lake_uri: str | None, tables: Mapping[str, str] | None = None) -> None:
        self.lake_uri = lake_uri
        self.extra = dict(tables or {})
        self._loaded: dict[str, LakeTable | None] = {}

    @classmethod
    def from_project(cls, project: Any) -> Catalog:
        """The catalog of a :class:`~lakegate.config.project.Project`'s lake."""
        return cls(project.lake_uri)

    def names(self) -> list[str]:
        """Names of the Delta tables in the lake folder (local lakes only), sorted."""
        names = set(self.extra)
        if self.lake_uri and "://" not in self.lake_uri and os.path.isdir(self.lake_uri):
            for entry in os.listdir(self.lake_uri):
                if os.path.isdir(os.path.join(self.lake_uri, entry, "_delta_log")):
                    names.add(entry)
        return sorted(names)

    def get(self, name: str) -> LakeTable | None:
        """The table called ``name`` (``flights`` or ``lake.flights``), or None."""
        if self.lake_uri is None and not self.extra:
            return None
        key = name.lower().removeprefix("lake.")
        if key not in self._loaded:
            self._loaded[key] = self._load(key)
        return self._loaded[key]

    def table(self, name: str) -> LakeTable:
        """Like :meth:`get`, but a missing table is an error.

        Raises:
            InputDataError: No Delta table called ``name`` in the lake.
        """
        found = self.get(name)
        if found is None:
            where = self.lake_uri or "the lake"
            known = ", ".join(self.names()) or "none"
            raise InputDataError(f"no Delta table {name!r} in {where} (tables: {known})")
        return found

    def resolve(self, table: exp.Table) -> LakeTable | None:
        """The lake table a sqlglot table reference names: ``t`` or ``lake.t``; other
        qualified names (``db.t`` of a warehouse) only when the lake has ``t``."""
        if table.catalog or not table.name:
            return None
        if isinstance(table.this, exp.Identifier):
            return self.get(table.name)
        return None

    def _load(self, key: str) -> LakeTable | None:
        uri = self.extra.get(key)
        if uri is None:
            if not self.lake_uri:
                return None
            uri = f"{self.lake_uri.rstrip('/')}/{key}"
            if "://" not in uri and not os.path.isdir(os.path.join(uri, "_delta_log")):
                return None
        return load_table(uri, name=key)


def load_table(uri: str, *, name: str | None = None) -> LakeTable:
    """Read a Delta table's snapshot metadata (no data).

    Args:
        uri: The table's directory or URL.
        name: Its name in the lake (default: the last path segment).

    Raises:
        InputDataError: No readable Delta table at ``uri``.
    """
    from urllib.parse import unquote

    import pyarrow as pa

    label = name or uri.rstrip("/").rsplit("/", 1)[-1]
    table = _open(uri, label)
    from lakegate.engines.duckdb import _local_files

    actions = pa.RecordBatchReader.from_stream(table.get_add_actions(flatten=True)).read_all()
    file_uris = table.file_uris()
    uris = dict(zip(_relative_paths(file_uris, table.table_uri), file_uris, strict=True))
    rows = actions.to_pylist()
    files = []
    local = _local_files(table.table_uri, [uris.get(unquote(r["path"]), r["path"]) for r in rows])
    for row, path in zip(rows, local, strict=True):
        stats: dict[str, dict[str, Any]] = {"partition": {}, "min": {}, "max": {}, "null_count": {}}
        for key, value in row.items():
            prefix, _, column = key.partition(".")
            if column and prefix in stats and "." not in column:
                stats[prefix][column] = value
        millis = row.get("modification_time")
        files.append(
            DataFile(
                uri=path,
                size_bytes=int(row["size_bytes"]),
                rows=None if row.get("num_records") is None else int(row["num_records"]),
                partition=stats["partition"],
                minimum=stats["min"],
                maximum=stats["max"],
                null_count=stats["null_count"],
                modified=(dt.datetime.fromtimestamp(millis / 1000, tz=dt.UTC) if millis else None),
            )
        )
    history = table.history(1)
    millis = history[0].get("timestamp") if history else None
    return LakeTable(
        name=label,
        uri=uri,
        version=table.version(),
        columns=tuple(
            Column(f.name, _type_name(f.type), bool(f.nullable)) for f in table.schema().fields
        ),
        partition_columns=tuple(table.metadata().partition_columns),
        files=tuple(files),
        last_commit=(
            dt.datetime.fromtimestamp(millis / 1000, tz=dt.UTC)
            if isinstance(millis, int | float)
            else None
        ),
    )


def _relative_paths(uris: Iterable[str], table_uri: str) -> list[str]:
    """The suffixes of the snapshot's file URIs below the table root. An add action's
    ``path`` is that suffix percent-encoded once more (delta-rs)."""
    from urllib.parse import urlparse

    parsed = urlparse(table_uri)
    root = (parsed.path if parsed.scheme == "file" else table_uri).rstrip("/") + "/"
    return [uri[len(root) :] if uri.startswith(root) else uri for uri in uris]


def _footer_bytes(table: LakeTable) -> dict[str, tuple[int, int]]:
    """``{column: (compressed, uncompressed)}`` summed over a sample of local footers."""
    import pyarrow.parquet as pq

    local = [f for f in table.files if "://" not in f.uri and os.path.exists(f.uri)]
    if not local:
        return {}
    step = max(1, math.ceil(len(local) / FOOTER_SAMPLE_FILES))
    sums: dict[str, list[int]] = {}
    for data_file in local[::step]:
        try:
            meta = pq.read_metadata(data_file.uri)
        except (OSError, ValueError):
            continue
        for g in range(meta.num_row_groups):
            group = meta.row_group(g)
            for c in range(group.num_columns):
                chunk = group.column(c)
                top = chunk.path_in_schema.split(".", 1)[0]
                entry = sums.setdefault(top, [0, 0])
                entry[0] += chunk.total_compressed_size
                entry[1] += chunk.total_uncompressed_size
    # Partition columns live in the paths, not the files: they cost nothing to scan.
    for column in table.partition_columns:
        sums.setdefault(column, [0, 0])
    return {name: (c, u) for name, (c, u) in sums.items()}


def _type_width(delta_type: str) -> int:
    """A rough width in bytes of a value of a Delta type (for tables without footers)."""
    widths = {"boolean": 1, "byte": 1, "short": 2, "integer": 4, "float": 4, "date": 4}
    if delta_type in widths:
        return widths[delta_type]
    if delta_type in ("long", "double", "timestamp", "timestamp_ntz"):
        return 8
    if delta_type.startswith("decimal"):
        return 16
    return 32
