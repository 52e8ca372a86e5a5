"""The embedded default engine: DuckDB, in process.

DuckDB reads Parquet, CSV and JSON files itself, in parallel and streamed, so
a check scan over a large input keeps memory bounded. Delta tables are read
from the Parquet files of their current snapshot (partition values from the
Hive-style paths delta-rs writes); tables whose features need the Delta
protocol to read (deletion vectors, column mapping) go through deltalake's
QueryBuilder. deltalake's ``to_pyarrow_*`` readers are never used (they can
abort the process at exit: delta-rs issue 2184).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import duckdb
from sqlglot import exp

from lakegate.errors import EngineError, InputDataError
from lakegate.sources.files import ArrowDataset, Dataset, DeltaDataset

if TYPE_CHECKING:
    from lakegate.sinks import Sink

log = logging.getLogger(__name__)

# Reader features that a plain Parquet scan of the snapshot would get wrong.
_NEEDS_DELTA_READER = {"deletionVectors", "columnMapping", "timestampNtz", "typeWidening"}

_DELTA_PRIMITIVES = {
    "string": "VARCHAR",
    "long": "BIGINT",
    "integer": "INTEGER",
    "short": "SMALLINT",
    "byte": "TINYINT",
    "float": "FLOAT",
    "double": "DOUBLE",
    "boolean": "BOOLEAN",
    "binary": "BLOB",
    "date": "DATE",
    "timestamp": "TIMESTAMPTZ",
    "timestamp_ntz": "TIMESTAMP",
}


class DuckDBEngine:
    """DuckDB in process, with the session time zone fixed to UTC.

    Args:
        database: A DuckDB database file, or ``:memory:``.
        threads: Worker threads (default: DuckDB's, one per core).
        memory_limit: e.g. ``"2GB"``; DuckDB spills to ``temp_directory`` past it.
        temp_directory: Where to spill (default: DuckDB's).
    """

    name = "duckdb"
    dialect = "duckdb"

    def __init__(
        self,
        database: str = ":memory:",
        *,
        threads: int | None = None,
        memory_limit: str | None = None,
        temp_directory: str | None = None,
    ) -> None:
        config: dict[str, Any] = {"preserve_insertion_order": False}
        if threads:
            config["threads"] = threads
        if memory_limit:
            config["memory_limit"] = memory_limit
        if temp_directory:
            config["temp_directory"] = temp_directory
        self.connection = duckdb.connect(database, config=config)
        # Naive timestamps are UTC; ICU (bundled) must be loaded before the setting.
        self.connection.execute("SET TimeZone = 'UTC'")

    # ------------------------------------------------------------------ datasets

    def register(self, name: str, dataset: Dataset) -> None:
        """Make ``dataset`` queryable as the view ``name`` (see :class:`Engine`)."""
        try:
            relation = self._relation(dataset)
            relation.create_view(name, replace=True)
        except duckdb.Error as exc:
            raise InputDataError(
                f"{dataset.label or name}: cannot read: {_first_line(exc)}"
            ) from None

    def _relation(self, dataset: Dataset) -> duckdb.DuckDBPyRelation:
        con = self.connection
        if isinstance(dataset, DeltaDataset):
            return self._delta_relation(dataset)
        if isinstance(dataset, ArrowDataset):
            return con.from_arrow(dataset.reader)
        files = list(dataset.paths)
        if dataset.format == "parquet":
            return con.read_parquet(files, union_by_name=len(files) > 1)
        if dataset.format == "json":
            return con.read_json(files)
        options = dataset.csv
        kwargs: dict[str, Any] = {"header": options.header, "na_values": list(options.null_values)}
        if options.delimiter is not None:
            kwargs["sep"] = options.delimiter
        return con.read_csv(files, **kwargs)

    def _delta_relation(self, dataset: DeltaDataset) -> duckdb.DuckDBPyRelation:
        from deltalake import DeltaTable, QueryBuilder
        from deltalake.exceptions import TableNotFoundError

        try:
            table = DeltaTable(dataset.path, version=dataset.version)
        except (TableNotFoundError, OSError, ValueError) as exc:
            raise InputDataError(f"{dataset.label}: not a readable Delta table: {exc}") from None
        fields = table.schema().fields
        features = set(table.protocol().reader_features or [])
        if features & _NEEDS_DELTA_READER:
            reader = QueryBuilder().register("t", table).execute("SELECT * FROM t")
            return self.connection.from_arrow(reader)
        files = _local_files(table.table_uri, table.file_uris())
        names = [f.name for f in fields]
        if not files:  # an empty table: a typed, empty relation
            empty = self.connection.sql(
                exp.select(
                    *[
                        exp.cast(exp.null(), _delta_type(f.type)).as_(f.name, quoted=True)
                        for f in fields
                    ]
                )
                .limit(0)
                .sql(dialect="duckdb")
            )
            return empty
        partitions = table.metadata().partition_columns
        options: list[exp.Expr] = [exp.EQ(this=exp.column("union_by_name"), expression=exp.true())]
        if partitions:
            # delta-rs writes Hive-style paths (col=value, nulls as __HIVE_DEFAULT_PARTITION__).
            hive_types = exp.Struct(
                expressions=[
                    exp.PropertyEQ(
                        this=exp.Literal.string(f.name),
                        expression=exp.Literal.string(_delta_type(f.type)),
                    )
                    for f in fields
                    if f.name in partitions
                ]
            )
            options += [
                exp.EQ(this=exp.column("hive_partitioning"), expression=exp.true()),
                exp.EQ(this=exp.column("hive_types"), expression=hive_types),
            ]
        scan = exp.Anonymous(
            this="read_parquet",
            expressions=[exp.Array(expressions=[exp.Literal.string(f) for f in files]), *options],
        )
        select = exp.select(*[exp.column(n, quoted=True) for n in names]).from_(
            exp.Table(this=scan)
        )
        return self.connection.sql(select.sql(dialect="duckdb"))

    def columns(self, name: str) -> dict[str, exp.DataType]:
        """``{column: type}`` of a registered table (types parsed by sqlglot)."""
        relation = self.connection.table(_quote(name))
        return {
            column: exp.DataType.build(str(dtype), dialect="duckdb", udt=True)
            for column, dtype in zip(relation.columns, relation.types, strict=True)
        }

    # ------------------------------------------------------------------ queries

    def query(self, expression: exp.Expr) -> list[tuple[Any, ...]]:
        """Run one query; see :class:`Engine`."""
        sql = expression.sql(dialect="duckdb")
        try:
            return self.connection.execute(sql).fetchall()
        except (duckdb.IOException, duckdb.InvalidInputException) as exc:
            raise InputDataError(f"cannot read the input: {_first_line(exc)}") from None
        except duckdb.Error as exc:
            raise _engine_error(exc, sql) from None

    def execute(self, expression: exp.Expr) -> None:
        """Run a statement that returns nothing (CREATE TABLE/VIEW, DROP)."""
        sql = expression.sql(dialect="duckdb")
        try:
            self.connection.execute(sql)
        except (duckdb.IOException, duckdb.InvalidInputException) as exc:
            raise InputDataError(f"cannot read the input: {_first_line(exc)}") from None
        except duckdb.Error as exc:
            raise _engine_error(exc, sql) from None

    def stream(self, expression: exp.Expr, rows_per_batch: int = 122_880) -> Any:
        """The query's result as a ``pyarrow.RecordBatchReader`` (streamed, bounded memory)."""
        sql = expression.sql(dialect="duckdb")
        try:
            return self.connection.sql(sql).to_arrow_reader(rows_per_batch)
        except duckdb.Error as exc:
            raise _engine_error(exc, sql) from None

    def sink(self, table_uri: str) -> Sink:
        """delta-rs writes DuckDB's batches (see ``Engine.sink``)."""
        from lakegate.sinks import create_sink

        return create_sink("delta", table_uri)

    def staged(self, name: str) -> Any:
        """The table ``name`` as a :class:`~lakegate.sinks.staging.StagedBatch`: the
        delta-rs sink reads it in place, with no second copy."""
        from lakegate.sinks.staging import StagedBatch

        return StagedBatch(self, name)

    def describe(self) -> dict[str, str]:
        """``{"name": "duckdb", "version": "2.0.1"}`` (see ``Engine.describe``)."""
        return {"name": self.name, "version": duckdb.__version__}

    def progress(self) -> float:
        """Progress of the running query in percent, or -1 when DuckDB cannot tell."""
        try:
            return float(self.connection.query_progress())
        except duckdb.Error:
            return -1.0

    def close(self) -> None:
        self.connection.close()


def _local_files(table_uri: str, uris: list[str]) -> list[str]:
    """Paths DuckDB can open. delta-rs percent-encodes the table's root in local file
    URIs (a space as %20) while the partition folders below it are encoded on disk
    too, so only the root is decoded. Object-store URLs stay as they are."""
    from urllib.parse import unquote, urlparse

    parsed = urlparse(table_uri)
    if parsed.scheme not in ("", "file"):
        return uris
    encoded_root = (parsed.path if parsed.scheme else table_uri).rstrip("/")
    local_root = unquote(encoded_root)
    return [
        local_root + uri[len(encoded_root) :] if uri.startswith(encoded_root) else uri
        for uri in uris
    ]


def _quote(name: str) -> str:
    return exp.to_identifier(name, quoted=True).sql(dialect="duckdb")


def _engine_error(exc: duckdb.Error, sql: str) -> EngineError:
    """A one-line error for a failed query; the generated SQL goes to the debug log
    (``lakegate --log-level debug``) and the error's ``sql``, never into the message."""
    log.debug("DuckDB failed (%s) on: %s", _first_line(exc), sql)
    return EngineError(_first_line(exc), sql=sql)


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


def _delta_type(delta_type: Any) -> str:
    """The DuckDB type of a Delta schema type (primitives, decimals; nested as JSON text)."""
    text = str(getattr(delta_type, "type", delta_type))
    if text.startswith("decimal"):
        return text.upper()
    return _DELTA_PRIMITIVES.get(text, "VARCHAR")
