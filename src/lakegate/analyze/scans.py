"""Which lake tables a statement reads, which of their columns, and under which filters.

The statement is qualified by sqlglot's optimizer against the lake tables' schemas
(a copy: the tree a rule reports on is left as written), then walked scope by scope.
Each reference to a lake table becomes a :class:`TableScan`: the columns the query
needs from it (projection) and the conjuncts of WHERE and JOIN ... ON that touch it
alone (what partition pruning and file skipping can use).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlglot import exp
from sqlglot.errors import SqlglotError
from sqlglot.optimizer.qualify import qualify
from sqlglot.optimizer.scope import Scope, traverse_scope

from lakegate.analyze.catalog import Catalog, LakeTable
from lakegate.analyze.sources import Statement
from lakegate.transform import LAKE_SCHEMA

# The meta key marking a table reference of the copy as a lake table.
_LAKE_META = "lakegate_lake_table"


@dataclass
class TableScan:
    """One read of a lake table by a statement.

    Attributes:
        table: The lake table.
        node: The table reference in the qualified copy of the statement (its tokens
            keep the positions of the original text).
        alias: The name the query gives the table in its scope.
        columns: Columns the query needs from it; every column when it selects ``*``.
        filters: Conjuncts of the scope's WHERE and of its JOIN conditions that
            reference this table's columns and no other source's (and no subquery).
        scope: The sqlglot scope that reads it.
    """

    table: LakeTable
    node: exp.Table
    alias: str
    columns: set[str] = field(default_factory=set)
    filters: list[exp.Expr] = field(default_factory=list)
    scope: Scope | None = field(default=None, repr=False)

    def filtered_columns(self) -> set[str]:
        """Columns the filters constrain (lowercase)."""
        return {c.name.lower() for f in self.filters for c in f.find_all(exp.Column)}

    @property
    def partition_filtered(self) -> bool:
        """True when a filter constrains a partition column."""
        partitions = {c.lower() for c in self.table.partition_columns}
        return bool(partitions & self.filtered_columns())


def table_scans(statement: Statement, catalog: Catalog) -> list[TableScan]:
    """The lake-table reads of ``statement`` (an empty list when it reads none, or when
    sqlglot cannot build its scopes, e.g. for DDL)."""
    lake: dict[int, LakeTable] = {}
    qualified = qualified_copy(statement, catalog, found=lake)
    if qualified is None:
        return []
    try:
        scopes = traverse_scope(qualified)
    except (SqlglotError, KeyError, ValueError, AttributeError):
        return []
    scans: list[TableScan] = []
    for scope in scopes:
        for alias, source in scope.selected_sources.items():
            node = source[0] if isinstance(source, tuple) else source
            if not isinstance(node, exp.Table) or id(node) not in lake:
                continue
            scans.append(_scan(scope, alias, node, lake[id(node)]))
    return scans


def qualified_copy(
    statement: Statement,
    catalog: Catalog,
    *,
    expand_stars: bool = False,
    found: dict[int, LakeTable] | None = None,
    as_written: bool = False,
) -> exp.Expr | None:
    """A copy of the statement with its columns qualified against the lake tables'
    schemas (and ``*`` expanded with ``expand_stars``); None when it reads no lake
    table or sqlglot cannot qualify it.

    Args:
        found: Filled with ``{id(table node in the copy): lake table}``.
        as_written: Give the lake tables back the names the statement wrote (a rewrite
            for the user); otherwise they are all ``lake.<name>``.
    """
    if not any(
        _lake_reference(ref, statement, catalog) for ref in statement.tree.find_all(exp.Table)
    ):
        return None  # no lake table: nothing to qualify (and no copy to make)
    tree = statement.tree.copy()
    lake = found if found is not None else {}
    tables: dict[str, dict[str, str]] = {}
    schema: dict[str, object] = {LAKE_SCHEMA: tables}
    written: list[tuple[exp.Table, exp.Expr | None, exp.Expr]] = []
    for ref in tree.find_all(exp.Table):
        if statement.source.pipeline_stage and ref.db != LAKE_SCHEMA:
            continue  # in a stage, bare names are the batch and earlier stages
        table = catalog.resolve(ref)
        if table is None:
            continue
        ref.meta[_LAKE_META] = table.name
        written.append((ref, ref.args.get("db"), ref.this))
        # One schema depth for every lake table: qualify() needs a uniform mapping.
        name = exp.to_identifier(table.name)
        name.meta.update(ref.this.meta)  # keep the written name's position
        ref.set("db", exp.to_identifier(LAKE_SCHEMA))
        ref.set("this", name)
        tables[table.name] = {c.name: _sql_type(c.type) for c in table.columns}
    if not written:
        return None
    pristine = tree.copy()
    qualified = None
    # A column the lake's schema lacks (a stale query) fails qualification against
    # the schema; the tree qualified without it still shows which tables are read.
    for known in (schema, None):
        attempt = tree if known is not None else pristine
        try:
            qualified = qualify(
                attempt,
                schema=known,
                dialect=statement.source.dialect,
                validate_qualify_columns=False,
                quote_identifiers=False,
                expand_stars=expand_stars and known is not None,
                identify=False,
            )
            break
        except (SqlglotError, KeyError, ValueError, AttributeError):
            continue
    if qualified is None:
        return None
    for ref in qualified.find_all(exp.Table):
        if _LAKE_META in ref.meta:
            lake[id(ref)] = catalog.table(ref.meta[_LAKE_META])
    if as_written:
        for table_ref, db, written_name in written:
            if table_ref.root() is qualified:
                table_ref.set("db", db)
                table_ref.set("this", written_name)
    return qualified


def _lake_reference(ref: exp.Table, statement: Statement, catalog: Catalog) -> bool:
    """Whether ``ref`` names a lake table (in a pipeline stage, only ``lake.<table>``)."""
    if statement.source.pipeline_stage and ref.db != LAKE_SCHEMA:
        return False
    return catalog.resolve(ref) is not None


def _scan(scope: Scope, alias: str, node: exp.Table, table: LakeTable) -> TableScan:
    scan = TableScan(table=table, node=node, alias=alias, scope=scope)
    names = {c.lower(): c for c in table.column_names}
    only_source = len(scope.selected_sources) == 1
    select = scope.expression
    if isinstance(select, exp.Select) and any(
        isinstance(p, exp.Star)
        or (isinstance(p, exp.Column) and isinstance(p.this, exp.Star) and p.table in ("", alias))
        for p in select.expressions
    ):
        scan.columns = set(table.column_names)
    for column in scope.columns:
        if _belongs(column, alias, names, only_source):
            scan.columns.add(names[column.name.lower()])
    for conjunct in _conjuncts(select, alias):
        if conjunct.find(exp.Subquery, exp.Exists, exp.Select) is not None:
            continue
        columns = list(conjunct.find_all(exp.Column))
        if columns and all(_belongs(c, alias, names, only_source) for c in columns):
            scan.filters.append(conjunct)
    return scan


def _belongs(column: exp.Column, alias: str, names: dict[str, str], only_source: bool) -> bool:
    """Whether ``column`` is read from the source ``alias`` (a qualified match, or an
    unqualified name the table has; unknown sources cannot claim it)."""
    if column.name.lower() not in names:
        return False
    return column.table == alias or (not column.table and (only_source or bool(names)))


def _conjuncts(select: exp.Expr, alias: str) -> list[exp.Expr]:
    """The AND-ed parts of the scope's WHERE and of the JOIN ... ON conditions that
    restrict the source ``alias``: an inner join's, or an outer join's whose joined
    side it is (``a LEFT JOIN b ON b.x = 1`` restricts b, never a)."""
    out: list[exp.Expr] = []
    where = select.args.get("where")
    if where is not None:
        out.extend(_split_and(where.this))
    for join in select.args.get("joins") or []:
        on = join.args.get("on")
        if on is None:
            continue
        joined = join.this.alias_or_name if isinstance(join.this, exp.Table) else None
        if not join.side or (join.side.upper() != "FULL" and joined == alias):
            out.extend(_split_and(on))
    return out


def _split_and(condition: exp.Expr) -> list[exp.Expr]:
    if isinstance(condition, exp.Paren):
        return _split_and(condition.this)
    if isinstance(condition, exp.And):
        return [*_split_and(condition.left), *_split_and(condition.right)]
    return [condition]


def _sql_type(delta_type: str) -> str:
    """A type sqlglot can parse for a Delta type name (only used to qualify columns)."""
    mapping = {
        "long": "BIGINT",
        "integer": "INT",
        "short": "SMALLINT",
        "byte": "TINYINT",
        "string": "TEXT",
        "binary": "BLOB",
        "timestamp_ntz": "TIMESTAMP",
    }
    if delta_type.startswith(("array", "map", "struct")):
        return "TEXT"
    return mapping.get(delta_type, delta_type.upper())
