"""`sync --revision REF`: the target gets the repository as the manifest described it at REF
(the manifest's folder and its sources read from git), whatever the work tree holds now."""
import subprocess

from tests.helpers import run_cli

MANIFEST = """version: 1
targets:
  local: {{url: build/target}}
models:
  echo:
    backend: python
    input: [{{name: X, data_type: FP32, dims: [-1]}}]
    output: [{{name: Y, data_type: FP32, dims: [-1]}}]
    versions:
{versions}
"""


def _git(root, *args):
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.invalid", *args], cwd=root,
                   check=True, capture_output=True)


def _commit(root, versions: dict, message: str):
    for number, text in versions.items():
        (root / "src" / f"echo{number}.py").write_text(text)
    lines = "\n".join(f"      {n}: {{source: src/echo{n}.py}}" for n in versions)
    (root / "models.yaml").write_text(MANIFEST.format(versions=lines))
    _git(root, "add", "-A")
    _git(root, "commit", "-qm", message)


def test_sync_revision_puts_the_previous_repository_back(tmp_path):
    root = tmp_path / "repo"
    (root / "src").mkdir(parents=True)
    (root / ".gitignore").write_text("build/\n")
    _git(root, "init", "-q", "-b", "main")
    _commit(root, {1: "# good version 1\n"}, "v1")
    _commit(root, {1: "# version 1, edited\n", 2: "# version 2\n"}, "v2")
    assert run_cli("sync", root / "models.yaml", "--prune")[0] == 0
    target = root / "build" / "target" / "echo"
    assert sorted(p.name for p in target.iterdir()) == ["1", "2", "config.pbtxt"]
    # an uncommitted edit does not leak into a sync of an older revision
    (root / "src" / "echo1.py").write_text("# not committed\n")
    code, out, err = run_cli("sync", root / "models.yaml", "--revision", "HEAD~1", "--prune")
    assert code == 0, out + err
    assert "the manifest as of HEAD~1" in err
    assert sorted(p.name for p in target.iterdir()) == ["1", "config.pbtxt"]
    assert (target / "1" / "model.py").read_text() == "# good version 1\n"
    assert not (root / "build" / "target" / "build").exists()  # the same target, not one in a temp folder
    # the target is exactly what a sync at that revision writes: a plan of HEAD~1 has nothing to do
    _git(root, "stash", "-u")
    _git(root, "checkout", "-q", "HEAD~1")
    assert run_cli("plan", root / "models.yaml")[0] == 0


def test_an_unknown_revision_is_a_clear_error(tmp_path):
    root = tmp_path / "repo"
    (root / "src").mkdir(parents=True)
    _git(root, "init", "-q", "-b", "main")
    _commit(root, {1: "# v1\n"}, "v1")
    code, out, err = run_cli("sync", root / "models.yaml", "--revision", "no-such-ref")
    assert code == 1 and "'no-such-ref' not found" in err and "Traceback" not in err
    assert not (root / "build").exists()


def test_the_sources_of_todays_manifest_are_never_read(tmp_path, monkeypatch):
    """Today's manifest only names the target: a source it names that cannot be read now (a
    store that does not answer) costs nothing and changes nothing; only the revision's
    manifest is built, and the run's settings (the storage policy) are made once."""
    import compiler.pipeline as pipeline
    from compiler.storage import policy
    from compiler.sync import engine
    from tests.support.procs import free_port

    root = tmp_path / "repo"
    (root / "src").mkdir(parents=True)
    (root / ".gitignore").write_text("build/\n")
    _git(root, "init", "-q", "-b", "main")
    _commit(root, {1: "# good version 1\n"}, "v1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")  # nothing listens there
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    today = (root / "models.yaml").read_text().replace("      1: {source: src/echo1.py}",
                                                       "      1: {source: src/echo1.py}\n"
                                                       "      2: {source: s3://unreachable/echo2.py}")
    (root / "models.yaml").write_text(today)  # not committed
    built = []
    real_build = pipeline.build

    def build(loaded, *args, **kwargs):
        built.append(loaded.manifest.path)
        return real_build(loaded, *args, **kwargs)

    for module in (pipeline, engine):  # load_and_build's, and the sync's
        monkeypatch.setattr(module, "build", build)
    policies = []
    real_policy = policy.load
    monkeypatch.setattr(policy, "load", lambda *args: policies.append(args) or real_policy(*args))
    code, out, err = run_cli("sync", root / "models.yaml", "--revision", "HEAD", "--storage-timeout", "2")
    assert code == 0, out + err
    assert [p.name for p in built] == ["models.yaml"] and built[0] != root / "models.yaml"  # the revision's copy
    assert len(policies) == 1  # the run's settings, built once for both manifests
    target = root / "build" / "target" / "echo"
    assert sorted(p.name for p in target.iterdir()) == ["1", "config.pbtxt"]
