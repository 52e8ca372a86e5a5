"""Connecting to a SQL source with every wait bounded: connect and read timeouts.

Neither driver bounds every wait by itself, so a server that accepts the connection
and never answers would hold a run forever:

* PostgreSQL (libpq, through ADBC): libpq's ``connect_timeout`` bounds connecting,
  handshake included, but libpq has no read timeout at all. ``statement_timeout`` is
  enforced by the server, so it cannot help when the server is what hangs, and TCP
  keepalives or ``tcp_user_timeout`` only notice a peer that stops acknowledging, not
  one that acknowledges and never answers. What bounds a read here is
  :class:`SocketDeadline`: past the deadline it shuts down the connection's TCP socket,
  which ends libpq's wait with an error that is then reported as the timeout.
* MySQL/MariaDB (PyMySQL): ``connect_timeout`` bounds the TCP connect and
  ``read_timeout``/``write_timeout`` each socket read and write. The handshake is
  read with the connect timeout, the query's results with the read timeout.

The timeouts come from ``extract.source.connect_timeout_seconds`` and
``read_timeout_seconds``, or from the URL's query (``connect_timeout``,
``read_timeout``; for MySQL also ``write_timeout``, which defaults to the read
timeout), else :data:`CONNECT_SECONDS` and :data:`READ_SECONDS`. A URL may give any
option libpq knows; a MySQL URL only ``charset`` and the timeouts (any other is
refused: it would be ignored). The URL holds credentials: nothing here prints it.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from lakegate.config.pipeline import SqlSource
from lakegate.errors import ConfigError, InputDataError, LakegateError
from lakegate.sources.deadline import SocketDeadline

__all__ = [
    "CONNECT_SECONDS",
    "READ_SECONDS",
    "Guard",
    "Timeouts",
    "masked",
    "mysql_connect",
    "pg_connect",
    "scrub",
    "timeout_error",
    "timeouts",
]

CONNECT_SECONDS = 10.0
"""Default seconds to wait for a server to accept a connection and finish its handshake."""
READ_SECONDS = 300.0
"""Default seconds to wait for a server's answer (a query's first rows, each next batch)."""

_MYSQL_OPTIONS = ("charset", "connect_timeout", "read_timeout", "write_timeout")
_DEFAULT_PORTS = {"postgres": 5432, "mysql": 3306}


@dataclass(frozen=True)
class Timeouts:
    """The waits of one SQL source, in seconds, and where the server is.

    Attributes:
        connect: The longest wait for the connection and its handshake.
        read: The longest wait for the server's next answer.
        write: The longest wait to send a request (MySQL).
        host: The server's host, for messages.
        port: The server's TCP port.
    """

    connect: float
    read: float
    write: float
    host: str
    port: int


def timeouts(source: SqlSource, dialect: str) -> Timeouts:
    """The source's timeouts: its config keys, else the URL's options, else the defaults.

    Args:
        source: The SQL source (``url``, ``connect_timeout_seconds``,
            ``read_timeout_seconds``).
        dialect: Its sqlglot dialect (``postgres``, ``mysql`` or ``sqlite``).

    Raises:
        ConfigError: A timeout in the URL that is not a number of seconds above 0; a
            timeout given in both the config and the URL with different values; an
            option of a MySQL URL other than ``charset`` and the timeouts.
    """
    parts = urlsplit(source.url.get_secret_value())
    options = dict(parse_qsl(parts.query, keep_blank_values=True))
    if dialect == "mysql":
        unknown = sorted(set(options) - set(_MYSQL_OPTIONS))
        if unknown:
            raise ConfigError(
                f"extract.source.url: the option(s) {', '.join(unknown)} of a MySQL/MariaDB "
                f"URL are not supported (supported: {', '.join(_MYSQL_OPTIONS)})"
            )
    connect = _pick("connect_timeout", options, source.connect_timeout_seconds, CONNECT_SECONDS)
    read = _pick("read_timeout", options, source.read_timeout_seconds, READ_SECONDS)
    write = _seconds("write_timeout", options) if dialect == "mysql" else None
    return Timeouts(
        connect=connect,
        read=read,
        write=write if write is not None else read,
        host=parts.hostname or "localhost",
        port=_port(parts) or _DEFAULT_PORTS.get(dialect, 0),
    )


def _port(parts: Any) -> int | None:
    try:
        return int(parts.port) if parts.port is not None else None
    except ValueError:
        raise ConfigError("extract.source.url: its port is not a number") from None


def _pick(name: str, options: dict[str, str], configured: float | None, default: float) -> float:
    in_url = _seconds(name, options)
    if configured is not None and in_url is not None and configured != in_url:
        raise ConfigError(
            f"extract.source.{name}_seconds is {configured:g} but the URL's {name} is "
            f"{in_url:g}: give one of them"
        )
    if configured is not None:
        return configured
    return in_url if in_url is not None else default


def _seconds(name: str, options: dict[str, str]) -> float | None:
    if name not in options:
        return None
    try:
        value = float(options[name])
    except ValueError:
        value = math.nan
    if not (value > 0 and math.isfinite(value)):
        raise ConfigError(
            f"extract.source.url: {name}={options[name]!r} is not a number of seconds above 0"
        )
    return value


def timeout_error(label: str, limits: Timeouts, *, connecting: bool) -> InputDataError:
    """The error of an expired timeout: names the server, the wait and its setting.

    Transient: the same run may pass once the server answers again.
    """
    where = f"{limits.host}:{limits.port}"
    if connecting:
        message = (
            f"{label}: cannot connect to {where}: no answer within {limits.connect:g} s "
            "(extract.source.connect_timeout_seconds); check that the server is up and "
            "the host and port are right"
        )
    else:
        message = (
            f"{label}: {where} did not answer within {limits.read:g} s "
            "(extract.source.read_timeout_seconds): the server is stuck or overloaded, "
            "or the query needs longer before its first rows; the connection was closed"
        )
    error = InputDataError(message)
    error.transient = True
    return error


# ---------------------------------------------------------------------- PostgreSQL


def pg_connect(url: str, limits: Timeouts, deadline: SocketDeadline) -> Any:
    """An ADBC PostgreSQL connection, libpq's ``connect_timeout`` set (whole seconds,
    at least 2: libpq's floor) and the queries ADBC runs while connecting bounded by
    ``deadline``; lakegate's own ``read_timeout`` option is removed from the URL.
    """
    import adbc_driver_postgresql.dbapi as pg

    parts = urlsplit(url)
    # The user's options as written (libpq decodes %XX itself), ours replaced.
    kept = [
        pair
        for pair in parts.query.split("&")
        if pair and unquote(pair.split("=", 1)[0]) not in ("connect_timeout", "read_timeout")
    ]
    kept.append(f"connect_timeout={max(2, math.ceil(limits.connect))}")
    uri = parts._replace(scheme="postgresql", query="&".join(kept)).geturl()
    with deadline.connecting(limits.connect + limits.read):
        return pg.connect(uri)


# ---------------------------------------------------------------------- MySQL / MariaDB


def mysql_connect(url: str, limits: Timeouts) -> Any:
    """A PyMySQL connection streaming results (server-side cursor), session time zone
    UTC, every wait bounded by ``limits``.

    Raises:
        pymysql.err.Error: As PyMySQL raises it (the caller explains it).
    """
    import pymysql
    import pymysql.cursors

    parts = urlsplit(url)
    options = dict(parse_qsl(parts.query, keep_blank_values=True))
    conn = pymysql.connect(
        host=parts.hostname or "localhost",
        port=parts.port or 3306,
        user=unquote(parts.username or ""),
        password=unquote(parts.password or ""),
        database=unquote(parts.path.lstrip("/")) or None,
        charset=options.get("charset", "utf8mb4"),
        cursorclass=pymysql.cursors.SSCursor,  # unbuffered: rows stream from the server
        init_command="SET time_zone = '+00:00'",
        connect_timeout=limits.connect,
        read_timeout=limits.connect,  # the handshake: part of connecting
        write_timeout=limits.write,
    )
    # From here reads wait for query results. PyMySQL sets each read's socket timeout
    # from this attribute (Connection._read_bytes); it has no public setter.
    conn._read_timeout = limits.read
    return conn


# ---------------------------------------------------------------------- errors


def masked(url: str) -> str:
    """``url`` with its password replaced by ``***`` (for messages and logs)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


def scrub(text: str, url: str) -> str:
    """``text`` without the URL's password (and without the URL, masked instead)."""
    parts = urlsplit(url)
    text = text.replace(url, masked(url))
    if parts.password:
        text = text.replace(parts.password, "***")
    return text


@dataclass(frozen=True)
class Guard:
    """Bounds (PostgreSQL: ``deadline``) and explains the driver calls of one read.

    Attributes:
        label: The source for messages (the masked URL and the table or "query").
        url: The URL, to scrub its password from driver messages.
        limits: The timeouts, and the server's host and port.
        deadline: Bounds PostgreSQL's reads (None: the driver bounds its own).
    """

    label: str
    url: str
    limits: Timeouts
    deadline: SocketDeadline | None = None

    @contextlib.contextmanager
    def call(self, *, connecting: bool = False) -> Iterator[None]:
        """Around one driver call: driver errors become :class:`InputDataError`."""
        waiting = (
            self.deadline.waiting()
            if self.deadline is not None and not connecting  # pg_connect bounds its own
            else contextlib.nullcontext()
        )
        try:
            with waiting:
                yield
        except LakegateError:
            raise
        except Exception as exc:  # driver errors: scrubbed of the password
            raise self.error(exc, connecting=connecting) from None

    def error(self, exc: Exception, *, connecting: bool) -> InputDataError:
        """``exc``, a driver error, as the error to raise (see :func:`read_sql`)."""
        text = scrub(_first_line(exc), self.url)
        if self.deadline is not None and self.deadline.expired:
            return timeout_error(self.label, self.limits, connecting=False)
        # libpq: "timeout expired"; PyMySQL: "... (timed out)", while connecting or reading.
        if "timeout expired" in text or "timed out" in text:
            return timeout_error(self.label, self.limits, connecting=connecting)
        error = InputDataError(f"{self.label}: {text}")
        error.transient = _transient(exc, text)
        return error


# MySQL client errors of the connection: can't connect, server gone away, lost.
_MYSQL_LOST = frozenset({2003, 2006, 2013})


def _transient(exc: Exception, text: str) -> bool:
    """Whether trying again later may pass: the connection failed or was lost, not the
    query or the credentials (those the user must fix)."""
    if type(exc).__module__.startswith("pymysql"):
        code = exc.args[0] if exc.args and isinstance(exc.args[0], int) else None
        return code in _MYSQL_LOST
    sqlstate = getattr(exc, "sqlstate", None)  # ADBC: the server's SQLSTATE
    if sqlstate:  # 08: connection exception; 57P: the server shuts down or restarts
        return str(sqlstate).startswith(("08", "57P"))
    # No SQLSTATE: a connection-level failure; "FATAL" is the server refusing us.
    return type(exc).__name__ == "OperationalError" and "FATAL" not in text


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
