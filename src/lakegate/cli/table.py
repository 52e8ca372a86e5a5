"""``lakegate table``: history, show, optimize, vacuum and restore of a Delta table.

Each command takes TABLE, a table name in the project's lake, or ``--path`` to a
Delta table directory; the work is done by :mod:`lakegate.sinks.maintenance`.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from lakegate.checks.results import to_jsonable
from lakegate.cli.common import FormatOption, OutputFormat, dump_json, handle_errors, out
from lakegate.cli.run import ProjectOption
from lakegate.errors import UserInputError

app = typer.Typer(
    help="Maintain Delta tables: history, show, optimize, vacuum, restore.",
    no_args_is_help=True,
)

TableArgument = Annotated[
    str | None,
    typer.Argument(help="A table name in the project's lake (or use --path).", show_default=False),
]
PathOption = Annotated[
    str | None,
    typer.Option(
        "--path", help="A Delta table directory or URL, instead of TABLE.", show_default=False
    ),
]

# Metrics too verbose for the history table (they stay in --format json).
_QUIET_METRICS = {"execution_time_ms", "num_retries", "filesAdded", "filesRemoved"}


def _resolve(table: str | None, path: str | None, project: Path | None) -> tuple[str, str]:
    """``(uri, label)`` of the table the user named."""
    if table is None and path is None:
        raise UserInputError("name the table: TABLE (a table name in the lake) or --path DIR")
    if table is not None and path is not None:
        raise UserInputError("give either TABLE or --path, not both")
    if path is not None:  # a str: pathlib would turn s3://b/t into s3:/b/t
        return (path if "://" in path else str(Path(path).expanduser().resolve())), path
    assert table is not None
    parts = table.replace("\\", "/").split("/")
    if table.startswith("/") or ".." in parts or "" in parts:
        raise UserInputError(
            f"{table!r} is not a table name in the lake; use --path for a directory"
        )
    from lakegate.config.project import load_project

    return load_project(project).table_uri(table), table


def _json(value: Any) -> str:
    """A result (a dataclass or a list of them) as JSON text."""
    if isinstance(value, list):
        return dump_json(to_jsonable([dataclasses.asdict(v) for v in value]))
    return dump_json(to_jsonable(dataclasses.asdict(value)))


def _size(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if size < 1024 or unit == "TB":
            return f"{n:,} B" if unit == "B" else f"{size:,.1f} {unit} ({n:,} B)"
        size /= 1024
    return str(n)


def _files(n: int) -> str:
    return f"{n:,} file" if n == 1 else f"{n:,} files"


def _pairs(values: dict[str, Any], skip: set[str] | frozenset[str] = frozenset()) -> str:
    return ", ".join(
        f"{k}={v if isinstance(v, str) else json.dumps(v)}"
        for k, v in values.items()
        if k not in skip
    )


@app.command("history")
@handle_errors
def history_command(
    table: TableArgument = None,
    path: PathOption = None,
    limit: Annotated[
        int | None, typer.Option("--limit", "-n", min=1, help="Only the newest N commits.")
    ] = None,
    project: ProjectOption = None,
    format: FormatOption = OutputFormat.table,
) -> None:
    """List a table's commits, newest first: operation, parameters, metrics, lakegate run."""
    from lakegate.sinks.maintenance import table_history

    uri, label = _resolve(table, path, project)
    commits = table_history(uri, limit=limit, label=label)
    if format is OutputFormat.json:
        typer.echo(_json(commits))
        return
    view = Table(title=f"history of {escape(label)}")
    for column in ("version", "timestamp (UTC)", "operation", "parameters", "metrics", "run"):
        view.add_column(column, overflow="fold")
    for c in commits:
        run = c.run_id or ""
        if run and c.pipeline:
            run = f"{c.pipeline} {run}"
        view.add_row(
            str(c.version),
            c.timestamp.isoformat(timespec="seconds") if c.timestamp else "",
            c.operation,
            escape(_pairs(c.parameters)),
            escape(_pairs(c.metrics, _QUIET_METRICS)),
            escape(run),
        )
    out.print(view)


@app.command("show")
@handle_errors
def show_command(
    table: TableArgument = None,
    path: PathOption = None,
    version: Annotated[
        int | None, typer.Option("--version", min=0, help="A past version (time travel).")
    ] = None,
    small_file_bytes: Annotated[
        int,
        typer.Option(
            "--small-file-bytes", min=1, help="Files below this size (bytes) count as small."
        ),
    ] = 32 * 1024 * 1024,
    project: ProjectOption = None,
    format: FormatOption = OutputFormat.table,
) -> None:
    """Describe a table's snapshot: schema, partitions, files, bytes, rows, small files."""
    from lakegate.sinks.maintenance import describe_table

    uri, label = _resolve(table, path, project)
    info = describe_table(uri, version=version, small_file_bytes=small_file_bytes, label=label)
    if format is OutputFormat.json:
        typer.echo(_json(info))
        return
    summary = Table(title=f"{escape(label)} at version {info.version}", show_header=False)
    summary.add_column("field", style="dim")
    summary.add_column("value", overflow="fold")
    for key, value in (
        ("location", info.uri),
        ("version", str(info.version)),
        (
            "last commit (UTC)",
            info.last_commit.isoformat(timespec="seconds") if info.last_commit else "unknown",
        ),
        ("partition columns", ", ".join(info.partition_columns) or "none"),
        ("files", f"{info.files:,}"),
        ("total size", _size(info.total_bytes)),
        ("rows", "unknown (files without statistics)" if info.rows is None else f"{info.rows:,}"),
        ("small files", f"{info.small_files:,} below {_size(info.small_file_bytes)}"),
    ):
        summary.add_row(key, escape(value))
    out.print(summary)
    schema = Table(title="schema")
    for column in ("column", "type", "nullable"):
        schema.add_column(column)
    for col in info.columns:
        schema.add_row(escape(col.name), escape(col.type), "yes" if col.nullable else "no")
    out.print(schema)


@app.command("optimize")
@handle_errors
def optimize_command(
    table: TableArgument = None,
    path: PathOption = None,
    target_size: Annotated[
        int | None,
        typer.Option(
            "--target-size",
            min=1,
            metavar="BYTES",
            help="Approximate size of the written files (default: the table's "
            "delta.targetFileSize or 100 MB).",
        ),
    ] = None,
    z_order: Annotated[
        str | None,
        typer.Option("--z-order", metavar="COL,...", help="Cluster the files by these columns."),
    ] = None,
    project: ProjectOption = None,
    format: FormatOption = OutputFormat.table,
) -> None:
    """Compact small files (or rewrite them in z-order); rows are unchanged.

    The replaced files stay on storage for time travel until `lakegate table vacuum`.
    """
    from lakegate.sinks.maintenance import optimize_table

    uri, label = _resolve(table, path, project)
    columns = [c.strip() for c in (z_order or "").split(",") if c.strip()]
    if z_order is not None and not columns:
        raise UserInputError("--z-order needs at least one column name")
    result = optimize_table(uri, target_size=target_size, z_order=columns, label=label)
    if format is OutputFormat.json:
        typer.echo(_json(result))
        return
    how = f"z-ordered by {', '.join(result.z_order)}" if result.z_order else "compacted"
    if not result.files_added and not result.files_removed:
        out.print(
            f"{label}: nothing to rewrite (version {result.version})", markup=False, highlight=False
        )
        return
    out.print(
        f"{label}: {how}: {_files(result.files_removed)} removed, {_files(result.files_added)} "
        f"added; now version {result.version}",
        markup=False,
        highlight=False,
    )


@app.command("vacuum")
@handle_errors
def vacuum_command(
    table: TableArgument = None,
    path: PathOption = None,
    retention_hours: Annotated[
        int,
        typer.Option(
            "--retention-hours",
            min=0,
            help="Keep files the table stopped using less than this many hours ago.",
        ),
    ] = 168,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run/--no-dry-run",
            help="Only list the files (the default); --no-dry-run deletes them.",
        ),
    ] = True,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Allow a retention below 168 hours (breaks time travel to older versions "
            "and readers of older snapshots).",
        ),
    ] = False,
    project: ProjectOption = None,
    format: FormatOption = OutputFormat.table,
) -> None:
    """Delete data files the table no longer uses (a dry run unless --no-dry-run)."""
    from lakegate.sinks.maintenance import vacuum_table

    uri, label = _resolve(table, path, project)
    result = vacuum_table(
        uri, retention_hours=retention_hours, dry_run=dry_run, force=force, label=label
    )
    if format is OutputFormat.json:
        typer.echo(_json(result))
        return
    verb = "would delete" if result.dry_run else "deleted"
    out.print(
        f"{label}: {verb} {_files(len(result.files))} (retention {result.retention_hours} h)"
        + (":" if result.files else ""),
        markup=False,
        highlight=False,
    )
    for file in result.files:
        out.print(f"  {file}", markup=False, highlight=False, soft_wrap=True)
    if result.dry_run and result.files:
        out.print("dry run: nothing was deleted; pass --no-dry-run to delete", highlight=False)


@app.command("restore")
@handle_errors
def restore_command(
    version: Annotated[int, typer.Option("--version", min=0, help="The version to restore.")],
    table: TableArgument = None,
    path: PathOption = None,
    project: ProjectOption = None,
    format: FormatOption = OutputFormat.table,
) -> None:
    """Give the table the content of an earlier version, as a new commit."""
    from lakegate.sinks.maintenance import restore_table

    uri, label = _resolve(table, path, project)
    result = restore_table(uri, version, label=label)
    if format is OutputFormat.json:
        typer.echo(_json(result))
        return
    out.print(
        f"{label}: restored version {result.restored_to} as new version {result.version} "
        f"({_files(result.files_restored)} restored, {_files(result.files_removed)} removed)",
        markup=False,
        highlight=False,
    )
