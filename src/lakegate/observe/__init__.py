"""What a run tells the world: Prometheus metrics and OpenLineage events.

The runner calls every observer of the project at two points of a run that writes
(never for a dry run): :meth:`RunObserver.run_started` once the state store holds
the begun run, and :meth:`RunObserver.run_finished` once it holds the final record
(success, partial or failed). An observer that raises is logged and ignored: a
lineage server that is down never fails a load that succeeded.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from lakegate.checks.results import ValidationReport
    from lakegate.config.contract import Contract
    from lakegate.config.pipeline import Pipeline
    from lakegate.config.project import Project
    from lakegate.observe.orchestration import Orchestration
    from lakegate.state.records import RunRecord

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunContext:
    """A run as it starts.

    Attributes:
        project: The project (its name is the lineage namespace by default).
        pipeline: The pipeline (its name is the job's name).
        contract: The pipeline's data contract, or None.
        run_id: The run's id (a ``replay-`` prefix for a dead-letter replay).
        started_at: When the run started (aware UTC).
        orchestration: The orchestrator's run it belongs to (nominal time, parent run;
            :mod:`lakegate.observe.orchestration`), or None to read the environment.
        engine: What runs the queries (``Engine.describe``: ``name``, ``version``; for
            Spark the application's ``master``, ``appName`` and ``appId``), or empty.
    """

    project: Project
    pipeline: Pipeline
    contract: Contract | None
    run_id: str
    started_at: dt.datetime
    orchestration: Orchestration | None = None
    engine: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RunOutcome:
    """A run as it ended.

    Attributes:
        record: The final run record (status, counts, error message).
        pre_load: The pre-load gate's report on the batch, or None when it did not run.
        post_load: The post-load gate's report on the target, or None.
        source_columns: The extract's columns ``[(name, DuckDB type), ...]``, or None
            when the run never extracted (a replay, an early failure).
        target_columns: The loaded columns ``[(name, DuckDB type), ...]`` (the batch as
            cast to the contract), or None when the run stopped before the load.
        committed_version: The Delta table version the load committed, or None when
            nothing was committed.
        source_files: The files the extract read (absolute paths), empty when it read
            no files (a SQL or REST source, a replay, nothing new).
    """

    record: RunRecord
    pre_load: ValidationReport | None = None
    post_load: ValidationReport | None = None
    source_columns: Sequence[tuple[str, str]] | None = None
    target_columns: Sequence[tuple[str, str]] | None = None
    committed_version: int | None = None
    source_files: Sequence[str] = ()

    @property
    def reports(self) -> list[ValidationReport]:
        """The gate reports that ran, pre-load first."""
        return [r for r in (self.pre_load, self.post_load) if r is not None]


class RunObserver(Protocol):
    """Something told about every run that writes (see the module docstring)."""

    def run_started(self, run: RunContext) -> None: ...

    def run_finished(self, run: RunContext, outcome: RunOutcome) -> None: ...


def project_observers(project: Project) -> list[RunObserver]:
    """The observers ``lakegate.yaml`` configures: metrics (``metrics:``: a textfile,
    a Pushgateway) and lineage (``lineage:``, unless its transport is ``none``)."""
    from lakegate.observe.metrics import MetricsObserver

    found: list[RunObserver] = []
    if project.metrics.textfile or project.metrics.pushgateway:
        found.append(MetricsObserver(project))
    if project.lineage.transport != "none":
        try:
            from lakegate.observe.lineage import LineageObserver
        except ImportError:  # pragma: no cover - the lineage module is part of lakegate
            log.warning("lineage is configured but lakegate.observe.lineage is missing")
        else:
            found.append(LineageObserver(project))
    return found


def notify(observers: Sequence[RunObserver], event: str, *args: Any) -> None:
    """Call ``observer.<event>(*args)`` on each observer; log and skip any failure."""
    for observer in observers:
        try:
            getattr(observer, event)(*args)
        except Exception as exc:  # an observer never fails the run
            log.warning("%s.%s failed: %s", type(observer).__name__, event, exc)
