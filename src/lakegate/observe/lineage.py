"""OpenLineage run events for every run that writes, through the openlineage-python client.

A run emits ``START`` when it begins, then ``COMPLETE`` (success or partial) or ``FAIL``,
to the transport of ``lineage:`` in ``lakegate.yaml``: ``file`` (JSON lines appended to
``lineage.path``), ``console`` (the client's logger, at INFO) or ``http`` (``lineage.url``:
a server, posted to ``/api/v1/lineage``, or a full endpoint URL).

* **run**: ``runId`` is a UUID derived from the namespace, the pipeline, lakegate's run id
  and the start time, so START and its end share it. Facets: ``processing_engine``
  (lakegate), ``lakegate`` (custom: lakegate's run id and pipeline) and, on FAIL,
  ``errorMessage``.
* **job**: namespace ``lineage.namespace`` (default: the project's name), name the
  pipeline's. Facets: ``jobType`` (BATCH, LAKEGATE, PIPELINE), ``sql`` (the stages,
  DuckDB dialect), ``documentation`` and ``ownership`` (description and owner, when set).
* **inputs** (https://openlineage.io/docs/spec/naming): the extract's source: ``file`` +
  absolute path or glob; ``postgres://host:port`` + ``database.schema.table``;
  ``mysql://host:port`` + ``database.table``; ``sqlite`` + ``<absolute path>.<table>``;
  a ``query`` is named by its table when it reads one, else by its database; REST
  ``https://host`` + the URL's path. No user, password, query string or header value is
  ever emitted. Then the lake tables the stages read (``lake.X``), named like outputs.
* **output**: the target Delta table: ``file`` + absolute path, or the bucket
  (``s3://b``, ``gs://b``, ``abfss://container@account.dfs.core.windows.net``) + the path
  in it. Facets: ``schema`` (loaded columns, DuckDB types), ``storage``, ``columnLineage``
  (:mod:`lakegate.observe.column_lineage`), ``version`` (the Delta version committed)
  and ``outputStatistics`` (rows loaded; for a local lake, the bytes and files the load's
  commit added, from its ``_delta_log`` entry).

Data quality: ``dataQualityAssertions`` is an *InputDatasetFacet* in the spec (a test
reads what it asserts on, as in the dbt and Great Expectations integrations), so it sits
in ``inputFacets`` only: the pre-load gate's results (on the batch, built from the
extract) on the extract's input, the post-load gate's results on the target table, also
listed as an input since that gate reads it. One assertion per check: ``assertion`` is
the check's kind (the spec's "classification of the test"), ``name`` its id, ``column``
its column (when it has one), ``severity`` error/warn/info, ``params`` its thresholds,
``actual`` what it observed.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

import attr
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
from lakegate.observe.naming import Dataset, redact, source_dataset, uri_dataset
from lakegate.transform import EXTRACT, StageSql, lake_tables, parse_stage

if TYPE_CHECKING:
    from openlineage.client.transport import Transport

    from lakegate.checks.results import ValidationReport
    from lakegate.config.project import Project
    from lakegate.observe import RunContext, RunOutcome

log = logging.getLogger(__name__)

PRODUCER = f"https://pypi.org/project/lakegate/{__version__}/"
LAKEGATE_RUN_FACET_SCHEMA = f"{PRODUCER}#/$defs/LakegateRunFacet"
_SEVERITY = {"critical": "error", "warning": "warn", "info": "info"}
Columns = Sequence[tuple[str, str]]  # [(name, type)]
F = TypeVar("F", bound=ol.BaseFacet)


@attr.define
class LakegateRunFacet(ol.RunFacet):
    """The custom run facet ``lakegate``: lakegate's own run id (``run.runId`` is a UUID
    derived from it) and the pipeline's name."""

    runId: str
    pipeline: str

    @staticmethod
    def _get_schema() -> str:
        return LAKEGATE_RUN_FACET_SCHEMA


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
        """Emit the COMPLETE (success, partial) or FAIL event of ``run``.

        Args:
            run: The run as it started.
            outcome: How it ended: its record, gate reports, columns and Delta commit.

        Raises:
            ConfigError: As :meth:`run_started`.
        """
        self._emit(self._event(run, outcome))

    def table_dataset(self, table: str) -> Dataset:
        """The (namespace, name) of the lake table ``table`` (see :func:`uri_dataset`)."""
        return uri_dataset(self.project.table_uri(table))

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
        stages = _optional("parse the stages", _stages, pipeline) or []
        lake = {
            table: _optional("read a lake table", _delta_columns, self.project.table_uri(table))
            for table in sorted(lake_tables(stages))
        }
        engine = ol.processing_engine_run.ProcessingEngineRunFacet
        facets: dict[str, ol.RunFacet] = {
            "processing_engine": _facet(
                engine, version=__version__, name="lakegate", openlineageAdapterVersion=__version__
            )
        }
        facets["lakegate"] = _facet(LakegateRunFacet, runId=run.run_id, pipeline=pipeline.name)
        state, when = RunState.START, run.started_at
        if record is not None:
            state = RunState.FAIL if record.status == "failed" else RunState.COMPLETE
            when = record.completed_at or dt.datetime.now(dt.UTC)
        if record is not None and state is RunState.FAIL:  # with lakegate's (scrubbed) message
            facets["errorMessage"] = _facet(
                ol.error_message_run.ErrorMessageRunFacet,
                message=redact(record.error_message or "failed", pipeline),
                programmingLanguage="python",
            )
        key = f"{self.namespace}/{pipeline.name}/{run.run_id}".encode()
        job_facets = _job_facets(pipeline, stages)
        return RunEvent(
            eventType=state,
            eventTime=when.isoformat(),
            run=Run(runId=str(generate_static_uuid(run.started_at, key)), facets=facets),
            job=Job(namespace=self.namespace, name=pipeline.name, facets=job_facets),
            inputs=self._inputs(pipeline, lake, outcome),
            outputs=[self._output(pipeline, stages, lake, outcome)],
            producer=PRODUCER,
        )

    def _inputs(
        self, pipeline: Pipeline, lake: dict[str, Columns | None], outcome: RunOutcome | None
    ) -> list[InputDataset]:
        extract = InputDataset(*source_dataset(self.project, pipeline))
        inputs = [extract]
        for table, columns in lake.items():
            schema: dict[str, ol.DatasetFacet] = {"schema": _schema(columns)} if columns else {}
            inputs.append(InputDataset(*self.table_dataset(table), facets=schema))
        if outcome is None:
            return inputs
        if outcome.source_columns is not None:
            extract.facets = {"schema": _schema(outcome.source_columns)}
            stats = ol.input_statistics_input_dataset.InputStatisticsInputDatasetFacet
            rows = outcome.record.rows_extracted
            extract.inputFacets = {"inputStatistics": _facet(stats, rowCount=rows)}
        if outcome.pre_load is not None:
            extract.inputFacets = {**(extract.inputFacets or {}), **_assertions(outcome.pre_load)}
        if outcome.post_load is not None:  # the post-load gate reads the target
            target = self.table_dataset(pipeline.load.target)
            inputs.append(InputDataset(*target, inputFacets=_assertions(outcome.post_load)))
        return inputs

    def _output(
        self,
        pipeline: Pipeline,
        stages: list[StageSql],
        lake: dict[str, Columns | None],
        outcome: RunOutcome | None,
    ) -> OutputDataset:
        target = pipeline.load.target
        storage = ol.storage_dataset.StorageDatasetFacet
        facets: dict[str, Any] = {
            "storage": _facet(storage, storageLayer="delta", fileFormat="parquet")
        }
        output = OutputDataset(*self.table_dataset(target), facets=facets)
        if outcome is None:
            return output
        record = outcome.record
        if outcome.target_columns is not None:
            facets["schema"] = _schema(outcome.target_columns)
            columns = {t: [name for name, _ in c or ()] for t, c in lake.items()}
            if outcome.source_columns is not None:
                columns[EXTRACT] = [name for name, _ in outcome.source_columns]
            extract = source_dataset(self.project, pipeline)
            found = _optional(
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
        output.outputFacets = {"outputStatistics": _facet(stats, rowCount=record.rows_loaded)}
        uri = self.project.table_uri(target)
        commit = _optional("read the load's commit", _load_commit, uri, record.run_id)
        if commit is not None:
            version = ol.dataset_version_dataset.DatasetVersionDatasetFacet
            facets["version"] = _facet(version, datasetVersion=str(commit[0]))
            output.outputFacets["outputStatistics"] = _facet(
                stats, rowCount=record.rows_loaded, size=commit[1], fileCount=commit[2]
            )
        return output


# ---------------------------------------------------------------------- facets


def _stages(pipeline: Pipeline) -> list[StageSql]:
    stages = pipeline.transform.stages
    return [parse_stage(s.name, s.sql, pipeline.resolve, "duckdb") for s in stages]


def _job_facets(pipeline: Pipeline, stages: Sequence[StageSql]) -> dict[str, ol.JobFacet]:
    kind = ol.job_type_job.JobTypeJobFacet
    facets: dict[str, ol.JobFacet] = {
        "jobType": _facet(kind, processingType="BATCH", integration="LAKEGATE", jobType="PIPELINE")
    }
    if stages:
        sql = [f"-- stage {s.name}\n{s.query.sql(dialect='duckdb', pretty=True)}" for s in stages]
        facets["sql"] = _facet(ol.sql_job.SQLJobFacet, query=";\n\n".join(sql), dialect="duckdb")
    meta = pipeline.pipeline
    if meta.description:
        docs = ol.documentation_job.DocumentationJobFacet
        facets["documentation"] = _facet(docs, description=meta.description)
    if meta.owner:
        owners = [ol.ownership_job.Owner(name=meta.owner)]
        facets["ownership"] = _facet(ol.ownership_job.OwnershipJobFacet, owners=owners)
    return facets


def _schema(columns: Columns) -> ol.schema_dataset.SchemaDatasetFacet:
    fields = [
        ol.schema_dataset.SchemaDatasetFacetFields(name=name, type=type_, ordinal_position=i)
        for i, (name, type_) in enumerate(columns, start=1)
    ]
    return _facet(ol.schema_dataset.SchemaDatasetFacet, fields=fields)


def _assertions(report: ValidationReport) -> dict[str, ol.InputDatasetFacet]:
    """``{"dataQualityAssertions": facet}``: one assertion per check result."""
    from lakegate.checks.results import to_jsonable

    assertions = []
    for result in report.results:
        check, columns = result.check, list(result.check.columns)
        params = to_jsonable(check.threshold())
        observed = to_jsonable(result.observed)
        assertions.append(
            ol.data_quality_assertions_dataset.Assertion(
                assertion=check.kind,
                success=bool(result.passed),
                column=columns[0] if len(columns) == 1 else None,
                severity=_SEVERITY.get(check.severity.value, check.severity.value),
                name=check.id,
                actual=None if observed is None else json.dumps(observed, default=str)[:1000],
                params={**params, "columns": columns} if len(columns) > 1 else params or None,
            )
        )
    facet = ol.data_quality_assertions_dataset.DataQualityAssertionsDatasetFacet
    return {"dataQualityAssertions": _facet(facet, assertions=assertions)}


def _delta_columns(uri: str) -> list[tuple[str, str]] | None:
    """A Delta table's columns ``[(name, Delta type)]``, or None when there is no table."""
    if "://" not in uri and not Path(uri, "_delta_log").is_dir():
        return None
    from deltalake import DeltaTable

    fields = DeltaTable(uri).schema().fields
    return [(f.name, str(getattr(f.type, "type", f.type))) for f in fields]


def _load_commit(uri: str, run_id: str) -> tuple[int, int | None, int | None] | None:
    """The Delta version a run's load committed and the bytes and files it added (from
    the commit's ``_delta_log`` entry; None for an object store), or None."""
    from deltalake import DeltaTable

    from lakegate.sinks import RUN_METADATA_KEY

    for entry in DeltaTable(uri).history(limit=20):
        raw = entry.get(RUN_METADATA_KEY)
        if raw and json.loads(raw).get("record", {}).get("run_id") == run_id:
            version = int(entry["version"])
            break
    else:
        return None
    if "://" in uri:
        return version, None, None
    log_file = Path(uri, "_delta_log", f"{version:020d}.json")
    actions = [json.loads(line) for line in log_file.read_text("utf-8").splitlines() if line]
    adds = [a["add"] for a in actions if "add" in a]
    return version, sum(int(a.get("size", 0)) for a in adds), len(adds)


def _facet(kind: Callable[..., F], **fields: Any) -> F:
    """A facet of ``kind``, produced by lakegate."""
    return kind(**fields, producer=PRODUCER)


def _optional(what: str, make: Callable[..., Any], *args: Any) -> Any:
    """``make(*args)``, or None (logged) when it fails: a facet never stops the event."""
    try:
        return make(*args)
    except Exception as exc:
        log.warning("lineage: cannot %s: %s", what, exc)
        return None
