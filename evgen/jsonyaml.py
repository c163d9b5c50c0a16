"""Reading JSON and YAML documents as JSON data.

YAML is read with the safe loader minus implicit timestamps, so an unquoted
``2021-01-01T00:00:00Z`` stays a string (as it would in JSON) instead of
becoming a ``datetime``. Errors become one-line ``ValueError`` messages with
the position of the problem.

    >>> loads('dt: 2021-01-01T00:00:00Z\\nn: 1', "x.yaml")
    {'dt': '2021-01-01T00:00:00Z', 'n': 1}
    >>> loads('{"a": [1, 2]}', "x.json")
    {'a': [1, 2]}
"""

from __future__ import annotations

import json
from typing import Any

import yaml

__all__ = ["loads"]


class _JsonCompatibleLoader(yaml.SafeLoader):
    """SafeLoader without the timestamp resolver (dates stay strings, as in JSON)."""


_JsonCompatibleLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def loads(text: str | bytes, source: str) -> Any:
    """Parse ``text`` as JSON when ``source`` ends in ``.json``, else as YAML (a JSON superset).

    Raises ``ValueError("invalid JSON in <source>: ... (line L, column C)")`` or the YAML equivalent.
    """
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as e:
            raise ValueError(f"{source} is not UTF-8 text: {e.reason} at byte {e.start}") from None
    if source.lower().endswith(".json"):
        try:
            return json.loads(text)
        except json.JSONDecodeError as e:
            raise ValueError(f"invalid JSON in {source}: {e.msg} (line {e.lineno}, column {e.colno})") from None
    try:
        return yaml.load(text, Loader=_JsonCompatibleLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        raise ValueError(f"invalid YAML in {source}: {problem}{where}") from None
