"""What rules see of a model folder: on disk (lint) and as the manifest will build it."""

from compiler.model import ModelSpec, VersionSpec
from compiler.proto import ModelConfig
from compiler.rules.folder import DiskFolder, ManifestFolder, ModelFolder
from tests.helpers import write


def test_disk_folder(tmp_path):
    write(tmp_path / "1" / "model.py", "")
    write(tmp_path / "1" / "sub" / "x.txt", "")
    folder = DiskFolder(str(tmp_path))
    assert folder.version_files(1) == {"model.py", "sub/x.txt"}
    assert folder.version_files(2) is None
    assert folder.version_path(1, "model.py") == tmp_path / "1" / "model.py"
    assert folder.version_path(1, "missing") is None


def test_manifest_folder_file_folder_and_url_sources(tmp_path):
    write(tmp_path / "src" / "model.py", "")
    write(tmp_path / "dir" / "model.json", "{}")
    config = ModelConfig(backend="python")
    model = ModelSpec("m", config, {}, versions={
        1: VersionSpec(1, "src/model.py", tmp_path / "src" / "model.py", doc_path=("models", "m", "versions", "1")),
        2: VersionSpec(2, "dir", tmp_path / "dir", doc_path=("models", "m", "versions", "2")),
        3: VersionSpec(3, "s3://b/m/3", None, remote=True, doc_path=("models", "m", "versions", "3")),
    })
    folder = ManifestFolder(model)
    assert folder.version_files(1) == {"model.py"}  # a file source lands under default_model_filename
    assert folder.version_files(2) == {"model.json"}
    assert folder.version_files(3) is None  # a URL: not known before it is fetched
    assert folder.version_path(1, "model.py") == tmp_path / "src" / "model.py"
    assert folder.version_path(2, "model.json") == tmp_path / "dir" / "model.json"
    assert folder.version_doc_path(2) == ("versions", "2")
    assert ModelFolder().version_files(1) is None and ModelFolder().version_path(1, "x") is None


def test_a_manifest_version_without_model_py_is_located_at_the_version(tmp_path):
    from tests.helpers import run_json

    write(tmp_path / "src" / "1" / "helper.py", "")
    write(tmp_path / "models.yaml", "version: 1\nmodels:\n  m:\n    backend: python\n"
                                    "    input: [{name: X, data_type: FP32, dims: [1]}]\n"
                                    "    output: [{name: Y, data_type: FP32, dims: [1]}]\n"
                                    "    versions:\n      1: {source: src/1}\n")
    code, report, _ = run_json("validate", "models.yaml", cwd=tmp_path)
    (problem,) = [p for p in report["problems"] if p["severity"] == "error"]
    assert code == 1 and problem["rule"] == "python-model-file"
    assert (problem["path"], problem["line"], problem["column"]) == ("models.m.versions.1", 8, 10)


def test_has_answers_with_one_stat_and_none_when_unknown(tmp_path):
    write(tmp_path / "disk" / "1" / "model.py", "")
    disk = DiskFolder(str(tmp_path / "disk"))
    assert disk.has(1, "model.py") is True and disk.has(1, "model.json") is False and disk.has(2, "x") is None
    write(tmp_path / "src" / "model.py", "")
    write(tmp_path / "dir" / "model.json", "{}")
    model = ModelSpec("m", ModelConfig(backend="python"), {}, versions={
        1: VersionSpec(1, "src/model.py", tmp_path / "src" / "model.py"),
        2: VersionSpec(2, "dir", tmp_path / "dir"),
        3: VersionSpec(3, "s3://b/m/3", None, remote=True),
        4: VersionSpec(4, "", None),  # an ensemble's empty version
    })
    folder = ManifestFolder(model)
    assert folder.has(1, "model.py") is True and folder.has(1, "other.py") is False
    assert folder.has(2, "model.json") is True and folder.has(2, "model.py") is False
    assert folder.has(3, "model.py") is None and folder.has(4, "model.py") is False
