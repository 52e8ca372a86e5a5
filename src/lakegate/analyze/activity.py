"""When each lake table was last written and last read, from the run history.

A table is *written* by the runs of the pipeline whose ``load.target`` it is (and by
runs whose record names it as their target, for pipelines no longer configured); a
loaded run (``success`` or ``partial``) writes it when it completes. A table is *read*
by every run of a pipeline whose stages or checks read ``lake.<table>`` (see
:func:`lakegate.graph.pipeline_reads`), when the run starts, whatever its outcome.
The Delta log adds what the run history cannot see: the time of the table's last
commit that changed data (a write outside lakegate counts; OPTIMIZE and VACUUM do
not). Nothing in the lake records ad-hoc reads, so "not read" means "not read by a
pipeline".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lakegate.errors import ConfigError

# Commits that rewrite or delete files without changing the table's data.
MAINTENANCE_OPERATIONS = frozenset({"OPTIMIZE", "VACUUM START", "VACUUM END"})
# Commits read from the log, newest first, to find the last data change.
HISTORY_COMMITS = 100
LOADED = ("success", "partial")


@dataclass(frozen=True)
class TableActivity:
    """How recently a table was used.

    Attributes:
        table: The table.
        last_written: Newest of: a loaded run that wrote it (completion time) and its
            last data-changing Delta commit (UTC); None when neither is known.
        last_read: When the newest run of a pipeline reading it started (UTC), or None.
        reads_last_30_days: Runs of pipelines reading it in the 30 days before ``now``.
        writers: Pipelines writing it.
        readers: Pipelines reading it.
    """

    table: str
    last_written: dt.datetime | None = None
    last_read: dt.datetime | None = None
    reads_last_30_days: int = 0
    writers: tuple[str, ...] = ()
    readers: tuple[str, ...] = ()

    @property
    def last_used(self) -> dt.datetime | None:
        """The newest of :attr:`last_written` and :attr:`last_read`."""
        known = [t for t in (self.last_written, self.last_read) if t is not None]
        return max(known) if known else None


def run_activity(
    project: Any,
    now: dt.datetime,
    on_error: Callable[[Path, ConfigError], None] | None = None,
) -> dict[str, TableActivity]:
    """``{table: activity}`` from the run history alone, for every table a pipeline of
    the project writes or reads, or a recorded run wrote.

    Args:
        project: The :class:`~lakegate.config.project.Project`.
        now: Runs that started later are ignored (aware UTC).
        on_error: Called with a pipeline file (or its stage SQL or contract) that does
            not load; the pipeline is then left out (default: logged).

    Raises:
        StateStoreError: The state store cannot be read.
    """
    from lakegate.graph import pipeline_reads
    from lakegate.observe.monitor import configured_pipelines

    pipelines = configured_pipelines(project, on_error)
    writes = {p.name: p.load.target for p in pipelines}
    reads: dict[str, set[str]] = {}
    for pipeline in pipelines:
        try:
            reads[pipeline.name] = pipeline_reads(project, pipeline)
        except ConfigError as exc:
            if on_error is not None and pipeline.path is not None:
                on_error(pipeline.path, exc)
            reads[pipeline.name] = set()
    found: dict[str, _Use] = {}
    for name, target in writes.items():
        found.setdefault(target, _Use()).writers.add(name)
    for name, tables in reads.items():
        for table in tables:
            found.setdefault(table, _Use()).readers.add(name)
    month_ago = now - dt.timedelta(days=30)
    for run in _runs(project, now, set(writes)):
        target = writes.get(run.pipeline_name) or run.target
        if target and run.status in LOADED:
            use = found.setdefault(target, _Use())
            use.writers.add(run.pipeline_name)
            use.written = _newest(use.written, run.completed_at or run.started_at)
        for table in reads.get(run.pipeline_name, ()):
            use = found.setdefault(table, _Use())
            use.read = _newest(use.read, run.started_at)
            use.reads += run.started_at >= month_ago
    return {
        table: TableActivity(
            table=table,
            last_written=use.written,
            last_read=use.read,
            reads_last_30_days=use.reads,
            writers=tuple(sorted(use.writers)),
            readers=tuple(sorted(use.readers)),
        )
        for table, use in found.items()
    }


@dataclass
class _Use:
    """What :func:`run_activity` has gathered of one table so far."""

    written: dt.datetime | None = None
    read: dt.datetime | None = None
    reads: int = 0
    writers: set[str] = field(default_factory=set)
    readers: set[str] = field(default_factory=set)


def last_data_commit(uri: str, label: str, now: dt.datetime) -> dt.datetime | None:
    """When the table's data last changed, from its Delta log: the newest commit at or
    before ``now`` that is not OPTIMIZE or VACUUM among the newest
    :data:`HISTORY_COMMITS`; when all of those are maintenance, the oldest of them
    (the last data change was no later, so the table looks no older than it is).

    Raises:
        InputDataError: No readable Delta table at ``uri``.
    """
    from lakegate.sinks.maintenance import table_history

    commits = [
        c
        for c in table_history(uri, limit=HISTORY_COMMITS, label=label)
        if c.timestamp is not None and c.timestamp <= now
    ]
    for commit in commits:
        if commit.operation not in MAINTENANCE_OPERATIONS:
            return commit.timestamp
    return commits[-1].timestamp if commits else None


def _runs(project: Any, now: dt.datetime, configured: set[str]) -> list[Any]:
    """Every recorded run that started at or before ``now`` (none when the project has
    no state database yet: it is not created just to be read)."""
    from lakegate.observe.monitor import history
    from lakegate.state.store import StateStore

    url = project.state_url
    prefix = "sqlite:///"
    if url.startswith(prefix) and not Path(url[len(prefix) :]).exists():
        return []
    with StateStore(url) as state:
        names = sorted(configured | set(state.pipelines()))
        return [run for name in names for run in history(state, name, now)]


def _newest(a: dt.datetime | None, b: dt.datetime | None) -> dt.datetime | None:
    return b if a is None else a if b is None else max(a, b)
