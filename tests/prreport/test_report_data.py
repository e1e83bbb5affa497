"""The report's core compares two sides it is given, loaded by the caller: no git, no checkout."""
from __future__ import annotations

import hashlib

from compiler.artifacts.settings import Settings
from compiler.pipeline import load_and_build
from compiler.prreport import GitFacts, build_report, render_markdown
from compiler.prreport.report_data import ADDED, CHANGED, REMOVED, UNCHANGED
from tests.helpers import write

MODEL = """  {name}:
    max_batch_size: {batch}
    input: [{{name: X, data_type: FP32, dims: [2]}}]
    output: [{{name: Y, data_type: FP32, dims: [2]}}]
    versions: {{1: {{source: {name}/1}}}}
"""


def _side(folder, models: dict, target: str):
    """A manifest of `models` ({name: (max_batch_size, model.py text)}) in `folder`, loaded and built."""
    text = f"version: 1\ntriton: \"24.10\"\ndefaults: {{backend: python}}\ntargets:\n  local: {{url: out}}\n" \
           f"  prod: {{url: {target}}}\nmodels:\n"
    for name, (batch, code) in models.items():
        write(folder / name / "1" / "model.py", code)
        text += MODEL.format(name=name, batch=batch)
    return load_and_build(write(folder / "models.yaml", text), Settings(fetch=False))


def _folder_digest(files: dict) -> str:
    listing = "".join(f"{hashlib.sha256(data).hexdigest()}  {path}\n" for path, data in sorted(files.items()))
    return hashlib.sha256(listing.encode()).hexdigest()


def test_two_loaded_manifests_compare_without_git(tmp_path):
    base = _side(tmp_path / "base", {"kept": (4, "# same\n"), "tuned": (4, "# v1\n"), "gone": (2, "# x\n")},
                 "s3://models/prod")
    head = _side(tmp_path / "head", {"kept": (4, "# same\n"), "tuned": (8, "# v2\n"), "new": (1, "# new\n")},
                 "s3://models/prod-2")
    assert base[1] is not None and head[1] is not None  # both built: files are compared too
    facts = GitFacts(base_sha="0" * 40, changed_files=("models.yaml",))
    report = build_report("models.yaml", "main", head, base, facts)

    assert {m.name: m.status for m in report.models} == {
        "gone": REMOVED, "kept": UNCHANGED, "new": ADDED, "tuned": CHANGED}
    tuned = next(m for m in report.models if m.name == "tuned")
    assert [(c.path, c.before, c.after) for c in tuned.config_changes] == [("max_batch_size", 4, 8)]
    version, = tuned.versions  # a folder source: the digest of its sha256sum-style listing
    assert (version["status"], version["sha256"], version["old_sha256"]) == (
        CHANGED, _folder_digest({"model.py": b"# v2\n"}), _folder_digest({"model.py": b"# v1\n"}))
    assert [f["path"] for f in tuned.files] == ["1/model.py"]
    assert report.target_changes == [{"name": "prod", "status": CHANGED, "url": "s3://models/prod-2",
                                      "old_url": "s3://models/prod"}]
    assert (report.base_sha, report.changed_files, report.base_note, report.head) == \
        ("0" * 40, ["models.yaml"], "", None)
    assert report.head_ok and report.pending
    assert "tuned" in render_markdown(report)


def test_no_base_side_shows_everything_as_new_and_a_broken_base_is_noted(tmp_path):
    head = _side(tmp_path / "head", {"m": (4, "# m\n")}, "s3://models/prod")
    report = build_report("models.yaml", "main", head, None, GitFacts(base_note="no base here"))
    assert [(m.name, m.status) for m in report.models] == [("m", ADDED)]
    assert [t["status"] for t in report.target_changes] == [ADDED, ADDED]
    assert report.base_note == "no base here"

    broken = _side(tmp_path / "broken", {"m": (-3, "# m\n")}, "s3://models/prod")
    assert not broken[0].ok
    report = build_report("models.yaml", "main", head, broken, GitFacts())
    assert report.base_note.startswith("the base models.yaml has ") and "compared by config only" in report.base_note
