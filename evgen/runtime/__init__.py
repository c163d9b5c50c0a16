"""The evgen runtime: what a generated job imports and runs on PyFlink.

    from evgen.runtime import main
    main("page_content_change")          # python -m page_content_change --config ...
"""

from evgen.runtime.runner import main, run_job

__all__ = ["main", "run_job"]
