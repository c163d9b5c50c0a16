"""The suite's failures: one line each, so ``python -m bench`` can fail loudly and clearly.

    >>> raise CountMismatch("typed file run 2: 99,998 outputs for 100,000 inputs")  # doctest: +SKIP
    bench: error: typed file run 2: 99,998 outputs for 100,000 inputs
"""

from __future__ import annotations

from evgen.errors import EvgenError


class BenchError(EvgenError):
    """A benchmark could not be run or measured."""


class CountMismatch(BenchError):
    """A run produced the wrong number (or content) of outputs: its figures are not reported."""


class RunFailed(BenchError):
    """A job's worker process failed (the job crashed): no figures, but not a wrong count either."""
