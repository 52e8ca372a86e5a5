"""``lakegate profile``: describe a dataset and propose a contract for it."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table

from lakegate.checks.results import to_jsonable
from lakegate.cli.common import (
    CsvDelimiterOption,
    EngineName,
    EngineOption,
    FormatOption,
    NoHeaderOption,
    NullValueOption,
    OutputFormat,
    OutputOption,
    command_engine,
    csv_options,
    dump_json,
    emit,
    err,
    handle_errors,
    out,
    progress,
)
from lakegate.sources.files import resolve_input

if TYPE_CHECKING:
    from lakegate.profile.stats import Profile


def _default_name(input: str) -> str:
    stem = Path(input.rstrip("/")).name.split(".")[0] or "dataset"
    return re.sub(r"[^A-Za-z0-9_]+", "_", stem).strip("_").lower() or "dataset"


@handle_errors
def profile_command(
    input: str = typer.Option(..., "--input", "-i", help="File, folder, glob or Delta table."),
    format: FormatOption = OutputFormat.table,
    output: OutputOption = None,
    suggest_contract: Path = typer.Option(
        None,
        "--suggest-contract",
        metavar="OUT.yaml",
        help="Write a proposed contract for this data.",
    ),
    name: str = typer.Option(
        None, "--name", help="Contract name (default: from the input's name)."
    ),
    csv_delimiter: CsvDelimiterOption = None,
    null_value: NullValueOption = None,
    no_header: NoHeaderOption = False,
    engine_name: EngineOption = EngineName.duckdb,
) -> None:
    """Profile a dataset and optionally propose a contract for it.

    Per column: the type, nulls, distinct values, min/max, mean/stddev, top
    values and a detected pattern (uuid, email, date, code).

    With --suggest-contract, also write a contract describing the data as it is:
    loaded back, it validates the same data with every critical check passing.
    Review it before use: it encodes what was observed, not what is intended.
    """
    from lakegate.profile.stats import profile_table
    from lakegate.profile.suggest import suggest_contract_yaml

    dataset = resolve_input(input, csv=csv_options(csv_delimiter, null_value, no_header))
    engine = command_engine(engine_name)
    try:
        engine.register("dataset", dataset)
        with progress(f"profiling {input}", dataset.size_bytes) as on_engine:
            on_engine(engine)
            result = profile_table(engine, "dataset", label=input)
    finally:
        engine.close()
    if format is OutputFormat.json:
        emit(dump_json(result.to_dict()), output)
    else:
        out.print(render_profile(result))
    if suggest_contract is not None:
        suggest_contract.write_text(
            suggest_contract_yaml(result, name=name or _default_name(input)), encoding="utf-8"
        )
        err.print(f"wrote proposed contract {suggest_contract}", highlight=False)


def render_profile(profile: Profile) -> Table:
    """A rich table with one line per column."""
    data: dict[str, Any] = profile.to_dict()
    table = Table(title=f"{data.get('input') or 'dataset'}: {data['rows']:,} rows")
    for column in (
        "column",
        "type",
        "nulls",
        "distinct",
        "min",
        "max",
        "mean",
        "pattern",
        "top values",
    ):
        table.add_column(
            column,
            overflow="fold",
            justify="right" if column in ("nulls", "distinct", "mean") else "left",
        )
    for c in data["columns"]:
        top = ", ".join(
            f"{to_jsonable(t['value'])} ({t['count']:,})" for t in c.get("top_values") or []
        )
        mean = c.get("mean")
        table.add_row(
            c["name"],
            c["logical_type"],
            f"{c['null_count']:,} ({c['null_rate']:.1%})",
            f"{c['distinct_count']:,}",
            _cell(c.get("min")),
            _cell(c.get("max")),
            "" if mean is None else f"{mean:,.3f}",
            c.get("pattern") or "",
            top,
        )
    return table


def _cell(value: Any) -> str:
    return "" if value is None else str(value)[:32]
