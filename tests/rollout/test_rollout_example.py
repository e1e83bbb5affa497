"""The repository's example (an ensemble over two python models, a `specific` version policy,
labels, warmup, reshape) rolled out to an EXPLICIT-mode Triton: composing models first, and
afterwards `status` finds nothing, so the config comparison has no false alarm on any of it.
A server in the default (NONE) mode is reported for what it is."""
import re

import pytest

from tests.commands.test_compile import copy_example
from tests.helpers import run_cli
from tests.support.triton import TritonServer, tritonserver_binary

pytestmark = pytest.mark.triton


@pytest.fixture(scope="module")
def example(tmp_path_factory):
    if tritonserver_binary() is None:
        pytest.skip("tritonserver not installed; run scripts/bootstrap.sh")
    tmp = tmp_path_factory.mktemp("example")
    manifest = copy_example(tmp)
    code, out, err = run_cli("sync", manifest, "--target", "local")
    assert code == 0, out + err
    return manifest, tmp / "build" / "model_repository"


def test_example_rolls_out_in_dependency_order_and_is_then_in_sync(example, tmp_path):
    manifest, repo = example
    with TritonServer(repo, "--model-control-mode=explicit", wait="live", log_path=tmp_path / "t.log") as server:
        code, out, err = run_cli("rollout", manifest, "--target", "local", "--triton-url", server.http_url, "--smoke")
        assert code == 0, out + err
        order = re.findall(r"^  loaded +(\w+):", out, re.M)
        assert order == ["preprocess", "text_classifier", "classify_text"]
        assert re.search(r"loaded +text_classifier: versions 2, 3 READY", out)
        assert re.search(r"smoke ok +classify_text: answered: PROBS \[1, 3\] \(inputs from zeros\)", out)
        assert re.search(r"smoke ok +preprocess: .*\(inputs from warmup data\)", out)
        code, out, _ = run_cli("status", manifest, "--triton-url", f"grpc://{server.grpc_url}")
        assert (code, out.splitlines()[-1][:27]) == (0, "status: in sync - 3 models ")


def test_a_server_not_in_explicit_mode(example, tmp_path):
    manifest, repo = example
    with TritonServer(repo, log_path=tmp_path / "t.log") as server:  # NONE: everything loaded at start-up
        assert run_cli("status", manifest, "--triton-url", server.http_url)[0] == 0
        assert run_cli("rollout", manifest, "--triton-url", server.http_url)[0] == 0  # nothing to load
        code, _, err = run_cli("rollout", manifest, "--triton-url", server.http_url, "--reload", "preprocess")
        assert code == 1 and "does not take load/unload requests" in err and "--model-control-mode=explicit" in err
