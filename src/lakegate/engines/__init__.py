"""Query engines, registered by name. Each engine's heavy imports stay in its module."""

from __future__ import annotations

import importlib
from typing import Any

from lakegate.engines.base import Engine
from lakegate.errors import UserInputError

# name -> "module:Class"; adding an engine adds one line here.
ENGINES: dict[str, str] = {
    "duckdb": "lakegate.engines.duckdb:DuckDBEngine",
}


def create_engine(name: str = "duckdb", **options: Any) -> Engine:
    """Create the engine registered as ``name``.

    Raises:
        UserInputError: No engine has that name.
    """
    try:
        target = ENGINES[name]
    except KeyError:
        raise UserInputError(
            f"unknown engine {name!r}; available: {', '.join(sorted(ENGINES))}"
        ) from None
    module_name, cls_name = target.split(":")
    cls = getattr(importlib.import_module(module_name), cls_name)
    engine: Engine = cls(**options)
    return engine


__all__ = ["ENGINES", "Engine", "create_engine"]
