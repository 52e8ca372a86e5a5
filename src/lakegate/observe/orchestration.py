"""The orchestrator run a lakegate run belongs to: its nominal time and parent run.

When Airflow, Prefect or Dagster start a pipeline (through :func:`lakegate.api.run`,
or ``lakegate run`` in a shell task), the run's OpenLineage events carry the
``nominalTime`` facet (the schedule time the run is for) and the ``parent`` facet (the
orchestrator's run that started it, and its root), so lineage servers nest the
lakegate job under the orchestrator's task. They come from the caller's arguments,
else from the environment, in the variables OpenLineage integrations share
(https://openlineage.io/docs/spec/facets/run-facets/parent_run, dbt-ol's convention):

* ``OPENLINEAGE_PARENT_ID`` = ``<namespace>/<job name>/<run id>`` (the Airflow
  OpenLineage provider's ``lineage_parent_id`` macro writes this form), or the three
  parts in ``OPENLINEAGE_PARENT_JOB_NAMESPACE``, ``OPENLINEAGE_PARENT_JOB_NAME`` and
  ``OPENLINEAGE_PARENT_RUN_ID``;
* ``OPENLINEAGE_ROOT_PARENT_ID`` (or ``OPENLINEAGE_ROOT_PARENT_JOB_NAMESPACE``, ``..._JOB_NAME``,
  ``..._RUN_ID``): the root of that hierarchy (the DAG run), when known;
* the nominal start time: ``OPENLINEAGE_NOMINAL_START_TIME``, else Airflow's logical date
  (``AIRFLOW_CTX_LOGICAL_DATE``, or ``AIRFLOW_CTX_EXECUTION_DATE`` before Airflow 3),
  which Airflow sets in the environment of every Python task; the nominal end time:
  ``OPENLINEAGE_NOMINAL_END_TIME``.

A run id must be a UUID (the spec's ``format: uuid``). A malformed environment value is
logged and ignored (lineage never stops a run); a malformed argument is an input error.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, TypeVar

from lakegate.errors import UserInputError

log = logging.getLogger(__name__)

PARENT_ENV = "OPENLINEAGE_PARENT_ID"
ROOT_ENV = "OPENLINEAGE_ROOT_PARENT_ID"
NOMINAL_START_ENV = ("OPENLINEAGE_NOMINAL_START_TIME", "AIRFLOW_CTX_LOGICAL_DATE")
NOMINAL_START_ENV_AIRFLOW2 = "AIRFLOW_CTX_EXECUTION_DATE"
NOMINAL_END_ENV = "OPENLINEAGE_NOMINAL_END_TIME"
T = TypeVar("T")


@dataclass(frozen=True)
class ParentRun:
    """An OpenLineage run (of another job) that started this one.

    Attributes:
        namespace: The parent job's namespace (e.g. the Airflow OpenLineage namespace).
        name: The parent job's name (e.g. ``<dag_id>.<task_id>``).
        run_id: The parent run's id, a UUID.
    """

    namespace: str
    name: str
    run_id: str

    @classmethod
    def parse(cls, text: str) -> ParentRun:
        """Read ``<namespace>/<job name>/<run id>`` (the job name may hold slashes).

        Raises:
            UserInputError: Fewer than three parts, an empty part, or a run id that is
                not a UUID.
        """
        namespace, _, rest = text.strip().partition("/")
        name, _, run_id = rest.rpartition("/")
        return cls.of(namespace, name, run_id, what=f"parent run {text!r}")

    @classmethod
    def of(cls, namespace: str, name: str, run_id: str, *, what: str = "parent run") -> ParentRun:
        """A parent run from its parts, checked.

        Raises:
            UserInputError: An empty part, or a run id that is not a UUID.
        """
        if not (namespace and name and run_id):
            raise UserInputError(f"{what}: expected <namespace>/<job name>/<run id>")
        try:
            uuid.UUID(run_id)
        except ValueError:
            raise UserInputError(f"{what}: the run id {run_id!r} is not a UUID") from None
        return cls(namespace, name, run_id.lower())


@dataclass(frozen=True)
class Orchestration:
    """The orchestrator's run a lakegate run belongs to.

    Attributes:
        nominal_start: The schedule time the run is for (aware), or None.
        nominal_end: The end of its interval (excluded; the next run's start), or None.
        parent: The orchestrator's run that started this one (its task run), or None.
        root: The root of that run's hierarchy (its DAG or flow run), or None.
    """

    nominal_start: dt.datetime | None = None
    nominal_end: dt.datetime | None = None
    parent: ParentRun | None = None
    root: ParentRun | None = None

    @property
    def empty(self) -> bool:
        """True when nothing is known."""
        return self == Orchestration()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Orchestration:
        """What the environment says (see the module docstring); malformed values are
        logged and left out.

        Args:
            environ: The environment; default ``os.environ``.
        """
        env = os.environ if environ is None else environ
        start_vars = [*NOMINAL_START_ENV, NOMINAL_START_ENV_AIRFLOW2]
        return cls(
            nominal_start=_ignoring(_time, next((env[v] for v in start_vars if env.get(v)), None)),
            nominal_end=_ignoring(_time, env.get(NOMINAL_END_ENV)),
            parent=_ignoring(_run_from_env, env, "OPENLINEAGE_PARENT", PARENT_ENV),
            root=_ignoring(_run_from_env, env, "OPENLINEAGE_ROOT_PARENT", ROOT_ENV),
        )

    @classmethod
    def given(
        cls,
        *,
        nominal_time: str | dt.datetime | None = None,
        parent_run: str | ParentRun | None = None,
        root_run: str | ParentRun | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> Orchestration:
        """The environment's values (:meth:`from_env`), overridden by those given.

        Args:
            nominal_time: The nominal start time (ISO 8601 text, naive means UTC, or a
                datetime), e.g. Airflow's ``{{ logical_date }}``.
            parent_run: ``<namespace>/<job name>/<run id>`` or a :class:`ParentRun`.
            root_run: The root run, in the same forms.
            environ: The environment; default ``os.environ``.

        Raises:
            UserInputError: A value given cannot be read.
        """
        found = cls.from_env(environ)
        if nominal_time is not None:
            found = replace(found, nominal_start=_time(nominal_time), nominal_end=None)
        if parent_run is not None:
            found = replace(found, parent=_run(parent_run))
        if root_run is not None:
            found = replace(found, root=_run(root_run))
        return found


def _run(value: str | ParentRun) -> ParentRun:
    return value if isinstance(value, ParentRun) else ParentRun.parse(value)


def _time(value: str | dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
        except ValueError:
            raise UserInputError(f"nominal time {value!r} is not an ISO 8601 time") from None
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value


def _run_from_env(env: Mapping[str, str], prefix: str, joined: str) -> ParentRun | None:
    if env.get(joined):
        return ParentRun.parse(env[joined])
    parts = [env.get(f"{prefix}_{part}", "") for part in ("JOB_NAMESPACE", "JOB_NAME", "RUN_ID")]
    return ParentRun.of(*parts, what=f"{prefix}_*") if any(parts) else None


def _ignoring(read: Callable[..., T], *args: Any) -> T | None:
    """``read(*args)``, or None (logged) when an environment value is malformed."""
    try:
        return read(*args)
    except UserInputError as exc:
        log.warning("lineage: ignored the environment's %s", exc)
        return None
