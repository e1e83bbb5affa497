from compiler.errors import WARNING
from compiler.lint import lint_paths
from tests.lint.util import write

MODEL = '''name: "{name}"
backend: "python"
max_batch_size: 4
input [ {{ name: "x" data_type: TYPE_FP32 dims: [ 4 ] }} ]
output [ {{ name: "y" data_type: TYPE_FP32 dims: [ 4 ] }} ]
'''

ENSEMBLE = '''name: "pipe"
platform: "ensemble"
max_batch_size: 4
input [ { name: "IN" data_type: TYPE_FP32 dims: [ 4 ] } ]
output [ { name: "OUT" data_type: TYPE_FP32 dims: [ 4 ] } ]
ensemble_scheduling {
  step [
    { model_name: "pre" model_version: -1 input_map { key: "x" value: "IN" } output_map { key: "y" value: "mid" } },
    { model_name: "post" model_version: -1 input_map { key: "x" value: "mid" } output_map { key: "y" value: "OUT" } }
  ]
}
'''


def model(root, name, text=None, version=True):
    write(root / name / "config.pbtxt", text if text is not None else MODEL.format(name=name))
    if version:
        write(root / name / "1" / "model.py", "")


def test_clean_repository(tmp_path):
    for name in ("pre", "post"):
        model(tmp_path, name)
    model(tmp_path, "pipe", ENSEMBLE, version=False)
    (tmp_path / "pipe" / "1").mkdir()
    assert lint_paths([str(tmp_path)]) == []


def test_repository_checks_ensemble_steps_against_their_configs(tmp_path):
    model(tmp_path, "pre")
    model(tmp_path, "pipe", ENSEMBLE, version=False)
    (tmp_path / "pipe" / "1").mkdir()
    problems = lint_paths([str(tmp_path)])
    missing, = [p for p in problems if p.rule == "ensemble-step-missing"]
    assert missing.message == "ensemble pipe contains models that are not available or ambiguous: post"
    assert missing.file == str(tmp_path / "pipe" / "config.pbtxt")
    assert (missing.line, missing.column) == (9, 7)


def test_step_tensor_mismatch_is_reported_in_the_ensemble(tmp_path):
    model(tmp_path, "pre", MODEL.format(name="pre").replace('name: "x"', 'name: "z"'))
    model(tmp_path, "post")
    model(tmp_path, "pipe", ENSEMBLE, version=False)
    (tmp_path / "pipe" / "1").mkdir()
    problems = lint_paths([str(tmp_path)])
    assert sorted(p.rule for p in problems) == ["ensemble-step-tensor", "ensemble-step-unmapped"]
    tensor = next(p for p in problems if p.rule == "ensemble-step-tensor")
    assert tensor.message == "in ensemble pipe, ensemble tensor IN is mapping to non-existing input x in model pre"
    assert tensor.hint == "inputs of pre: z"


def test_model_folder_versions_and_files(tmp_path):
    text = MODEL.format(name="m").replace('output [ { name: "y" data_type: TYPE_FP32 dims: [ 4 ] } ]',
                        'output [ { name: "y" data_type: TYPE_FP32 dims: [ 4 ] label_filename: "labels.txt" } ]')
    text += 'version_policy { specific { versions: [ 1, 2 ] } }\n'
    model(tmp_path, "m", text)
    write(tmp_path / "m" / "003" / "model.py")
    write(tmp_path / "m" / "notes" / "x.md")
    write(tmp_path / "m" / "1" / "config.pbtxt", "")
    problems = lint_paths([str(tmp_path / "m")])
    rules = sorted((p.rule, p.severity) for p in problems)
    # version 2 has no folder while version 1 loads: Triton loads the model (tests/judge), a warning
    assert rules == [("config-misplaced", WARNING), ("label-file", "error"), ("version-folder-ignored", WARNING),
                     ("version-folder-ignored", WARNING), ("version-missing", WARNING)]
    version = next(p for p in problems if p.rule == "version-missing")
    assert version.message == "version 2 is specified for model 'm', but the version directory is not present"
    assert version.line == 6
    ignored = sorted(p.message for p in problems if p.rule == "version-folder-ignored")
    assert ignored[0] == "ignore version directory '003' which contains leading zeros in its directory name"
    write(tmp_path / "m" / "labels.txt", "cat\n")
    assert "label-file" not in {p.rule for p in lint_paths([str(tmp_path / "m")])}


def test_version_folders_read_by_their_number_prefix(tmp_path):
    model(tmp_path, "m")
    write(tmp_path / "m" / "3.bak" / "model.py", "")
    problems = lint_paths([str(tmp_path / "m")])
    prefix = next(p for p in problems if p.rule == "version-folder-prefix")
    assert prefix.severity == WARNING and prefix.file == str(tmp_path / "m" / "3.bak")
    assert "as version 3" in prefix.message
    # Version 3 is the latest; Triton looks for 3/model.py, which is not there: the load hangs (tests/judge).
    missing = next(p for p in problems if p.rule == "model-file-missing")
    assert missing.is_error and missing.file == str(tmp_path / "m" / "3.bak")


def test_a_version_folder_zero_is_a_version(tmp_path):
    write(tmp_path / "m" / "config.pbtxt", MODEL.format(name="m"))
    write(tmp_path / "m" / "0" / "model.py", "")
    assert lint_paths([str(tmp_path / "m")]) == []  # Triton 2.51 loads version 0 (tests/judge)
    write(tmp_path / "m" / "-2" / "model.py", "")  # read as version -2, never the latest: Triton loads the model
    problem, = lint_paths([str(tmp_path / "m")])
    assert problem.rule == "version-folder-ignored" and problem.severity == WARNING and "version -2" in problem.message


def test_model_folder_without_versions(tmp_path):
    model(tmp_path, "m", version=False)
    problem, = lint_paths([str(tmp_path / "m")])
    assert problem.rule == "version-none" and problem.is_error


def test_backend_from_the_model_file_in_a_folder(tmp_path):
    text = 'max_batch_size: 1\ninput [ { name: "x" dims: [ 1 ] } ]\noutput [ { name: "y" data_type: TYPE_FP32 dims: [ 1 ] } ]\n'
    model(tmp_path, "m", text, version=False)
    write(tmp_path / "m" / "1" / "model.onnx", "")
    problem, = lint_paths([str(tmp_path / "m")])
    assert problem.rule == "tensor-data-type" and problem.severity == WARNING
    assert "'onnxruntime' backend (from the model file 1/model.onnx)" in problem.message


def test_folders_without_config(tmp_path):
    write(tmp_path / "repo" / "bare" / "1" / "model.onnx")
    model(tmp_path / "repo", "ok")
    problems = lint_paths([str(tmp_path / "repo")])
    assert [(p.rule, p.severity, p.file) for p in problems] == [
        ("config-missing", WARNING, str(tmp_path / "repo" / "bare"))]
    lone, = lint_paths([str(tmp_path / "repo" / "bare")])
    assert lone.rule == "config-missing" and (lone.line, lone.column) == (1, 1)
    (tmp_path / "empty").mkdir()
    empty, = lint_paths([str(tmp_path / "empty")])
    assert empty.rule == "config-missing"


def test_unparsable_config_in_a_repository(tmp_path):
    model(tmp_path, "broken", 'name: "broken"\nmax_batch_size: "x"\n')
    model(tmp_path, "ok")
    problems = lint_paths([str(tmp_path)])
    assert [(p.rule, p.line, p.file) for p in problems] == [
        ("pbtxt-syntax", 2, str(tmp_path / "broken" / "config.pbtxt"))]


def test_config_inside_a_version_folder(tmp_path):
    write(tmp_path / "m" / "1" / "config.pbtxt", MODEL.format(name="m"))
    folder, = lint_paths([str(tmp_path / "m")])
    assert folder.rule == "config-missing" and folder.hint == "found 1/config.pbtxt: move it up into the model folder"
    problems = lint_paths([str(tmp_path / "m" / "1" / "config.pbtxt")])
    assert [p.rule for p in problems] == ["config-misplaced"]  # and the model name is taken from 'm', not '1'


def test_config_variants_are_linted_in_their_own_files(tmp_path):
    model(tmp_path, "m")
    variant = MODEL.format(name="m").replace("max_batch_size: 4", "max_batch_size: -4")
    write(tmp_path / "m" / "configs" / "big.pbtxt", variant)
    write(tmp_path / "m" / "configs" / "ok.pbtxt", MODEL.format(name="m"))
    write(tmp_path / "m" / "configs" / "README", "not a config")
    problems = [p for p in lint_paths([str(tmp_path)]) if p.severity != WARNING]
    assert problems and {p.file for p in problems} == {str(tmp_path / "m" / "configs" / "big.pbtxt")}, problems
    assert problems[0].line == 3 and problems[0].rule == "max-batch-size"  # the variant's own line


def test_a_folder_of_loose_pbtxt_files_lints_each_of_them(tmp_path):
    write(tmp_path / "good.pbtxt", MODEL.format(name="good"))
    write(tmp_path / "bad.pbtxt", MODEL.format(name="bad").replace("max_batch_size: 4", "max_batch_size: -4"))
    write(tmp_path / "notes.txt", "not a config")
    problems = lint_paths([str(tmp_path)])
    assert [(p.file, p.rule) for p in problems if p.is_error] == [(str(tmp_path / "bad.pbtxt"), "max-batch-size")]


def test_the_lint_command_says_how_many_configs_it_read_and_fails_on_none(tmp_path):
    from tests.helpers import run_cli

    write(tmp_path / "configs" / "a.pbtxt", MODEL.format(name="a"))
    write(tmp_path / "configs" / "b.pbtxt", MODEL.format(name="b"))
    code, out, _ = run_cli("lint", tmp_path / "configs")
    assert code == 0 and out.strip().endswith("lint: OK (2 configs in 1 path)")
    (tmp_path / "empty").mkdir()
    code, out, err = run_cli("lint", tmp_path / "empty")
    assert code == 1
    assert "found no Triton configuration" in err and "lint: OK" not in out


def test_a_folder_name_the_python_backend_cannot_start_says_why(tmp_path):
    """Triton 2.51's python backend hands the model path to `bash -c` unquoted: a folder named
    with a space or a shell character never loads (the load hangs); another backend's model
    folder with such a name gets the plain naming error."""
    text = MODEL.format(name="").replace('name: ""\n', "")
    model(tmp_path, "a b", text)
    model(tmp_path, "x|y", text.replace('backend: "python"', 'backend: "onnxruntime"'))
    found = {p.message.split("'")[1]: p for p in lint_paths([str(tmp_path)]) if p.rule == "model-name"}
    assert set(found) == {"a b", "x|y"}
    assert "through a shell that splits this name: the load never finishes" in found["a b"].hint
    assert found["x|y"].hint == "rename the model (folder)"
