"""``lakegate contract ...``: work with contract files."""

from __future__ import annotations

from pathlib import Path

import typer

from lakegate.checks.results import to_jsonable
from lakegate.cli.common import dump_json, emit, handle_errors, out
from lakegate.config.contract import contract_json_schema, load_contract
from lakegate.contracts.compile import contract_checks

app = typer.Typer(help="Work with data contract files.", no_args_is_help=True)


@app.command("schema")
def schema_command(
    output: Path = typer.Option(
        None, "--output", "-o", help="Write to this file instead of stdout."
    ),
) -> None:
    """Print the JSON Schema of contract files, for editors.

    Point yaml-language-server at it with a first line such as
    `# yaml-language-server: $schema=contract.schema.json`.
    """
    emit(dump_json(contract_json_schema()), output)


@app.command("check")
@handle_errors
def check_command(
    contract: Path = typer.Argument(..., help="The contract file."),
    format: str = typer.Option("table", "--format", "-f", help="table or json."),
) -> None:
    """Load a contract, report errors with file and line, and list the checks it compiles to."""
    loaded = load_contract(contract)
    checks = contract_checks(loaded)
    if format == "json":
        typer.echo(
            dump_json(
                [
                    {
                        "id": c.id,
                        "type": c.kind,
                        "columns": list(c.columns),
                        "severity": c.severity.value,
                        "dimension": c.dimension.value,
                        "threshold": to_jsonable(c.threshold()),
                    }
                    for c in checks
                ]
            )
        )
        return
    from rich.table import Table

    table = Table(title=f"{loaded.contract.name} {loaded.contract.version}: {len(checks)} checks")
    for column in ("id", "type", "severity", "dimension", "threshold"):
        table.add_column(column, overflow="fold")
    for c in checks:
        table.add_row(c.id, c.kind, c.severity.value, c.dimension.value, str(c.threshold() or ""))
    out.print(table)
