"""What the numbers were measured on: cores, memory, CPU, versions, and how busy it was.

    >>> m = describe()                                  # doctest: +SKIP
    >>> m["cores"], m["python"], m["flink"]             # doctest: +SKIP
    (2, '3.11.9', '2.2.1')
"""

from __future__ import annotations

import os
import platform
import re
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any

import psutil


def cpu_model() -> str:
    """The CPU model name (``/proc/cpuinfo``), else the platform's processor string."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def java_version() -> str:
    """``java -version``'s first line (the JVM Flink uses: ``$JAVA_HOME/bin/java`` or ``java``)."""
    java_home = os.environ.get("JAVA_HOME")
    java = str(Path(java_home) / "bin" / "java") if java_home else "java"
    try:
        done = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"unavailable ({e})"
    first = (done.stderr or done.stdout).strip().splitlines()
    return first[0] if first else "unknown"


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def load() -> dict[str, float]:
    """The 1/5/15-minute load averages and the CPU busy share over the last 0.5 s."""
    one, five, fifteen = os.getloadavg()
    return {"load1": round(one, 2), "load5": round(five, 2), "load15": round(fifteen, 2),
            "cpu_percent": psutil.cpu_percent(interval=0.5)}


def describe() -> dict[str, Any]:
    """A JSON-ready description of this machine and software."""
    memory = psutil.virtual_memory()
    return {
        "cores": os.cpu_count(),
        "memory_gib": round(memory.total / 2**30, 1),
        "cpu_model": cpu_model(),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "java": re.sub(r"\s+", " ", java_version()),
        "flink": _version("apache-flink"),
        "pydantic": _version("pydantic"),
        "pydantic_core": _version("pydantic-core"),
        "fastjsonschema": _version("fastjsonschema"),
        "jsonschema_rs": _version("jsonschema-rs"),
        "evgen": _version("evgen"),
    }
