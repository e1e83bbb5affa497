"""The example manifest, compiled, served by a real tritonserver (the nvidia-pytriton wheel)."""
import numpy as np
import pytest
import tritonclient.http as httpclient
from google.protobuf import json_format

from compiler.artifacts.settings import Settings
from compiler.pipeline import load_and_build
from compiler.proto import ModelConfig
from tests.commands.test_compile import copy_example
from tests.helpers import run_cli
from tests.support.triton import TritonServer, tritonserver_binary

pytestmark = pytest.mark.triton


def features(text):
    return [len(text), sum(c in "aeiouAEIOU" for c in text), sum(c.isdigit() for c in text), text.count(" ")]


def classify(feats, temperature):
    logits = np.array([feats[0], feats[1], feats[2] + feats[3]], dtype=np.float64) * temperature
    e = np.exp(logits - logits.max())
    return e / e.sum()


def is_subset(ours, theirs, where="config"):
    """Every value we set is what the server reports (the server adds its defaults)."""
    if isinstance(ours, dict):
        assert isinstance(theirs, dict), where
        for key, value in ours.items():
            assert key in theirs, f"{where}.{key} missing on the server"
            is_subset(value, theirs[key], f"{where}.{key}")
    elif isinstance(ours, list):
        assert len(ours) == len(theirs), where
        for i, (a, b) in enumerate(zip(ours, theirs)):
            is_subset(a, b, f"{where}[{i}]")
    else:
        assert ours == theirs, f"{where}: manifest {ours!r} != server {theirs!r}"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    if tritonserver_binary() is None:
        pytest.skip("tritonserver not installed; run scripts/bootstrap.sh")
    tmp_path = tmp_path_factory.mktemp("example")
    manifest = copy_example(tmp_path)
    out = tmp_path / "repo"
    assert run_cli("compile", manifest, "--out", out)[0] == 0
    loaded, _ = load_and_build(manifest, Settings())
    with TritonServer(out, "--log-verbose=1", log_path=tmp_path / "triton.log") as server:
        yield server, loaded.manifest


def test_every_model_ready_with_exactly_the_versions_the_policy_selects(served):
    server, _ = served
    status, index = server.post("/v2/repository/index", {})
    assert status == 200
    assert sorted((m["name"], m["version"], m["state"]) for m in index) == [
        ("classify_text", "1", "READY"), ("preprocess", "1", "READY"),
        ("text_classifier", "2", "READY"), ("text_classifier", "3", "READY")]


def test_server_config_equals_the_manifest_field_by_field(served):
    server, manifest = served
    for name, model in manifest.models.items():
        status, theirs = server.get(f"/v2/models/{name}/config")
        assert status == 200
        # Both sides through the same proto, so int64 and enum spellings agree.
        server_view = json_format.MessageToDict(json_format.ParseDict(theirs, ModelConfig(), ignore_unknown_fields=True),
                                                preserving_proto_field_name=True)
        ours = json_format.MessageToDict(model.config, preserving_proto_field_name=True)
        is_subset(ours, server_view, name)
        assert server_view["max_batch_size"] == ours["max_batch_size"]


def test_inference_through_reshape_and_ensemble_gives_the_right_numbers(served):
    server, _ = served
    client = httpclient.InferenceServerClient(url=server.http_url)
    text = "hello world 42"
    tensor = httpclient.InferInput("TEXT", [1, 1], "BYTES")
    tensor.set_data_from_numpy(np.array([[text.encode()]], dtype=object))
    result = client.infer("classify_text", [tensor]).as_numpy("PROBS")
    np.testing.assert_allclose(result[0], classify(features(text), 0.5), rtol=1e-5)  # latest version: 3

    feats = np.array([[3, 1, 4, 1], [0, 0, 0, 0]], dtype=np.float32)
    direct = httpclient.InferInput("FEATURES", [2, 4], "FP32")
    direct.set_data_from_numpy(feats)
    for version, temperature in (("2", 1.0), ("3", 0.5)):
        probs = client.infer("text_classifier", [direct], model_version=version).as_numpy("PROBS")
        for row, f in zip(probs, feats):
            np.testing.assert_allclose(row, classify(f, temperature), rtol=1e-5)


def test_labels_are_served_with_classification(served):
    server, _ = served
    client = httpclient.InferenceServerClient(url=server.http_url)
    tensor = httpclient.InferInput("FEATURES", [1, 4], "FP32")
    tensor.set_data_from_numpy(np.array([[9, 1, 0, 0]], dtype=np.float32))
    top = client.infer("text_classifier", [tensor], model_version="2",
                       outputs=[httpclient.InferRequestedOutput("PROBS", class_count=1)]).as_numpy("PROBS")
    assert top[0][0].decode().endswith(":0:short")


def test_each_warmup_ran(served):
    server, _ = served
    log = server.log_text()
    assert "model 'preprocess' instance" in log and "running warmup sample 'hello'" in log
    assert "running warmup sample 'ones'" in log
