"""Version 0: Triton loads a version folder `0` (tests/judge: version_folder_zero), so a manifest
may declare it; `01`, `-1` and names that are not numbers stay refused. Compiled and served by a
real tritonserver, with the default policy, with `specific: [0]`, and with the pin sync writes
(compiler.sync.pinning) while a new version uploads next to version 0; synced, added to and pruned
like any version."""
from __future__ import annotations

import textwrap

import numpy as np
import pytest
import tritonclient.http as httpclient

from compiler.artifacts.settings import Settings
from compiler.manifest.validate import schema_problems
from compiler.pipeline import load_and_build
from compiler.rollout.served import expected_versions
from compiler.sync.pinning import pinned_config
from tests.helpers import run_cli, run_json
from tests.support.triton import TritonServer, tritonserver_binary

# Answers OUT = IN + the version it was loaded as, so a response names the version that served it.
MODEL_PY = textwrap.dedent('''\
    import numpy as np
    import triton_python_backend_utils as pb_utils


    class TritonPythonModel:
        def initialize(self, args):
            self.version = float(args["model_version"])

        def execute(self, requests):
            out = []
            for request in requests:
                x = pb_utils.get_input_tensor_by_name(request, "IN").as_numpy()
                out.append(pb_utils.InferenceResponse([pb_utils.Tensor("OUT", (x + self.version).astype(np.float32))]))
            return out
    ''')

ENTRY = """\
    backend: python
    max_batch_size: 0
    input: [{name: IN, data_type: FP32, dims: [1]}]
    output: [{name: OUT, data_type: FP32, dims: [1]}]
"""


def _manifest(tmp_path):
    for v in ("0", "1"):
        (tmp_path / "src" / v).mkdir(parents=True)
        (tmp_path / "src" / v / "model.py").write_text(MODEL_PY)
    text = "version: 1\nmodels:\n"
    text += "  zero:\n" + textwrap.indent(textwrap.dedent(ENTRY), "    ") + "    versions:\n      0: {source: src/0}\n"
    text += ("  pinned:\n" + textwrap.indent(textwrap.dedent(ENTRY), "    ")
             + "    version_policy: {specific: [0]}\n    versions:\n      0: {source: src/0}\n      1: {source: src/1}\n")
    manifest = tmp_path / "models.yaml"
    manifest.write_text(text)
    return manifest


@pytest.mark.parametrize("key,ok", [("0", True), ("1", True), ("10", True), ("01", False), ("00", False),
                                    ("-1", False), ("x", False), ("1.0", False)])
def test_the_schema_takes_version_0_and_refuses_leading_zeros_signs_and_words(key, ok):
    data = {"version": 1, "models": {"m": {"backend": "python", "versions": {key: {"source": "m"}}}}}
    rules = [p.rule for p in schema_problems(data)]
    assert ("version-number" not in rules) is ok, rules


def test_a_manifest_with_version_0_validates_and_compiles_folder_0(tmp_path):
    manifest = _manifest(tmp_path)
    loaded, tree = load_and_build(manifest, Settings())
    assert loaded.ok, [p.message for p in loaded.problems]
    code, _, err = run_cli("compile", manifest, "--out", tmp_path / "repo")
    assert code == 0, err
    assert (tmp_path / "repo" / "zero" / "0" / "model.py").read_text() == MODEL_PY
    assert "specific" in (tmp_path / "repo" / "pinned" / "config.pbtxt").read_text()


def test_a_version_0_without_its_model_file_is_a_validate_error(tmp_path):
    manifest = _manifest(tmp_path)
    (tmp_path / "src" / "0" / "model.py").unlink()
    (tmp_path / "src" / "0" / "notes.txt").write_text("no model here\n")
    loaded, _ = load_and_build(manifest, Settings())
    assert "python-model-file" in {p.rule for p in loaded.problems if p.is_error}


@pytest.mark.triton
def test_version_0_compiles_and_serves_with_the_default_policy_a_specific_list_and_a_sync_pin(tmp_path):
    if tritonserver_binary() is None:
        pytest.skip("tritonserver not installed; run scripts/bootstrap.sh")
    manifest = _manifest(tmp_path)
    repo = tmp_path / "repo"
    assert run_cli("compile", manifest, "--out", repo)[0] == 0
    # The pin sync writes while version 2 uploads next to complete 0 and 1 under `specific: [0]`.
    deployed = (repo / "pinned" / "config.pbtxt").read_bytes()
    pin = pinned_config(deployed.replace(b"versions: 0", b"versions: 0\n    versions: 2"), {"0": True, "1": True},
                        {"2"})
    assert pin is not None and pin[1] == [0]
    (repo / "pin").mkdir()
    (repo / "pin" / "config.pbtxt").write_bytes(pin[0].replace(b'name: "pinned"', b'name: "pin"'))
    for v in ("0", "1"):
        (repo / "pin" / v).mkdir()
        (repo / "pin" / v / "model.py").write_text(MODEL_PY)
    with TritonServer(repo, log_path=tmp_path / "triton.log") as server:
        status, index = server.post("/v2/repository/index", {})
        assert status == 200
        assert sorted((m["name"], m["version"], m["state"]) for m in index if m.get("version")) == [
            ("pin", "0", "READY"), ("pinned", "0", "READY"), ("zero", "0", "READY")], index
        # rollout's idea of what each manifest model serves is what the server serves
        loaded, _ = load_and_build(manifest, Settings())
        for name, model in loaded.manifest.models.items():
            assert expected_versions(model) == {int(m["version"]) for m in index if m["name"] == name} == {0}
        client = httpclient.InferenceServerClient(url=server.http_url)
        for name in ("zero", "pinned", "pin"):
            tensor = httpclient.InferInput("IN", [1], "FP32")
            tensor.set_data_from_numpy(np.array([5.0], dtype=np.float32))
            result = client.infer(name, [tensor], model_version="0")
            assert result.as_numpy("OUT").tolist() == [5.0], name  # served by version 0


def test_sync_writes_adds_beside_and_prunes_version_0_like_any_version(tmp_path):
    manifest = _manifest(tmp_path)
    target = tmp_path / "target"
    code, _, err = run_cli("sync", manifest, "--target", target)
    assert code == 0, err
    assert (target / "zero" / "0" / "model.py").read_text() == MODEL_PY
    text = manifest.read_text()
    manifest.write_text(text.replace("      0: {source: src/0}\n  pinned", "      0: {source: src/0}\n"
                                                                         "      1: {source: src/1}\n  pinned"))
    assert run_cli("sync", manifest, "--target", target, "--prune")[0] == 0
    assert sorted(p.name for p in (target / "zero").iterdir() if p.is_dir()) == ["0", "1"]
    manifest.write_text(text.replace("    versions:\n      0: {source: src/0}\n  pinned",
                                     "    versions:\n      1: {source: src/1}\n  pinned"))
    code, _, err = run_cli("sync", manifest, "--target", target, "--prune")
    assert code == 0, err
    assert sorted(p.name for p in (target / "zero").iterdir() if p.is_dir()) == ["1"]
    code, result, _ = run_json("sync", manifest, "--target", target)
    assert code == 0 and result["in_sync"]
