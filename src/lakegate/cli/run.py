"""``lakegate run``, ``lakegate runs`` and ``lakegate pipeline schema``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from lakegate.checks.results import to_jsonable
from lakegate.cli.common import (
    FormatOption,
    OutputFormat,
    StepProgress,
    dump_json,
    emit,
    err,
    handle_errors,
    out,
)

ProjectOption = Annotated[
    Path | None,
    typer.Option(
        "--project",
        "-p",
        help="The project folder or its lakegate.yaml (default: found upwards from here).",
    ),
]

pipeline_app = typer.Typer(help="Work with pipeline files.", no_args_is_help=True)


@pipeline_app.command("schema")
def pipeline_schema_command(
    output: Annotated[Path | None, typer.Option("--output", "-o")] = None,
) -> None:
    """Print the JSON Schema of pipeline files, for editors."""
    from lakegate.config.pipeline import pipeline_json_schema

    emit(dump_json(pipeline_json_schema()), output)


@handle_errors
def run_command(
    pipeline: Annotated[
        Path | None, typer.Argument(help="The pipeline YAML file (or --all).", show_default=False)
    ] = None,
    all_: Annotated[
        bool,
        typer.Option("--all", help="Run every pipeline of the project once, in dependency order."),
    ] = False,
    select: Annotated[
        list[str] | None,
        typer.Option(
            "--select",
            "-s",
            metavar="SEL",
            help="With --all (implied): only NAME, NAME+ (and downstream), +NAME (and "
            "upstream). Repeatable.",
        ),
    ] = None,
    run_date: Annotated[
        str | None,
        typer.Option(
            "--run-date",
            metavar="YYYY-MM-DD",
            help="The logical date: fills {run_date} in the source path.",
        ),
    ] = None,
    full_refresh: Annotated[
        bool, typer.Option("--full-refresh", help="Ignore the watermark and reload everything.")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Extract, transform and gate; write nothing.")
    ] = False,
    reconcile: Annotated[
        bool,
        typer.Option(
            "--reconcile",
            help="Reconcile hard deletes now (extract.source.reconcile), even if not due.",
        ),
    ] = False,
    accept_schema_change: Annotated[
        bool,
        typer.Option(
            "--accept-schema-change",
            help="Load even if the source's columns changed in a breaking way (removed, "
            "retyped); the table's schema evolves.",
        ),
    ] = False,
    project: ProjectOption = None,
    format: FormatOption = OutputFormat.table,
) -> None:
    """Run a pipeline once: extract, transform, gate, load into Delta Lake, record.

    Failing rows go to the dead-letter table; a failing critical set-level check
    stops the run before anything is written. With --all, every pipeline of the
    project runs once, each after the pipelines whose tables it reads (see
    lakegate graph); a failed pipeline skips those downstream of it. Exit codes:
    0 success, 1 a run failed, 2 bad input.
    """
    from lakegate.config.pipeline import load_pipeline
    from lakegate.config.project import load_project
    from lakegate.errors import UserInputError
    from lakegate.runner import RunOptions

    date = None
    if run_date is not None:
        try:
            date = dt.date.fromisoformat(run_date)
        except ValueError:
            raise typer.BadParameter(f"{run_date!r} is not a date (YYYY-MM-DD)") from None
    all_ = all_ or bool(select)
    if pipeline is not None and all_:
        raise UserInputError("give a PIPELINE file or --all (--select implies it), not both")
    if pipeline is None and not all_:
        raise UserInputError("give a PIPELINE file, or --all to run every pipeline of the project")
    if pipeline is None:
        if reconcile or accept_schema_change:
            raise UserInputError(
                "--reconcile and --accept-schema-change apply to one PIPELINE, not --all"
            )
        options = RunOptions(run_date=date, full_refresh=full_refresh, dry_run=dry_run)
        run_all_and_report(load_project(project), select, options, format)
        return
    loaded = load_pipeline(pipeline)
    proj = load_project(project if project is not None else _project_near(pipeline))
    options = RunOptions(
        run_date=date,
        full_refresh=full_refresh,
        dry_run=dry_run,
        reconcile=reconcile,
        accept_schema_change=accept_schema_change,
    )
    run_and_report(proj, loaded, options, format)


def run_and_report(
    project: Any,
    pipeline: Any,
    options: Any,
    format: OutputFormat,
    *,
    note: Callable[[Any], str | None] | None = None,
) -> None:
    """Run ``pipeline`` with a progress bar (or step lines), print its record as a table
    or JSON, plus ``note(record)`` under the table when it says something.

    Raises:
        typer.Exit: With code 1 when the run failed, 2 when it failed on the user's input
            (a missing source table or file: ``RunResult.exit_code``).
    """
    from lakegate.observe.logs import logs_json
    from lakegate.runner import RunProgress, run_pipeline

    if err.is_terminal and format is OutputFormat.table and not logs_json():
        # A live bar naming the running step: the query's progress, or rows pipeline.
        with StepProgress(pipeline.name) as bar:
            monitor = RunProgress(step=bar.step, engine=bar.engine, rows=bar.rows)
            result = run_pipeline(project, pipeline, options, progress=monitor)
    else:
        quiet = format is OutputFormat.json or logs_json()  # JSON logs carry the steps
        result = run_pipeline(
            project,
            pipeline,
            options,
            progress=lambda step: (
                None if quiet else err.print(f"{pipeline.name}: {step}", highlight=False)
            ),
        )
    record = result.record
    if format is OutputFormat.json:
        typer.echo(
            dump_json({**to_jsonable(record.to_dict()), "step_seconds": result.step_seconds})
        )
    else:
        out.print(render_run(record.to_dict(), dry_run=options.dry_run))
        if note is not None and (text := note(record)):
            out.print(text, highlight=False)
    if record.status == "partial":
        err.print(f"[bold yellow]alert:[/] {record.error_message}", highlight=False)
    if not result.ok:
        raise typer.Exit(result.exit_code)


def run_all_and_report(
    project: Any, select: list[str] | None, options: Any, format: OutputFormat
) -> None:
    """Run the project's pipelines in order with a line per pipeline on stderr, then
    print a summary table (or JSON) of every pipeline.

    Raises:
        typer.Exit: With code 1 when a pipeline failed.
    """
    from lakegate.observe.logs import logs_json
    from lakegate.project_run import PipelineOutcome, ProjectProgress, run_project

    quiet = format is OutputFormat.json or logs_json()
    live = err.status("") if err.is_terminal and not quiet else None

    def started(name: str) -> None:
        if live is not None:
            live.update(f"{name}: starting")
            live.start()

    def step(name: str, step: str) -> None:
        if live is not None:
            live.update(f"{name}: {step}")

    def finished(outcome: PipelineOutcome) -> None:
        if live is not None:
            live.stop()
        if not quiet:
            err.print(_outcome_line(outcome), highlight=False)

    result = run_project(
        project,
        select,
        options,
        progress=ProjectProgress(started=started, step=step, finished=finished),
    )
    if format is OutputFormat.json:
        typer.echo(dump_json(to_jsonable(result.to_dict())))
    else:
        out.print(render_project_run(result, dry_run=options.dry_run))
    if not result.ok:
        raise typer.Exit(1)


_STATUS_STYLE = {"ran": "green", "failed": "red", "skipped": "yellow"}


def _outcome_line(outcome: Any) -> str:
    style = _STATUS_STYLE[outcome.status]
    line = f"[{style}]{outcome.status}[/] {outcome.name}"
    if outcome.result is not None:
        r = outcome.result.record
        line += (
            f": {r.rows_loaded:,} rows loaded, {r.rows_rejected:,} rejected"
            f" in {r.duration_seconds or 0:.1f} s"
        )
    if outcome.reason:
        line += f" - {escape(outcome.reason)}"
    return line


def render_project_run(result: Any, *, dry_run: bool = False) -> Table:
    """A summary of a project run: one row per pipeline, in run order."""
    title = f"project run {'(dry run) ' if dry_run else ''}" + (
        "[green]success[/]" if result.ok else "[red]failed[/]"
    )
    table = Table(title=title)
    for column in ("pipeline", "status", "loaded", "rejected", "seconds", "reason"):
        table.add_column(column, overflow="fold")
    for o in result.outcomes:
        r = o.result.record if o.result is not None else None
        table.add_row(
            o.name,
            f"[{_STATUS_STYLE[o.status]}]{o.status}[/]",
            f"{r.rows_loaded:,}" if r else "",
            f"{r.rows_rejected:,}" if r else "",
            f"{r.duration_seconds:.1f}" if r and r.duration_seconds is not None else "",
            escape((o.reason or "")[:200]),
        )
    return table


def _project_near(pipeline: Path) -> Path | None:
    from lakegate.config.project import find_project_file

    return find_project_file(pipeline.resolve().parent)


def render_run(record: dict, *, dry_run: bool = False) -> Table:
    """A summary of one run."""
    ok = record["status"] == "success"
    title = f"{record['pipeline_name']} {'(dry run) ' if dry_run else ''}" + (
        "[green]success[/]" if ok else f"[red]{record['status']}[/]"
    )
    table = Table(title=title, show_header=False)
    table.add_column("field", style="dim")
    table.add_column("value")
    for key in (
        "run_id",
        "target",
        "stage",
        "rows_extracted",
        "rows_transformed",
        "rows_loaded",
        "rows_rejected",
        "rows_deduplicated",
        "quality_checks_passed",
        "quality_checks_failed",
        "watermark_before",
        "watermark_after",
        "duration_seconds",
        "error_message",
        "source_schema_changes",
        "keys_deleted_at_source",
    ):
        value = record.get(key)
        if isinstance(value, list | tuple):
            value = "; ".join(value) or None
        if value is not None:
            table.add_row(key, f"{value:,}" if isinstance(value, int) else str(to_jsonable(value)))
    return table


@handle_errors
def runs_command(
    pipeline: Annotated[str | None, typer.Argument(help="Only this pipeline's runs.")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", help="How many, newest first.")] = 20,
    project: ProjectOption = None,
    format: FormatOption = OutputFormat.table,
) -> None:
    """List recent runs from the state store."""
    from lakegate.config.project import load_project
    from lakegate.state.store import StateStore

    proj = load_project(project)
    with StateStore(proj.state_url) as state:
        records = [r.to_dict() for r in state.runs(pipeline, limit=limit)]
    if format is OutputFormat.json:
        typer.echo(dump_json(to_jsonable(records)))
        return
    table = Table(title=f"runs of {pipeline or proj.name}")
    for column in (
        "started_at",
        "pipeline",
        "status",
        "extracted",
        "loaded",
        "rejected",
        "dedup",
        "seconds",
        "error",
    ):
        table.add_column(column, overflow="fold")
    for r in records:
        status = "[green]success[/]" if r["status"] == "success" else f"[red]{r['status']}[/]"
        table.add_row(
            str(r["started_at"])[:19],
            r["pipeline_name"],
            status,
            f"{r['rows_extracted']:,}",
            f"{r['rows_loaded']:,}",
            f"{r['rows_rejected']:,}",
            f"{r['rows_deduplicated']:,}",
            str(r["duration_seconds"] or ""),
            escape(r["error_message"] or ""),  # whole: it names what failed
        )
    out.print(table)
