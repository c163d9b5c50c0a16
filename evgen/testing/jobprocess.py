"""A job run as a child process tree (``evgen run``): start, crash it, stop it, read its summary.

The child leads a process group of its own, so :meth:`JobProcess.kill` takes down
everything a local run starts — the ``evgen run`` interpreter, Flink's JVM (the
mini-cluster: JobManager and TaskManager) and Python workers — at once, as a
machine or container crash would. :meth:`JobProcess.stop` sends one signal to the
``evgen run`` process only (as ``kill -TERM <pid>`` does) and waits for it to stop
by itself.

    with JobProcess.start([sys.executable, "-m", "evgen.cli", "run"], cwd=job_dir,
                          env=env, log=tmp_path / "run.log") as job:
        ...
        job.kill()                  # SIGKILL the whole tree; returns once it is gone
    summary = parse_summary(job.log_text())
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Mapping, Sequence

__all__ = ["LIVE_LINE", "JobProcess", "group_members", "parse_summary"]

#: A live status line of ``evgen run`` (``[   6.4s] in 120  out 118 ...``): printed once the job
#: was submitted, when SIGTERM / SIGINT already mean a clean stop.
LIVE_LINE = r"^\[\s*\d+\.\ds\] in [\d,]+ "

#: ``job finished: 10 in, 8 out, 1 errors, 1 filtered in 3.2s (3 events/s)`` (see RunResult.summary).
_SUMMARY = re.compile(
    r"^job (?P<status>\w+): (?P<in>\d+) in, (?P<out>\d+) out, (?P<errors>\d+) errors, (?P<filtered>\d+) filtered"
)
_DETAIL = re.compile(r"^  (?P<key>(?:error|filtered)\.\S+): (?P<count>\d+)$")


@dataclass
class JobProcess:
    """One started process group; see the module docstring."""

    process: subprocess.Popen[bytes]
    log: Path
    started: float

    @classmethod
    def start(cls, command: Sequence[str], *, cwd: Path, env: Mapping[str, str], log: Path) -> JobProcess:
        """Start ``command`` in ``cwd`` as the leader of a new session; stdout and stderr append to ``log``."""
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("ab") as out:
            out.write(f"$ {' '.join(command)}\n".encode())
            out.flush()
            process = subprocess.Popen(
                list(command), cwd=cwd, env=dict(env), stdin=subprocess.DEVNULL, stdout=out,
                stderr=subprocess.STDOUT, start_new_session=True,
            )
        return cls(process=process, log=log, started=time.monotonic())

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def running(self) -> bool:
        return self.process.poll() is None

    @property
    def returncode(self) -> int | None:
        return self.process.poll()

    def wait(self, timeout_s: float | None = None) -> int | None:
        """The leader's exit status once it exits; None if ``timeout_s`` passed first."""
        try:
            return self.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            return None

    def kill(self, timeout_s: float = 60.0) -> None:
        """SIGKILL every process of the group; return once none is left (TimeoutError otherwise)."""
        _signal_group(self.pid, signal.SIGKILL)
        self.process.wait()
        self._await_group_gone(timeout_s, kill=True)

    def stop(self, sig: int = signal.SIGTERM, timeout_s: float = 120.0, *, group: bool = False) -> int | None:
        """Send ``sig`` to the ``evgen run`` process (``group``: to every process of the group, as
        Ctrl-C in a terminal does) and wait ``timeout_s`` for the group to end.

        Returns the leader's exit status, or None when it had to be killed (it did not stop in time).
        """
        if self.running:
            try:
                os.killpg(self.pid, sig) if group else os.kill(self.pid, sig)
            except ProcessLookupError:
                pass
        status = self.wait(timeout_s)
        if status is None:
            self.kill()
            return None
        self._await_group_gone(30.0, kill=True)
        return status

    def log_text(self) -> str:
        """Everything the process wrote so far."""
        return self.log.read_text(encoding="utf-8", errors="replace")

    def wait_for_log(self, pattern: str, timeout_s: float) -> bool:
        """Wait until a line of the log matches ``pattern`` (a regex); False if the process
        exited or ``timeout_s`` passed first."""
        regex = re.compile(pattern, re.MULTILINE)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if regex.search(self.log_text()):
                return True
            if not self.running:
                return bool(regex.search(self.log_text()))
            time.sleep(0.2)
        return False

    def _await_group_gone(self, timeout_s: float, *, kill: bool) -> None:
        deadline = time.monotonic() + timeout_s
        while group_members(self.pid):
            if time.monotonic() > deadline:
                if not kill:
                    break
                _signal_group(self.pid, signal.SIGKILL)
                kill = False
                deadline = time.monotonic() + 10.0
                continue
            time.sleep(0.1)
        if group_members(self.pid):
            raise TimeoutError(f"processes of group {self.pid} still run after SIGKILL: {group_members(self.pid)}")

    def __enter__(self) -> JobProcess:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        if self.running or group_members(self.pid):
            self.kill()


def group_members(pgid: int) -> list[int]:
    """Live (not zombie) processes of process group ``pgid`` (Linux ``/proc``; elsewhere a signal-0 probe)."""
    proc = Path("/proc")
    if not proc.is_dir():
        try:
            os.killpg(pgid, 0)
        except (ProcessLookupError, PermissionError):
            return []
        return [pgid]
    members = []
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid pgrp ...: comm may hold spaces and parentheses
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) > 2 and fields[0] != "Z" and int(fields[2]) == pgid:
            members.append(int(entry.name))
    return sorted(members)


def parse_summary(text: str) -> Counter[str] | None:
    """The counts of the last run summary in ``text`` (``in``, ``out``, ``errors``, ``filtered``,
    ``error.<type>``, ``filtered.<reason>``) plus ``status.<status>``; None if there is none.

        >>> parse_summary("job finished: 3 in, 1 out, 1 errors, 1 filtered in 2.0s (1 events/s)\\n"
        ...               "  filtered.canary: 1\\n")["filtered.canary"]
        1
    """
    counts: Counter[str] | None = None
    for line in text.splitlines():
        line = line.replace("\x1b[K", "")  # a terminal's "clear line" before the summary
        if match := _SUMMARY.match(line):
            counts = Counter({k: int(v) for k, v in match.groupdict().items() if k != "status"})
            counts[f"status.{match['status']}"] = 1
        elif counts is not None and (detail := _DETAIL.match(line)):
            counts[detail["key"]] = int(detail["count"])
    return counts


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        pass
