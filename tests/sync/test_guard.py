"""What sync refuses before writing anything (compiler/sync/guard.py, boundary.py), attack by attack.

* a symbolic link in a local target (a version folder, a model folder, a file) pointing at a
  shared store: sync and sync --prune must neither write nor delete there;
* a manifest whose local target is `../elsewhere`, with a model named like the Python package
  that lives there: refused, located in the manifest, nothing written;
* a file already on the target that triton-gitops did not write: left as it is (exit 1) unless
  --overwrite-unmanaged is given.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.helpers import REPO, run_cli
from tests.sync.conftest import Backend, Project, _fs


@pytest.fixture
def local(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    root = tmp_path / "src" / "target" / "repo"
    backend = Backend("local", _fs("file"), str(root), {"url": str(root)}, {})
    (tmp_path / "src").mkdir()
    return Project(tmp_path / "src", backend), root


def _snapshot(folder: Path) -> dict:
    """Every entry under `folder` (links not followed): {relative path: bytes, 'dir' or link target}."""
    out = {}
    for current, dirs, files in os.walk(folder):
        for name in dirs + files:
            path = Path(current) / name
            rel = path.relative_to(folder).as_posix()
            if path.is_symlink():
                out[rel] = ("link", os.readlink(path))
            elif path.is_dir():
                out[rel] = "dir"
            else:
                out[rel] = path.read_bytes()
    return out


def _shared_store(tmp_path: Path, name: str, files: dict) -> Path:
    store = tmp_path / "shared" / name
    store.mkdir(parents=True)
    for rel, data in files.items():
        (store / rel).parent.mkdir(parents=True, exist_ok=True)
        (store / rel).write_bytes(data)
    return store


def _link(path: Path, to: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        subprocess.run(["rm", "-rf", str(path)], check=True)
    else:
        path.unlink()
    path.symlink_to(to)


# -- 4. symbolic links --------------------------------------------------------------------------

def test_a_version_folder_linked_to_a_shared_store_is_not_repaired_through_the_link(local, tmp_path):
    project, root = local
    assert project.cli("sync")[0] == 0
    store = _shared_store(tmp_path, "tc2", {"README": b"the store's own file\n"})  # model.py "missing"
    _link(root / "text_classifier" / "2", store)
    before = _snapshot(tmp_path / "shared")
    code, out, _ = project.cli("plan")
    assert code == 2 and "warning: text_classifier/2 on the target is a symbolic link" in out
    for args in ((), ("--prune",)):
        code, out, err = project.cli("sync", *args)
        assert code == 1, out + err
        assert "text_classifier/2 -> " in err and str(store) in err and "symbolic link" in err
        assert "nothing was changed" in err and "Traceback" not in err
        assert _snapshot(tmp_path / "shared") == before


def test_prune_does_not_delete_through_a_linked_version_folder(local, tmp_path):
    project, root = local
    assert project.cli("sync")[0] == 0
    wrote = (root / "text_classifier" / "1" / "model.py").read_bytes()
    store = _shared_store(tmp_path, "tc1", {"model.py": wrote})  # the very same content, deduplicated
    _link(root / "text_classifier" / "1", store)
    before = _snapshot(tmp_path / "shared")
    del project.models["text_classifier"]["versions"][1]
    project.save()
    code, out, err = project.cli("sync", "--prune")
    assert code == 1 and "text_classifier/1 -> " in err, out + err
    assert _snapshot(tmp_path / "shared") == before
    assert (root / "text_classifier" / "1").is_symlink()


def test_a_linked_model_folder_or_file_is_never_written_through(local, tmp_path):
    project, root = local
    assert project.cli("sync")[0] == 0
    store = _shared_store(tmp_path, "pre", {"1/model.py": b"# someone else's model\n", "config.pbtxt": b"x"})
    _link(root / "preprocess", store)
    labels = tmp_path / "shared" / "labels.txt"
    labels.write_text("not our labels\n")
    _link(root / "text_classifier" / "labels.txt", labels)
    before = _snapshot(tmp_path / "shared")
    code, out, err = project.cli("sync", "--prune")
    assert code == 1, out + err
    assert "preprocess -> " in err and "text_classifier/labels.txt -> " in err
    assert _snapshot(tmp_path / "shared") == before


def test_the_writer_checks_again_right_before_it_writes(local, tmp_path):
    """A link that appears after the plan was checked (a race) is caught at the write itself."""
    from compiler.errors import FatalError
    from compiler.sync.local import LocalWriter
    from compiler.sync.plan import Plan

    project, root = local
    assert project.cli("sync")[0] == 0
    store = _shared_store(tmp_path, "late", {})
    _link(root / "text_classifier" / "3", store)

    class Target:
        display, fs = "t", _fs("file")
    Target.root = str(root)

    class Change:
        path, model, version = "text_classifier/3/model.py", "text_classifier", "3"
        want = None
    writer = LocalWriter(Target, Plan())
    with pytest.raises(FatalError, match="text_classifier/3 is a symbolic link"):
        writer.put(Change)
    with pytest.raises(FatalError, match="text_classifier/3 is a symbolic link"):
        writer.delete(Change)
    writer.finish()
    assert _snapshot(store) == {}


# -- 5. a manifest's local target, and files we did not write -----------------------------------

def _package_manifest(folder: Path, url: str) -> Path:
    """A model named like the Python package beside the repository, shipping an `__init__.py`."""
    (folder / "src").mkdir(parents=True)
    (folder / "src" / "model.py").write_text("print('model')\n")
    (folder / "src" / "__init__.py").write_text("# from the pull request\n")
    data = {"version": 1, "targets": {"local": {"url": url}},
            "models": {"mypkg": {"backend": "python", "max_batch_size": 0,
                                 "input": [{"name": "X", "data_type": "FP32", "dims": [1]}],
                                 "output": [{"name": "Y", "data_type": "FP32", "dims": [1]}],
                                 "files": {"__init__.py": "src/__init__.py"},
                                 "versions": {1: {"source": "src/model.py"}}}}}
    (folder / "models.yaml").write_text(yaml.safe_dump(data, sort_keys=False))
    return folder / "models.yaml"


def test_a_manifest_target_outside_its_repository_is_refused_and_located(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "mypkg").mkdir(parents=True)
    (elsewhere / "mypkg" / "__init__.py").write_text("# the real package\n")
    before = _snapshot(elsewhere)
    manifest = _package_manifest(tmp_path / "repo", "../elsewhere")
    subprocess.run(["git", "init", "-q", str(tmp_path / "repo")], check=True)
    for command in ("sync", "plan", "validate"):  # reported with the manifest's problems (manifest/local_target.py)
        code, out, err = run_cli(command, manifest)
        assert code == 1, out + err
        line = next(i for i, text in enumerate(manifest.read_text().splitlines(), 1) if "../elsewhere" in text)
        assert f"models.yaml:{line}:" in out and "'../elsewhere'" in out and "outside its git work tree" in out
        assert "--target /path/to/folder" in out and "Traceback" not in err
    assert _snapshot(elsewhere) == before
    # A target that holds the manifest itself is refused too (the repository's own files would mix in).
    manifest = _package_manifest(tmp_path / "repo2", ".")
    code, out, err = run_cli("sync", manifest)
    assert code == 1 and "holds the manifest itself" in out, out + err
    assert not (tmp_path / "repo2" / "mypkg").exists()


def test_the_command_line_may_name_a_folder_elsewhere(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    manifest = _package_manifest(tmp_path / "repo", "build/repo")
    code, out, err = run_cli("sync", manifest, "--target", str(tmp_path / "elsewhere"))
    assert code == 0, out + err
    assert (tmp_path / "elsewhere" / "mypkg" / "1" / "model.py").exists()
    # The manifest itself may not name it: its problem, whatever the command line says.
    manifest = _package_manifest(tmp_path / "repo2", "../elsewhere")
    code, out, err = run_cli("sync", manifest, "--target", str(tmp_path / "elsewhere"))
    assert code == 1 and "[target-outside]" in out, out + err


def test_a_file_not_written_by_triton_gitops_is_kept_unless_the_flag_says_so(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    manifest = _package_manifest(tmp_path / "repo", "build/repo")
    package = tmp_path / "repo" / "build" / "repo" / "mypkg"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("# the real package\n")
    code, out, err = run_cli("sync", manifest)
    assert code == 1, out + err
    assert "mypkg/__init__.py" in err and "not written by triton-gitops" in err and "--overwrite-unmanaged" in err
    assert "nothing was changed" in err
    assert (package / "__init__.py").read_text() == "# the real package\n"
    assert sorted(p.name for p in package.iterdir()) == ["__init__.py"]  # nothing else written either
    code, out, err = run_cli("sync", manifest, "--dry-run")
    assert code == 2 and "~ update mypkg/__init__.py" in out and "not written by triton-gitops" in out
    code, out, err = run_cli("sync", manifest, "--overwrite-unmanaged")
    assert code == 0, out + err
    assert (package / "__init__.py").read_text() == "# from the pull request\n"
    code, out, err = run_cli("sync", manifest)  # ours now
    assert code == 0 and "in sync" in out
    helped = subprocess.run([sys.executable, "-m", "compiler", "sync", "--help"], capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    assert "--overwrite-unmanaged" in helped.stdout and "did not write" in helped.stdout
