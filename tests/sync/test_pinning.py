"""A new version folder on an object store: Triton must never be served it half uploaded.

The files of `preprocess/2` reach an object store one PUT at a time, so the sync first pins
the deployed config to the versions that are complete (compiler/sync/pinning.py) and writes
the wanted config last. Here every PUT the tool makes is serialized and followed by a look at
the target from outside: at each of those points, every version the config then present would
serve must hold all of its files.
"""
from __future__ import annotations

import shutil
import threading

import pytest
from google.protobuf import text_format

from compiler.proto import ModelConfig
from compiler.sync.pinning import pinned_config
from tests.hardening.syncsite import served

CONFIG = "preprocess/config.pbtxt"


def _add_version_two(project):
    two = project.folder / "examples" / "preprocess" / "2"
    two.mkdir()
    shutil.copy(project.folder / "examples" / "preprocess" / "1" / "model.py", two / "model.py")
    (two / "weights.bin").write_bytes(b"w" * 50_000)
    project.models["preprocess"]["versions"][2] = {"source": "examples/preprocess/2"}
    project.save()


def _watch_puts(monkeypatch, look):
    """Serialize the tool's pipe_file calls on its target (one request each: files this small are
    sent whole); `look(path)` right after each one."""
    import compiler.sync.engine as engine

    resolve, lock = engine.resolve_target, threading.Lock()

    def resolve_target(*args, **kwargs):
        target = resolve(*args, **kwargs)
        original = target.fs.pipe_file

        def pipe_file(path, *a, **kw):
            with lock:
                result = original(path, *a, **kw)
                look(path)
                return result

        monkeypatch.setattr(target.fs, "pipe_file", pipe_file)  # the instance's own sync wrapper
        return target

    monkeypatch.setattr(engine, "resolve_target", resolve_target)


def _policy(config: bytes):
    return text_format.Parse(config.decode(), ModelConfig()).version_policy


@pytest.mark.emulators
@pytest.mark.parametrize("policy", [None, "all"], ids=["latest-1", "all"])
def test_no_config_ever_serves_a_half_uploaded_version(project, backend, monkeypatch, policy):
    if backend.name == "local":
        pytest.skip("local targets rename a new version folder into place whole (tests/sync/test_local.py)")
    if policy:
        project.models["preprocess"]["version_policy"] = policy
        project.save()
    assert project.cli("sync")[0] == 0
    before = project.expected()
    _add_version_two(project)
    after = project.expected()
    seen = []  # (path written, policy kind of the config then present, versions it serves)

    def look(path):
        files = backend.files()
        config = files.get(CONFIG)
        if config is None:
            return
        folders = {p.split("/")[1] for p in files if p.startswith("preprocess/") and p.split("/")[1].isdigit()}
        serving = served(config, folders)
        for version in serving:
            prefix = f"preprocess/{version}/"
            present = {p: d for p, d in files.items() if p.startswith(prefix)}
            wanted = [{p: d for p, d in e.items() if p.startswith(prefix)} for e in (before, after)]
            assert present in wanted, f"after writing {path}: {CONFIG} serves {prefix}, which holds {sorted(present)}"
        seen.append((path.rsplit("/models/", 1)[-1], _policy(config).WhichOneof("policy_choice"), sorted(serving)))

    _watch_puts(monkeypatch, look)
    code, out, err = project.cli("sync")
    assert code == 0, err
    assert backend.files() == after

    writes = [path for path, _, _ in seen]
    pin = writes.index(CONFIG)  # the pin: the first write of the config
    assert seen[pin][1] == "specific" and seen[pin][2] == ["1"], seen[pin]
    assert "preprocess/2/weights.bin" in writes[pin:] and "preprocess/2/model.py" in writes[pin:]
    final = len(writes) - 1 - writes[::-1].index(CONFIG)
    assert final > writes.index("preprocess/2/weights.bin") and final > writes.index("preprocess/2/model.py")
    assert all(kind == "specific" for _, kind, _ in seen[pin:final]), seen
    assert seen[final][2] == (["1", "2"] if policy == "all" else ["2"])
    assert backend.read(CONFIG) == after[CONFIG]  # unchanged by the manifest, written back over the pin
    code, result, _ = project.json("sync")
    assert code == 0 and result["sent_files"] == 0 and result["in_sync"]


def _config(policy: str = "") -> bytes:
    return f'name: "m"\nbackend: "python"\n{policy}'.encode()


def _pinned(data):
    return list(_policy(data[0]).specific.versions) if data else None


def test_a_pin_lists_the_complete_versions_the_deployed_policy_serves():
    both = {"1": True, "2": True}
    assert _pinned(pinned_config(_config(), both, {"3"})) == [2]  # default latest 1
    assert _pinned(pinned_config(_config("version_policy { all { } }"), both, {"3"})) == [1, 2]
    assert _pinned(pinned_config(_config("version_policy { latest { num_versions: 2 } }"),
                                 {"1": True, "2": False}, {"3"})) == [1]  # 2 is missing files: not served
    # the rest of the deployed config is kept as it is
    pinned = text_format.Parse(pinned_config(_config(), both, {"3"})[0].decode(), ModelConfig())
    assert pinned.name == "m" and pinned.backend == "python"


def test_no_pin_when_the_deployed_policy_would_not_serve_the_new_version():
    both = {"1": True, "2": True}
    assert pinned_config(_config("version_policy { specific { versions: [1, 2] } }"), both, {"3"}) is None
    assert pinned_config(_config(), {"5": True}, {"3"}) is None  # latest 1 stays on 5


def test_a_changing_version_is_left_out_and_never_replaced_by_an_older_one():
    both = {"1": True, "2": True}
    assert _pinned(pinned_config(_config("version_policy { all { } }"), both, set(), {"2"})) == [1]
    # latest 1 serves 2: the pin lists none (Triton's reload then fails and 2 stays loaded as it was),
    # rather than 1, which Triton does not serve now
    assert _pinned(pinned_config(_config(), both, set(), {"2"})) == []
    assert pinned_config(_config(), both, set(), {"1"}) is None  # 1 is not served: nothing to pin


def test_a_version_pruned_whole_is_left_out_and_the_pin_moves_to_what_the_sync_will_serve():
    both = {"1": True, "2": True}
    # prune deletes 2 file by file; latest 1 will serve 1 after the sync, so the pin does now
    assert _pinned(pinned_config(_config(), both, set(), {"2"}, {"2"})) == [1]
    assert _pinned(pinned_config(_config("version_policy { all { } }"), both, set(), {"2"}, {"2"})) == [1]
    assert pinned_config(_config(), both, set(), {"1"}, {"1"}) is None  # 1 is not served: nothing to pin


VARIANT = "preprocess/configs/wide.pbtxt"


@pytest.mark.emulators
def test_a_deployed_variant_is_pinned_too(project, backend, monkeypatch):
    """A server started with --model-config-name=wide reads configs/wide.pbtxt, not config.pbtxt:
    it gets the same pin, and is written back (unchanged) after the new version is complete."""
    if backend.name == "local":
        pytest.skip("local targets rename a new version folder into place whole (tests/sync/test_local.py)")
    project.models["preprocess"]["configs"] = {"wide": {"instance_group": [{"kind": "KIND_CPU", "count": 2}]}}
    project.save()
    assert project.cli("sync")[0] == 0
    before = project.expected()
    assert VARIANT in before
    _add_version_two(project)
    after = project.expected()
    seen = []  # (path written, policy kind of the variant then present, versions it serves)

    def look(path):
        files = backend.files()
        config = files.get(VARIANT)
        folders = {p.split("/")[1] for p in files if p.startswith("preprocess/") and p.split("/")[1].isdigit()}
        serving = served(config, folders)
        for version in serving:
            prefix = f"preprocess/{version}/"
            present = {p: d for p, d in files.items() if p.startswith(prefix)}
            wanted = [{p: d for p, d in e.items() if p.startswith(prefix)} for e in (before, after)]
            assert present in wanted, f"after writing {path}: {VARIANT} serves {prefix}, which holds {sorted(present)}"
        seen.append((path.rsplit("/models/", 1)[-1], _policy(config).WhichOneof("policy_choice"), sorted(serving)))

    _watch_puts(monkeypatch, look)
    code, out, err = project.cli("sync")
    assert code == 0, err
    assert backend.files() == after
    writes = [path for path, _, _ in seen]
    pin = writes.index(VARIANT)
    assert seen[pin][1] == "specific" and seen[pin][2] == ["1"], seen[pin]
    assert pin < writes.index("preprocess/2/weights.bin")
    final = len(writes) - 1 - writes[::-1].index(VARIANT)
    assert final > writes.index("preprocess/2/weights.bin") and final > writes.index("preprocess/2/model.py")
    assert seen[final][2] == ["2"]
    assert backend.read(VARIANT) == after[VARIANT]
