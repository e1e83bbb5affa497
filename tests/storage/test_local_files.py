"""#13.2: one rule for every way a manifest names a local file. Inside the git work tree that
holds the manifest (what review covers) is allowed; a plain path, file://, local:// or a
symlink that resolves outside it is refused, and the outside file's digest is never printed."""
from __future__ import annotations

import hashlib
import os

import pytest

FORMS = {
    "absolute path": lambda p, project: str(p),
    "file:// URL": lambda p, project: f"file://{p}",
    "local:// URL": lambda p, project: f"local://{p}",
    "relative path": lambda p, project: os.path.relpath(p, project.folder),
    "file:// relative": lambda p, project: "file://" + os.path.relpath(p, project.folder),
    "symlink in the tree": lambda p, project: _link(project, p),
}


def _link(project, outside) -> str:
    (project.folder / "src" / "link.onnx").symlink_to(outside)
    return "src/link.onnx"


@pytest.fixture
def outside(tmp_path):
    path = tmp_path / "runner-home" / ".aws" / "credentials"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"[default]\naws_secret_access_key = runnerSECRET\n")
    return path


@pytest.mark.parametrize("form", sorted(FORMS))
@pytest.mark.parametrize("field", ["version", "files"])
def test_a_file_outside_the_work_tree_is_refused_however_it_is_named(project, outside, form, field):
    source = FORMS[form](outside, project)
    if field == "version":
        project.write({1: source})
    else:
        project.write({1: "src/model.onnx"}, model={"backend": "onnxruntime", "max_batch_size": 0,
                                                   "input": [{"name": "X", "data_type": "FP32", "dims": [1]}],
                                                   "output": [{"name": "Y", "data_type": "FP32", "dims": [1]}],
                                                   "files": {"extra.txt": source}})
    digest = hashlib.sha256(outside.read_bytes()).hexdigest()
    for command in (("validate",), ("compile", "--dry-run"), ("lock",)):
        code, out, err = project.run(*command, env={"TRITON_GITOPS_ALLOWED_ENV": None})
        assert code == 1, (command, out, err)
        assert ("source-outside" in out + err and "outside the git work tree" in out + err) or \
            "is an absolute path" in out + err
        assert digest not in out + err and digest[:12] not in out + err
        assert "runnerSECRET" not in out + err
    assert not (project.folder / "models.lock").exists()


def test_file_url_inside_the_work_tree_is_read_like_a_path(project):
    project.write({1: "file://src/model.onnx", 2: "local://src/model.onnx", 3: "src/model.onnx"})
    code, out, err = project.run("compile", "--out", "build/out")
    assert code == 0, out + err
    for number in (1, 2, 3):
        assert (project.folder / "build" / "out" / "m" / str(number) / "model.onnx").read_bytes() == b"onnx bytes"
