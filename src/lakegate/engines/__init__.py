"""Query engines, registered by name. Each engine's heavy imports stay in its module."""

from __future__ import annotations

from typing import Any

from lakegate.engines.base import Engine
from lakegate.registry import load_plugin

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


__all__ = ["ENGINES", "Engine", "create_engine"]
