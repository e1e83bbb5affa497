"""Local sources: digests, pins, models.lock and --locked, the hash index, LFS pointers, checksum agent."""
import hashlib
import json
import os
import shutil
import subprocess

import pytest

from compiler.artifacts import file_digest as files_mod
from compiler.artifacts.cache import Cache
from compiler.artifacts.digest import folder_digest
from compiler.storage import files as storage_files
from compiler.storage.files import sha256_file, stat_key
from tests.artifacts.manifests import files_of, sha256, write_manifest
from tests.helpers import coarse_stamps, run_cli, run_json


def make_folder(root, files: dict):
    for rel, data in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def test_folder_digest_is_what_coreutils_prints(tmp_path):
    make_folder(tmp_path / "v", {"model.onnx": b"weights", "a.txt": b"", "sub/x.bin": b"\0" * 10,
                                          "a/b": b"b", "__pycache__/m.pyc": b"skip me"})
    listing = subprocess.run(
        "cd v && find . -type f ! -path './__pycache__/*' -printf '%P\\0' | LC_ALL=C sort -z "
        "| xargs -0 sha256sum | sha256sum", shell=True, cwd=tmp_path, capture_output=True, text=True, check=True)
    expected = listing.stdout.split()[0]
    manifest = write_manifest(tmp_path, {1: "v"})
    code, out, _ = run_cli("lock", manifest)
    assert code == 0, out
    lock = json.loads((tmp_path / "models.lock").read_text())
    assert lock["versions"]["m/1"]["sha256"] == expected
    assert set(lock["versions"]["m/1"]["files"]) == {"model.onnx", "a.txt", "sub/x.bin", "a/b"}
    assert folder_digest((rel, sha256((tmp_path / "v" / rel).read_bytes())) for rel in lock["versions"]["m/1"]["files"]) \
        == expected


def test_sha256_file_matches_hashlib(tmp_path):
    data = bytes(range(256)) * 40000
    (tmp_path / "f").write_bytes(data)
    assert sha256_file(tmp_path / "f") == hashlib.sha256(data).hexdigest()


def test_pinned_file_and_folder_compile(tmp_path):
    make_folder(tmp_path / "v2", {"model.onnx": b"onnx", "weights/w.bin": b"w" * 100})
    (tmp_path / "one.onnx").write_bytes(b"single")
    pin2 = folder_digest([("model.onnx", sha256(b"onnx")), ("weights/w.bin", sha256(b"w" * 100))])
    manifest = write_manifest(tmp_path, {1: {"source": "one.onnx", "sha256": sha256(b"single")},
                                         2: {"source": "v2", "sha256": pin2}})
    code, out, err = run_cli("compile", manifest, "--out", tmp_path / "out")
    assert code == 0, out + err
    got = files_of(tmp_path / "out")
    assert got["m/1/model.onnx"] == b"single"
    assert got["m/2/weights/w.bin"] == b"w" * 100


def test_pin_mismatch_names_the_file_and_both_digests_and_writes_nothing(tmp_path):
    (tmp_path / "one.onnx").write_bytes(b"tampered")
    wrong = sha256(b"reviewed")
    manifest = write_manifest(tmp_path, {1: {"source": "one.onnx", "sha256": wrong}})
    out = tmp_path / "out"
    code, report, _ = run_json("compile", manifest, "--out", out)
    assert code == 1
    (problem,) = [p for p in report["problems"] if p["severity"] == "error"]
    assert problem["rule"] == "source-digest-mismatch" and problem["path"] == "models.m.versions.1.sha256"
    assert "one.onnx" in problem["message"] and wrong in problem["message"]
    assert sha256(b"tampered") in problem["message"]
    assert not out.exists()


def test_folder_pin_mismatch(tmp_path):
    make_folder(tmp_path / "v", {"model.onnx": b"x"})
    manifest = write_manifest(tmp_path, {1: {"source": "v", "sha256": "0" * 64}})
    code, report, _ = run_json("validate", manifest)
    assert code == 1
    (problem,) = report["problems"]
    assert problem["rule"] == "source-digest-mismatch"
    assert folder_digest([("model.onnx", sha256(b"x"))]) in problem["message"] and "0" * 64 in problem["message"]


def test_lock_then_locked_compile_refuses_drift(tmp_path):
    make_folder(tmp_path / "v", {"model.onnx": b"reviewed", "config.json": b"{}"})
    manifest = write_manifest(tmp_path, {1: "v"})
    assert run_cli("lock", manifest)[0] == 0
    assert run_cli("lock", manifest, "--check")[0] == 0
    assert run_cli("compile", manifest, "--out", tmp_path / "out", "--locked")[0] == 0
    (tmp_path / "v" / "model.onnx").write_bytes(b"swapped!")  # same size, other bytes
    before = files_of(tmp_path / "out")
    code, report, _ = run_json("compile", manifest, "--out", tmp_path / "out", "--locked")
    assert code == 1
    (problem,) = [p for p in report["problems"] if p["severity"] == "error"]
    assert problem["rule"] == "lock-mismatch"
    assert "v/model.onnx" in problem["message"]
    assert sha256(b"swapped!") in problem["message"] and sha256(b"reviewed") in problem["message"]
    assert files_of(tmp_path / "out") == before
    # Without --locked the drift is a warning and the compile goes on.
    code, report, _ = run_json("compile", manifest, "--out", tmp_path / "out")
    assert code == 0 and [p["rule"] for p in report.get("problems", [])] in ([], ["lock-mismatch"])
    assert run_cli("lock", manifest, "--check")[0] == 2
    assert run_cli("lock", manifest)[0] == 0
    assert run_cli("compile", manifest, "--out", tmp_path / "out", "--locked")[0] == 0


def test_locked_without_lock_file_and_with_missing_or_stale_entries(tmp_path):
    (tmp_path / "a.onnx").write_bytes(b"a")
    manifest = write_manifest(tmp_path, {1: "a.onnx"})
    code, out, _ = run_cli("compile", manifest, "--out", tmp_path / "o", "--locked")
    assert code == 1 and "no models.lock next to the manifest" in out
    run_cli("lock", manifest)
    write_manifest(tmp_path, {2: "a.onnx"})  # version 1 renamed to 2: 2 is missing, 1 is stale
    code, out, _ = run_cli("compile", manifest, "--out", tmp_path / "o", "--locked")
    assert code == 1 and "[lock-missing]" in out and "[lock-stale]" in out


def test_source_url_changed_in_manifest_is_lock_drift(tmp_path):
    (tmp_path / "a.onnx").write_bytes(b"same")
    (tmp_path / "b.onnx").write_bytes(b"same")
    manifest = write_manifest(tmp_path, {1: "a.onnx"})
    run_cli("lock", manifest)
    write_manifest(tmp_path, {1: "b.onnx"})
    code, out, _ = run_cli("compile", manifest, "--out", tmp_path / "o", "--locked")
    assert code == 1 and "the source changed from 'a.onnx'" in out


def test_second_compile_does_not_rehash(tmp_path, monkeypatch):
    (tmp_path / "big.onnx").write_bytes(b"x" * 100_000)
    manifest = write_manifest(tmp_path, {1: "big.onnx"})
    calls = []
    real = files_mod.sha256_file
    monkeypatch.setattr(files_mod, "sha256_file", lambda path: calls.append(path) or real(path))
    assert run_cli("compile", manifest, "--out", tmp_path / "o")[0] == 0
    assert len(calls) == 1
    assert run_cli("compile", manifest, "--out", tmp_path / "o")[0] == 0
    assert len(calls) == 1  # the index knew it
    (tmp_path / "big.onnx").write_bytes(b"y" * 100_000)  # same size: the stat key still changes
    assert run_cli("compile", manifest, "--out", tmp_path / "o")[0] == 0
    assert len(calls) == 2


def _rewrite_in_place(path, data: bytes) -> None:
    """New bytes, the same size and inode (what an editor saving in place, or `cp`, does)."""
    with open(path, "r+b") as handle:
        handle.write(data)


def test_a_file_rewritten_in_the_tick_it_was_hashed_in_is_hashed_again_by_the_next_run(tmp_path, monkeypatch):
    """git's racy case: on a file system whose clock ticks coarsely (simulated: coarse_stamps),
    a file rewritten with the same size in the tick it was hashed in keeps its stat key. The run
    that hashed it uses the digest; the next run must not trust it."""
    coarse_stamps(monkeypatch)
    model = tmp_path / "model.onnx"
    model.write_bytes(b"a" * 1000)
    cache = Cache(tmp_path / "cache")
    calls = []
    real = files_mod.sha256_file
    monkeypatch.setattr(files_mod, "sha256_file", lambda path: calls.append(path) or real(path))
    sha, _, key = files_mod.digest_local(cache, model)
    assert sha == sha256(b"a" * 1000)
    assert files_mod.digest_local(cache, model)[0] == sha and len(calls) == 1  # this run: the digest it read
    cache.save()
    _rewrite_in_place(model, b"b" * 1000)
    assert stat_key(os.stat(model)) == key  # what the simulation is for: the stat key cannot tell
    assert files_mod.digest_local(Cache(tmp_path / "cache"), model)[0] == sha256(b"b" * 1000)  # the next run
    assert len(calls) == 2


def test_a_file_hashed_once_its_stamps_are_old_is_kept_for_the_next_run(tmp_path, monkeypatch):
    """The other side of the racy rule: stamps older than RACY_SECONDS vouch for the content,
    and the next run (a new Cache reading the saved index) hashes nothing."""
    model = tmp_path / "model.onnx"
    model.write_bytes(b"a" * 1000)
    monkeypatch.setattr(storage_files, "RACY_SECONDS", 0.0)  # as if written long ago (ctime cannot be set back)
    cache = Cache(tmp_path / "cache")
    first = files_mod.digest_local(cache, model)
    cache.save()
    calls = []
    monkeypatch.setattr(files_mod, "sha256_file", lambda path: calls.append(path))
    assert files_mod.digest_local(Cache(tmp_path / "cache"), model) == first and calls == []


def test_lock_records_the_new_digest_of_a_file_rewritten_in_the_tick_it_was_locked_in(tmp_path, monkeypatch):
    """The racy case end to end: models.lock (what review approves) must hold the sha256 of the
    bytes the file holds, even when the rewrite left its stat key as it was (coarse_stamps)."""
    coarse_stamps(monkeypatch)
    (tmp_path / "big.onnx").write_bytes(b"x" * 100_000)
    manifest = write_manifest(tmp_path, {1: "big.onnx"})
    assert run_cli("lock", manifest)[0] == 0
    key = stat_key(os.stat(tmp_path / "big.onnx"))
    _rewrite_in_place(tmp_path / "big.onnx", b"y" * 100_000)
    assert stat_key(os.stat(tmp_path / "big.onnx")) == key
    assert run_cli("lock", manifest)[0] == 0
    lock = json.loads((tmp_path / "models.lock").read_text())
    assert lock["versions"]["m/1"]["sha256"] == sha256(b"y" * 100_000)


def test_lfs_pointer_is_reported_with_the_command_that_fixes_it(tmp_path, monkeypatch):
    monkeypatch.delenv("GITHUB_ACTIONS", raising=False)
    repo = tmp_path / "repo"
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    pointer = (b"version https://git-lfs.github.com/spec/v1\n"
               b"oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\nsize 524288000\n")
    make_folder(repo / "models" / "bert" / "1", {"model.onnx": pointer})
    manifest = write_manifest(repo, {1: "models/bert/1"})
    code, report, _ = run_json("validate", manifest)
    assert code == 1
    (problem,) = report["problems"]
    assert problem["rule"] == "source-lfs-pointer"
    assert "models/bert/1/model.onnx is a Git LFS pointer" in problem["message"] and "524.3 MB" in problem["message"]
    assert problem["hint"] == f'run `git lfs pull --include="models/bert/1/model.onnx"` in {repo}'
    code, out, err = run_cli("validate", manifest)
    assert code == 1 and "source-lfs-pointer" in out
    assert "ONNX" not in out + err  # the ONNX rule adds no "not readable as ONNX" note to the located error
    # in a workflow the fix is the checkout step's, which the hint then names too
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    (problem,) = run_json("validate", manifest)[1]["problems"]
    assert problem["hint"] == (f'run `git lfs pull --include="models/bert/1/model.onnx"` in {repo} (in a GitHub '
                               "Actions workflow: `lfs: true` under the actions/checkout step's `with:`)")


def test_checksum_agent_gets_md5_parameters_and_a_cloud_target_warning(tmp_path):
    make_folder(tmp_path / "v", {"model.onnx": b"onnx bytes", "ext/w.bin": b"weights"})
    (tmp_path / "labels.txt").write_text("a\nb\n")
    model = {"backend": "onnxruntime", "max_batch_size": 0,
             "input": [{"name": "X", "data_type": "FP32", "dims": [1]}],
             "output": [{"name": "Y", "data_type": "FP32", "dims": [2], "label_filename": "labels.txt"}],
             "files": {"labels.txt": "labels.txt"},
             "model_repository_agents": {"agents": [{"name": "checksum"}]}}
    manifest = write_manifest(tmp_path, {1: "v"}, model=model,
                              targets={"local": {"url": "out"}, "prod": {"url": "s3://bucket/models"}})
    code, out, _ = run_cli("compile", manifest, "--out", tmp_path / "out")
    assert code == 0, out
    assert "[checksum-cloud-target]" in out and "prod (s3://bucket/models)" in out
    config = (tmp_path / "out" / "m" / "config.pbtxt").read_text()
    for key, data in (("1/model.onnx", b"onnx bytes"), ("1/ext/w.bin", b"weights"), ("labels.txt", b"a\nb\n")):
        assert f'key: "MD5:{key}"\n' in config
        assert f'value: "{hashlib.md5(data).hexdigest()}"' in config


def test_checksum_parameter_given_by_hand_is_checked(tmp_path):
    (tmp_path / "a.onnx").write_bytes(b"a")
    model = {"backend": "onnxruntime", "max_batch_size": 0,
             "input": [{"name": "X", "data_type": "FP32", "dims": [1]}],
             "output": [{"name": "Y", "data_type": "FP32", "dims": [1]}],
             "model_repository_agents": {"agents": [{"name": "checksum",
                                                     "parameters": {"MD5:1/model.onnx": "0" * 32}}]}}
    manifest = write_manifest(tmp_path, {1: "a.onnx"}, model=model)
    code, out, _ = run_cli("validate", manifest)
    assert code == 1 and "[checksum-md5]" in out and hashlib.md5(b"a").hexdigest() in out


def test_plan_lines_show_source_and_digest(tmp_path):
    from compiler.artifacts.plan_sources import source_lines
    from compiler.artifacts.settings import Settings
    from compiler.pipeline import load_and_build

    (tmp_path / "a.onnx").write_bytes(b"a")
    manifest = write_manifest(tmp_path, {1: {"source": "a.onnx", "sha256": sha256(b"a")}})
    loaded, tree = load_and_build(manifest, Settings())
    (line,) = source_lines(loaded.manifest, full_digests=True)
    assert line.split() == ["m/1", "a.onnx", "file,", "1", "B", f"sha256:{sha256(b'a')}", "(pinned)", "local"]


@pytest.mark.parametrize("name", ["bad\nname", "back\\slash"])
def test_names_the_folder_digest_cannot_represent_are_refused(tmp_path, name):
    make_folder(tmp_path / "v", {"model.onnx": b"x", name: b"y"})
    manifest = write_manifest(tmp_path, {1: "v"})
    code, out, _ = run_cli("validate", manifest)
    assert code == 1 and "[source-file-name]" in out


def test_cache_prune(tmp_path, isolated_cache, monkeypatch):
    monkeypatch.setattr(storage_files, "RACY_SECONDS", 0.0)  # a.onnx, written just now, goes into the hash index
    (tmp_path / "a.onnx").write_bytes(b"a")
    manifest = write_manifest(tmp_path, {1: "a.onnx"})
    run_cli("validate", manifest)
    assert any(isolated_cache.rglob("*.json"))
    code, out, _ = run_cli("cache", "prune")
    assert code == 0 and "removed 0 files" in out
    code, out, _ = run_cli("cache", "prune", "--all")
    # the hash index, the result cache and validate's kept answer (compiler/fastpath)
    assert code == 0 and "removed 3 files " in out
    assert not any(p.is_file() for p in isolated_cache.rglob("*"))
    shutil.rmtree(isolated_cache, ignore_errors=True)
    assert run_cli("cache", "prune")[0] == 0  # no cache at all is fine


def test_checksum_agent_warns_for_a_cloud_url_given_on_the_command_line(tmp_path, s3_emulator, monkeypatch):
    make_folder(tmp_path / "v", {"model.onnx": b"onnx bytes"})
    model = {"backend": "onnxruntime", "max_batch_size": 0,
             "input": [{"name": "X", "data_type": "FP32", "dims": [1]}],
             "output": [{"name": "Y", "data_type": "FP32", "dims": [1]}],
             "model_repository_agents": {"agents": [{"name": "checksum"}]}}
    manifest = write_manifest(tmp_path, {1: "v"}, model=model, targets={"local": {"url": "out"}})
    code, out, _ = run_cli("plan", manifest, "--target", "local")
    assert "[checksum-cloud-target]" not in out  # a local target: the agent works there
    bucket = s3_emulator.make_bucket()
    for name, value in s3_emulator.env().items():
        monkeypatch.setenv(name, value)
    code, out, err = run_cli("plan", manifest, "--target", f"s3://{bucket}/models")
    assert code == 2, out + err
    assert "[checksum-cloud-target]" in out and f"s3://{bucket}/models" in out


@pytest.mark.parametrize("cores, jobs, busy, expected", [
    (2, 8, 0, 2), (2, 8, 1, 1),  # sync's helper process keeps one of two cores busy
    (8, 4, 1, 4),  # never more than --jobs
    (1, 8, 1, 1), (2, 1, 0, 1),  # always at least one
])
def test_local_hashing_uses_the_free_cores(monkeypatch, cores, jobs, busy, expected):
    from compiler.artifacts.settings import Settings

    monkeypatch.setattr("os.sched_getaffinity", lambda pid: set(range(cores)))
    assert Settings(jobs=jobs, busy_cores=busy).hash_threads == expected


def test_local_sources_are_hashed_on_the_free_cores_only(tmp_path, monkeypatch):
    from compiler.artifacts import fetch, resolve
    from compiler.artifacts.settings import Settings
    from compiler.pipeline import load_and_build

    for version in (1, 2, 3):
        make_folder(tmp_path / f"v{version}", {"model.onnx": bytes([version]) * 1000})
    manifest = write_manifest(tmp_path, {v: f"v{v}" for v in (1, 2, 3)})
    calls = []

    def spy(function, items, workers, inline=None):
        calls.append((function.__name__, workers))
        return fetch.in_parallel(function, items, workers, inline)

    monkeypatch.setattr(resolve, "in_parallel", spy)
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: {0, 1})
    loaded, tree = load_and_build(manifest, Settings(jobs=8, busy_cores=1))
    assert tree is not None, loaded.problems
    assert calls == [("list", 8), ("digest", 1)]
    assert all(v.artifact.files[0].sha256 for m in loaded.manifest.models.values() for v in m.versions.values())


def test_links_inside_a_source_folder_are_followed_and_loops_refused(tmp_path):
    """list_local works real paths out only where a link is met: a link to a sibling folder is
    listed under the link's name, one more link deep too; a link back up is a loop."""
    import os

    from compiler.artifacts.source import list_local

    folder = make_folder(tmp_path / "v", {"model.py": b"m", "shared/w.bin": b"w", "deep/inner/x.bin": b"x"})
    os.symlink("shared", folder / "alias")
    os.symlink("../../shared", folder / "deep" / "inner" / "up")
    os.symlink("../alias", folder / "deep" / "via")  # a link to a link, inside
    os.symlink(str(tmp_path), folder / "out")
    problems: list = []
    kind, files = list_local(folder, ("models", "m"), problems)
    assert [(p.rule, p.message.split(" in ")[0]) for p in problems] == [("source-symlink-escape", "out")]
    assert [f.rel for f in files] == ["alias/w.bin", "deep/inner/up/w.bin", "deep/inner/x.bin", "deep/via/w.bin",
                                      "model.py", "shared/w.bin"]
    os.symlink("..", folder / "shared" / "back")
    os.symlink(".", folder / "deep" / "self")
    problems = []
    list_local(folder, ("models", "m"), problems)
    loops = sorted(p.message.split(" in ")[0] for p in problems if p.rule == "source-symlink-loop")
    assert loops == ["alias/back", "deep/inner/up/back", "deep/self", "deep/via/back", "shared/back"], \
        [p.message for p in problems]
