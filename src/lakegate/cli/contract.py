"""``lakegate contract ...``: work with contract files."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from lakegate.checks.results import to_jsonable
from lakegate.cli.common import FormatOption, OutputFormat, dump_json, emit, handle_errors, out
from lakegate.config.contract import contract_json_schema, load_contract
from lakegate.contracts.compile import contract_checks

app = typer.Typer(help="Work with data contract files.", no_args_is_help=True)


@app.command("schema")
@handle_errors
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


def _shown(value: object) -> str:
    """A changed value in a table cell (``--format json`` has it whole)."""
    if value is None:
        return "-"
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 80 else text[:79] + "…"


@app.command("diff")
@handle_errors
def diff_command(
    old: Path = typer.Argument(..., help="The published contract."),
    new: Path = typer.Argument(..., help="The proposed contract."),
    format: FormatOption = OutputFormat.table,
) -> None:
    """Classify every change from OLD to NEW (breaking, non_breaking, info) and check that
    NEW's version is bumped enough. Exit 1 when it is not."""
    from lakegate.contracts.diff import Kind, diff_contracts

    result = diff_contracts(load_contract(old), load_contract(new))
    if format is OutputFormat.json:
        typer.echo(dump_json(result.to_dict()))
    else:
        from rich.table import Table

        title = f"{result.old_version} -> {result.new_version}: {len(result.changes)} changes"
        table = Table(title=title)
        for column in ("class", "rule", "field", "what", "old -> new", "consumers"):
            table.add_column(column, overflow="fold")
        style = {Kind.BREAKING: "bold red", Kind.NON_BREAKING: "yellow", Kind.INFO: "dim"}
        for c in result.changes:
            change = f"{_shown(c.old)} -> {_shown(c.new)}" + (f" ({c.note})" if c.note else "")
            table.add_row(
                f"[{style[c.kind]}]{c.kind}[/]",
                c.rule,
                c.field or "",
                c.what,
                change,
                ", ".join(c.consumers),
            )
        if result.changes:
            out.print(table)
        mark = "[green]ok[/]" if result.bump_ok else "[bold red]version not bumped enough[/]"
        out.print(f"{mark}: {result.verdict}", highlight=False)
    if not result.bump_ok:
        raise typer.Exit(1)


@app.command("lint")
@handle_errors
def lint_command(
    contract: Path = typer.Argument(..., help="The contract file."),
    format: FormatOption = OutputFormat.table,
    strict: bool = typer.Option(False, "--strict", help="Exit 1 on warnings too."),
) -> None:
    """Report what is valid but doubtful in a contract, each with a fix. Exit 1 when a
    finding is an error (or, with --strict, a warning)."""
    from lakegate.contracts.lint import lint_contract

    findings = lint_contract(load_contract(contract))
    if format is OutputFormat.json:
        typer.echo(dump_json([f.to_dict() for f in findings]))
    elif findings:
        from rich.table import Table

        table = Table(title=f"{contract}: {len(findings)} findings")
        for column in ("line", "severity", "rule", "field", "message", "fix"):
            table.add_column(column, overflow="fold")
        style = {"error": "bold red", "warning": "yellow", "info": "dim"}
        for f in findings:
            table.add_row(
                str(f.line or ""),
                f"[{style[f.severity]}]{f.severity}[/]",
                f.rule,
                f.field or "",
                f.message,
                f.fix,
            )
        out.print(table)
    else:
        out.print(f"{contract}: no findings", highlight=False)
    failing = {"error", "warning"} if strict else {"error"}
    if any(f.severity in failing for f in findings):
        raise typer.Exit(1)
