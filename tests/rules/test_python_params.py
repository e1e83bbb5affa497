import pytest

from compiler.rules import python_params
from tests.rules.util import one, run

PARAM = 'backend: "python" parameters { key: "%s" value: { string_value: "%s" } }'


@pytest.mark.parametrize("value", ["Yes", "NO", "true", "0", ""])
def test_force_cpu_only_accepts_yes_or_no_only(value):
    problem = one(run(PARAM % ("FORCE_CPU_ONLY_INPUT_TENSORS", value), python_params), "python-force-cpu")
    assert problem.message.startswith(f"Incorrect value for FORCE_CPU_ONLY_INPUT_TENSORS: '{value}'")
    assert problem.path == ("parameters", "FORCE_CPU_ONLY_INPUT_TENSORS")


def test_force_cpu_only_yes_and_no():
    assert run(PARAM % ("FORCE_CPU_ONLY_INPUT_TENSORS", "yes"), python_params) == []
    assert run(PARAM % ("FORCE_CPU_ONLY_INPUT_TENSORS", "no"), python_params) == []
    assert run('backend: "other" parameters { key: "FORCE_CPU_ONLY_INPUT_TENSORS" value: { string_value: "x" } }',
               python_params) == []


@pytest.mark.parametrize("value", ["env.tar.gz", "/opt/envs/env.tar.gz", "$$TRITON_MODEL_DIRECTORY/../env.tar.gz",
                                   "$$TRITON_MODEL_DIRECTORY/missing.tar.gz"])
def test_execution_env_path_must_name_a_file_of_the_model_folder(value):
    problem = one(run(PARAM % ("EXECUTION_ENV_PATH", value), python_params, files={"env.tar.gz", "1/model.py"},
                      folder="/nonexistent-model-folder"), "python-env-path")
    assert problem.path == ("parameters", "EXECUTION_ENV_PATH")


def test_execution_env_path_in_the_model_folder():
    text = PARAM % ("EXECUTION_ENV_PATH", "$$TRITON_MODEL_DIRECTORY/env.tar.gz")
    assert run(text, python_params, files={"env.tar.gz", "1/model.py"}) == []
    assert run(text, python_params) == []  # files unknown: nothing to check


def test_execution_env_that_is_no_archive(tmp_path):
    (tmp_path / "env.tar.gz").write_bytes(b"not really a tar file")
    text = PARAM % ("EXECUTION_ENV_PATH", "$$TRITON_MODEL_DIRECTORY/env.tar.gz")
    problem = one(run(text, python_params, files={"env.tar.gz"}, folder=str(tmp_path)), "python-env-path")
    assert "is not a tar archive" in problem.message  # Triton 2.51: archive_read_open_filename() failed
    import tarfile
    with tarfile.open(tmp_path / "env.tar.gz", "w:gz") as archive:
        archive.add(tmp_path / "env.tar.gz", arcname="placeholder")
    assert run(text, python_params, files={"env.tar.gz"}, folder=str(tmp_path)) == []
