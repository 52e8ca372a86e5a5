"""``lakegate generate airflow|prefect|dagster``: orchestrator code for the project."""

from __future__ import annotations

import shlex
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from lakegate.cli.common import err, handle_errors, out
from lakegate.cli.run import ProjectOption
from lakegate.errors import UserInputError


class Orchestrator(StrEnum):
    airflow = "airflow"
    prefect = "prefect"
    dagster = "dagster"


@handle_errors
def generate_command(
    target: Annotated[
        Orchestrator, typer.Argument(help="The orchestrator: airflow, prefect or dagster.")
    ],
    pipelines: Annotated[
        list[str] | None,
        typer.Argument(help="Pipeline names (or --all): exactly these, dependencies kept."),
    ] = None,
    all: Annotated[bool, typer.Option("--all", help="Every pipeline of the project.")] = False,
    output: Annotated[
        Path, typer.Option("--output", "-o", help="The folder to write the files into.")
    ] = Path("."),
    project: ProjectOption = None,
) -> None:
    """Write orchestrator code that runs the project's pipelines; lakegate never
    schedules by itself. Files written earlier by this command are replaced; any other
    file is never overwritten."""
    from lakegate.config.project import load_project
    from lakegate.generate import generate_code, is_generated

    if bool(pipelines) == all:
        raise UserInputError("name the pipelines to generate, or pass --all (not both)")
    proj = load_project(project)
    command = shlex.join(["lakegate", "generate", target.value, *(pipelines or ["--all"])])
    files = generate_code(target.value, proj, pipelines or None, command=command)
    foreign = [
        output / name
        for name in files
        if (output / name).exists() and not is_generated(_head(output / name))
    ]
    if foreign:
        raise UserInputError(
            f"{foreign[0]}: exists and was not written by lakegate generate; "
            "move it or choose another --output"
        )
    output.mkdir(parents=True, exist_ok=True)
    for name, source in files.items():
        (output / name).write_text(source, encoding="utf-8")
        out.print(f"wrote {output / name}", highlight=False)
    err.print(f"{len(files)} file(s) for {target.value}", highlight=False)


def _head(path: Path) -> str:
    try:
        with path.open(encoding="utf-8") as file:
            return file.read(200)
    except (OSError, UnicodeDecodeError):
        return ""
