"""``${VAR}`` expansion in configuration strings.

``${NAME}`` is replaced by the environment variable ``NAME``; ``${NAME:-text}``
falls back to ``text`` when it is unset or empty; ``$${`` writes a literal
``${``. A missing variable without a default is an error naming the file and
line, so a typo never becomes an empty password or path.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

from lakegate.config.yamlfile import Loc, Located
from lakegate.errors import ConfigError

_PATTERN = re.compile(r"\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def expand(text: str, env: Mapping[str, str] | None = None) -> str:
    """Expand ``${VAR}`` and ``${VAR:-default}`` in ``text``.

    Raises:
        KeyError: A variable is unset and has no default (the key is its name).
    """
    env = os.environ if env is None else env

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$${":
            return "${"
        name, default = match.group(1), match.group(2)
        value = env.get(name)
        if value:
            return value
        if default is not None:
            return default
        if value is not None:
            return value
        raise KeyError(name)

    return _PATTERN.sub(replace, text)


def expand_document(doc: Located, env: Mapping[str, str] | None = None) -> Located:
    """A copy of ``doc`` with every string value expanded.

    Raises:
        ConfigError: A variable is unset and has no default; names file, line and key.
    """

    def walk(value: Any, loc: Loc) -> Any:
        if isinstance(value, str):
            try:
                return expand(value, env)
            except KeyError as exc:
                pos = doc.position(loc)
                raise ConfigError(
                    f"environment variable {exc.args[0]} is not set (use ${{{exc.args[0]}:-default}} "
                    "for a default)",
                    path=doc.path,
                    line=pos[0] if pos else None,
                    column=pos[1] if pos else None,
                    key=".".join(map(str, loc)) or None,
                ) from None
        if isinstance(value, dict):
            return {k: walk(v, (*loc, k)) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v, (*loc, i)) for i, v in enumerate(value)]
        return value

    return Located(data=walk(doc.data, ()), path=doc.path, positions=doc.positions)
