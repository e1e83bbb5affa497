"""The drift report cannot be forged: every outside value (file names on the storage, model
names, messages and reasons a server returns, error texts) is made of hostile strings, and the
report is parsed as CommonMark + GFM tables: only its own HTML, no links, every value visible."""
from __future__ import annotations

import re

from compiler.drift.check import ServerCheck, TargetCheck
from compiler.drift.report import MARKER, render
from compiler.errors import printable
from compiler.rollout.drift import Drift
from compiler.sync.plan import Change, Plan
from tests.gitops.test_report_escaping import HOSTILE, inline_texts, parse, shown, walk

OWN_HTML = {MARKER, "<sub>", "</sub>"}


def hostile_checks() -> list:
    changes = [Change("update", f"m{n}/1/{name}", 1, reason=f"changed {name}") for n, name in enumerate(HOSTILE)]
    findings = [Drift(f"m{name}", "extra", f"loaded {name}", [f"reason {name}\nsecond line {name}"])
                for name in HOSTILE]
    return [
        TargetCheck(f"t{HOSTILE[3]}", f"s3://b/{HOSTILE[2]}", plan=Plan(changes=changes, state_damaged=HOSTILE[4]),
                    servers=[ServerCheck(f"http://h{HOSTILE[5]}:8000", findings),
                             ServerCheck("http://down:8000", error="\n".join(HOSTILE))]),
        TargetCheck("dr", f"gs://b/{HOSTILE[8]}", storage_error=" ".join(HOSTILE), servers_error=HOSTILE[9]),
    ]


def test_hostile_text_stays_text():
    checks = hostile_checks()
    text = render(checks, "models.yaml", "a" * 40, "2026-01-01 00:00 UTC")
    tokens = parse(text)
    html = [t.content.strip() for t in walk(tokens) if t.type in ("html_block", "html_inline")]
    assert set(html) <= OWN_HTML and html.count(MARKER) == 1 and text.startswith(MARKER + "\n")
    assert not any(t.type in ("link_open", "image", "em_open", "s_open") for t in walk(tokens))
    for char in "\r\x1b\u202e\u2028":
        assert char not in text
    assert not any(line.lstrip().startswith("::") for line in text.splitlines()) and "##[" not in text

    texts = inline_texts(tokens)
    joined = "\n".join(texts)
    for change in checks[0].plan.changes[:30]:  # each file its own list item, with its reason, whole
        assert f"{printable(change.path)} to update: {printable(change.reason)}".strip() in texts, change.path
    assert f"and {len(HOSTILE) - 30} more (triton-gitops plan --target lists them all)" in texts
    fences = [t.content for t in walk(tokens) if t.type == "fence"]
    expected = []
    for finding in checks[0].servers[0].findings:
        expected += [f"{finding.model}: extra: {finding.message}"] + \
            ["    " + line for line in finding.details[0].strip().split("\n")]
    assert fences == [shown("\n".join(expected[:60]) + "\n... and "
                            f"{len(expected) - 60} more lines (`triton-gitops status --target` shows them all)")]
    assert printable(" ".join(HOSTILE)).strip() in joined  # the storage error, one line
    headings = [inline_texts([tokens[i + 1]])[0] for i, t in enumerate(tokens) if t.type == "heading_open"]
    assert headings == ["Drift from main", printable(checks[0].name), "dr"]
    assert texts[-1].startswith("Kept up to date")  # the footer: nothing swallowed before it


def test_the_table_keeps_its_cells_and_a_huge_report_fits_an_issue():
    checks = hostile_checks()
    text = render(checks, "models.yaml")
    rows = [line for line in text.split("\n") if line.startswith("|")]
    assert len(rows) == 4 and {len(re.findall(r"(?<!\\)\|", row)) for row in rows} == {4}
    many = [TargetCheck(f"t{n}", "s3://b/x", plan=Plan(changes=[Change("create", f"m/{'x' * 200}{i}", 1)
                                                                for i in range(40)])) for n in range(30)]
    text = render(many, "models.yaml")
    assert len(text) <= 65_000 and "more target section(s) left out" in text
    assert text.rstrip().endswith("</sub>") and "- and 10 more" in text
