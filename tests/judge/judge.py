"""Ask a real tritonserver what it does with each generated case: accepted, rejected, hang or crash.

One server (explicit model control, loopback only) serves a repository holding every case; each
case's main model is loaded through the repository API (POST /v2/repository/models/<m>/load), then
unloaded with its dependents. Several loads run at once (`jobs`); a load that does not answer
within `timeout` seconds while the server lives is a hang; when the server dies, every case that
was in flight is judged again alone on a fresh server, and the one that kills it then is a crash.
A server left with hung loads is killed (its whole process group) and its python-backend
/dev/shm segments removed, then replaced.

Triton's message is the load response's error plus the error lines the server logged for the
case's models meanwhile: errors of the poll stage (reading config.pbtxt, version folders) reach
only the log.
"""
from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]
if str(TESTS) not in sys.path:
    sys.path.insert(0, str(TESTS))

from support.triton import SHM_DIR, TritonServer, mapped_shm_segments, shm_segments

from tests.judge.generator import Case, write_case

OUTCOMES = ("accepted", "rejected", "hang", "crash")
HANGS_BEFORE_RESTART = 3
MESSAGE_LIMIT = 400


@dataclass
class Verdict:
    case: str
    category: str
    area: str
    outcome: str
    where: str
    message: str


def one_line(text: str, limit: int = MESSAGE_LIMIT) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


class ServerDied(Exception):
    pass


class Server:
    """The tritonserver of one generation; replaced after a crash or too many hung loads."""

    def __init__(self, repo: Path, log: Path, generation: int):
        self.generation = generation
        self.hung = 0
        self.killed = False  # by the judge (hung loads), not by a case
        # Enough HTTP and load threads for every hung load the judge lets pile up, plus the live ones.
        self.triton = TritonServer(repo, "--model-control-mode=explicit", "--model-load-thread-count=16",
                                   "--http-thread-count=32",
                                   "--exit-timeout-secs=5", log_path=log, wait="live", timeout=120)
        self.triton.start()

    def alive(self) -> bool:
        return self.triton.proc is not None and self.triton.proc.poll() is None

    def log_size(self) -> int:
        try:
            return self.triton.log_path.stat().st_size
        except OSError:
            return 0

    def log_since(self, offset: int) -> str:
        try:
            with open(self.triton.log_path, "rb") as handle:
                handle.seek(offset)
                return handle.read().decode(errors="replace")
        except OSError:
            return ""

    def post(self, path: str, body=None, timeout: float = 30.0):
        data = json.dumps(body or {}).encode()
        request = urllib.request.Request(f"http://{self.triton.http_url}{path}", data=data, method="POST",
                                         headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                return response.status, response.read().decode(errors="replace")
        except urllib.error.HTTPError as err:
            return err.code, err.read().decode(errors="replace")

    def kill(self) -> None:
        """SIGKILL the whole group (a hung load never lets SIGINT finish), then drop leaked shm."""
        proc = self.triton.proc
        self.killed = True
        self.triton._stopped = True
        if proc is None:
            return
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            proc.wait(timeout=30)
        except Exception:  # noqa: BLE001 - nothing more can be done about an unkillable child
            pass
        time.sleep(0.5)  # stubs of the killed group exit and unmap their segments
        leaked = (shm_segments() - self.triton._shm_before) - mapped_shm_segments()
        for name in leaked:
            try:
                (SHM_DIR / name).unlink()
            except OSError:
                pass


def server_version(server: Server) -> str:
    try:
        with urllib.request.urlopen(f"http://{server.triton.http_url}/v2", timeout=10) as response:
            return json.loads(response.read()).get("version", "?")
    except (OSError, ValueError):
        return "?"


class Judge:
    def __init__(self, cases: list, workdir: Path, jobs: int = 3, timeout: float = 45.0, progress=None):
        self.cases = cases
        self.workdir = Path(workdir)
        self.repo = self.workdir / "repository"
        self.jobs = max(1, jobs)
        self.timeout = timeout
        self.progress = progress or (lambda text: None)
        self.lock = threading.Lock()
        self.server = None
        self.generation = 0
        self.version = "?"
        self.hangs_before_restart = HANGS_BEFORE_RESTART

    # -- the server ---------------------------------------------------------------------------------
    def _current(self) -> Server:
        with self.lock:
            if self.server is None or not self.server.alive():
                if self.server is not None:
                    self.server.kill()
                self.generation += 1
                log = self.workdir / f"tritonserver-{self.generation}.log"
                self.server = Server(self.repo, log, self.generation)
                if self.version == "?":
                    self.version = server_version(self.server)
            return self.server

    def _replace(self, server: Server) -> None:
        with self.lock:
            if self.server is server:
                server.kill()
                self.server = None

    def close(self) -> None:
        with self.lock:
            if self.server is not None:
                self.server.kill()
                self.server = None

    # -- one case ---------------------------------------------------------------------------------------
    def _triton_errors(self, text: str, case: Case) -> list:
        folders = {m.folder for m in case.models}
        lines = []
        for line in text.splitlines():
            important = line[:1] in ("E", "W") or "Failed" in line or "failed" in line
            if important and any(f"'{f}'" in line or f"{f}/" in line or f" {f}:" in line
                                              or f"{f} " in line for f in folders):
                lines.append(line.split("] ", 1)[-1])
        return lines

    def _load(self, case: Case):
        """(outcome, message); raises ServerDied when the server was lost during the load."""
        server = self._current()
        offset = server.log_size()
        started = time.monotonic()
        try:
            status, body = server.post(f"/v2/repository/models/{case.main}/load", timeout=self.timeout)
        except TimeoutError:
            if not server.alive() or server.killed:  # the judge replaced it meanwhile: no verdict
                raise ServerDied(server)
            with self.lock:
                server.hung += 1
                restart = server.hung >= self.hangs_before_restart
            log = self._triton_errors(server.log_since(offset), case)
            if restart:
                self._replace(server)
            return "hang", one_line(f"no answer after {self.timeout:.0f}s" + (": " + " | ".join(log) if log else ""))
        except OSError:
            time.sleep(0.5)
            if not server.alive():
                raise ServerDied(server)
            raise
        if not server.alive():
            raise ServerDied(server)
        try:
            error = json.loads(body).get("error", "") if body else ""
        except ValueError:
            error = body
        log = self._triton_errors(server.log_since(offset), case)
        try:
            server.post(f"/v2/repository/models/{case.main}/unload", {"parameters": {"unload_dependents": True}},
                        timeout=60)
        except OSError:
            if not server.alive():
                raise ServerDied(server)
        elapsed = time.monotonic() - started
        if status == 200:
            warnings = [line for line in log if "warmup" in line.lower() or "ignore" in line.lower()]
            return "accepted", one_line(f"loaded in {elapsed:.1f}s" + (": " + " | ".join(warnings) if warnings else ""))
        errors = [line for line in log if line not in error]
        return "rejected", one_line(" | ".join([error] + errors))

    def _crash_message(self, server: Server, offset: int) -> str:
        text = server.log_since(offset)
        signals = [line for line in text.splitlines() if "Signal" in line or "signal" in line]
        code = server.triton.proc.returncode
        return one_line(f"server exited with code {code}" + (": " + " | ".join(signals[:2]) if signals else ""))

    def _solo(self, case: Case):
        """Judge one case with nothing else in flight: a dying server is then this case's doing."""
        server = self._current()
        offset = server.log_size()
        try:
            return self._load(case)
        except ServerDied:
            try:
                server.triton.proc.wait(timeout=10)
            except Exception:  # noqa: BLE001
                pass
            message = self._crash_message(server, offset)
            self._replace(server)
            return "crash", message
        except OSError as exc:
            return "crash", one_line(f"connection lost: {exc}")

    def _confirm_hangs(self, hung: list, results: dict) -> None:
        """Judge every hang again, all at once on a fresh server with a longer timeout: a load that
        was only slow on a busy machine then answers. Hung loads cost no CPU, so they can overlap."""
        if not hung:
            return
        with self.lock:
            if self.server is not None:
                self.server.kill()
                self.server = None
        self.timeout, self.hangs_before_restart = self.timeout * 1.5, len(hung) + 1
        with ThreadPoolExecutor(min(len(hung), 12)) as pool:
            again = dict(zip([c.id for c in hung], pool.map(self._try, hung)))
        for case in hung:
            if again[case.id] is not None and again[case.id][0] != "hang":
                results[case.id] = again[case.id]
                self.progress(f"not a hang after all: {case.id}: {again[case.id][0]}")

    def _try(self, case):
        try:
            return self._load(case)
        except (ServerDied, OSError):
            return None

    # -- all cases ------------------------------------------------------------------------------------------
    def run(self) -> list:
        self.repo.mkdir(parents=True, exist_ok=True)
        for case in self.cases:
            write_case(case, self.repo)
        results: dict = {}
        suspects: list = []
        done = [0]

        def work(case, attempt=0):
            server = self._current()
            try:
                outcome = self._load(case)
            except (ServerDied, OSError):
                if server.killed and attempt < 2:  # replaced for hung loads: not this case's doing
                    return work(case, attempt + 1)
                with self.lock:
                    suspects.append(case)
                if not server.alive():
                    self._replace(server)
                return
            results[case.id] = outcome
            with self.lock:
                done[0] += 1
                if done[0] % 25 == 0:
                    self.progress(f"{done[0]}/{len(self.cases)} judged")

        try:
            with ThreadPoolExecutor(self.jobs) as pool:
                list(pool.map(work, self.cases))
            for case in suspects:  # alone, each on a live server
                results[case.id] = self._solo(case)
                self.progress(f"alone: {case.id}: {results[case.id][0]}")
            self._confirm_hangs([c for c in self.cases if results[c.id][0] == "hang"], results)
        finally:
            self.close()
        return [Verdict(c.id, c.category, c.area, *results[c.id][:1], c.where, results[c.id][1])
                for c in self.cases]


HEADER = ("case", "category", "area", "outcome", "where", "message")


def write_verdicts(path: Path, verdicts: list, seed: int, version: str, command: str) -> None:
    lines = [f"# seed: {seed}", f"# tritonserver: {version}", f"# command: {command}", "\t".join(HEADER)]
    for v in verdicts:
        lines.append("\t".join([v.case, v.category, v.area, v.outcome, v.where or "-", v.message.replace("\t", " ")]))
    Path(path).write_text("\n".join(lines) + "\n")


def read_verdicts(path: Path) -> tuple:
    """(meta {seed, tritonserver, command}, {case id: Verdict})."""
    meta, verdicts = {}, {}
    rows = Path(path).read_text().splitlines()
    for line in rows:
        if line.startswith("# "):
            key, _, value = line[2:].partition(": ")
            meta[key] = value
    body = [line for line in rows if not line.startswith("#")]
    for line in body[1:]:
        case, category, area, outcome, where, message = line.split("\t")
        verdicts[case] = Verdict(case, category, area, outcome, "" if where == "-" else where, message)
    return meta, verdicts
