"""The project file ``lakegate.yaml``: where the lake, the state and the outputs live."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator

from lakegate.config.envvars import expand_document
from lakegate.config.yamlfile import load_yaml, validate_model
from lakegate.errors import ConfigError

PROJECT_FILE = "lakegate.yaml"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LineageConfig(_Strict):
    transport: Literal["file", "console", "http", "none"] = "file"
    path: str = ".lakegate/lineage.jsonl"
    url: str | None = None
    namespace: str | None = Field(default=None, description="Defaults to the project name.")


class MetricsConfig(_Strict):
    textfile: str | None = ".lakegate/metrics.prom"
    pushgateway: str | None = None


class SparkConfig(_Strict):
    """The ``spark:`` block: the SparkSession the ``spark`` engine runs on.

    Attributes:
        master: The Spark master URL: ``local[*]`` (every core of this machine),
            ``local[N]``, ``spark://host:7077``, ``yarn``, ``k8s://...``.
        app_name: The application name the cluster manager and the Spark UI show;
            ``{pipeline}`` is replaced by the pipeline's name (``lakegate`` outside a run).
        conf: Spark configuration passed through as given (``spark.sql.shuffle.partitions``,
            ``spark.executor.memory``, ...); values are strings. lakegate's own settings
            (UTC session time zone, the Delta extensions) apply first, these override.
        jars: ``auto``: on a local master, the jars ``make services`` resolved (Delta,
            Kafka, JDBC drivers); a cluster brings its own. A list of jar paths, or null
            for none.
    """

    master: str = Field(default="local[*]", min_length=1)
    app_name: str = Field(default="lakegate-{pipeline}", min_length=1)
    conf: dict[str, str] = Field(default_factory=dict)
    jars: Literal["auto"] | list[str] | None = "auto"

    @field_validator("conf", mode="before")
    @classmethod
    def _conf_as_text(cls, value: Any) -> Any:
        # YAML reads 8 as an int and true as a bool; Spark takes every value as text.
        if isinstance(value, dict):
            return {
                str(k): (str(v).lower() if isinstance(v, bool) else str(v))
                for k, v in value.items()
            }
        return value

    def session_options(self, pipeline: str | None = None) -> dict[str, Any]:
        """The keyword arguments of :class:`lakegate.engines.spark.SparkEngine`."""
        return {
            "master": self.master,
            "app_name": self.app_name.replace("{pipeline}", pipeline or "lakegate"),
            "conf": dict(self.conf),
            "jars": self.jars,
        }


class Project(_Strict):
    """A lakegate project.

    Relative paths (lake, SQLite state, lineage and metrics files) are relative
    to the folder holding ``lakegate.yaml``; :attr:`root` is that folder.
    """

    name: str = Field(pattern=r"^[A-Za-z0-9_.-]+$")
    lake: str = "./lake"
    state: str = "sqlite:///.lakegate/state.db"
    engine: Literal["duckdb", "spark"] = Field(
        default="duckdb",
        description="duckdb: embedded, in the lakegate process (the default). spark: "
        "Apache Spark with Delta Lake on Spark, on the session the spark: block describes.",
    )
    engine_memory_limit: str = Field(
        default="2GB",
        pattern=r"^\d+(\.\d+)?\s*[KMGT]i?B$",
        description="Memory the engine may use (e.g. 2GB); past it, it spills to .lakegate/tmp.",
    )
    spark: SparkConfig = Field(
        default_factory=SparkConfig,
        description="The SparkSession of engine spark (and of --engine spark).",
    )
    lineage: LineageConfig = Field(default_factory=LineageConfig)
    metrics: MetricsConfig = Field(default_factory=MetricsConfig)
    pipelines: str = Field(default="pipelines", description="Folder of pipeline YAML files.")
    pricing: dict[str, Any] = Field(
        default_factory=dict,
        description="Overrides of lakegate's pricing table (lakegate/analyze/pricing.yaml) "
        "for `lakegate cost`, deep-merged over it: e.g. {snowflake: {edition: enterprise}}.",
    )

    _root: Path = PrivateAttr(default_factory=Path.cwd)

    @property
    def root(self) -> Path:
        return self._root

    def path(self, relative: str) -> Path:
        """``relative`` resolved against the project root (absolute paths stay)."""
        p = Path(relative).expanduser()
        return p if p.is_absolute() else self._root / p

    @property
    def lake_uri(self) -> str:
        """The lake root: an object-store URL as given, or an absolute local path."""
        return self.lake if "://" in self.lake else str(self.path(self.lake))

    @property
    def state_url(self) -> str:
        """The state store's SQLAlchemy URL, a relative SQLite path made absolute."""
        prefix = "sqlite:///"
        if self.state.startswith(prefix) and not self.state.startswith(prefix + "/"):
            return prefix + str(self.path(self.state[len(prefix) :]))
        return self.state

    def table_uri(self, table: str) -> str:
        """Where the Delta table ``table`` lives in the lake."""
        return f"{self.lake_uri.rstrip('/')}/{table}"


def find_project_file(start: Path | None = None) -> Path | None:
    """The nearest ``lakegate.yaml`` in ``start`` or its parents, or None."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / PROJECT_FILE
        if candidate.is_file():
            return candidate
    return None


def load_project(path: str | Path | None = None, env: dict[str, str] | None = None) -> Project:
    """Load ``lakegate.yaml`` (found upwards from the working directory when ``path`` is None).

    Raises:
        ConfigError: No project file, or an invalid one (file:line:column: key: problem).
    """
    file = Path(path) if path is not None else find_project_file()
    if file is None:
        raise ConfigError(f"no {PROJECT_FILE} here or in any parent folder (run `lakegate init`)")
    if file.is_dir():
        file = file / PROJECT_FILE
    doc = expand_document(load_yaml(file), env)
    project = validate_model(Project, doc)
    project._root = file.resolve().parent
    return project


def project_json_schema() -> dict[str, Any]:
    """The JSON Schema of ``lakegate.yaml``."""
    schema = Project.model_json_schema()
    schema["title"] = "lakegate project"
    return schema
