"""Benchmark: what each function-level import in compiler/ costs, and the CLI's start-up.

    .venv/bin/python bench/import_cost.py [--runs 3] [--min-ms 0] [--startup-only] [--before DIR]

Part 1, the lazy imports. Every `import` inside a function under compiler/ (an ast walk) is
timed where it would run if it were moved to the top of its module: a fresh interpreter imports
`compiler.cli` (what every start has loaded) and the module holding the import (its host), then
forks once per statement and times the statement alone in the fork (a fresh copy of exactly
that state). The figure is the CPU time (user+sys of the fork, time.process_time) the statement
adds on top of what is already loaded: 0 when its modules are loaded anyway. Median of --runs
fresh interpreters. Files are in the page cache (warm), as on any start after the first.

Part 2, start-up: whole commands on the example manifest (models.yaml), each a fresh process:
CPU seconds (user+sys of the child, os.wait4) as the median of --runs, and the number of modules
it imports (`python -X importtime`, exact, does not depend on the load). With --before DIR (a
checkout of another revision, e.g. `git archive main | tar -x -C /tmp/before`), the same
commands also run against DIR's `compiler/`, alternating with this tree's run by run, so both
meet the same machine load.

The machine is shared: compare CPU, not wall, and read the load average printed with the table.
"""
from __future__ import annotations

import argparse
import ast
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

# The commands whose start-up is compared: the ones that run on the example manifest without a
# server, a store or a git history. {out} is a scratch folder.
STARTUP = [
    ("--help", ["--help"]),
    ("validate", ["validate", "models.yaml"]),
    ("schema", ["schema"]),
    ("explain", ["explain", "max_batch_size"]),
    ("completion", ["completion", "bash"]),
    ("targets", ["targets", "models.yaml"]),
    ("compile --dry-run", ["compile", "models.yaml", "--out", "{out}", "--dry-run"]),
    ("plan", ["plan", "models.yaml"]),
]

# Runs in a fresh interpreter: import compiler.cli and the host, then one fork per statement.
_CHILD = r"""
import importlib, json, os, sys, time
import compiler.cli
host, statements = sys.argv[1], json.loads(sys.argv[2])
try:
    importlib.import_module(host)
except BaseException as exc:
    print(json.dumps({"error": f"{type(exc).__name__}: {exc}"}))
    raise SystemExit(0)
namespace = {"__name__": host + ".__lazy__", "__package__": host.rpartition(".")[0]}
results = []
for statement in statements:
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        before = set(sys.modules)
        cpu, wall = time.process_time(), time.perf_counter()
        try:
            exec(statement, dict(namespace))
            error = None
        except BaseException as exc:
            error = f"{type(exc).__name__}: {exc}"
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        new = sorted(set(sys.modules) - before)
        os.write(write, json.dumps({"cpu": cpu, "wall": wall, "new": new, "error": error}).encode())
        os.close(write)
        os._exit(0)
    os.close(write)
    data = b""
    while chunk := os.read(read, 1 << 16):
        data += chunk
    os.close(read)
    os.waitpid(pid, 0)
    results.append(json.loads(data))
print(json.dumps(results))
"""


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def lazy_imports(package: Path) -> list:
    """[(host module, function, line, statement source)] for every import inside a function."""
    found = []

    def walk(node, host, function, path):
        for child in ast.iter_child_nodes(node):
            inner = function
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                inner = child.name if function is None else f"{function}.{child.name}"
            if function is not None and isinstance(child, (ast.Import, ast.ImportFrom)):
                found.append((host, function, child.lineno, ast.unparse(child)))
            walk(child, host, inner, path)

    for path in sorted(package.rglob("*.py")):
        walk(ast.parse(path.read_text(), str(path)), module_name(path), None, path)
    return found


def _packages(new: list) -> str:
    """The new modules in short: third-party top-level names, then how many of ours."""
    ours = [m for m in new if m == "compiler" or m.startswith("compiler.")]
    theirs = sorted({m.split(".")[0] for m in new} - {"compiler"})
    text = ",".join(t for t in theirs if not t.startswith("_"))
    if ours:
        text = (text + " " if text else "") + f"+{len(ours)} ours"
    return text


def measure_imports(runs: int, root: Path) -> list:
    """One row per distinct (host, statement): medians over `runs` fresh interpreters."""
    found = lazy_imports(root / "compiler")
    by_host: dict = {}
    where: dict = {}
    for host, function, line, statement in found:
        by_host.setdefault(host, [])
        if statement not in by_host[host]:
            by_host[host].append(statement)
        where.setdefault((host, statement), []).append(f"{function}:{line}")
    samples: dict = {}
    env = dict(os.environ, PYTHONPATH=str(root))
    for _ in range(runs):
        for host, statements in by_host.items():
            out = subprocess.run([sys.executable, "-c", _CHILD, host, json.dumps(statements)], cwd=root, env=env,
                                 capture_output=True, text=True, check=True).stdout
            answer = json.loads(out)
            if isinstance(answer, dict):  # the host itself did not import
                answer = [{"cpu": 0.0, "wall": 0.0, "new": [], "error": answer["error"]}] * len(statements)
            for statement, result in zip(statements, answer):
                samples.setdefault((host, statement), []).append(result)
    rows = []
    for (host, statement), results in samples.items():
        rows.append({
            "host": host, "statement": statement, "where": where[(host, statement)],
            "cpu_ms": statistics.median(r["cpu"] for r in results) * 1000,
            "wall_ms": statistics.median(r["wall"] for r in results) * 1000,
            "new": results[0]["new"], "error": results[0]["error"],
        })
    rows.sort(key=lambda r: (-r["cpu_ms"], r["host"], r["statement"]))
    return rows


def _command(root: Path, args: list, out: str) -> tuple:
    """(argv, environment) of one command against `root`'s compiler/. Each tree has a cache
    folder of its own (`out`.cache): the result cache keeps one file per manifest, and two trees
    sharing it would make every timed run a cold one."""
    env = dict(os.environ, PYTHONPATH=str(root), TRITON_GITOPS_CACHE_DIR=out + ".cache")
    return [sys.executable, "-m", "compiler", *(a.format(out=out) for a in args)], env


def _cpu(root: Path, args: list, out: str) -> tuple:
    """(CPU seconds of the whole process: user+sys, exit code) of one run."""
    command, env = _command(root, args, out)
    child = subprocess.Popen(command, cwd=root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(child.pid, 0)
    return usage.ru_utime + usage.ru_stime, os.waitstatus_to_exitcode(status)


def _modules(root: Path, args: list, out: str) -> int:
    """How many modules one run imports (-X importtime prints a line for each)."""
    command, env = _command(root, args, out)
    timed = subprocess.run([command[0], "-X", "importtime", *command[1:]], cwd=root, env=env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    return sum(1 for line in timed.stderr.splitlines()
               if line.startswith("import time:") and not line.rstrip().endswith("imported package"))


def measure_startup(runs: int, trees: dict) -> dict:
    """{(label, tree name): (median CPU s, modules, exit code)}, the trees alternating run by run."""
    modules: dict = {}
    samples: dict = {}
    with tempfile.TemporaryDirectory() as scratch:
        for name, root in trees.items():  # untimed: fills each tree's cache, as any run after the first finds it
            # Byte-code compiled first, as an installed package is (and PYTHONDONTWRITEBYTECODE
            # would otherwise leave a fresh checkout compiling every module on every run).
            subprocess.run([sys.executable, "-m", "compileall", "-q", str(root / "compiler")], check=True,
                           stdout=subprocess.DEVNULL)
            for label, args in STARTUP:
                _cpu(root, args, os.path.join(scratch, name))
                modules[(label, name)] = _modules(root, args, os.path.join(scratch, name))
        for _ in range(runs):
            for label, args in STARTUP:
                for name, root in trees.items():
                    samples.setdefault((label, name), []).append(_cpu(root, args, os.path.join(scratch, name)))
    return {key: (statistics.median(s[0] for s in values), modules[key], values[-1][1])
            for key, values in samples.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="fresh interpreters per figure (median; default 3)")
    parser.add_argument("--min-ms", type=float, default=0.0, help="leave out imports cheaper than this")
    parser.add_argument("--startup-only", action="store_true", help="only part 2, the commands' start-up")
    parser.add_argument("--before", metavar="DIR", help="also time the commands against DIR's compiler/")
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON here")
    options = parser.parse_args()
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}; {os.cpu_count()} CPUs; "
          f"medians of {options.runs} runs; CPU = user+sys")
    report: dict = {}
    if not options.startup_only:
        rows = measure_imports(options.runs, ROOT)
        report["imports"] = rows
        print(f"\n{len(rows)} distinct lazy imports (host, statement) in "
              f"{sum(len(r['where']) for r in rows)} places; CPU ms added on top of compiler.cli + the host\n")
        print(f"{'CPU ms':>7} {'wall ms':>7}  {'new modules':<34} {'statement':<64} where")
        for r in rows:
            if r["cpu_ms"] < options.min_ms:
                continue
            new = f"{len(r['new'])} {_packages(r['new'])}" if r["new"] else "0 (loaded already)"
            if r["error"]:
                new = f"ERROR {r['error']}"
            print(f"{r['cpu_ms']:7.1f} {r['wall_ms']:7.1f}  {new[:34]:<34} {r['statement'][:64]:<64} "
                  f"{r['host']}: {', '.join(r['where'])}")
    trees = {"this": ROOT}
    if options.before:
        trees["before"] = Path(options.before).resolve()
    startup = measure_startup(options.runs, trees)
    report["startup"] = {f"{label} [{name}]": figures for (label, name), figures in startup.items()}
    print("\nstart-up, whole process (`python -m compiler ...`, cwd the tree):\n")
    header = f"{'command':<20}" + "".join(f"{name + ' CPU s':>14}{'modules':>9}" for name in trees)
    print(header)
    for label, _ in STARTUP:
        line = f"{label:<20}"
        for name in trees:
            cpu, modules, code = startup[(label, name)]
            line += f"{cpu:14.3f}{modules:9d}" + ("" if code in (0, 2) else f" (exit {code})")
        print(line)
    if options.json:
        Path(options.json).write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
