"""Bounding blocking driver calls that have no timeout of their own (libpq's reads).

libpq, which ADBC's PostgreSQL driver uses, has ``connect_timeout`` but no read
timeout: a server that stops answering holds a query forever (``statement_timeout``
is enforced by the server itself, and TCP keepalives or ``tcp_user_timeout`` only
notice a peer that stops acknowledging). :class:`SocketDeadline` bounds each call from
outside: when a call overruns, it shuts down the connection's TCP socket, which ends
libpq's wait with a "connection closed" error the caller reports as the timeout.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
from collections.abc import Iterator

__all__ = ["SocketDeadline"]


class SocketDeadline:
    """Bounds blocking driver calls by shutting down their TCP connection when late.

    For drivers without a read timeout (libpq). :meth:`connecting` notes the sockets
    the connect opens to ``port``; :meth:`waiting` arms a timer for one call. When a
    timer fires, those sockets are shut down (``shutdown(SHUT_RDWR)``, the driver still
    owns and closes them): the driver's wait ends with a "connection closed" error and
    :attr:`expired` says why. Sockets are found in ``/proc/self/fd`` (Linux; elsewhere
    nothing is cut), TCP connections only (a Unix-domain socket is a local server). The
    connection's sockets are those opened to ``port`` while connecting: one another
    thread of this process opens to the same port in that moment would count too.

    Args:
        port: The server's TCP port.
        seconds: How long one call may wait, in seconds.
    """

    def __init__(self, port: int, seconds: float) -> None:
        self.port = port
        self.seconds = seconds
        self.expired = False
        self._before: set[int] = set()  # socket inodes open before connecting
        self._ours: set[int] | None = None  # the connection's sockets, once connected
        self._lock = threading.Lock()

    @contextlib.contextmanager
    def connecting(self, seconds: float) -> Iterator[None]:
        """Around the connect: at most ``seconds``; then remember the sockets it opened."""
        self._before = set(_sockets())
        with self.waiting(seconds):
            yield
        self._ours = {inode for inode, fd in self._new_sockets()}

    @contextlib.contextmanager
    def waiting(self, seconds: float | None = None) -> Iterator[None]:
        """Around one blocking call: at most ``seconds`` (default :attr:`seconds`)."""
        timer = threading.Timer(self.seconds if seconds is None else seconds, self._cut)
        timer.daemon = True
        timer.start()
        try:
            yield
        finally:
            timer.cancel()

    def _cut(self) -> None:
        with self._lock:
            self.expired = True
            for inode, fd in self._new_sockets():
                if self._ours is None or inode in self._ours:
                    _shutdown(fd, inode)

    def _new_sockets(self) -> Iterator[tuple[int, int]]:
        """(inode, fd) of the TCP sockets to ``port`` opened since :meth:`connecting`."""
        for inode, fd in _sockets().items():
            if inode not in self._before and _peer_port(fd, inode) == self.port:
                yield inode, fd


def _sockets() -> dict[int, int]:
    """This process's sockets: inode -> file descriptor (empty where /proc is not)."""
    found = {}
    with contextlib.suppress(OSError):
        for name in os.listdir("/proc/self/fd"):
            with contextlib.suppress(OSError):
                target = os.readlink(f"/proc/self/fd/{name}")
                if target.startswith("socket:["):
                    found[int(target[8:-1])] = int(name)
    return found


def _peer_port(fd: int, inode: int) -> int | None:
    """The remote port of a TCP socket (None for others, or when ``fd`` is reused)."""
    sock = _socket_of(fd, inode)
    if sock is None:
        return None
    with sock, contextlib.suppress(OSError):
        if sock.family in (socket.AF_INET, socket.AF_INET6):
            return int(sock.getpeername()[1])
    return None


def _shutdown(fd: int, inode: int) -> None:
    sock = _socket_of(fd, inode)
    if sock is not None:
        with sock, contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


def _socket_of(fd: int, inode: int) -> socket.socket | None:
    """A socket object on a duplicate of ``fd`` (close it after; the driver's own
    descriptor is left alone), or None when ``fd`` is no longer socket ``inode``."""
    try:
        copy = os.dup(fd)
    except OSError:
        return None
    try:
        if os.fstat(copy).st_ino == inode:
            return socket.socket(fileno=copy)
    except OSError:
        pass
    os.close(copy)
    return None
