"""lakegate: contract-first data pipelines.

``import lakegate`` stays light: engines (duckdb, deltalake, ...) are imported
only by the modules that use them.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("lakegate")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
