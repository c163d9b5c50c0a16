"""Make the job's package importable however pytest is started.

Inside the job directory ``pyproject.toml`` puts ``.`` on the path; from the evgen
repository root (which collects these tests too) this does.
"""

from __future__ import annotations

import sys
from pathlib import Path

JOB_DIR = Path(__file__).resolve().parents[1]
if str(JOB_DIR) not in sys.path:
    sys.path.insert(0, str(JOB_DIR))
