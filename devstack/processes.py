"""Child server processes that can never outlive the process that started them.

Three layers, because each alone leaves orphans in some way a test run can end:
- every child runs in its own session and is stopped as a process group (TERM, then KILL);
- the kernel sends the child SIGTERM when its parent dies (``PR_SET_PDEATHSIG``), which covers
  ``kill -9`` of a test runner or the demo;
- an ``atexit`` hook stops whatever is still registered on a normal interpreter exit.
The parent-death signal fires when the *thread* that started the child exits, so start servers
from a long-lived thread (the main thread in tests and the CLI).
"""

from __future__ import annotations

import atexit
import ctypes
import os
import signal
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

PR_SET_PDEATHSIG = 1
_live: set[ManagedProcess] = set()
_live_lock = threading.Lock()


def _die_with_parent() -> None:
    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


class ManagedProcess:
    """A server process with its output in a log file and a stop that always reaps it."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        log_path: Path,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ):
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        self.env = dict(env) if env is not None else None
        self.cwd = cwd
        self._popen: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        return self._popen.pid if self._popen else None

    def start(self) -> None:
        """Start (or, once it has exited or been killed, start again)."""
        if self.is_running():
            raise RuntimeError(f"{self.name} already running")
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self._popen = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.env,
                cwd=self.cwd,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        with _live_lock:
            _live.add(self)

    def is_running(self) -> bool:
        return self._popen is not None and self._popen.poll() is None

    def exit_code(self) -> int | None:
        return None if self._popen is None else self._popen.poll()

    def signal(self, sig: int) -> None:
        """Send a signal to the whole group (SIGSTOP/SIGCONT simulate an unresponsive server)."""
        if self.is_running():
            assert self._popen is not None
            os.killpg(self._popen.pid, sig)

    def stop(self, timeout: float = 10.0) -> None:
        """TERM the group, wait, then KILL; always reaps so no zombie remains."""
        popen = self._popen
        if popen is None:
            return
        try:
            if popen.poll() is None:
                try:
                    os.killpg(popen.pid, signal.SIGCONT)  # a stopped process ignores TERM
                    os.killpg(popen.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
                try:
                    popen.wait(timeout)
                except subprocess.TimeoutExpired:
                    try:
                        os.killpg(popen.pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                    popen.wait(timeout)
            # The leader is gone; take down any straggler left in its group.
            try:
                os.killpg(popen.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        finally:
            with _live_lock:
                _live.discard(self)

    def kill(self, timeout: float = 10.0) -> None:
        """SIGKILL the whole group and reap it: a crash, as the fault suite injects it."""
        popen = self._popen
        if popen is None:
            return
        try:
            if popen.poll() is None:
                try:
                    os.killpg(popen.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                popen.wait(timeout)
        finally:
            with _live_lock:
                _live.discard(self)

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def wait_until(check, timeout: float, interval: float = 0.05, what: str = "condition") -> None:
    """Poll ``check()`` until it returns truthy; raise TimeoutError naming ``what``."""
    deadline = time.monotonic() + timeout
    last_error: BaseException | None = None
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except Exception as exc:  # the server is still coming up
            last_error = exc
        time.sleep(interval)
    raise TimeoutError(f"{what} not reached within {timeout:.0f}s (last error: {last_error!r})")


def pid_alive(pid: int) -> bool:
    """True while ``pid`` is a live, non-zombie process."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False


def child_pids(parent: int) -> list[int]:
    """Direct children of ``parent`` (servers of a stack, a listener's publisher process)."""
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                with open(f"/proc/{entry.name}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == parent:
                found.append(int(entry.name))
    return found


@atexit.register
def stop_all() -> None:
    with _live_lock:
        live = list(_live)
    for process in live:
        process.stop(timeout=5)
