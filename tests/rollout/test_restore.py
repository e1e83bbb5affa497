"""Where a rollback's files come from (compiler/rollout/restore.py): the manifest at a git
revision, compiled in memory; what it cannot give is said, never guessed."""
import subprocess

from compiler.artifacts.settings import Settings
from compiler.rollout.restore import PreviousFiles
from tests.helpers import run_cli

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


def _recorded(root, settings):
    """{model: digest} as a rollout --target records it: from the sync state of a real sync."""
    from compiler.pipeline import load_and_build
    from compiler.rollout.target_check import check_target

    loaded, tree = load_and_build(root / "models.yaml", settings)
    return check_target(loaded, tree, "local", settings).digests


def test_the_files_sent_back_must_be_what_the_record_says_the_server_was_given(tmp_path):
    """A server last given revision A; the manifest moved on to B (synced, never rolled out to
    it), then to C, whose rollout fails: HEAD~1 (B) would load a model it never ran."""
    _repo(tmp_path)
    manifest = tmp_path / "models.yaml"
    manifest.write_text(MANIFEST + "targets:\n  local: {url: target}\n")
    settings = Settings(cache_dir=str(tmp_path / "cache"))
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid"]
    subprocess.run(git + ["commit", "-qam", "A"], cwd=tmp_path, check=True)
    assert run_cli("sync", manifest, "--target", "local")[0] == 0
    given_a = _recorded(tmp_path, settings)  # what `rollout --target` records for revision A
    assert set(given_a) == {"echo"}
    for text, message in (("# two, edited\n", "B"), ("# two, broken\n", "C")):
        (tmp_path / "src" / "v2.py").write_text(text)
        subprocess.run(git + ["commit", "-qam", message], cwd=tmp_path, check=True)
        assert run_cli("sync", manifest, "--target", "local")[0] == 0
    endpoints = []

    def given(endpoint):
        endpoints.append(endpoint)
        return given_a

    previous = PreviousFiles(manifest, "HEAD~1", settings, given=given)
    try:
        files, problem = previous.files("echo", {1, 2}, "http://127.0.0.1:8000")
        assert files == {}
        assert problem.startswith("the files of echo at HEAD~1 are not the ones this server was last given")
        assert "--rollback-to" in problem and endpoints == ["http://127.0.0.1:8000"]
    finally:
        previous.close()
    previous = PreviousFiles(manifest, "HEAD~2", settings, given=given)
    try:  # revision A: the very files of the record, so they go back
        files, problem = previous.files("echo", {1, 2}, "http://127.0.0.1:8000")
        assert problem == ""
        assert files == {"file:1/model.py": b"# one\n", "file:2/model.py": b"# two\n", "file:labels.txt": b"cat\n"}
    finally:
        previous.close()
    # no record of the server (no --target, or its first rollout): nothing to check against
    previous = PreviousFiles(manifest, "HEAD~1", settings, given=lambda endpoint: None)
    try:
        assert previous.files("echo", {2}, "http://127.0.0.1:8000")[1] == ""
    finally:
        previous.close()
