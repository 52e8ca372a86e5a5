"""``lakegate advise``: advice from the lake tables' statistics.

``lakegate advise partitioning TABLE`` is a thin wrapper over
:func:`lakegate.analyze.partitioning.advise_partitioning`: it loads the project,
collects its SQL and renders the advice as rich tables or JSON (``--format json``).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from lakegate.checks.results import to_jsonable
from lakegate.cli.analyze import DialectOption
from lakegate.cli.common import FormatOption, OutputFormat, dump_json, err, handle_errors, out
from lakegate.cli.run import ProjectOption

if TYPE_CHECKING:
    from lakegate.analyze.partitioning import PartitioningAdvice
    from lakegate.config.project import Project

app = typer.Typer(
    help="Advice from the lake tables' statistics (partitioning).", no_args_is_help=True
)

_VERDICT_STYLE = {"recommended": "bold green", "fits": "cyan", "rejected": "dim"}


@app.command("partitioning")
@handle_errors
def partitioning_command(
    table: Annotated[
        str, typer.Argument(help="A table name in the project's lake.", show_default=False)
    ],
    sql: Annotated[
        list[Path] | None,
        typer.Option(
            "--sql",
            metavar="PATH",
            help="SQL files, folders and pipeline files whose filters on TABLE count. "
            "Repeatable. Default: the project folder (its pipeline stages and .sql files).",
        ),
    ] = None,
    dialect: DialectOption = None,
    project: ProjectOption = None,
    format: FormatOption = OutputFormat.table,
) -> None:
    """Recommend partition columns for TABLE by the seeds' partitioning rules.

    The rules: 100 MB-1 GB per partition (compressed), fewer than 10,000 partitions,
    never a high-cardinality column, a key the queries filter on, a date for event
    data, and no partitioning for tables under 1 GB. Every column (and every year,
    month, day and hour of a date column) is judged from the table's measured bytes,
    rows and distinct values, and the current partitioning is judged too. Exit codes:
    0, or 2 for bad input (an unknown table, a missing path).
    """
    from lakegate.analyze.catalog import Catalog
    from lakegate.analyze.partitioning import advise_partitioning
    from lakegate.config.project import load_project

    loaded = load_project(project)
    advice = advise_partitioning(
        Catalog.from_project(loaded),
        table,
        sql_paths=list(sql) if sql else _project_sql(loaded),
        dialect=dialect.value if dialect else None,
        default_dialect=loaded.engine,
    )
    for problem in advice.skipped:
        err.print(f"[bold yellow]warning:[/] skipped {escape(problem)}", highlight=False)
    if format is OutputFormat.json:
        typer.echo(dump_json(to_jsonable(dataclasses.asdict(advice))))
        return
    _print_advice(advice)


def _project_sql(project: Project) -> list[Path]:
    """The project folder, and its pipelines folder when that lies outside it."""
    paths = [project.root]
    pipelines = project.path(project.pipelines).resolve()
    if pipelines.is_dir() and not pipelines.is_relative_to(project.root.resolve()):
        paths.append(pipelines)
    return paths


def _print_advice(advice: PartitioningAdvice) -> None:
    from lakegate.analyze.partitioning import format_bytes

    rules = advice.rules
    out.print(
        f"{advice.table} at version {advice.version}: {format_bytes(advice.size_bytes)} "
        f"({advice.size_bytes:,} B), {advice.rows:,} rows; {advice.statements} of "
        f"{advice.sql_statements} SQL statements read it",
        markup=False,
        highlight=False,
    )
    view = Table(title=f"partition candidates for {escape(advice.table)}")
    for column in ("candidate", "partitions", "avg / largest", "filtered by", "verdict", "why"):
        view.add_column(column, overflow="fold")
    for c in advice.candidates:
        style = _VERDICT_STYLE[c.verdict]
        sizes = "-"
        if c.average_bytes is not None and c.largest_bytes is not None:
            sizes = f"{format_bytes(c.average_bytes)} / {format_bytes(c.largest_bytes)}"
        view.add_row(
            escape(c.name)
            if c.name == c.expression
            else f"{escape(c.name)}\n[dim]{escape(c.expression)}[/]",
            "-" if c.partitions is None else f"{c.partitions:,}",
            sizes,
            str(c.filtered_by),
            f"[{style}]{c.verdict}[/]",
            "\n".join(escape(r) for r in c.reasons),
            end_section=c.verdict == "recommended",
        )
    out.print(view)
    out.print(
        f"rules: {format_bytes(rules.target_min_bytes)}-{format_bytes(rules.target_max_bytes)} "
        f"per partition, under {rules.max_partitions:,} partitions, no high-cardinality "
        f"column, a filtered key; tables under {format_bytes(rules.min_table_bytes)} are not "
        "partitioned",
        style="dim",
        markup=False,
        highlight=False,
    )
    style = "bold green" if advice.recommended else "bold"
    out.print(f"[{style}]advice:[/] {escape(advice.summary)}", highlight=False)
