"""HTTP for enrichment jobs: a pooled, retrying ``requests.Session`` injected into process functions.

A process function asks for a session by annotating a parameter ``requests.Session``; the
runtime builds one session per operator from the job config's ``http:`` section
(:class:`HttpSettings`), pooled to the worker count and shared by all worker threads.

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
    HttpProcessFunction,
    http_process_function,
    session_parameter,
    wrap_injected,
)
from evgen.http.retry import RetryPolicy, call_with_retries
from evgen.http.session import HOST_POOLS, EvgenSession, build_session, send
from evgen.http.settings import DEFAULT_USER_AGENT, HttpSettings

__all__ = [
    "DEFAULT_POOL_SIZE",
    "DEFAULT_USER_AGENT",
    "HOST_POOLS",
    "RETRYABLE_STATUSES",
    "EvgenSession",
    "FailureCode",
    "HttpFailure",
    "HttpProcessFunction",
    "HttpSettings",
    "RetryPolicy",
    "build_session",
    "call_with_retries",
    "check_response",
    "failure_for_exception",
    "failure_for_status",
    "http_process_function",
    "redact_url",
    "send",
    "session_parameter",
    "wrap_injected",
]
