"""Importing ``evgen.runtime`` loads none of its modules: a Python worker unpickles a job's
functions on several threads, and an ``__init__`` that imported ``runner`` -> ``execute`` ->
``operators`` let two of them deadlock on the package and ``operators`` (``_DeadlockError``)."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def run(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_the_runtime_package_imports_none_of_its_modules() -> None:
    loaded = run("""
        import sys
        import evgen.runtime
        print(sorted(m for m in sys.modules if m.startswith("evgen.runtime.")))
    """)
    assert loaded == "[]"


def test_main_and_run_job_still_import_from_the_package() -> None:
    assert run("""
        from evgen.runtime import main, run_job
        from evgen.runtime.runner import main as runner_main
        print(main is runner_main, callable(run_job))
    """) == "True True"


def test_operators_and_execute_import_together_on_two_threads() -> None:
    # what a Python worker does when it unpickles the key selector and the process function
    assert run("""
        import threading
        barrier = threading.Barrier(2)
        errors = []
        def load(name):
            barrier.wait()
            try:
                __import__(name)
            except Exception as e:
                errors.append(repr(e))
        threads = [threading.Thread(target=load, args=(n,)) for n in ("evgen.runtime.execute", "evgen.runtime.operators")]
        for t in threads: t.start()
        for t in threads: t.join()
        print(errors)
    """) == "[]"
