"""OpenLineage dataset names (https://openlineage.io/docs/spec/naming) of lakegate's
sources and lake tables, and the redaction of a source's secrets from what is emitted.

* files, folders and local Delta tables: ``file`` + the absolute path; object stores:
  the bucket (``s3://b``, ``gs://b``, ``abfss://container@account.dfs.core.windows.net``)
  + the path in it. A source path with a glob or ``{run_date}`` is named by the folder
  its fixed part ends in (``data/weather/2013-*.parquet``: the folder ``data/weather``),
  as Spark's OpenLineage integration names the files it reads by their folder, so the
  dataset keeps its name whichever files a run matched; the files a run read are listed
  in its ``subset`` facet (:func:`files_subset`), each by the absolute path another tool
  reading it names it with. A plain file keeps its own path;
* SQL: ``postgres://host:port`` + ``database.schema.table``; ``mysql://host:port`` +
  ``database.table``; ``sqlite`` + ``<absolute path>.<table>`` (the spec has no SQLite
  entry); a ``query`` is named by its table when it reads one, else by its database;
* REST: ``scheme://host[:port]`` + the URL's path.

No user, password, query string or header value is ever part of a name.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Sequence
from urllib.parse import urlsplit

from openlineage.client.facet_v2 import base_subset_dataset as base_subset
from openlineage.client.naming import dataset as naming

from lakegate.config.pipeline import FileSource, Pipeline, RestSource, SqlSource
from lakegate.config.project import Project

Dataset = tuple[str, str]  # (namespace, name)
_DEFAULT_PORTS = {"postgres": 5432, "mysql": 3306}


def source_dataset(project: Project, pipeline: Pipeline) -> Dataset:
    """The (namespace, name) of a pipeline's extract source (see the module docstring).

    Args:
        project: The project (file sources are relative to its root).
        pipeline: The pipeline whose ``extract.source`` is named.

    Raises:
        ConfigError: A SQL source with an unsupported URL scheme.
    """
    source = pipeline.extract.source
    if isinstance(source, FileSource):
        return uri_dataset(fixed_path(str(project.path(source.path))))
    if isinstance(source, SqlSource):
        return sql_dataset(source)
    parts = urlsplit(source.url)
    return f"{parts.scheme}://{_authority(parts.hostname, parts.port)}", parts.path or "/"


def fixed_path(path: str) -> str:
    """The leading part of a source path before its first segment with a glob character
    or ``{run_date}`` (``/p/data/weather/2013-*.parquet``: ``/p/data/weather``), or the
    path itself when it has none.

    Args:
        path: An absolute path or an object-store URL.
    """
    parts = path.split("/")
    variable = next(
        (i for i, part in enumerate(parts) if glob.has_magic(part) or "{run_date}" in part),
        None,
    )
    if variable is None:
        return path
    return "/".join(parts[:variable]) or "/"


def files_subset(
    dataset: Dataset, files: Sequence[str], producer: str
) -> base_subset.InputSubsetInputDatasetFacet | None:
    """The ``subset`` input facet naming the files a run read of a folder dataset: a
    location condition listing each file's absolute path (the name another tool
    reading that one file emits).

    Args:
        dataset: The (namespace, name) of the source (:func:`source_dataset`).
        files: The files read (absolute paths).
        producer: The facet's ``_producer`` URI.

    Returns:
        The facet, or None when no file was read or the dataset is that one file.
    """
    located = [uri_dataset(f)[1] for f in files]
    if not located or located == [dataset[1]]:
        return None
    condition = base_subset.LocationSubsetCondition(locations=located)
    return base_subset.InputSubsetInputDatasetFacet(inputCondition=condition, producer=producer)


def uri_dataset(uri: str) -> Dataset:
    """The (namespace, name) of a file, folder, glob or Delta table: ``file`` and the
    absolute path when local, else the bucket (or container) and the path in it.

    Args:
        uri: A local path, or an object-store URL (``s3://bucket/path``, ...).
    """
    if "://" not in uri or uri.startswith("file://"):
        return "file", os.path.abspath(uri.removeprefix("file://"))
    parts = urlsplit(uri)
    key, bucket = parts.path.lstrip("/") or "/", parts.hostname or ""
    found: naming.DatasetNaming | None = None
    if parts.scheme in ("s3", "s3a") and bucket:
        found = naming.S3(bucket_name=bucket, object_key=key)
    elif parts.scheme == "gs" and bucket:
        found = naming.GCS(bucket_name=bucket, object_key=key)
    elif parts.scheme == "abfss" and parts.username and bucket:
        found = naming.ABFSS(container=parts.username, service=bucket.split(".")[0], path=key)
    if found is not None:
        return found.get_namespace(), found.get_name()
    return f"{parts.scheme}://{_authority(parts.hostname, parts.port)}", key


def sql_dataset(source: SqlSource) -> Dataset:
    """The (namespace, name) of a SQL source's table, or of its database for a query that
    reads several tables (see the module docstring).

    Args:
        source: The SQL source.

    Raises:
        ConfigError: An unsupported URL scheme.
    """
    from lakegate.sources.sql import dialect_of

    url = source.url.get_secret_value()
    dialect = dialect_of(url)
    table = source.table.split(".") if source.table else _query_table(source.query, dialect)
    if dialect == "sqlite":
        path = url.split(":///", 1)[1] if ":///" in url else ""
        database = os.path.abspath(path) if path else ":memory:"
        return "sqlite", ".".join([database, table[-1]] if table else [database])
    parts = urlsplit(url)
    host = _authority(parts.hostname or "localhost", parts.port or _DEFAULT_PORTS[dialect])
    namespace, database = f"{dialect}://{host}", parts.path.strip("/")
    if not table:
        return namespace, database
    if dialect == "postgres":  # database.schema.table
        *schema, name = table
        return namespace, ".".join([database, schema[-1] if schema else "public", name])
    return namespace, ".".join([database, table[-1]] if len(table) == 1 else table[-2:])


def _query_table(query: str | None, dialect: str) -> list[str] | None:
    """The one table a source query reads, as its name parts, or None."""
    import sqlglot
    from sqlglot import exp

    try:
        tree = sqlglot.parse_one(query or "", read=dialect)
    except sqlglot.errors.SqlglotError:
        return None
    ctes = {cte.alias_or_name for cte in tree.find_all(exp.CTE)}
    found = {
        tuple(p for p in (t.catalog, t.db, t.name) if p)
        for t in tree.find_all(exp.Table)
        if t.name and not (t.name in ctes and not t.db)
    }
    return list(found.pop()) if len(found) == 1 else None


def _authority(host: str | None, port: int | None) -> str:
    host = f"[{host}]" if host and ":" in host else host or ""
    return host if port is None else f"{host}:{port}"


def redact(text: str, pipeline: Pipeline) -> str:
    """``text`` without the source's secrets (a URL's password, header values)."""
    source, secrets = pipeline.extract.source, []
    if isinstance(source, SqlSource):
        secrets.append(urlsplit(source.url.get_secret_value()).password or "")
    elif isinstance(source, RestSource):
        secrets += [v.get_secret_value() for v in source.headers.values()]
    for secret in sorted(filter(None, secrets), key=len, reverse=True):
        text = text.replace(secret, "***")
    return text
