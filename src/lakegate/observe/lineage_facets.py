"""The OpenLineage facets of lakegate's run events (:mod:`lakegate.observe.lineage`).

Standard facets are built with the openlineage-python classes; lakegate's one custom
facet, ``lakegate`` (:class:`LakegateRunFacet`), has its JSON schema shipped in the
package (``lakegate/observe/schemas/1-0-0/LakegateRunFacet.json``, read with
:func:`facet_schema`, served by ``lakegate serve`` at ``/openlineage/1-0-0/...``) and kept
at the same path of lakegate's repository, which its ``_schemaURL`` names.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import attr
from openlineage.client import facet_v2 as ol

from lakegate import __version__

if TYPE_CHECKING:
    from lakegate.checks.results import ValidationReport
    from lakegate.config.pipeline import Pipeline
    from lakegate.observe.orchestration import Orchestration, ParentRun
    from lakegate.transform import StageSql

log = logging.getLogger(__name__)

PRODUCER = f"https://pypi.org/project/lakegate/{__version__}/"
# The custom facet's schema: a file of the package, at the same path in the repository.
FACET_SCHEMA_PATH = "schemas/1-0-0/LakegateRunFacet.json"  # in lakegate/observe
SCHEMA_BASE_URL = "https://raw.githubusercontent.com/lakegate/lakegate/main/src/lakegate/observe/"
LAKEGATE_RUN_FACET_SCHEMA = f"{SCHEMA_BASE_URL}{FACET_SCHEMA_PATH}#/$defs/LakegateRunFacet"
_SEVERITY = {"critical": "error", "warning": "warn", "info": "info"}
Columns = Sequence[tuple[str, str]]  # [(name, type)]
F = TypeVar("F", bound=ol.BaseFacet)


@attr.define
class LakegateRunFacet(ol.RunFacet):
    """The custom run facet ``lakegate``: lakegate's own run id (``run.runId`` is a UUID
    derived from it), the pipeline's name, and the engine that ran it (``name``,
    ``version``; for Spark the application's ``master``, ``appName``, ``appId``). Its
    schema: :func:`facet_schema`."""

    runId: str
    pipeline: str
    engine: dict[str, str] | None = None

    @staticmethod
    def _get_schema() -> str:
        return LAKEGATE_RUN_FACET_SCHEMA


def facet_schema(path: str = FACET_SCHEMA_PATH) -> dict[str, Any]:
    """A JSON schema lakegate ships for its custom facets.

    Args:
        path: Its path inside the ``lakegate.observe`` package (default: the
            ``lakegate`` run facet's, whose ``$id`` is ``LAKEGATE_RUN_FACET_SCHEMA``
            without the fragment).

    Raises:
        FileNotFoundError: No such schema in the package.
    """
    text = resources.files("lakegate.observe").joinpath(path).read_text("utf-8")
    doc: dict[str, Any] = json.loads(text)
    return doc


def facet(kind: Callable[..., F], **fields: Any) -> F:
    """A facet of ``kind``, produced by lakegate."""
    return kind(**fields, producer=PRODUCER)


def orchestration_facets(
    orchestration: Orchestration, parent_of: ParentRun | None = None
) -> dict[str, ol.RunFacet]:
    """``nominalTime`` and ``parent`` run facets.

    Args:
        orchestration: The orchestrator's run (nominal time, parent and root runs).
        parent_of: The parent run to name instead of ``orchestration.parent`` (a gate's
            run names the pipeline's run), or None.
    """
    facets: dict[str, ol.RunFacet] = {}
    if orchestration.nominal_start is not None:
        end = orchestration.nominal_end
        facets["nominalTime"] = facet(
            ol.nominal_time_run.NominalTimeRunFacet,
            nominalStartTime=orchestration.nominal_start.isoformat(),
            nominalEndTime=end.isoformat() if end is not None else None,
        )
    parent = parent_of or orchestration.parent
    if parent is not None:
        p = ol.parent_run
        # a pipeline run's root is the orchestrator's; a gate run's is that, or the top
        # of its hierarchy
        root = orchestration.root
        if parent_of is not None:
            root = root or orchestration.parent or parent_of
        facets["parent"] = facet(
            p.ParentRunFacet,
            run=p.Run(runId=parent.run_id),
            job=p.Job(namespace=parent.namespace, name=parent.name),
            root=None
            if root is None
            else p.Root(
                run=p.RootRun(runId=root.run_id),
                job=p.RootJob(namespace=root.namespace, name=root.name),
            ),
        )
    return facets


def job_facets(
    pipeline: Pipeline, stages: Sequence[StageSql], job_type: str = "PIPELINE"
) -> dict[str, ol.JobFacet]:
    """``jobType``, ``sql`` (the stages, DuckDB dialect), ``documentation`` and
    ``ownership`` of a pipeline's job (``job_type``: ``PIPELINE``, or ``TEST`` for a gate)."""
    kind = ol.job_type_job.JobTypeJobFacet
    facets: dict[str, ol.JobFacet] = {
        "jobType": facet(kind, processingType="BATCH", integration="LAKEGATE", jobType=job_type)
    }
    if stages:
        sql = [f"-- stage {s.name}\n{s.query.sql(dialect='duckdb', pretty=True)}" for s in stages]
        facets["sql"] = facet(ol.sql_job.SQLJobFacet, query=";\n\n".join(sql), dialect="duckdb")
    meta = pipeline.pipeline
    if meta.description:
        docs = ol.documentation_job.DocumentationJobFacet
        facets["documentation"] = facet(docs, description=meta.description)
    if meta.owner:
        owners = [ol.ownership_job.Owner(name=meta.owner)]
        facets["ownership"] = facet(ol.ownership_job.OwnershipJobFacet, owners=owners)
    return facets


def schema(columns: Columns) -> ol.schema_dataset.SchemaDatasetFacet:
    """The ``schema`` facet of ``[(name, type), ...]``."""
    fields = [
        ol.schema_dataset.SchemaDatasetFacetFields(name=name, type=type_, ordinal_position=i)
        for i, (name, type_) in enumerate(columns, start=1)
    ]
    return facet(ol.schema_dataset.SchemaDatasetFacet, fields=fields)


def assertions(report: ValidationReport) -> dict[str, ol.InputDatasetFacet]:
    """``{"dataQualityAssertions": facet}``: one assertion per check result."""
    from lakegate.checks.results import to_jsonable

    found = []
    for result in report.results:
        check, columns = result.check, list(result.check.columns)
        params = to_jsonable(check.threshold())
        observed = to_jsonable(result.observed)
        found.append(
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
    kind = ol.data_quality_assertions_dataset.DataQualityAssertionsDatasetFacet
    return {"dataQualityAssertions": facet(kind, assertions=found)}


def delta_columns(uri: str) -> list[tuple[str, str]] | None:
    """A Delta table's columns ``[(name, Delta type)]``, or None when there is no table."""
    if "://" not in uri and not Path(uri, "_delta_log").is_dir():
        return None
    from deltalake import DeltaTable

    fields = DeltaTable(uri).schema().fields
    return [(f.name, str(getattr(f.type, "type", f.type))) for f in fields]


def load_commit(uri: str, run_id: str) -> tuple[int, int | None, int | None] | None:
    """The Delta version a run's load committed and the bytes and files it added (from
    the commit's ``_delta_log`` entry; None for an object store), or None."""
    from deltalake import DeltaTable

    from lakegate.sinks import RUN_METADATA_KEY
    from lakegate.sinks.maintenance import commit_metadata

    for entry in DeltaTable(uri).history(limit=20):
        raw = commit_metadata(entry).get(RUN_METADATA_KEY)
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


def optional(what: str, make: Callable[..., Any], *args: Any) -> Any:
    """``make(*args)``, or None (logged) when it fails: a facet never stops the event."""
    try:
        return make(*args)
    except Exception as exc:
        log.warning("lineage: cannot %s: %s", what, exc)
        return None
