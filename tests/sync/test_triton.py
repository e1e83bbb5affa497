"""A real tritonserver reading what sync wrote: from S3 and GCS, and live, polling a folder."""
from __future__ import annotations

import itertools
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time

import numpy as np
import pytest
import yaml

from tests.hardening.syncsite import TMP_MARK
from tests.helpers import REPO, run_cli, run_json
from tests.support.procs import wait_until
from tests.support.triton import tritonserver_binary
from tests.sync.conftest import Backend, Project, _fs
from tests.test_example_serves import classify, features

pytestmark = [pytest.mark.triton, pytest.mark.emulators]

needs_triton = pytest.mark.skipif(tritonserver_binary() is None, reason="tritonserver not installed")


def _infer_text(server, text):
    status, body = server.post("/v2/models/classify_text/infer", {
        "inputs": [{"name": "TEXT", "shape": [1, 1], "datatype": "BYTES", "data": [text]}],
        "outputs": [{"name": "PROBS"}]})
    assert status == 200, body
    return np.array(body["outputs"][0]["data"], dtype=np.float64)


@needs_triton
@pytest.mark.parametrize("kind", ["s3", "gcs"])
def test_triton_serves_the_synced_example_straight_from_the_bucket(kind, request, tmp_path, monkeypatch,
                                                                    triton_server):
    emulator = request.getfixturevalue(f"{kind}_emulator")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    bucket = emulator.make_bucket()
    (tmp_path / "src").mkdir()
    url = f"{emulator.protocol}://{bucket}/prefix/models"
    backend = Backend(kind, _fs(emulator.protocol, **emulator.storage_options()), f"{bucket}/prefix/models",
                      {"url": url, "storage_options": emulator.storage_options()}, {})
    project = Project(tmp_path / "src", backend)
    code, out, err = project.cli("sync")
    assert code == 0, err

    server = triton_server(emulator.triton_url(f"{bucket}/prefix/models"), env=emulator.env(), timeout=120)
    status, index = server.post("/v2/repository/index", {})
    assert sorted((m["name"], m["version"], m["state"]) for m in index) == [
        ("classify_text", "1", "READY"), ("preprocess", "1", "READY"),
        ("text_classifier", "2", "READY"), ("text_classifier", "3", "READY")]
    np.testing.assert_allclose(_infer_text(server, "hello world 42"), classify(features("hello world 42"), 0.5),
                               rtol=1e-5)


# -- a live, polling Triton while the manifest changes 20 times ------------------------------

MODEL_PY = textwrap.dedent("""\
    import numpy as np
    import triton_python_backend_utils as pb_utils

    OFFSET = {offset}


    class TritonPythonModel:
        def execute(self, requests):
            out = []
            for request in requests:
                x = pb_utils.get_input_tensor_by_name(request, "X").as_numpy()
                y = pb_utils.Tensor("Y", (x + OFFSET).astype(np.float32))
                out.append(pb_utils.InferenceResponse(output_tensors=[y]))
            return out
    """)


def _model(versions: dict, tag: str = "a") -> dict:
    return {"backend": "python", "max_batch_size": 0,
            "input": [{"name": "X", "data_type": "FP32", "dims": [2]}],
            "output": [{"name": "Y", "data_type": "FP32", "dims": [2]}],
            "instance_group": [{"kind": "KIND_CPU", "count": 1}],
            "version_policy": {"all": {}},
            "parameters": {"tag": {"string_value": tag}},
            "versions": {v: {"source": f"src/{name}.py"} for v, name in versions.items()}}


# Each step: {model: ({version: source name}, config tag)}. New versions, changed code in a
# served version, config changes, removed versions, a model added and one removed.
STEPS = [
    {"alpha": ({1: "p1"}, "a"), "beta": ({1: "p1"}, "a")},
    {"alpha": ({1: "p1", 2: "p2"}, "a"), "beta": ({1: "p1"}, "a")},
    {"alpha": ({1: "p1", 2: "p2"}, "b"), "beta": ({1: "p1"}, "a")},
    {"alpha": ({1: "p1", 2: "p2"}, "b"), "beta": ({1: "p1", 2: "p2", 3: "p3"}, "a")},
    {"alpha": ({2: "p2"}, "b"), "beta": ({1: "p1", 2: "p2", 3: "p3"}, "a")},
    {"alpha": ({2: "p20"}, "b"), "beta": ({1: "p1", 2: "p2", 3: "p3"}, "a")},
    {"alpha": ({2: "p20"}, "b"), "beta": ({1: "p1", 3: "p3"}, "b"), "gamma": ({1: "p1"}, "a")},
    {"alpha": ({2: "p20", 3: "p3"}, "c"), "beta": ({1: "p1", 3: "p3"}, "b"), "gamma": ({1: "p1"}, "a")},
    {"alpha": ({3: "p3"}, "c"), "beta": ({1: "p1", 3: "p3"}, "b"), "gamma": ({1: "p1", 2: "p2"}, "b")},
    {"alpha": ({3: "p3", 4: "p4"}, "c"), "beta": ({3: "p3"}, "c"), "gamma": ({1: "p1", 2: "p2"}, "b")},
    {"alpha": ({3: "p3", 4: "p4"}, "d"), "beta": ({3: "p30"}, "c"), "gamma": ({2: "p2"}, "b")},
    {"alpha": ({4: "p4"}, "d"), "beta": ({3: "p30", 4: "p4"}, "c"), "gamma": ({2: "p2"}, "c")},
    {"alpha": ({4: "p4"}, "d"), "beta": ({3: "p30", 4: "p4"}, "c")},
    {"alpha": ({4: "p4", 5: "p5"}, "e"), "beta": ({4: "p4"}, "c")},
    {"alpha": ({5: "p5"}, "e"), "beta": ({4: "p40"}, "d"), "delta": ({1: "p1"}, "a")},
    {"alpha": ({5: "p5", 6: "p1"}, "e"), "beta": ({4: "p40", 5: "p5"}, "d"), "delta": ({1: "p1"}, "a")},
    {"alpha": ({5: "p5", 6: "p1"}, "f"), "beta": ({5: "p5"}, "d"), "delta": ({1: "p10"}, "b")},
    {"alpha": ({6: "p1"}, "f"), "beta": ({5: "p5"}, "e"), "delta": ({1: "p10", 2: "p2"}, "b")},
    {"alpha": ({6: "p1", 7: "p7"}, "f"), "beta": ({5: "p5", 6: "p6"}, "e"), "delta": ({2: "p2"}, "b")},
    {"alpha": ({7: "p7"}, "g"), "beta": ({5: "p5", 6: "p6"}, "e"), "delta": ({2: "p2", 3: "p3"}, "c")},
]


def _write_manifest(folder, step) -> None:
    data = {"version": 1, "targets": {"local": {"url": "repo"}},
            "models": {name: _model(versions, tag) for name, (versions, tag) in step.items()}}
    (folder / "models.yaml").write_text(yaml.safe_dump(data, sort_keys=False))


def _served(server) -> list:
    status, index = server.post("/v2/repository/index", {})
    assert status == 200
    return sorted((m["name"], int(m["version"]), m.get("state", "")) for m in index if m.get("state") == "READY")


def _failures(log: str) -> list:
    bad = re.compile(r"failed to load|Poll failed|failed to poll|unable to load|Internal - ", re.I)
    return [line for line in log.splitlines() if bad.search(line)]


def _wanted(step) -> list:
    return sorted((name, v, "READY") for name, (versions, _) in step.items() for v in versions)


def _offset(source: str) -> int:
    return int(source[1:])


def _caught_up(server, step) -> bool:
    """Triton is idle and serves exactly `step`: versions, config, and each version's code."""
    status, index = server.post("/v2/repository/index", {})
    if status != 200 or any(m.get("state") in ("LOADING", "UNLOADING") for m in index):
        return False
    if _served(server) != _wanted(step):
        return False
    for name, (versions, tag) in step.items():
        status, config = server.get(f"/v2/models/{name}/config")
        if status != 200 or config.get("parameters", {}).get("tag", {}).get("string_value") != tag:
            return False
        for version, source in versions.items():
            status, body = server.post(f"/v2/models/{name}/versions/{version}/infer", {
                "inputs": [{"name": "X", "shape": [2], "datatype": "FP32", "data": [0.0, 1.0]}]})
            if status != 200 or body["outputs"][0]["data"] != [_offset(source), _offset(source) + 1]:
                return False
    return True


def _removes(before, after) -> bool:
    return any(name not in after or set(versions) - set(after[name][0]) for name, (versions, _) in before.items())


@needs_triton
def test_a_polling_triton_follows_twenty_syncs_without_a_failed_load(tmp_path, monkeypatch, triton_server):
    """Syncs land at arbitrary points of Triton's poll cycle, so it sees half-done syncs.

    One thing no ordering can make safe: a version taken away while Triton is still loading
    it (the Python stub then finds no model.py and Triton 2.51's poller hangs for good). A
    real repository changes minutes apart, not a second; so before a step that removes
    something, the test lets Triton finish loading the previous step. Additions and changes
    go in back to back.
    """
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    src = tmp_path / "src"
    src.mkdir()
    for offset in (1, 2, 3, 4, 5, 6, 7, 10, 20, 30, 40):
        (src / f"p{offset}.py").write_text(MODEL_PY.format(offset=offset))
    manifest = tmp_path / "models.yaml"
    _write_manifest(tmp_path, STEPS[0])
    assert run_cli("sync", manifest)[0] == 0
    server = triton_server(tmp_path / "repo", "--model-control-mode=poll", "--repository-poll-secs=1",
                           timeout=120)
    pauses = [0.2, 0.9, 0.5, 0.1, 0.7, 0.4]  # land the syncs at different points of the poll cycle
    for i, (before, step) in enumerate(itertools.pairwise(STEPS)):
        if _removes(before, step):
            time.sleep(1.2)  # at least one poll since the last sync, so its reload has started
            assert wait_until(lambda: _caught_up(server, before), 60, interval=0.3), (i, _served(server))
        _write_manifest(tmp_path, step)
        code, result, err = run_json("sync", manifest, "--prune")
        assert code == 0, err
        assert result["sent_files"] or result["deleted"]
        time.sleep(pauses[i % len(pauses)])

    time.sleep(1.2)
    assert wait_until(lambda: _caught_up(server, STEPS[-1]), 60, interval=0.3), _served(server)
    time.sleep(2.5)  # two more polls: nothing flips afterwards
    assert _caught_up(server, STEPS[-1])
    log = server.log_text()
    assert not _failures(log), "\n".join(_failures(log))


# -- a served version changed in two files, the sync killed at every step -----------------------

PAIR_PY = textwrap.dedent("""\
    import json
    import os

    import numpy as np
    import triton_python_backend_utils as pb_utils

    TAG = {tag}


    class TritonPythonModel:
        def initialize(self, args):
            folder = os.path.join(args["model_repository"], args["model_version"])
            with open(os.path.join(folder, "table.json")) as handle:
                self.table = json.load(handle)["tag"]

        def execute(self, requests):
            value = float(TAG) if self.table == TAG else -1.0  # -1: model.py and table.json disagree
            out = []
            for request in requests:
                x = pb_utils.get_input_tensor_by_name(request, "X").as_numpy()
                y = pb_utils.Tensor("Y", np.full(x.shape, value, dtype=np.float32))
                out.append(pb_utils.InferenceResponse(output_tensors=[y]))
            return out
    """)


def _pair_version(folder, tag: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "model.py").write_text(PAIR_PY.format(tag=tag))
    (folder / "table.json").write_text(json.dumps({"tag": tag}) + "\n")


def _pair_value(server):
    """The value version 1 of `pair` answers now, or None when it does not answer."""
    try:
        status, body = server.post("/v2/models/pair/versions/1/infer", {
            "inputs": [{"name": "X", "shape": [1], "datatype": "FP32", "data": [0.0]}]}, timeout=5)
    except OSError:
        return None
    return body["outputs"][0]["data"][0] if status == 200 else None


def _settled(server) -> bool:
    """Triton has finished loading: nothing LOADING, and no load started over two more polls. (The
    Python backend writes `__pycache__/` into the version folder it loads, which Triton takes for a
    change: every load is followed by a second one.) Triton's rule, which no writer can get
    around: nothing in a model's folder may change while that model is loading."""
    def idle():
        status, index = server.post("/v2/repository/index", {})
        return status == 200 and not any(m.get("state") in ("LOADING", "UNLOADING") for m in index)

    def loads():
        return server.log_text().count('"loading: pair:')

    while True:
        if not wait_until(idle, 60):
            return False
        before = loads()
        time.sleep(2.5)
        if loads() == before and idle():
            return True


def _kill_points(trace: str) -> list:
    """Where to kill a sync that changes `pair/1` in place, from the operations a full run made
    (the wrapper's HARDENING-OP lines: number, path under the project folder). The folder is
    assembled under a staging name, then swapped in whole; so: the first operation (nothing
    done), the last write of a staged file and the one after it (the two sides of the swap), the
    first operation back in the repository after the staging (the state written), and the last
    operation (the lock's release: the next sync finds a stale lock). With
    TRITON_KILLS_EVERY_OTHER=1 (scripts/soak.sh): every other operation of the run."""
    ops = [line.split(" ", 2)[1:] for line in trace.splitlines() if line.startswith("HARDENING-OP ")]
    ops = [(int(n), path) for n, path in ops]
    count = int(trace.rsplit("HARDENING-OPS ", 1)[1].split()[0])
    assert len(ops) == count, trace
    if os.environ.get("TRITON_KILLS_EVERY_OTHER") == "1":
        return list(range(1, count + 1, 2))
    staged = [n for n, path in ops if not path.startswith("repo")]
    tmp_files = [n for n, path in ops if n in staged and TMP_MARK in path.rsplit("/", 1)[-1]]
    assert staged and tmp_files, trace  # a changed version folder is assembled aside, file by file
    back = min(n for n, path in ops if path.startswith("repo") and n > max(tmp_files))
    return sorted({1, max(tmp_files), max(tmp_files) + 1, back, count})


@needs_triton
def test_a_polling_triton_never_serves_a_version_half_changed_even_when_the_sync_is_killed(tmp_path,
                                                                                          triton_server):
    """`pair/1` holds model.py and the table.json it reads at load; every sync changes both. The
    sync runs in a subprocess that SIGKILLs itself at its N-th file-system operation under the
    project folder (the hardening wrapper), for the N that start each stage of a full run (see
    _kill_points: both sides of the folder swap, a stale lock; TRITON_KILLS_EVERY_OTHER=1, as in
    scripts/soak.sh, kills at every other N instead); after each kill Triton polls the folder as
    the kill left it, then a full sync finishes the change. A reader infers all along: it must
    never get the answer of a mixed pair. Each sync starts once Triton has finished loading
    (see _settled), as Triton requires of any change to a model's folder."""
    from tests.hardening.test_sync_crash_local import _WRAPPER

    project = tmp_path / "project"
    project.mkdir()
    data = {"version": 1, "targets": {"local": {"url": "repo"}},
            "models": {"pair": {"backend": "python", "max_batch_size": 0,
                                "input": [{"name": "X", "data_type": "FP32", "dims": [1]}],
                                "output": [{"name": "Y", "data_type": "FP32", "dims": [1]}],
                                "instance_group": [{"kind": "KIND_CPU", "count": 1}],
                                "versions": {1: {"source": "src/1"}}}}}
    manifest = project / "models.yaml"
    manifest.write_text(yaml.safe_dump(data, sort_keys=False))
    env = dict(os.environ, PYTHONPATH=str(REPO), XDG_CACHE_HOME=str(tmp_path / "cache"),
               HARDENING_KILL_UNDER=str(project))

    def sync(kill_at: int = 0):
        proc = subprocess.run([sys.executable, "-c", _WRAPPER, "sync", str(manifest)], cwd=project,
                              env=dict(env, HARDENING_KILL_AT=str(kill_at)), capture_output=True, text=True,
                              timeout=300)
        return proc.returncode, proc.stderr

    _pair_version(project / "src" / "1", 1)
    assert sync()[0] == 0
    server = triton_server(project / "repo", "--model-control-mode=poll", "--repository-poll-secs=1", timeout=120)
    assert wait_until(lambda: _pair_value(server) == 1.0, 60) and _settled(server)

    answers, stop = [], threading.Event()

    def read():
        while not stop.is_set():
            answers.append(_pair_value(server))
            time.sleep(0.05)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        _pair_version(project / "src" / "1", 2)
        code, err = sync()
        assert code == 0, err
        points = _kill_points(err)
        assert wait_until(lambda: _pair_value(server) == 2.0, 60) and _settled(server)
        tag, killed, after_kill = 2, 0, set()
        for n in points:
            tag += 1
            _pair_version(project / "src" / "1", tag)
            code, err = sync(kill_at=n)
            killed += code == -signal.SIGKILL
            assert code in (0, -signal.SIGKILL), err
            time.sleep(2.2)  # two polls of the folder exactly as the kill left it
            value = _pair_value(server)
            assert value in (float(tag - 1), float(tag)), (n, value)
            after_kill.add("old" if value == float(tag - 1) else "new")
            code, err = sync()
            assert code == 0, err
            assert wait_until(lambda: _pair_value(server) == float(tag), 60), (n, _pair_value(server))
            assert _settled(server)
    finally:
        stop.set()
        reader.join()
    assert killed >= len(points) - 1, f"only {killed} of {len(points)} runs were killed mid-way"
    assert after_kill == {"old", "new"}  # kills before the swap left the old pair, after it the new one
    assert -1.0 not in answers, f"a mixed pair was served ({answers.count(-1.0)} answers)"
    assert set(answers) - {None} <= {float(t) for t in range(1, tag + 1)}
    assert answers.count(None) == 0, "version 1 stopped answering while it changed"
    log = server.log_text()
    assert not _failures(log), "\n".join(_failures(log))
    assert sorted(os.listdir(project / "repo" / "pair")) == ["1", "config.pbtxt"]
    assert [n for n in os.listdir(project) if n.startswith(".")] == []  # no staging left behind


@needs_triton
def test_on_s3_a_served_version_is_pinned_out_while_its_two_files_change_even_when_the_sync_is_killed(
        tmp_path, triton_server, s3_emulator):
    """The same pair on S3, where the files arrive one PUT at a time. The sync pins `pair`'s config
    to no version (the changing one is the only one served); Triton's reload then fails and the
    loaded pair stays served. Killed right after the first file of the pair arrived, the target
    holds one new file and one old, under the pin: Triton must keep answering with the old pair
    until the next sync writes the other file and the config."""
    from tests.hardening.faultproxy import FaultProxy

    bucket = s3_emulator.make_bucket()
    proxy = FaultProxy(s3_emulator.endpoint).start()
    try:
        project = tmp_path / "project"
        spec = {"url": f"s3://{bucket}/models",
                "storage_options": {**s3_emulator.storage_options(),
                                    "client_kwargs": {"endpoint_url": proxy.endpoint, "region_name": "us-east-1"}}}
        data = {"version": 1, "targets": {"t": spec},
                "models": {"pair": {"backend": "python", "max_batch_size": 0,
                                    "input": [{"name": "X", "data_type": "FP32", "dims": [1]}],
                                    "output": [{"name": "Y", "data_type": "FP32", "dims": [1]}],
                                    "instance_group": [{"kind": "KIND_CPU", "count": 1}],
                                    "versions": {1: {"source": "src/1"}}}}}
        project.mkdir()
        manifest = project / "models.yaml"
        manifest.write_text(yaml.safe_dump(data, sort_keys=False))
        # the fault proxy stands between the sync and moto: the storage policy must allow it,
        # as a workflow's TRITON_GITOPS_ALLOWED_ENDPOINTS would (docs/security.md)
        allowed = f"{os.environ.get('TRITON_GITOPS_ALLOWED_ENDPOINTS', '')} {proxy.endpoint}".strip()
        env = dict(os.environ, PYTHONPATH=str(REPO), XDG_CACHE_HOME=str(tmp_path / "cache"),
                   TRITON_GITOPS_ALLOWED_ENDPOINTS=allowed)

        def sync():
            return subprocess.Popen([sys.executable, "-m", "compiler", "sync", str(manifest), "--target", "t"],
                                    cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

        _pair_version(project / "src" / "1", 1)
        proc = sync()
        assert proc.wait(timeout=300) == 0, proc.communicate()
        server = triton_server(s3_emulator.triton_url(f"{bucket}/models"), "--model-control-mode=poll",
                               "--repository-poll-secs=1", env=s3_emulator.env(), timeout=120)
        assert wait_until(lambda: _pair_value(server) == 1.0, 60) and _settled(server)

        answers, stop = [], threading.Event()

        def read():
            while not stop.is_set():
                answers.append(_pair_value(server))
                time.sleep(0.05)

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        try:
            _pair_version(project / "src" / "1", 2)
            proc = sync()
            proxy.kill_after_match = (lambda method, path: method == "PUT" and "/pair/1/" in path, proc.pid)
            proc.communicate(timeout=300)
            assert proc.returncode == -signal.SIGKILL
            fs = s3_emulator.fs()
            fs.invalidate_cache()
            config = fs.cat_file(f"{bucket}/models/pair/config.pbtxt").decode()
            assert "specific" in config  # the pin, left by the kill
            assert len({fs.cat_file(f"{bucket}/models/pair/1/{n}") for n in ("model.py", "table.json")} &
                       {(project / "src" / "1" / n).read_bytes() for n in ("model.py", "table.json")}) == 1
            time.sleep(4)  # several polls of the half-changed, pinned version
            assert _pair_value(server) == 1.0
            proxy.reset(rate=0.0)
            proc = sync()
            out, err = proc.communicate(timeout=300)
            assert proc.returncode == 0, out + err
            assert wait_until(lambda: _pair_value(server) == 2.0, 60), _pair_value(server)
            # the reader's own look at the new pair: stopping it the moment this thread saw 2.0
            # could leave its list without one (a race of the test, seen once in a full run)
            assert wait_until(lambda: 2.0 in answers, 10), answers[-5:]
        finally:
            stop.set()
            reader.join()
        assert -1.0 not in answers, f"a mixed pair was served ({answers.count(-1.0)} answers)"
        assert set(answers) - {None} <= {1.0, 2.0} and answers.count(None) == 0
        assert answers.index(2.0) > answers.index(1.0) and 1.0 not in answers[answers.index(2.0):]
    finally:
        proxy.stop()
