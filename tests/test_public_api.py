"""``evgen``'s public names: all importable, listed by ``dir()`` before first use, PyFlink loaded lazily."""

from __future__ import annotations

import subprocess
import sys


def _run(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_dir_lists_every_public_name_before_first_use_and_none_loads_pyflink() -> None:
    out = _run("import sys, evgen; print(sorted(set(evgen.__all__) - set(dir(evgen))), 'pyflink' in sys.modules)")
    assert out == "[] False"


def test_every_public_name_resolves() -> None:
    assert _run("import evgen; print([n for n in evgen.__all__ if getattr(evgen, n, None) is None])") == "[]"
