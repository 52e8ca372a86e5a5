"""``lakegate graph``: the project's pipelines in run order, and what each reads."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer
from rich.table import Table

from lakegate.cli.common import dump_json, handle_errors, out
from lakegate.cli.run import ProjectOption


class GraphFormat(StrEnum):
    table = "table"
    json = "json"
    dot = "dot"


@handle_errors
def graph_command(
    project: ProjectOption = None,
    format: Annotated[
        GraphFormat,
        typer.Option(
            "--format", "-f", help="table for people, json for programs, dot for Graphviz."
        ),
    ] = GraphFormat.table,
) -> None:
    """Show the pipelines' dependency graph: the run order, each pipeline's target
    table, the lake tables it reads and the pipelines writing them.

    A pipeline depends on the pipeline writing a lake table it reads (a SQL stage's
    ``lake.X``, a relationships or reconciliation check, a file source inside the
    lake). ``lakegate run --all`` runs this order. Render the DOT with
    ``lakegate graph -f dot | dot -Tsvg > graph.svg``. Exit 2 on a cycle.
    """
    from lakegate.config.project import load_project
    from lakegate.graph import project_graph

    graph = project_graph(load_project(project))
    if format is GraphFormat.json:
        typer.echo(dump_json(graph.to_dict()))
        return
    if format is GraphFormat.dot:
        typer.echo(graph.to_dot(), nl=False)
        return
    table = Table(title=f"{len(graph.order)} pipelines in run order")
    for column in ("#", "pipeline", "target", "reads", "upstream"):
        table.add_column(column, overflow="fold")
    for i, name in enumerate(graph.order, start=1):
        node = graph.nodes[name]
        reads = [f"{t} [dim](external)[/]" if t in graph.external else t for t in node.reads]
        table.add_row(
            str(i), name, node.target, ", ".join(reads) or "-", ", ".join(node.upstream) or "-"
        )
    out.print(table)
    if graph.external:
        out.print(
            "external tables (read, written by no pipeline here): " + ", ".join(graph.external),
            highlight=False,
        )
