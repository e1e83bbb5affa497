"""The python backend: EXECUTION_ENV_PATH inside the model folder and present, model.py in every
version Triton loads, FORCE_CPU_ONLY_INPUT_TENSORS yes/no."""
import tarfile

from compiler.rules import python_backend
from compiler.rules.folder import DiskFolder
from tests.helpers import write
from tests.rules.util import BASE, one, run

ENV = BASE + 'parameters { key: "EXECUTION_ENV_PATH" value { string_value: "%s" } }'


def test_env_path_inside_the_model_folder_that_exists_passes():
    assert run(ENV % "$$TRITON_MODEL_DIRECTORY/env.tar.gz", python_backend, files={"env.tar.gz"}) == []
    assert run(ENV % "$$TRITON_MODEL_DIRECTORY/envs/py311", python_backend, files={"envs/py311/bin/python"}) == []


def test_env_path_outside_the_model_folder_is_an_error():
    for value in ("/opt/envs/env.tar.gz", "env.tar.gz", "${HOME}/env.tar.gz"):
        problem = one(run(ENV % value, python_backend, files={"env.tar.gz"}), "python-env-path")
        assert problem.is_error and problem.path == ("parameters", "EXECUTION_ENV_PATH")
        assert "cloud storage" in problem.message and "$$TRITON_MODEL_DIRECTORY/env.tar.gz" in problem.hint


def test_lint_warns_about_an_env_outside_since_a_local_server_resolves_it():
    problem = one(run(ENV % "/opt/envs/env.tar.gz", python_backend, model_file_may_complete=True), "python-env-path")
    assert not problem.is_error


def test_env_path_climbing_out_is_an_error():
    problem = one(run(ENV % "$$TRITON_MODEL_DIRECTORY/../shared/env.tar.gz", python_backend, files=set()),
                  "python-env-path")
    assert "leaves the model folder" in problem.message


def test_a_missing_env_is_an_error_naming_the_file():
    problem = one(run(ENV % "$$TRITON_MODEL_DIRECTORY/env.tar.gz", python_backend, files={"labels.txt"}),
                  "python-env-missing")
    assert "'env.tar.gz', which is not in the model folder" in problem.message
    assert run(ENV % "$$TRITON_MODEL_DIRECTORY/env.tar.gz", python_backend) == []  # files unknown: no guess


def test_an_env_inside_a_version_folder_is_looked_up_there(tmp_path):
    write(tmp_path / "1" / "model.py", "")
    with tarfile.open(tmp_path / "1" / "env.tar.gz", "w:gz"):  # an (empty) archive: no archive fails the load
        pass
    folder = DiskFolder(str(tmp_path))
    assert run(ENV % "$$TRITON_MODEL_DIRECTORY/1/env.tar.gz", python_backend, files=set(), model_folder=folder,
               versions={1}) == []
    assert one(run(ENV % "$$TRITON_MODEL_DIRECTORY/1/other.tar.gz", python_backend, files=set(), model_folder=folder,
                   versions={1}), "python-env-missing")


def test_every_served_version_needs_model_py(tmp_path):
    write(tmp_path / "1" / "model.py", "")
    (tmp_path / "2").mkdir()
    (tmp_path / "3").mkdir()
    write(tmp_path / "3" / "README", "")
    folder = DiskFolder(str(tmp_path))
    problems = run(BASE + "version_policy { all { } }", python_backend, model_folder=folder, versions={1, 2, 3})
    assert [p.message for p in problems] == ["version 2 has no model.py: the python backend cannot load it",
                                             "version 3 has no model.py: the python backend cannot load it"]
    assert all(p.rule == "python-model-file" and p.is_error for p in problems)
    # The default policy loads only the latest version: 3.
    assert len(run(BASE, python_backend, model_folder=folder, versions={1, 2, 3})) == 1
    assert run(BASE + 'version_policy { specific { versions: [ 1 ] } }', python_backend, model_folder=folder,
               versions={1, 2, 3}) == []


def test_default_model_filename_is_the_file_looked_for(tmp_path):
    write(tmp_path / "1" / "serve.py", "")
    folder = DiskFolder(str(tmp_path))
    assert run(BASE + 'default_model_filename: "serve.py"', python_backend, model_folder=folder, versions={1}) == []
    problem = one(run(BASE, python_backend, model_folder=folder, versions={1}), "python-model-file")
    assert "or set default_model_filename" in problem.hint


def test_force_cpu_only_input_tensors_is_yes_or_no():
    text = BASE + 'parameters { key: "FORCE_CPU_ONLY_INPUT_TENSORS" value { string_value: "%s" } }'
    assert run(text % "yes", python_backend) == [] and run(text % "no", python_backend) == []
    problem = one(run(text % "true", python_backend), "python-parameter")
    assert problem.message.startswith("Incorrect value for FORCE_CPU_ONLY_INPUT_TENSORS: true")


def test_other_backends_are_left_alone():
    text = (ENV % "/opt/env.tar.gz").replace('backend: "python"', 'backend: "onnxruntime"')
    assert run(text, python_backend) == []


def test_lint_refuses_what_a_real_triton_refuses(tmp_path):
    """Judged with tritonserver 2.51 (tests/judge): a relative path, an absolute path that is not
    there, and a file in the model folder that is no tar archive all fail the load."""
    write(tmp_path / "1" / "model.py", "")
    write(tmp_path / "env.tar.gz", "not really a tar file")
    folder = DiskFolder(str(tmp_path))
    lint = {'model_folder': folder, 'versions': {1}, 'files': {"env.tar.gz", "1/model.py"}, 'model_file_may_complete': True}
    for value in ("env.tar.gz", str(tmp_path / "nowhere.tar.gz")):
        problem = one(run(ENV % value, python_backend, **lint), "python-env-missing")
        assert problem.is_error and problem.message.startswith(f"Failed to get the canonical path for {value}")
    problem = one(run(ENV % "$$TRITON_MODEL_DIRECTORY/env.tar.gz", python_backend, **lint), "python-env-archive")
    assert "is not a tar archive" in problem.message
    with tarfile.open(tmp_path / "env.tar.gz", "w:gz"):
        pass
    assert run(ENV % "$$TRITON_MODEL_DIRECTORY/env.tar.gz", python_backend, **lint) == []


def test_lint_places_a_missing_model_file_at_its_version_folder(tmp_path):
    write(tmp_path / "1" / "model.py", "")
    (tmp_path / "2").mkdir()
    folder = DiskFolder(str(tmp_path))
    problem = one(run(BASE, python_backend, model_folder=folder, versions={1, 2}), "python-model-file")
    assert problem.file == str(tmp_path / "2") and "the load hangs" in problem.hint
    named = one(run(BASE + 'default_model_filename: "serve.py"', python_backend, model_folder=folder, versions={1}),
                "python-model-file")
    assert named.path == ("default_model_filename",)
