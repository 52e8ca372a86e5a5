"""Pydantic models of a pipeline file (the seeds' "Universal Pipeline Template")."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    field_validator,
    model_validator,
)

from lakegate.checks.model import Severity
from lakegate.config.durations import parse_duration
from lakegate.config.envvars import expand_document
from lakegate.config.yamlfile import Located, load_yaml, validate_model
from lakegate.errors import ConfigError

Identifier = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PipelineMeta(_Strict):
    name: Identifier
    owner: str | None = None
    description: str | None = None
    schedule: str | None = Field(
        default=None, description="Five-field cron expression (or @daily, ...), for orchestrators."
    )
    sla_minutes: float | None = Field(default=None, gt=0)
    tier: int | None = Field(default=None, ge=0, le=3)
    tags: list[str] = Field(default_factory=list)

    @field_validator("schedule")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        from lakegate.config.schedule import cron_expression

        if value is not None:
            cron_expression(value)
        return value


class CsvConfig(_Strict):
    delimiter: str | None = None
    header: bool = True
    null_values: list[str] = Field(default_factory=lambda: [""])


class FileSource(_Strict):
    """Files: Parquet, CSV or JSON lines; a path, a folder or a glob (relative to the project)."""

    type: Literal["file"]
    path: str
    format: Literal["parquet", "csv", "json"] | None = None
    csv: CsvConfig = Field(default_factory=CsvConfig)


class Reconcile(_Strict):
    """Periodic full-key reconciliation: finds keys deleted at the source (an
    incremental extract cannot see hard deletes).

    The source's merge keys (the load's ``merge_keys``, by the same names at the
    source) are read in full and compared with the target's. Needs a ``merge`` or
    ``scd2`` load; for ``scd2``, ``delete`` closes the key's current version.
    """

    every_runs: int = Field(
        default=1, ge=1, description="Reconcile on every N-th successful run (1: every run)."
    )
    action: Literal["report", "delete", "soft_delete"] = Field(
        default="report",
        description="report: count them in the run log; delete: delete them from the "
        "target; soft_delete: set soft_delete_column to true on them.",
    )
    soft_delete_column: str = Field(
        default="_deleted",
        description="soft_delete: the boolean column added to the target (false on load).",
    )
    max_delete_fraction: float = Field(
        default=0.1,
        ge=0,
        le=1,
        description="Fail the run, before anything is written, when more than this share "
        "of the target's keys is missing at the source (a truncated or wrong source).",
    )


class SqlSource(_Strict):
    """A table or query of a SQL database: PostgreSQL, MySQL/MariaDB or SQLite.

    ``url`` is a SQLAlchemy-style URL (``postgresql://user:pass@host:5432/db``,
    ``mysql://...`` or ``mariadb://...``, ``sqlite:///path.db``); write credentials
    as ``${ENV}`` references. It is kept secret: never printed or logged.
    """

    type: Literal["sql"]
    url: SecretStr
    table: str | None = Field(default=None, description="A table, optionally schema.table.")
    query: str | None = Field(default=None, description="A SELECT (instead of table).")
    batch_rows: int = Field(default=100_000, ge=1, description="Rows per Arrow batch.")
    connect_timeout_seconds: float | None = Field(
        default=None,
        gt=0,
        description="Seconds to wait for the server to accept the connection and finish "
        "its handshake (default: the URL's connect_timeout, else 10).",
    )
    read_timeout_seconds: float | None = Field(
        default=None,
        gt=0,
        description="Seconds to wait for the server's next answer: the query's first rows, "
        "each next batch (default: the URL's read_timeout, else 300). A query that computes "
        "longer before its first row needs more.",
    )
    reconcile: Reconcile | None = None
    partition_column: str | None = Field(
        default=None,
        min_length=1,
        description="Spark engine only: read in num_partitions parallel JDBC queries, "
        "split on this numeric, date or timestamp column (on duckdb: refused).",
    )
    num_partitions: int | None = Field(
        default=None,
        ge=1,
        description="Spark engine only: how many parallel reads partition_column splits "
        "the source into (needs partition_column).",
    )
    lower_bound: int | float | dt.datetime | dt.date | None = Field(
        default=None,
        description="Spark engine only: partition_column's value where the first "
        "partition's stride ends (rows below it are still read, by the first partition); "
        "default: the column's minimum among the rows read, queried first.",
    )
    upper_bound: int | float | dt.datetime | dt.date | None = Field(
        default=None,
        description="Spark engine only: partition_column's value where the last partition's "
        "stride starts (rows above it are still read, by the last partition); default: "
        "the column's maximum among the rows read, queried first.",
    )

    @property
    def partitioning_keys(self) -> tuple[str, ...]:
        """The Spark-only partitioning keys this source sets (empty: none)."""
        keys = ("partition_column", "num_partitions", "lower_bound", "upper_bound")
        return tuple(k for k in keys if getattr(self, k) is not None)

    @model_validator(mode="after")
    def _table_or_query(self) -> SqlSource:
        if (self.table is None) == (self.query is None):
            raise ValueError("give exactly one of table or query")
        self._check_partitioning()
        if "${" in self.url.get_secret_value():  # a template (lakegate new pipeline)
            return self
        from lakegate.sources.sql import check_source  # the URL's options, the query

        try:
            check_source(self)
        except ConfigError as exc:
            raise ValueError(exc.message.removeprefix("extract.source.")) from None
        return self

    def _check_partitioning(self) -> None:
        keys = self.partitioning_keys
        if keys and self.partition_column is None:
            raise ValueError(f"{keys[0]} needs partition_column (a partitioned Spark read)")
        if self.partition_column is not None and self.num_partitions is None:
            raise ValueError("partition_column needs num_partitions (how many parallel reads)")
        lower, upper = self.lower_bound, self.upper_bound
        if lower is None or upper is None:
            return
        if isinstance(lower, dt.date) != isinstance(upper, dt.date):
            raise ValueError("lower_bound and upper_bound must both be numbers or both dates")
        if isinstance(lower, dt.date) and isinstance(upper, dt.date):
            lower, upper = _instant(lower), _instant(upper)
        if lower > upper:  # type: ignore[operator]
            raise ValueError(
                f"lower_bound {self.lower_bound} is above upper_bound {self.upper_bound}"
            )


def _instant(value: dt.date) -> dt.datetime:
    """A date or datetime as an aware datetime (naive ones and dates as UTC), to compare."""
    if not isinstance(value, dt.datetime):
        value = dt.datetime(value.year, value.month, value.day)
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


class Pagination(_Strict):
    """How a REST API pages its records."""

    type: Literal["none", "offset", "page", "cursor", "link_header"] = "none"
    limit_param: str = "limit"
    limit: int = Field(default=100, ge=1, description="Records asked for per page.")
    offset_param: str = "offset"
    page_param: str = "page"
    start_page: int = 1
    cursor_param: str = "cursor"
    cursor_path: str | None = Field(
        default=None, description="Dotted JSON path of the next cursor in a response."
    )

    @model_validator(mode="after")
    def _cursor_needs_path(self) -> Pagination:
        if self.type == "cursor" and not self.cursor_path:
            raise ValueError("cursor pagination needs cursor_path")
        return self


class RestSource(_Strict):
    """Records of a JSON REST API, fetched with httpx, page by page.

    Header values may hold secrets (``Authorization: "Bearer ${API_TOKEN}"``): they are
    never printed or logged.
    """

    type: Literal["rest"]
    url: str
    records_path: str | None = Field(
        default=None,
        description="Dotted JSON path to the list of records (default: the body is the list).",
    )
    params: dict[str, str | int | float | bool] = Field(default_factory=dict)
    headers: dict[str, SecretStr] = Field(default_factory=dict)
    pagination: Pagination = Field(default_factory=Pagination)
    incremental_param: str | None = Field(
        default=None, description="Query parameter that receives the watermark (incremental)."
    )
    timeout_seconds: float = Field(default=30, gt=0)
    max_retries: int = Field(default=5, ge=0)
    backoff_seconds: float = Field(default=1, ge=0, description="First retry delay (doubles).")
    max_pages: int | None = Field(default=None, ge=1, description="Stop after this many pages.")


Source = Annotated[FileSource | SqlSource | RestSource, Field(discriminator="type")]


class Extract(_Strict):
    source: Source
    strategy: Literal["full", "incremental", "new_files"] = "full"
    incremental_key: str | None = None
    lookback: str | float | None = Field(default=None, description="e.g. '3 days' or seconds")

    @model_validator(mode="after")
    def _incremental_needs_key(self) -> Extract:
        if self.strategy == "incremental" and not self.incremental_key:
            raise ValueError("strategy 'incremental' needs incremental_key")
        if self.lookback is not None:
            parse_duration(self.lookback)
        return self

    @property
    def lookback_seconds(self) -> float:
        return parse_duration(self.lookback) if self.lookback is not None else 0.0


class Stage(_Strict):
    name: Identifier
    sql: str = Field(description="A SELECT, or the path of a .sql file holding one.")


class Transform(_Strict):
    stages: list[Stage] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_names(self) -> Transform:
        names = [s.name for s in self.stages]
        for reserved in ("extract", "lake"):
            if reserved in names:
                raise ValueError(f"a stage cannot be called {reserved!r}")
        if len(set(names)) != len(names):
            raise ValueError("stage names must be unique")
        return self


class Scd2Config(_Strict):
    valid_from: str = "valid_from"
    valid_to: str = "valid_to"
    is_current: str = "is_current"


class Load(_Strict):
    target: Identifier
    strategy: Literal["append", "merge", "overwrite", "partition_overwrite", "scd2"] = "append"
    merge_keys: list[str] = Field(default_factory=list)
    order_by: str | None = Field(default=None, description="Which duplicate wins inside a batch.")
    partition_by: list[str] = Field(default_factory=list)
    scd2: Scd2Config = Field(default_factory=Scd2Config)

    @model_validator(mode="after")
    def _strategy_needs(self) -> Load:
        if self.strategy in ("merge", "scd2") and not self.merge_keys:
            raise ValueError(f"strategy {self.strategy!r} needs merge_keys")
        if self.strategy == "partition_overwrite" and not self.partition_by:
            raise ValueError("strategy 'partition_overwrite' needs partition_by")
        return self


class GateCheck(BaseModel):
    """A gate check: ``{type, severity, id}`` plus the type's parameters, inline
    (``{type: row_count, min: 1}``) or under ``params``. Parameters are validated
    per type when the gate is compiled, so a misspelt one is an error."""

    model_config = ConfigDict(extra="allow", frozen=True)
    type: str
    severity: Severity = Severity.CRITICAL
    id: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)

    @property
    def all_params(self) -> dict[str, Any]:
        return {**(self.model_extra or {}), **self.params}


class QualityGates(_Strict):
    pre_load: Literal["contract", "none"] | list[GateCheck] = "contract"
    post_load: list[GateCheck] = Field(default_factory=list)


class ErrorHandling(_Strict):
    strategy: Literal["fail-fast", "dead-letter", "retry", "skip-and-alert"] = "dead-letter"
    max_retries: int = Field(default=3, ge=0)
    retry_delay_seconds: float = Field(default=300, ge=0)
    max_rejected_fraction: float = Field(default=0.05, ge=0, le=1)


class Pipeline(_Strict):
    """A pipeline file. Use :func:`load_pipeline`: it reports errors with file and line."""

    pipeline: PipelineMeta
    extract: Extract
    transform: Transform = Field(default_factory=Transform)
    load: Load
    contract: str | None = Field(default=None, description="Path of the data contract.")
    quality_gates: QualityGates = Field(default_factory=QualityGates)
    error_handling: ErrorHandling = Field(default_factory=ErrorHandling)

    _source: Located | None = PrivateAttr(default=None)

    @property
    def name(self) -> str:
        return self.pipeline.name

    @property
    def path(self) -> Path | None:
        return self._source.path if self._source else None

    def resolve(self, relative: str) -> Path:
        """A path from the pipeline file, relative to the file's folder's parent project.

        Paths are resolved against the folder holding the pipeline file first, then
        its parent (the usual ``pipelines/`` layout), and the first that exists wins.
        """
        p = Path(relative).expanduser()
        if p.is_absolute() or self.path is None:
            return p
        here = self.path.resolve().parent
        for base in (here, here.parent):
            if (base / p).exists():
                return base / p
        return here.parent / p

    def error(self, message: str, loc: tuple[str | int, ...]) -> ConfigError:
        """A ConfigError positioned at ``loc`` (a key path) in the pipeline file."""
        if self._source is None:
            return ConfigError(message, key=".".join(map(str, loc)) or None)
        return self._source.error(message, loc)


def load_pipeline(path: str | Path, env: dict[str, str] | None = None) -> Pipeline:
    """Read and validate a pipeline file, expanding ``${VAR}`` in every string.

    Raises:
        ConfigError: Malformed YAML, an unknown or missing key, a wrong value or an
            unset variable; the message names the file, line, column and key.
    """
    doc = expand_document(load_yaml(path), env)
    pipeline = validate_model(Pipeline, doc)
    pipeline._source = doc
    return pipeline


def project_pipelines(
    project: Any, *, on_error: Callable[[Path, ConfigError], None] | None = None
) -> list[Pipeline]:
    """Every pipeline file (``*.yaml``, ``*.yml``) in the project's ``pipelines`` folder,
    sorted by file name.

    Args:
        project: The :class:`~lakegate.config.project.Project`.
        on_error: Called with the path and the error of a file that does not load (an
            invalid file, an unset ``${VAR}``), which is then skipped; None raises.

    Raises:
        ConfigError: A file does not load and ``on_error`` is None.
    """
    folder = project.path(project.pipelines)
    found = []
    for path in sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")]):
        try:
            found.append(load_pipeline(path))
        except ConfigError as exc:
            if on_error is None:
                raise
            on_error(path, exc)
    return found


def pipeline_json_schema() -> dict[str, Any]:
    """The JSON Schema of pipeline files, for editors."""
    schema = Pipeline.model_json_schema()
    schema["title"] = "lakegate pipeline"
    return schema
