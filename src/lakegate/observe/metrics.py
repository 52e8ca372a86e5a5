"""Prometheus metrics, read from the state store.

lakegate runs are short processes, so its metrics are not counters kept in memory:
they are a view of the run history in the state store, computed when they are
collected. The same :class:`StateCollector` feeds the three outputs:

* a node-exporter textfile (``metrics.textfile`` in ``lakegate.yaml``), rewritten
  atomically after every run;
* a Pushgateway (``metrics.pushgateway``), pushed after every run (the group
  ``job="lakegate", project=<name>`` is replaced);
* ``lakegate serve``, which serves ``/metrics`` and collects on every scrape.

Counters count every finished run in the history, so they only grow (until the
history is pruned). The metric names are the seeds' (DESIGN.md "Metrics"), plus
the ones lakegate adds; :data:`METRICS` lists every family with its labels. Every
duration is in seconds, as Prometheus' conventions (and ``promtool check metrics``)
want: the seeds' ``data_freshness_hours`` is ``data_freshness_seconds`` here, and
``lakegate alerts export`` writes a recording rule of that name for dashboards that use
it. Freshness is the age of the table's newest data (:mod:`lakegate.observe.freshness`),
not the time since its last load, which is ``data_last_load_age_seconds``.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, push_to_gateway, write_to_textfile
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from lakegate import __version__

if TYPE_CHECKING:
    from lakegate.config.project import Project
    from lakegate.observe import RunContext, RunOutcome

log = logging.getLogger(__name__)

# Run durations, in seconds: the seeds' buckets (1 minute to 2 hours) and shorter ones.
DURATION_BUCKETS: tuple[float, ...] = (1, 5, 10, 30, 60, 300, 600, 1800, 3600, 7200)

# Every metric family lakegate exports: name -> (type, labels, help). A Prometheus
# counter ``x_total`` is exposed as ``x_total`` (and the family is named ``x``).
METRICS: dict[str, tuple[str, tuple[str, ...], str]] = {
    "pipeline_runs_total": (
        "counter",
        ("pipeline_name", "status"),
        "Finished pipeline runs by status (success, partial, failed).",
    ),
    "pipeline_duration_seconds": (
        "histogram",
        ("pipeline_name",),
        "Wall time of pipeline runs, in seconds.",
    ),
    "rows_processed_total": (
        "counter",
        ("pipeline_name", "table_name"),
        "Rows loaded into the target table.",
    ),
    "rows_rejected_total": (
        "counter",
        ("pipeline_name", "table_name"),
        "Rows quarantined in the dead-letter table.",
    ),
    "quality_checks_total": (
        "counter",
        ("pipeline_name", "table_name", "status"),
        "Quality checks evaluated by the gates, by status (passed, failed).",
    ),
    "data_freshness_seconds": (
        "gauge",
        ("table_name",),
        "Age of the newest data the table holds at collection, in seconds (its freshness "
        "column's newest value, else the newest source file's modification time).",
    ),
    "data_newest_timestamp_seconds": (
        "gauge",
        ("table_name",),
        "When the newest data the table holds is from, Unix seconds.",
    ),
    "data_last_load_age_seconds": (
        "gauge",
        ("table_name",),
        "Seconds from the table's last successful (or partial) load to collection.",
    ),
    "data_quality_score": (
        "gauge",
        ("table_name", "check_type"),
        "Share of the last gated run's checks that passed, by check type (0-1); "
        'check_type="all" is the batch\'s quality score / 100.',
    ),
    "pipeline_last_success_timestamp_seconds": (
        "gauge",
        ("pipeline_name",),
        "When the pipeline's last successful (or partial) run completed, Unix seconds.",
    ),
    "pipeline_last_duration_seconds": (
        "gauge",
        ("pipeline_name",),
        "Wall time of the pipeline's last finished run, in seconds.",
    ),
    "pipeline_last_rows_loaded": (
        "gauge",
        ("pipeline_name", "table_name"),
        "Rows the pipeline's last successful (or partial) run loaded.",
    ),
    "pipeline_sla_seconds": (
        "gauge",
        ("pipeline_name",),
        "The pipeline's sla_minutes, in seconds (pipelines that set one).",
    ),
    "lakegate_info": ("gauge", ("version", "project"), "lakegate's version; always 1."),
}


def exposed_names() -> set[str]:
    """Every sample name lakegate exposes (``_bucket``, ``_count``, ``_sum`` for histograms)."""
    names: set[str] = set()
    for name, (kind, _, _) in METRICS.items():
        if kind == "histogram":
            names |= {f"{name}_bucket", f"{name}_count", f"{name}_sum"}
        else:
            names.add(name)
    return names


class StateCollector(Collector):
    """Collects lakegate's metrics from a project's state store on every ``collect()``.

    Args:
        project: The project (its state store, and its pipelines for SLAs).
        now: The reference time for freshness, or None for the clock at collection.
    """

    def __init__(self, project: Project, now: dt.datetime | None = None) -> None:
        self.project = project
        self.now = now

    def describe(self) -> list[Metric]:
        return []  # collected lazily: never read the state store at registration

    def collect(self) -> Iterator[Metric]:
        from lakegate.state.store import StateStore

        now = self.now or dt.datetime.now(dt.UTC)
        with StateStore(self.project.state_url) as state:
            totals = state.run_totals()
            durations = state.run_durations()
            latest = {name: state.runs(name, limit=25) for name in state.pipelines()}
            checks = {
                name: state.check_results(gated.run_id)
                for name, runs in latest.items()
                if (gated := _last_gated(runs)) is not None
            }
        yield from _run_counters(totals)
        yield _duration_histogram(durations)
        yield from _latest_gauges(latest, checks, now)
        yield self._sla_gauge()
        info = _gauge("lakegate_info")
        info.add_metric([__version__, self.project.name], 1)
        yield info

    def _sla_gauge(self) -> GaugeMetricFamily:
        from lakegate.config.pipeline import project_pipelines

        sla = _gauge("pipeline_sla_seconds")
        skipped = lambda path, exc: log.debug("metrics: skipped %s: %s", path, exc)  # noqa: E731
        for pipeline in project_pipelines(self.project, on_error=skipped):
            if pipeline.pipeline.sla_minutes:
                sla.add_metric([pipeline.name], pipeline.pipeline.sla_minutes * 60)
        return sla


def registry_for(project: Project, now: dt.datetime | None = None) -> CollectorRegistry:
    """A registry holding only lakegate's :class:`StateCollector` (no process metrics)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StateCollector(project, now))
    return registry


def write_textfile(project: Project, path: str | Path | None = None) -> Path:
    """Write the metrics in the text exposition format, atomically (a temporary file
    renamed over ``path``), for node-exporter's textfile collector.

    Args:
        project: The project.
        path: Where to write; default ``metrics.textfile`` of ``lakegate.yaml``.

    Returns:
        The file written.

    Raises:
        ValueError: No path given and the project configures no textfile.
    """
    target = path if path is not None else project.metrics.textfile
    if target is None:
        raise ValueError("no metrics textfile: set metrics.textfile in lakegate.yaml")
    out = project.path(str(target))
    out.parent.mkdir(parents=True, exist_ok=True)
    write_to_textfile(str(out), registry_for(project))
    return out


def push(project: Project, gateway: str | None = None, timeout: float = 10) -> None:
    """Push the metrics to a Pushgateway, replacing the group ``job="lakegate",
    project=<name>``.

    Args:
        project: The project.
        gateway: The Pushgateway's URL (``http://host:9091``); default
            ``metrics.pushgateway`` of ``lakegate.yaml``.
        timeout: Seconds to wait for the gateway.

    Raises:
        ValueError: No gateway given or configured.
        OSError: The gateway cannot be reached or refuses the push.
    """
    url = gateway or project.metrics.pushgateway
    if not url:
        raise ValueError("no Pushgateway: set metrics.pushgateway in lakegate.yaml")
    push_to_gateway(
        url,
        job="lakegate",
        grouping_key={"project": project.name},
        registry=registry_for(project),
        timeout=timeout,
    )


class MetricsObserver:
    """Rewrites the textfile and pushes to the Pushgateway after every run."""

    def __init__(self, project: Project) -> None:
        self.project = project

    def run_started(self, run: RunContext) -> None:
        return None  # the history changes when the run ends

    def run_finished(self, run: RunContext, outcome: RunOutcome) -> None:
        if self.project.metrics.textfile:
            write_textfile(self.project)
        if self.project.metrics.pushgateway:
            push(self.project)


# ---------------------------------------------------------------------- families


def _gauge(name: str) -> GaugeMetricFamily:
    kind, labels, text = METRICS[name]
    assert kind == "gauge", name
    return GaugeMetricFamily(name, text, labels=list(labels))


def _counter(name: str) -> CounterMetricFamily:
    kind, labels, text = METRICS[name]
    assert kind == "counter", name
    return CounterMetricFamily(name.removesuffix("_total"), text, labels=list(labels))


def _run_counters(totals: list[Any]) -> Iterator[Metric]:
    runs, loaded, rejected, checks = (
        _counter(n)
        for n in (
            "pipeline_runs_total",
            "rows_processed_total",
            "rows_rejected_total",
            "quality_checks_total",
        )
    )
    by_status: dict[tuple[str, str], int] = defaultdict(int)
    by_table: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for t in totals:
        by_status[(t.pipeline, t.status)] += t.runs
        sums = by_table[(t.pipeline, t.target or "")]
        sums[0] += t.rows_loaded
        sums[1] += t.rows_rejected
        sums[2] += t.checks_passed
        sums[3] += t.checks_failed
    for (pipeline, status), n in sorted(by_status.items()):
        runs.add_metric([pipeline, status], n)
    for (pipeline, table), (rows, rejects, passed, failed) in sorted(by_table.items()):
        loaded.add_metric([pipeline, table], rows)
        rejected.add_metric([pipeline, table], rejects)
        checks.add_metric([pipeline, table, "passed"], passed)
        checks.add_metric([pipeline, table, "failed"], failed)
    yield from (runs, loaded, rejected, checks)


def _duration_histogram(durations: list[tuple[str, float]]) -> HistogramMetricFamily:
    _, labels, text = METRICS["pipeline_duration_seconds"]
    family = HistogramMetricFamily("pipeline_duration_seconds", text, labels=list(labels))
    per_pipeline: dict[str, list[float]] = defaultdict(list)
    for pipeline, seconds in durations:
        per_pipeline[pipeline].append(seconds)
    for pipeline, values in sorted(per_pipeline.items()):
        buckets = [(_le(b), sum(v <= b for v in values)) for b in DURATION_BUCKETS]
        buckets.append(("+Inf", len(values)))
        family.add_metric([pipeline], buckets, sum(values))
    return family


def _le(bound: float) -> str:
    return str(float(bound))


def _last_gated(runs: list[Any]) -> Any:
    """The newest finished run that evaluated checks."""
    return next(
        (
            r
            for r in runs
            if r.status != "running" and (r.quality_checks_passed or r.quality_checks_failed)
        ),
        None,
    )


def _latest_gauges(
    latest: dict[str, list[Any]], checks: dict[str, list[Any]], now: dt.datetime
) -> Iterator[Metric]:
    freshness = _gauge("data_freshness_seconds")
    newest_data = _gauge("data_newest_timestamp_seconds")
    load_age = _gauge("data_last_load_age_seconds")
    score = _gauge("data_quality_score")
    last_success = _gauge("pipeline_last_success_timestamp_seconds")
    last_duration = _gauge("pipeline_last_duration_seconds")
    last_rows = _gauge("pipeline_last_rows_loaded")
    loaded_by_table: dict[str, dt.datetime] = {}
    newest_by_table: dict[str, dt.datetime] = {}
    for pipeline, runs in sorted(latest.items()):
        finished = [r for r in runs if r.status != "running"]
        if finished and finished[0].duration_seconds is not None:
            last_duration.add_metric([pipeline], finished[0].duration_seconds)
        loaded = next((r for r in finished if r.status in ("success", "partial")), None)
        if loaded is not None and loaded.completed_at is not None:
            last_success.add_metric([pipeline], loaded.completed_at.timestamp())
            last_rows.add_metric([pipeline, loaded.target or ""], loaded.rows_loaded)
            _keep_newest(loaded_by_table, loaded.target or pipeline, loaded.completed_at)
        newest = next((r for r in finished if r.data_newest_at is not None), None)
        if newest is not None:
            _keep_newest(newest_by_table, newest.target or pipeline, newest.data_newest_at)
        gated = _last_gated(finished)
        if gated is None:
            continue
        table = gated.target or pipeline
        by_type: dict[str, list[bool]] = defaultdict(list)
        for result in checks.get(pipeline, ()):
            by_type[result.type].append(result.passed)
        for check_type, passed in sorted(by_type.items()):
            score.add_metric([table, check_type], sum(passed) / len(passed))
        if gated.quality_score is not None:
            score.add_metric([table, "all"], gated.quality_score / 100)
    for table, at in sorted(newest_by_table.items()):
        freshness.add_metric([table], max(0.0, (now - at).total_seconds()))
        newest_data.add_metric([table], at.timestamp())
    for table, at in sorted(loaded_by_table.items()):
        load_age.add_metric([table], max(0.0, (now - at).total_seconds()))
    yield from (freshness, newest_data, load_age, score, last_success, last_duration, last_rows)


def _keep_newest(by_table: dict[str, dt.datetime], table: str, at: dt.datetime) -> None:
    if table not in by_table or by_table[table] < at:
        by_table[table] = at
