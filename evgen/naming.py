"""Python names derived from stream names and schema property names.

    >>> module_name("mediawiki.page_change.v1")
    'mediawiki_page_change_v1'
    >>> model_name("mediawiki.page_content_change.v1")
    'PageContentChange'
    >>> pascal_case("prior_state"), pascal_case("1st-try"), singular("content_slots")
    ('PriorState', 'Model1stTry', 'content_slot')
"""

from __future__ import annotations

import builtins
import keyword
import re
import unicodedata

_WORD = re.compile(r"[A-Za-z0-9]+")
_VERSION_SEGMENT = re.compile(r"^v\d+$")


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


def words(text: str) -> list[str]:
    """The ASCII alphanumeric words of ``text`` (``"page_change.v1"`` -> page, change, v1)."""
    return _WORD.findall(_ascii(text))


def pascal_case(text: str, *, prefix: str = "Model") -> str:
    """A PascalCase identifier from ``text``; ``prefix`` is prepended when it would not start with a letter."""
    name = "".join(w[:1].upper() + w[1:] for w in words(text))
    if not name or not name[0].isalpha():
        name = prefix + name
    return name


def snake_case(text: str) -> str:
    """A lower snake_case identifier from ``text`` (``"mediawiki.page-create"`` -> ``mediawiki_page_create``)."""
    name = "_".join(w.lower() for w in words(text)) or "stream"
    if name[0].isdigit() or keyword.iskeyword(name):
        name = "s_" + name
    return name


def module_name(stream: str) -> str:
    """Name of the generated models module of a stream."""
    return snake_case(stream)


def model_name(stream: str) -> str:
    """Root model class of a stream: drop a trailing ``.v<N>`` and, when 2+ segments remain, the namespace.

    >>> model_name("mediawiki.page_change.v1"), model_name("page_change"), model_name("a.b.c")
    ('PageChange', 'PageChange', 'BC')
    """
    segments = [s for s in stream.split(".") if s]
    if len(segments) > 1 and _VERSION_SEGMENT.match(segments[-1]):
        segments = segments[:-1]
    if len(segments) >= 2:
        segments = segments[1:]
    return pascal_case("_".join(segments), prefix="Stream")


def singular(name: str) -> str:
    """Singular of the last word of a snake_case name (``groups`` -> ``group``)."""
    head, sep, last = name.rpartition("_")
    if not last.isalpha():
        return name
    # datamodel-code-generator's inflect engine: it loads inflect without typeguard's import-time
    # instrumentation (importing inflect directly costs ~1.5 s, and makes its later import slow too).
    from datamodel_code_generator.reference import get_singular_name

    return f"{head}{sep}{get_singular_name(last, suffix='')}"


#: Names a generated class must not take: imports of generated modules, builtins, keywords.
RESERVED_NAMES: frozenset[str] = frozenset(
    {
        "Annotated", "Any", "AwareDatetime", "BaseModel", "ConfigDict", "Enum", "EventDatetime", "Field",
        "Literal", "Optional", "RootModel", "TypeAliasType", "Union", "annotations",
    }
    | set(dir(builtins))
    | set(keyword.kwlist)
    | set(keyword.softkwlist)
)  # fmt: skip
