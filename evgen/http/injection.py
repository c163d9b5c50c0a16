"""Process functions that get a pooled ``requests.Session`` injected.

A process function asks for a session by annotating a parameter ``requests.Session``. The
runtime wraps it (:func:`wrap_injected`), calls ``open(settings, pool_size)`` once per
operator and then calls it with the event only; all worker threads share the session.

    @http_process_function
    def process(event: PageChange, session: requests.Session) -> PageContentChange: ...

    process.open(HttpSettings(), pool_size=8)
    process(event)              # the session is injected
    process.__wrapped__         # the original, typed function
"""

from __future__ import annotations

import functools
import inspect
import threading
import types
import typing
from collections.abc import Callable
from typing import Any, Generic, TypeVar, overload

import requests

from evgen.errors import ContractError
from evgen.http.failures import failure_for_exception
from evgen.http.session import build_session
from evgen.http.settings import HttpSettings

E = TypeVar("E")
R = TypeVar("R")

#: Pool size used when a wrapped function is called before the runtime opened it.
DEFAULT_POOL_SIZE = 10


def _is_session_type(annotation: Any) -> bool:
    """``requests.Session`` (or a subclass), optionally ``| None``; also as unresolved text."""
    if isinstance(annotation, str):
        parts = {p.strip().strip("'\"") for p in annotation.split("|")} - {"None"}
        return len(parts) == 1 and parts <= {"requests.Session", "Session", "requests.sessions.Session"}
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return len(args) == 1 and _is_session_type(args[0])
    return isinstance(annotation, type) and issubclass(annotation, requests.Session)


def session_parameter(fn: Callable[..., Any]) -> str | None:
    """The name of ``fn``'s parameter annotated ``requests.Session``, or None.

    :class:`ContractError` if more than one parameter asks for a session.
    """
    fn = inspect.unwrap(fn)
    try:
        hints: dict[str, Any] = typing.get_type_hints(fn)
    except Exception:  # unresolvable forward references: fall back to the raw annotations
        hints = {}
    params = inspect.signature(fn).parameters
    names = [n for n, p in params.items() if _is_session_type(hints.get(n, p.annotation))]
    if len(names) > 1:
        raise ContractError(f"{_name(fn)}: only one parameter may be a requests.Session, got {', '.join(names)}")
    return names[0] if names else None


def _name(fn: Callable[..., Any]) -> str:
    return getattr(fn, "__qualname__", None) or repr(fn)


class HttpProcessFunction(Generic[E, R]):
    """A process function bound to a pooled session; call it with the event only.

    The runtime calls :meth:`open` once per operator (the session is then shared by all
    worker threads, with no lock on the call path) and :meth:`close` at the end. Called
    before :meth:`open`, it opens itself with default settings (handy in a REPL or a unit
    test). ``__wrapped__`` is the original function.
    """

    __wrapped__: Callable[..., R]
    __name__: str
    __qualname__: str

    def __init__(self, fn: Callable[..., R], session_param: str) -> None:
        sig = inspect.signature(fn)
        others = [p for n, p in sig.parameters.items() if n != session_param]
        required = [p for p in others if p.default is inspect.Parameter.empty
                    and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
        if len(required) != 1 or required[0].kind is inspect.Parameter.KEYWORD_ONLY:
            raise ContractError(
                f"{_name(fn)}: a process function takes one event parameter besides the session "
                f"parameter {session_param!r}, got ({', '.join(sig.parameters)})"
            )
        self._fn = fn
        self._session_param = session_param
        event_param = required[0]
        names = list(sig.parameters)
        session_at, event_at = names.index(session_param), names.index(event_param.name)
        # How to pass the session: first positionally, by keyword, or positionally after the
        # event with the defaults of any parameter in between (positional-only parameters).
        self._session_first = session_at < event_at
        self._session_by_keyword = (
            not self._session_first and sig.parameters[session_param].kind is not inspect.Parameter.POSITIONAL_ONLY
        )
        self._between = tuple(sig.parameters[n].default for n in names[event_at + 1:session_at])
        self._session: requests.Session | None = None
        self._opens = 0
        self._lock = threading.Lock()
        functools.update_wrapper(self, fn)
        self.__signature__ = sig.replace(parameters=[event_param])
        annotations = getattr(fn, "__annotations__", {})
        self.__annotations__ = {k: annotations[k] for k in (event_param.name, "return") if k in annotations}

    @property
    def session_param(self) -> str:
        return self._session_param

    @property
    def session(self) -> requests.Session | None:
        """The open session, or None."""
        return self._session

    def open(self, settings: HttpSettings | None = None, pool_size: int = DEFAULT_POOL_SIZE) -> None:
        """Build the session; balanced by :meth:`close`.

        Opens are counted: if operators share this object, the first ``open`` builds the
        session, later ones keep it, and the last ``close`` closes it.
        """
        with self._lock:
            self._opens += 1
            if self._opens > 1 and self._session is not None:
                return
            old, self._session = self._session, build_session(settings or HttpSettings(), pool_size)
        if old is not None:  # opened lazily before: replace it by the configured one
            old.close()

    def close(self) -> None:
        """Close the session and its pooled connections once every :meth:`open` is closed."""
        with self._lock:
            self._opens = max(0, self._opens - 1)
            if self._opens:
                return
            old, self._session = self._session, None
        if old is not None:
            old.close()

    def _ensure_session(self) -> requests.Session:
        session = self._session
        if session is None:
            with self._lock:
                if self._session is None:
                    self._session = build_session(HttpSettings(), DEFAULT_POOL_SIZE)
                session = self._session
        return session

    def __call__(self, event: E) -> R:
        session = self._ensure_session()
        try:
            if self._session_first:
                return self._fn(session, event)
            if self._session_by_keyword:
                return self._fn(event, **{self._session_param: session})
            return self._fn(event, *self._between, session)
        except requests.RequestException as e:
            raise failure_for_exception(e) from e

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_session"] = None
        state["_opens"] = 0
        del state["_lock"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<http process function {_name(self._fn)}>"


def wrap_injected(fn: Callable[..., R]) -> HttpProcessFunction[Any, R]:
    """Wrap a function with a ``requests.Session``-annotated parameter (runtime entry point).

    Already wrapped functions are returned as they are; :class:`ContractError` when ``fn``
    has no such parameter.
    """
    return _wrap(fn, named_session=False, missing="no parameter is annotated requests.Session")


def _wrap(fn: Callable[..., R], *, named_session: bool, missing: str) -> HttpProcessFunction[Any, R]:
    if isinstance(fn, HttpProcessFunction):
        return fn
    name = session_parameter(fn)
    if name is None and named_session and "session" in inspect.signature(fn).parameters:
        name = "session"
    if name is None:
        raise ContractError(f"{_name(fn)}: {missing}")
    return HttpProcessFunction(fn, name)


@overload
def http_process_function(fn: Callable[..., R]) -> HttpProcessFunction[Any, R]: ...
@overload
def http_process_function(fn: None = None) -> Callable[[Callable[..., R]], HttpProcessFunction[Any, R]]: ...


def http_process_function(
    fn: Callable[..., R] | None = None,
) -> HttpProcessFunction[Any, R] | Callable[[Callable[..., R]], HttpProcessFunction[Any, R]]:
    """Decorator: inject a pooled session into ``fn``'s ``requests.Session`` parameter.

    The session parameter is the one annotated ``requests.Session``, else the one named
    ``session``. Works bare (``@http_process_function``) or called (``@http_process_function()``).

        @http_process_function
        def process(event: PageChange, session: requests.Session) -> PageContentChange: ...
    """

    def decorate(f: Callable[..., R]) -> HttpProcessFunction[Any, R]:
        return _wrap(f, named_session=True, missing="@http_process_function needs a parameter annotated requests.Session")

    return decorate(fn) if fn is not None else decorate
