"""Positive/negative manifest fixtures: every positive one validates clean; every negative
one fails with exactly the errors its `# expect: LINE:COL RULE | text` comments list."""
import re
from pathlib import Path

import pytest

from tests.helpers import run_json

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "manifests"
EXPECT = re.compile(r"^# expect: (\d+):(\d+) (\S+) \| (.+)$")


def expectations(path: Path) -> list:
    found = []
    for line in path.read_text().splitlines():
        match = EXPECT.match(line)
        if match:
            found.append((int(match[1]), int(match[2]), match[3], match[4]))
    return found


@pytest.mark.parametrize("case", sorted((FIXTURES / "positive").glob("*.yaml")), ids=lambda p: p.stem)
def test_positive(case):
    code, report, _ = run_json("validate", case.name, cwd=case.parent)
    assert report["errors"] == 0, report
    assert code == 0


@pytest.mark.parametrize("case", sorted((FIXTURES / "negative").glob("*.yaml")), ids=lambda p: p.stem)
def test_negative(case):
    expected = expectations(case)
    assert expected, f"{case.name} has no `# expect:` lines"
    code, report, err = run_json("validate", case.name, cwd=case.parent)
    assert code == 1, err
    errors = [p for p in report["problems"] if p["severity"] == "error"]
    got = sorted((p["line"], p["column"], p["rule"]) for p in errors)
    assert got == sorted(e[:3] for e in expected), errors
    for line, column, rule, text in expected:
        (match,) = [p for p in errors if (p["line"], p["column"], p["rule"]) == (line, column, rule)]
        assert text in match["message"], match
        assert match["file"] == case.name
