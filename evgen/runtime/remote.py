"""Running a job on a Flink cluster: ``evgen run --target remote`` and ``evgen stop``.

Submission goes through Flink's own client, ``bin/flink run`` of the installed PyFlink
distribution, detached, with what the job needs shipped as Flink expects:

- ``-pyfs <package>.zip,evgen.zip``: the job's package (its ``job.py`` and generated
  ``models/``) and, in process mode, the client's evgen, zipped; Flink extracts them onto
  the Python workers' ``PYTHONPATH`` (so the workers run the evgen that built the graph);
- ``-pyreq requirements.txt`` when the job directory has one (installed on the workers);
- the connectors' jars as ``pipeline.jars`` (uploaded with the job);
- ``-pyexec`` / ``-pyclientexec``: the workers' Python (``flink.configuration``'s
  ``python.executable``, else this interpreter) and the client's (this interpreter);
- ``--fromSavepoint <path>`` to resume from a savepoint or retained checkpoint
  (``--from-savepoint``, else the config's ``flink.resume_from``).

Python runs in ``process`` mode on a session cluster unless the job's config says otherwise
(see :func:`submit_job`). The Python program the client runs is :mod:`evgen.runtime.driver`:
it builds the same graph as a local run and submits it. Everything that can be checked here is checked before the
client starts (config, contract, jars, the JobManager answering, enough slots), and the
submission waits until Flink reports the job running (or why it failed).

    >>> sub = submit_job(Path("."), ["config/kafka.yaml"], jobmanager="127.0.0.1:8081")  # doctest: +SKIP
    >>> sub.job_id                                                                         # doctest: +SKIP
    '6b5a0e1c4ad0a1b8f5c0e1d2c3b4a596'
    >>> stop_job("127.0.0.1:8081", sub.job_id, savepoint_dir="/savepoints")               # doctest: +SKIP
    'file:/savepoints/savepoint-6b5a0e-2d4c7a9e1f03'
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

from evgen.errors import ClusterError, EvgenError
from evgen.flinkdist import child_environment
from evgen.jobmanager import JobManager, JobManagerAddress
from evgen.runtime.driver import ERROR_PREFIX, JOB_ID_PREFIX
from evgen.runtime.flinkenv import location_uri

__all__ = ["Submission", "flink_command", "stop_job", "submit_job", "zip_package"]

#: How long ``flink run`` may take to compile and upload the job.
SUBMIT_TIMEOUT_S = 600.0
_FLINK_JOB_ID = re.compile(r"JobID ([0-9a-f]{32})")


@dataclass(frozen=True)
class Submission:
    """A job submitted to a cluster."""

    job_id: str
    name: str
    jobmanager: JobManagerAddress
    parallelism: int
    execution_mode: str
    state: str
    restored_from: str | None = None

    def describe(self) -> str:
        """What to tell the user: the job id, where to watch it, how to stop it."""
        restored = f", restored from {self.restored_from}" if self.restored_from else ""
        return "\n".join([
            f"submitted {self.name} to {self.jobmanager} as job {self.job_id} "
            f"(parallelism {self.parallelism}, {self.execution_mode} mode, {self.state}{restored})",
            f"  watch: {self.jobmanager.url}/#/job/running/{self.job_id} "
            "(counts: the evgen.process.* metrics of the evgen:process operator)",
            f"  stop:  evgen stop --jobmanager {self.jobmanager} {self.job_id} --savepoint <dir>",
        ])


def zip_package(package_dir: Path, dest: Path) -> Path:
    """Zip ``package_dir`` (a Python package) as ``dest`` with the package at its root,
    leaving out caches; return ``dest``."""
    with zipfile.ZipFile(dest, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(package_dir.rglob("*")):
            relative = path.relative_to(package_dir.parent)
            if path.is_dir() or "__pycache__" in relative.parts or path.suffix in (".pyc", ".pyo"):
                continue
            archive.write(path, relative.as_posix())
    return dest


def flink_command(
    *,
    jobmanager: JobManagerAddress,
    python_files: Sequence[Path],
    driver_args: Sequence[str],
    python: str,
    worker_python: str,
    from_savepoint: str | None = None,
    requirements: Path | None = None,
) -> list[str]:
    """The ``bin/flink run`` command line that submits the driver, detached."""
    from evgen.flinkdist import flink_script

    command = [
        "bash", str(flink_script("flink")), "run", "--detached", "--target", "remote",
        "-D", f"rest.address={jobmanager.host}", "-D", f"rest.port={jobmanager.port}",
        "-pyclientexec", python, "-pyexec", worker_python,
        "-pyfs", ",".join(str(p) for p in python_files),
    ]
    if requirements is not None:
        command += ["-pyreq", str(requirements)]
    if from_savepoint:
        command += ["--fromSavepoint", from_savepoint]
    return command + ["-pym", "evgen.runtime.driver", *driver_args]


def submit_job(
    job_dir: Path | None,
    configs: Sequence[str],
    sets: Sequence[str] = (),
    overrides: Mapping[str, Any] | None = None,
    *,
    jobmanager: str,
    from_savepoint: str | None = None,
    ship_evgen: bool | None = None,
    wait_timeout_s: float = 180.0,
) -> Submission:
    """Submit the job to the session cluster whose REST endpoint is ``jobmanager``
    (``HOST:PORT``); return once Flink reports it running.

    Python runs in ``process`` mode unless the config sets ``flink.execution_mode``: a
    session cluster's TaskManagers run many jobs, and thread mode's embedded interpreter
    (one per TaskManager) keeps the modules of the first job that imported them — a new
    version of a job's code submitted later would not be loaded. ``ship_evgen`` (default:
    in process mode) adds the client's evgen to the shipped files; in thread mode the
    TaskManagers' installed evgen is used.
    """
    import evgen
    from evgen.runtime.config import merge
    from evgen.runtime.flinkenv import restore_path
    from evgen.runtime.runner import load_job, load_pipeline
    from evgen.runtime.stream import Stream

    address = JobManagerAddress.parse(jobmanager)
    overrides = dict(overrides or {})
    job = load_job(job_dir, configs, sets, overrides)
    if "execution_mode" not in job.config.flink.model_fields_set:
        # A session cluster's TaskManagers outlive jobs: thread mode's one interpreter per JVM
        # keeps every job's modules; process mode gives each job fresh Python workers.
        overrides = merge(overrides, {"flink": {"execution_mode": "process"}})
        job = load_job(job_dir, configs, sets, overrides)
    mode = job.config.flink.execution_mode
    if ship_evgen is None:  # thread mode imports evgen once per TaskManager: use the installed one
        ship_evgen = mode == "process"
    if str(job.job_dir) not in sys.path:  # the job's package, wherever evgen runs from
        sys.path.insert(0, str(job.job_dir))
    load_pipeline(job)(Stream(job)).chain()  # contract errors now, not in Flink's client
    parallelism = job.config.flink.parallelism
    with JobManager(address) as jm:
        free = int(jm.overview().get("slots-available", 0))
        if parallelism > free:
            raise ClusterError(
                f"the job needs {parallelism} task slots; the cluster at {address} has {free} free "
                "(add TaskManagers or lower --parallelism)"
            )
        job.connector_jars()  # fetched and verified now (the driver finds them in the cache)
        if from_savepoint:
            savepoint: str | None = location_uri(from_savepoint, Path.cwd())
        else:  # flink.resume_from of the config, if any ("latest": newest retained checkpoint)
            savepoint = restore_path(job.config.flink, job.job_dir)
        log_dir = job.job_dir / "out" / "flink-client"
        log_dir.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix="evgen-submit-") as staging:
            files = [zip_package(job.job_dir / job.lock.package, Path(staging) / f"{job.lock.package}.zip")]
            if ship_evgen:
                files.append(zip_package(Path(evgen.__file__).resolve().parent, Path(staging) / "evgen.zip"))
            requirements = job.job_dir / "requirements.txt"
            driver_args = ["--job-dir", str(job.job_dir), "--overrides", json.dumps(overrides)]
            for config in configs:
                driver_args += ["--config", str(Path(config).resolve())]
            for pair in sets:
                driver_args += ["--set", pair]
            command = flink_command(
                jobmanager=address, python_files=files, driver_args=driver_args, python=sys.executable,
                worker_python=str(job.config.flink.configuration.get("python.executable", sys.executable)),
                from_savepoint=savepoint, requirements=requirements if requirements.is_file() else None,
            )
            output = _run_client(command, log_dir)
        job_id = _job_id(output, log_dir)
        state = jm.wait_for_state(job_id, {"RUNNING", "FINISHED"}, timeout_s=wait_timeout_s)
    return Submission(job_id, job.name, address, parallelism, mode, state, savepoint)


def stop_job(jobmanager: str, job_id: str, *, savepoint_dir: str | None = None, drain: bool = False,
             timeout_s: float = 300.0) -> str | None:
    """Stop a running job: with a savepoint into ``savepoint_dir`` (returned), else cancel it."""
    with JobManager(jobmanager) as jm:
        state = jm.job_state(job_id)
        if state != "RUNNING":
            raise ClusterError(f"job {job_id} is {state}, not RUNNING: nothing to stop")
        if savepoint_dir is None:
            jm.cancel(job_id)
            jm.wait_for_state(job_id, {"CANCELED"}, timeout_s=timeout_s)
            return None
        location = jm.savepoint(job_id, location_uri(savepoint_dir, Path.cwd()), stop=True, drain=drain,
                                timeout_s=timeout_s)
        jm.wait_for_state(job_id, {"FINISHED"}, timeout_s=timeout_s)
        return location


# ---------------------------------------------------------------------------- internals


def _run_client(command: list[str], log_dir: Path) -> str:
    """Run Flink's client; its output (stdout + stderr), or the driver's / Flink's error."""
    env = {**child_environment(), "FLINK_LOG_DIR": str(log_dir)}
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=SUBMIT_TIMEOUT_S,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise ClusterError(f"flink run did not finish within {SUBMIT_TIMEOUT_S:.0f}s (client logs: {log_dir})") from None
    output = done.stdout + "\n" + done.stderr
    (log_dir / "last-submit.out").write_text(output, encoding="utf-8")
    for line in output.splitlines():
        if line.startswith(ERROR_PREFIX):
            raise EvgenError(line[len(ERROR_PREFIX):].strip())
    if done.returncode != 0:
        raise ClusterError(f"flink run failed: {_telling_line(output)} (output: {log_dir / 'last-submit.out'})")
    return output


def _job_id(output: str, log_dir: Path) -> str:
    for line in output.splitlines():
        if line.startswith(JOB_ID_PREFIX):
            return line[len(JOB_ID_PREFIX):].strip()
    match = _FLINK_JOB_ID.search(output)
    if match:
        return match.group(1)
    raise ClusterError(f"flink run printed no job id (output: {log_dir / 'last-submit.out'})")


def _telling_line(output: str) -> str:
    """The most specific error line of a Flink client's output."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    for marker in ("Caused by:", "Error", "Exception"):
        found = [line for line in lines if marker in line]
        if found:
            return found[-1][:300]
    return lines[-1][:300] if lines else "no output"
