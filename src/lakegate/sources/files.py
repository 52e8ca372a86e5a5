"""Resolve an input path (file, folder, glob or Delta table) to a dataset description.

A dataset description says what to read and how; an engine turns it into a
table it can query (DuckDB reads the files itself, in parallel and streamed).
"""

from __future__ import annotations

import glob
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from lakegate.errors import InputDataError

FileFormat = Literal["parquet", "csv", "json"]

# Longest suffix first, so ".csv.gz" wins over ".gz".
_SUFFIXES: dict[str, FileFormat] = {
    ".parquet": "parquet",
    ".pq": "parquet",
    ".csv": "csv",
    ".tsv": "csv",
    ".csv.gz": "csv",
    ".tsv.gz": "csv",
    ".csv.zst": "csv",
    ".json": "json",
    ".jsonl": "json",
    ".ndjson": "json",
    ".json.gz": "json",
    ".jsonl.gz": "json",
    ".ndjson.gz": "json",
}


@dataclass(frozen=True)
class CsvOptions:
    """How to read CSV files.

    Attributes:
        delimiter: Field separator; None lets the reader detect it.
        header: Whether the first line holds column names.
        null_values: Strings read as null (e.g. ``("", "NA")``).
    """

    delimiter: str | None = None
    header: bool = True
    null_values: tuple[str, ...] = ("",)


@dataclass(frozen=True)
class FileDataset:
    """One or more files of the same format, read as one table.

    Attributes:
        paths: Absolute file paths, sorted.
        format: ``parquet``, ``csv`` or ``json`` (JSON lines or a JSON array).
        csv: CSV reading options (ignored for other formats).
        label: How reports name the input (the path the user gave).
    """

    paths: tuple[str, ...]
    format: FileFormat
    csv: CsvOptions = field(default_factory=CsvOptions)
    label: str = ""

    @property
    def size_bytes(self) -> int:
        return sum(os.path.getsize(p) for p in self.paths)


@dataclass(frozen=True)
class DeltaDataset:
    """A Delta Lake table directory (one that holds ``_delta_log``).

    Attributes:
        path: The table's root directory or URL.
        version: A table version to read (time travel); None for the latest.
        label: How reports name the input.
    """

    path: str
    version: int | None = None
    label: str = ""

    @property
    def size_bytes(self) -> int:
        total = 0
        for root, _, files in os.walk(self.path):
            if "_delta_log" not in root:
                total += sum(os.path.getsize(os.path.join(root, f)) for f in files)
        return total


@dataclass(frozen=True)
class ArrowDataset:
    """Arrow data produced by a reader (a SQL query, a REST API): read once, streamed.

    Attributes:
        reader: A ``pyarrow.RecordBatchReader`` (consumed by the first query over it) or
            a ``pyarrow.Table``.
        label: How reports name the input (never holding credentials).
    """

    reader: Any
    label: str = ""

    @property
    def size_bytes(self) -> int:
        return 0  # unknown before it is read


Dataset = FileDataset | DeltaDataset | ArrowDataset


def file_format(path: str) -> FileFormat | None:
    """The format a file name's suffix stands for, or None."""
    name = path.lower()
    for suffix in sorted(_SUFFIXES, key=len, reverse=True):
        if name.endswith(suffix):
            return _SUFFIXES[suffix]
    return None


def is_delta_table(path: str | Path) -> bool:
    """True when ``path`` is a directory holding a Delta transaction log."""
    return Path(path, "_delta_log").is_dir()


def _data_files(folder: Path) -> list[str]:
    found = []
    for root, dirs, files in os.walk(folder):
        # Hidden and underscore folders hold metadata (_delta_log, .ipynb_checkpoints).
        dirs[:] = sorted(d for d in dirs if not d.startswith((".", "_")))
        found += [
            os.path.join(root, f)
            for f in files
            if not f.startswith((".", "_")) and file_format(f) is not None
        ]
    return sorted(found)


def resolve_input(
    path: str | Path,
    *,
    csv: CsvOptions | None = None,
    format: FileFormat | None = None,
) -> Dataset:
    """Describe what reading ``path`` means.

    Args:
        path: A file, a folder of files (read recursively, hidden and ``_``-prefixed
            entries skipped), a glob (``data/*.parquet``, ``**`` allowed) or a Delta
            table directory.
        csv: CSV options, when the input is CSV.
        format: Force a format instead of detecting it from suffixes.

    Returns:
        A :class:`FileDataset` or a :class:`DeltaDataset`.

    Raises:
        InputDataError: Nothing matches, the format is unknown, or files of
            several formats are mixed.
    """
    label = str(path)
    p = Path(path).expanduser()
    if p.is_dir() and is_delta_table(p):
        return DeltaDataset(path=str(p.resolve()), label=label)
    if p.is_dir():
        files = _data_files(p)
        if not files:
            raise InputDataError(f"{label}: folder holds no Parquet, CSV or JSON files")
    elif p.is_file():
        files = [str(p.resolve())]
    elif glob.has_magic(str(path)):
        files = sorted(
            str(Path(f).resolve()) for f in glob.glob(str(p), recursive=True) if Path(f).is_file()
        )
        if not files:
            raise InputDataError(f"{label}: no file matches this pattern")
    else:
        raise InputDataError(f"{label}: no such file or folder")
    formats = {format} if format else {file_format(f) for f in files}
    if None in formats:
        unknown = next(f for f in files if file_format(f) is None)
        raise InputDataError(
            f"{unknown}: unknown file type (expected .parquet, .csv, .tsv, .json, .jsonl)"
        )
    if len(formats) > 1:
        raise InputDataError(
            f"{label}: mixes file formats ({', '.join(sorted(map(str, formats)))})"
        )
    fmt: FileFormat = formats.pop()  # type: ignore[assignment]
    options = csv or CsvOptions()
    if (
        fmt == "csv"
        and options.delimiter is None
        and all(f.lower().endswith((".tsv", ".tsv.gz")) for f in files)
    ):
        options = CsvOptions(delimiter="\t", header=options.header, null_values=options.null_values)
    return FileDataset(paths=tuple(files), format=fmt, csv=options, label=label)
