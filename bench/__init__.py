"""evgen's benchmark suite: what types cost, how fast it enriches — measured side by side.

    python -m bench                             # full run (≈65 min on 2 cores) → docs/benchmarks.*
    python -m bench --smoke --out /tmp/smoke    # ≈2k events, one run per figure (CI)

Sections (one module each): :mod:`bench.codegen` (``evgen new-job`` / ``regen`` wall time),
:mod:`bench.typed_vs_handwritten` (file → file) and :mod:`bench.kafkajobs` (Kafka → Kafka),
:mod:`bench.datapath` (JSON vs Row path × thread vs process mode), :mod:`bench.enrich`
(HTTP enrichment vs Little's-law bound), :mod:`bench.latency` (end-to-end at 10 events/s),
:mod:`bench.memory` (RSS over a long run). Every job runs in a fresh worker process
(:mod:`bench.worker`, :mod:`bench.launcher`) on data from :mod:`bench.data`, alone or paired
with the other side of its ratio (:mod:`bench.paired`); every run's output is count-checked
(:mod:`bench.progress`); :mod:`bench.report` writes the results.
"""

from pathlib import Path

#: The evgen checkout the suite runs from (its docs/, README.md, generated job template).
REPO = Path(__file__).resolve().parents[1]
