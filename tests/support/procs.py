"""Small process/network helpers shared by the Triton and emulator wrappers.

Everything we start for tests runs in its own session (process group) so that
stopping it also reaps grandchildren (Triton's python backend stubs, node
workers, ...) and nothing outlives the test run.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path


def free_port() -> int:
    """Ask the kernel for a free loopback port.

    There is a small window between closing this socket and the server binding
    the port; callers that care retry on "address in use".
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_free(port: int) -> bool:
    """Can `port` be bound on 127.0.0.1 right now?"""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def tail(path: Path, limit: int = 4000) -> str:
    """Last `limit` characters of a log file, for error messages."""
    try:
        text = Path(path).read_text(errors="replace")
    except OSError:
        return "<no log>"
    return text[-limit:]


def spawn(cmd: list[str], log_path: Path, env: dict[str, str] | None = None,
          cwd: str | Path | None = None) -> subprocess.Popen:
    """Start `cmd` in a new session with stdout+stderr appended to `log_path`."""
    log_path = Path(log_path)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=cwd,
            start_new_session=True,  # own process group: killpg reaches children
        )


def kill_group(proc: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
    """Signal the whole process group of `proc` (its pgid == its pid)."""
    try:
        os.killpg(proc.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


def stop_process(proc: subprocess.Popen, first_signal: int = signal.SIGTERM,
                 grace: float = 5.0, group_first: bool = True) -> None:
    """Send `first_signal`, wait up to `grace` seconds, then SIGKILL the group.

    The final SIGKILL of the group is sent even after a clean exit so that
    helpers the leader left behind die too.  `group_first=False` sends the
    polite signal to the leader only (Triton must orchestrate its own
    children's shutdown; signalling them directly makes them die noisily).
    """
    if proc.poll() is None:
        try:
            if group_first:
                os.killpg(proc.pid, first_signal)
            else:
                proc.send_signal(first_signal)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass
    kill_group(proc, signal.SIGKILL)
    try:
        proc.wait(timeout=5)
    except subprocess.TimeoutExpired:  # pragma: no cover - unkillable (D state)
        pass


def wait_until(predicate, timeout: float, proc: subprocess.Popen | None = None,
               interval: float = 0.1) -> bool:
    """Poll `predicate` until it is true, `timeout` passes or `proc` exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        if proc is not None and proc.poll() is not None:
            return predicate()
        time.sleep(interval)
    return False
