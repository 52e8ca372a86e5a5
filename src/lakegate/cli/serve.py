"""``lakegate serve`` and ``lakegate metrics``: the project's metrics for Prometheus."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from lakegate.cli.common import err, handle_errors
from lakegate.cli.run import ProjectOption


@handle_errors
def serve_command(
    host: Annotated[
        str, typer.Option("--host", help="Address to bind; 0.0.0.0 exposes it to the network.")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to bind; 0 picks a free one.")] = 9108,
    project: ProjectOption = None,
) -> None:
    """Serve the project over HTTP until interrupted: /metrics (Prometheus), /api/runs
    (JSON), /healthz, and / (recent runs).

    Every request reads the state store, so what it serves is always current. The
    first line on stdout is the URL it listens on.
    """
    from lakegate.config.project import load_project
    from lakegate.observe.server import make_metrics_server

    proj = load_project(project)
    try:
        server = make_metrics_server(proj, host, port)
    except OSError as exc:
        err.print(f"[bold red]error:[/] cannot listen on {host}:{port}: {exc.strerror or exc}")
        raise typer.Exit(2) from None
    shown = f"[{host}]" if ":" in host else host
    typer.echo(f"serving {proj.name} on http://{shown}:{server.server_port}/ (metrics at /metrics)")
    err.print("press Ctrl-C to stop", highlight=False)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


@handle_errors
def metrics_command(
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write to this file (atomically) instead of stdout."),
    ] = None,
    push: Annotated[
        str | None,
        typer.Option(
            "--push", metavar="URL", help="Push to this Pushgateway (http://host:9091) instead."
        ),
    ] = None,
    project: ProjectOption = None,
) -> None:
    """Print the project's Prometheus metrics (text exposition format), write them to a
    file, or push them to a Pushgateway. Runs do this by themselves when lakegate.yaml
    sets metrics.textfile or metrics.pushgateway."""
    from prometheus_client import generate_latest

    from lakegate.config.project import load_project
    from lakegate.observe import metrics

    proj = load_project(project)
    if push is not None:
        try:
            metrics.push(proj, push)
        except OSError as exc:
            err.print(f"[bold red]error:[/] cannot push to {push}: {exc}")
            raise typer.Exit(1) from None
        typer.echo(f"pushed to {push} (job=lakegate, project={proj.name})")
        return
    if output is not None:
        typer.echo(str(metrics.write_textfile(proj, output)))
        return
    typer.echo(generate_latest(metrics.registry_for(proj)).decode("utf-8"), nl=False)
