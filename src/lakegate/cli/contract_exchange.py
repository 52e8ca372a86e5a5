"""``lakegate contract export`` and ``lakegate contract import``: other tools' formats."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import typer

from lakegate.cli.common import emit, err, handle_errors, output_file, output_folder, write_output
from lakegate.config.contract import load_contract
from lakegate.contracts.exports import EXPORTERS, export_contract, unsupported_checks
from lakegate.errors import UserInputError


def _notes(header: str, notes: list[str] | tuple[str, ...]) -> None:
    if notes:
        err.print(f"{header}:", highlight=False)
        for note in notes:
            err.print(f"  - {note}", highlight=False, markup=False)


def _write_dbt(contract_path: Path, output: Path) -> None:
    from lakegate.contracts.exports.dbt import export_files

    files, _ = export_files(load_contract(contract_path))
    output_folder(output)
    for relative, text in files.items():
        write_output(output / relative, text)


@handle_errors
def export_command(
    contract: Path = typer.Argument(..., help="The contract file."),
    format: Literal[tuple(EXPORTERS)] = typer.Option(  # type: ignore[valid-type]
        ..., "--format", "-f", help="The format to write."
    ),
    output: Path | None = typer.Option(
        None,
        "--output",
        "-o",
        help="Write here instead of stdout. For dbt, a folder (a dbt project's root) gets "
        "models/<contract>.yml, macros/lakegate_tests.sql and tests/ for custom_sql checks; "
        "a .yml file gets the schema file only.",
    ),
) -> None:
    """Export a contract as a JSON Schema, a Great Expectations suite, dbt tests or an
    Open Data Contract Standard (ODCS v3.1.0) contract.

    Built from the checks the contract compiles to, so each exported test means what
    lakegate's check means. Checks a format cannot express are listed on stderr (and
    in the file), never dropped silently. Exit codes: 0 written, 2 bad contract or flag.
    """
    loaded = load_contract(contract)
    to_folder = format == "dbt" and output is not None and output.suffix not in (".yml", ".yaml")
    if output is not None and output.is_dir() and not to_folder:
        raise UserInputError(f"--output {output} is a folder; --format {format} writes one file")
    if not to_folder:
        output_file(output)  # a bad path fails before any work
    if to_folder:
        assert output is not None
        _write_dbt(contract, output)
    else:
        emit(export_contract(loaded, format), output)
        if format == "dbt":
            err.print(
                "note: the tests use the generic tests of macros/lakegate_tests.sql and "
                "custom_sql checks are singular tests: give --output DIR to write them",
                highlight=False,
            )
    _notes(f"no {format} equivalent", unsupported_checks(loaded, format))


@handle_errors
def import_command(
    source: Path = typer.Argument(..., help="The contract to import."),
    from_: Literal["odcs"] = typer.Option("odcs", "--from", help="Its format: odcs (v3)."),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Write the lakegate contract here instead of stdout."
    ),
    object_: str | None = typer.Option(
        None,
        "--object",
        help="The schema object (table) to import; default: the first. A lakegate "
        "contract describes one table.",
    ),
) -> None:
    """Import an Open Data Contract Standard (ODCS v3) contract as a lakegate contract.

    What lakegate has no equivalent for is listed on stderr and in the file's header.
    Exit codes: 0 written, 2 unreadable or invalid input.
    """
    from lakegate.contracts.exports.import_odcs import convert_odcs

    output_file(output)  # a bad path fails before any work
    try:
        text = source.read_text(encoding="utf-8")
    except OSError as exc:
        raise UserInputError(f"cannot read {source}: {exc.strerror or exc}") from None
    imported = convert_odcs(text, object_)
    emit(imported.text, output)
    _notes("not imported", imported.notes)
