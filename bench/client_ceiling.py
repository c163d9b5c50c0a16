"""The HTTP client's own ceiling: the enrichment's requests without Flink or evgen's chain.

Run in a process of its own (the fake server lives in the suite's process), it sends
``count`` revision queries, ``workers`` at a time, and prints requests/s and the client's CPU
time per request as JSON: with :class:`evgen.mediawiki.ActionApi` over one ``requests``
session from ``workers`` threads, or with :class:`evgen.mediawiki.AsyncActionApi` over one
``aiohttp`` session on one event loop. Section 3 reports it next to each level: when this
ceiling is below the Little's-law bound, the job cannot reach the bound either on this machine.

    python -m bench.client_ceiling 'http://127.0.0.1:8080/{domain}/w/api.php' 64 3200 aiohttp
    {"requests_per_s": 1150.0, "cpu_us_per_request": 290.0}
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

DOMAIN = "test.wikidata.org"


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def measure(url_template: str, workers: int, count: int, client: str = "requests") -> dict[str, float]:
    """Send ``count`` queries, ``workers`` at a time; requests/s and client CPU µs/request.

    ``client``: ``requests`` (one pooled session, ``workers`` threads) or ``aiohttp`` (one
    session on one event loop, ``workers`` concurrent coroutines). Only the queries are timed:
    imports and building the session come first, as in a job that is running.
    """
    clock = _Clock()
    run = _run_aiohttp if client == "aiohttp" else _run_requests
    slots = run(url_template, workers, count, clock)
    if len(slots) != count or not all(slots):
        raise RuntimeError(f"client ceiling: {sum(map(bool, slots))} of {count} queries returned content")
    return {"requests_per_s": round(count / clock.wall_s, 1), "cpu_us_per_request": round(clock.cpu_s / count * 1e6, 1)}


class _Clock:
    """Wall and CPU time from :meth:`start` to :meth:`stop`."""

    wall_s = cpu_s = 0.0

    def start(self) -> None:
        self._started = (time.perf_counter(), _cpu_s())

    def stop(self) -> None:
        self.wall_s, self.cpu_s = time.perf_counter() - self._started[0], _cpu_s() - self._started[1]


def _run_requests(url_template: str, workers: int, count: int, clock: _Clock) -> list[Any]:
    from evgen.http import HttpSettings, build_session
    from evgen.mediawiki import ActionApi

    api = ActionApi(build_session(HttpSettings(), pool_size=workers), url_template)
    with ThreadPoolExecutor(workers) as pool:
        clock.start()
        slots = list(pool.map(lambda i: api.revision_slots(DOMAIN, 1_000_000 + i), range(count)))
        clock.stop()
    return slots


def _run_aiohttp(url_template: str, workers: int, count: int, clock: _Clock) -> list[Any]:
    import asyncio

    from evgen.http import HttpSettings
    from evgen.http.aio import build_async_session
    from evgen.mediawiki import AsyncActionApi

    async def run() -> list[Any]:
        async with await build_async_session(HttpSettings(), pool_size=workers) as session:
            api, gate = AsyncActionApi(session, url_template), asyncio.Semaphore(workers)

            async def one(i: int) -> Any:
                async with gate:
                    return await api.revision_slots(DOMAIN, 1_000_000 + i)

            clock.start()
            slots = list(await asyncio.gather(*(one(i) for i in range(count))))
            clock.stop()
            return slots

    return asyncio.run(run())


def measure_in_subprocess(url_template: str, workers: int, count: int, client: str = "requests") -> dict[str, Any]:
    """:func:`measure` in a fresh Python process (its own GIL, as the Flink worker has)."""
    done = subprocess.run([sys.executable, "-m", "bench.client_ceiling", url_template, str(workers), str(count), client],
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    print(json.dumps(measure(sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), *sys.argv[4:5])))
