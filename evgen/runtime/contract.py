"""The typed contract between a job's functions and its streams.

When a pipeline is built, each function's annotations are checked against the
type flowing at that point: the first ``process`` takes the source model, the
last one returns the sink model (or an ``Iterator``/``Iterable`` of it). A
mismatch raises :class:`~evgen.errors.ContractError` naming both types.
Unannotated parameters are accepted as they are (nothing to check).

    >>> def enrich(event: PageChange) -> PageContentChange: ...        # doctest: +SKIP
    >>> check_accepts(enrich, PageChange, "process(enrich)")            # doctest: +SKIP
    >>> produced_type(enrich)                                           # doctest: +SKIP
    <class 'PageContentChange'>
"""

from __future__ import annotations

import collections.abc
import inspect
import typing
from typing import Any, Callable

from evgen.errors import ContractError

_ITERABLES = {
    collections.abc.Iterator,
    collections.abc.Iterable,
    collections.abc.Generator,
    typing.Iterator,
    typing.Iterable,
    typing.Generator,
}


def _hints(fn: Callable[..., Any]) -> tuple[list[inspect.Parameter], dict[str, Any]]:
    target = inspect.unwrap(fn)
    if not (inspect.isfunction(target) or inspect.ismethod(target)) and callable(target):
        target = target.__call__  # a callable object
    try:
        params = [
            p
            for p in inspect.signature(target).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
    except (TypeError, ValueError):
        return [], {}
    try:
        hints = typing.get_type_hints(target)
    except Exception as e:  # a forward reference that does not resolve
        raise ContractError(f"cannot read the type annotations of {function_name(fn)}: {e}") from None
    return params, hints


def function_name(fn: Callable[..., Any]) -> str:
    """The name a contract error gives ``fn`` (a function's qualified name, else its class name)."""
    return getattr(inspect.unwrap(fn), "__qualname__", None) or type(fn).__name__


def is_async(fn: Callable[..., Any]) -> bool:
    """``fn`` is an ``async def`` function, or an object whose ``__call__`` is one."""
    target = inspect.unwrap(fn)
    return inspect.iscoroutinefunction(target) or inspect.iscoroutinefunction(getattr(target, "__call__", None))


def type_name(tp: Any) -> str:
    name = getattr(tp, "__name__", None)
    if name and not typing.get_args(tp):
        return name
    return str(tp).replace("typing.", "").replace("collections.abc.", "")


def input_annotation(fn: Callable[..., Any]) -> Any | None:
    """The annotation of the function's first positional parameter (None if absent)."""
    params, hints = _hints(fn)
    if not params:
        return None
    return hints.get(params[0].name)


def extra_parameters(fn: Callable[..., Any]) -> dict[str, Any]:
    """Annotated positional parameters after the first (candidates for injection)."""
    params, hints = _hints(fn)
    return {p.name: hints.get(p.name) for p in params[1:] if p.default is p.empty}


def check_accepts(fn: Callable[..., Any], flowing: Any, where: str) -> None:
    """Fail unless ``fn``'s first parameter accepts values of type ``flowing``."""
    expected = input_annotation(fn)
    if expected is None or expected is Any or flowing is Any:
        return
    if isinstance(expected, type) and isinstance(flowing, type) and issubclass(flowing, expected):
        return
    raise ContractError(
        f"{where}: {function_name(fn)} takes {type_name(expected)} but the stream carries {type_name(flowing)}"
    )


def produced_type(fn: Callable[..., Any]) -> Any:
    """The event type ``fn`` produces: its return annotation, unwrapping ``Iterator[X]``.

    ``Any`` when unannotated.
    """
    _, hints = _hints(fn)
    ret = hints.get("return", Any)
    origin = typing.get_origin(ret)
    if origin in _ITERABLES or ret in _ITERABLES:
        args = typing.get_args(ret)
        return args[0] if args else Any
    return ret


def check_produces(produced: Any, sink_model: type, where: str) -> None:
    """Fail unless ``produced`` is the sink model (or a subclass of it)."""
    if produced is Any:
        return
    if isinstance(produced, type) and issubclass(produced, sink_model):
        return
    raise ContractError(
        f"{where} returns {type_name(produced)} but the sink expects {type_name(sink_model)}"
    )
