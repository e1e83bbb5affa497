"""`triton:` in the manifest and its targets: which Triton the configs are checked against."""
from compiler.manifest import load_manifest
from tests.helpers import run_cli, run_json, write

# runtime: the python backend's own library (`model.py` there names a Python-based backend's file,
# which Triton 2.51 refuses for backend python: tests/judge).
MODEL = '''models:
  m:
    backend: python
    runtime: libtriton_python.so
    input: [{name: X, data_type: FP32, dims: [1]}]
    output: [{name: Y, data_type: FP32, dims: [1]}]
    versions: {1: {source: model.py}}
'''


def manifest(tmp_path, head: str, targets: str = ""):
    write(tmp_path / "model.py", "")
    return write(tmp_path / "models.yaml", "version: 1\n" + head + targets + MODEL)


def test_a_field_newer_than_the_manifests_triton_is_located_at_the_field(tmp_path):
    manifest(tmp_path, 'triton: "23.12"\n')
    code, report, _ = run_json("validate", "models.yaml", cwd=tmp_path)
    assert code == 1
    (problem,) = [p for p in report["problems"] if p["severity"] == "error"]
    assert (problem["rule"], problem["path"], problem["line"], problem["column"]) == (
        "triton-release", "models.m.runtime", 6, 14)
    assert problem["message"] == ("`runtime` needs Triton 2.42 (24.01) or newer; the manifest is served by "
                                  "Triton 2.41 (23.12)")
    assert problem["hint"]


def test_the_same_manifest_passes_for_a_release_that_has_the_field(tmp_path):
    for said in ('"24.01"', '"2.42"', '["2.51", "24.01"]'):
        manifest(tmp_path, f"triton: {said}\n")
        code, report, err = run_json("validate", "models.yaml", cwd=tmp_path)
        assert code == 0, report


def test_the_oldest_target_decides_and_is_named(tmp_path):
    targets = 'targets:\n  new: {url: out/new}\n  old: {url: out/old, triton: ["25.01", "2.40"]}\n'
    manifest(tmp_path, 'triton: "24.10"\n', targets)
    code, report, _ = run_json("validate", "models.yaml", cwd=tmp_path)
    (problem,) = [p for p in report["problems"] if p["severity"] == "error"]
    assert "target 'old' is served by Triton 2.40 (23.11)" in problem["message"]


def test_an_unknown_release_is_an_error_at_its_line(tmp_path):
    manifest(tmp_path, 'triton: "25.07"\n')
    code, report, _ = run_json("validate", "models.yaml", cwd=tmp_path)
    (problem,) = [p for p in report["problems"] if p["severity"] == "error"]
    assert code == 1 and (problem["rule"], problem["line"], problem["column"]) == ("triton-release", 2, 9)
    assert "'25.07' is not a Triton release this tool knows" in problem["message"]


def test_an_unquoted_container_tag_is_a_number_and_the_hint_says_quote_it(tmp_path):
    manifest(tmp_path, "triton: 24.10\n")
    code, report, _ = run_json("validate", "models.yaml", cwd=tmp_path)
    (problem,) = [p for p in report["problems"] if p["severity"] == "error"]
    assert code == 1 and problem["path"] == "triton"
    assert 'quote it: "24.10"' in problem["hint"]


def test_a_bad_target_release_is_located_in_the_target(tmp_path):
    manifest(tmp_path, "", "targets:\n  t: {url: out, triton: [\"24.10\", \"2.8\"]}\n")
    code, report, _ = run_json("validate", "models.yaml", cwd=tmp_path)
    (problem,) = [p for p in report["problems"] if p["severity"] == "error"]
    assert problem["path"] == "targets.t.triton[1]" and problem["line"] == 3


def test_without_triton_validate_passes_with_a_note_each_run(tmp_path):
    manifest(tmp_path, "")
    first = run_cli("validate", "models.yaml", cwd=tmp_path)
    code, out, err = first
    assert code == 0, out
    assert err.count("does not say which Triton serves it") == 1 and 'triton: "24.10"' in err
    assert err.startswith("note: models.yaml does not say")
    assert run_cli("validate", "models.yaml", cwd=tmp_path) == first  # the next run says it again


def test_the_manifest_stage_returns_the_note_and_prints_nothing(tmp_path, capsys):
    manifest(tmp_path, "")
    loaded = load_manifest(tmp_path / "models.yaml", "shown.yaml")
    (note,) = loaded.notes
    assert note.key == "triton-unsaid" and note.text.startswith("shown.yaml does not say which Triton serves it")
    assert capsys.readouterr() == ("", "")
    manifest(tmp_path, 'triton: "24.10"\n')
    assert load_manifest(tmp_path / "models.yaml").notes == []


def test_with_triton_there_is_no_note(tmp_path):
    manifest(tmp_path, 'triton: "24.10"\n')
    code, _, err = run_cli("validate", "models.yaml", cwd=tmp_path)
    assert code == 0 and "Triton serves" not in err
