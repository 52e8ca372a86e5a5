"""The engine protocol: what the check engine and the runner need from a query engine."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from sqlglot import exp

from lakegate.sources.files import Dataset

if TYPE_CHECKING:
    from lakegate.sinks import Sink


class Engine(Protocol):
    """A SQL engine that registers datasets and runs sqlglot expressions.

    Attributes:
        name: The registry name (``duckdb``, ``spark``).
        dialect: The sqlglot dialect the engine's SQL is written in.
    """

    name: str
    dialect: str

    def register(self, name: str, dataset: Dataset) -> None:
        """Make ``dataset`` queryable as the table ``name``.

        Raises:
            InputDataError: The dataset cannot be read.
        """

    def columns(self, name: str) -> dict[str, exp.DataType]:
        """``{column: type}`` of a registered table, in the table's column order."""

    def query(self, expression: exp.Expr) -> list[tuple[Any, ...]]:
        """Run one query and return all its rows.

        Raises:
            EngineError: The engine failed to run it.
        """

    def execute(self, expression: exp.Expr) -> None:
        """Run a statement that returns nothing (CREATE, DROP).

        Raises:
            EngineError: The engine failed to run it.
        """

    def stream(self, expression: exp.Expr, rows_per_batch: int = 122_880) -> Any:
        """The query's result as a ``pyarrow.RecordBatchReader`` (streamed)."""

    def sink(self, table_uri: str) -> Sink:
        """The sink that writes this engine's batches into the Delta table ``table_uri``
        (chosen through :data:`lakegate.sinks.SINKS`: delta-rs for DuckDB, Delta Lake on
        Spark for Spark)."""

    def staged(self, name: str) -> Any:
        """The registered table ``name`` as this engine's sink reads it in place (no
        copy): what :meth:`Sink.write` is given."""

    def describe(self) -> dict[str, str]:
        """What runs the queries, for lineage and logs: ``name`` and ``version``, plus an
        engine's own (Spark: ``master``, ``appName``, ``appId``)."""

    def progress(self) -> float:
        """The running query's progress in percent (0-100), or -1 when unknown."""

    def close(self) -> None:
        """Release the engine's resources."""
