"""Every wait of a SQL source is bounded: against a TCP listener that accepts and never
answers (or, for PostgreSQL, finishes the handshake and then goes silent), and against
the real PostgreSQL and MariaDB servers with a query that takes longer than the read
timeout. The errors name host and port and the setting; the URL's options are honoured.

Each read runs in a worker thread joined with a bound, so a wait that is not bounded
fails the test instead of hanging it; closing the listener then releases the thread.
"""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from lakegate.config.pipeline import SqlSource, load_pipeline
from lakegate.errors import ConfigError, InputDataError
from lakegate.sources.sql import read_sql
from lakegate.sources.sql_connect import CONNECT_SECONDS, READ_SECONDS, timeouts
from tests.conftest import lakegate
from tests.sources.conftest import TABLE

BOUND_SECONDS = 20  # far above every timeout below, far below "forever"


class SilentServer:
    """A TCP listener on 127.0.0.1 that accepts connections and never answers.

    With ``postgres_handshake`` it first plays PostgreSQL's startup (no TLS, trust
    auth, ready for a query), then goes silent: what a server stuck after accepting
    a session looks like to libpq.
    """

    def __init__(self, *, postgres_handshake: bool = False) -> None:
        self.handshake = postgres_handshake
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.2)
        self.port = self.listener.getsockname()[1]
        self.accepted: list[socket.socket] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self.accepted.append(conn)
            if self.handshake:
                threading.Thread(target=self._startup, args=(conn,), daemon=True).start()

    def _startup(self, conn: socket.socket) -> None:
        with_length = struct.Struct("!i")
        try:
            while True:  # SSLRequest / GSSENCRequest: "N" (not supported), then startup
                head = conn.recv(8, socket.MSG_WAITALL)
                if len(head) < 8:
                    return
                length, code = struct.unpack("!ii", head)
                conn.recv(length - 8, socket.MSG_WAITALL)
                if code not in (80877103, 80877104):
                    break
                conn.sendall(b"N")
            conn.sendall(b"R" + struct.pack("!ii", 8, 0))  # AuthenticationOk
            for key, value in ((b"server_version", b"16.0"), (b"client_encoding", b"UTF8")):
                body = key + b"\0" + value + b"\0"
                conn.sendall(b"S" + with_length.pack(4 + len(body)) + body)
            conn.sendall(b"K" + struct.pack("!iii", 12, 1, 2))  # BackendKeyData
            conn.sendall(b"Z" + with_length.pack(5) + b"I")  # ReadyForQuery, then nothing
        except OSError:
            return

    def close(self) -> None:
        self.stop.set()
        self.listener.close()
        for conn in self.accepted:
            conn.close()
        self.thread.join(5)


@pytest.fixture
def silent() -> Iterator[Callable[..., SilentServer]]:
    servers: list[SilentServer] = []

    def start(**kwargs: Any) -> SilentServer:
        servers.append(SilentServer(**kwargs))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def bounded_read(source: SqlSource) -> tuple[BaseException | None, float]:
    """Read ``source`` to the end in a worker thread; the error it raised and the
    seconds it took. Fails the test when it has not returned after BOUND_SECONDS."""
    outcome: list[BaseException | None] = []

    def work() -> None:
        try:
            read_sql(source).reader.read_all()
            outcome.append(None)
        except BaseException as exc:
            outcome.append(exc)

    started = time.monotonic()
    worker = threading.Thread(target=work, daemon=True)
    worker.start()
    worker.join(BOUND_SECONDS)
    elapsed = time.monotonic() - started
    if worker.is_alive():
        pytest.fail(f"the read still waits after {elapsed:.0f} s: no timeout bounds it")
    return outcome[0], elapsed


def test_defaults_and_the_urls_options(tmp_path: Path) -> None:
    def source(url: str, **keys: Any) -> SqlSource:
        return SqlSource(type="sql", url=url, table="t", **keys)

    plain = timeouts(source("postgresql://u@db.example:6543/x"), "postgres")
    assert (plain.connect, plain.read, plain.host, plain.port) == (
        CONNECT_SECONDS,
        READ_SECONDS,
        "db.example",
        6543,
    )
    in_url = timeouts(
        source("mysql://u@h/x?connect_timeout=3&read_timeout=7.5&write_timeout=2"), "mysql"
    )
    assert (in_url.connect, in_url.read, in_url.write, in_url.port) == (3, 7.5, 2, 3306)
    both = source("mysql://u@h/x?read_timeout=7", read_timeout_seconds=7)
    assert timeouts(both, "mysql").write == 7  # the read timeout, when not given

    pipelines = tmp_path / "pipelines"
    pipelines.mkdir()
    for url, keys, message in [
        ("postgresql://u@h/x?connect_timeout=5", "connect_timeout_seconds: 3, ", "give one"),
        ("mysql://u@h/x?read_timeout=soon", "", "read_timeout='soon' is not a number"),
        ("mysql://u@h/x?ssl_ca=/ca.pem&charset=utf8mb4", "", r"option\(s\) ssl_ca of a MySQL"),
    ]:
        path = pipelines / "p.yaml"
        path.write_text(
            "pipeline: {name: p}\n"
            f"extract:\n  source: {{type: sql, url: '{url}', {keys}table: t}}\n"
            "load: {target: t}\n"
        )
        with pytest.raises(ConfigError, match=message) as caught:
            load_pipeline(path)
        assert caught.value.path == str(path) and caught.value.line == 3


@pytest.mark.parametrize("scheme", ["postgresql", "mysql"])
def test_a_server_that_never_answers_fails_within_the_connect_timeout(
    silent: Callable[..., SilentServer], scheme: str
) -> None:
    server = silent()
    url = f"{scheme}://u:pw@127.0.0.1:{server.port}/db"
    error, elapsed = bounded_read(
        SqlSource(type="sql", url=url, table=TABLE, connect_timeout_seconds=2)
    )
    assert isinstance(error, InputDataError), error
    assert f"127.0.0.1:{server.port}" in str(error)
    assert "within 2 s (extract.source.connect_timeout_seconds)" in str(error)
    assert "pw" not in str(error).replace("***", "")
    assert error.transient  # a failed run (exit 1), worth retrying
    assert elapsed < 2 * 2 + 3  # libpq waits 2 s per address tried


def test_a_postgres_session_that_goes_silent_fails_within_the_read_timeout(
    silent: Callable[..., SilentServer],
) -> None:
    """libpq has no read timeout: after its handshake ADBC's first query would wait
    forever without lakegate's deadline."""
    server = silent(postgres_handshake=True)
    url = f"postgresql://u@127.0.0.1:{server.port}/db?read_timeout=1"
    error, elapsed = bounded_read(
        SqlSource(type="sql", url=url, table=TABLE, connect_timeout_seconds=2)
    )
    assert isinstance(error, InputDataError), error
    assert f"127.0.0.1:{server.port} did not answer within 1 s" in str(error)
    assert "read_timeout_seconds" in str(error) and error.transient
    assert elapsed < 2 + 1 + 3


@pytest.mark.parametrize(
    ("database", "query", "url_options"),
    [
        ("pg_url", "SELECT pg_sleep(30) AS slept", ""),
        ("pg_url", "SELECT pg_sleep(30) AS slept", "?connect_timeout=4"),
        ("maria_url", "SELECT SLEEP(30) AS slept", "?read_timeout=1&charset=utf8mb4"),
    ],
)
def test_a_query_slower_than_the_read_timeout_is_cut(
    request: pytest.FixtureRequest, database: str, query: str, url_options: str
) -> None:
    url = request.getfixturevalue(database) + url_options
    keys = {} if "read_timeout" in url_options else {"read_timeout_seconds": 1.0}
    source = SqlSource(type="sql", url=url, query=query, **keys)
    error, elapsed = bounded_read(source)
    assert isinstance(error, InputDataError), error
    limits = timeouts(source, "postgres" if database == "pg_url" else "mysql")
    assert f"{limits.host}:{limits.port} did not answer within 1 s" in str(error)
    assert error.transient and elapsed < 10


def test_the_urls_libpq_options_reach_the_server(pg_url: str) -> None:
    """connect_timeout is replaced by lakegate's, read_timeout removed, every other
    option of the URL passed to libpq as written (here: a percent-encoded one)."""
    url = pg_url + "?options=-c%20statement_timeout%3D4321&read_timeout=30&connect_timeout=3"
    source = SqlSource(
        type="sql", url=url, query="SELECT current_setting('statement_timeout') AS s"
    )
    assert read_sql(source).reader.read_all().column("s").to_pylist() == ["4321ms"]


def test_a_silent_server_fails_the_run_with_exit_1(
    tmp_path: Path, silent: Callable[..., SilentServer]
) -> None:
    server = silent()
    (tmp_path / "pipelines").mkdir()
    (tmp_path / "lakegate.yaml").write_text("name: sql_exit\n")
    path = tmp_path / "pipelines" / "p.yaml"
    path.write_text(
        "pipeline: {name: p}\nextract:\n  source: {type: sql, "
        f"url: 'postgresql://u@127.0.0.1:{server.port}/db', table: t, "
        "connect_timeout_seconds: 2}\nload: {target: t}\n"
    )
    stuck = lakegate("run", str(path), "--format", "json", cwd=tmp_path)
    assert stuck.returncode == 1, stuck.stdout + stuck.stderr
    assert f"cannot connect to 127.0.0.1:{server.port}" in stuck.stdout
