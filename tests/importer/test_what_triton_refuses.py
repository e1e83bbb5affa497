"""Import refuses only what Triton refuses, fills in what Triton fills in, and names what a
manifest cannot carry (tests/judge/test_validate_agreement.py runs this on every judged case)."""
from compiler.importer import import_repository
from compiler.manifest.yaml_source import load_bytes
from tests.helpers import run_json, write
from tests.importer.test_import import PY_CONFIG, make_model


def _import(repo):
    result = import_repository(str(repo), None)
    data = load_bytes(result.text.encode(), "m").data if result.text else None
    return result, data


def test_a_config_name_other_than_the_folder_is_refused(tmp_path):
    # Triton 2.51: "Poll failed for model directory 'm': unexpected 'name'" (name_differs_from_folder)
    make_model(tmp_path / "repo", config=PY_CONFIG.replace('name: "{name}"', 'name: "other"'))
    result, _ = _import(tmp_path / "repo")
    (problem,) = [p for p in result.problems if p.is_error]
    assert problem.rule == "import-name" and problem.line == 1 and "Triton refuses" in problem.message


def test_a_model_without_a_version_folder_is_refused(tmp_path):
    # "at least one version must be available" (ensemble_no_version_folder)
    make_model(tmp_path / "repo", versions=())
    result, _ = _import(tmp_path / "repo")
    assert [p.rule for p in result.problems if p.is_error] == ["import-no-version"]


def test_a_config_without_backend_gets_the_one_triton_picks_from_the_model_file(tmp_path):
    # backend_from_model_file: Triton loads it as a python model
    make_model(tmp_path / "repo", config=PY_CONFIG.replace('backend: "python"\n', ""))
    write(tmp_path / "repo" / "m" / "labels.txt", "a\nb\n")
    result, data = _import(tmp_path / "repo")
    assert not [p for p in result.problems if p.is_error]
    assert data["models"]["m"]["backend"] == "python"
    assert list(data["models"]["m"])[:2] == ["backend", "max_batch_size"]


def test_version_0_is_imported_and_leading_zero_folders_are_left_out_as_triton_ignores_them(tmp_path):
    make_model(tmp_path / "repo", versions=(0,))
    write(tmp_path / "repo" / "m" / "01" / "model.py", "# ignored by Triton\n")
    write(tmp_path / "repo" / "m" / "labels.txt", "a\nb\n")
    result, data = _import(tmp_path / "repo")
    assert list(data["models"]["m"]["versions"]) == ["0"]
    assert any("'01' not imported" in p.message for p in result.problems)


def test_a_number_prefixed_folder_is_left_out_with_a_warning(tmp_path):
    # Triton reads '3.bak' as version 3; a manifest names versions by number only
    make_model(tmp_path / "repo", versions=(1,))
    write(tmp_path / "repo" / "m" / "3.bak" / "model.py", "# old\n")
    write(tmp_path / "repo" / "m" / "labels.txt", "a\nb\n")
    result, data = _import(tmp_path / "repo")
    assert "3.bak" not in result.text
    (problem,) = [p for p in result.problems if "3.bak" in p.message]
    assert not problem.is_error and "version 3" in problem.message


def test_the_manifest_refuses_files_in_a_folder_triton_reads_as_a_version(tmp_path):
    write(tmp_path / "m1" / "model.py", "# v1\n")
    write(tmp_path / "old.py", "# old\n")
    write(tmp_path / "models.yaml", "version: 1\nmodels:\n  m:\n    backend: python\n    max_batch_size: 0\n"
                                    "    input: [{name: X, data_type: FP32, dims: [1]}]\n"
                                    "    output: [{name: Y, data_type: FP32, dims: [1]}]\n"
                                    "    files: {3.bak/model.py: old.py, notes/v2.txt: old.py}\n"
                                    "    versions: {1: {source: m1}}\n")
    code, report, _ = run_json("validate", tmp_path / "models.yaml")
    (problem,) = [p for p in report["problems"] if p["severity"] == "error"]
    assert code == 1 and problem["rule"] == "file-name" and "version 3" in problem["message"]
    assert problem["line"] == 8
