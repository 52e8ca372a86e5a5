"""``lakegate dlq ...``: look into the dead-letter tables."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from lakegate.checks.results import to_jsonable
from lakegate.cli.common import FormatOption, OutputFormat, dump_json, handle_errors, out
from lakegate.cli.run import ProjectOption

app = typer.Typer(help="Inspect quarantined rows (dead-letter tables).", no_args_is_help=True)


def read_dead_letters(
    lake_uri: str, target: str, *, run_id: str | None = None, limit: int = 50
) -> tuple[int, list[dict[str, Any]]]:
    """The dead-letter rows of ``target``, newest first.

    Args:
        lake_uri: The project's lake root.
        target: The target table whose quarantined rows to read.
        run_id: Only rows of this run.
        limit: At most this many rows (the total is still counted).

    Returns:
        ``(total rows matching, rows)`` with the record parsed from JSON.

    Raises:
        InputDataError: The target has no dead-letter table.
    """
    from sqlglot import exp

    from lakegate.engines import create_engine
    from lakegate.errors import InputDataError
    from lakegate.sinks.deadletter import COLUMNS, dead_letter_uri
    from lakegate.sources.files import is_delta_table, resolve_input

    uri = dead_letter_uri(lake_uri, target)
    if not is_delta_table(uri):
        raise InputDataError(
            f"{target}: no dead-letter table at {uri} (no row was ever quarantined)"
        )
    engine = create_engine()
    try:
        engine.register("dlq", resolve_input(uri))
        # Rows whose replay is under way are on their way out: not shown.
        where: exp.Expr = exp.column("replayed_in").is_(exp.null())
        if run_id:
            where = exp.and_(
                where, exp.EQ(this=exp.column("run_id"), expression=exp.Literal.string(run_id))
            )
        total = engine.query(exp.select(exp.Count(this=exp.Star())).from_("dlq").where(where))[0][0]
        rows = engine.query(
            exp.select(*[exp.column(c) for c in COLUMNS])
            .from_("dlq")
            .where(where)
            .order_by(exp.Ordered(this=exp.column("rejected_at"), desc=True), "batch_version")
            .limit(limit)
        )
    finally:
        engine.close()
    out_rows = []
    for row in rows:
        item = dict(zip(COLUMNS, row, strict=True))
        item["record"] = json.loads(item["record"])
        out_rows.append(item)
    return int(total), out_rows


@app.command("show")
@handle_errors
def show_command(
    target: Annotated[str, typer.Argument(help="The target table whose rejects to show.")],
    run: Annotated[str | None, typer.Option("--run", help="Only this run's rows.")] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", help="At most this many rows.")] = 20,
    project: ProjectOption = None,
    format: FormatOption = OutputFormat.table,
) -> None:
    """Show quarantined rows: when, which run, which checks failed, and the original record."""
    from lakegate.config.project import load_project

    proj = load_project(project)
    total, rows = read_dead_letters(proj.lake_uri, target, run_id=run, limit=limit)
    if format is OutputFormat.json:
        typer.echo(dump_json({"target": target, "total": total, "rows": to_jsonable(rows)}))
        return
    table = Table(title=f"dead letters of {target}: {len(rows)} of {total:,} rows")
    for column in ("rejected_at", "run_id", "batch", "failed checks", "record"):
        table.add_column(column, overflow="fold")
    for r in rows:
        record = json.dumps(to_jsonable(r["record"]), ensure_ascii=False)
        table.add_row(
            str(r["rejected_at"])[:19],
            r["run_id"],
            str(r["batch_version"]),
            ", ".join(r["failed_checks"]),
            record if len(record) <= 160 else record[:159] + "…",
        )
    out.print(table)


def pipelines_loading(project: Any, target: str) -> list[Any]:
    """The pipelines of ``project`` (its ``pipelines`` folder) that load ``target``."""
    from lakegate.config.pipeline import project_pipelines

    return [p for p in project_pipelines(project) if p.load.target == target]


@app.command("replay")
@handle_errors
def replay_command(
    target: Annotated[
        str, typer.Argument(help="The target table whose quarantined rows to replay.")
    ],
    pipeline: Annotated[
        Path | None,
        typer.Option(
            "--pipeline",
            help="The pipeline file to replay through (default: the one pipeline of the "
            "project's pipelines folder that loads TARGET).",
        ),
    ] = None,
    run: Annotated[str | None, typer.Option("--run", help="Only rows of this run.")] = None,
    check: Annotated[
        str | None, typer.Option("--check", help="Only rows that failed this check id.")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Re-gate and report; change nothing.")
    ] = False,
    project: ProjectOption = None,
    format: FormatOption = OutputFormat.table,
) -> None:
    """Re-gate quarantined rows with the current contract and load those that pass.

    Typical use: fix the contract (or the data it refers to), then replay. Each row is
    rebuilt with the types it had when it was quarantined and goes through the
    pipeline's dedup, pre-load gate and load as a late batch. Rows that pass (and rows
    that lose to a later row of the same merge key) leave the dead-letter table exactly
    once, even if the replay is interrupted; rows that still fail stay, and are counted
    as rejected. The watermark does not move. Targets loaded with overwrite or
    partition_overwrite cannot be replayed into: re-run the pipeline instead.
    Exit codes: 0 done, 1 the replay failed, 2 bad input.
    """
    from lakegate.cli.run import run_and_report
    from lakegate.config.pipeline import load_pipeline
    from lakegate.config.project import load_project
    from lakegate.errors import UserInputError
    from lakegate.runner import Replay, RunOptions

    proj = load_project(project)
    if pipeline is not None:
        chosen = load_pipeline(pipeline)
        if chosen.load.target != target:
            raise UserInputError(f"{pipeline}: loads {chosen.load.target!r}, not {target!r}")
    else:
        candidates = pipelines_loading(proj, target)
        if len(candidates) != 1:
            names = ", ".join(c.name for c in candidates) or "none"
            raise UserInputError(
                f"{target}: {len(candidates)} pipelines in {proj.path(proj.pipelines)} load it "
                f"({names}); name one with --pipeline FILE"
            )
        chosen = candidates[0]
    options = RunOptions(dry_run=dry_run, replay=Replay(run_id=run, check=check))
    run_and_report(
        proj,
        chosen,
        options,
        format,
        note=lambda record: (
            f"{record.rows_rejected:,} row(s) still fail and stay in the dead-letter table "
            f"(lakegate dlq show {target})"
            if record.rows_rejected
            else None
        ),
    )
