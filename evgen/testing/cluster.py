"""A real standalone Flink session cluster on 127.0.0.1, from the installed PyFlink distribution.

A :class:`FlinkCluster` starts one JobManager and N TaskManagers (two by default, two slots
each) as separate ``java`` processes with ``bin/jobmanager.sh`` / ``bin/taskmanager.sh
start-foreground``, in a private directory: its own ``FLINK_CONF_DIR`` (the distribution's
``config.yaml`` plus free REST/RPC ports, small memory, this interpreter as
``python.executable``), ``FLINK_LIB_DIR`` (``lib/`` plus ``flink-python``, as in Flink's
Python images), ``FLINK_LOG_DIR`` and checkpoint / savepoint directories. It returns once
every TaskManager has registered with the JobManager (REST ``/taskmanagers``) and stops
cleanly (SIGTERM to each process group, then SIGKILL).

TaskManagers get evgen and this interpreter's site-packages on ``PYTHONPATH``, like machines
with Python, evgen and its dependencies installed (what thread mode's embedded interpreter
needs, as :mod:`evgen.runtime.flinkenv` does for the mini-cluster); a job's own package is
not on it: it arrives with the submission (``evgen run --target remote`` ships it).

    with FlinkCluster() as cluster:
        print(cluster.address)               # 127.0.0.1:41234 -> evgen run --target remote --jobmanager ...
        cluster.jobmanager.taskmanagers()    # two entries

The pytest fixture ``flink_cluster`` (evgen's pytest plugin) starts one per test session.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Mapping

import yaml

from evgen.devkafka import free_port
from evgen.errors import ClusterError
from evgen.flinkdist import child_environment, flink_home, flink_script, python_jar
from evgen.jobmanager import JobManager

__all__ = ["FlinkCluster", "installed_python_path"]

HOST = "127.0.0.1"
_CONF_FILES = ("log4j-console.properties", "logback-console.xml", "log4j-cli.properties", "logback.xml")


def _flatten(data: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            out.update(_flatten(value, name + "."))
        else:
            out[name] = value
    return out


def installed_python_path() -> str:
    """A ``PYTHONPATH`` under which evgen and its dependencies import as if installed: evgen's
    own root (an editable install is an import hook, which thread mode's embedded interpreter
    lacks, as :mod:`evgen.runtime.flinkenv` notes) and this interpreter's site-packages."""
    evgen_root = str(Path(__file__).resolve().parents[2])
    entries = [p for p in sys.path if p and Path(p).name in ("site-packages", "dist-packages") and Path(p).is_dir()]
    return os.pathsep.join(dict.fromkeys([evgen_root, *entries]))


class FlinkCluster:
    """One JobManager + ``taskmanagers`` TaskManagers of the installed Flink, on 127.0.0.1.

    ``configuration`` adds or overrides Flink options (flat keys). ``work_dir=None`` uses a
    temporary directory removed by :meth:`stop` (logs included; pass a directory to keep them).
    """

    def __init__(
        self,
        *,
        taskmanagers: int = 2,
        slots: int = 2,
        jobmanager_memory: str = "768m",
        taskmanager_memory: str = "1280m",
        python: str = sys.executable,
        python_path: str | None = None,
        configuration: Mapping[str, Any] | None = None,
        work_dir: Path | None = None,
        startup_timeout_s: float = 180.0,
    ) -> None:
        if taskmanagers < 1 or slots < 1:
            raise ClusterError(f"a cluster needs at least one TaskManager and slot (got {taskmanagers} x {slots})")
        self.taskmanager_count = taskmanagers
        self.slots = slots
        self.jobmanager_memory = jobmanager_memory
        self.taskmanager_memory = taskmanager_memory
        self.python = python
        self.python_path = installed_python_path() if python_path is None else python_path
        self.extra_configuration = dict(configuration or {})
        self.startup_timeout_s = startup_timeout_s
        self._own_dir = work_dir is None
        self._work_dir = work_dir
        self._procs: list[tuple[str, subprocess.Popen[bytes], IO[bytes]]] = []
        self._jobmanager: JobManager | None = None
        self._probe: JobManager | None = None
        self.rest_port = 0
        self.rpc_port = 0

    # -- where things are ----------------------------------------------------------------

    @property
    def work_dir(self) -> Path:
        if self._work_dir is None:
            raise ClusterError("the Flink cluster is not started")
        return self._work_dir

    @property
    def conf_dir(self) -> Path:
        return self.work_dir / "conf"

    @property
    def log_dir(self) -> Path:
        return self.work_dir / "log"

    @property
    def lib_dir(self) -> Path:
        """The processes' ``FLINK_LIB_DIR``: the distribution's ``lib/`` plus ``flink-python``."""
        return self.work_dir / "lib"

    @property
    def checkpoint_dir(self) -> Path:
        return self.work_dir / "checkpoints"

    @property
    def savepoint_dir(self) -> Path:
        return self.work_dir / "savepoints"

    @property
    def address(self) -> str:
        """``HOST:PORT`` of the REST endpoint: what ``--jobmanager`` takes."""
        return f"{HOST}:{self.rest_port}"

    @property
    def jobmanager(self) -> JobManager:
        """A REST client of this cluster's JobManager."""
        if self._jobmanager is None:
            raise ClusterError("the Flink cluster is not started")
        return self._jobmanager

    @property
    def running(self) -> bool:
        """True while any of the cluster's processes runs."""
        return any(proc.poll() is None for _, proc, _ in self._procs)

    # -- lifecycle -----------------------------------------------------------------------

    def configuration(self) -> dict[str, Any]:
        """The Flink options (flat keys) written to this cluster's ``config.yaml``."""
        base = _flatten(yaml.safe_load((flink_home() / "conf" / "config.yaml").read_text()) or {})
        base.update({
            "jobmanager.rpc.address": HOST,
            "jobmanager.rpc.port": self.rpc_port,
            "jobmanager.bind-host": HOST,
            "jobmanager.memory.process.size": self.jobmanager_memory,
            "taskmanager.host": HOST,
            "taskmanager.bind-host": HOST,
            "taskmanager.numberOfTaskSlots": self.slots,
            "taskmanager.memory.process.size": self.taskmanager_memory,
            # Python UDF workers take little managed memory; leave the rest to the task heap.
            "taskmanager.memory.managed.fraction": 0.2,
            "taskmanager.load-balance.mode": "slots",  # a job of parallelism 2 spans both TaskManagers
            "rest.address": HOST,
            "rest.bind-address": HOST,
            "rest.port": self.rest_port,
            "parallelism.default": 1,
            "execution.checkpointing.dir": self.checkpoint_dir.as_uri(),
            "execution.checkpointing.savepoint-dir": self.savepoint_dir.as_uri(),
            "python.executable": self.python,
            "python.client.executable": self.python,
        })
        base.update(self.extra_configuration)
        return base

    def start(self) -> FlinkCluster:
        """Start the JobManager and TaskManagers; return once all TaskManagers registered."""
        if self._procs:
            return self
        if self._work_dir is None:
            self._work_dir = Path(tempfile.mkdtemp(prefix="evgen-flink-cluster-"))
        self.rest_port, self.rpc_port = free_port(HOST), free_port(HOST)
        try:
            self._write_conf()
            self._jobmanager = JobManager(self.address, timeout_s=10.0)
            self._probe = JobManager(self.address, timeout_s=5.0, retries=0)  # polled while it starts
            self._spawn("jobmanager", "jobmanager.sh")
            for n in range(1, self.taskmanager_count + 1):
                self._spawn(f"taskmanager-{n}", "taskmanager.sh")
            self._await_registration()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self, grace_s: float = 30.0) -> None:
        """Stop every process (TaskManagers first); remove the work dir if it is temporary."""
        for name, proc, log in reversed(self._procs):
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + grace_s
        for name, proc, log in reversed(self._procs):
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait(timeout=10)
            log.close()
        self._procs.clear()
        for client in (self._jobmanager, self._probe):
            if client is not None:
                client.close()
        self._jobmanager = self._probe = None
        if self._own_dir and self._work_dir is not None:
            shutil.rmtree(self._work_dir, ignore_errors=True)
            self._work_dir = None

    def __enter__(self) -> FlinkCluster:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    def log_tail(self, process: str = "jobmanager", lines: int = 40) -> str:
        """The last ``lines`` of a process's Flink log (``jobmanager``, ``taskmanager-1``, ...)."""
        text = ""
        for path in sorted((self.log_dir / process).glob("*")):
            if path.suffix in (".log", ".out"):
                text += path.read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    # -- internals -----------------------------------------------------------------------

    def _write_conf(self) -> None:
        self.conf_dir.mkdir(parents=True, exist_ok=True)
        for directory in (self.log_dir, self.checkpoint_dir, self.savepoint_dir):
            directory.mkdir(parents=True, exist_ok=True)
        self._link_lib()
        for name in _CONF_FILES:
            source = flink_home() / "conf" / name
            if source.is_file():
                shutil.copy(source, self.conf_dir / name)
        text = yaml.safe_dump(self.configuration(), sort_keys=True, default_flow_style=False, width=1 << 16)
        (self.conf_dir / "config.yaml").write_text(text, encoding="utf-8")

    def _link_lib(self) -> None:
        """``lib/`` = the distribution's jars + ``opt/flink-python``, as in Flink's Python images.

        With ``flink-python`` only in each job's own class loader, a second thread-mode job
        on a TaskManager fails: pemja's native library is already loaded by the first job's
        class loader (``NoSuchFieldException: loadedLibraryNames`` on Java 17). From
        ``lib/`` it is loaded once, by the TaskManager's own class loader.
        """
        self.lib_dir.mkdir(parents=True, exist_ok=True)
        for jar in [*sorted((flink_home() / "lib").glob("*.jar")), python_jar()]:
            link = self.lib_dir / jar.name
            if not link.exists():
                link.symlink_to(jar)

    def environment(self, log_dir: Path) -> dict[str, str]:
        """The environment of a JobManager / TaskManager process logging to ``log_dir``: this
        cluster's Flink directories, and nothing PyFlink set in this process (a TaskManager
        that inherited a loopback address would run its Python workers here)."""
        env = child_environment(drop=("FLINK_",))
        env.update({
            "FLINK_CONF_DIR": str(self.conf_dir),
            "FLINK_LOG_DIR": str(log_dir),
            "FLINK_PID_DIR": str(log_dir),
            "FLINK_LIB_DIR": str(self.lib_dir),
            "PYTHONPATH": self.python_path,
        })
        if not env["PYTHONPATH"]:
            env.pop("PYTHONPATH")
        return env

    def _spawn(self, name: str, script: str) -> None:
        log_dir = self.log_dir / name
        log_dir.mkdir(parents=True, exist_ok=True)
        console = (log_dir / "console.out").open("wb")
        proc = subprocess.Popen(
            ["bash", str(flink_script(script)), "start-foreground"],
            env=self.environment(log_dir), stdout=console, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
            cwd=log_dir,  # where a JVM writes crash logs (hs_err_pid*.log)
        )
        self._procs.append((name, proc, console))

    def _await_registration(self) -> None:
        deadline = time.monotonic() + self.startup_timeout_s
        registered = 0
        while time.monotonic() < deadline:
            for name, proc, _ in self._procs:
                if proc.poll() is not None:
                    raise ClusterError(
                        f"Flink {name} exited with {proc.returncode} while starting: {self._last_error(name)}"
                    )
            assert self._probe is not None
            try:
                registered = len(self._probe.taskmanagers())
            except ClusterError:
                registered = 0  # the REST endpoint is not up yet
            if registered >= self.taskmanager_count:
                return
            time.sleep(0.5)
        raise ClusterError(
            f"only {registered} of {self.taskmanager_count} Flink TaskManagers registered within "
            f"{self.startup_timeout_s:.0f}s (logs: {self.log_dir})"
        )

    def _last_error(self, name: str) -> str:
        lines = [line.strip() for line in self.log_tail(name, 200).splitlines() if line.strip()]
        for line in reversed(lines):
            if "Exception" in line or "ERROR" in line or "Error" in line:
                return line[:300]
        return lines[-1][:300] if lines else f"no output (logs: {self.log_dir / name})"
