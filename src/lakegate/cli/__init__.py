"""The ``lakegate`` command line: parse, call the library, render.

Exit codes everywhere: 0 success, 1 the data failed, 2 the user's input was wrong.
"""

from __future__ import annotations

import sys

import typer

from lakegate import __version__
from lakegate.cli import (
    advise,
    alerts,
    analyze,
    contract,
    contract_exchange,
    cost,
    dlq,
    generate,
    graph,
    init,
    new,
    profile,
    run,
    serve,
    status,
    table,
    validate,
)

app = typer.Typer(
    name="lakegate",
    help=(
        "Contract-first data pipelines: validate data against a contract, profile it, "
        "and load it into Delta Lake exactly once.\n\n"
        "Exit codes: 0 success, 1 the data failed a critical check, 2 bad input or usage."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)
app.command("init")(init.init_command)
app.command("validate")(validate.validate_command)
app.command("profile")(profile.profile_command)
app.command("run")(run.run_command)
app.command("runs")(run.runs_command)
app.command("status")(status.status_command)
app.command("score")(status.score_command)
app.add_typer(contract.app, name="contract")
app.add_typer(run.pipeline_app, name="pipeline")
app.add_typer(table.app, name="table")
app.add_typer(dlq.app, name="dlq")
app.add_typer(alerts.app, name="alerts")
app.command("serve")(serve.serve_command)
app.command("metrics")(serve.metrics_command)
contract.app.command("export")(contract_exchange.export_command)
contract.app.command("import")(contract_exchange.import_command)
app.command("graph")(graph.graph_command)
app.add_typer(new.app, name="new")
app.command("generate")(generate.generate_command)
app.command("analyze")(analyze.analyze_command)
app.add_typer(advise.app, name="advise")
app.add_typer(cost.app, name="cost")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"lakegate {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
    log_format: str = typer.Option(
        "text",
        "--log-format",
        envvar="LAKEGATE_LOG_FORMAT",
        help="Application logs on stderr: text, or json (one object per line, with run_id).",
    ),
    log_level: str = typer.Option(
        "warning",
        "--log-level",
        envvar="LAKEGATE_LOG_LEVEL",
        help="debug, info, warning or error.",
    ),
) -> None:
    """lakegate: contract-first data pipelines."""
    from lakegate.observe.logs import configure

    try:
        configure(log_format, log_level)  # type: ignore[arg-type]
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


def main() -> None:
    """Console-script entry point."""
    sys.exit(app())
