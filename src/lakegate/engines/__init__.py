"""Query engines, registered by name. Each engine's heavy imports stay in its module."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lakegate.engines.base import Engine
from lakegate.registry import load_plugin

if TYPE_CHECKING:
    from lakegate.config.project import Project

# name -> "module:Class"; adding an engine adds one line here.
ENGINES: dict[str, str] = {
    "duckdb": "lakegate.engines.duckdb:DuckDBEngine",
    "spark": "lakegate.engines.spark:SparkEngine",
}


def create_engine(name: str = "duckdb", **options: Any) -> Engine:
    """Create the engine registered as ``name``.

    Raises:
        UserInputError: No engine has that name.
    """
    engine: Engine = load_plugin(ENGINES, name, "engine")(**options)
    return engine


def project_engine(
    project: Project | None, name: str | None = None, *, pipeline: str | None = None
) -> Engine:
    """The engine a project configures, for one pipeline run or one command.

    Args:
        project: The project (its ``engine``, ``engine_memory_limit`` and ``spark:``
            block), or None outside a project (the defaults).
        name: An engine to use instead of the project's (``--engine spark``).
        pipeline: The pipeline run on it, named in Spark's application name.

    Raises:
        UserInputError: No engine has that name.
        ConfigError: The engine cannot start (pyspark missing, no resolved jars).
    """
    from lakegate.config.project import SparkConfig

    chosen = name or (project.engine if project is not None else "duckdb")
    if chosen == "spark":
        spark = project.spark if project is not None else SparkConfig()
        return create_engine("spark", **spark.session_options(pipeline))
    if chosen == "duckdb" and project is not None:
        return create_engine(
            "duckdb",
            memory_limit=project.engine_memory_limit,
            temp_directory=str(project.path(".lakegate/tmp")),
        )
    return create_engine(chosen)


__all__ = ["ENGINES", "Engine", "create_engine", "project_engine"]
