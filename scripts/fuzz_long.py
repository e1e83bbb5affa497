"""Long fuzz run: the properties of tests/hardening (harness.check_case) on many generated cases.

    python scripts/fuzz_long.py [--cases 10000] [--seed 0] [--family all] [--failures build/fuzz-failures]

The cases are split evenly over the four families of tests/hardening/strategies.py (mutations of
the example manifest, manifests generated from the schema, valid manifests with one hostile
value, damaged bytes). Unlike the pytest
suite, a failure does not stop the run: each distinct failure (exception type, first line,
innermost compiler frame) is counted, and its smallest input saved to the failures folder,
so that one bug does not hide the next. Prints the count of cases run and of failures;
exits 1 if there was any failure. Same --seed, same cases.
"""
from __future__ import annotations

import argparse
import collections
import re
import sys
import tempfile
import time
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hypothesis import HealthCheck, Phase, given, seed, settings  # noqa: E402

from tests.hardening import strategies  # noqa: E402
from tests.hardening.harness import Workspace, check_case  # noqa: E402

FAMILIES = {"mutated-example": strategies.mutated_example, "generated": strategies.small_manifest,
            "one-hostile": strategies.one_hostile_manifest, "raw-bytes": strategies.raw_bytes}


def _general(text: str) -> str:
    """A message without its particulars (quoted values, paths, numbers), to group failures."""
    text = re.sub(r"'[^']*'|\"[^\"]*\"", "'…'", text)
    text = re.sub(r"(?<![\w.])/[^\s:]+", "/…", text)
    return re.sub(r"\d+", "N", text)[:160]


def signature(exc: BaseException) -> tuple:
    """(exception type, message in general, innermost compiler frame or the property)."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if "/compiler/" in f.filename]
    lines = [line for line in str(exc).splitlines() if line.strip()]
    first = _general(lines[0]) if lines else ""
    if frames:
        where = f"{frames[-1].filename.split('/compiler/', 1)[1]} {frames[-1].name}"
    else:  # a property of harness.check_case: the first line of its evidence tells the cases apart
        evidence = lines[lines.index("--- evidence ---") + 1] if "--- evidence ---" in lines[:-1] else ""
        where = "property; " + _general(evidence.strip())
    return type(exc).__name__, first, where


class Run:
    def __init__(self, failures_dir: Path):
        self.cases = collections.Counter()
        self.failures = collections.Counter()  # signature -> count
        self.smallest: dict = {}  # signature -> (family, raw, full text)
        self.failures_dir = failures_dir

    @property
    def failed(self) -> int:
        return sum(self.failures.values())

    def record(self, family: str, raw: bytes, exc: BaseException) -> None:
        sig = signature(exc)
        self.failures[sig] += 1
        if sig not in self.smallest or len(raw) < len(self.smallest[sig][1]):
            self.smallest[sig] = (family, raw, "".join(traceback.format_exception(exc))[-6000:])

    def save(self) -> list:
        saved = []
        if not self.smallest:
            return saved
        self.failures_dir.mkdir(parents=True, exist_ok=True)
        ordered = sorted(self.smallest.items(), key=lambda kv: -self.failures[kv[0]])
        for i, (sig, (family, raw, text)) in enumerate(ordered):
            path = self.failures_dir / f"{i:03d}-{family}.yaml"
            path.write_bytes(raw)
            path.with_suffix(".txt").write_text(f"{sig}\n\n{text}")
            saved.append(path)
        return saved


def run_family(run: Run, ws: Workspace, family: str, cases: int, seed_value: int, started: float) -> None:
    step = max(1, cases // 5)

    @seed(seed_value)
    @settings(max_examples=cases, phases=[Phase.generate], database=None, deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(raw=FAMILIES[family]())
    def body(raw):
        run.cases[family] += 1
        try:
            check_case(ws, raw)
        except Exception as exc:  # noqa: BLE001 - every failure is counted, none stops the run
            run.record(family, raw, exc)
        if run.cases[family] % step == 0:
            print(f"  {family}: {run.cases[family]:,}/{cases:,} cases, {run.failed} failures so far, "
                  f"{time.perf_counter() - started:.0f} s", flush=True)

    body()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=10_000, help="total number of cases (default 10,000)")
    parser.add_argument("--seed", type=int, default=0, help="same seed, same cases (default 0)")
    parser.add_argument("--family", choices=["all", *FAMILIES], default="all")
    parser.add_argument("--failures", type=Path, default=ROOT / "build" / "fuzz-failures",
                        help="where the smallest input of each distinct failure is saved")
    options = parser.parse_args(argv)
    families = list(FAMILIES) if options.family == "all" else [options.family]
    share = {f: options.cases // len(families) + (i < options.cases % len(families)) for i, f in enumerate(families)}
    run = Run(options.failures)
    started = time.perf_counter()
    print(f"fuzz: {options.cases:,} cases, seed {options.seed}: "
          + ", ".join(f"{n:,} {f}" for f, n in share.items()), flush=True)
    with tempfile.TemporaryDirectory(prefix="triton-gitops-fuzz-") as tmp:
        ws = Workspace(Path(tmp) / "ws")
        for family in families:
            run_family(run, ws, family, share[family], options.seed, started)
    elapsed = time.perf_counter() - started
    total = sum(run.cases.values())
    print(f"fuzz: {total:,} cases run, {run.failed:,} failures ({len(run.failures)} distinct) in {elapsed:.0f} s "
          f"(seed {options.seed}; " + ", ".join(f"{run.cases[f]:,} {f}" for f in families) + ")")
    for sig, count in run.failures.most_common():
        print(f"  {count:>6,} x {sig[0]}: {sig[1]}\n           at {sig[2]}")
    for path in run.save():
        print(f"  saved {path}")
    return 1 if run.failed else 0


if __name__ == "__main__":
    sys.exit(main())
