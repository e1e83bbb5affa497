"""Where a rollback's files come from (compiler/rollout/restore.py): the manifest at a git
revision, compiled in memory; what it cannot give is said, never guessed."""
import subprocess

from compiler.artifacts.settings import Settings
from compiler.rollout.restore import PreviousFiles

MANIFEST = """version: 1
models:
  echo:
    backend: python
    input: [{name: X, data_type: FP32, dims: [-1]}]
    output: [{name: Y, data_type: FP32, dims: [-1]}]
    files: {labels.txt: src/labels.txt}
    versions:
      1: {source: src/v1.py}
      2: {source: src/v2.py}
"""


def _repo(root):
    (root / "src").mkdir(parents=True)
    (root / "src" / "v1.py").write_text("# one\n")
    (root / "src" / "v2.py").write_text("# two\n")
    (root / "src" / "labels.txt").write_text("cat\n")
    (root / "models.yaml").write_text(MANIFEST)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=root, check=True)
    subprocess.run(git + ["add", "-A"], cwd=root, check=True)
    subprocess.run(git + ["commit", "-qm", "v"], cwd=root, check=True)


def test_files_of_the_versions_asked_and_the_model_folder_without_the_config(tmp_path):
    _repo(tmp_path)
    (tmp_path / "src" / "v1.py").write_text("# uncommitted\n")  # not what HEAD says
    previous = PreviousFiles(tmp_path / "models.yaml", "HEAD", Settings())
    try:
        files, problem = previous.files("echo", {1})
        assert problem == ""
        assert files == {"file:1/model.py": b"# one\n", "file:labels.txt": b"cat\n"}
        files, problem = previous.files("echo", {3})
        assert files == {} and problem == "versions 3 of echo are not in the manifest at HEAD"
    finally:
        previous.close()


def test_outside_git_or_at_an_unknown_revision_the_problem_is_named(tmp_path):
    (tmp_path / "models.yaml").write_text(MANIFEST)
    previous = PreviousFiles(tmp_path / "models.yaml", "HEAD~1", Settings())
    assert previous.files("echo", {1}) == ({}, previous.problem)
    assert "not inside a git repository" in previous.problem
    previous.close()
    repo = tmp_path / "repo"
    _repo(repo)
    previous = PreviousFiles(repo / "models.yaml", "HEAD~1", Settings())
    assert previous.files("echo", {1})[1].startswith("the manifest at HEAD~1 cannot be read: git: base ref 'HEAD~1'")
    previous.close()
