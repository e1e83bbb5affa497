"""What the sync hardening tests share: two versions of a project, a target seen from outside
the tool, and the check that what a polling Triton may see is loadable.

`Project(folder, variant, target_spec)` is the example manifest and its models; variant
"v2" changes it the ways a sync has to handle at once: a new two-file version folder
(preprocess/2), a file updated in place (text_classifier/labels.txt) and a version removed
(text_classifier/1, deleted with --prune).
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from tests.helpers import REPO

CONTROL = (".triton-gitops-state.json", ".triton-gitops-lock.json")
TMP_MARK = ".triton-gitops-tmp-"


def _weights(size: int = 200_000) -> bytes:
    """Deterministic bytes, big enough to be sent in more than one piece by some stores."""
    out, block = bytearray(), b"seed"
    while len(out) < size:
        block = hashlib.sha256(block).digest()
        out += block
    return bytes(out[:size])


class Project:
    def __init__(self, folder: Path, variant: str, target_spec: dict):
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        shutil.copytree(REPO / "examples", self.folder / "examples", ignore=shutil.ignore_patterns("__pycache__"),
                        dirs_exist_ok=True)
        data = yaml.safe_load((REPO / "models.yaml").read_text())
        if variant == "v2":
            two = self.folder / "examples" / "preprocess" / "2"
            two.mkdir(exist_ok=True)
            shutil.copy(self.folder / "examples" / "preprocess" / "1" / "model.py", two / "model.py")
            (two / "weights.bin").write_bytes(_weights())
            data["models"]["preprocess"]["versions"][2] = {"source": "examples/preprocess/2"}
            (self.folder / "examples" / "text_classifier" / "labels.txt").write_text("neg\nneutral\npos\n")
            del data["models"]["text_classifier"]["versions"][1]
        data["targets"] = {"t": target_spec}
        self.manifest = self.folder / "models.yaml"
        self.manifest.write_text(yaml.safe_dump(data, sort_keys=False))

    def expected(self) -> dict:
        """{path: bytes} the target must hold after a sync of this project."""
        from compiler.artifacts.settings import Settings
        from compiler.pipeline import load_and_build

        loaded, tree = load_and_build(self.manifest, Settings.for_run())  # the storage policy of this environment
        assert tree is not None, [p.message for p in loaded.problems]
        return {e.path: e.data if e.data is not None else Path(e.source).read_bytes() for e in tree.entries}

    def sync(self, *args, env: dict, **popen) -> subprocess.Popen:
        """`triton-gitops sync` of this project as a process of its own."""
        full = dict(os.environ, **env, PYTHONPATH=str(REPO))
        return subprocess.Popen([sys.executable, "-m", "compiler", "sync", str(self.manifest), "--target", "t",
                                 *map(str, args)], cwd=self.folder, env=full, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, **popen)


def repository(found: dict) -> dict:
    """The repository part of a listing: without the tool's control and temporary files, and
    without the __pycache__/ folders Triton's python backend writes (sync leaves them alone)."""
    return {path: data for path, data in found.items()
            if path not in CONTROL and TMP_MARK not in path.rsplit("/", 1)[-1] and "__pycache__" not in path.split("/")}


def served(config: bytes, versions: set) -> set:
    """The version folders among `versions` that a config's version_policy makes Triton load."""
    from google.protobuf import text_format

    from compiler.proto import ModelConfig

    parsed = text_format.Parse(config.decode("utf-8"), ModelConfig())
    policy = parsed.version_policy.WhichOneof("policy_choice")
    numbers = sorted(versions, key=int)
    if policy == "all":
        return set(numbers)
    if policy == "specific":
        return {v for v in numbers if int(v) in set(parsed.version_policy.specific.versions)}
    count = parsed.version_policy.latest.num_versions if policy == "latest" else 1
    return set(numbers[-count:]) if numbers else set()


def pinned_from(config: bytes, expected: bytes, versions: set) -> bool:
    """Is `config` the `expected` config with its version_policy pinned (the sync's step 0 on
    object stores) to a `specific` list of version folders all present in `versions`?"""
    from google.protobuf import text_format

    from compiler.proto import ModelConfig

    try:
        pinned = text_format.Parse(config.decode("utf-8"), ModelConfig())
    except Exception:  # noqa: BLE001 - not a config at all: not a pin either
        return False
    if pinned.version_policy.WhichOneof("policy_choice") != "specific":
        return False
    if not {str(v) for v in pinned.version_policy.specific.versions} <= versions:
        return False  # a pin names only version folders that are there (and complete: checked below)
    original = text_format.Parse(expected.decode("utf-8"), ModelConfig())
    original.version_policy.Clear()
    original.version_policy.specific.SetInParent()
    original.version_policy.specific.versions.extend(pinned.version_policy.specific.versions)
    return original == pinned


def _config_paths(model: str, paths) -> list:
    """The configs a server may load for `model` among `paths`: config.pbtxt, and each variant
    configs/<name>.pbtxt (`tritonserver --model-config-name=<name>` loads that one instead)."""
    return sorted(p for p in paths if p == f"{model}/config.pbtxt"
                  or (p.startswith(f"{model}/configs/") and p.endswith(".pbtxt") and p.count("/") == 2))


def loadable_problems(found: dict, expectations: list) -> list:
    """What would stop a polling Triton from loading a model as it stands in `found`.

    Every model folder with a config.pbtxt must hold, byte for byte, one of the expected
    versions of that model (its configs, labels, warmup files and version folders), and
    every version folder that any config a server may load (config.pbtxt or a variant
    configs/<name>.pbtxt) serves among those present must be complete as in some
    expectation (Triton loads what the policy names, complete or not).

    The one other legal config is a pin: an expected config whose version_policy the sync
    replaced by `specific` listing version folders that are present and complete, while it
    uploads a new version folder; the model's other files are then checked against that
    expectation as for an unpinned config (files of a version folder it has not got, such as
    the new one being uploaded, are not looked at there: the pin keeps Triton off them)."""
    problems = []
    models = sorted({path.split("/", 1)[0] for path in found if "/" in path})
    for model in models:
        config = found.get(f"{model}/config.pbtxt")
        if config is None:
            if any(f"{model}/config.pbtxt" in e for e in expectations):
                continue  # not there yet (or already gone): Triton sees no model, which is not a broken one
            problems.append(f"{model}: a folder no expectation has")
            continue
        versions = {p.split("/")[1] for p in found if p.startswith(model + "/") and p.split("/")[1].isdigit()}
        configs = _config_paths(model, found)
        # Each config on its own (one server loads one of them): an expected one, or its pin.
        bad = [path for path in configs
               if not any(e.get(path) == found[path] or (path in e and pinned_from(found[path], e[path], versions))
                          for e in expectations)]
        problems += [f"{path} matches no expected version" for path in bad]
        if f"{model}/config.pbtxt" in bad:
            continue
        matches = [e for e in expectations if e.get(f"{model}/config.pbtxt") == config]
        pinned = not matches
        if pinned:
            matches = [e for e in expectations if f"{model}/config.pbtxt" in e
                       and pinned_from(config, e[f"{model}/config.pbtxt"], versions)]
        variants = set(_config_paths(model, set(found) | {p for e in expectations for p in e})) - {f"{model}/config.pbtxt"}
        complete = False
        for e in matches:
            # the model's own files as config.pbtxt's expectation has them (variants were checked above)
            mine = {p: d for p, d in e.items() if p.startswith(model + "/") and p not in variants
                    and not (pinned and p == f"{model}/config.pbtxt")}
            if all(found.get(p) == d for p, d in mine.items()):
                complete = True
                break
        if not complete:
            missing = sorted(p for p, d in mine.items() if found.get(p) != d)
            problems.append(f"{model}: its config is there but not all of its files: {missing[:5]}")
        loaded = set()
        for path in configs:
            loaded |= served(found[path], versions)
        for version in sorted(loaded, key=int):
            prefix = f"{model}/{version}/"
            present = {p: d for p, d in found.items() if p.startswith(prefix)}
            if not any(present == {p: d for p, d in e.items() if p.startswith(prefix)} for e in expectations):
                problems.append(f"{prefix}: a version folder Triton would load is incomplete or mixed: "
                                f"{sorted(present)[:5]}")
    return problems
