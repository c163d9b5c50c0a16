"""The Flink distribution inside the installed ``apache-flink`` package.

PyFlink ships a complete Flink (``bin/``, ``conf/``, ``lib/``, ``opt/``): its ``bin/flink``
client submits jobs to clusters and its ``jobmanager.sh`` / ``taskmanager.sh`` start them.

    >>> (flink_home() / "bin" / "flink").is_file()
    True
    >>> flink_version()
    '2.2.1'
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Mapping

from evgen.errors import ClusterError

__all__ = ["child_environment", "flink_home", "flink_script", "flink_version", "python_jar"]

#: What a process holds once it ran a PyFlink job: the gateway's markers (``PYFLINK_*``,
#: ``_PYFLINK_*``), the Python worker's settings (``_PYTHON*``, ``BOOT_LOG_DIR``,
#: ``SEMI_PERSISTENT_DIRECTORY``) and the address of its loopback worker pool. A Flink process
#: started with ``PYTHON_LOOPBACK_SERVER_ADDRESS`` runs its Python workers *in that process*
#: instead of its own.
_PYFLINK_PROCESS_VARIABLES = ("PYFLINK_", "_PYFLINK_", "_PYTHON", "PYTHON_LOOPBACK_SERVER_ADDRESS",
                              "BOOT_LOG_DIR", "SEMI_PERSISTENT_DIRECTORY")


def child_environment(base: Mapping[str, str] | None = None, *, drop: tuple[str, ...] = ()) -> dict[str, str]:
    """``base`` (default ``os.environ``) for a child process that runs Flink or evgen, without
    what PyFlink set in this process for its own jobs, and without variables starting with ``drop``.

        >>> child_environment({"PATH": "/bin", "PYFLINK_GATEWAY_DISABLED": "true",
        ...                    "PYTHON_LOOPBACK_SERVER_ADDRESS": "localhost:4711"})
        {'PATH': '/bin'}
    """
    prefixes = _PYFLINK_PROCESS_VARIABLES + drop
    return {k: v for k, v in (os.environ if base is None else base).items() if not k.startswith(prefixes)}


def flink_home() -> Path:
    """The distribution's root directory; :class:`ClusterError` if the package has none."""
    import pyflink

    home = Path(pyflink.__file__).resolve().parent
    if not (home / "bin" / "flink").is_file() or not (home / "lib").is_dir():
        raise ClusterError(f"the installed apache-flink has no Flink distribution (no {home / 'bin' / 'flink'})")
    return home


def flink_script(name: str) -> Path:
    """``bin/<name>`` of the distribution (``flink``, ``jobmanager.sh``, ``taskmanager.sh``)."""
    path = flink_home() / "bin" / name
    if not path.is_file():
        raise ClusterError(f"the Flink distribution has no bin/{name} ({path})")
    return path


def flink_version() -> str:
    """The installed Flink version, e.g. ``2.2.1``."""
    from pyflink.version import __version__

    return str(__version__)


def python_jar() -> Path:
    """``opt/flink-python-<version>.jar``: the jar whose ``PythonDriver`` runs Python jobs."""
    path = flink_home() / "opt" / f"flink-python-{flink_version()}.jar"
    if not path.is_file():
        raise ClusterError(f"the Flink distribution has no {path.name} in {path.parent}")
    return path
