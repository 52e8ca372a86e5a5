"""Where the jars of a local Spark session come from: the folder ``make services`` fills.

Maven copies Delta Lake, the Kafka and Avro sources, the JDBC drivers and Iceberg, with their
own dependencies, into ``build/jvm/spark/`` (``jvm/spark/pom.xml``). pyspark ships Spark and
many of those dependencies itself, in the versions its Spark was built with; a second copy of
one of them on ``spark.jars`` (an older Jackson, say) breaks the session, so every jar whose
artifact pyspark's own ``jars/`` folder already holds is left out.

This module imports nothing heavy: pyspark's location is found without importing it.
"""

from __future__ import annotations

import importlib.util
import os
import re
from pathlib import Path

from lakegate.errors import ConfigError

JARS_ENV = "LAKEGATE_SPARK_JARS"
# artifact-VERSION.jar, the version starting at the last "-" followed by digits.digits.
_VERSIONED = re.compile(r"^(?P<artifact>.+)-\d+\.\d+[\w.+-]*\.jar$")


def artifact_name(jar: str) -> str:
    """``jackson-core-2.13.5.jar`` -> ``jackson-core``: the artifact id without its version."""
    match = _VERSIONED.match(Path(jar).name)
    return match.group("artifact") if match else Path(jar).stem


def pyspark_jars_dir() -> Path | None:
    """pyspark's own ``jars/`` folder, or None when pyspark is not installed."""
    spec = importlib.util.find_spec("pyspark")
    if spec is None or spec.origin is None:
        return None
    folder = Path(spec.origin).parent / "jars"
    return folder if folder.is_dir() else None


def find_jars_dir(start: Path | None = None) -> Path | None:
    """The resolved jar folder: ``$LAKEGATE_SPARK_JARS``, else ``build/jvm/spark`` in the
    nearest of ``start`` (default: the working directory), its parents, or this checkout."""
    if os.environ.get(JARS_ENV):
        return Path(os.environ[JARS_ENV])
    here = (start or Path.cwd()).resolve()
    checkout = Path(__file__).resolve().parents[3]
    for folder in (here, *here.parents, checkout):
        candidate = folder / "build" / "jvm" / "spark"
        if candidate.is_dir() and any(candidate.glob("*.jar")):
            return candidate
    return None


def session_jars(folder: Path | None = None) -> list[Path]:
    """The jars to pass as ``spark.jars``: those of ``folder`` that pyspark does not ship.

    Args:
        folder: The resolved jar folder; found by :func:`find_jars_dir` when None.

    Returns:
        Absolute paths, sorted by name.

    Raises:
        ConfigError: No jar folder was found (``make services`` resolves it).
    """
    folder = folder or find_jars_dir()
    if folder is None or not folder.is_dir():
        raise ConfigError(
            "the Spark jars (Delta Lake, Kafka, JDBC) are not resolved: run `make services`, "
            f"or point {JARS_ENV} at a folder holding them"
        )
    shipped = {
        artifact_name(p.name) for p in (pyspark_jars_dir() or Path("/nonexistent")).glob("*.jar")
    }
    return sorted(p.resolve() for p in folder.glob("*.jar") if artifact_name(p.name) not in shipped)
