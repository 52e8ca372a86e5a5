"""Column lineage of a pipeline's transform stages, traced with sqlglot.

For every output column, :func:`trace_columns` finds the input columns it is computed
from (the extract's, and the lake tables' a stage joins), following the stages in
order (a stage reads ``extract``, an earlier stage or ``lake.<table>``). How a column
is derived is classified with the OpenLineage column lineage terms
(https://openlineage.io/docs/spec/facets/dataset-facets/column_lineage_facet):

* ``DIRECT`` / ``IDENTITY``: copied unchanged through every stage;
* ``DIRECT`` / ``TRANSFORMATION``: computed from it without an aggregate;
* ``DIRECT`` / ``AGGREGATION``: an aggregate or window function over it.

:func:`trace_dataset` finds the columns that shape the whole output without flowing
into it (``INDIRECT``): ``JOIN`` conditions, ``FILTER`` (WHERE, HAVING, QUALIFY),
``GROUP_BY``, ``SORT`` and ``WINDOW`` partitions and orders, in each stage's outer
query (not inside its subqueries). With no stages, every output column is the
extract's column of the same name (IDENTITY).

A column sqlglot cannot trace (a function it cannot see through, a table whose
columns are unknown) is left out rather than guessed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import sqlglot
from openlineage.client.facet_v2 import column_lineage_dataset as facet
from sqlglot import exp
from sqlglot.lineage import Node, lineage

from lakegate.transform import EXTRACT, StageSql, bind_stage, lake_view

DIALECT = "duckdb"
_RANK = {"IDENTITY": 0, "TRANSFORMATION": 1, "AGGREGATION": 2}
# Functions whose output hides its input (OpenLineage ``masking``).
_MASKING = (exp.MD5, exp.MD5Digest, exp.SHA, exp.SHA2)
# Clauses of a query whose columns shape the whole output, by INDIRECT subtype.
_CLAUSES: tuple[tuple[str, str], ...] = (
    ("joins", "JOIN"),
    ("where", "FILTER"),
    ("group", "GROUP_BY"),
    ("having", "FILTER"),
    ("qualify", "FILTER"),
    ("order", "SORT"),
)


@dataclass(frozen=True)
class Origin:
    """An input column an output column (or the whole output) depends on.

    Attributes:
        table: ``extract``, or the lake table's name for ``lake.<table>``.
        column: The input column's name, as the input spells it.
        type: ``DIRECT`` or ``INDIRECT``.
        subtype: ``IDENTITY``, ``TRANSFORMATION``, ``AGGREGATION`` (direct); ``JOIN``,
            ``FILTER``, ``GROUP_BY``, ``SORT``, ``WINDOW`` (indirect).
        masking: True when a hash function hides the input's values.
    """

    table: str
    column: str
    type: str = "DIRECT"
    subtype: str = "IDENTITY"
    masking: bool = False


class _Tables:
    """The inputs the stages may read: ``extract`` and lake tables, with their columns."""

    def __init__(self, columns: Mapping[str, Sequence[str]]) -> None:
        views = {t if t == EXTRACT else lake_view(t): t for t in columns}
        self.table_of = views  # engine view name -> input table name
        self.schema = {
            view: {c: "UNKNOWN" for c in columns[table]} for view, table in views.items()
        }
        # sqlglot folds DuckDB identifiers to lower case: map back to the input's names
        self.spelling = {
            view: {c.lower(): c for c in columns[table]} for view, table in views.items()
        }

    def origin(self, node: Node) -> tuple[str, str] | None:
        """The (table, column) a lineage leaf stands for, or None for another leaf."""
        if not isinstance(node.expression, exp.Table):
            return None
        view = node.expression.name
        if view not in self.table_of:
            return None
        try:
            column = sqlglot.parse_one(node.name, into=exp.Column, read=DIALECT).name
        except sqlglot.errors.SqlglotError:
            return None
        return self.table_of[view], self.spelling[view].get(column.lower(), column)


def column_lineage_facet(
    stages: Sequence[StageSql],
    outputs: Sequence[str],
    columns: Mapping[str, Sequence[str]],
    dataset_of: Callable[[str], tuple[str, str]],
    producer: str,
) -> facet.ColumnLineageDatasetFacet | None:
    """The ``columnLineage`` facet of the output: :func:`trace_columns` and
    :func:`trace_dataset` as OpenLineage input fields.

    Args:
        stages: The pipeline's parsed stages, in order (empty: no transform).
        outputs: The output's columns.
        columns: Known input columns: ``{"extract": [...], "<lake table>": [...]}``.
        dataset_of: The (namespace, name) of ``extract`` or of a lake table.
        producer: The facet's ``_producer`` URI.

    Returns:
        The facet, or None when no output column could be traced.
    """
    fields = trace_columns(stages, outputs, columns)
    if not fields:
        return None

    def field(origin: Origin) -> facet.InputField:
        namespace, name = dataset_of(origin.table)
        change = facet.Transformation(
            type=origin.type, subtype=origin.subtype, masking=origin.masking
        )
        return facet.InputField(
            namespace=namespace, name=name, field=origin.column, transformations=[change]
        )

    return facet.ColumnLineageDatasetFacet(
        fields={
            column: facet.Fields(inputFields=[field(o) for o in origins])
            for column, origins in fields.items()
        },
        dataset=[field(o) for o in trace_dataset(stages, columns)],
        producer=producer,
    )


def trace_columns(
    stages: Sequence[StageSql],
    outputs: Sequence[str],
    columns: Mapping[str, Sequence[str]],
) -> dict[str, list[Origin]]:
    """The input columns each output column comes from.

    Args:
        stages: The pipeline's parsed stages, in order (empty: no transform).
        outputs: The output columns to trace (the loaded columns).
        columns: Known input columns: ``{"extract": [...], "<lake table>": [...]}``.

    Returns:
        ``{output column: [Origin, ...]}`` for every output column traced to at least one
        input column (one Origin per input column, its strongest derivation).
    """
    if not stages:
        known = {c.lower(): c for c in columns.get(EXTRACT, ())}
        return {c: [Origin(EXTRACT, known[c.lower()])] for c in outputs if c.lower() in known}
    tables = _Tables(columns)
    query, sources = _bound(stages)
    try:
        nodes = lineage(None, query, schema=tables.schema, sources=sources, dialect=DIALECT)
    except (sqlglot.errors.SqlglotError, KeyError, ValueError):
        return {}
    assert isinstance(nodes, dict)
    by_name = {name.lower(): node for name, node in nodes.items()}
    found: dict[str, list[Origin]] = {}
    for output in outputs:
        node = by_name.get(output.lower())
        best: dict[tuple[str, str], tuple[int, bool]] = {}
        if node is not None:
            _walk(node, tables, 0, False, best)
        if best:
            found[output] = [
                Origin(table, column, "DIRECT", _subtype(rank), masking)
                for (table, column), (rank, masking) in best.items()
            ]
    return found


def trace_dataset(stages: Sequence[StageSql], columns: Mapping[str, Sequence[str]]) -> list[Origin]:
    """The input columns that shape the whole output (INDIRECT lineage: joins, filters,
    groupings, sorts and windows of each stage's outer query).

    Args:
        stages: The pipeline's parsed stages, in order.
        columns: Known input columns, as for :func:`trace_columns`.

    Returns:
        One Origin per (input column, subtype), in the order found.
    """
    tables = _Tables(columns)
    found: dict[tuple[str, str, str], Origin] = {}
    for index in range(len(stages)):
        query, sources = _bound(stages[: index + 1])
        if not isinstance(query, exp.Select):
            continue
        uses = _indirect_columns(query)
        if not uses:
            continue
        probe = query.copy()
        probe.set("expressions", [c.copy().as_(f"__c{i}") for i, (c, _) in enumerate(uses)])
        try:
            nodes = lineage(None, probe, schema=tables.schema, sources=sources, dialect=DIALECT)
        except (sqlglot.errors.SqlglotError, KeyError, ValueError):
            continue
        assert isinstance(nodes, dict)
        for i, (_, subtype) in enumerate(uses):
            node = nodes.get(f"__c{i}")
            for leaf in node.walk() if node is not None else ():
                where = tables.origin(leaf)
                if where is not None:
                    found.setdefault((*where, subtype), Origin(*where, "INDIRECT", subtype))
    return list(found.values())


def _bound(stages: Sequence[StageSql]) -> tuple[exp.Query, dict[str, exp.Query]]:
    """The last stage's query and the earlier ones (by name), ``lake.X`` bound to views."""
    bound: dict[str, exp.Query] = {}
    for stage in stages:
        query = bind_stage(stage, [EXTRACT, *bound])
        # reparsed: qualify() wants the tree sqlglot's parser makes for the view aliases
        reparsed = sqlglot.parse_one(query.sql(dialect=DIALECT), read=DIALECT)
        assert isinstance(reparsed, exp.Query)
        bound[stage.name] = reparsed
    last = bound.pop(stages[-1].name)
    return last, bound


def _indirect_columns(query: exp.Select) -> list[tuple[exp.Column, str]]:
    """The columns of ``query``'s own clauses that shape its rows, with their subtype."""
    uses: list[tuple[exp.Column, str]] = []
    for key, subtype in _CLAUSES:
        parts = query.args.get(key)
        for part in parts if isinstance(parts, list) else [parts] if parts else []:
            for column in part.find_all(exp.Column):
                in_window = column.find_ancestor(exp.Window, exp.Select)
                uses.append((column, "WINDOW" if isinstance(in_window, exp.Window) else subtype))
    for select in query.selects:
        for window in select.find_all(exp.Window):
            specs = [*(window.args.get("partition_by") or []), window.args.get("order")]
            uses += [(c, "WINDOW") for spec in specs if spec for c in spec.find_all(exp.Column)]
    return uses


def _walk(
    node: Node,
    tables: _Tables,
    rank: int,
    masking: bool,
    best: dict[tuple[str, str], tuple[int, bool]],
) -> None:
    """Depth-first: keep, per input column reached, the strongest derivation on a path."""
    where = tables.origin(node)
    if where is not None:
        old_rank, old_masking = best.get(where, (-1, False))
        best[where] = (max(old_rank, rank), old_masking or masking)
        return
    step = node.expression.this if isinstance(node.expression, exp.Alias) else node.expression
    if not isinstance(step, exp.Column | exp.Table):
        aggregate = step.find(exp.AggFunc, exp.Window) is not None
        rank = max(rank, _RANK["AGGREGATION" if aggregate else "TRANSFORMATION"])
        masking = masking or step.find(*_MASKING) is not None
    for child in node.downstream:
        _walk(child, tables, rank, masking, best)


def _subtype(rank: int) -> str:
    return next(name for name, value in _RANK.items() if value == rank)
