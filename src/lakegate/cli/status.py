"""``lakegate status`` and ``lakegate score``: the run history, judged.

Both are thin: :func:`lakegate.observe.monitor.table_status` and
:func:`lakegate.observe.score.project_score` compute everything; this module parses
the options and renders rich tables for people or JSON (``--format json``) for programs.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from lakegate.checks.results import to_jsonable
from lakegate.cli.common import (
    FormatOption,
    OutputFormat,
    dump_json,
    err,
    handle_errors,
    out,
    parse_as_of,
)
from lakegate.cli.run import ProjectOption
from lakegate.errors import ConfigError, UserInputError

if TYPE_CHECKING:
    from lakegate.observe.monitor import TableStatus
    from lakegate.observe.score import DimensionScore, Score

NowOption = Annotated[
    str | None,
    typer.Option(
        "--now",
        metavar="TIMESTAMP",
        help="Judge as of this ISO 8601 time (naive means UTC), for reproducible output; "
        "runs that started later are ignored. Default: now.",
    ),
]


def _skipped(path: Path, exc: ConfigError) -> None:
    err.print(f"[bold yellow]warning:[/] skipped {escape(str(path))}: {escape(str(exc))}")


@handle_errors
def status_command(
    project: ProjectOption = None,
    now: NowOption = None,
    fail_on_alert: Annotated[
        bool, typer.Option("--fail-on-alert", help="Exit 1 when any table has an alert.")
    ] = False,
    format: FormatOption = OutputFormat.table,
) -> None:
    """Show each table's health from the run history: last run, freshness (the age of
    the newest data, and the hours since the last load), volume, quality score, success
    rate, SLA breaches and alerts (the seeds' dashboard).

    Exit codes: 0, or 1 with --fail-on-alert when a table has an alert; 2 bad input.
    """
    from lakegate.config.project import load_project
    from lakegate.observe.monitor import as_of, table_status

    proj = load_project(project)
    moment = as_of(parse_as_of(now))
    statuses = table_status(proj, moment, on_error=_skipped)
    if format is OutputFormat.json:
        tables = [{**dataclasses.asdict(s), "health": s.health} for s in statuses]
        typer.echo(dump_json(to_jsonable({"now": moment, "tables": tables})))
    else:
        out.print(_status_table(proj.name, moment.isoformat(timespec="seconds"), statuses))
        for s in statuses:
            for alert in s.alerts:
                out.print(f"[bold red]alert:[/] {s.table}: {escape(alert)}", highlight=False)
    if fail_on_alert and any(s.alerts for s in statuses):
        raise typer.Exit(1)


@handle_errors
def score_command(
    project: ProjectOption = None,
    now: NowOption = None,
    pipeline: Annotated[
        str | None,
        typer.Option(
            "--pipeline", "-P", help="Show this pipeline's evidence (default: the project's)."
        ),
    ] = None,
    format: FormatOption = OutputFormat.table,
) -> None:
    """Score the project and each pipeline 0-100 on the seeds' quality rubric, with the
    evidence for every point and what lakegate could not measure."""
    from lakegate.config.project import load_project
    from lakegate.observe.monitor import as_of
    from lakegate.observe.score import project_score

    proj = load_project(project)
    moment = as_of(parse_as_of(now))
    report = project_score(proj, moment, on_error=_skipped)
    chosen = report.project
    if pipeline is not None:
        names = [p.name for p in report.pipelines]
        if pipeline not in names:
            raise UserInputError(
                f"no pipeline {pipeline!r} in the project (found: {', '.join(names) or 'none'})"
            )
        chosen = report.pipelines[names.index(pipeline)]
    if format is OutputFormat.json:
        body: Any = dataclasses.asdict(chosen if pipeline is not None else report)
        typer.echo(dump_json(to_jsonable({"now": moment, **body})))
        return
    if pipeline is None:
        out.print(_score_matrix(report.project, report.pipelines))
        for dim in report.project.dimensions:
            for item in dim.unmeasured:
                text = f"not measured ({dim.name}, {item.max_points:g} points): {item.evidence}"
                out.print(text, style="dim", markup=False, highlight=False)
        out.print("lakegate score --pipeline NAME shows the evidence for every point", style="dim")
    else:
        out.print(_evidence_table(chosen))
    measured = (
        f" ({chosen.measurable_max:g} of the 100 points are measurable; {chosen.scaled:g}% of "
        "those are earned)"
        if chosen.scaled is not None
        else " (nothing measurable yet)"
    )
    out.print(
        f"{chosen.name}: {chosen.points:g} of 100 points{measured} - {chosen.band}",
        highlight=False,
    )


# ---------------------------------------------------------------------- rendering


def _num(value: float | None, fmt: str = ",.1f", unit: str = "") -> str:
    return "-" if value is None else f"{value:{fmt}}{unit}"


def _status_table(project: str, now: str, statuses: list[TableStatus]) -> Table:
    table = Table(title=f"status of {project} as of {now}")
    for column in (
        "table",
        "last run (UTC)",
        "data age h / SLA h",
        "loaded h ago",
        "rows / avg7 / var",
        "score / checks",
        "success",
        "failed 24h",
        ">80% SLA",
        "health",
    ):
        table.add_column(column, overflow="fold")
    for s in statuses:
        name = s.table if s.table == s.pipeline else f"{s.table} ({s.pipeline})"
        if not s.configured:
            name = f"[dim]{name} (no pipeline file)[/]"
        if s.last_run is None:
            table.add_row(name, "[dim]never run[/]", *[""] * 7, "[dim]never run[/]")
            continue
        run = s.last_run
        color = {"success": "green", "partial": "yellow", "running": "cyan"}.get(run.status, "red")
        f, v = s.freshness, s.volume
        alerts = len(s.alerts)
        table.add_row(
            name,
            f"[{color}]{run.status}[/] {run.started_at:%Y-%m-%d %H:%M}",
            f"{_num(f.hours)} / {_num(f.sla_hours, 'g')}",
            _num(f.hours_since_load),
            f"{_num(v.rows, ',')} / {_num(v.baseline_rows)} / {_num(v.variance_pct, '.1f', '%')}",
            f"{_num(s.quality_score, 'g')} / {_num(s.check_pass_rate_pct, '.1f', '%')}",
            f"{_num(s.success_rate_pct, '.1f', '%')} of {s.finished_runs}",
            str(s.failed_last_24h),
            f"{s.sla.breaches} of {s.sla.runs}" if s.sla.sla_minutes is not None else "no SLA",
            f"[red]{alerts} alert(s)[/]" if alerts else "[green]ok[/]",
        )
    return table


def _score_matrix(project: Score, pipelines: tuple[Score, ...]) -> Table:
    title = f"quality score of {project.name} (the seeds' rubric; *: partly measured, n/m: not)"
    table = Table(title=title)
    table.add_column("dimension")
    for p in pipelines:
        table.add_column(p.name, justify="right")
    table.add_column("project", justify="right", style="bold")
    scores = (*pipelines, project)
    for i, dim in enumerate(project.dimensions):
        cells = [_cell(s.dimensions[i]) for s in scores]
        table.add_row(f"{dim.name} (/{dim.max_points:g})", *cells)
    table.add_row("total (/100)", *[f"{s.points:g}" for s in scores], end_section=True)
    table.add_row("measurable max", *[f"{s.measurable_max:g}" for s in scores])
    table.add_row("scaled to 100", *[_num(s.scaled, "g") for s in scores])
    return table


def _cell(dim: DimensionScore) -> str:
    if dim.measurable_max == 0:
        return "[dim]n/m[/]"
    return f"{dim.points:g}" + ("" if dim.measurable_max == dim.max_points else "*")


def _evidence_table(score: Score) -> Table:
    table = Table(title=f"quality score of {score.name}: the evidence")
    for column in ("dimension", "points", "evidence"):
        table.add_column(column, overflow="fold")
    for dim in score.dimensions:
        lines = [
            f"{_num(i.points, 'g')}/{i.max_points:g} {escape(i.evidence)}" for i in dim.evidence
        ]
        lines += [
            f"[dim]not measured ({i.max_points:g}): {escape(i.evidence)}[/]" for i in dim.unmeasured
        ]
        points = f"{dim.points:g}/{dim.max_points:g} ({dim.measurable_max:g} measurable)"
        table.add_row(dim.name, points, "\n".join(lines), end_section=True)
    return table
