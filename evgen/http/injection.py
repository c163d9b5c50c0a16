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

import asyncio
import functools
import inspect
import sys
import threading
import types
import typing
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, TypeVar, overload

import requests

from evgen.errors import ContractError
from evgen.http.failures import failure_for_exception
from evgen.http.session import build_session
from evgen.http.settings import HttpSettings
from evgen.runtime.contract import is_async

if TYPE_CHECKING:
    from evgen.http.aio import DrivenLoop

E = TypeVar("E")
R = TypeVar("R")

#: Pool size used when a wrapped function is called before the runtime opened it.
DEFAULT_POOL_SIZE = 10


_SESSION_NAMES = {
    "requests": {"requests.Session", "Session", "requests.sessions.Session"},
    "aiohttp": {"aiohttp.ClientSession", "ClientSession", "aiohttp.client.ClientSession"},
}


def _session_kind(annotation: Any) -> str | None:
    """``"requests"`` for ``requests.Session``, ``"aiohttp"`` for ``aiohttp.ClientSession`` (or a
    subclass, optionally ``| None``; also as unresolved text); None otherwise."""
    if isinstance(annotation, str):
        parts = {p.strip().strip("'\"") for p in annotation.split("|")} - {"None"}
        return next((kind for kind, names in _SESSION_NAMES.items() if len(parts) == 1 and parts <= names), None)
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _session_kind(args[0]) if len(args) == 1 else None
    if isinstance(annotation, type):
        if issubclass(annotation, requests.Session):
            return "requests"
        aiohttp = sys.modules.get("aiohttp")  # imported by the annotation's own module if it names it
        if aiohttp is not None and issubclass(annotation, aiohttp.ClientSession):
            return "aiohttp"
    return None


def _session_parameters(fn: Callable[..., Any]) -> dict[str, str]:
    fn = inspect.unwrap(fn)
    try:
        hints: dict[str, Any] = typing.get_type_hints(fn)
    except Exception:  # unresolvable forward references: fall back to the raw annotations
        hints = {}
    params = inspect.signature(fn).parameters
    kinds = {n: _session_kind(hints.get(n, p.annotation)) for n, p in params.items()}
    return {n: k for n, k in kinds.items() if k is not None}


def session_parameter(fn: Callable[..., Any]) -> str | None:
    """The name of ``fn``'s parameter annotated ``requests.Session`` or ``aiohttp.ClientSession``, or None.

    :class:`ContractError` if more than one parameter asks for a session.
    """
    names = list(_session_parameters(fn))
    if len(names) > 1:
        raise ContractError(f"{_name(fn)}: only one parameter may be a session, got {', '.join(names)}")
    return names[0] if names else None


def _name(fn: Callable[..., Any]) -> str:
    return getattr(fn, "__qualname__", None) or repr(fn)


class InjectedFunction(Generic[E, R]):
    """A process function bound to a session built per operator; call it with the event only.

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
        self._resource: Any = None
        self._opens = 0
        self._lock = threading.Lock()
        functools.update_wrapper(self, fn)
        self.__signature__ = sig.replace(parameters=[event_param])
        annotations = getattr(fn, "__annotations__", {})
        self.__annotations__ = {k: annotations[k] for k in (event_param.name, "return") if k in annotations}

    # -- what the subclasses provide ----------------------------------------------------------

    def __call__(self, event: E) -> R:
        raise NotImplementedError

    def _build(self, settings: HttpSettings, pool_size: int, loop: DrivenLoop | None) -> Any:
        raise NotImplementedError

    def _dispose(self, resource: Any) -> None:
        raise NotImplementedError

    # -- shared ---------------------------------------------------------------------------------

    @property
    def session_param(self) -> str:
        return self._session_param

    def open(
        self, settings: HttpSettings | None = None, pool_size: int = DEFAULT_POOL_SIZE, loop: DrivenLoop | None = None
    ) -> None:
        """Build the session; balanced by :meth:`close`.

        ``loop``: the event loop an ``async`` function's session lives on, run by the caller
        (the runtime's operator passes its own); without one, the session gets a
        :class:`~evgen.http.aio.LoopThread`. A blocking function has no use for it.

        Opens are counted: if operators share this object, the first ``open`` builds the
        session, later ones keep it, and the last ``close`` closes it.
        """
        with self._lock:
            self._opens += 1
            if self._opens > 1 and self._resource is not None:
                return
            old, self._resource = self._resource, self._build(settings or HttpSettings(), pool_size, loop)
        if old is not None:  # opened lazily before: replace it by the configured one
            self._dispose(old)

    def close(self) -> None:
        """Close the session and its pooled connections once every :meth:`open` is closed."""
        with self._lock:
            self._opens = max(0, self._opens - 1)
            if self._opens:
                return
            old, self._resource = self._resource, None
        if old is not None:
            self._dispose(old)

    def _ensure(self) -> Any:
        resource = self._resource
        if resource is None:
            with self._lock:
                if self._resource is None:
                    self._resource = self._build(HttpSettings(), DEFAULT_POOL_SIZE, None)
                resource = self._resource
        return resource

    def _call(self, event: E, session: Any) -> Any:
        if self._session_first:
            return self._fn(session, event)
        if self._session_by_keyword:
            return self._fn(event, **{self._session_param: session})
        return self._fn(event, *self._between, session)

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_resource"] = None
        state["_opens"] = 0
        del state["_lock"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<http process function {_name(self._fn)}>"


class HttpProcessFunction(InjectedFunction[E, R]):
    """A process function with a pooled ``requests.Session`` injected (see :class:`InjectedFunction`)."""

    @property
    def session(self) -> requests.Session | None:
        """The open session, or None."""
        return self._resource  # type: ignore[no-any-return]

    def _build(self, settings: HttpSettings, pool_size: int, loop: DrivenLoop | None) -> requests.Session:
        return build_session(settings, pool_size)

    def _dispose(self, resource: requests.Session) -> None:
        resource.close()

    def __call__(self, event: E) -> R:
        session = self._ensure()
        try:
            return self._call(event, session)  # type: ignore[no-any-return]
        except requests.RequestException as e:
            raise failure_for_exception(e) from e


class AsyncHttpProcessFunction(InjectedFunction[E, R]):
    """An ``async def`` process function with an ``aiohttp.ClientSession`` injected.

    The runtime opens it on its operator's :class:`~evgen.http.aio.DrivenLoop` and runs the
    event chains there (:meth:`acall`): the task thread decodes, calls and validates, at most
    ``max_workers`` events at a time. Opened without a loop, the session lives on an event loop
    thread of its own (:class:`~evgen.http.aio.LoopThread`), and a call from another thread
    runs the coroutine there and waits for its result.

        async def process(event: PageChange, session: aiohttp.ClientSession) -> PageContentChange: ...

        fn = AsyncHttpProcessFunction(process, "session")
        fn.open(HttpSettings(), pool_size=64)
        fn(event)                   # a PageContentChange
    """

    @property
    def session(self) -> Any:
        """The open ``aiohttp.ClientSession``, or None."""
        return None if self._resource is None else self._resource[1]

    @property
    def loop(self) -> Any:
        """The event loop the open session lives on (a ``LoopThread`` or the ``DrivenLoop`` it was
        opened with), or None."""
        return None if self._resource is None else self._resource[0]

    def _build(self, settings: HttpSettings, pool_size: int, loop: DrivenLoop | None) -> tuple[Any, Any]:
        from evgen.http.aio import LoopThread, build_async_session

        runner: Any = loop or LoopThread(f"evgen-http-{getattr(self._fn, '__name__', type(self._fn).__name__)}")
        try:
            return runner, runner.run(build_async_session(settings, pool_size))
        except BaseException:
            if loop is None:
                runner.close()
            raise

    def _dispose(self, resource: tuple[Any, Any]) -> None:
        from evgen.http.aio import LoopThread

        loop, session = resource
        loop.run(session.close())
        if isinstance(loop, LoopThread):  # its own; a given loop is its owner's to close
            loop.close()

    def __call__(self, event: E) -> R:
        loop, session = self._ensure()
        return loop.run(self._invoke(event, session))  # type: ignore[no-any-return]

    async def acall(self, event: E) -> R:
        """Await the function with the session injected (on :attr:`loop`, after :meth:`open`)."""
        _, session = self._ensure()
        return await self._invoke(event, session)  # type: ignore[no-any-return]

    async def _invoke(self, event: E, session: Any) -> Any:
        import aiohttp

        from evgen.http.aio import failure_for_aiohttp

        try:
            return await self._call(event, session)
        except (aiohttp.ClientError, asyncio.TimeoutError) as e:
            raise failure_for_aiohttp(e) from e


def wrap_injected(fn: Callable[..., R]) -> InjectedFunction[Any, R]:
    """Wrap a function with a session-annotated parameter (runtime entry point).

    Already wrapped functions are returned as they are; :class:`ContractError` when ``fn``
    has no such parameter, or when an ``aiohttp.ClientSession`` is asked for by a function
    that is not ``async def`` (or the other way round).
    """
    return _wrap(fn, named_session=False, missing="no parameter is annotated requests.Session or aiohttp.ClientSession")


def _wrap(fn: Callable[..., R], *, named_session: bool, missing: str) -> InjectedFunction[Any, R]:
    if isinstance(fn, InjectedFunction):
        return fn
    kinds = _session_parameters(fn)
    name = session_parameter(fn)
    if name is None and named_session and "session" in inspect.signature(fn).parameters:
        name, kinds = "session", {"session": "aiohttp" if is_async(fn) else "requests"}
    if name is None:
        raise ContractError(f"{_name(fn)}: {missing}")
    if (kinds[name] == "aiohttp") != is_async(fn):
        raise ContractError(
            f"{_name(fn)}: an aiohttp.ClientSession goes with an `async def` process function, "
            "a requests.Session with a plain `def`"
        )
    return AsyncHttpProcessFunction(fn, name) if kinds[name] == "aiohttp" else HttpProcessFunction(fn, name)


@overload
def http_process_function(fn: Callable[..., R]) -> InjectedFunction[Any, R]: ...
@overload
def http_process_function(fn: None = None) -> Callable[[Callable[..., R]], InjectedFunction[Any, R]]: ...


def http_process_function(
    fn: Callable[..., R] | None = None,
) -> InjectedFunction[Any, R] | Callable[[Callable[..., R]], InjectedFunction[Any, R]]:
    """Decorator: inject a session into ``fn``'s session parameter.

    The session parameter is the one annotated ``requests.Session`` (``aiohttp.ClientSession``
    for an ``async def``), else the one named ``session``. Works bare (``@http_process_function``)
    or called (``@http_process_function()``).

        @http_process_function
        def process(event: PageChange, session: requests.Session) -> PageContentChange: ...
    """

    def decorate(f: Callable[..., R]) -> InjectedFunction[Any, R]:
        return _wrap(f, named_session=True,
                     missing="@http_process_function needs a parameter annotated requests.Session or aiohttp.ClientSession")

    return decorate(fn) if fn is not None else decorate
