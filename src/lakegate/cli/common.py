"""Helpers shared by CLI commands: error handling, consoles, input options, progress."""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import json
import os
import shutil
import sys
import threading
from collections.abc import Callable, Iterator
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from lakegate.engines import Engine
from lakegate.errors import LakegateError, UserInputError
from lakegate.sources.files import CsvOptions

P = ParamSpec("P")
R = TypeVar("R")

# Reports are wide: never narrower than 110 columns (pipes and CI logs get 160).
out = Console(
    width=max(shutil.get_terminal_size((160, 24)).columns, 110) if sys.stdout.isatty() else 160
)
err = Console(stderr=True, soft_wrap=True)

# Inputs larger than this show a progress bar (when stderr is a terminal).
PROGRESS_MIN_BYTES = 64 * 1024 * 1024


class OutputFormat(StrEnum):
    table = "table"
    json = "json"


# Options shared by the commands that read a dataset.
FormatOption = Annotated[
    OutputFormat, typer.Option("--format", "-f", help="table for people, json for programs.")
]
OutputOption = Annotated[
    Path | None, typer.Option("--output", "-o", help="Write the result here instead of stdout.")
]
CsvDelimiterOption = Annotated[
    str | None, typer.Option("--csv-delimiter", help="CSV separator (default: detect; 'tab').")
]
NullValueOption = Annotated[
    list[str] | None,
    typer.Option(
        "--null-value", metavar="TEXT", help="CSV text read as null, e.g. NA. Repeatable."
    ),
]
NoHeaderOption = Annotated[bool, typer.Option("--no-header", help="CSV files have no header line.")]


class EngineName(StrEnum):
    """The engines a command can run on (``--engine``)."""

    duckdb = "duckdb"
    spark = "spark"


EngineOption = Annotated[
    EngineName,
    typer.Option(
        "--engine",
        help="duckdb: embedded, in this process (the default). spark: a SparkSession from "
        "the spark: block of the nearest lakegate.yaml (else local[*] with the jars "
        "`make services` resolved); it takes about 15 s to start.",
    ),
]


def command_engine(name: EngineName) -> Engine:
    """The engine of a command run outside a pipeline (``validate``, ``profile``).

    DuckDB with its defaults; Spark from the nearest ``lakegate.yaml``'s ``spark:`` block
    when there is one (its master, conf and jars), else ``local[*]``.

    Raises:
        ConfigError: The nearest ``lakegate.yaml`` is invalid, or Spark cannot start
            (pyspark missing, no resolved jars).
    """
    from lakegate.config.project import find_project_file, load_project
    from lakegate.engines import create_engine, project_engine

    if name is EngineName.duckdb:
        return create_engine("duckdb")
    file = find_project_file()
    project = load_project(file) if file is not None else None
    return project_engine(project, name.value)


def handle_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Turn lakegate errors into a one-line message on stderr and the right exit code."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except LakegateError as exc:
            # The message is text: "[rule: reason]" in it must not be read as rich markup.
            err.print(f"[bold red]error:[/] {escape(str(exc))}", markup=True, highlight=False)
            raise typer.Exit(exc.exit_code) from None

    return wrapper


def csv_options(
    delimiter: str | None, null_values: list[str] | None, no_header: bool
) -> CsvOptions:
    """CSV options from the shared ``--csv-delimiter/--null-value/--no-header`` flags."""
    if delimiter is not None and delimiter.lower() in ("tab", "\\t"):
        delimiter = "\t"
    nulls = tuple(null_values) if null_values else ("",)
    return CsvOptions(delimiter=delimiter, header=not no_header, null_values=nulls)


def parse_as_of(value: str | None) -> dt.datetime | None:
    """Parse ``--as-of`` (ISO 8601 date or timestamp; naive means UTC)."""
    if value is None:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not an ISO 8601 date or timestamp") from None
    return parsed.replace(tzinfo=dt.UTC) if parsed.tzinfo is None else parsed


def _make_folder(folder: Path, output: Path) -> None:
    """Create ``folder`` and its parents for ``--output output``, or say why it cannot be."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        blocker = next((p for p in (folder, *folder.parents) if p.exists()), folder)
        if not blocker.is_dir():
            why = f"{blocker} is a file, not a folder"
        else:
            why = f"cannot create the folder {folder}: {exc.strerror or exc}"
        raise UserInputError(f"--output {output}: {why}") from None


def output_file(path: Path | None) -> Path | None:
    """Make ``--output PATH`` ready to write, before any work is done: its folder is
    created when missing. Every command that writes a file goes through this (or
    :func:`emit`, which calls it), so a bad path fails the same way everywhere.

    Args:
        path: The file to write, or None (stdout): returned unchanged.

    Raises:
        UserInputError: The path is a folder, a file stands where a folder must be, or
            the folder cannot be created or written (exit code 2, naming the path).
    """
    if path is None:
        return None
    if path.is_dir():
        raise UserInputError(f"--output {path} is a folder; give a file path")
    _make_folder(path.parent, path)
    if not os.access(path.parent, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise UserInputError(f"--output {path}: not writable")
    return path


def output_folder(path: Path) -> Path:
    """Make ``--output DIR`` (a folder a command writes several files into) exist.

    Raises:
        UserInputError: A file stands where the folder or one of its parents must be, or
            it cannot be created (exit code 2, naming the path).
    """
    _make_folder(path, path)
    return path


def write_output(path: Path, text: str) -> None:
    """Write ``text`` to the file ``path`` (see :func:`output_file`) and say so on stderr.

    Raises:
        UserInputError: The file cannot be written (exit code 2, naming it).
    """
    output_file(path)
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UserInputError(f"--output {path}: cannot write it: {exc.strerror or exc}") from None
    err.print(f"wrote {path}", highlight=False)


def emit(text: str, output: Path | None) -> None:
    """Write ``text`` to ``output`` (with a final newline), or to stdout when None.

    Raises:
        UserInputError: See :func:`write_output`.
    """
    if output is None:
        typer.echo(text)
    else:
        write_output(output, text if text.endswith("\n") else text + "\n")


def dump_json(data: Any) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False)


@contextlib.contextmanager
def progress(label: str, size_bytes: int) -> Iterator[Callable[[Engine], None]]:
    """A progress bar fed by the engine's query progress, on large inputs only.

    Yields a callback to hand to the library (``on_engine``); the bar polls the
    engine it receives twice a second and disappears when the block ends.
    """
    if size_bytes < PROGRESS_MIN_BYTES or not err.is_terminal:
        yield lambda engine: None
        return
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    engines: list[Engine] = []
    done = threading.Event()
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    )

    def poll() -> None:
        task = bar.add_task(label, total=100)
        while not done.wait(0.5):
            if engines and (pct := engines[0].progress()) >= 0:
                bar.update(task, completed=pct)

    with bar:
        thread = threading.Thread(target=poll, daemon=True)
        thread.start()
        try:
            yield engines.append
        finally:
            done.set()
            thread.join()


class StepProgress:
    """A one-line progress bar for a multi-step job (``lakegate run``) on stderr.

    The bar names the current step and fills from the engine's query progress, or from
    a row count when the job reports one (``rows(done, total)``); it polls twice a
    second from a thread and disappears when the block ends. Use as a context manager.
    """

    def __init__(self, label: str) -> None:
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        self.label = label
        self._engine: Engine | None = None
        self._rows: tuple[int, int] | None = None
        self._done = threading.Event()
        self._bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[detail]}"),
            TimeElapsedColumn(),
            console=err,
            transient=True,
        )
        self._task = self._bar.add_task(f"{label}: starting", total=100, detail="")
        self._thread = threading.Thread(target=self._poll, daemon=True)

    def __enter__(self) -> StepProgress:
        self._bar.__enter__()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()
        self._bar.__exit__(None, None, None)

    def step(self, name: str) -> None:
        """A new step starts: the bar empties and names it."""
        self._rows = None
        self._bar.update(self._task, description=f"{self.label}: {name}", completed=0, detail="")

    def engine(self, engine: Engine) -> None:
        """The engine whose running query the bar follows."""
        self._engine = engine

    def rows(self, done: int, total: int) -> None:
        """Rows handled so far of ``total`` (the bar follows these instead of the engine)."""
        self._rows = (done, total)

    def _poll(self) -> None:
        while not self._done.wait(0.5):
            if self._rows is not None:
                done, total = self._rows
                pct = 100.0 * done / total if total else 100.0
                self._bar.update(self._task, completed=pct, detail=f"{done:,}/{total:,} rows")
            elif self._engine is not None and (pct := self._engine.progress()) >= 0:
                self._bar.update(self._task, completed=pct, detail=f"{pct:3.0f}%")
