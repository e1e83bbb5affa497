"""The properties every manifest must satisfy, however hostile, and a sandbox to check them in.

One case = some bytes written as `models.yaml` into a `Workspace` (a temporary folder with the
example models and the fixture sources beside it). `check_case` then runs, in-process and
with TRITON_GITOPS_DEBUG=1 so that an unexpected exception escapes instead of becoming an
"internal error" line:

1. `validate --output json`: exit 0 or 1, never an exception; every problem located
   (the manifest's file name, 1 <= line <= the file's lines, column >= 1, a rule, a message);
   exit 1 iff at least one error.
2. `compile --out <workspace>-out/repo`: when validate said 0, it succeeds, and a dry run
   right after says "up to date"; when validate said 1, it exits 1 and nothing exists at
   the destination.
3. Nothing anywhere else in the workspace or beside the destination was created, changed
   or removed.

The same function serves the pytest fuzz suite and `scripts/fuzz_long.py`.
"""
from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.helpers import REPO, run_cli

MANIFEST = "models.yaml"
MARKER = ".triton-gitops-compiled"
RULE = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*")  # kebab-case, as every rule is named
# Everything YAML counts as a line break, so that a reported line may be checked against the file.
_BREAKS = (b"\n", b"\r", "\u0085".encode(), "\u2028".encode(), "\u2029".encode())


class CaseFailure(AssertionError):
    """A property did not hold; the message says which and shows the evidence."""


def _fail(what: str, evidence: str = "") -> None:
    raise CaseFailure(what + (f"\n--- evidence ---\n{evidence[:4000]}" if evidence else ""))


@contextlib.contextmanager
def patched_env(**values):
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in old.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def cli(ws: Workspace, *args):
    """(exit code, stdout, stderr), in-process in the workspace, with TRITON_GITOPS_DEBUG=1 so that
    an unexpected exception propagates, and the artifact cache kept out of the workspace."""
    with patched_env(**ws.env):
        code, out, err = run_cli(*args, cwd=ws.root)
    if "internal error" in err or "Traceback" in err:
        _fail(f"`{' '.join(map(str, args))}` reported an internal error", err)
    return code, out, err


class Workspace:
    """A folder with the sources manifests may point at; `models.yaml` is (re)written per case.

        <root>/examples/...        the example models (for mutations of ./models.yaml)
        <root>/src/...             tests/fixtures/manifests/src (labels.txt, m/1/model.py)
        <root>/outside/secret.txt  a file outside every source folder (symlink targets)
        <root>/.git                the workspace is a git work tree, as a CI checkout is
        <root>-out/repo            the compile destination, beside the workspace: a version
                                   source of "." may name the whole workspace, and a
                                   destination inside a source is refused by design
    """

    def __init__(self, root: Path):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        ignore = shutil.ignore_patterns("__pycache__")
        shutil.copytree(REPO / "examples", self.root / "examples", ignore=ignore, dirs_exist_ok=True)
        shutil.copytree(REPO / "tests" / "fixtures" / "manifests" / "src", self.root / "src", ignore=ignore,
                        dirs_exist_ok=True)
        (self.root / "outside").mkdir(exist_ok=True)
        (self.root / "outside" / "secret.txt").write_text("not for the repository\n")
        # A git work tree, as in CI: local sources must stay inside it.
        if not (self.root / ".git").exists():
            subprocess.run(["git", "init", "-q", str(self.root)], check=True)
        self.manifest = self.root / MANIFEST
        self.out = self.root.parent / (self.root.name + "-out") / "repo"
        self.out.parent.mkdir(exist_ok=True)
        # Beside the workspace, not in it: the artifact cache (and its index) is meant to be written.
        self.cache = self.root.parent / (self.root.name + "-cache")
        self.env = {"TRITON_GITOPS_DEBUG": "1", "TRITON_GITOPS_CACHE_DIR": str(self.cache), "NO_COLOR": "1"}

    def reset(self) -> None:
        """Remove what a previous case may have left at the destination or beside it."""
        shutil.rmtree(self.out.parent, ignore_errors=True)
        self.out.parent.mkdir()

    def snapshot(self) -> dict:
        """{path: (kind, size, mtime_ns)} of the workspace and the destination's folder, but for
        the manifest and the destination itself: what compile must never touch."""
        found = {}
        skip = {self.manifest, self.out, self.root / ".git"}  # git may refresh its index on a read
        for top in (self.root, self.out.parent):
            for folder, dirs, files in os.walk(top, followlinks=False):
                base = Path(folder)
                dirs[:] = [d for d in dirs if base / d not in skip]
                for name in dirs + files:
                    path = base / name
                    if path in skip:
                        continue
                    st = path.lstat()
                    if path.is_dir() and not path.is_symlink():
                        found[str(path)] = ("dir",)  # its mtime moves with its entries
                    else:
                        found[str(path)] = (st.st_mode >> 12, st.st_size, st.st_mtime_ns)
        return found


def max_line(raw: bytes) -> int:
    return sum(raw.count(b) for b in _BREAKS) + 1


def check_located(problems: list, raw: bytes, file: str = MANIFEST) -> None:
    """Every problem names the file, a line and column inside it, a rule and a message."""
    last_line, last_column = max_line(raw), len(raw) + 1
    for p in problems:
        ok = (p.get("file") == file and isinstance(p.get("line"), int) and isinstance(p.get("column"), int)
              and 1 <= p["line"] <= last_line and 1 <= p["column"] <= last_column
              and isinstance(p.get("rule"), str) and RULE.fullmatch(p["rule"])
              and isinstance(p.get("message"), str) and p["message"].strip()
              and p.get("severity") in ("error", "warning"))
        if not ok:
            _fail(f"problem not located (file {file!r}, lines 1..{last_line}, columns 1..{last_column})",
                  json.dumps(p, indent=1)[:2000])


@dataclass
class Outcome:
    code: int  # validate's exit code
    problems: list
    compiled: bool  # compile wrote the repository


def check_case(ws: Workspace, raw: bytes, compile_too: bool = True) -> Outcome:
    """Run one manifest through validate and compile and check every property (see module doc)."""
    ws.reset()
    ws.manifest.write_bytes(raw)
    before = ws.snapshot()
    code, out, err = cli(ws, "validate", MANIFEST, "--output", "json")
    if code not in (0, 1):
        _fail(f"validate exited {code}", out + err)
    try:
        report = json.loads(out)
    except ValueError:
        _fail("validate --output json printed no JSON report", out + err)
    problems = report["problems"]
    check_located(problems, raw)
    errors = [p for p in problems if p["severity"] == "error"]
    if (code == 1) != bool(errors):
        _fail(f"validate exited {code} with {len(errors)} errors", out + err)
    compiled = False
    if compile_too:
        ccode, cout, cerr = cli(ws, "compile", MANIFEST, "--out", ws.out)
        if code == 0:
            if ccode != 0 or not (ws.out / MARKER).is_file():
                _fail(f"validate passed but compile exited {ccode}", cerr + cout)
            compiled = True
            dcode, dout, derr = cli(ws, "compile", MANIFEST, "--out", ws.out, "--dry-run", "--exit-code")
            lines = dout.rstrip("\n").splitlines()
            if dcode != 0 or not lines or lines[-1] != f"{ws.out}: up to date":
                _fail(f"a dry run right after compile exited {dcode} and did not say up to date", dout + derr)
        else:
            if ccode != 1:
                _fail(f"validate failed but compile exited {ccode}", cout + cerr)
            if os.path.lexists(ws.out):
                _fail("compile of an invalid manifest created the destination", cout + cerr)
        after = ws.snapshot()
        if after != before:
            changed = sorted(set(after.items()) ^ set(before.items()))
            _fail("compile wrote outside its destination", "\n".join(map(str, changed[:50])))
    return Outcome(code, problems, compiled)


def files_of(folder: Path) -> dict:
    """{relative path: bytes} of every file (and symlink target) under folder."""
    return {p.relative_to(folder).as_posix(): (p.read_bytes() if p.is_file() else b"<not a file>")
            for p in sorted(Path(folder).rglob("*")) if not p.is_dir()}


# --- running the CLI as its own process, for time and memory bounds --------------------------

# Peak memory is read from /proc/self/status VmHWM (kB), the high-water mark of this process
# image only: Linux carries getrusage's ru_maxrss across exec, so a child of a big pytest
# process would report the parent's size.
_MEASURED = """
import sys, time
from compiler.cli import main

def peak_kb():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0

try:
    code = main(sys.argv[1:])
finally:
    sys.stdout.flush()
    print("HARDENING-MEASURE", peak_kb(), time.process_time(), file=sys.stderr)
sys.exit(code)
"""


@dataclass
class Measured:
    code: int
    stdout: str
    stderr: str
    seconds: float  # CPU time (user + system) of the whole process, start-up included
    max_rss_mb: float


def run_measured(ws: Workspace, *args, timeout: float = 120) -> Measured:
    """`triton-gitops ARGS` as a subprocess in the workspace, with its CPU time and peak RSS."""
    env = dict(os.environ, **ws.env, PYTHONPATH=os.pathsep.join(
        [str(REPO)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
    proc = subprocess.run([sys.executable, "-c", _MEASURED, *map(str, args)], cwd=ws.root, env=env,
                          capture_output=True, timeout=timeout)
    stderr = proc.stderr.decode("utf-8", "replace")
    match = re.search(r"HARDENING-MEASURE (\d+) ([0-9.]+)", stderr)
    rss = int(match[1]) / 1024 if match else float("inf")
    # CPU seconds, not wall time: the bound is about the work a hostile input causes, and a
    # loaded machine (other jobs on two cores) stretches wall time without any more work.
    seconds = float(match[2]) if match else float("inf")
    return Measured(proc.returncode, proc.stdout.decode("utf-8", "replace"), stderr, seconds, rss)
