"""``lakegate dlq ...``: look into the dead-letter tables."""

from __future__ import annotations

import json
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
        where = (
            exp.EQ(this=exp.column("run_id"), expression=exp.Literal.string(run_id))
            if run_id
            else exp.true()
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
