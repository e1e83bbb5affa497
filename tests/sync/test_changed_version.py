"""A version Triton already serves, changed in two files that must match: never visible half changed.

`text_classifier/2` gets a second file, `table.json`, that its model.py must agree with; then
both change at once. The sync's every step is watched from outside the tool:

* on a local folder, after each rename, replace or swap the sync makes, the version folder at
  its final path must hold the old pair or the new pair, never one of each, and nothing but
  version folders, the config, its variants (configs/) and the model's own files may show up
  in the model folder (Triton reloads every served version when any other entry there changes);
* on S3, after each PUT, if any config a server may load (config.pbtxt, or a variant
  configs/<name>.pbtxt under --model-config-name) serves version 2, it must find the old pair
  or the new one; every one of them is pinned out before the pair changes and served after.

tests/sync/test_triton.py runs the same change under a polling tritonserver, killed mid-way.
"""
from __future__ import annotations

import os
import threading

import pytest

from tests.hardening.syncsite import served
from tests.sync.test_pinning import _watch_puts

VERSION = "text_classifier/2/"
CONFIG = "text_classifier/config.pbtxt"


def _pair(project, tag: str) -> None:
    folder = project.folder / "examples" / "text_classifier" / "2"
    model = (folder / "model.py").read_text().split("\n# pair:")[0]
    (folder / "model.py").write_text(f"{model}\n# pair: {tag}\n")
    (folder / "table.json").write_text(f'{{"pair": "{tag}"}}\n')


def _version_files(files: dict) -> dict:
    return {p: d for p, d in files.items() if p.startswith(VERSION)}


@pytest.mark.emulators
def test_a_served_version_changed_in_two_files_is_never_seen_half_changed(project, backend, monkeypatch):
    if backend.name in ("gcs", "azure"):
        pytest.skip("object stores share one code path (pinning.py); S3 stands for them here")
    _pair(project, "old")
    assert project.cli("sync")[0] == 0
    before = _version_files(project.expected())
    assert len(before) == 2
    _pair(project, "new")
    after = _version_files(project.expected())
    # every config a server may load: config.pbtxt and each variant (configs/<name>.pbtxt)
    configs = sorted(p for p in project.expected() if p == CONFIG or
                     (p.startswith("text_classifier/configs/") and p.endswith(".pbtxt")))
    assert len(configs) >= 2, configs  # the example's text_classifier has a variant: it must be watched
    seen = []

    if backend.name == "local":
        root = backend.root

        def look(what):
            folder = os.path.join(root, "text_classifier", "2")
            present = {}
            for name in os.listdir(folder):
                with open(os.path.join(folder, name), "rb") as handle:
                    present[VERSION + name] = handle.read()
            assert present in (before, after), f"after {what}: {sorted(present)} mixes old and new"
            model_folder = sorted(os.listdir(os.path.join(root, "text_classifier")))
            assert all(n.isdigit() or n in ("config.pbtxt", "configs", "labels.txt", "warmup") for n in model_folder), \
                f"after {what}: {model_folder}"
            seen.append((what, "new" if present == after else "old"))

        _watch_local(monkeypatch, look)
    else:
        def look(path):
            files = backend.files()
            folders = {p.split("/")[1] for p in files if p.startswith("text_classifier/") and p.split("/")[1].isdigit()}
            serving = sorted(p for p in configs if "2" in served(files[p], folders))
            if serving:
                assert _version_files(files) in (before, after), \
                    f"after writing {path}: version 2 served half changed by {serving}"
            seen.append((path.rsplit("/models/", 1)[-1], "served" if serving else "out"))

        _watch_puts(monkeypatch, look)

    code, out, err = project.cli("sync")
    assert code == 0, err
    assert backend.files() == project.expected()
    if backend.name == "local":
        assert [state for _, state in seen][-1] == "new" and "old" in [state for _, state in seen]
        assert any(what == "swap" for what, _ in seen)
    else:
        # every config pinned out (none serving 2) before the first of its files, and each written
        # back (served again) only after the last
        seen = [(path, state) for path, state in seen if path.startswith("text_classifier/")]  # not our control files
        writes = [path for path, _ in seen]
        first = min(writes.index(VERSION + "model.py"), writes.index(VERSION + "table.json"))
        last = max(writes.index(VERSION + "model.py"), writes.index(VERSION + "table.json"))
        for config in configs:
            assert writes[:first].count(config) == 1, (config, seen)  # its pin, once
            assert writes[last + 1:].count(config) == 1, (config, seen)  # written back, once
        pinned = max(writes.index(config) for config in configs)  # the last pin: now no config serves 2
        assert all(state == "out" for _, state in seen[pinned:last + 1]), seen
        assert sorted(writes[last + 1:]) == configs and seen[-1][1] == "served", seen
        assert "served versions pinned to [3]" in err
    code, result, _ = project.json("sync")
    assert code == 0 and result["in_sync"] and result["sent_files"] == 0  # the swap left the state exact


def _watch_local(monkeypatch, look):
    """Call look() after every rename, replace and swap the local writer makes (serialized)."""
    import compiler.sync.local as local

    lock = threading.Lock()

    class Spy:
        def __getattr__(self, name):
            return getattr(os, name)

        def replace(self, *args, **kwargs):
            with lock:
                os.replace(*args, **kwargs)
                look("replace " + os.path.basename(args[1]))

        def rename(self, *args, **kwargs):
            with lock:
                os.rename(*args, **kwargs)
                look("rename " + os.path.basename(args[1]))

    real_exchange = local._exchange

    def exchange(a, b):
        with lock:
            done = real_exchange(a, b)
            if done:
                look("swap")
            return done

    monkeypatch.setattr(local, "os", Spy())
    monkeypatch.setattr(local, "_exchange", exchange)


def test_where_the_file_system_cannot_swap_the_old_folder_goes_and_the_new_comes_right_after(project, backend,
                                                                                            monkeypatch):
    if backend.name != "local":
        pytest.skip("a local folder only")
    import compiler.sync.local as local

    _pair(project, "old")
    assert project.cli("sync")[0] == 0
    _pair(project, "new")
    monkeypatch.setattr(local, "_exchange", lambda a, b: False)
    code, out, err = project.cli("sync")
    assert code == 0, err
    assert backend.files() == project.expected()
    leftovers = [n for n in os.listdir(os.path.dirname(backend.root)) if n.startswith(".")]
    assert leftovers == []
