"""``lakegate analyze``: SQL anti-patterns, with fixes, rewrites and lake-table advice."""

from __future__ import annotations

import sys
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.syntax import Syntax
from rich.table import Table

from lakegate.cli.common import OutputOption, dump_json, emit, err, handle_errors, out
from lakegate.cli.run import ProjectOption

if TYPE_CHECKING:
    from lakegate.analyze import Catalog, Report

# Show a progress bar from this many sources on (when stderr is a terminal).
PROGRESS_MIN_SOURCES = 50
# --jobs 0 (auto) uses several processes from this many SQL files on.
PARALLEL_MIN_SOURCES = 200


class AnalyzeFormat(StrEnum):
    table = "table"
    json = "json"
    sarif = "sarif"


class Dialect(StrEnum):
    duckdb = "duckdb"
    spark = "spark"
    snowflake = "snowflake"
    bigquery = "bigquery"
    postgres = "postgres"
    redshift = "redshift"


class FailOn(StrEnum):
    error = "error"
    warning = "warning"
    info = "info"
    never = "never"


DialectOption = Annotated[
    Dialect | None,
    typer.Option(
        "--dialect",
        "-d",
        help="SQL dialect to parse with. Default: duckdb for .sql files, the project "
        "engine's for pipeline stages.",
    ),
]
SQL_PATHS_HELP = (
    "SQL files, folders (searched for .sql and pipeline files) and pipeline YAML files "
    "(their transform stages)."
)

_SEVERITY_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}


@handle_errors
def analyze_command(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(
            help=SQL_PATHS_HELP + " Default: the project's pipelines folder.",
            show_default=False,
        ),
    ] = None,
    dialect: DialectOption = None,
    recommend: Annotated[
        bool,
        typer.Option("--recommend", help="Show the rewritten query where one can be produced."),
    ] = False,
    format: Annotated[
        AnalyzeFormat,
        typer.Option(
            "--format", "-f", help="table for people, json for programs, sarif for code scanning."
        ),
    ] = AnalyzeFormat.table,
    project: ProjectOption = None,
    select: Annotated[
        list[str] | None,
        typer.Option("--select", help="Only this rule (id or name). Repeatable."),
    ] = None,
    ignore: Annotated[
        list[str] | None,
        typer.Option("--ignore", help="Skip this rule (id or name). Repeatable."),
    ] = None,
    fail_on: Annotated[
        FailOn,
        typer.Option("--fail-on", help="Exit 1 when a finding is at least this severe."),
    ] = FailOn.error,
    jobs: Annotated[
        int,
        typer.Option(
            "--jobs",
            "-j",
            min=0,
            help="Worker processes; 0 picks the machine's cores from "
            f"{PARALLEL_MIN_SOURCES} sources on.",
        ),
    ] = 0,
    list_rules: Annotated[
        bool, typer.Option("--list-rules", help="List the rules and exit.")
    ] = False,
    output: OutputOption = None,
) -> None:
    """Find performance and correctness anti-patterns in SQL: SELECT *, full scans of
    partitioned lake tables, correlated subqueries, NOT IN over nullable subqueries,
    functions on filtered columns, implicit cross joins, and more (``--list-rules``).

    Every rule works on sqlglot's syntax tree. Each finding gives the file, line,
    column, rule, severity, the fix and the expected impact. In a project, queries on
    lake tables are checked against the tables' real statistics (partitioning, sizes,
    skew). Exit 0 when clean, 1 when a finding reaches ``--fail-on``, 2 on bad input.
    """
    from lakegate.analyze import analyze_paths
    from lakegate.analyze import list_rules as all_rules

    if list_rules:
        _print_rules(format)
        return
    catalog, default_paths = _project_context(project)
    targets = list(paths or default_paths)
    if not targets:
        raise typer.BadParameter("give PATH... (no project here to take its pipelines from)")
    with _progress() as advance:
        report = analyze_paths(
            targets,
            dialect=dialect.value if dialect else None,
            catalog=catalog,
            recommend=recommend,
            select=select or (),
            ignore=ignore or (),
            progress=advance,
            jobs=_jobs(jobs, targets),
        )
    if format is AnalyzeFormat.json:
        from lakegate.analyze.output import report_to_dict

        emit(dump_json(report_to_dict(report)), output)
    elif format is AnalyzeFormat.sarif:
        from lakegate.analyze.output import report_to_sarif

        emit(dump_json(report_to_sarif(report, all_rules())), output)
    else:
        _print_report(report, recommend)
    if _fails(report, fail_on):
        raise typer.Exit(1)


def _project_context(project: Path | None) -> tuple[Catalog | None, list[Path]]:
    """The lake catalog and pipelines folder of the project named by ``--project`` or
    found upwards from here; ``(None, [])`` without a project."""
    from lakegate.analyze import Catalog
    from lakegate.config.project import find_project_file, load_project

    if project is None and find_project_file() is None:
        return None, []
    loaded = load_project(project)
    pipelines = loaded.path(loaded.pipelines)
    return Catalog.from_project(loaded), [pipelines] if pipelines.is_dir() else []


class _progress:
    """A progress bar over the sources on stderr, for large corpora on a terminal."""

    def __enter__(self) -> Callable[[int, int], None]:
        self.bar = None
        if sys.stderr.isatty():
            from rich.progress import Progress

            self.bar = Progress(console=err, transient=True)
            self.bar.start()
            self.task = self.bar.add_task("analyzing", total=None)
        return self._advance

    def _advance(self, done: int, total: int) -> None:
        if self.bar is not None and total >= PROGRESS_MIN_SOURCES:
            self.bar.update(self.task, completed=done, total=total)

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()


def _jobs(jobs: int, targets: list[Path]) -> int:
    """``--jobs``; 0 (auto): the machine's cores when the targets hold at least
    :data:`PARALLEL_MIN_SOURCES` ``.sql`` files (process start-up costs ~0.3 s)."""
    if jobs:
        return jobs
    import os
    from itertools import islice

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    if not cores or cores < 2:
        return 1
    files = (f for t in targets if t.is_dir() for f in t.rglob("*.sql"))
    enough = len(list(islice(files, PARALLEL_MIN_SOURCES))) >= PARALLEL_MIN_SOURCES
    return cores if enough else 1


def _fails(report: Report, fail_on: FailOn) -> bool:
    if fail_on is FailOn.never:
        return False
    order = ["info", "warning", "error"]
    floor = order.index(fail_on.value)
    return any(order.index(f.severity.value) >= floor for f in report.findings)


def _print_report(report: Report, recommend: bool) -> None:
    if report.findings:
        table = Table(show_lines=False)
        for column in ("location", "rule", "severity", "finding", "fix / impact"):
            table.add_column(column, overflow="fold")
        for f in report.findings:
            where = f"{f.path}:{f.line}:{f.column}"
            if f.origin:
                where += f"\n[dim]{escape(f.origin)}[/]"
            table.add_row(
                where,
                f"{f.rule}\n[dim]{f.name}[/]",
                f"[{_SEVERITY_STYLE[f.severity.value]}]{f.severity.value}[/]",
                escape(f.message),
                f"{escape(f.fix)}\n[dim]{escape(f.impact)}[/]",
            )
        out.print(table)
    if recommend:
        for f in report.findings:
            if f.rewrite:
                out.print(f"[bold]{f.path}:{f.line}:{f.column} {f.rule} {f.name}[/] rewritten:")
                out.print(Syntax(f.rewrite, "sql", theme="ansi_dark", word_wrap=True))
    counts = report.counts()
    out.print(
        f"{_plural(len(report.findings), 'finding')} ({_plural(counts['error'], 'error')}, "
        f"{_plural(counts['warning'], 'warning')}, {counts['info']} info) in "
        f"{_plural(report.statements, 'statement')} of {_plural(report.sources, 'source')}, "
        f"{report.seconds:.2f} s",
        highlight=False,
    )


def _print_rules(format: AnalyzeFormat) -> None:
    import dataclasses

    from lakegate.analyze import list_rules

    rules = list_rules()
    if format is not AnalyzeFormat.table:
        typer.echo(
            dump_json([{**dataclasses.asdict(r), "severity": r.severity.value} for r in rules])
        )
        return
    table = Table(title=f"{len(rules)} rules")
    for column in ("id", "name", "severity", "problem", "fix", "impact"):
        table.add_column(column, overflow="fold")
    for r in rules:
        table.add_row(r.id, r.name, r.severity.value, r.summary, r.fix, r.impact)
    out.print(table)


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")
