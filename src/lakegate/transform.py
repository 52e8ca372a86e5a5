"""Transform stages: SQL SELECTs run by the engine, each exposed as a view.

A stage reads ``extract`` (the extracted batch), an earlier stage by name, or
a lake table as ``lake.<table>``. Stage SQL is parsed by sqlglot; table names
are resolved to the engine's views in the tree, never by editing text.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import sqlglot
from sqlglot import exp

from lakegate.errors import ConfigError

EXTRACT = "extract"
LAKE_SCHEMA = "lake"


@dataclass(frozen=True)
class StageSql:
    """One stage: its name, its parsed query and where the SQL came from."""

    name: str
    query: exp.Query
    origin: str


def parse_select(text: str, dialect: str, origin: str) -> exp.Query:
    """Parse SQL that must be exactly one read-only SELECT (a stage, a custom_sql check).

    Raises:
        ConfigError: Naming ``origin``, when the text does not parse, holds several
            statements, or writes (INSERT, CREATE, DROP, ...).
    """
    try:
        statements = [s for s in sqlglot.parse(text, read=dialect) if s is not None]
    except sqlglot.errors.ParseError as exc:
        raise ConfigError(f"{origin}: cannot parse SQL: {exc}") from None
    if len(statements) != 1 or not isinstance(statements[0], exp.Query):
        raise ConfigError(f"{origin}: expected exactly one SELECT query")
    query = statements[0]
    if query.find(exp.DML, exp.Command, exp.Create, exp.Drop) is not None:
        raise ConfigError(f"{origin}: may only read data")
    return query


def parse_stage(
    name: str, sql_or_path: str, resolve: Callable[[str], Path], dialect: str
) -> StageSql:
    """Parse a stage's SQL (inline, or a ``.sql`` file resolved with ``resolve``).

    Raises:
        ConfigError: The file is missing, or the SQL is not exactly one SELECT.
    """
    origin = f"stage {name!r}"
    text = sql_or_path
    if sql_or_path.strip().lower().endswith(".sql") and "\n" not in sql_or_path:
        path = resolve(sql_or_path.strip())
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"{origin}: cannot read {path}: {exc.strerror}") from None
        origin = f"stage {name!r} ({path})"
    query = parse_select(text, dialect, origin)
    return StageSql(name, query, origin)


def lake_tables(stages: Sequence[StageSql]) -> set[str]:
    """The lake tables (``lake.<table>``) the stages read."""
    return {
        t.name
        for s in stages
        for t in s.query.find_all(exp.Table)
        if t.db == LAKE_SCHEMA and not t.catalog
    }


def lake_view(table: str) -> str:
    """The engine view name a lake table is registered under."""
    return f"__lake_{table}"


def bind_stage(stage: StageSql, known: Sequence[str]) -> exp.Query:
    """The stage's query with ``lake.X`` pointed at its view, checking every table it reads.

    Args:
        stage: The parsed stage.
        known: Names the stage may read: ``extract`` and the earlier stages.

    Raises:
        ConfigError: The stage reads a table that is neither known nor a lake table.
    """
    query = stage.query.copy()
    ctes = {cte.alias_or_name for cte in query.find_all(exp.CTE)}
    for table in list(query.find_all(exp.Table)):
        if table.db == LAKE_SCHEMA and not table.catalog:
            alias = table.alias or table.name
            table.replace(
                exp.to_table(exp.to_identifier(lake_view(table.name), quoted=True).sql()).as_(
                    alias, quoted=True
                )
            )
        elif table.db or table.catalog:
            raise ConfigError(
                f"{stage.origin}: unknown table {table.sql()!r}; read "
                f"{', '.join(known)} or lake.<table>"
            )
        elif (
            table.name not in known
            and table.name not in ctes
            and not isinstance(table.this, exp.Func)
        ):
            raise ConfigError(
                f"{stage.origin}: unknown table {table.name!r}; a stage reads "
                f"{', '.join(known)} or lake.<table>"
            )
    return query
