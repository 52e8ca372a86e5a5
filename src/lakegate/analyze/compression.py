"""Parquet column chunks stored without compression, and what zstd would make of them.

Found in the footers (a chunk's codec is ``UNCOMPRESSED``). zstd's ratio is measured
by re-encoding the UNCOMPRESSED columns of one sample row group in memory with
pyarrow (the same encodings, zstd instead of no codec); when no row group can be
read, :data:`ASSUMED_ZSTD_RATIO` is used and said to be assumed.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import Any

from lakegate.analyze.catalog import FOOTER_SAMPLE_FILES, LakeTable

# zstd's size relative to uncompressed Parquet pages when no sample can be measured:
# a deliberately modest guess (columnar data usually compresses 2-5x).
ASSUMED_ZSTD_RATIO = 0.5
# Row groups larger than this (bytes, uncompressed) are not re-encoded to measure zstd.
ZSTD_SAMPLE_MAX_BYTES = 256 * 2**20


@dataclass(frozen=True)
class Uncompressed:
    """A table's uncompressed column chunks.

    Attributes:
        bytes: Their bytes on storage, scaled from the sampled footers to the table;
            None when no footer can be read (an object store).
        zstd_ratio: zstd's bytes over theirs (0-1).
        measured: True when the ratio was measured on a sample, False when assumed.
    """

    bytes: int | None
    zstd_ratio: float
    measured: bool


def uncompressed_chunks(table: LakeTable) -> Uncompressed:
    """The bytes of ``table``'s UNCOMPRESSED column chunks, from up to
    :data:`~lakegate.analyze.catalog.FOOTER_SAMPLE_FILES` local footers scaled to the
    table's size, and the ratio zstd achieves on them (see :class:`Uncompressed`)."""
    import pyarrow.parquet as pq

    local = [f for f in table.files if "://" not in f.uri and os.path.exists(f.uri)]
    if not local:
        return Uncompressed(None, ASSUMED_ZSTD_RATIO, False)
    step = max(1, math.ceil(len(local) / FOOTER_SAMPLE_FILES))
    sampled = found = 0
    ratio: float | None = None
    for data_file in local[::step]:
        try:
            meta = pq.read_metadata(data_file.uri)
        except (OSError, ValueError):
            continue
        sampled += data_file.size_bytes
        for g in range(meta.num_row_groups):
            group = meta.row_group(g)
            for c in range(group.num_columns):
                chunk = group.column(c)
                if chunk.compression == "UNCOMPRESSED":
                    found += chunk.total_compressed_size
        if found and ratio is None:
            ratio = _zstd_ratio(data_file.uri, meta)
    if not sampled:
        return Uncompressed(None, ASSUMED_ZSTD_RATIO, False)
    scaled = round(found * table.size_bytes / sampled)
    if ratio is None:
        return Uncompressed(scaled, ASSUMED_ZSTD_RATIO, False)
    return Uncompressed(scaled, ratio, True)


def _zstd_ratio(path: str, meta: Any) -> float | None:
    """zstd's bytes over the stored bytes of the first row group's UNCOMPRESSED columns,
    re-encoded in memory with pyarrow; None when there is none or it is too large."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    for g in range(meta.num_row_groups):
        group = meta.row_group(g)
        chunks = [group.column(c) for c in range(group.num_columns)]
        plain = [c for c in chunks if c.compression == "UNCOMPRESSED"]
        if not plain or group.total_byte_size > ZSTD_SAMPLE_MAX_BYTES:
            continue
        names = sorted({c.path_in_schema.split(".", 1)[0] for c in plain})
        before = sum(
            c.total_compressed_size for c in chunks if c.path_in_schema.split(".", 1)[0] in names
        )
        try:
            data = pq.ParquetFile(path).read_row_group(g, columns=names)
            sink = pa.BufferOutputStream()
            pq.write_table(data, sink, compression="zstd")
            written = pq.read_metadata(pa.BufferReader(sink.getvalue()))
        except (OSError, ValueError, pa.ArrowException):
            return None
        after = sum(
            written.row_group(w).column(c).total_compressed_size
            for w in range(written.num_row_groups)
            for c in range(written.num_columns)
        )
        return after / before if before else None
    return None
