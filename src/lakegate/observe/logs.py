"""Application logs: text for people, JSON lines for log pipelines.

Every record logged while a run is in progress carries the run's id and pipeline
(``run_id``, ``pipeline``): the correlation id that ties an application log line to
the run log, the metrics and the lineage events of the same run. The runner sets
them with :func:`run_scope`; :func:`configure` installs the handler.

``lakegate --log-format json --log-level info run ...`` (or ``LAKEGATE_LOG_FORMAT`` and
``LAKEGATE_LOG_LEVEL``) writes one JSON object per line to stderr::

    {"time": "2026-11-21T22:30:01.123+00:00", "level": "INFO", "logger": "lakegate.runner",
     "message": "step load", "run_id": "20261121T223000-1a2b3c4d", "pipeline": "flights"}
"""

from __future__ import annotations

import contextvars
import datetime as dt
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Literal

from pythonjsonlogger.json import JsonFormatter

_RUN: contextvars.ContextVar[tuple[str, str] | None] = contextvars.ContextVar(
    "lakegate_run", default=None
)
_HANDLER_NAME = "lakegate"
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s%(run_tag)s: %(message)s"


@contextmanager
def run_scope(run_id: str, pipeline: str) -> Iterator[None]:
    """Tag every log record emitted inside the block with ``run_id`` and ``pipeline``."""
    token = _RUN.set((run_id, pipeline))
    try:
        yield
    finally:
        _RUN.reset(token)


class RunContextFilter(logging.Filter):
    """Adds ``run_id`` and ``pipeline`` (None outside a run) and ``run_tag`` (text form)."""

    def filter(self, record: logging.LogRecord) -> bool:
        current = _RUN.get()
        record.run_id, record.pipeline = current if current else (None, None)
        record.run_tag = f" [{current[1]} {current[0]}]" if current else ""
        return True


class _JsonFormatter(JsonFormatter):
    """ISO-8601 UTC times; ``run_id``/``pipeline`` only when set."""

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        at = dt.datetime.fromtimestamp(record.created, dt.UTC)
        return at.isoformat(timespec="milliseconds")

    def process_log_record(self, log_data: dict[str, object]) -> dict[str, object]:
        log_data.pop("run_tag", None)
        for key in ("run_id", "pipeline"):
            if log_data.get(key) is None:
                log_data.pop(key, None)
        return log_data


def logs_json() -> bool:
    """True when :func:`configure` installed JSON logs (progress output then stays off)."""
    root = logging.getLogger("lakegate")
    return any(
        h.get_name() == _HANDLER_NAME and isinstance(h.formatter, JsonFormatter)
        for h in root.handlers
    )


def configure(
    format: Literal["text", "json"] = "text", level: str | int = logging.WARNING
) -> logging.Handler:
    """Send lakegate's logs (the ``lakegate`` logger tree) to stderr.

    Calling it again replaces the handler it installed before.

    Args:
        format: ``text`` (a line for people) or ``json`` (one JSON object per line:
            time, level, logger, message, and run_id/pipeline inside a run).
        level: A logging level, as a name (``info``) or a number.

    Returns:
        The installed handler.

    Raises:
        ValueError: An unknown format or level.
    """
    if format not in ("text", "json"):
        raise ValueError(f"log format must be text or json, not {format!r}")
    number = logging.getLevelName(level.upper()) if isinstance(level, str) else level
    if not isinstance(number, int):
        raise ValueError(f"unknown log level {level!r}; use debug, info, warning or error")
    handler = logging.StreamHandler(sys.stderr)
    handler.set_name(_HANDLER_NAME)
    handler.addFilter(RunContextFilter())
    if format == "json":
        handler.setFormatter(
            _JsonFormatter(
                "{asctime}{levelname}{name}{message}{run_id}{pipeline}",
                style="{",
                rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
                json_ensure_ascii=False,
            )
        )
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger("lakegate")
    for old in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(number)
    root.propagate = False
    return handler
