"""OpenLineage run events for every run that writes, through the openlineage-python client.

A run emits ``START`` when it begins, then ``COMPLETE`` (success or partial) or ``FAIL``,
to the transport of ``lineage:`` in ``lakegate.yaml``: ``file`` (JSON lines appended to
``lineage.path``), ``console`` (the client's logger, at INFO) or ``http`` (``lineage.url``:
a server, posted to ``/api/v1/lineage``, or a full endpoint URL).

* **run**: ``runId`` is a UUID derived from the namespace, the pipeline, lakegate's run id
  and the start time, so START and its end share it. Facets: ``processing_engine``
  (lakegate), ``lakegate`` (custom: lakegate's run id and pipeline; its JSON schema ships
  in the package, :mod:`lakegate.observe.lineage_facets`), on FAIL ``errorMessage``, and
  when an orchestrator started the run, ``nominalTime`` (the schedule time) and ``parent``
  (its task run, and the root run; :mod:`lakegate.observe.orchestration`).
* **job**: namespace ``lineage.namespace`` (default: the project's name), name the
  pipeline's. Facets: ``jobType`` (BATCH, LAKEGATE, PIPELINE), ``sql`` (the stages,
  DuckDB dialect), ``documentation`` and ``ownership`` (description and owner, when set).
* **inputs** (https://openlineage.io/docs/spec/naming, :mod:`lakegate.observe.naming`):
  the extract's source (a glob's folder, with the files a run read in the ``subset``
  facet); for a dead-letter replay, the dead-letter table instead. Then every lake table
  the run reads, as ``lakegate graph`` lists them: those the stages read (``lake.X``) and
  those checks read (``relationships`` and ``reconciliation`` ``to: lake.X``). The target
  is an input only when a stage or a check of the batch reads it.
* **outputs**: the target Delta table, named by its store (``file`` + absolute path, or
  the bucket + the path in it). Facets: ``schema`` (loaded columns, DuckDB types),
  ``storage``, ``columnLineage`` (:mod:`lakegate.observe.column_lineage`), ``version``
  (the Delta version committed) and ``outputStatistics`` (rows loaded; for a local lake,
  the bytes and files the load's commit added). And the target's dead-letter table, when
  the run quarantined rows into it (``outputStatistics``: the rows) or replayed them.

Data quality: ``dataQualityAssertions`` is an *InputDatasetFacet* in the spec (a test
reads what it asserts on, as in the dbt and Great Expectations integrations). The
pre-load gate's results (on the batch, built from the extract) sit on the extract's
input. The post-load gate reads the target after the load: as dbt reports a test, it is
a run of its own, job ``<pipeline>.post_load`` (``jobType`` TEST), child of the
pipeline's run (``parent`` facet), whose one input is the target with the gate's
assertions; its ``COMPLETE`` (or ``FAIL`` when a critical check failed) is emitted just
before the pipeline's, so the pipeline's own job never lists its output as an input.
One assertion per check: ``assertion`` is the check's kind (the spec's "classification
of the test"), ``name`` its id, ``column`` its column (when it has one), ``severity``
error/warn/info, ``params`` its thresholds, ``actual`` what it observed.

No user, password, query string or header value is ever emitted.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from openlineage.client import OpenLineageClient
from openlineage.client import facet_v2 as ol
from openlineage.client.event_v2 import InputDataset, Job, OutputDataset, Run, RunEvent, RunState
from openlineage.client.transport.console import ConsoleConfig, ConsoleTransport
from openlineage.client.transport.file import FileConfig, FileTransport
from openlineage.client.transport.http import HttpConfig, HttpTransport
from openlineage.client.transport.http_common import DEFAULT_RETRY_CONFIG
from openlineage.client.uuid import generate_static_uuid

from lakegate import __version__
from lakegate.config.pipeline import Pipeline
from lakegate.errors import ConfigError
from lakegate.observe.column_lineage import column_lineage_facet
from lakegate.observe.lineage_facets import (
    LAKEGATE_RUN_FACET_SCHEMA,
    PRODUCER,
    Columns,
    LakegateRunFacet,
    assertions,
    delta_columns,
    facet,
    job_facets,
    load_commit,
    optional,
    orchestration_facets,
    schema,
)
from lakegate.observe.naming import Dataset, files_subset, redact, source_dataset, uri_dataset
from lakegate.observe.orchestration import Orchestration, ParentRun
from lakegate.transform import EXTRACT, StageSql, lake_tables, parse_stage

if TYPE_CHECKING:
    from openlineage.client.transport import Transport

    from lakegate.checks.results import ValidationReport
    from lakegate.config.contract import Contract
    from lakegate.config.project import Project
    from lakegate.observe import RunContext, RunOutcome

__all__ = [
    "LAKEGATE_RUN_FACET_SCHEMA",
    "PRODUCER",
    "LakegateRunFacet",
    "LineageObserver",
    "check_tables",
]

POST_LOAD_JOB = "{pipeline}.post_load"  # the post-load gate's job name


class LineageObserver:
    """Emits a run's OpenLineage events (see the module docstring).

    The transport is made at the first event: a wrong ``lineage:`` setting is logged
    (and ignored) by the runner instead of stopping the run.

    Args:
        project: The project: its ``lineage:`` settings and its lake.
    """

    def __init__(self, project: Project) -> None:
        self.project = project
        self.namespace = project.lineage.namespace or project.name
        self._client: OpenLineageClient | None = None

    def run_started(self, run: RunContext) -> None:
        """Emit the START event of ``run``.

        Args:
            run: The run as it starts (:class:`~lakegate.observe.RunContext`).

        Raises:
            ConfigError: ``transport: http`` without ``url``; and what the transport
                raises (the runner logs and ignores both).
        """
        self._emit(self._event(run, None))

    def run_finished(self, run: RunContext, outcome: RunOutcome) -> None:
        """Emit the COMPLETE (success, partial) or FAIL event of ``run``, after the event
        of its post-load gate's run when that gate ran.

        Args:
            run: The run as it started.
            outcome: How it ended: its record, gate reports, columns and Delta commit.

        Raises:
            ConfigError: As :meth:`run_started`.
        """
        if outcome.post_load is not None:
            self._emit(self._gate_event(run, outcome, outcome.post_load))
        self._emit(self._event(run, outcome))

    def table_dataset(self, table: str) -> Dataset:
        """The (namespace, name) of the lake table ``table`` (see :func:`uri_dataset`)."""
        return uri_dataset(self.project.table_uri(table))

    def dead_letter_dataset(self, table: str) -> Dataset:
        """The (namespace, name) of the dead-letter table of the lake table ``table``."""
        from lakegate.sinks.deadletter import dead_letter_uri

        return uri_dataset(dead_letter_uri(self.project.lake_uri, table))

    def run_uuid(self, run: RunContext) -> str:
        """The OpenLineage ``runId`` of ``run``: a UUID made from its namespace, pipeline,
        lakegate run id and start time (the same for every event of the run)."""
        key = f"{self.namespace}/{run.pipeline.name}/{run.run_id}".encode()
        return str(generate_static_uuid(run.started_at, key))

    def _emit(self, event: RunEvent) -> None:
        if self._client is None:
            self._client = OpenLineageClient(transport=self._transport())
        self._client.emit(event)

    def _transport(self) -> Transport:
        config = self.project.lineage
        if config.transport == "console":
            return ConsoleTransport(ConsoleConfig())
        if config.transport == "http":
            if not config.url:
                raise ConfigError("lineage: transport http needs url", key="lineage.url")
            parts = urlsplit(config.url)
            # A lineage server that is down delays each event by at most ~7 s: 5 s to
            # connect or answer, 2 retries 0.5 s and 1 s apart (the client's default: 5).
            retry = {**DEFAULT_RETRY_CONFIG, "total": 2, "read": 2, "connect": 2}
            limits: dict[str, Any] = {"timeout": 5.0, "retry": retry | {"backoff_factor": 0.5}}
            if not parts.path.strip("/"):
                return HttpTransport(HttpConfig(url=config.url, **limits))
            endpoint = parts._replace(scheme="", netloc="").geturl()  # a full endpoint URL
            server = f"{parts.scheme}://{parts.netloc}"
            return HttpTransport(HttpConfig(url=server, endpoint=endpoint, **limits))
        path = self.project.path(config.path)
        path.parent.mkdir(parents=True, exist_ok=True)
        return FileTransport(FileConfig(log_file_path=str(path), append=True))

    def _event(self, run: RunContext, outcome: RunOutcome | None) -> RunEvent:
        pipeline, record = run.pipeline, outcome.record if outcome else None
        stages = optional("parse the stages", _stages, pipeline) or []
        checked = optional("list the checks' tables", check_tables, pipeline, run.contract)
        read = sorted({*lake_tables(stages), *(checked or ())})
        lake = {
            table: optional("read a lake table", delta_columns, self.project.table_uri(table))
            for table in read
        }
        engine = ol.processing_engine_run.ProcessingEngineRunFacet
        facets: dict[str, ol.RunFacet] = {
            "processing_engine": facet(
                engine, version=__version__, name="lakegate", openlineageAdapterVersion=__version__
            ),
            "lakegate": facet(
                LakegateRunFacet,
                runId=run.run_id,
                pipeline=pipeline.name,
                engine=dict(run.engine) or None,
            ),
            **orchestration_facets(_orchestration(run)),
        }
        state, when = RunState.START, run.started_at
        if record is not None:
            state = RunState.FAIL if record.status == "failed" else RunState.COMPLETE
            when = record.completed_at or dt.datetime.now(dt.UTC)
        if record is not None and state is RunState.FAIL:  # with lakegate's (scrubbed) message
            facets["errorMessage"] = facet(
                ol.error_message_run.ErrorMessageRunFacet,
                message=redact(record.error_message or "failed", pipeline),
                programmingLanguage="python",
            )
        return RunEvent(
            eventType=state,
            eventTime=when.isoformat(),
            run=Run(runId=self.run_uuid(run), facets=facets),
            job=Job(
                namespace=self.namespace, name=pipeline.name, facets=job_facets(pipeline, stages)
            ),
            inputs=self._inputs(run, lake, outcome),
            outputs=self._outputs(run, stages, lake, outcome),
            producer=PRODUCER,
        )

    def _gate_event(
        self, run: RunContext, outcome: RunOutcome, report: ValidationReport
    ) -> RunEvent:
        """The post-load gate's run: a child of the pipeline's, reading the target."""
        from lakegate.checks.gate import decide

        pipeline = run.pipeline
        name = POST_LOAD_JOB.format(pipeline=pipeline.name)
        key = f"{self.namespace}/{name}/{run.run_id}".encode()
        me = ParentRun(self.namespace, pipeline.name, self.run_uuid(run))
        facets = orchestration_facets(_orchestration(run), parent_of=me)
        failed = bool(decide(report, post_load=True).blocking)
        target = self.table_dataset(pipeline.load.target)
        return RunEvent(
            eventType=RunState.FAIL if failed else RunState.COMPLETE,
            eventTime=(outcome.record.completed_at or dt.datetime.now(dt.UTC)).isoformat(),
            run=Run(runId=str(generate_static_uuid(run.started_at, key)), facets=facets),
            job=Job(namespace=self.namespace, name=name, facets=job_facets(pipeline, (), "TEST")),
            inputs=[InputDataset(*target, inputFacets=assertions(report))],
            outputs=[],
            producer=PRODUCER,
        )

    def _inputs(
        self, run: RunContext, lake: dict[str, Columns | None], outcome: RunOutcome | None
    ) -> list[InputDataset]:
        pipeline = run.pipeline
        replay = run.run_id.startswith("replay-")  # the batch is the dead-letter rows
        named = (
            self.dead_letter_dataset(pipeline.load.target)
            if replay
            else source_dataset(self.project, pipeline)
        )
        extract = InputDataset(*named)
        inputs = [extract]
        for table, columns in lake.items():
            found: dict[str, ol.DatasetFacet] = {"schema": schema(columns)} if columns else {}
            if self.table_dataset(table) != named:  # a source inside the lake: listed once
                inputs.append(InputDataset(*self.table_dataset(table), facets=found))
        if outcome is None:
            return inputs
        extract.inputFacets = {}
        if outcome.source_columns is not None:
            extract.facets = {"schema": schema(outcome.source_columns)}
            stats = ol.input_statistics_input_dataset.InputStatisticsInputDatasetFacet
            rows = outcome.record.rows_extracted
            extract.inputFacets["inputStatistics"] = facet(stats, rowCount=rows)
        subset = files_subset(named, outcome.source_files, PRODUCER)
        if subset is not None:
            extract.inputFacets["subset"] = subset
        if outcome.pre_load is not None:
            extract.inputFacets.update(assertions(outcome.pre_load))
        return inputs

    def _outputs(
        self,
        run: RunContext,
        stages: list[StageSql],
        lake: dict[str, Columns | None],
        outcome: RunOutcome | None,
    ) -> list[OutputDataset]:
        outputs = [self._output(run, stages, lake, outcome)]
        record = outcome.record if outcome is not None else None
        replay = run.run_id.startswith("replay-")
        if record is not None and (replay or record.rows_rejected):
            dead_letter = OutputDataset(*self.dead_letter_dataset(run.pipeline.load.target))
            if not replay:  # the rows quarantined (a replay marks rows; it adds none)
                stats = ol.output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet
                rows = facet(stats, rowCount=record.rows_rejected)
                dead_letter.outputFacets = {"outputStatistics": rows}
            outputs.append(dead_letter)
        return outputs

    def _output(
        self,
        run: RunContext,
        stages: list[StageSql],
        lake: dict[str, Columns | None],
        outcome: RunOutcome | None,
    ) -> OutputDataset:
        pipeline = run.pipeline
        target = pipeline.load.target
        storage = ol.storage_dataset.StorageDatasetFacet
        facets: dict[str, Any] = {
            "storage": facet(storage, storageLayer="delta", fileFormat="parquet")
        }
        output = OutputDataset(*self.table_dataset(target), facets=facets)
        if outcome is None:
            return output
        record = outcome.record
        if outcome.target_columns is not None:
            facets["schema"] = schema(outcome.target_columns)
            columns = {t: [name for name, _ in c or ()] for t, c in lake.items()}
            if outcome.source_columns is not None:
                columns[EXTRACT] = [name for name, _ in outcome.source_columns]
            extract = (
                self.dead_letter_dataset(target)
                if run.run_id.startswith("replay-")
                else source_dataset(self.project, pipeline)
            )
            found = optional(
                "trace the column lineage",
                column_lineage_facet,
                stages,
                [name for name, _ in outcome.target_columns],
                columns,
                lambda t: extract if t == EXTRACT else self.table_dataset(t),
                PRODUCER,
            )
            if found is not None:
                facets["columnLineage"] = found
        if outcome.committed_version is None and record.status == "failed":
            return output  # nothing landed
        stats = ol.output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet
        output.outputFacets = {"outputStatistics": facet(stats, rowCount=record.rows_loaded)}
        uri = self.project.table_uri(target)
        commit = optional("read the load's commit", load_commit, uri, record.run_id)
        if commit is not None:
            version = ol.dataset_version_dataset.DatasetVersionDatasetFacet
            facets["version"] = facet(version, datasetVersion=str(commit[0]))
            output.outputFacets["outputStatistics"] = facet(
                stats, rowCount=record.rows_loaded, size=commit[1], fileCount=commit[2]
            )
        return output


def check_tables(pipeline: Pipeline, contract: Contract | None) -> set[str]:
    """The lake tables the pipeline's checks read: ``relationships`` and
    ``reconciliation`` checks ``to: lake.X`` of its contract and its gates (as
    ``lakegate graph`` finds them).

    Args:
        pipeline: The pipeline.
        contract: Its contract, or None.

    Raises:
        ConfigError: A gate's check does not compile.
    """
    from lakegate.checks.gate import gate_checks
    from lakegate.contracts.compile import contract_checks

    checks = gate_checks(pipeline, pipeline.quality_gates.post_load, "post_load")
    if isinstance(pipeline.quality_gates.pre_load, list):
        checks += gate_checks(pipeline, pipeline.quality_gates.pre_load, "pre_load")
    if contract is not None:
        checks += contract_checks(contract)
    return {c.ref.removeprefix("lake.") for c in checks if c.ref and c.ref.startswith("lake.")}


def _stages(pipeline: Pipeline) -> list[StageSql]:
    stages = pipeline.transform.stages
    return [parse_stage(s.name, s.sql, pipeline.resolve, "duckdb") for s in stages]


def _orchestration(run: RunContext) -> Orchestration:
    """The run's orchestration, else what the environment says."""
    return run.orchestration if run.orchestration is not None else Orchestration.from_env()
