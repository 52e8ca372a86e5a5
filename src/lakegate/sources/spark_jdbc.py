"""A ``type: sql`` source read by Spark's JDBC reader, on the executors (the spark engine).

On the spark engine a SQL source never passes through the driver process: the
:class:`JdbcDataset` builds a ``pyspark.sql.DataFrame`` over Spark's ``jdbc`` data source,
from the same SQLAlchemy-style URL the duckdb path reads (:mod:`lakegate.sources.sql`):

* ``postgresql://`` (or ``postgres://``) becomes ``jdbc:postgresql://host:port/db``
  (driver ``org.postgresql.Driver``); ``mysql://`` and ``mariadb://`` become
  ``jdbc:mysql://host:port/db?permitMysqlScheme`` with the MariaDB driver
  (``org.mariadb.jdbc.Driver``): Spark chooses its MySQL dialect (backquoted identifiers)
  by the ``jdbc:mysql`` prefix, and none for ``jdbc:mariadb``. SQLite is not read by Spark.
* The user and password go to the driver as connection properties, never into the JDBC
  URL; the label and every error show the URL with its password masked.
* The timeouts are those of the duckdb path (:func:`lakegate.sources.sql_connect.timeouts`),
  given to the drivers as ``connectTimeout`` (PostgreSQL also ``loginTimeout``) and
  ``socketTimeout``: PostgreSQL in whole seconds, MariaDB in milliseconds.
* ``table`` is read quoted, ``query`` as a subquery, after the same checks (one SELECT
  that only reads; :func:`lakegate.sources.sql.source_relation`).
* The watermark filter ``key >= lower_bound`` is a DataFrame filter with a typed literal
  (``F.col(key) >= F.lit(value)``): Spark pushes it to the database as a literal it
  compiles itself (``PushedFilters`` in the plan), so no value is ever pasted into SQL.
* ``batch_rows`` is the JDBC ``fetchsize``: rows stream, ``batch_rows`` per round trip.
* ``partition_column`` and ``num_partitions`` split the read into parallel queries over
  strides of the column (Spark's ``partitionColumn``/``numPartitions``); ``lower_bound``
  and ``upper_bound`` default to the column's minimum and maximum among the rows read
  (the watermark filter applied), queried first. The strides only split the work: rows
  outside the bounds are read too (by the first or last partition).

Types follow the duckdb path where Spark's JDBC mapping differs: MySQL/MariaDB integers
are read as ``bigint`` and floats as ``double`` (PyMySQL's path gives int64/float64); the
MariaDB session runs in UTC, as PyMySQL's does. ``DATETIME`` and PostgreSQL ``timestamp``
values are read as the wall time of the JVM's time zone: run Spark's JVMs in UTC
(``-Duser.timezone=UTC``; this machine's default) to read them as UTC, as DuckDB does.

pyspark is imported only inside :meth:`JdbcDataset.spark_frame`.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from lakegate.config.pipeline import SqlSource
from lakegate.errors import ConfigError, InputDataError, LakegateError
from lakegate.sources.sql import dialect_of, source_relation
from lakegate.sources.sql_connect import Timeouts, masked, scrub, timeout_error, timeouts

__all__ = ["JdbcDataset", "JdbcTarget", "jdbc_target"]

_DRIVERS = {"postgres": "org.postgresql.Driver", "mysql": "org.mariadb.jdbc.Driver"}
_JDBC_SCHEMES = {"postgres": "jdbc:postgresql", "mysql": "jdbc:mysql"}
# The MariaDB driver takes jdbc:mysql:// URLs with this flag; Spark picks its MySQL dialect
# (backquoted identifiers) by that prefix, and for jdbc:mariadb:// none ("double quotes").
_MYSQL_FLAG = "?permitMysqlScheme"
# libpq URL options and the pgjdbc connection property each becomes.
_PG_OPTIONS = {
    "sslmode": "sslmode",
    "sslcert": "sslcert",
    "sslkey": "sslkey",
    "sslrootcert": "sslrootcert",
    "options": "options",
    "application_name": "ApplicationName",
}
_UTF8 = ("utf8mb4", "utf8", "utf8mb3")
_HOST = re.compile(r"^[A-Za-z0-9._-]+$")
_PARTITION_TYPES = ("byte", "short", "integer", "long", "decimal", "date", "timestamp")


@dataclass(frozen=True)
class JdbcTarget:
    """Where and how Spark connects: the JDBC URL and the driver's properties.

    Attributes:
        url: The JDBC URL (``jdbc:postgresql://host:5432/db``), without credentials.
        driver: The driver's class name.
        properties: Connection properties as Spark ``jdbc`` options: ``user``,
            ``password`` (when the URL has them), ``connectTimeout``, ``socketTimeout``
            and the URL's options; strings.
        limits: The timeouts in seconds, and the server's host and port (for messages).
        dialect: The sqlglot dialect of the database (``postgres`` or ``mysql``).
    """

    url: str
    driver: str
    properties: dict[str, str] = field(repr=False)
    limits: Timeouts
    dialect: str


def jdbc_target(source: SqlSource) -> JdbcTarget:
    """The JDBC URL and properties of ``source``'s SQLAlchemy-style URL.

    ``postgresql://u:p@h:5432/db?sslmode=require`` becomes
    ``jdbc:postgresql://h:5432/db`` with ``user``, ``password``, ``sslmode``,
    ``connectTimeout`` and ``socketTimeout`` (whole seconds, rounded up);
    ``mysql://`` and ``mariadb://`` become ``jdbc:mysql://h:3306/db?permitMysqlScheme``
    (the MariaDB driver) with the timeouts in milliseconds. The port defaults to 5432 or 3306.

    Args:
        source: The SQL source (``url``, ``connect_timeout_seconds``,
            ``read_timeout_seconds``).

    Raises:
        ConfigError: A SQLite URL (not read by Spark), a host that is not a plain name
            or address, a URL option the JDBC driver has no equivalent for, or what
            :func:`~lakegate.sources.sql_connect.timeouts` refuses.
    """
    url = source.url.get_secret_value()
    dialect = dialect_of(url)
    if dialect not in _DRIVERS:
        raise ConfigError(
            "extract.source.url: the spark engine reads PostgreSQL, MySQL and MariaDB "
            f"through JDBC, not {dialect}: run this pipeline on the duckdb engine"
        )
    limits = timeouts(source, dialect)
    parts = urlsplit(url)
    host = limits.host
    if ":" in host:  # IPv6
        if not re.fullmatch(r"[0-9A-Fa-f:.]+", host):
            raise ConfigError("extract.source.url: its host is not a valid IPv6 address")
        host = f"[{host}]"
    elif not _HOST.match(host):
        raise ConfigError("extract.source.url: its host must be a host name or an IP address")
    database = parts.path.lstrip("/")  # kept %-encoded, as both drivers decode it
    properties: dict[str, str] = {}
    if parts.username:
        properties["user"] = unquote(parts.username)
    if parts.password is not None:
        properties["password"] = unquote(parts.password)
    options = dict(parse_qsl(parts.query, keep_blank_values=True))
    for name in ("connect_timeout", "read_timeout", "write_timeout"):
        options.pop(name, None)
    if dialect == "postgres":
        unknown = sorted(set(options) - set(_PG_OPTIONS))
        properties.update({_PG_OPTIONS[k]: v for k, v in options.items() if k in _PG_OPTIONS})
        # connectTimeout bounds the TCP connect, loginTimeout the whole handshake.
        properties["connectTimeout"] = str(max(1, math.ceil(limits.connect)))
        properties["loginTimeout"] = properties["connectTimeout"]
        properties["socketTimeout"] = str(max(1, math.ceil(limits.read)))
    else:
        charset = options.pop("charset", "utf8mb4")
        if charset.lower() not in _UTF8:
            raise ConfigError(
                f"extract.source.url: charset={charset!r}: the MariaDB JDBC driver reads "
                "utf8mb4 only"
            )
        unknown = sorted(options)
        properties["connectTimeout"] = str(max(1, math.ceil(limits.connect * 1000)))
        properties["socketTimeout"] = str(max(1, math.ceil(limits.read * 1000)))
    if unknown:
        raise ConfigError(
            f"extract.source.url: the option(s) {', '.join(unknown)} have no JDBC "
            "equivalent on the spark engine (supported: "
            f"{', '.join(sorted(_PG_OPTIONS) if dialect == 'postgres' else ['charset'])} "
            "and the timeouts)"
        )
    jdbc_url = f"{_JDBC_SCHEMES[dialect]}://{host}:{limits.port}/{database}"
    if dialect == "mysql":
        jdbc_url += _MYSQL_FLAG
    return JdbcTarget(jdbc_url, _DRIVERS[dialect], properties, limits, dialect)


@dataclass(frozen=True)
class JdbcDataset:
    """A SQL source as Spark reads it: a ``SparkNativeDataset`` for the spark engine.

    Build it with :meth:`from_source`. ``SparkEngine.register`` calls
    :meth:`spark_frame` and registers the frame as a temporary view.

    Attributes:
        source: The SQL source.
        key: The incremental key column, or None.
        lower_bound: Rows with ``key >= lower_bound`` are read (an int, float, Decimal,
            str, date or datetime; a naive datetime is UTC), or None for every row.
        label: The masked URL and the table or "query" (never the password).
    """

    source: SqlSource = field(repr=False)
    key: str | None
    lower_bound: Any
    label: str

    @classmethod
    def from_source(
        cls, source: SqlSource, *, key: str | None = None, lower_bound: Any = None
    ) -> JdbcDataset:
        """Check ``source`` for Spark (URL, options, query) and describe the read.

        Raises:
            ConfigError: See :func:`jdbc_target` and
                :func:`~lakegate.sources.sql.source_relation`.
        """
        target = jdbc_target(source)
        source_relation(source, target.dialect)
        label = f"{masked(source.url.get_secret_value())} ({source.table or 'query'})"
        return cls(source=source, key=key, lower_bound=lower_bound, label=label)

    def spark_frame(self, session: Any) -> Any:
        """The source's rows since the watermark, as a ``pyspark.sql.DataFrame``.

        The database is asked for the schema here (one ``WHERE 1=0`` query; a second and
        a min/max read for a partitioned read without bounds); the rows are read when
        the frame is computed.

        Args:
            session: The ``pyspark.sql.SparkSession`` (its time zone UTC).

        Raises:
            ConfigError: A ``partition_column`` the source lacks, or not numeric, date
                or timestamp.
            InputDataError: The server cannot be reached (``transient``; the message
                names host and port), did not answer within a timeout (``transient``),
                or refused the read (a missing table or column, refused credentials).
                Messages never hold the password.
        """
        target = jdbc_target(self.source)
        try:
            frame = self._read(session, target)
            frame = self._typed(frame, target)
            if self.key is not None and self.lower_bound is not None:
                frame = frame.filter(_column(self.key) >= _literal(self.lower_bound))
        except LakegateError:
            raise
        except Exception as exc:
            raise self._error(exc, target) from None
        return frame

    # ------------------------------------------------------------------ reading

    def _reader(self, session: Any, target: JdbcTarget, relation: str) -> Any:
        reader = (
            session.read.format("jdbc")
            .option("url", target.url)
            .option("driver", target.driver)
            .option("dbtable", relation)
            .option("fetchsize", str(self.source.batch_rows))
        )
        if target.dialect == "mysql":  # TIMESTAMP columns in UTC, as PyMySQL's session
            reader = reader.option("sessionInitStatement", "SET time_zone = '+00:00'")
        for name, value in target.properties.items():
            reader = reader.option(name, value)
        return reader

    def _relation(self, target: JdbcTarget) -> str:
        return source_relation(self.source, target.dialect).sql(dialect=target.dialect)

    def _read(self, session: Any, target: JdbcTarget) -> Any:
        source = self.source
        relation = self._relation(target)
        frame = self._reader(session, target, relation).load()
        column = source.partition_column
        if column is None or source.num_partitions is None:
            return frame
        kind = _partition_type(frame, column)
        lower, upper = source.lower_bound, source.upper_bound
        if lower is None or upper is None:
            low, high = self._min_max(session, target, frame, column)
            if low is None or high is None:
                return frame  # no rows to read: one partition
            lower = low if lower is None else lower
            upper = high if upper is None else upper
        if _order(lower) > _order(upper):
            return frame  # a configured bound beyond the rows read: nothing to split
        return (
            self._reader(session, target, relation)
            .option("partitionColumn", column)
            .option("numPartitions", str(source.num_partitions))
            .option("lowerBound", _bound(lower, kind, floor=True))
            .option("upperBound", _bound(upper, kind, floor=False))
            .load()
        )

    def _min_max(
        self, session: Any, target: JdbcTarget, frame: Any, column: str
    ) -> tuple[Any, Any]:
        """The partition column's minimum and maximum among the rows read.

        Without a watermark the database computes them (a one-row aggregate subquery,
        identifiers quoted); with one, Spark does, over that one column of the rows since
        the watermark (the filter pushed down, the column pruned).
        """
        from pyspark.sql import functions as F
        from sqlglot import exp

        if self.key is not None and self.lower_bound is not None:
            frame = frame.filter(_column(self.key) >= _literal(self.lower_bound))
            row = frame.agg(F.min(_column(column)), F.max(_column(column))).collect()[0]
        else:
            name = exp.column(column, quoted=True)
            aggregate = exp.select(
                exp.alias_(exp.Min(this=name), "lo", quoted=True),
                exp.alias_(exp.Max(this=name.copy()), "hi", quoted=True),
            ).from_(source_relation(self.source, target.dialect))
            relation = aggregate.subquery(alias="lakegate_bounds").sql(dialect=target.dialect)
            row = self._reader(session, target, relation).load().collect()[0]
        return _collected(row[0]), _collected(row[1])

    def _typed(self, frame: Any, target: JdbcTarget) -> Any:
        """MySQL/MariaDB integers as bigint and floats as double, as the PyMySQL path."""
        if target.dialect != "mysql":
            return frame
        widen = {"byte": "bigint", "short": "bigint", "integer": "bigint", "float": "double"}
        if not any(f.dataType.typeName() in widen for f in frame.schema.fields):
            return frame
        columns = []
        for f in frame.schema.fields:
            column = _column(f.name)
            if f.dataType.typeName() in widen:
                column = column.cast(widen[f.dataType.typeName()]).alias(f.name)
            columns.append(column)
        return frame.select(*columns)

    # ------------------------------------------------------------------ errors

    def _error(self, exc: Exception, target: JdbcTarget) -> InputDataError:
        """A Spark or driver error as the error to raise: scrubbed of the password."""
        chain = _chain(exc)
        url = self.source.url.get_secret_value()
        password = target.properties.get("password")

        def clean(text: str) -> str:
            text = scrub(text, url)
            return text.replace(password, "***") if password else text

        limits = target.limits
        where = f"{limits.host}:{limits.port}"
        classes = " ".join(name for name, _ in chain)
        messages = " ".join(message for _, message in chain)
        driver = next((m for n, m in chain if not n.startswith("org.apache.spark")), None)
        text = clean(_first(driver or (chain[-1][1] if chain else str(exc))))
        if "SocketTimeoutException" in classes or "timed out" in messages.lower():
            lower = messages.lower()
            # pgjdbc: "Connection attempt timed out."; MariaDB: "... when connecting to".
            connecting = any(
                words in lower
                for words in ("connection attempt", "when connecting", "connect timed out")
            )
            return timeout_error(self.label, limits, connecting=connecting)
        lost = ("ConnectException", "UnknownHostException", "NoRouteToHostException")
        if any(name in classes for name in lost) or _sqlstate(chain).startswith("08"):
            error = InputDataError(f"{self.label}: cannot connect to {where}: {text}")
            error.transient = True
            return error
        return InputDataError(f"{self.label} (at {where}): cannot read: {text}")


def _chain(exc: BaseException) -> list[tuple[str, str]]:
    """``(java class, message)`` of a Py4J error's Java exception and its causes; for
    other errors ``(python class, message)``."""
    java = getattr(exc, "java_exception", None)
    if java is None:
        return [(type(exc).__name__, str(exc))]
    chain: list[tuple[str, str]] = []
    seen = 0
    while java is not None and seen < 20:
        try:
            chain.append((str(java.getClass().getName()), str(java.getMessage() or "")))
            java = java.getCause()
        except Exception:
            break
        seen += 1
    return chain


def _sqlstate(chain: list[tuple[str, str]]) -> str:
    match = re.search(r"SQLSTATE:?\s*([0-9A-Z]{5})", " ".join(m for _, m in chain))
    return match.group(1) if match else ""


def _first(text: str) -> str:
    text = text.strip()
    return text.splitlines()[0] if text else "unknown error"


def _column(name: str) -> Any:
    """A Spark column by its exact name (dots and spaces are part of the name)."""
    from pyspark.sql import functions as F

    return F.col("`" + name.replace("`", "``") + "`")


def _literal(value: Any) -> Any:
    """A typed Spark literal for a watermark value (a naive datetime taken as UTC)."""
    from pyspark.sql import functions as F

    if isinstance(value, dt.datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return F.lit(value)


def _partition_type(frame: Any, column: str) -> str:
    fields = {f.name: f.dataType.typeName() for f in frame.schema.fields}
    if column not in fields:
        raise ConfigError(
            f"extract.source.partition_column: the source has no column {column!r} "
            f"(it has {', '.join(fields)})"
        )
    if fields[column] not in _PARTITION_TYPES:
        raise ConfigError(
            f"extract.source.partition_column: {column!r} is {fields[column]}; Spark "
            "splits a read on a numeric, date or timestamp column"
        )
    return fields[column]


def _bound(value: Any, kind: str, *, floor: bool) -> str:
    """A partition bound as Spark's ``lowerBound``/``upperBound`` option: a whole number
    for a numeric column (Spark strides over longs), an ISO date, or a UTC timestamp."""
    if kind == "date":
        if isinstance(value, dt.datetime):
            value = _utc(value).date()
        if not isinstance(value, dt.date):
            raise ConfigError(
                f"extract.source.lower_bound/upper_bound: {value!r} is not a date, and "
                "partition_column is a date column"
            )
        return value.isoformat()
    if kind == "timestamp":
        if not isinstance(value, dt.date):
            raise ConfigError(
                f"extract.source.lower_bound/upper_bound: {value!r} is not a timestamp, "
                "and partition_column is a timestamp column"
            )
        if not isinstance(value, dt.datetime):
            value = dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC)
        return _utc(value).replace(tzinfo=None).isoformat(sep=" ")
    if isinstance(value, dt.date | bool):
        raise ConfigError(
            f"extract.source.lower_bound/upper_bound: {value!r} is not a number, and "
            "partition_column is numeric"
        )
    number = decimal.Decimal(str(value))
    return str(
        int(number.to_integral_value(decimal.ROUND_FLOOR if floor else decimal.ROUND_CEILING))
    )


def _collected(value: Any) -> Any:
    """A collected value; pyspark returns a timestamp as naive local wall time: aware here."""
    if isinstance(value, dt.datetime) and value.tzinfo is None:
        return value.astimezone(dt.UTC)
    return value


def _utc(value: dt.datetime) -> dt.datetime:
    """An aware UTC datetime (a naive one is UTC, as the watermark's)."""
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def _order(value: Any) -> Any:
    """A bound as something comparable with the other bound."""
    if isinstance(value, dt.datetime):
        return _utc(value).timestamp()
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day, tzinfo=dt.UTC).timestamp()
    return float(value)
