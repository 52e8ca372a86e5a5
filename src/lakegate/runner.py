"""One pipeline run: extract -> transform -> gate -> load -> gate -> finish.

Guarantees (DESIGN.md invariants):

* **Nothing lost**: every row read is loaded, quarantined in the dead-letter table, or
  counted as deduplicated (an in-batch duplicate, or a row already loaded at the
  watermark's value and read again by the inclusive ``key >= watermark``, see
  :mod:`lakegate.boundary`): ``rows_extracted = rows_loaded + rows_rejected +
  rows_deduplicated`` when no stage filters rows.
* **Exactly once**: the load carries a Delta app transaction (``app_id`` =
  ``lakegate:<pipeline>``, ``version`` = the batch's load version) and the run
  record in its commit metadata. The state store's watermark is written after
  the Delta commit; a run that finds the table ahead of the state store (a
  crash in between) restores the state from the commit instead of loading again.
  A failing record is stored in the dead-letter table once: rejected again (a re-run,
  a re-run after a crash), its row is updated (:mod:`lakegate.sinks.deadletter`).
* **One writer**: a lock in the state store, kept alive by heartbeats; a second run
  fails fast. A run that takes over a dead run's stale lock closes that run's record
  as failed (its run log, metrics and lineage FAIL event with it).
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import signal
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import tenacity
from sqlglot import exp

from lakegate.checks.compile import Scope, engine_type
from lakegate.checks.conform import conform_checks, conform_types, declared_types
from lakegate.checks.evaluate import (
    FAILED_CHECKS_COLUMN,
    compile_all,
    evaluate_checks,
    row_failures_select,
)
from lakegate.checks.gate import decide, gate_checks, pre_load_checks
from lakegate.checks.model import Check, ColumnType, LogicalType
from lakegate.checks.results import ValidationReport, to_jsonable
from lakegate.config.contract import Contract, load_contract
from lakegate.config.pipeline import Pipeline, SqlSource
from lakegate.config.project import Project
from lakegate.contracts.compile import arrow_schema, column_type, contract_types
from lakegate.engines import project_engine
from lakegate.errors import DataError, InputDataError, LakegateError, UserInputError
from lakegate.observe import RunContext, RunOutcome, notify, project_observers
from lakegate.observe.freshness import (
    as_utc,
    batch_newest,
    freshness_column,
    recorded_newest,
    table_newest,
)
from lakegate.observe.logs import run_scope
from lakegate.observe.orchestration import Orchestration
from lakegate.reconcile import (
    CLOSED_AT,
    DELETED_KEYS,
    SOURCE_KEYS,
    deleted_keys_query,
    is_due,
    live_rows,
    reconcile_config,
    target_keys_count,
)
from lakegate.sinks import RUN_METADATA_KEY
from lakegate.sinks.deadletter import (
    dead_letter_uri,
    mark_replayed,
    needs_upgrade,
    pending_predicate,
    read_select,
    rejects_select,
    rewrite,
    settle_replays,
    upgrade_select,
    write_rejects,
)
from lakegate.sources.extract import ExtractPlan, literal, plan_extract
from lakegate.state.records import Boundary, LockInfo, RunRecord, RunStart
from lakegate.state.store import StateStore
from lakegate.transform import EXTRACT, bind_stage, lake_tables, lake_view, parse_stage

log = logging.getLogger(__name__)

BATCH = "__batch"
REPLAY_ID = "__lakegate_rejection_id"  # a replayed row's dead-letter id, in the batch
# Fault injection for the exactly-once tests: LAKEGATE_KILL_AT=<step> makes the run
# process SIGKILL itself when it reaches that step (see KILL_POINTS).
KILL_ENV = "LAKEGATE_KILL_AT"
KILL_POINTS = (
    "after_extract",
    "after_gate",
    "after_dead_letter",
    "after_delta_commit",
    "after_state_commit",
)
# The steps of a replay (``lakegate dlq replay``) it may die at.
REPLAY_KILL_POINTS = ("after_dead_letter_mark", "after_delta_commit", "after_state_commit")


@dataclass(frozen=True)
class RunOptions:
    """Options of one run.

    Attributes:
        run_date: The logical date (fills ``{run_date}`` in source paths).
        full_refresh: Ignore the watermark and loaded-file list; reload everything.
        dry_run: Extract, transform and gate, report; write nothing.
        now: The run's reference time (freshness, SCD2 validity); default now, UTC.
        replay: Re-gate and load the dead-letter rows instead of extracting (see
            :class:`Replay`).
        reconcile: Reconcile hard deletes on this run even when
            ``extract.source.reconcile.every_runs`` says it is not due.
        retries: Retry transient failures as ``error_handling`` says; False when the
            caller retries (an orchestrator), so a failure is not retried twice over.
        accept_schema_change: Load even when the source's columns changed in a breaking
            way since the last successful run (see :mod:`lakegate.contracts.drift`); the
            target's schema evolves and the new columns are registered.
        orchestration: The orchestrator's run this one belongs to (its nominal time and
            parent run, for lineage), or None to read them from the environment.
    """

    run_date: dt.date | None = None
    full_refresh: bool = False
    dry_run: bool = False
    now: dt.datetime | None = None
    replay: Replay | None = None
    reconcile: bool = False
    accept_schema_change: bool = False
    retries: bool = True
    orchestration: Orchestration | None = None


@dataclass(frozen=True)
class Replay:
    """A replay of quarantined rows instead of an extract (``lakegate dlq replay``).

    The pipeline's dead-letter rows (optionally of one run, or that failed one check)
    are rebuilt with their original types and go through the dedup, the pre-load gate
    of the current contract and the load, as a late batch. Rows that pass, and rows
    that lose to a later row of the same merge key, leave the dead-letter table, exactly
    once; rows that still fail stay. The watermark does not move. ``rows_rejected`` of
    a replay counts rows that stay quarantined.

    Attributes:
        run_id: Only rows quarantined by this run.
        check: Only rows that failed this check id.
    """

    run_id: str | None = None
    check: str | None = None


@dataclass(frozen=True)
class RunResult:
    """The outcome of a run: its record and the gate reports."""

    record: RunRecord
    pre_load: ValidationReport | None = None
    post_load: ValidationReport | None = None
    transient: bool = False
    step_seconds: dict[str, float] = field(default_factory=dict)
    input_error: bool = False

    @property
    def ok(self) -> bool:
        """True unless the run failed (a ``partial`` run loaded, with skipped rows)."""
        return self.record.status != "failed"

    @property
    def exit_code(self) -> int:
        """The CLI's exit code (README): 0 unless the run failed; 2 when it failed on the
        user's input (a :class:`~lakegate.errors.UserInputError` that is not transient:
        a missing source table or file, a bad query), else 1."""
        if self.ok:
            return 0
        return 2 if self.input_error else 1


def _ignore(*_: Any) -> None:
    return None


@dataclass(frozen=True)
class RunProgress:
    """What a run tells its caller while it goes; every callback is optional.

    Attributes:
        step: Called with each step's name as it starts (``extract``, ``transform``,
            ``gate``, ``dead-letter``, ``load``, ``post_load_gate``).
        engine: Called once with the run's engine; poll its ``progress()`` (percent of
            the running query, or -1) from another thread for a progress bar.
        rows: Called during the load with the rows handed to the sink so far and the
            rows the batch holds.
    """

    step: Callable[[str], None] = _ignore
    engine: Callable[[Any], None] = _ignore
    rows: Callable[[int, int], None] = _ignore


Progress = Callable[[str], None]


def app_id(pipeline: str) -> str:
    """The Delta app-transaction id of a pipeline's loads."""
    return f"lakegate:{pipeline}"


def run_pipeline(
    project: Project,
    pipeline: Pipeline,
    options: RunOptions | None = None,
    *,
    progress: RunProgress | Progress | None = None,
) -> RunResult:
    """Run ``pipeline`` once.

    Args:
        project: The project (lake, state store).
        pipeline: The pipeline to run.
        options: See :class:`RunOptions`.
        progress: A :class:`RunProgress`, or a callable given each step's name as it starts.

    Returns:
        The run's result; ``result.ok`` is False for a failed run (its record says why).

    Raises:
        ConfigError: The pipeline, its contract or its SQL is invalid.
        UserInputError: A stage uses DuckDB SQL the project's engine would run differently
            (:mod:`lakegate.engines.portability`); nothing is read or written.
        LockHeldError: Another run of this pipeline holds the lock.
    """
    options = options or RunOptions()
    now = options.now or dt.datetime.now(dt.UTC)
    reconcile = reconcile_config(pipeline)
    if options.reconcile and reconcile is None:
        raise pipeline.error(
            "--reconcile needs extract.source.reconcile (a SQL source with merge keys)",
            ("extract", "source"),
        )
    contract = load_contract(pipeline.resolve(pipeline.contract)) if pipeline.contract else None
    stages = [
        parse_stage(s.name, s.sql, pipeline.resolve, "duckdb") for s in pipeline.transform.stages
    ]
    from lakegate.engines.portability import refuse_unportable

    for stage in stages:  # stages are DuckDB SQL: another engine runs them the same, or none
        refuse_unportable(stage.query, project.engine, where=stage.origin)
    post_checks = gate_checks(pipeline, pipeline.quality_gates.post_load, "post_load")
    monitor = (
        progress if isinstance(progress, RunProgress) else RunProgress(step=progress or _ignore)
    )
    step = monitor.step
    handling = pipeline.error_handling
    state = StateStore(project.state_url)

    if options.replay is not None and pipeline.load.strategy in (
        "overwrite",
        "partition_overwrite",
    ):
        raise UserInputError(
            f"{pipeline.name}: its target is loaded with {pipeline.load.strategy}, so replayed "
            "rows would replace the table or its partitions; re-run the pipeline instead "
            "(lakegate run PIPELINE --run-date DATE), which re-gates those rows"
        )

    def attempt() -> RunResult:
        stamp = dt.datetime.now(dt.UTC)
        kind = "replay-" if options.replay is not None else ""
        run_id = f"{kind}{stamp:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
        run = _Run(
            project, pipeline, contract, stages, post_checks, state, options, now, run_id, monitor
        )
        if options.dry_run:
            return run.execute()
        with state.acquire_lock(pipeline.name, run_id) as lock, lock.kept_alive():
            run.taken_over = lock.taken_over
            return run.execute()

    # error_handling.strategy "retry": transient failures (a lost commit race, a network
    # error) run again with exponential backoff; anything else fails at once.
    retries = handling.max_retries if handling.strategy == "retry" and options.retries else 0
    retrying = tenacity.Retrying(
        stop=tenacity.stop_after_attempt(retries + 1),
        wait=tenacity.wait_exponential(
            multiplier=handling.retry_delay_seconds,
            max=max(handling.retry_delay_seconds, 1) * 2**retries,
        ),
        retry=tenacity.retry_if_result(lambda r: not r.ok and r.transient),
        retry_error_callback=lambda s: s.outcome.result() if s.outcome else None,
        before_sleep=lambda s: step(f"retry {s.attempt_number}/{retries} after a transient error"),
    )
    try:
        result: RunResult = retrying(attempt)
        return result
    finally:
        state.close()


class _Run:
    """The state of one run in progress (private: use :func:`run_pipeline`)."""

    def __init__(
        self,
        project: Project,
        pipeline: Pipeline,
        contract: Contract | None,
        stages: list[Any],
        post_checks: list[Check],
        state: StateStore,
        options: RunOptions,
        now: dt.datetime,
        run_id: str,
        monitor: RunProgress,
    ) -> None:
        self.project, self.pipeline, self.contract = project, pipeline, contract
        self.stages, self.post_checks, self.state = stages, post_checks, state
        self.options, self.now, self.run_id = options, now, run_id
        self.monitor = monitor
        self.step_seconds: dict[str, float] = {}
        self._current: tuple[str, float] | None = None
        self._begun = False  # the state store holds this run's begun record
        self._loaded_version: int | None = None  # the Delta load version committed, if any
        self._replaying = False  # dead-letter rows are marked: the load must commit
        self._source_schema: list[tuple[str, str]] | None = None  # the extract's columns
        self._reports: dict[str, ValidationReport] = {}  # "pre_load", "post_load"
        self._target_columns: list[tuple[str, str]] | None = None  # what the load wrote
        self.observers = [] if options.dry_run else project_observers(project)
        self.context = RunContext(
            project,
            pipeline,
            contract,
            run_id,
            dt.datetime.now(dt.UTC),
            orchestration=options.orchestration,
        )
        self.reconcile = reconcile_config(pipeline)
        self._reconciling = False  # this run read the source's keys (see lakegate.reconcile)
        self._reconcile_pending = False  # a recovered load's deletions may not have committed
        self._evolve_schema = False  # the source's columns changed and the target follows
        # The rows loaded at the watermark's value (lakegate.boundary): what the stored
        # watermark came with (dropped when read again), and what to store with the new one.
        self._read_boundary: Boundary | None = None
        self._boundary: Boundary | None = None
        self._boundary_dropped = 0  # boundary rows read again, counted as deduplicated
        self._rejects_written = False  # this batch's rejects are in the dead-letter table
        self._newest_before: dt.datetime | None = None  # the table's newest data, before
        self._source_files: tuple[str, ...] = ()  # the files the extract read
        self.taken_over: LockInfo | None = None  # the dead run whose stale lock this run took
        self.target_uri = project.table_uri(pipeline.load.target)
        self.started = time.perf_counter()
        # Temporary tables spill to the project's .lakegate/tmp past the memory limit.
        self.engine = project_engine(project, pipeline=pipeline.name)
        self.context = replace(self.context, engine=self.engine.describe())
        monitor.engine(self.engine)
        self.record = RunRecord(
            pipeline_name=pipeline.name,
            run_id=run_id,
            started_at=self.context.started_at,  # this attempt's start; `now` is the logical time
            target=pipeline.load.target,
        )

    # ------------------------------------------------------------------ flow

    def execute(self) -> RunResult:
        with run_scope(self.run_id, self.pipeline.name):
            log.info("run started")
            result = self._execute()
            record = result.record
            log.info(
                "run %s: %d rows extracted, %d loaded, %d rejected, %d deduplicated",
                record.status,
                record.rows_extracted,
                record.rows_loaded,
                record.rows_rejected,
                record.rows_deduplicated,
            )
            if record.status == "failed":
                log.error("run failed at %s: %s", record.stage, record.error_message)
            return result

    def _execute(self) -> RunResult:
        sink = self.engine.sink(self.target_uri)  # the engine's Delta writer
        try:
            if not self.options.dry_run:
                self._recover(sink)
                self._close_lost_runs()
            watermark = self.state.get_watermark(self.pipeline.name)
            version = (
                max(
                    watermark.version if watermark else 0,
                    sink.committed_version(app_id(self.pipeline.name)) or 0,
                )
                + 1
            )
            incremental = self.pipeline.extract.strategy == "incremental"
            before = (
                watermark.value
                if incremental and watermark is not None and not self.options.full_refresh
                else None
            )
            self.record = replace(self.record, watermark_before=before, watermark_after=before)
            # the table's newest data, carried over until a load changes it
            self._newest_before = recorded_newest(self.state, self.pipeline.name)
            self._set(data_newest_at=self._newest_before)
            self._boundary = watermark.boundary if watermark is not None else None
            self._read_boundary = self._boundary if before is not None else None
            if not self.options.dry_run:
                self._begun = True
                self.state.begin_run(
                    RunStart(
                        self.pipeline.name,
                        self.run_id,
                        self.record.started_at,
                        before,
                        self.options.run_date,
                    )
                )
                notify(self.observers, "run_started", self.context)
            result = self._flow(sink, version, before)
        except LakegateError as exc:
            wrong_input = isinstance(exc, UserInputError) and not exc.transient
            result = self._fail(str(exc), transient=exc.transient, input_error=wrong_input)
        finally:
            self.engine.close()
        if self._begun:
            outcome = RunOutcome(
                result.record,
                pre_load=self._reports.get("pre_load"),
                post_load=self._reports.get("post_load"),
                source_columns=self._source_schema,
                target_columns=self._target_columns,
                committed_version=self._loaded_version,
                source_files=self._source_files,
            )
            notify(self.observers, "run_finished", self.context, outcome)
        return result

    def _flow(self, sink: Any, version: int, watermark: Any) -> RunResult:
        self._set(stage="extract")
        self.step("extract")
        replay = self.options.replay
        plan = ExtractPlan(dataset=None)
        if watermark is not None and replay is None and not self.options.dry_run:
            from lakegate.sources.files import is_delta_table

            if not is_delta_table(self.target_uri):  # deleted by hand: reading on would lose rows
                return self._fail(
                    f"{self.pipeline.load.target}: no table at {self.target_uri}, but the state "
                    f"store holds a watermark ({_shown(watermark)}) of earlier loads; reload it "
                    "with --full-refresh"
                )
        if replay is not None:  # the batch is the quarantined rows, as they were
            transformed = self._extract_replay(replay)
            if not transformed:
                return self._finish(None, None, dry_run=self.options.dry_run)
            self._set(rows_extracted=transformed)
        else:
            plan = self._extract(watermark)
            if plan.dataset is None:  # new_files: nothing new since the last run
                return self._finish(None, None, dry_run=self.options.dry_run)
            extracted, newest = self._extract_stats(plan)
            if (drift := self._compare_source_schema()) is not None:
                return self._fail(drift)
            self._read_source_keys()
            _checkpoint("after_extract")
            self._set(
                rows_extracted=extracted,
                watermark_after=_newer(watermark, newest) if plan.key else watermark,
            )
            self._settle_boundary(plan, watermark)
            self._set(stage="transform")
            self.step("transform")
            transformed = self._transform()
        deduplicated = self._deduplicate(transformed) + self._boundary_dropped
        self._set(rows_transformed=transformed, rows_deduplicated=deduplicated)
        self._set(stage="pre_load_gate")
        self.step("gate")
        checks = pre_load_checks(self.pipeline, self.contract)
        checks += self._conform_checks(checks)
        report = (
            evaluate_checks(
                self.engine,
                BATCH,
                checks,
                refs=self._bind_parents(checks),
                now=self.now,
                label=f"{self.pipeline.name} batch",
                history=self._batch_history(checks),
                types=self._contract_types,
            )
            if checks
            else None
        )
        decision = decide(report) if report else None
        if report:
            self._count_checks(report)
            self._reports["pre_load"] = report
            self._set(quality_score=round(report.score, 2))
        if decision and decision.blocking:
            return self._fail(
                f"pre-load gate failed: {decision.describe_blocking()}", pre_load=report
            )
        quarantine = decision.quarantine if decision else ()
        if quarantine and self.pipeline.error_handling.strategy == "fail-fast":
            assert report is not None
            return self._fail(
                f"fail-fast: rows fail critical check(s) {_rejecting(report, quarantine)}; "
                "nothing was written",
                pre_load=report,
            )
        rejected = self._quarantine(checks, quarantine)
        self._set(rows_rejected=rejected)
        limit = self.pipeline.error_handling.max_rejected_fraction
        if replay is None and transformed and rejected / transformed > limit:
            assert report is not None
            return self._fail(
                f"{rejected:,} of {transformed:,} rows rejected "
                f"({rejected / transformed:.1%}), above max_rejected_fraction "
                f"{limit:.1%}, by {_rejecting(report, quarantine)}; nothing was written",
                pre_load=report,
            )
        _checkpoint("after_gate")
        loadable = self._load_view()
        self._record_newest(loadable, [*checks, *self.post_checks])
        self._set(rows_loaded=loadable, stage="load")
        if (refusal := self._find_deleted_keys()) is not None:
            return self._fail(refusal, pre_load=report)
        if self.options.dry_run:
            return self._finish(report, None, dry_run=True)
        self.step("load")
        if replay is not None:
            self._mark_replayed(version)
            _checkpoint("after_dead_letter_mark")
        elif rejected:
            self._write_rejects(version)
            self._rejects_written = True
            _checkpoint("after_dead_letter")
        self._load(sink, version, plan)
        _checkpoint("after_delta_commit")
        self._remove_deleted_keys(sink)
        if replay is not None:
            settle_replays(self.dead_letter_uri, pipeline=self.pipeline.name, committed=version)
        self.step("post_load_gate")
        try:
            post = self._post_load()
        except LakegateError as exc:  # the data landed: the state must say so
            return self._fail(
                f"post-load gate could not run: {exc}", pre_load=report, committed=(version, plan)
            )
        if post is not None:
            self._count_checks(post)
            self._reports["post_load"] = post
            blocking = decide(post, post_load=True).blocking
            if blocking:
                return self._fail(
                    "post-load gate failed: "
                    + "; ".join(f"{r.check.id} (observed {r.observed})" for r in blocking),
                    pre_load=report,
                    post_load=post,
                    committed=(version, plan),
                )
        return self._finish(report, post, version=version, plan=plan)

    # ------------------------------------------------------------------ steps

    def step(self, name: str) -> None:
        """Start step ``name``: time the previous one and tell the caller."""
        self._end_step()
        self._current = (name, time.perf_counter())
        log.info("step %s", name)
        self.monitor.step(name)

    def _end_step(self) -> None:
        if self._current is not None:
            name, started = self._current
            self.step_seconds[name] = round(time.perf_counter() - started, 3)
            self._current = None

    def _set(self, **changes: Any) -> None:
        self.record = replace(self.record, **changes)

    def _count_checks(self, report: ValidationReport) -> None:
        passed = sum(r.passed for r in report.results)
        self._set(
            quality_checks_passed=self.record.quality_checks_passed + passed,
            quality_checks_failed=self.record.quality_checks_failed + len(report.results) - passed,
        )

    def _table(self, name: str, query: exp.Query) -> None:
        """(Re)create the temporary table ``name`` from ``query``."""
        self.engine.execute(exp.Drop(tables=[_t(name)], kind="TABLE", exists=True))
        self.engine.execute(
            exp.Create(
                this=_t(name),
                kind="TABLE",
                expression=query,
                properties=exp.Properties(expressions=[exp.TemporaryProperty()]),
            )
        )

    def _count(self, name: str) -> int:
        return int(self.engine.query(exp.select(exp.Count(this=exp.Star())).from_(_t(name)))[0][0])

    def _extract(self, watermark: Any) -> ExtractPlan:
        loaded = {} if self.options.full_refresh else self.state.loaded_files(self.pipeline.name)
        plan = plan_extract(
            self.project,
            self.pipeline,
            watermark=watermark,
            run_date=self.options.run_date,
            loaded_files=loaded,
            schema=arrow_schema(self.contract) if self.contract else None,
            engine=self.engine.name,  # Spark reads a SQL source itself, by JDBC
        )
        if plan.dataset is None:
            return plan
        from lakegate.sources.files import FileDataset

        if isinstance(plan.dataset, FileDataset):
            self._source_files = plan.dataset.paths
        self.engine.register("__source", plan.dataset)
        query = exp.select(exp.Star()).from_(_t("__source"))
        if (cond := plan.filter()) is not None:
            query = query.where(cond)
        self._table(EXTRACT, query)
        return plan

    def _compare_source_schema(self) -> str | None:
        """Capture the extract's columns and classify how they changed since the last
        successful run (registered with this run's state commit); returns why the run
        must stop (a breaking change), or None."""
        from lakegate.contracts.drift import classify_drift, drift_error, fingerprint

        columns = [(n, t.sql(dialect="duckdb")) for n, t in self.engine.columns(EXTRACT).items()]
        self._source_schema = columns
        before = self.state.source_schema(self.pipeline.name)
        if before is None or fingerprint(before) == fingerprint(columns):
            return None
        changes = classify_drift(before, columns, self.contract)
        self._set(source_schema_changes=tuple(c.describe() for c in changes))
        for change in changes:
            log.warning("source schema: %s (%s)", change.describe(), change.rule)
        breaking = any(c.breaking for c in changes)
        if breaking and not self.options.accept_schema_change:
            return drift_error(changes, None)
        # Additive (or accepted) changes: the target's schema evolves with the batch.
        self._evolve_schema = True
        return None

    def _extract_stats(self, plan: ExtractPlan) -> tuple[int, Any]:
        if plan.key is None:
            return self._count(EXTRACT), None
        row = self.engine.query(
            exp.select(
                exp.Count(this=exp.Star()), exp.Max(this=exp.column(plan.key, quoted=True))
            ).from_(_t(EXTRACT))
        )[0]
        return int(row[0]), row[1]

    def _settle_boundary(self, plan: ExtractPlan, watermark: Any) -> None:
        """Incremental reads are ``key >= watermark``: note the rows at the new watermark's
        value (stored with it), then drop the rows loaded at the old one that were read
        again, before the gate; they count as deduplicated (see :mod:`lakegate.boundary`).

        Loads that replace the table or its partitions keep them: the batch must hold
        every row of what it replaces.
        """
        if plan.key is None:
            return
        from lakegate.boundary import boundary_after, drop_loaded

        after = self.record.watermark_after
        self._boundary = boundary_after(
            self.engine,
            EXTRACT,
            plan.key,
            after,
            self._read_boundary,
            same_value=watermark is not None and after == watermark,
        )
        replacing = self.pipeline.load.strategy in ("overwrite", "partition_overwrite")
        if self._read_boundary is not None and not replacing:
            self._boundary_dropped = drop_loaded(
                self.engine, EXTRACT, self._read_boundary, plan.key, watermark
            )

    def _transform(self) -> int:
        for table in sorted(lake_tables(self.stages)):
            from lakegate.sources.files import resolve_input

            self.engine.register(lake_view(table), resolve_input(self.project.table_uri(table)))
        known = [EXTRACT]
        for stage in self.stages:
            query = bind_stage(stage, known)
            self.engine.execute(
                exp.Create(this=_t(stage.name), kind="VIEW", expression=query, replace=True)
            )
            known.append(stage.name)
        self._table(BATCH, exp.select(exp.Star()).from_(_t(known[-1])))
        # The batch holds everything from here on: free the extract's copy.
        self.engine.execute(exp.Drop(tables=[_t(EXTRACT)], kind="TABLE", exists=True))
        return self._count(BATCH)

    @property
    def _contract_types(self) -> dict[str, ColumnType]:
        """``{column: ColumnType}`` the contract declares (empty without a contract)."""
        return contract_types(self.contract) if self.contract else {}

    def _conform_checks(self, checks: list[Check]) -> list[Check]:
        """The conform step: the batch's columns held in another type than the contract's
        are cast to it (the gate's checks compare typed values) and the load casts them;
        a value that cannot be cast is a row violation, so a critical type check for each
        such column joins the gate when the gate lacks one (``pre_load: none`` or a list)."""
        return list(conform_checks(self._contract_types, self.engine.columns(BATCH), checks))

    def _quarantine(self, checks: list[Check], quarantine: tuple[Check, ...]) -> int:
        """Move rows failing a critical row-level check out of the batch; returns how many."""
        if not quarantine:
            return 0
        batch = self.engine.columns(BATCH)  # the conform step: as the gate read them
        conform = conform_types(declared_types(checks, self._contract_types), batch)
        scope = Scope(table=BATCH, columns=batch, now=self.now, conform=conform)
        columns = list(scope.columns)
        self._table("__flagged", row_failures_select(compile_all(list(quarantine), scope), scope))
        flags = exp.column(FAILED_CHECKS_COLUMN, quoted=True)
        failed = exp.GT(this=exp.ArraySize(this=flags), expression=exp.Literal.number(0))
        keep = exp.select(*[exp.column(c, quoted=True) for c in columns]).from_(_t("__flagged"))
        self._table(BATCH, keep.where(exp.Not(this=failed)))
        data = [c for c in columns if c != REPLAY_ID]
        if self.options.replay is not None:  # they stay where they are: only count them
            self._table(
                "__rejects",
                exp.select(exp.column(REPLAY_ID, quoted=True)).from_(_t("__flagged")).where(failed),
            )
        else:
            record = exp.JSONFormat(  # to_json({column: value, ...}) on every engine
                this=exp.Struct(
                    expressions=[
                        exp.PropertyEQ(
                            this=exp.to_identifier(c, quoted=True),
                            expression=exp.column(c, quoted=True),
                        )
                        for c in data
                    ]
                )
            )
            types = json.dumps({c: scope.columns[c].sql(dialect="duckdb") for c in data})
            self._table(
                "__rejects",
                exp.select(
                    exp.Literal.string(self.pipeline.name).as_("pipeline"),
                    exp.Literal.string(self.run_id).as_("run_id"),
                    literal(self.now).as_("rejected_at"),
                    flags.copy().as_("failed_checks"),
                    exp.cast(record, exp.DataType.build("VARCHAR")).as_("record"),
                    exp.Literal.string(types).as_("record_types"),
                )
                .from_(_t("__flagged"))
                .where(failed),
            )
        self.engine.execute(exp.Drop(tables=[_t("__flagged")], kind="TABLE", exists=True))
        return self._count("__rejects")

    def _deduplicate(self, rows: int) -> int:
        """Keep one row per merge key, the latest by ``order_by`` (ties: by every column),
        before the gate, so checks see what would land. Returns the rows dropped."""
        load = self.pipeline.load
        if load.strategy not in ("merge", "scd2") or rows == 0:
            return 0
        keys = [exp.column(k, quoted=True) for k in load.merge_keys]
        unique = int(
            self.engine.query(
                exp.select(
                    exp.Count(this=exp.Distinct(expressions=[exp.Tuple(expressions=keys)]))
                ).from_(_t(BATCH))
            )[0][0]
        )
        if unique == rows:  # the common case: no sort needed
            return 0
        order = (
            [exp.Ordered(this=exp.column(load.order_by, quoted=True), desc=True, nulls_first=False)]
            if load.order_by
            else []
        )
        order += [exp.Ordered(this=exp.column(c, quoted=True)) for c in self.engine.columns(BATCH)]
        window = exp.Window(
            this=exp.RowNumber(),
            partition_by=[k.copy() for k in keys],
            order=exp.Order(expressions=order),
        )
        latest = (
            exp.select(exp.Star())
            .from_(_t(BATCH))
            .qualify(exp.EQ(this=window, expression=exp.Literal.number(1)))
        )
        self._table("__deduplicated", latest)
        self.engine.execute(exp.Drop(tables=[_t(BATCH)], kind="TABLE", exists=True))
        self.engine.execute(
            exp.Alter(
                this=_t("__deduplicated"), kind="TABLE", actions=[exp.AlterRename(this=_t(BATCH))]
            )
        )
        return rows - unique

    def _load_view(self) -> int:
        """The view the sink streams: the batch cast to the contract's types. Returns its rows."""
        columns = self.engine.columns(BATCH)
        props = self.contract.schema_.properties if self.contract else {}
        select: list[exp.Expr] = []
        for name in columns:
            if name == REPLAY_ID:
                continue
            prop = props.get(name)
            col: exp.Expr = exp.column(name, quoted=True)
            if prop is not None and prop.type not in (LogicalType.ARRAY, LogicalType.OBJECT):
                col = exp.cast(col, engine_type(column_type(prop))).as_(name, quoted=True)
            select.append(col)
        flag = self._soft_delete_column
        if flag is not None and flag not in columns:  # live rows; a key seen again revives
            select.append(exp.cast(exp.false(), exp.DataType.build("BOOLEAN")).as_(flag))
        query = exp.select(*select).from_(_t(BATCH))
        self.engine.execute(
            exp.Create(this=_t("__load"), kind="VIEW", expression=query, replace=True)
        )
        self._target_columns = [
            (n, t.sql(dialect="duckdb")) for n, t in self.engine.columns("__load").items()
        ]
        return self._count(BATCH)

    def _record_newest(self, rows: int, checks: list[Check]) -> None:
        """Record the table's newest data after this load (:mod:`lakegate.observe.freshness`)."""
        if not rows:
            return
        column = freshness_column(self.pipeline, self.contract, checks)
        batch = batch_newest(self.engine, "__load", column, self._source_files)
        replaces = self.pipeline.load.strategy == "overwrite"
        self._set(data_newest_at=table_newest(self._newest_before, batch, replaces=replaces))

    def _write_rejects(self, version: int) -> None:
        """Merge the batch's rejects into the dead-letter table: a record that fails again
        is the row already there, updated (see :mod:`lakegate.sinks.deadletter`)."""
        from lakegate.sources.files import resolve_input

        self.step("dead-letter")
        uri = self.dead_letter_uri
        if needs_upgrade(uri):  # one row per rejection, by an older lakegate: fold it once
            self.engine.register("__dead_letter_old", resolve_input(uri))
            present = self.engine.columns("__dead_letter_old")
            self._table("__dead_letter_new", upgrade_select("__dead_letter_old", present))
            rewrite(uri, self.engine.stream(exp.select(exp.Star()).from_(_t("__dead_letter_new"))))
            self.engine.execute(exp.Drop(tables=[_t("__dead_letter_new")], kind="TABLE"))
        rows = self.engine.stream(rejects_select("__rejects", batch_version=version))
        write_rejects(uri, rows, pipeline=self.pipeline.name)

    def _metadata(self, version: int, plan: ExtractPlan) -> dict[str, str]:
        from lakegate.state.records import encode_value

        payload = {
            "version": version,
            "record": self.record.to_dict(),
            "watermark": encode_value(self._state_value()),
            "boundary": self._boundary.to_json() if self._boundary is not None else None,
            "files": [list(f) for f in plan.files],
        }
        return {RUN_METADATA_KEY: json.dumps(payload)}

    def _load(self, sink: Any, version: int, plan: ExtractPlan) -> None:
        from lakegate.sinks import CommitInfo, LoadSpec, Scd2Columns

        load = self.pipeline.load
        spec = LoadSpec(
            strategy=load.strategy,
            merge_keys=tuple(load.merge_keys),
            partition_by=tuple(load.partition_by),
            scd2=Scd2Columns(load.scd2.valid_from, load.scd2.valid_to, load.scd2.is_current),
            # soft deletes configured on an existing table: its rows gain the flag column
            allow_schema_change=self._evolve_schema or self._adds_soft_delete_column(),
            allow_missing_columns=self._gone_from_source(),
        )
        if self.record.rows_loaded == 0 and load.strategy != "overwrite" and not self._replaying:
            self._loaded_version = None
            return
        commit = CommitInfo(
            app_id=app_id(self.pipeline.name),
            version=version,
            metadata=self._metadata(version, plan),
        )
        total = self.record.rows_loaded
        sink.write(
            self.engine.staged("__load"),  # read in place by the engine's sink
            spec,
            commit,
            effective_at=self.now,
            on_rows=lambda done: self.monitor.rows(min(done, total), total),
        )
        self._loaded_version = version

    @property
    def dead_letter_uri(self) -> str:
        return dead_letter_uri(self.project.lake_uri, self.pipeline.load.target)

    def _extract_replay(self, replay: Replay) -> int:
        """Rebuild the pending dead-letter rows as the batch, each column with the type it
        had when quarantined (``record_types``), plus their ids; returns the rows."""
        from lakegate.sources.files import is_delta_table, resolve_input

        uri = self.dead_letter_uri
        if not is_delta_table(uri):
            raise InputDataError(
                f"{self.pipeline.load.target}: no dead-letter table at {uri} "
                "(no row was ever quarantined)"
            )
        self.engine.register("__dead_letter_stored", resolve_input(uri))
        present = self.engine.columns("__dead_letter_stored")  # any lakegate's table
        self.engine.execute(
            exp.Create(
                this=_t("__dead_letter"),
                kind="VIEW",
                expression=read_select("__dead_letter_stored", present),
                replace=True,
            )
        )
        where = pending_predicate(self.pipeline.name, run_id=replay.run_id, check=replay.check)
        self._table("__replay", exp.select(exp.Star()).from_(_t("__dead_letter")).where(where))
        kinds = self.engine.query(
            exp.select(exp.column("record_types", quoted=True)).from_(_t("__replay")).distinct()
        )
        if not kinds:
            return 0
        record = exp.column("record", quoted=True)
        parts: list[exp.Query] = []
        for (types_json,) in kinds:
            columns = [
                _json_field(
                    record, name, exp.DataType.build(text, dialect="duckdb"), self.engine.dialect
                ).as_(name, quoted=True)
                for name, text in json.loads(types_json).items()
            ]
            parts.append(
                exp.select(
                    exp.column("rejection_id", quoted=True).as_(REPLAY_ID, quoted=True), *columns
                )
                .from_(_t("__replay"))
                .where(
                    exp.EQ(
                        this=exp.column("record_types", quoted=True),
                        expression=exp.Literal.string(types_json),
                    )
                )
            )
        batch = parts[0]
        for part in parts[1:]:  # rows from batches of other shapes: align by column name
            batch = exp.Union(this=batch, expression=part, distinct=False, by_name=True)
        self._table(BATCH, batch)
        return self._count(BATCH)

    def _mark_replayed(self, version: int) -> None:
        """Mark the replayed rows that leave the dead-letter table: every selected row
        but those that still fail (loaded, or lost to a later row of the same key)."""
        self.step("dead-letter")
        rejection_id = exp.column("rejection_id", quoted=True)
        leaving = exp.select(rejection_id).from_(_t("__replay"))
        if self.record.rows_rejected:  # those stay
            still = exp.select(exp.column(REPLAY_ID, quoted=True)).from_(_t("__rejects"))
            leaving = leaving.where(
                exp.Not(this=exp.In(this=rejection_id.copy(), query=still.subquery()))
            )
        ids = self.engine.stream(leaving).read_all().column(0)
        mark_replayed(self.dead_letter_uri, ids, pipeline=self.pipeline.name, version=version)
        self._replaying = True

    # ------------------------------------------------------------------ hard deletes

    @property
    def _soft_delete_column(self) -> str | None:
        config = self.reconcile
        return config.soft_delete_column if config and config.action == "soft_delete" else None

    def _adds_soft_delete_column(self) -> bool:
        """True when soft deletes are configured and the existing target lacks the flag."""
        from lakegate.sources.files import is_delta_table

        flag = self._soft_delete_column
        if flag is None or not is_delta_table(self.target_uri):
            return False
        from deltalake import DeltaTable

        return flag not in {f.name for f in DeltaTable(self.target_uri).schema().fields}

    def _gone_from_source(self) -> tuple[str, ...]:
        """Target columns that neither the batch nor the source has any more: a removal
        at the source that was accepted (``--accept-schema-change``). A column the source
        still has but the batch lacks stays an error (a transform that lost it)."""
        from lakegate.sources.files import is_delta_table

        if self._source_schema is None or not is_delta_table(self.target_uri):
            return ()
        from deltalake import DeltaTable

        have = {n for n, _ in self._source_schema} | {n for n, _ in self._target_columns or ()}
        return tuple(
            f.name for f in DeltaTable(self.target_uri).schema().fields if f.name not in have
        )

    def _read_source_keys(self) -> None:
        """On a reconciling run, read every merge key of the source (after the extract:
        a row deleted in between is loaded, then deleted)."""
        config = self.reconcile
        if config is None or self.options.replay is not None:
            return
        due = self.options.reconcile or self._reconcile_pending
        if not (due or is_due(self.state, self.pipeline.name, config)):
            return
        from lakegate.sources.files import ArrowDataset
        from lakegate.sources.sql import read_sql

        source = self.pipeline.extract.source
        assert isinstance(source, SqlSource)
        keys = self.pipeline.load.merge_keys
        try:
            read = read_sql(source, columns=keys)
            self.engine.register("__source_keys_read", ArrowDataset(read.reader, read.label))
            self._table(SOURCE_KEYS, exp.select(exp.Star()).from_(_t("__source_keys_read")))
        except LakegateError as exc:
            error = InputDataError(
                f"reconcile: reading the merge keys ({', '.join(keys)}) of the source: {exc}"
            )
            error.transient = exc.transient  # a timeout is one still
            raise error from None
        self._reconciling = True

    def _find_deleted_keys(self) -> str | None:
        """On a reconciling run, find the target's and the batch's keys missing at the
        source (before anything is written); returns why the run must stop, or None."""
        config = self.reconcile
        if config is None or not self._reconciling:
            return None
        from lakegate.sources.files import is_delta_table, resolve_input

        load = self.pipeline.load
        keys = load.merge_keys
        target: str | None = None
        columns: dict[str, exp.DataType] = {}
        if is_delta_table(self.target_uri):
            target = "__reconcile_target"
            self.engine.register(target, resolve_input(self.target_uri))
            columns = dict(self.engine.columns(target))
        scd2 = load.scd2 if load.strategy == "scd2" else None
        live = live_rows(columns, config, scd2.is_current if scd2 else None)
        if scd2 is not None and scd2.valid_to in columns:
            columns[CLOSED_AT] = columns[scd2.valid_to]
        query = deleted_keys_query(
            keys,
            target=target,
            target_columns=columns,
            live=live,
            batch="__load",
            closed_at=self.now if scd2 is not None else None,
        )
        self._table(DELETED_KEYS, query)
        deleted = self._count(DELETED_KEYS)
        self._set(keys_deleted_at_source=deleted)
        held = int(self.engine.query(target_keys_count(keys, target, live))[0][0]) if target else 0
        if config.action != "report" and held and deleted / held > config.max_delete_fraction:
            return (
                f"reconcile: {deleted} of the {held} keys of {load.target} "
                f"({deleted / held:.1%}) are missing at the source, above "
                f"max_delete_fraction {config.max_delete_fraction:.1%}; nothing was written "
                "(check the source, or raise extract.source.reconcile.max_delete_fraction)"
            )
        return None

    def _remove_deleted_keys(self, sink: Any) -> None:
        """Apply the reconciliation's action to the deleted keys, in its own commit."""
        config = self.reconcile
        if (
            config is None
            or not self._reconciling
            or config.action == "report"
            or not self.record.keys_deleted_at_source
        ):
            return
        from lakegate.sinks import Scd2Columns

        self.step("reconcile")
        load = self.pipeline.load
        scd2 = load.strategy == "scd2"
        sink.remove_keys(
            self.engine.stream(exp.select(exp.Star()).from_(_t(DELETED_KEYS))),
            load.merge_keys,
            action="close" if scd2 else config.action,
            soft_delete_column=config.soft_delete_column,
            scd2=Scd2Columns(load.scd2.valid_from, load.scd2.valid_to, load.scd2.is_current),
            closed_at=CLOSED_AT,
            metadata={"lakegate.run_id": self.run_id},
        )

    def _bind_parents(self, checks: list[Check]) -> dict[str, str]:
        """Register the datasets checks read besides their own (the ``to`` of
        relationships and reconciliation): ``lake.X`` or a lake table name first, else
        a path (relative to the contract's folder)."""
        from lakegate.sources.files import is_delta_table, resolve_input
        from lakegate.validate import resolve_parent

        refs: dict[str, str] = {}
        for check in checks:
            to = check.ref
            if to is None or to in refs:
                continue
            table = to.removeprefix("lake.")
            uri = self.project.table_uri(table)
            if to.startswith("lake.") or is_delta_table(uri):
                parent = uri
            else:
                folder = self.contract.path.parent if self.contract and self.contract.path else None
                parent = resolve_parent(to, {}, folder)
            refs[to] = f"__parent_{len(refs)}"
            self.engine.register(refs[to], resolve_input(parent))
        return refs

    def _batch_history(self, checks: list[Check]) -> list[int] | None:
        """The batch sizes of this pipeline's earlier successful and partial runs, newest
        first, for volume_anomaly checks (None when no check needs them, or for a replay:
        dead-letter rows are no batch of the source, so the check does not judge them).

        A batch size is what the pre-load gate saw: the rows it let through plus those it
        quarantined (``rows_loaded + rows_rejected``; duplicates and boundary rows read
        again were dropped before it). Runs that found nothing new (no batch: they
        ended at the extract stage) and replays are left out.
        """
        from lakegate.checks.model import VolumeAnomaly

        wanted = max((c.runs for c in checks if isinstance(c, VolumeAnomaly)), default=0)
        if not wanted or self.options.replay is not None:
            return None
        limit = wanted + 1  # failed runs do not count: read further back until enough
        while True:
            runs = self.state.runs(self.pipeline.name, limit=limit)
            sizes = [
                r.rows_loaded + r.rows_rejected
                for r in runs
                if r.status in ("success", "partial")
                and r.stage != "extract"
                and r.run_id != self.run_id
                and not r.run_id.startswith("replay-")
            ]
            if len(sizes) >= wanted or len(runs) < limit:
                return sizes[:wanted]
            limit *= 4

    def _post_load(self) -> ValidationReport | None:
        if not self.post_checks:
            return None
        from lakegate.sources.files import resolve_input

        self.engine.register("__target", resolve_input(self.target_uri))
        return evaluate_checks(
            self.engine,
            "__target",
            self.post_checks,
            refs=self._bind_parents(self.post_checks),
            now=self.now,
            label=self.pipeline.load.target,
        )

    # ------------------------------------------------------------------ endings

    def _close_record(self, status: str, error: str | None = None) -> None:
        self._end_step()
        self._set(
            status=status,
            error_message=error,
            completed_at=dt.datetime.now(dt.UTC),
            duration_seconds=round(time.perf_counter() - self.started, 3),
        )

    def _finish(
        self,
        pre: ValidationReport | None,
        post: ValidationReport | None,
        *,
        dry_run: bool = False,
        version: int | None = None,
        plan: ExtractPlan | None = None,
    ) -> RunResult:
        # skip-and-alert: rows were skipped (quarantined), so the run is only partial.
        skipped = (
            self.record.rows_rejected and self.pipeline.error_handling.strategy == "skip-and-alert"
        )
        alert = f"{self.record.rows_rejected} rows skipped (skip-and-alert)" if skipped else None
        self._close_record("partial" if skipped else "success", alert)
        if not dry_run:
            self._commit_state(version, plan)
        return RunResult(self.record, pre_load=pre, post_load=post, step_seconds=self.step_seconds)

    def _state_value(self) -> Any:
        """The watermark value stored with a load: the incremental key's high-water mark,
        or the load time for loads without one (their load version still counts)."""
        after = self.record.watermark_after
        return after if after is not None else self.now

    def _commit_state(self, version: int | None, plan: ExtractPlan | None) -> None:
        loaded = self._loaded_version
        current = self.state.get_watermark(self.pipeline.name)
        after = self.record.watermark_after
        watermark = None
        if loaded is not None:
            watermark = (self._state_value(), loaded)
        elif current is not None:
            watermark = (after if after is not None else current.value, current.version)
        elif after is not None:
            watermark = (after, 0)
        files = {path: (size, mtime) for path, size, mtime in plan.files} if plan else None
        self.state.commit_run(
            self.record,
            watermark=watermark,
            files=files,
            source_schema=self._source_schema,
            checks=self._check_rows(),
            boundary=self._boundary,
        )
        _checkpoint("after_state_commit")
        _append_run_log(self.project, self.record)

    def _check_rows(self) -> list[tuple[str, list[dict[str, Any]]]]:
        """The gates' check results, for the state store: the batch's under the target's
        name with a ``:batch`` suffix, the target's under its name."""
        target = self.pipeline.load.target
        tables = {"pre_load": f"{target}:batch", "post_load": target}
        return [
            (tables[gate], [r.to_dict() for r in report.results])
            for gate, report in self._reports.items()
        ]

    def _fail(
        self,
        message: str,
        *,
        pre_load: ValidationReport | None = None,
        post_load: ValidationReport | None = None,
        committed: tuple[int, ExtractPlan] | None = None,
        transient: bool = False,
        input_error: bool = False,
    ) -> RunResult:
        # The counters say what happened: rows the run would have loaded or quarantined
        # but did not write are not loaded (nor rejected, for rows never quarantined).
        if self._loaded_version is None:
            self._set(rows_loaded=0)
        if not self._rejects_written and self.options.replay is None:
            self._set(rows_rejected=0)
        self._close_record("failed", message)
        if not self.options.dry_run and self._begun:
            if committed is not None:  # the data landed: the state must say so
                self._commit_state(*committed)
            else:
                self._set(
                    watermark_after=self.record.watermark_before,
                    data_newest_at=self._newest_before,
                )
                self.state.commit_run(self.record, checks=self._check_rows())
                _append_run_log(self.project, self.record)
        return RunResult(
            self.record,
            pre_load=pre_load,
            post_load=post_load,
            transient=transient,
            step_seconds=self.step_seconds,
            input_error=input_error,
        )

    def _close_lost_runs(self) -> None:
        """Close the runs of this pipeline that a killed process left ``running`` (this run
        holds the lock, and recovery has just claimed any whose load committed), each as a
        failed run: its run-log line, and the observers' FAIL lineage event and metrics."""
        lost = self.state.close_lost_runs(self.pipeline.name, self.run_id, self.taken_over)
        for record in lost:
            _append_run_log(self.project, record)
            # The START event's context: the same run id and start time, so the same runId.
            context = replace(self.context, run_id=record.run_id, started_at=record.started_at)
            notify(self.observers, "run_finished", context, RunOutcome(record))

    def _recover(self, sink: Any) -> None:
        """Bring the state store up to a load that committed before the run that made it
        could record it (a crash between the Delta commit and the state commit)."""
        committed = sink.committed_version(app_id(self.pipeline.name))
        # A replay interrupted around its commit: its rows leave the dead-letter table
        # if the target holds its version, else they stay quarantined.
        settle_replays(self.dead_letter_uri, pipeline=self.pipeline.name, committed=committed)
        watermark = self.state.get_watermark(self.pipeline.name)
        if committed is None or committed <= (watermark.version if watermark else 0):
            return
        from deltalake import DeltaTable

        from lakegate.sinks.maintenance import commit_metadata
        from lakegate.state.records import decode_value

        for entry in DeltaTable(self.target_uri).history():
            raw = commit_metadata(entry).get(RUN_METADATA_KEY)  # either writer's commits
            if not raw:
                continue
            payload = json.loads(raw)
            if payload["version"] != committed:
                continue
            data = payload["record"]
            record = RunRecord(
                **{
                    **data,
                    "source_schema_changes": tuple(data.get("source_schema_changes", ())),
                    # its deletions may not have committed: the next run reconciles again
                    "keys_deleted_at_source": None,
                    "data_newest_at": as_utc(_ts(data.get("data_newest_at"))),
                    "started_at": _ts(data["started_at"]),
                    "completed_at": dt.datetime.now(dt.UTC),
                    "status": "success",
                    "error_message": "recovered: committed to Delta, then interrupted",
                }
            )
            value = decode_value(payload["watermark"])
            files = {path: (size, mtime) for path, size, mtime in payload["files"]}
            self.state.commit_run(
                record,
                watermark=(value, committed),
                files=files,
                boundary=Boundary.from_json(payload.get("boundary")),
            )
            # Its deletions (a separate, later commit) may be missing: reconcile now.
            self._reconcile_pending = bool(data.get("keys_deleted_at_source"))
            _append_run_log(self.project, record)
            return
        raise DataError(
            f"{self.target_uri} holds load version {committed} of "
            f"{self.pipeline.name} but no lakegate run metadata for it"
        )


def _json_field(record: exp.Expr, name: str, type_: exp.DataType, dialect: str) -> exp.Expr:
    """Column ``name`` of a JSON ``record`` as ``type_``: on DuckDB by a JSON pointer (any
    name works), on Spark by ``get_json_object`` with a JSONPath sqlglot quotes."""
    if dialect != "duckdb":
        path = exp.JSONPath(expressions=[exp.JSONPathRoot(), exp.JSONPathKey(this=name)])
        text = exp.JSONExtractScalar(this=record.copy(), expression=path)
        if type_.this in (exp.DataType.Type.VARCHAR, exp.DataType.Type.TEXT):
            return text
        return exp.cast(text, type_)
    pointer = exp.Literal.string("/" + name.replace("~", "~0").replace("/", "~1"))
    # Anonymous: sqlglot would rewrite a known json_extract's path as JSONPath.
    if type_.this in (exp.DataType.Type.VARCHAR, exp.DataType.Type.TEXT):
        return exp.Anonymous(this="json_extract_string", expressions=[record.copy(), pointer])
    return exp.cast(exp.Anonymous(this="json_extract", expressions=[record.copy(), pointer]), type_)


def _rejecting(report: ValidationReport, checks: tuple[Check, ...]) -> str:
    """The critical row-level checks that reject rows, most rows first, with how many
    each fails (a row failing two checks counts for both): ``origin.accepted_values
    (accepted_values: 1,708 rows), dep_delay.range (range: 5 rows)``."""
    wanted = {c.id for c in checks}
    failing = sorted(
        (r for r in report.results if r.check.id in wanted),
        key=lambda r: (-(r.failing_rows or 0), r.check.id),
    )
    return ", ".join(
        f"{r.check.id} ({r.check.kind}: {r.failing_rows or 0:,} rows)" for r in failing
    )


def _shown(value: Any) -> str:
    return value.isoformat() if isinstance(value, dt.date) else str(value)


def _checkpoint(step: str) -> None:
    """Die here, as ``kill -9`` would, when the test harness asks for it."""
    if os.environ.get(KILL_ENV) == step:
        os.kill(os.getpid(), signal.SIGKILL)


def _t(name: str) -> exp.Table:
    return exp.to_table(exp.to_identifier(name, quoted=True).sql(dialect="duckdb"))


def _ts(value: Any) -> dt.datetime:
    return dt.datetime.fromisoformat(value) if isinstance(value, str) else value


def _newer(current: Any, candidate: Any) -> Any:
    if candidate is None:
        return current
    if current is None:
        return candidate
    return max(current, candidate)


def _append_run_log(project: Project, record: RunRecord) -> None:
    """Append the run's structured log line to ``.lakegate/runs.jsonl``."""
    path = project.path(".lakegate/runs.jsonl")
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(to_jsonable(record.to_dict())) + "\n")
