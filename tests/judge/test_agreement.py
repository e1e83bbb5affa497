"""lint agrees with the real tritonserver on every generated case (tests/judge/verdicts.tsv).

The cases are regenerated from the seed in the verdicts file and each is linted as the model
repository it is (its main model and its helper models). Agreement means:
- Triton rejects it, its load hangs, or the server crashes  =>  lint reports an error;
- Triton loads it                                          =>  lint reports no error (warnings may be);
- every error case is located: one of lint's errors points at the field the mutation touched.
Re-judge with `scripts/judge.py` when the generator changes (test_rejudge.py catches drift).
"""
from __future__ import annotations

import os
import re
from collections import Counter
from pathlib import Path

import pytest

from compiler.errors import format_path
from compiler.lint import lint_paths
from tests.judge.generator import CATEGORIES, generate, write_case
from tests.judge.judge import read_verdicts

VERDICTS = Path(__file__).with_name("verdicts.tsv")
REFUSED = {"rejected", "hang", "crash"}


@pytest.fixture(scope="module")
def judged(tmp_path_factory):
    """[(case, verdict, problems, case root)] for every case of the committed verdicts."""
    meta, verdicts = read_verdicts(VERDICTS)
    root = tmp_path_factory.mktemp("judge-cases")
    out = []
    for case in generate(int(meta["seed"])):
        case_root = root / case.id
        write_case(case, case_root)
        out.append((case, verdicts.get(case.id), lint_paths([str(case_root)]), case_root))
    return out


def _related(a: str, b: str) -> bool:
    """One path is the other or lies inside it (a field or one of its parts)."""
    short, long = sorted((a, b), key=len)
    return long == short or long.startswith((short + ".", short + "["))


def located(problem, where: str, case_root: Path) -> bool:
    kind, model, path = where.split(":", 2)
    folder = os.path.join(str(case_root), model)
    if kind == "file":
        target = os.path.join(folder, path)
        return problem.file == target or problem.file.startswith(target + os.sep)
    if problem.file != os.path.join(folder, "config.pbtxt") and problem.file != folder:
        return False
    if path == "":
        return True
    if not problem.path and problem.rule.startswith("pbtxt"):  # a parse error: located by its line
        return _field_on_line(problem.file, problem.line, path)
    return _related(format_path(problem.path), path)


def _field_on_line(file: str, line: int, path: str) -> bool:
    """The line of a parse error starts the mutated field (its last name in `path`)."""
    name = re.split(r"[.\[]", path)[-1] if not path.endswith("]") else re.split(r"[.\[]", path)[-2]
    lines = Path(file).read_text().splitlines()
    return 0 < line <= len(lines) and re.match(rf"\s*{re.escape(name)}\b", lines[line - 1]) is not None


def test_every_case_was_judged(judged):
    missing = [case.id for case, verdict, _, _ in judged if verdict is None]
    assert not missing, f"{len(missing)} cases have no verdict (re-run scripts/judge.py): {missing[:10]}"


def test_the_set_meets_its_size_targets(judged):
    outcomes = Counter(verdict.outcome for _, verdict, _, _ in judged if verdict)
    categories = {case.category for case, _, _, _ in judged}
    print(f"\n{len(judged)} cases, {len(categories)} categories: {dict(outcomes)}")
    assert len(judged) >= 500 and len(categories) >= 100
    assert outcomes["accepted"] >= 150
    assert len(CATEGORIES) == len(categories)


def test_lint_errors_exactly_where_triton_refuses(judged):
    passed, alarmed = [], []
    for case, verdict, problems, _ in judged:
        if verdict is None:
            continue
        errors = [p for p in problems if p.is_error]
        if verdict.outcome in REFUSED and not errors:
            passed.append(f"{case.id} ({verdict.outcome}: {verdict.message[:160]})")
        elif verdict.outcome == "accepted" and errors:
            alarmed.append(f"{case.id}: {errors[0].rule}: {errors[0].message[:160]}")
    report = (f"\nTriton refuses, lint passes ({len(passed)}):\n  " + "\n  ".join(passed)
              + f"\nTriton loads, lint errors ({len(alarmed)}):\n  " + "\n  ".join(alarmed))
    assert not passed and not alarmed, report


def test_each_caught_case_is_located_at_the_mutated_field(judged):
    unplaced = []
    for case, verdict, problems, case_root in judged:
        if verdict is None or verdict.outcome not in REFUSED or not case.where:
            continue
        errors = [p for p in problems if p.is_error]
        if errors and not any(located(p, case.where, case_root) for p in errors):
            unplaced.append(f"{case.id}: mutated {case.where}; errors at "
                            + ", ".join(f"{os.path.relpath(p.file, case_root)}:{p.line} {format_path(p.path)}"
                                        for p in errors[:3]))
    assert not unplaced, f"{len(unplaced)} errors not at the mutated field:\n  " + "\n  ".join(unplaced)
