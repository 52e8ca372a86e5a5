"""What the code ``lakegate generate`` writes asks lakegate while it runs.

An orchestrator orders only the tasks of one DAG run (Airflow), flow run (Prefect) or
job run (Dagster). A pipeline whose upstream pipeline is scheduled in another DAG, flow
or job would run even when that upstream failed earlier: :func:`check_upstream` is the
rule ``lakegate run --all`` applies (:mod:`lakegate.project_run`: a pipeline
downstream of a failed one is skipped), read from the state store instead, so every
generated task asks it before it runs and is skipped (Airflow's
``AirflowSkipException``, a ``Skipped`` state in Prefect, no materialization in Dagster)
when it says no. :func:`table_row_count` gives Dagster's ``dagster/row_count``: the
rows of the table, not of the run's batch.

Only the state store and the Delta log are read; nothing here runs a pipeline.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from lakegate.state.records import RunRecord

# Statuses of a run that loaded: the pipelines downstream may read its table.
LOADED = frozenset({"success", "partial"})


@dataclass(frozen=True)
class BlockedUpstream:
    """An upstream pipeline whose newest run did not load.

    Attributes:
        pipeline: The upstream pipeline's name.
        run: Its newest run (``failed``, or still ``running``), or None when it never ran.
    """

    pipeline: str
    run: RunRecord | None

    @property
    def reason(self) -> str:
        """Why it blocks, in one line (``upstream 'airlines' run X failed in ...: ...``)."""
        run = self.run
        if run is None:
            return f"upstream {self.pipeline!r} has not run yet: its table is not loaded"
        started = run.started_at.isoformat(timespec="seconds")
        if run.status == "running":
            return (
                f"upstream {self.pipeline!r} run {run.run_id} (started {started}) has not "
                "finished: it is still running, or its process died"
            )
        return (
            f"upstream {self.pipeline!r} run {run.run_id} (started {started}) {run.status} "
            f"in {run.stage}: {run.error_message or 'no message'}"
        )


@dataclass(frozen=True)
class UpstreamCheck:
    """Whether a pipeline may run now, judged by its upstream pipelines' newest runs.

    Attributes:
        pipeline: The pipeline asking.
        blocked: The upstream pipelines whose newest run did not load, in the order asked.
    """

    pipeline: str
    blocked: tuple[BlockedUpstream, ...]

    @property
    def ok(self) -> bool:
        """True when every upstream pipeline's newest run loaded (success or partial)."""
        return not self.blocked

    @property
    def reason(self) -> str | None:
        """Why the pipeline must not run (every blocking upstream, ``; ``-separated), or
        None when it may."""
        if not self.blocked:
            return None
        why = "; ".join(b.reason for b in self.blocked)
        return f"pipeline {self.pipeline!r} not run: {why}"


def check_upstream(
    pipeline: str, upstream: Iterable[str], *, project: str | Path = "."
) -> UpstreamCheck:
    """Whether ``pipeline`` may run: every pipeline it depends on loaded in its newest run.

    ``lakegate run --all`` skips a pipeline when a pipeline upstream of it failed in the
    same project run. A generated DAG, flow or job holds only the pipelines of one
    schedule, so this asks the state store instead: the newest run (by start time) of
    each upstream pipeline must be ``success`` or ``partial``. A ``failed`` one blocks,
    and so does a run still ``running`` (it may be loading now, or its process died and
    the run was not closed yet) and a pipeline that never ran (its table does not
    exist). A pipeline skipped because of its own upstream records no run: pass every
    pipeline upstream of ``pipeline``, direct or not (``ProjectGraph.upstream_of``), so
    that a failure two steps up blocks too.

    Args:
        pipeline: The pipeline about to run (named in :attr:`UpstreamCheck.reason`).
        upstream: The names of the pipelines it depends on, directly or not.
        project: The project folder (holding ``lakegate.yaml``) or that file.

    Returns:
        The verdict; ``ok`` when ``upstream`` is empty.

    Raises:
        ConfigError: The project file does not load.
        StateStoreError: The state database cannot be read.
    """
    from lakegate.config.project import load_project
    from lakegate.state.store import StateStore

    names = list(dict.fromkeys(upstream))
    if not names:
        return UpstreamCheck(pipeline, ())
    blocked = []
    with StateStore(load_project(project).state_url) as store:
        for name in names:
            newest = store.runs(name, limit=1)
            run = newest[0] if newest else None
            if run is None or run.status not in LOADED:
                blocked.append(BlockedUpstream(name, run))
    return UpstreamCheck(pipeline, tuple(blocked))


def table_row_count(table: str, *, project: str | Path = ".") -> int | None:
    """The rows of the lake table ``table`` now, from its Delta log (the add actions'
    ``num_records``; no data file is read).

    Args:
        table: The table's name in the lake (a pipeline's ``load.target``).
        project: The project folder (holding ``lakegate.yaml``) or that file.

    Returns:
        The row count, or None when a data file was written without statistics.

    Raises:
        ConfigError: The project file does not load.
        InputDataError: There is no readable Delta table ``table`` in the lake.
    """
    from lakegate.config.project import load_project
    from lakegate.sinks.maintenance import describe_table

    return describe_table(load_project(project).table_uri(table), label=table).rows


__all__ = ["BlockedUpstream", "UpstreamCheck", "check_upstream", "table_row_count"]
