"""Extract from SQL databases: PostgreSQL, MySQL/MariaDB and SQLite, as Arrow.

Readers, by the URL's scheme:

* ``postgresql://`` (or ``postgres://``): ADBC's libpq driver
  (``adbc-driver-postgresql``), Arrow-native; a full read uses PostgreSQL's binary
  ``COPY``.
* ``sqlite:///path``: ADBC's SQLite driver.
* ``mysql://`` or ``mariadb://``: no Arrow-native reader that binds parameters
  exists for them here, so SQLAlchemy with PyMySQL is the fallback: a server-side
  (unbuffered) cursor, fetched ``batch_rows`` at a time and typed from the result's
  column descriptions (session time zone UTC).

Every reader streams: one query, its result read in Arrow record batches, so memory
stays bounded whatever the table's size (no ``LIMIT``/``OFFSET`` chunks, so rows
sharing a watermark value can never be split between chunks and lost).

The query is a sqlglot tree rendered in the source's dialect, identifiers quoted; the
incremental lower bound is a bound parameter (``$1``, ``?`` or ``%(watermark)s``),
never pasted. A ``query:`` source must be one SELECT that only reads: a data-modifying
``WITH`` (``WITH d AS (DELETE ... RETURNING *) SELECT ...``) or ``SELECT ... INTO`` is
refused when it is parsed, before anything is sent.

Every wait on the server is bounded: a connect and a read timeout (see
:mod:`lakegate.sources.sql_connect`). Errors say what to do about them: a timeout or a
lost connection is transient (the run failed; exit 1), a missing table or column, a
syntax error or refused credentials are the user's input (exit 2). The URL holds
credentials: it is kept as a ``SecretStr``, shown only with its password masked, and
driver messages are scrubbed of it before they are raised.

Types are normalised so every source gives Delta-storable Arrow: PostgreSQL
``numeric(p, s)`` becomes ``decimal128(p, s)`` (unconstrained ``numeric`` stays text,
exact), ``json``/``jsonb`` text, ``time`` text, and field metadata is dropped.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import decimal
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import pyarrow as pa
import pyarrow.compute as pc
from sqlglot import exp

from lakegate.config.pipeline import SqlSource
from lakegate.errors import ConfigError
from lakegate.sources.deadline import SocketDeadline
from lakegate.sources.sql_connect import Guard, masked, mysql_connect, pg_connect, scrub, timeouts

_SENTINEL = "lakegate_watermark_parameter"
# scheme -> sqlglot dialect
_SCHEMES = {
    "postgresql": "postgres",
    "postgres": "postgres",
    "sqlite": "sqlite",
    "mysql": "mysql",
    "mariadb": "mysql",
}


@dataclass(frozen=True)
class SqlRead:
    """A running extract: the stream and what it is.

    Attributes:
        reader: The rows, as a ``pyarrow.RecordBatchReader`` with normalised types; the
            connection closes when it is exhausted (or on :meth:`close`).
        label: The source for messages: the masked URL and the table or "query".
        sql: The query sent (parameters not inlined).
        close: Closes the connection (idempotent).
    """

    reader: pa.RecordBatchReader
    label: str
    sql: str
    close: Callable[[], None]


def dialect_of(url: str) -> str:
    """The sqlglot dialect of a database URL (``postgres``, ``mysql`` or ``sqlite``).

    Raises:
        ConfigError: An unsupported scheme.
    """
    scheme = urlsplit(url).scheme.split("+")[0].lower()
    if scheme not in _SCHEMES:
        raise ConfigError(
            f"unsupported database URL scheme {scheme!r}: use postgresql://, mysql://, "
            "mariadb:// or sqlite:///"
        )
    return _SCHEMES[scheme]


def check_source(source: SqlSource) -> None:
    """Check what can be checked without connecting: the URL's scheme, its options and
    timeouts, and the query (one SELECT that only reads).

    Raises:
        ConfigError: What is wrong, naming the key (``extract.source.query``, ...).
    """
    dialect = dialect_of(source.url.get_secret_value())
    timeouts(source, dialect)
    if source.query is not None:
        source_relation(source, dialect)


def source_relation(source: SqlSource, dialect: str) -> exp.Expr:
    """What the source reads, as a FROM item: the quoted table, or the query as a subquery.

    Raises:
        ConfigError: The query is not a single SELECT, or it writes: a data-modifying
            ``WITH`` query (INSERT, UPDATE, DELETE, MERGE) or ``SELECT ... INTO``.
    """
    if source.table is not None:
        *schema, name = source.table.split(".")
        return exp.Table(
            this=exp.to_identifier(name, quoted=True),
            db=exp.to_identifier(schema[-1], quoted=True) if schema else None,
            catalog=exp.to_identifier(schema[-2], quoted=True) if len(schema) > 1 else None,
        )
    import sqlglot

    try:
        parsed = sqlglot.parse(source.query or "", read=dialect)
    except sqlglot.errors.ParseError as exc:
        raise ConfigError(f"extract.source.query is not valid SQL: {exc}") from None
    if len(parsed) != 1 or not isinstance(parsed[0], exp.Query):
        raise ConfigError("extract.source.query must be one SELECT")
    _refuse_writes(parsed[0])
    return parsed[0].subquery(alias="lakegate_source")


_WRITES = (exp.Insert, exp.Update, exp.Delete, exp.Merge)


def _refuse_writes(query: exp.Query) -> None:
    """An extract only reads. PostgreSQL runs a data-modifying ``WITH`` query even when
    the SELECT around it reads nothing of it, and ``SELECT ... INTO`` creates a table."""
    for node in query.find_all(*_WRITES, exp.Into):
        if isinstance(node, exp.Into):
            raise ConfigError(
                "extract.source.query must only read: SELECT ... INTO creates a table"
            )
        cte = node.find_ancestor(exp.CTE)
        where = f"its WITH query {cte.alias!r}" if cte is not None and cte.alias else "it"
        kind = node.key.upper()
        raise ConfigError(
            f"extract.source.query must be one SELECT that only reads: {where} is "
            f"{'an' if kind[0] in 'AEIOU' else 'a'} {kind}, which changes the source's data"
        )


def build_query(
    source: SqlSource,
    dialect: str,
    *,
    key: str | None = None,
    bounded: bool = False,
    columns: Sequence[str] = (),
) -> str:
    """The SELECT sent to the database, in its dialect.

    Args:
        source: The source (table or query).
        dialect: Its sqlglot dialect.
        key: The incremental key column.
        bounded: Add ``WHERE key >= <parameter>`` (the watermark, bound at execution;
            inclusive, so rows sharing the watermark's value are never skipped).
        columns: Only these columns (quoted), e.g. the keys for a reconciliation;
            default every column.
    """
    projection: list[exp.Expr] = [exp.column(c, quoted=True) for c in columns] or [exp.Star()]
    select = exp.select(*projection).from_(source_relation(source, dialect))
    if key is None or not bounded:
        return select.sql(dialect=dialect)
    # sqlglot renders placeholders per dialect, not per driver: put a sentinel, then
    # the driver's marker in its place (the value itself is bound, never pasted).
    select = select.where(
        exp.GTE(this=exp.column(key, quoted=True), expression=exp.column(_SENTINEL))
    )
    sql = select.sql(dialect=dialect)
    if sql.count(_SENTINEL) != 1:
        raise ConfigError(f"extract.source.query must not use the name {_SENTINEL}")
    return sql.replace(
        _SENTINEL, {"postgres": "$1", "sqlite": "?", "mysql": "%(watermark)s"}[dialect]
    )


def read_sql(
    source: SqlSource,
    *,
    key: str | None = None,
    lower_bound: Any = None,
    columns: Sequence[str] = (),
) -> SqlRead:
    """Start reading ``source``: rows with ``key >= lower_bound`` when both are given.

    The bound is inclusive: a row committed after the last run but stamped with the
    watermark's value (a whole-second ``DATETIME`` holds many) is read; the runner drops
    the rows it already loaded (:mod:`lakegate.boundary`).

    Args:
        source: The SQL source of the pipeline.
        key: The incremental key column, or None for a full read.
        lower_bound: The watermark minus the lookback (any value the driver binds:
            int, float, str, date, datetime), or None.
        columns: Read only these columns (default: every column).

    Returns:
        A :class:`SqlRead`; consume ``reader`` once.

    Raises:
        ConfigError: An unsupported URL or URL option, conflicting timeouts, or an
            invalid query.
        InputDataError: The database cannot be reached or the query fails; the message
            names the masked URL, never the password. ``transient`` when the server did
            not answer within a timeout (the message names host, port and the
            setting) or the connection failed or was lost; not for what the user must
            fix: a missing table or column, a syntax error, refused credentials.
    """
    url = source.url.get_secret_value()
    dialect = dialect_of(url)
    limits = timeouts(source, dialect)
    bounded = key is not None and lower_bound is not None
    sql = build_query(source, dialect, key=key, bounded=bounded, columns=columns)
    label = f"{masked(url)} ({source.table or 'query'})"
    if dialect == "postgres":
        deadline = SocketDeadline(limits.port, limits.read)
        guard = Guard(label, url, limits, deadline)
        with guard.call(connecting=True):
            conn = pg_connect(url, limits, deadline)
        return _adbc(conn, sql, (lower_bound,) if bounded else None, guard)
    guard = Guard(label, url, limits)
    if dialect == "sqlite":
        with guard.call(connecting=True):
            conn = _sqlite_connect(url)
        return _adbc(conn, sql, (_sqlite_value(lower_bound),) if bounded else None, guard)
    with guard.call(connecting=True):
        conn = mysql_connect(url, limits)
    return _mysql(conn, sql, {"watermark": lower_bound} if bounded else None, guard, source)


# ---------------------------------------------------------------------- ADBC


def _sqlite_connect(url: str) -> Any:
    import adbc_driver_sqlite.dbapi as sqlite

    path = url.split(":///", 1)[1] if ":///" in url else ""
    return sqlite.connect(path or ":memory:")


def _sqlite_value(value: Any) -> Any:
    """SQLite stores dates and times as ISO text: compare with text."""
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat(sep=" ") if isinstance(value, dt.datetime) else value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    return value


def _adbc(conn: Any, sql: str, params: tuple[Any, ...] | None, guard: Guard) -> SqlRead:
    cursor = conn.cursor()
    close = _closer(cursor, conn)
    try:
        with guard.call():
            cursor.execute(sql, parameters=params)
            raw = cursor.fetch_record_batch()
    except BaseException:
        close()
        raise
    schema = normalised_schema(raw.schema)
    return SqlRead(_stream(raw, schema, close, guard), guard.label, sql, close)


# ---------------------------------------------------------------------- MySQL / MariaDB


def _mysql(
    conn: Any, sql: str, params: dict[str, Any] | None, guard: Guard, source: SqlSource
) -> SqlRead:
    cursor = conn.cursor()
    close = _closer(cursor, conn)
    try:
        with guard.call():
            cursor.execute(sql, params)
            schema = pa.schema([_mysql_field(f) for f in cursor._result.fields])
    except BaseException:
        close()
        raise

    def fetch() -> list[Any]:
        with guard.call():
            return list(cursor.fetchmany(source.batch_rows))

    def batches() -> Iterator[pa.RecordBatch]:
        try:
            while rows := fetch():
                columns = list(zip(*rows, strict=True))
                yield pa.record_batch(
                    [_mysql_array(col, f.type) for col, f in zip(columns, schema, strict=True)],
                    schema=schema,
                )
        finally:
            close()

    return SqlRead(pa.RecordBatchReader.from_batches(schema, batches()), guard.label, sql, close)


def _mysql_field(field: Any) -> pa.Field:
    """An Arrow field for a PyMySQL result field (its type code, length, scale, flags
    and character set: binary data has charset 63)."""
    from pymysql.constants import FIELD_TYPE as T
    from pymysql.constants import FLAG

    code, scale = field.type_code, int(field.scale or 0)
    if code in (T.TINY, T.SHORT, T.LONG, T.INT24, T.LONGLONG, T.YEAR):
        kind: pa.DataType = pa.int64()
    elif code in (T.FLOAT, T.DOUBLE):
        kind = pa.float64()
    elif code in (T.DECIMAL, T.NEWDECIMAL):
        # The display length counts the point and, when signed, the sign.
        signed = not field.flags & FLAG.UNSIGNED
        precision = int(field.length) - (1 if scale else 0) - (1 if signed else 0)
        kind = pa.decimal128(min(max(precision, scale, 1), 38), scale)
    elif code in (T.DATE, T.NEWDATE):
        kind = pa.date32()
    elif code in (T.DATETIME, T.TIMESTAMP):
        kind = pa.timestamp("us", tz="UTC")  # the session's time zone is UTC
    elif code in (T.TINY_BLOB, T.MEDIUM_BLOB, T.LONG_BLOB, T.BLOB, T.STRING, T.VAR_STRING) and (
        field.charsetnr == _BINARY_CHARSET
    ):
        kind = pa.binary()
    else:  # VARCHAR, TEXT, JSON, ENUM, SET, TIME, BIT, ...
        kind = pa.string()
    return pa.field(field.name, kind)


_BINARY_CHARSET = 63


def _mysql_array(values: tuple[Any, ...], kind: pa.DataType) -> pa.Array:
    if pa.types.is_timestamp(kind):
        values = tuple(None if v is None else v.replace(tzinfo=dt.UTC) for v in values)
    elif pa.types.is_string(kind):
        values = tuple(
            None if v is None else v.decode() if isinstance(v, bytes) else str(v) for v in values
        )
    return pa.array(values, type=kind)


# ---------------------------------------------------------------------- types


def normalised_schema(schema: pa.Schema) -> pa.Schema:
    """``schema`` with Delta-storable, metadata-free types (see the module docstring)."""
    return pa.schema([pa.field(f.name, _normal_type(f), f.nullable) for f in schema])


def _normal_type(field: pa.Field) -> pa.DataType:
    kind = field.type
    meta = {k.decode(): v.decode() for k, v in (field.metadata or {}).items()}
    if isinstance(kind, pa.BaseExtensionType):
        if meta.get("POSTGRESQL:type") == "numeric":
            typmod = int(meta.get("POSTGRESQL:typmod", "-1"))
            if typmod >= 4:
                precision, scale = (typmod - 4) >> 16, (typmod - 4) & 0xFFFF
                if precision <= 38:
                    return pa.decimal128(precision, scale)
        return pa.string()
    if pa.types.is_time(kind):
        return pa.string()
    return kind


def _cast_batch(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    columns = []
    for column, field in zip(batch.columns, schema, strict=True):
        if isinstance(column.type, pa.BaseExtensionType):
            column = column.storage
        if column.type != field.type:
            column = pc.cast(column, field.type)
        columns.append(column)
    return pa.RecordBatch.from_arrays(columns, schema=schema)


def _stream(
    raw: pa.RecordBatchReader, schema: pa.Schema, close: Callable[[], None], guard: Guard
) -> pa.RecordBatchReader:
    def batches() -> Iterator[pa.RecordBatch]:
        try:
            incoming = iter(raw)
            while True:
                with guard.call():  # each batch: one wait on the server
                    batch = next(incoming, None)
                if batch is None:
                    return
                yield _cast_batch(batch, schema)
        finally:
            close()

    return pa.RecordBatchReader.from_batches(schema, batches())


def _closer(*things: Any) -> Callable[[], None]:
    """A function closing ``things`` (cursor, then connection) once; errors ignored
    (the connection may be broken already)."""
    done = False

    def close() -> None:
        nonlocal done
        if not done:
            done = True
            for thing in things:
                with contextlib.suppress(Exception):
                    thing.close()

    return close


__all__ = [
    "SqlRead",
    "build_query",
    "check_source",
    "dialect_of",
    "masked",
    "read_sql",
    "scrub",
    "source_relation",
]
