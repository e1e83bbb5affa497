"""Peer suite: lint against Triton's own QA cases and real-world configs (tests/corpus).

- every `noautofill_platform` case, every `model_metrics/invalid_config` case and the
  `special_cases` invalid_platform / runtime_escape are rejected FOR THE REASON in their
  `expected` file: some error message contains that text (regex escapes removed, the trailing
  " for <case>" that Triton appends dropped, nothing else loosened);
- `model_metrics/valid_config*` lint without errors (the `_with_warn` case with its warning);
- the ensemble / custom cases of `autofill_noplatform` that need no running server are
  rejected for their reason too (each case folder is a model repository or a model folder);
- every real-world config Triton accepts (`valid`) lints without errors and every one it
  rejects on its configuration (`invalid_semantic`) is rejected. Each file is placed where
  Triton reads it, <model>/config.pbtxt, the model folder named as in its source repository.
"""
from __future__ import annotations

import csv
import re
import shutil
from pathlib import Path

import pytest

from compiler.lint import lint_paths
from tests.lint.util import CORPUS

QA = CORPUS / "triton-qa-model-config"
REAL = CORPUS / "real-world-configs"
# The corpus is part of the repository: a missing one is a broken checkout, not a reason to skip.
assert QA.is_dir() and REAL.is_dir(), f"corpus not found at {CORPUS}"

# autofill_noplatform cases whose reason a lint cannot know: whether a backend library is
# installed (unknown_backend). The no_required_version* cases hold configs only; Triton's QA
# gives every model a version folder 1/ first, and so does the test below.
NEEDS_SERVER = {"unknown_backend.unknown"}
NEEDS_VERSION_FOLDERS = {"no_required_version", "no_required_version_2", "no_required_version_3"}


def _dirs(pattern: str) -> list:
    return sorted(p for p in QA.glob(pattern) if p.is_dir())


def expected_text(case: Path, name: str = "expected") -> str:
    """The essential part of Triton's message: unescaped, without the trailing ' for <case>'."""
    text = (case / name).read_text().strip().replace("\\[", "[").replace("\\]", "]")
    return text.removesuffix(f" for {case.name}")


def config_of(case: Path) -> Path:
    return case / "config.pbtxt" if (case / "config.pbtxt").exists() else case / "partial.pbtxt"


def errors(problems) -> list:
    return [p for p in problems if p.is_error]


def assert_rejected_for(problems, expected: str, where) -> None:
    messages = [p.message for p in errors(problems)]
    assert any(expected in m for m in messages), f"{where}: no error contains {expected!r}; errors: {messages}"
    match = next(p for p in errors(problems) if expected in p.message)
    assert match.file and match.line >= 1 and match.column >= 1


NOAUTOFILL = _dirs("noautofill_platform/*")
METRICS_INVALID = _dirs("model_metrics/invalid_config/*")
METRICS_VALID = _dirs("model_metrics/valid_config*/*")
SPECIAL = [QA / "special_cases" / name for name in ("invalid_platform", "runtime_escape")]
AUTOFILL = [d for d in _dirs("autofill_noplatform/ensemble/*") + _dirs("autofill_noplatform/custom/*")
            + _dirs("autofill_noplatform/common/*") if d.name not in NEEDS_SERVER | NEEDS_VERSION_FOLDERS]
WITH_VERSION_FOLDERS = [d for d in _dirs("autofill_noplatform/ensemble/*") if d.name in NEEDS_VERSION_FOLDERS]


def _ids(cases):
    return [f"{c.parent.name}/{c.name}" for c in cases]


@pytest.mark.parametrize("case", NOAUTOFILL, ids=_ids(NOAUTOFILL))
def test_noautofill_platform_rejected_for_its_reason(case):
    problems = lint_paths([str(case / "config.pbtxt")])
    assert_rejected_for(problems, expected_text(case), case.name)
    # No platform here (Triton's test injects one): a missing platform is at most a warning.
    assert all(not p.is_error for p in problems if p.rule == "platform-missing")


@pytest.mark.parametrize("case", METRICS_INVALID, ids=_ids(METRICS_INVALID))
def test_model_metrics_invalid_rejected_for_its_reason(case):
    assert_rejected_for(lint_paths([str(config_of(case))]), expected_text(case), case.name)


@pytest.mark.parametrize("case", METRICS_VALID, ids=_ids(METRICS_VALID))
def test_model_metrics_valid_configs_have_no_error(case):
    problems = lint_paths([str(config_of(case))])
    assert errors(problems) == []
    if (case / "expected").exists():  # valid_config_with_warn: Triton's warning, as a warning
        assert any(expected_text(case) in p.message for p in problems if not p.is_error)


@pytest.mark.parametrize("case", SPECIAL, ids=_ids(SPECIAL))
def test_special_cases_rejected_for_their_reason(case):
    assert_rejected_for(lint_paths([str(case / "config.pbtxt")]), expected_text(case), case.name)


@pytest.mark.parametrize("case", AUTOFILL, ids=_ids(AUTOFILL))
def test_autofill_noplatform_cases_rejected_for_their_reason(case):
    problems = lint_paths([str(case)])
    alternatives = sorted(p.name for p in case.iterdir() if p.name.startswith("expected"))
    texts = [expected_text(case, name) for name in alternatives]
    assert any(any(t in p.message for p in errors(problems)) for t in texts), \
        f"{case.name}: no error contains any of {texts}; errors: {[p.message for p in errors(problems)]}"


@pytest.mark.parametrize("case", WITH_VERSION_FOLDERS, ids=_ids(WITH_VERSION_FOLDERS))
def test_a_step_version_that_is_not_loaded_is_rejected_for_its_reason(case, tmp_path):
    repository = tmp_path / case.name
    shutil.copytree(case, repository, ignore=shutil.ignore_patterns("expected*"))
    for model in repository.iterdir():
        (model / "1").mkdir()  # as Triton's QA stages it; the ensemble's step asks for version 2
    problems = lint_paths([str(repository)])
    assert_rejected_for(problems, expected_text(case), case.name)


def _index() -> list:
    with open(REAL / "INDEX.tsv", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    return [r for r in rows if r["triton_expectation"] in ("valid", "invalid_semantic")]


REAL_ROWS = _index()
# The QA case `no_version` is invalid because its model folder has no version folder (hence the
# name); only its folder shows that, so it is linted in its QA case folder, which holds it.
IN_CASE_FOLDER = {"triton-inference-server__server__qa__L0_model_config__autofill_noplatform__common__no_version__"
                  "config.pbtxt": "autofill_noplatform/common/no_version"}
_NAME = re.compile(r'^name\s*:\s*"([^"]*)"', re.MULTILINE)


def stage(row: dict, root: Path) -> Path:
    """Place the file as Triton reads it: <root>/<model>/config.pbtxt."""
    source = REAL / row["file"]
    found = _NAME.search(source.read_text(encoding="utf-8"))
    model = found.group(1) if found else Path(row["path"]).parent.name
    target = root / model / "config.pbtxt"
    target.parent.mkdir(parents=True)
    shutil.copyfile(source, target)
    return target


# Custom backends and agents the servers these configs come from have installed: declared, as
# `lint --backend/--repository-agent` does (a stock Triton refuses them: tests/judge).
INSTALLED = {"backends": {"implicit_state", "iterative_sequence", "distributed_addsub", "dyna_sequence", "diffusion"},
             "repository_agents": {"relocation"}}


def lint_real(row: dict, tmp_path: Path) -> list:
    if row["file"] in IN_CASE_FOLDER:
        folder = QA / IN_CASE_FOLDER[row["file"]]
        assert (folder / "config.pbtxt").read_bytes() == (REAL / row["file"]).read_bytes()
        return lint_paths([str(folder)], server=INSTALLED)
    return lint_paths([str(stage(row, tmp_path))], server=INSTALLED)


@pytest.mark.parametrize("row", REAL_ROWS, ids=[f"{r['triton_expectation']}:{r['file']}" for r in REAL_ROWS])
def test_real_world_configs(row, tmp_path):
    problems = lint_real(row, tmp_path)
    if row["triton_expectation"] == "valid":
        assert errors(problems) == [], [(p.rule, p.message) for p in errors(problems)]
    else:
        assert errors(problems), f"{row['file']} ({row['note']}) was not rejected"


def test_corpus_totals(tmp_path):
    """The counts of the peer suite, asserted so that a shrinking corpus or a silent skip shows."""
    rejected = {
        "noautofill_platform": sum(
            1 for c in NOAUTOFILL if any(expected_text(c) in p.message for p in errors(lint_paths([str(c / "config.pbtxt")])))),
        "model_metrics/invalid_config": sum(
            1 for c in METRICS_INVALID if any(expected_text(c) in p.message for p in errors(lint_paths([str(config_of(c))])))),
        "special_cases": sum(
            1 for c in SPECIAL if any(expected_text(c) in p.message for p in errors(lint_paths([str(c / "config.pbtxt")])))),
    }
    clean_metrics = sum(1 for c in METRICS_VALID if not errors(lint_paths([str(config_of(c))])))
    real = {"valid": [0, 0], "invalid_semantic": [0, 0]}  # [as expected, total]
    for i, row in enumerate(REAL_ROWS):
        problems = lint_real(row, tmp_path / str(i))
        ok = bool(errors(problems)) == (row["triton_expectation"] == "invalid_semantic")
        real[row["triton_expectation"]][0] += ok
        real[row["triton_expectation"]][1] += 1
    print(f"\ncorpus: rejected for their reason {rejected} (total {sum(rejected.values())}); "
          f"model_metrics valid without errors: {clean_metrics}/{len(METRICS_VALID)}; real-world {real}")
    assert rejected == {"noautofill_platform": 58, "model_metrics/invalid_config": 6, "special_cases": 2}
    assert clean_metrics == len(METRICS_VALID) == 2
    assert real["valid"][0] == real["valid"][1] == 69
    assert real["invalid_semantic"][0] == real["invalid_semantic"][1] == 19
