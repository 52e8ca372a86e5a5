"""The exception hierarchy of lakegate.

Every error lakegate raises on purpose derives from :class:`LakegateError`.
Two families decide what a caller (and the CLI's exit code) does with it:

* :class:`UserInputError` - the user's input is wrong (bad YAML, an unknown
  file, a contract naming a column the data lacks). The CLI exits with 2.
* :class:`DataError` - the data failed (a critical check, a failed run). The
  CLI exits with 1.
* :class:`EngineError` - the engine could not run a query; the CLI exits with 2.

``transient`` tells a retry policy whether trying again can help.
"""

from __future__ import annotations

from pathlib import Path


class LakegateError(Exception):
    """Root of every error lakegate raises on purpose.

    Attributes:
        transient: True when retrying the same operation may succeed (a
            network hiccup, a lock held by a live writer). False by default.
    """

    transient: bool = False
    exit_code: int = 1


class UserInputError(LakegateError):
    """The user's input is wrong: a file, a flag or a value. Exit code 2."""

    exit_code = 2


class ConfigError(UserInputError):
    """A YAML file (contract, pipeline, project) is malformed or invalid.

    Args:
        message: What is wrong, in words a user can act on.
        path: The file the error is in, if known.
        line: 1-based line number, if known.
        column: 1-based column number, if known.
        key: The dotted path of the offending key (``schema.properties.x.type``).
    """

    def __init__(
        self,
        message: str,
        *,
        path: str | Path | None = None,
        line: int | None = None,
        column: int | None = None,
        key: str | None = None,
    ) -> None:
        self.message = message
        self.path = str(path) if path is not None else None
        self.line = line
        self.column = column
        self.key = key
        super().__init__(self._render())

    def _render(self) -> str:
        where = ""
        if self.path:
            where = self.path
            if self.line is not None:
                where += f":{self.line}"
                if self.column is not None:
                    where += f":{self.column}"
            where += ": "
        key = f"{self.key}: " if self.key else ""
        return f"{where}{key}{self.message}"


class InputDataError(UserInputError):
    """An input dataset cannot be found, read or matched to its contract."""


class DataError(LakegateError):
    """The data failed: a critical check failed or a run could not complete."""


class EngineError(LakegateError):
    """The query engine failed while executing a compiled query. Exit code 2.

    The data did not fail a check: the engine could not run what it was given (a
    transform stage's SQL, or data of a shape the checks cannot be compiled for), so
    the CLI exits 2, as for other input it cannot use. The message is one line; the
    query, which is generated SQL, is kept out of it.

    Args:
        message: What failed, in one line.
        sql: The query or statement the engine was given, for debugging, or None.
    """

    exit_code = 2

    def __init__(self, message: str, *, sql: str | None = None) -> None:
        self.sql = sql
        super().__init__(message)
