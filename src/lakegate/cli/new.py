"""``lakegate new pipeline``: generate pipeline files and contract stubs for source tables."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lakegate.cli.common import err, handle_errors, out

app = typer.Typer(help="Generate new project files.", no_args_is_help=True)


def _names(value: str | None) -> tuple[str, ...]:
    """``a,b, c`` as ``("a", "b", "c")``."""
    return tuple(v.strip() for v in (value or "").split(",") if v.strip())


@app.command("pipeline")
@handle_errors
def pipeline_command(
    source: Annotated[str, typer.Option("--source", help="postgres, mysql, file or rest.")],
    tables: Annotated[
        str, typer.Option("--tables", help="Comma-separated source tables, one pipeline each.")
    ],
    mode: Annotated[
        str, typer.Option("--mode", help="Extract: full, or incremental (needs --watermark).")
    ] = "full",
    watermark: Annotated[
        str | None, typer.Option("--watermark", help="The incremental key column.")
    ] = None,
    target_strategy: Annotated[
        str,
        typer.Option(
            "--target-strategy",
            help="Load: merge, append, overwrite or scd2 (merge and scd2 need --merge-keys).",
        ),
    ] = "append",
    merge_keys: Annotated[
        str | None, typer.Option("--merge-keys", help="Comma-separated key columns.")
    ] = None,
    schedule: Annotated[
        str | None, typer.Option("--schedule", help='Cron expression, e.g. "0 5 * * *".')
    ] = None,
    url: Annotated[
        str | None,
        typer.Option(
            "--url",
            help="Database URL as an environment reference (default '${SOURCE_DB_URL}'), "
            "or the API URL ({table} is replaced).",
        ),
    ] = None,
    path: Annotated[
        str | None,
        typer.Option(
            "--path",
            help="File source: path or glob ({table} is replaced); default data/{table}/*.parquet.",
        ),
    ] = None,
    lookback: Annotated[
        str | None, typer.Option("--lookback", help="Incremental re-read window, e.g. '3 days'.")
    ] = None,
    prefix: Annotated[
        str, typer.Option("--prefix", help="Prefix of the pipeline, target and file names.")
    ] = "",
    project_dir: Annotated[
        Path | None,
        typer.Option("--project", help="The project folder (default: found from here)."),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Overwrite existing pipeline and contract files.")
    ] = False,
) -> None:
    """Write one pipeline file per table into the project's pipelines folder, and a
    contract stub per table into contracts/.

    The stub lists the source's columns and types when the source can be read
    (files are profiled; a database is asked for its columns, no row is read);
    otherwise only the watermark and merge keys, with a warning. Review both files:
    their header comments say what. Exit codes: 0 written, 2 a wrong option or an
    existing file (without --force).
    """
    from lakegate.config.project import load_project
    from lakegate.scaffold.new_pipeline import PipelineSpec, new_pipelines

    spec = PipelineSpec(
        source=source,  # type: ignore[arg-type]  # validated by new_pipelines
        tables=_names(tables),
        mode=mode,  # type: ignore[arg-type]
        watermark=watermark,
        target_strategy=target_strategy,  # type: ignore[arg-type]
        merge_keys=_names(merge_keys),
        schedule=schedule,
        url=url,
        path=path,
        lookback=lookback,
        prefix=prefix,
        force=force,
    )
    project = load_project(project_dir)

    def warn(message: str) -> None:
        err.print(f"[yellow]warning:[/] {message}", markup=True, highlight=False)

    written = new_pipelines(project, spec, warn=warn)
    for file in written:
        out.print(f"wrote {file}", highlight=False, markup=False)
    out.print(
        f"Review the files (their header comments say what), then: lakegate run {written[0]}"
        if written
        else "nothing written",
        highlight=False,
        markup=False,
    )
