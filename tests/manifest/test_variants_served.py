"""A config variant served by a real tritonserver started with --model-config-name, and
`status --model-config-name` comparing against it."""
import numpy as np
import pytest
import tritonclient.http as httpclient

from tests.commands.test_compile import copy_example
from tests.helpers import run_cli, run_json
from tests.support.triton import TritonServer, tritonserver_binary

pytestmark = pytest.mark.triton


@pytest.fixture(scope="module")
def compiled(tmp_path_factory):
    if tritonserver_binary() is None:
        pytest.skip("tritonserver not installed; run scripts/bootstrap.sh")
    tmp_path = tmp_path_factory.mktemp("variants")
    manifest = copy_example(tmp_path)
    out = tmp_path / "repo"
    assert run_cli("compile", manifest, "--out", out)[0] == 0
    assert (out / "text_classifier" / "configs" / "cpu-large.pbtxt").is_file()
    return tmp_path, manifest, out


@pytest.fixture(scope="module")
def served(compiled):
    tmp_path, manifest, out = compiled
    with TritonServer(out, model_config_name="cpu-large", log_path=tmp_path / "triton.log") as server:
        yield server, manifest


def test_the_server_loads_the_variant_and_config_pbtxt_where_a_model_has_none(served):
    server, _ = served
    status, config = server.get("/v2/models/text_classifier/config")
    assert status == 200
    assert [(g["kind"], g["count"]) for g in config["instance_group"]] == [("KIND_CPU", 2)]
    assert int(config["dynamic_batching"]["max_queue_delay_microseconds"]) == 500
    assert config["input"][0]["name"] == "FEATURES" and config["max_batch_size"] == 8  # the model's, inherited
    status, config = server.get("/v2/models/preprocess/config")  # no cpu-large: Triton falls back
    assert status == 200 and int(config["dynamic_batching"]["max_queue_delay_microseconds"]) == 100
    assert [(g["kind"], g["count"]) for g in config["instance_group"]] == [("KIND_CPU", 1)]


def test_the_variant_serves_inference_through_the_ensemble(served):
    server, _ = served
    client = httpclient.InferenceServerClient(url=server.http_url)
    tensor = httpclient.InferInput("TEXT", [1, 1], "BYTES")
    tensor.set_data_from_numpy(np.array([["hello world 42"]], dtype=object))
    result = client.infer("classify_text", [tensor]).as_numpy("PROBS")
    assert result.shape == (1, 3) and abs(float(result.sum()) - 1.0) < 1e-5
    client.close()


def test_status_compares_with_the_variant_the_server_runs(served):
    server, manifest = served
    url = f"http://{server.http_url}"
    code, report, _ = run_json("status", manifest, "--triton-url", url, "--model-config-name", "cpu-large")
    assert code == 0 and report["in_sync"], report
    # Compared with config.pbtxt, text_classifier is not what this server runs.
    code, report, _ = run_json("status", manifest, "--triton-url", url)
    assert code == 2
    assert [(d["model"], d["kind"]) for d in report["drift"]] == [("text_classifier", "config")]
    assert any("instance_group" in line for line in report["drift"][0]["details"])


def test_an_unknown_variant_name_is_a_clear_error(served):
    server, manifest = served
    code, out, err = run_cli("status", manifest, "--triton-url", f"http://{server.http_url}",
                             "--model-config-name", "cpu-largee")
    assert code == 1 and out == ""
    assert "no model of the manifest has this config variant" in err and "cpu-large" in err
    assert "Traceback" not in err


def test_rollout_loads_the_variant_into_an_explicit_mode_server(compiled):
    tmp_path, manifest, out = compiled
    with TritonServer(out, "--model-control-mode=explicit", model_config_name="cpu-large",
                      log_path=tmp_path / "explicit.log") as server:
        url = f"http://{server.http_url}"
        code, report, _ = run_json("rollout", manifest, "--triton-url", url, "--model-config-name", "cpu-large")
        assert code == 0, report
        assert {m["model"]: m["action"] for m in report["models"]}["text_classifier"] == "loaded"
        status, config = server.get("/v2/models/text_classifier/config")
        assert [(g["kind"], g["count"]) for g in config["instance_group"]] == [("KIND_CPU", 2)]
        # A second rollout finds nothing to load: the comparison is with the variant.
        code, report, _ = run_json("rollout", manifest, "--triton-url", url, "--model-config-name", "cpu-large")
        assert code == 0
        assert {m["action"] for m in report["models"]} == {"unchanged"}, report
        code, report, _ = run_json("status", manifest, "--triton-url", url, "--model-config-name", "cpu-large")
        assert code == 0 and report["in_sync"]


def test_rollout_to_a_target_takes_its_config_name(tmp_path):
    if tritonserver_binary() is None:
        pytest.skip("tritonserver not installed; run scripts/bootstrap.sh")
    manifest = copy_example(tmp_path)
    text = manifest.read_text()
    manifest.write_text(text.replace("local: {url: build/model_repository}",
                                     "local: {url: build/model_repository, config_name: cpu-large}"))
    assert run_cli("sync", manifest, "--target", "local")[0] == 0
    repo = tmp_path / "build" / "model_repository"
    with TritonServer(repo, "--model-control-mode=explicit", model_config_name="cpu-large",
                      log_path=tmp_path / "triton.log") as server:
        url = f"http://{server.http_url}"
        code, report, _ = run_json("rollout", manifest, "--triton-url", url, "--target", "local")
        assert code == 0, report
        code, report, _ = run_json("rollout", manifest, "--triton-url", url, "--target", "local")
        assert code == 0 and {m["action"] for m in report["models"]} == {"unchanged"}, report
        code, report, _ = run_json("status", manifest, "--triton-url", url, "--model-config-name", "cpu-large")
        assert code == 0 and report["in_sync"], report
