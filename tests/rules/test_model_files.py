import pytest

from compiler.rules import model_files
from compiler.rules.folder import DiskFolder
from compiler.rules.model_files import version_number
from tests.rules.util import one, run

MODEL = 'name: "m" backend: "python" '


@pytest.mark.parametrize("name, number", [("1", 1), ("0", 0), ("3.bak", 3), ("2_old", 2), ("4-copy", 4),
                                          ("01", None), ("0.bak", None), ("old", None), ("-1", -1)])
def test_version_numbers_as_triton_reads_folder_names(name, number):
    assert version_number(name) == number


def _folder(tmp_path, files):
    for rel in files:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        if not rel.endswith("/"):
            (tmp_path / rel).write_text("")
    return {f for f in files if not f.endswith("/")}


def test_a_version_folder_without_model_py_is_left_to_python_backend(tmp_path):
    files = _folder(tmp_path, ["1/model.py", "2/README.txt"])
    assert run(MODEL, model_files, versions={1, 2}, files=files, model_folder=DiskFolder(str(tmp_path))) == []


def test_a_folder_read_with_its_number_prefix(tmp_path):
    files = _folder(tmp_path, ["1/model.py", "3.bak/model.py"])
    problem = one(run(MODEL, model_files, versions={1, 3}, files=files, model_folder=DiskFolder(str(tmp_path))), "model-file-missing")
    assert problem.file == str(tmp_path / "3.bak") and "reads folder '3.bak' as version 3" in problem.hint


def test_other_backends_and_lone_configs_are_not_checked(tmp_path):
    assert run('name: "m" backend: "onnxruntime"', model_files, versions={1}, files=set(), model_folder=DiskFolder(str(tmp_path))) == []
    assert run(MODEL, model_files, versions={1}, files=set()) == []  # no folder on disk
