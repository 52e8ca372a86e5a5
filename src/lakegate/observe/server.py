"""``lakegate serve``: the project's metrics and recent runs over HTTP.

Routes (all read the state store on every request, so they are always current):

* ``/metrics``: the Prometheus text exposition (see :mod:`lakegate.observe.metrics`);
* ``/api/runs``: the recent runs as JSON (``?limit=N``, 1 to 1000, default 50); a bad
  ``limit`` is a 400 whose JSON body says why (``{"error": "..."}``);
* ``/healthz``: ``ok`` while the state store answers;
* ``/openlineage/1-0-0/LakegateRunFacet.json``: the JSON schema of lakegate's custom
  OpenLineage facet (:mod:`lakegate.observe.lineage_facets`), as shipped in the package;
* ``/``: a page listing each pipeline's recent runs, for people.

When the state store cannot be read the answer is a 503 with lakegate's message (never
a Python traceback); any other failure is a 500 that says to read the server's log.

A WSGI application served by the standard library's ``wsgiref`` in a thread per
request (prometheus-client's own server class). Bind to 127.0.0.1 unless the
network in front of it is trusted: the pages show pipeline names and errors.
"""

from __future__ import annotations

import html
import json
import logging
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import make_wsgi_app
from prometheus_client.exposition import ThreadingWSGIServer

from lakegate.checks.results import to_jsonable
from lakegate.errors import LakegateError
from lakegate.observe.metrics import registry_for

if TYPE_CHECKING:
    from lakegate.config.project import Project

log = logging.getLogger(__name__)

StartResponse = Callable[..., Any]
JSON = "application/json; charset=utf-8"
MAX_RUNS = 1000  # the most runs /api/runs answers with
SCHEMAS = {"/openlineage/1-0-0/LakegateRunFacet.json": "schemas/1-0-0/LakegateRunFacet.json"}


class BadRequest(Exception):
    """A request the server cannot answer as asked; the message says why."""


def create_app(project: Project) -> Callable[[dict[str, Any], StartResponse], Iterable[bytes]]:
    """The WSGI application serving ``project`` (see the module docstring)."""
    metrics = make_wsgi_app(registry_for(project))

    def app(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "/")
        if path == "/metrics":
            return metrics(environ, start_response)
        try:
            if path == "/api/runs":
                limit = run_limit(parse_qs(environ.get("QUERY_STRING", "")).get("limit"))
                body = json.dumps(to_jsonable([r.to_dict() for r in _runs(project, limit)]))
                return _respond(start_response, "200 OK", JSON, body)
            if path == "/healthz":
                _runs(project, 1)
                return _respond(start_response, "200 OK", "text/plain; charset=utf-8", "ok\n")
            if path in SCHEMAS:
                from lakegate.observe.lineage_facets import facet_schema

                body = json.dumps(facet_schema(SCHEMAS[path]), indent=2)
                return _respond(start_response, "200 OK", "application/schema+json", body)
            if path == "/":
                page = _page(project, _runs(project, 200))
                return _respond(start_response, "200 OK", "text/html; charset=utf-8", page)
        except BadRequest as exc:
            body = json.dumps({"error": str(exc)})
            return _respond(start_response, "400 Bad Request", JSON, body)
        except LakegateError as exc:  # the state store is down: say so, keep serving
            log.warning("serve %s failed: %s", path, exc)
            return _respond(start_response, "503 Service Unavailable", "text/plain", f"{exc}\n")
        except Exception:
            log.exception("serve %s failed", path)
            text = "internal error: the server's log has the details\n"
            return _respond(start_response, "500 Internal Server Error", "text/plain", text)
        return _respond(start_response, "404 Not Found", "text/plain", f"no page {path}\n")

    return app


def make_metrics_server(project: Project, host: str = "127.0.0.1", port: int = 9108) -> WSGIServer:
    """A server for ``project`` bound to ``host:port`` (port 0: any free port; read the
    bound one from ``server.server_port``). Call ``serve_forever()`` on it.

    Raises:
        OSError: The address is taken or cannot be bound.
    """
    return make_server(
        host, port, create_app(project), ThreadingWSGIServer, handler_class=_QuietHandler
    )


class _QuietHandler(WSGIRequestHandler):
    """Request lines go to the ``lakegate`` logger (debug), not to stderr."""

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)


def _respond(start_response: StartResponse, status: str, kind: str, body: str) -> list[bytes]:
    data = body.encode("utf-8")
    start_response(status, [("Content-Type", kind), ("Content-Length", str(len(data)))])
    return [data]


def run_limit(values: list[str] | None, default: int = 50) -> int:
    """The ``limit`` of ``/api/runs``: how many of the newest runs to answer with.

    Args:
        values: The query string's ``limit`` values (the first counts), or None.
        default: The limit when none is given.

    Raises:
        BadRequest: Not a whole number from 1 to :data:`MAX_RUNS`.
    """
    if not values:
        return default
    text = values[0].strip()
    limit = int(text) if text.isascii() and text.isdigit() else 0
    if not 1 <= limit <= MAX_RUNS:
        raise BadRequest(f"limit must be a whole number of runs from 1 to {MAX_RUNS}, not {text!r}")
    return limit


def _runs(project: Project, limit: int) -> list[Any]:
    from lakegate.state.store import StateStore

    with StateStore(project.state_url) as state:
        return state.runs(limit=limit)


def _page(project: Project, runs: list[Any]) -> str:
    """The runs of each pipeline, newest first, as one small HTML page."""
    rows = []
    for r in runs:
        cells = [
            r.started_at.strftime("%Y-%m-%d %H:%M:%S"),
            r.pipeline_name,
            r.target or "",
            r.status,
            f"{r.rows_extracted:,}",
            f"{r.rows_loaded:,}",
            f"{r.rows_rejected:,}",
            "" if r.quality_score is None else f"{r.quality_score:.1f}",
            "" if r.duration_seconds is None else f"{r.duration_seconds:.1f}",
            r.error_message or "",
        ]
        tds = "".join(f"<td>{html.escape(c)}</td>" for c in cells)
        rows.append(f'<tr class="{html.escape(r.status)}">{tds}</tr>')
    head = "".join(
        f"<th>{h}</th>"
        for h in (
            "started (UTC)",
            "pipeline",
            "table",
            "status",
            "extracted",
            "loaded",
            "rejected",
            "quality",
            "seconds",
            "error",
        )
    )
    name = html.escape(project.name)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>lakegate: {name}</title>
<style>
body {{ font: 14px system-ui, sans-serif; margin: 2em; }}
table {{ border-collapse: collapse; }} td, th {{ padding: 4px 10px; text-align: left; }}
tr:nth-child(even) {{ background: #f4f4f4; }} .failed td {{ color: #b00020; }}
.partial td {{ color: #8a6d00; }}
</style></head><body>
<h1>{name}</h1>
<p><a href="/metrics">/metrics</a> · <a href="/api/runs">/api/runs</a></p>
<table><thead><tr>{head}</tr></thead><tbody>
{chr(10).join(rows) or '<tr><td colspan="10">no runs yet</td></tr>'}
</tbody></table></body></html>
"""
