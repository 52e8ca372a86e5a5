"""Is the process that holds a lock still the one that took it, and still running?

A pid alone does not say: a process killed with ``SIGKILL`` stays a *zombie* (its pid
answers ``kill(pid, 0)``) until its parent reaps it, and after it is gone the kernel
may give its pid to an unrelated process (in a container, a restarted lakegate often
gets the very same pid). So a lock records its holder's *start token*, when that
process started, and a holder is live only while a process with that pid exists, is
not a zombie, and started at that same moment.

The start token is ``<boot id>:<start time>`` from Linux's ``/proc``
(``/proc/sys/kernel/random/boot_id``, and field 22 of ``/proc/<pid>/stat``: clock
ticks since boot; see proc_pid_stat(5)), so it also tells a pid of an earlier boot
apart. Where there is no ``/proc`` (macOS, Windows) the token is None and liveness
falls back to whether the pid exists.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

_PROC = Path("/proc")
_DEAD_STATES = frozenset("ZXx")  # zombie, dead (proc_pid_stat(5), field 3)


def start_token(pid: int) -> str | None:
    """When process ``pid`` started, as an opaque token (see the module docstring).

    Args:
        pid: A process id on this host.

    Returns:
        ``"<boot id>:<start time in clock ticks>"``, or None when it cannot be read
        (no such process, or no ``/proc`` on this system).
    """
    fields = _stat_fields(pid)
    boot = _boot_id()
    if fields is None or boot is None or len(fields) < 20:
        return None
    return f"{boot}:{fields[19]}"  # field 22 of the whole line


@functools.cache
def own_start_token() -> str | None:
    """:func:`start_token` of this process (read once)."""
    return start_token(os.getpid())


def holder_alive(pid: int, token: str | None) -> bool:
    """Whether the process that took a lock on this host is still running.

    Args:
        pid: The holder's process id.
        token: The holder's :func:`start_token` as recorded with the lock, or None when
            it was not recorded (a lock taken by an older lakegate, or on a system
            without ``/proc``).

    Returns:
        False when no process has that pid, when it is a zombie (killed but not yet
        reaped), or when the process with that pid started at another moment than the
        recorded one (the pid was reused). True otherwise, and whenever it cannot tell
        (a pid of another user on a system without ``/proc``).
    """
    if pid <= 0 or os.name == "nt":  # Windows' os.kill would signal the process
        return True
    if _PROC.joinpath("self", "stat").is_file():  # Linux: /proc says everything
        fields = _stat_fields(pid)
        if fields is None or fields[0] in _DEAD_STATES:
            return False
        return token is None or start_token(pid) in (token, None)
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: it exists, under another user
        return True
    return True


def _stat_fields(pid: int) -> list[str] | None:
    """The fields of ``/proc/<pid>/stat`` after the command name (from the state, field
    3, on), or None when the process does not exist."""
    try:
        line = _PROC.joinpath(str(pid), "stat").read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may hold spaces and parentheses.
    return line[line.rfind(")") + 1 :].split()


@functools.cache
def _boot_id() -> str | None:
    try:
        return _PROC.joinpath("sys", "kernel", "random", "boot_id").read_text().strip() or None
    except OSError:
        return None
