"""lakegate: contract-first data pipelines.

``import lakegate`` stays light: engines (duckdb, deltalake, ...) are imported
only by the modules that use them.
"""

from __future__ import annotations

# The one place the version is written (pyproject.toml reads it from here).
__version__ = "0.1.0"

__all__ = ["__version__"]
