"""Load YAML files and validate them into pydantic models with file:line errors.

PyYAML's node graph keeps the position of every key and value. We build plain
Python data from it and remember where each path came from, so a pydantic
validation error can be reported as ``contracts/flights.yaml:12:7:
schema.properties.dep_delay.minimun: unknown key``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pydantic
import yaml

from lakegate.errors import ConfigError

Loc = tuple[str | int, ...]
M = TypeVar("M", bound=pydantic.BaseModel)


@dataclass(frozen=True)
class Located:
    """YAML data plus the source position of every mapping key and value.

    Attributes:
        data: The parsed document (dicts, lists, scalars).
        path: The file it came from.
        positions: ``{loc: (line, column)}``, 1-based, for every key path;
            ``loc`` is a tuple of mapping keys and list indexes.
    """

    data: Any
    path: Path
    positions: dict[Loc, tuple[int, int]] = field(default_factory=dict)

    def position(self, loc: Loc) -> tuple[int, int] | None:
        """The position of ``loc`` or of its nearest ancestor that has one."""
        loc = tuple(loc)
        while loc:
            if loc in self.positions:
                return self.positions[loc]
            loc = loc[:-1]
        return self.positions.get(())

    def error(self, message: str, loc: Loc) -> ConfigError:
        """A ConfigError positioned at ``loc`` (a key path) in this document."""
        pos = self.position(loc)
        return ConfigError(
            message,
            path=self.path,
            line=pos[0] if pos else None,
            column=pos[1] if pos else None,
            key=".".join(map(str, loc)) or None,
        )


def _construct(node: yaml.Node, loc: Loc, positions: dict[Loc, tuple[int, int]], path: Path) -> Any:
    positions.setdefault(loc, (node.start_mark.line + 1, node.start_mark.column + 1))
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                raise ConfigError(
                    "YAML merge keys (<<) are not supported",
                    path=path,
                    line=key_node.start_mark.line + 1,
                    column=key_node.start_mark.column + 1,
                )
            key = yaml.SafeLoader(  # scalar keys only: construct through the safe loader
                ""
            ).construct_object(key_node, deep=True)
            if not isinstance(key, str | int | float | bool):
                raise ConfigError(
                    "mapping keys must be plain values",
                    path=path,
                    line=key_node.start_mark.line + 1,
                    column=key_node.start_mark.column + 1,
                )
            key = str(key) if isinstance(key, bool | float) else key
            if key in out:
                raise ConfigError(
                    f"duplicate key {key!r}",
                    path=path,
                    line=key_node.start_mark.line + 1,
                    column=key_node.start_mark.column + 1,
                    key=".".join(map(str, (*loc, key))),
                )
            child = (*loc, key)
            positions[child] = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            out[key] = _construct(value_node, child, positions, path)
        return out
    if isinstance(node, yaml.SequenceNode):
        return [_construct(item, (*loc, i), positions, path) for i, item in enumerate(node.value)]
    return yaml.SafeLoader("").construct_object(node, deep=True)


def load_yaml(path: str | Path, text: str | None = None) -> Located:
    """Parse one YAML document and record where each key is.

    Args:
        path: The file to read (also used in error messages when ``text`` is given).
        text: The document's text, when it is already in memory.

    Returns:
        The parsed data with positions.

    Raises:
        ConfigError: The file does not exist, cannot be read, is not valid
            YAML, has a duplicate key, or is empty.
    """
    path = Path(path)
    if text is None:
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise ConfigError("file not found", path=path) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read file: {exc}", path=path) from None
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise ConfigError(
            f"invalid YAML: {exc.problem or exc.context}",
            path=path,
            line=mark.line + 1 if mark else None,
            column=mark.column + 1 if mark else None,
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"invalid YAML: {exc}", path=path) from None
    if node is None:
        raise ConfigError("the file is empty", path=path)
    positions: dict[Loc, tuple[int, int]] = {}
    data = _construct(node, (), positions, path)
    return Located(data=data, path=path, positions=positions)


def _describe(error: Mapping[str, Any]) -> str:
    kind = error.get("type", "")
    if kind == "extra_forbidden":
        return "unknown key (check its spelling; unknown keys are never ignored)"
    if kind == "missing":
        return "required key is missing"
    # A validator's own message: pydantic prefixes it with "Value error, ".
    return str(error.get("msg", "invalid value")).removeprefix("Value error, ")


def validate_model(model: type[M], doc: Located) -> M:
    """Validate YAML data into ``model``, reporting the first error with its position.

    Args:
        model: A pydantic model class (its config should forbid extra keys).
        doc: The loaded YAML document.

    Returns:
        The validated model instance.

    Raises:
        ConfigError: Naming the file, line, column and dotted key of the first
            problem, and how many more there are.
    """
    try:
        return model.model_validate(doc.data, context={"source": doc})
    except pydantic.ValidationError as exc:
        errors = exc.errors(include_url=False)
        first = errors[0]
        # pydantic adds the tag of tagged unions and model names to loc; keep real keys only.
        loc = tuple(part for part in first["loc"] if _is_data_key(doc, part))
        pos = doc.position(loc)
        more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
        raise ConfigError(
            _describe(first) + more,
            path=doc.path,
            line=pos[0] if pos else None,
            column=pos[1] if pos else None,
            key=".".join(str(p) for p in loc) or None,
        ) from None


_PYDANTIC_TYPE_NAMES = frozenset({"str", "int", "float", "bool", "list", "dict", "none", "tuple"})


def _is_data_key(doc: Located, part: str | int) -> bool:
    """False for loc parts pydantic adds for unions and validators (``int``, ``list[str]``)."""
    if isinstance(part, int):
        return True
    return "[" not in part and part not in _PYDANTIC_TYPE_NAMES
