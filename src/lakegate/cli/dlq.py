"""``lakegate dlq ...``: look into the dead-letter tables."""

from __future__ import annotations

import decimal
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from lakegate.checks.results import to_jsonable
from lakegate.cli.common import FormatOption, OutputFormat, handle_errors, out
from lakegate.cli.run import ProjectOption

app = typer.Typer(help="Inspect quarantined rows (dead-letter tables).", no_args_is_help=True)


def read_dead_letters(
    lake_uri: str, target: str, *, run_id: str | None = None, limit: int = 50
) -> tuple[int, list[dict[str, Any]]]:
    """The dead-letter rows of ``target``: one per failing record, the ones failing most
    recently first (``rejected_at`` is the last run that rejected a record).

    Args:
        lake_uri: The project's lake root.
        target: The target table whose quarantined rows to read.
        run_id: Only rows this run rejected (first or last; see
            :mod:`lakegate.sinks.deadletter`).
        limit: At most this many rows (the total is still counted).

    Returns:
        ``(total rows matching, rows)``: each row a dict of the dead-letter columns
        (:data:`~lakegate.sinks.deadletter.COLUMNS`, filled in for tables of older
        lakegates) with the record parsed from JSON, its numbers
        with a fraction or an exponent as ``decimal.Decimal`` (exact: a float would
        round ``99999999999999.9999`` to ``1e14``).

    Raises:
        InputDataError: The target has no dead-letter table.
    """
    from sqlglot import exp

    from lakegate.engines import create_engine
    from lakegate.errors import InputDataError
    from lakegate.sinks.deadletter import COLUMNS, dead_letter_uri, read_select
    from lakegate.sources.files import is_delta_table, resolve_input

    uri = dead_letter_uri(lake_uri, target)
    if not is_delta_table(uri):
        raise InputDataError(
            f"{target}: no dead-letter table at {uri} (no row was ever quarantined)"
        )
    engine = create_engine()
    try:
        engine.register("stored", resolve_input(uri))
        dlq = read_select("stored", engine.columns("stored")).subquery("dlq")
        # Rows whose replay is under way are on their way out: not shown.
        where: exp.Expr = exp.column("replayed_in").is_(exp.null())
        if run_id:
            by_run = [
                exp.EQ(this=exp.column(c), expression=exp.Literal.string(run_id))
                for c in ("run_id", "first_run_id")
            ]
            where = exp.and_(where, exp.or_(*by_run))
        total = engine.query(exp.select(exp.Count(this=exp.Star())).from_(dlq).where(where))[0][0]
        rows = engine.query(
            exp.select(*[exp.column(c) for c in COLUMNS])
            .from_(dlq.copy())
            .where(where)
            .order_by(
                exp.Ordered(this=exp.column("rejected_at"), desc=True),
                "batch_version",
                "rejection_id",
            )
            .limit(limit)
        )
    finally:
        engine.close()
    out_rows = []
    for row in rows:
        item = dict(zip(COLUMNS, row, strict=True))
        item["record"] = json.loads(item["record"], parse_float=decimal.Decimal)
        out_rows.append(item)
    return int(total), out_rows


@app.command("show")
@handle_errors
def show_command(
    target: Annotated[str, typer.Argument(help="The target table whose rejects to show.")],
    run: Annotated[
        str | None,
        typer.Option("--run", help="Only records this run rejected (first or last)."),
    ] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", help="At most this many rows.")] = 20,
    project: ProjectOption = None,
    format: FormatOption = OutputFormat.table,
) -> None:
    """Show quarantined records, the ones failing most recently first: when and in which
    run each failed last, since when it fails (and how many runs rejected it), which checks
    it failed, and the original record."""
    from lakegate.config.project import load_project

    proj = load_project(project)
    total, rows = read_dead_letters(proj.lake_uri, target, run_id=run, limit=limit)
    if format is OutputFormat.json:
        shown = [{**to_jsonable(r), "record": r["record"]} for r in rows]
        typer.echo(exact_json({"target": target, "total": total, "rows": shown}, indent=""))
        return
    table = Table(title=f"dead letters of {target}: {len(rows)} of {total:,} rows")
    columns = ("last rejected", "run_id", "batch", "first rejected", "runs", "failed checks")
    for column in (*columns, "record"):
        table.add_column(column, overflow="fold")
    for r in rows:
        record = exact_json(r["record"])
        table.add_row(
            str(r["rejected_at"])[:19],
            r["run_id"],
            str(r["batch_version"]),
            str(r["first_rejected_at"])[:19],
            str(r["times_rejected"]),
            ", ".join(r["failed_checks"]),
            record if len(record) <= 160 else record[:159] + "…",
        )
    out.print(table)


def exact_json(value: Any, *, indent: str | None = None) -> str:
    """JSON text of ``value`` (JSON values and ``decimal.Decimal``), each Decimal written
    digit for digit; ``json.dumps`` cannot write one without a float in between.

    Args:
        value: Dicts, lists, str, int, float, bool, None and Decimal values.
        indent: None for one line (``{"a": 1, "b": 2}``); else the current indentation,
            nested levels two spaces more, as ``json.dumps(indent=2)`` lays it out.
    """
    if isinstance(value, decimal.Decimal) and value.is_finite():
        return str(value)
    if isinstance(value, dict | list) and value:
        inner = None if indent is None else indent + "  "
        if isinstance(value, dict):
            parts = [
                f"{json.dumps(str(k), ensure_ascii=False)}: {exact_json(v, indent=inner)}"
                for k, v in value.items()
            ]
        else:
            parts = [exact_json(v, indent=inner) for v in value]
        opening, closing = ("{", "}") if isinstance(value, dict) else ("[", "]")
        if indent is None:
            return opening + ", ".join(parts) + closing
        return f"{opening}\n{inner}" + f",\n{inner}".join(parts) + f"\n{indent}{closing}"
    return json.dumps(to_jsonable(value), ensure_ascii=False)


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
