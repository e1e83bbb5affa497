import shutil
import subprocess
import sys
from pathlib import Path

from compiler.sync.state import STATE_NAME
from tests.helpers import REPO, run_cli, run_json, write


def copy_example(tmp_path: Path) -> Path:
    """The repo's example manifest and its models, copied so tests may edit them."""
    shutil.copy(REPO / "models.yaml", tmp_path / "models.yaml")
    shutil.copytree(REPO / "examples", tmp_path / "examples", ignore=shutil.ignore_patterns("__pycache__"))
    return tmp_path / "models.yaml"


def files_of(folder: Path) -> dict:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_example_compiles_to_byte_identical_output_twice(tmp_path):
    manifest = copy_example(tmp_path)
    assert run_cli("compile", manifest, "--out", tmp_path / "a")[0] == 0
    assert run_cli("compile", manifest, "--out", tmp_path / "b")[0] == 0
    a, b = files_of(tmp_path / "a"), files_of(tmp_path / "b")
    assert a == b
    assert {"text_classifier/config.pbtxt", "text_classifier/2/model.py", "text_classifier/3/model.py",
            "text_classifier/labels.txt", "text_classifier/warmup/0_FEATURES", "preprocess/warmup/0_TEXT",
            "classify_text/config.pbtxt"} <= set(a)


def test_dry_run_reports_per_file_and_exit_code_says_whether_anything_would_change(tmp_path):
    manifest = copy_example(tmp_path)
    out = tmp_path / "repo"
    code, text, _ = run_cli("compile", manifest, "--out", out, "--dry-run", "--exit-code")
    assert code == 2
    assert "+ create text_classifier/config.pbtxt" in text
    assert "text_classifier: 7 to create, 0 to update, 0 to delete" in text  # configs/cpu-large.pbtxt too
    assert not out.exists()
    run_cli("compile", manifest, "--out", out)
    code, text, _ = run_cli("compile", manifest, "--out", out, "--dry-run", "--exit-code")
    assert code == 0 and text.endswith(f"\n{out}: up to date\n")
    # The reviewer sees each version's source and digest.
    assert "text_classifier/3  examples/text_classifier/3/model.py  file, 881 B" in text
    assert "sha256:" in text
    # An edit that keeps the size is still a change: content decides, never mtime.
    model = tmp_path / "examples/preprocess/1/model.py"
    model.write_bytes(model.read_bytes().replace(b"vowels", b"VOWELS"))
    code, plan, _ = run_json("compile", manifest, "--out", out, "--dry-run", "--exit-code")
    assert code == 2
    assert [(c["action"], c["path"]) for c in plan["changes"]] == [("update", "preprocess/1/model.py")]
    # Without --exit-code a dry run with changes still exits 0.
    assert run_cli("compile", manifest, "--out", out, "--dry-run")[0] == 0


def test_nothing_is_written_when_validation_fails(tmp_path):
    manifest = copy_example(tmp_path)
    out = tmp_path / "repo"
    run_cli("compile", manifest, "--out", out)
    before = files_of(out)
    text = manifest.read_text().replace("data_type: FP32, dims: [3]", "data_type: FP32, dims: [three]")
    manifest.write_text(text)
    code, stdout, _ = run_cli("compile", manifest, "--out", out)
    assert code == 1
    assert "expected integer, got string 'three'" in stdout
    assert files_of(out) == before


def test_schema_command_prints_the_committed_schema():
    code, text, _ = run_cli("schema")
    assert code == 0
    assert text == (REPO / "schemas/models.schema.json").read_text()


def test_module_entry_point_and_missing_manifest_error_without_traceback(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "compiler", "validate", str(tmp_path / "nope.yaml")],
                          capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 1
    assert "no such manifest" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_validate_json_records_have_every_field(tmp_path):
    write(tmp_path / "models.yaml", "version: 1\nmodels:\n  m:\n    bakend: python\n")
    code, report, _ = run_json("validate", cwd=tmp_path)
    assert code == 1
    (problem,) = report["problems"]
    assert problem == {"file": "models.yaml", "line": 4, "column": 5, "path": "models.m.bakend",
                       "severity": "error", "rule": "schema-unknown-key", "message": "unknown key 'bakend'",
                       "hint": "did you mean 'backend'?"}


def test_a_copied_warmup_file_keeps_its_given_name(tmp_path):
    write(tmp_path / "m/1/model.py", "# model\n")
    (tmp_path / "sample.bin").write_bytes(b"\x00\x00\x80\x3f")
    write(tmp_path / "models.yaml", """version: 1
models:
  m:
    backend: python
    max_batch_size: 0
    input: [{name: X, data_type: FP32, dims: [1]}]
    output: [{name: Y, data_type: FP32, dims: [1]}]
    model_warmup:
      - {name: w, batch_size: 1, inputs: {X: {data_type: FP32, dims: [1], input_data_file: raw_x, file: sample.bin}}}
    versions: {1: {source: m/1}}
""")
    assert run_cli("compile", "--out", "out", cwd=tmp_path)[0] == 0
    assert (tmp_path / "out/m/warmup/raw_x").read_bytes() == b"\x00\x00\x80\x3f"
    assert 'input_data_file: "raw_x"' in (tmp_path / "out/m/config.pbtxt").read_text()


def test_a_typo_in_one_model_is_reported_once_not_again_by_the_ensemble_using_it(tmp_path):
    manifest = copy_example(tmp_path)
    text = manifest.read_text().replace("dynamic_batching: {max_queue_delay_microseconds: 100}",
                                        "dynamic_bathcing: {max_queue_delay_microseconds: 100}")
    manifest.write_text(text)
    code, report, _ = run_json("validate", manifest)
    assert code == 1
    assert [(p["rule"], p["path"]) for p in report["problems"]] == [
        ("schema-unknown-key", "models.preprocess.dynamic_bathcing")]
    assert report["problems"][0]["hint"] == "did you mean 'dynamic_batching'?"


def test_plan_shows_each_version_source_and_digest(tmp_path):
    import hashlib

    manifest = copy_example(tmp_path)
    code, text, _ = run_cli("plan", manifest, "--target", "local")
    assert code == 2
    digest = hashlib.sha256((tmp_path / "examples/text_classifier/3/model.py").read_bytes()).hexdigest()
    assert text.startswith("sources:\n")
    assert f"text_classifier/3  examples/text_classifier/3/model.py  file, 881 B            sha256:{digest[:12]}…" in text
    code, report, _ = run_json("plan", manifest, "--target", "local")
    assert code == 2
    (record,) = [r for r in report["sources"] if (r["model"], r["version"]) == ("text_classifier", 3)]
    assert (record["kind"], record["sha256"]) == ("file", digest)


# One output contract: compile and sync keep the same folder, each recognising the other's files.

def test_compile_writes_the_manifests_local_target_by_default(tmp_path):
    manifest = copy_example(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    code, out, err = run_cli("compile", manifest, cwd=elsewhere)
    assert code == 0, err
    assert (tmp_path / "build/model_repository/text_classifier/config.pbtxt").is_file()
    assert not (elsewhere / "build").exists()
    assert "build/model_repository" in out


def test_compile_without_out_and_without_a_local_target_says_what_to_pass(tmp_path):
    manifest = copy_example(tmp_path)
    manifest.write_text(manifest.read_text().replace("  local: {url: build/model_repository}",
                                                     "  prod: {url: \"s3://bucket/models\"}"))
    code, _, err = run_cli("compile", manifest)
    assert code == 1
    assert "no --out given and models.yaml has no local target" in err and "pass --out DIR" in err


def test_sync_after_compile_finds_every_file_its_own(tmp_path):
    manifest = copy_example(tmp_path)
    assert run_cli("compile", manifest)[0] == 0
    code, plan, err = run_json("plan", manifest)
    assert code == 0, err
    assert plan["in_sync"] and plan["changes"] == [] and plan["unmanaged"] == []
    # A hand edit of a compiled file is drift that sync repairs: the file is known to be ours.
    repo = tmp_path / "build/model_repository"
    (repo / "text_classifier" / "labels.txt").write_text("edited by hand\n")
    code, plan, _ = run_json("plan", manifest)
    assert code == 2 and [(c["action"], c["path"]) for c in plan["changes"]] == [
        ("repair", "text_classifier/labels.txt")]


def test_a_model_dropped_after_compile_is_deleted_by_sync_prune(tmp_path):
    manifest = copy_example(tmp_path)
    write(manifest, manifest.read_text() + "  extra:\n    backend: python\n    max_batch_size: 0\n"
          "    input: [{name: X, data_type: FP32, dims: [1]}]\n    output: [{name: Y, data_type: FP32, dims: [1]}]\n"
          "    versions: {1: {source: examples/preprocess/1}}\n")
    assert run_cli("compile", manifest)[0] == 0, run_cli("validate", manifest)
    write(manifest, manifest.read_text().split("  extra:\n")[0])
    code, plan, _ = run_json("plan", manifest, "--prune")
    assert code == 2 and plan["unmanaged"] == []
    assert {c["path"] for c in plan["changes"] if c["action"] == "delete"} == {
        "extra/config.pbtxt", "extra/1/model.py"}
    assert run_cli("sync", manifest, "--prune")[0] == 0
    assert not (tmp_path / "build/model_repository/extra").exists()


def test_compile_after_sync_replaces_the_folder_and_keeps_it_managed(tmp_path):
    manifest = copy_example(tmp_path)
    assert run_cli("sync", manifest)[0] == 0
    code, out, err = run_cli("compile", manifest)
    assert code == 0, err
    assert "wrote" in out
    repo = tmp_path / "build/model_repository"
    assert (repo / STATE_NAME).is_file()  # the sync state is not dropped
    code, plan, _ = run_json("plan", manifest)
    assert code == 0 and plan["unmanaged"] == [] and plan["changes"] == []


def test_compile_refuses_a_synced_folder_holding_files_sync_left_alone(tmp_path):
    manifest = copy_example(tmp_path)
    assert run_cli("sync", manifest)[0] == 0
    write(tmp_path / "build/model_repository/notes/readme.txt", "mine")
    code, _, err = run_cli("compile", manifest)
    assert code == 1
    assert "holds 1 file(s) triton-gitops did not write: notes/readme.txt" in err
    assert (tmp_path / "build/model_repository/notes/readme.txt").read_text() == "mine"


def test_a_compiled_folder_has_no_unmanaged_marker_for_sync(tmp_path):
    manifest = copy_example(tmp_path)
    assert run_cli("compile", manifest)[0] == 0
    code, out, err = run_cli("sync", manifest)
    assert code == 0, err
    assert "unmanaged" not in out and "not written by triton-gitops" not in out + err


def test_validate_with_warnings_prints_one_summary_line(tmp_path):
    manifest = copy_example(tmp_path)
    write(manifest, manifest.read_text().replace("  instance_group: [{kind: KIND_CPU, count: 1}]", "  instance_group: "
                                                 "[{kind: KIND_CPU, count: -1}]", 1))
    code, out, _ = run_cli("validate", manifest)
    assert code == 0
    lines = out.splitlines()
    warnings = sum(": warning: " in line for line in lines)
    assert warnings == 2  # the defaults' instance group, in each model that takes it
    assert [line for line in lines if line.startswith(str(manifest) + ":") and ": warning: " not in line] == [
        f"{manifest}: OK (3 models, 12 files, 2 warnings)"]
