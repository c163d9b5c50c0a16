"""HTTP for enrichment jobs: a pooled, retrying session injected into process functions.

A process function asks for a session by annotating a parameter ``requests.Session`` (or,
written ``async def``, ``aiohttp.ClientSession``: :mod:`evgen.http.aio`); the runtime builds
one session per operator from the job config's ``http:`` section (:class:`HttpSettings`),
pooled to the worker count and shared by all worker threads.

    import requests
    from evgen.http import http_process_function
    from evgen.mediawiki import ActionApi

    @http_process_function
    def process(event: PageChange, session: requests.Session) -> PageContentChange:
        slots = ActionApi(session, "https://{domain}/w/api.php").revision_slots(
            event.meta.domain, event.revision.rev_id)
        ...

Modules: :mod:`~evgen.http.settings` (the config section), :mod:`~evgen.http.failures`
(stable ``error_type`` codes, :class:`HttpFailure`), :mod:`~evgen.http.retry` (the retry
policy), :mod:`~evgen.http.session` (building sessions) and :mod:`~evgen.http.injection`
(the decorator and the runtime's wrapper).
"""

from evgen.http.failures import (
    RETRYABLE_STATUSES,
    FailureCode,
    HttpFailure,
    check_response,
    failure_for_exception,
    failure_for_status,
    redact_url,
)
from evgen.http.injection import (
    DEFAULT_POOL_SIZE,
    AsyncHttpProcessFunction,
    HttpProcessFunction,
    InjectedFunction,
    http_process_function,
    session_parameter,
    wrap_injected,
)
from evgen.http.retry import RetryBudget, RetryPolicy, call_with_retries, call_with_retries_async
from evgen.http.session import HOST_POOLS, EvgenSession, build_session, send
from evgen.http.settings import DEFAULT_USER_AGENT, HttpSettings

__all__ = [
    "AsyncHttpProcessFunction",
    "DEFAULT_POOL_SIZE",
    "DEFAULT_USER_AGENT",
    "HOST_POOLS",
    "RETRYABLE_STATUSES",
    "EvgenSession",
    "FailureCode",
    "HttpFailure",
    "HttpProcessFunction",
    "HttpSettings",
    "InjectedFunction",
    "RetryBudget",
    "RetryPolicy",
    "build_session",
    "call_with_retries",
    "call_with_retries_async",
    "check_response",
    "failure_for_exception",
    "failure_for_status",
    "http_process_function",
    "redact_url",
    "send",
    "session_parameter",
    "wrap_injected",
]
