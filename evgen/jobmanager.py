"""A Flink JobManager's REST API: cluster overview, job state, savepoints, stop and cancel.

What ``evgen run --target remote`` (wait until the job runs), ``evgen stop`` and the
test cluster need; everything else is Flink's web UI at the same address.

    >>> jm = JobManager("127.0.0.1:8081")                              # doctest: +SKIP
    >>> jm.job_state("a12c...")                                         # doctest: +SKIP
    'RUNNING'
    >>> jm.savepoint("a12c...", "file:///tmp/savepoints", stop=True)    # doctest: +SKIP
    'file:/tmp/savepoints/savepoint-a12c00-0123456789ab'

Every failure is a one-line :class:`~evgen.errors.ClusterError` (``ConfigError`` for a
malformed address or job id).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from typing import Any, Collection

import requests
from urllib3.util.retry import Retry

from evgen.errors import ClusterError, ConfigError
from evgen import __version__
from evgen.uris import http_session

__all__ = ["TERMINAL_STATES", "JobManager", "JobManagerAddress", "check_job_id"]

#: Job states after which a job never runs again.
TERMINAL_STATES = frozenset({"FINISHED", "FAILED", "CANCELED"})
_JOB_ID = re.compile(r"^[0-9a-f]{32}$")
_ADDRESS = re.compile(r"^(?:(?P<scheme>https?)://)?(?P<host>[A-Za-z0-9.\-]+|\[[0-9a-fA-F:]+\]):(?P<port>\d{1,5})/?$")


def check_job_id(job_id: str) -> str:
    """``job_id`` if it is a Flink job id (32 hex digits), else a :class:`ConfigError`."""
    if not _JOB_ID.match(job_id.strip().lower()):
        raise ConfigError(f"{job_id!r} is not a Flink job id (32 hex digits, as `evgen run --target remote` prints)")
    return job_id.strip().lower()


@dataclass(frozen=True)
class JobManagerAddress:
    """Where a JobManager's REST endpoint listens: ``HOST:PORT`` (``http://`` optional)."""

    host: str
    port: int
    scheme: str = "http"

    @classmethod
    def parse(cls, text: str) -> JobManagerAddress:
        """``"127.0.0.1:8081"`` / ``"http://flink-jm:8081"`` → an address; :class:`ConfigError` otherwise."""
        match = _ADDRESS.match(text.strip())
        port = int(match.group("port")) if match else 0
        if match is None or not 0 < port < 65536:
            raise ConfigError(f"--jobmanager: {text!r} is not HOST:PORT of a Flink JobManager's REST endpoint")
        return cls(match.group("host"), port, match.group("scheme") or "http")

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


class JobManager:
    """A client of one JobManager's REST API (``requests``; ``retries`` on idempotent calls)."""

    def __init__(self, address: str | JobManagerAddress, *, timeout_s: float = 10.0, retries: int = 3) -> None:
        self.address = address if isinstance(address, JobManagerAddress) else JobManagerAddress.parse(address)
        self.timeout_s = timeout_s
        retry = Retry(total=retries, connect=retries, read=min(retries, 2), backoff_factor=0.2,
                      allowed_methods={"GET"}, status_forcelist=(502, 503, 504))
        self._session = http_session(retry, user_agent=f"evgen/{__version__} (JobManager client)")

    @property
    def url(self) -> str:
        return self.address.url

    def close(self) -> None:
        self._session.close()

    def __enter__(self) -> JobManager:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- cluster --------------------------------------------------------------------------

    def overview(self) -> dict[str, Any]:
        """``GET /overview``: task managers, slots, jobs by state, Flink version."""
        return self._get("/overview")

    def taskmanagers(self) -> list[dict[str, Any]]:
        """The registered task managers (``GET /taskmanagers``)."""
        return list(self._get("/taskmanagers").get("taskmanagers", []))

    def jobs(self) -> list[dict[str, Any]]:
        """Every job the cluster knows (``GET /jobs/overview``): ``jid``, ``name``, ``state``, ..."""
        return list(self._get("/jobs/overview").get("jobs", []))

    # -- one job --------------------------------------------------------------------------

    def job(self, job_id: str) -> dict[str, Any]:
        """``GET /jobs/<id>``: state, vertices (name, parallelism, status), timestamps."""
        return self._get(f"/jobs/{check_job_id(job_id)}", what=f"job {job_id}")

    def job_state(self, job_id: str) -> str:
        """``GET /jobs/<id>/status``: the state alone (no metrics fetched from TaskManagers)."""
        return str(self._get(f"/jobs/{check_job_id(job_id)}/status", what=f"job {job_id}")["status"])

    def restored_from(self, job_id: str) -> str | None:
        """The savepoint or checkpoint the job started from, if any (checkpoint statistics)."""
        data = self._get(f"/jobs/{check_job_id(job_id)}/checkpoints", what=f"job {job_id}")
        restored = (data.get("latest") or {}).get("restored") or {}
        path = restored.get("external_path")
        return str(path) if path else None

    def root_cause(self, job_id: str) -> str | None:
        """The first line of the job's root exception, if it has one."""
        data = self._get(f"/jobs/{check_job_id(job_id)}/exceptions", what=f"job {job_id}")
        text = data.get("root-exception") or ""
        history = data.get("exceptionHistory", {}).get("entries") or []
        if not text and history:
            text = history[0].get("stacktrace") or history[0].get("exceptionName") or ""
        lines = [line.strip() for line in str(text).splitlines() if line.strip()]
        caused = [line for line in lines if line.startswith("Caused by:")]
        return (caused[-1] if caused else lines[0]) if lines else None

    def wait_for_state(self, job_id: str, states: Collection[str], *, timeout_s: float = 120.0,
                       poll_s: float = 0.5) -> str:
        """Poll until the job is in one of ``states``; :class:`ClusterError` when it ends in
        another terminal state (with Flink's root cause) or ``timeout_s`` passes."""
        deadline = time.monotonic() + timeout_s
        state = "UNKNOWN"
        while time.monotonic() < deadline:
            state = self.job_state(job_id)
            if state in states:
                return state
            if state in TERMINAL_STATES:
                cause = self.root_cause(job_id) if state == "FAILED" else None
                raise ClusterError(f"job {job_id} is {state}" + (f": {cause}" if cause else "")
                                   + f" (see {self.url}/#/job/completed/{job_id})")
            time.sleep(poll_s)
        raise ClusterError(f"job {job_id} is still {state} after {timeout_s:.0f}s, not {'/'.join(sorted(states))}")

    def savepoint(self, job_id: str, target_directory: str, *, stop: bool = False, drain: bool = False,
                  timeout_s: float = 300.0) -> str:
        """Take a savepoint into ``target_directory`` (a URI the JobManager can write); with
        ``stop``, stop the job with it (``drain``: emit the final watermark first). Returns
        the savepoint's location."""
        job_id = check_job_id(job_id)
        if stop:
            body: dict[str, Any] = {"targetDirectory": target_directory, "drain": drain}
            trigger = self._post(f"/jobs/{job_id}/stop", body, what=f"job {job_id}")
        else:
            body = {"target-directory": target_directory, "cancel-job": False}
            trigger = self._post(f"/jobs/{job_id}/savepoints", body, what=f"job {job_id}")
        request_id = trigger.get("request-id")
        if not request_id:
            raise ClusterError(f"the JobManager at {self.url} gave no savepoint trigger id for job {job_id}")
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            status = self._get(f"/jobs/{job_id}/savepoints/{request_id}", what=f"job {job_id}")
            if status.get("status", {}).get("id") == "COMPLETED":
                operation = status.get("operation") or {}
                if "location" in operation:
                    return str(operation["location"])
                failure = operation.get("failure-cause") or {}
                reason = _first_line(failure.get("stack-trace") or failure.get("class") or "unknown failure")
                raise ClusterError(f"savepoint of job {job_id} failed: {reason}")
            time.sleep(0.5)
        raise ClusterError(f"savepoint of job {job_id} did not complete within {timeout_s:.0f}s")

    def cancel(self, job_id: str) -> None:
        """Cancel the job (no savepoint)."""
        self._request("PATCH", f"/jobs/{check_job_id(job_id)}", params={"mode": "cancel"}, what=f"job {job_id}")

    # -- HTTP -----------------------------------------------------------------------------

    def _get(self, path: str, *, what: str | None = None) -> dict[str, Any]:
        return self._request("GET", path, what=what)

    def _post(self, path: str, body: dict[str, Any], *, what: str | None = None) -> dict[str, Any]:
        return self._request("POST", path, json=body, what=what)

    def _request(self, method: str, path: str, *, what: str | None = None, **kwargs: Any) -> dict[str, Any]:
        url = self.url + path
        try:
            response = self._session.request(method, url, timeout=self.timeout_s, **kwargs)
        except requests.RequestException as e:
            raise ClusterError(f"cannot reach the Flink JobManager at {self.url}: {_reason(e)}") from None
        not_found = response.status_code == 404 or "JobNotFoundException" in response.text[:2000]
        if not_found and response.status_code >= 400 and what:
            raise ClusterError(f"the Flink JobManager at {self.url} knows no {what}")
        if response.status_code >= 400:
            raise ClusterError(f"{method} {url} answered {response.status_code}: {_flink_error(response)}")
        if not response.content:
            return {}
        try:
            data = response.json()
        except ValueError:
            raise ClusterError(f"{method} {url} did not answer JSON (is {self.address} a Flink REST endpoint?)") from None
        if not isinstance(data, dict):
            raise ClusterError(f"{method} {url} answered {type(data).__name__}, not a JSON object")
        return data


def _reason(error: requests.RequestException) -> str:
    text = str(error)
    for marker in ("Connection refused", "Name or service not known", "timed out", "No route to host"):
        if marker in text:
            return marker.lower()
    return _first_line(text)[:200]


def _flink_error(response: requests.Response) -> str:
    try:
        errors = response.json().get("errors") or []
    except ValueError:
        errors = []
    text = str(errors[0]) if errors else response.text
    return _first_line(text)[:300] or response.reason


def _first_line(text: str) -> str:
    return next((line.strip() for line in str(text).splitlines() if line.strip()), "")
