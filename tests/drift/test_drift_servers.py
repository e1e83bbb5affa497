"""`drift` against a real tritonserver (EXPLICIT mode) that reads the local target: a model
unloaded by hand and a model nobody declared are server drift; a model name made to break
the issue's Markdown stays text; a server that does not answer is named, not a traceback."""
from __future__ import annotations

import json

import pytest

from compiler.drift.report import MARKER
from tests.gitops.test_report_escaping import inline_texts, parse, walk
from tests.helpers import run_cli
from tests.rollout.live import ADD_PY, live_root, write_manifest
from tests.support.github_api import GitHubApi
from tests.support.procs import free_port
from tests.support.triton import TritonServer

pytestmark = pytest.mark.triton

# Emphasis, a link reference, strikethrough. (HTML, pipes and headings are left to test_report.py:
# Triton 2.51's python backend starts its stub through `bash -c` with the model's path unquoted,
# so a name with `<`, `|`, `#`, a space or a backtick never loads, and the load hangs.)
HOSTILE = "m_**b**_[a]~~c~~"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    root = live_root(tmp_path_factory, "drift-servers")
    extra = root / "extra" / HOSTILE  # a model no manifest declares, in a second repository
    (extra / "1").mkdir(parents=True)
    (extra / "1" / "model.py").write_text(ADD_PY.replace("{n}", "0"))
    (extra / "config.pbtxt").write_text(f'name: "{HOSTILE}"\nbackend: "python"\nmax_batch_size: 0\n'
                                        'input [{name: "X", data_type: TYPE_FP32, dims: [2]}]\n'
                                        'output [{name: "Y", data_type: TYPE_FP32, dims: [2]}]\n')
    server = TritonServer(root / "target", f"--model-repository={root / 'extra'}", "--model-control-mode=explicit",
                          wait="live", log_path=root / "triton.log")
    try:
        server.start()
        yield root, server
    finally:
        server.stop()


def _manifest(root, servers: str):
    path = write_manifest(root, echo=False)
    path.write_text(path.read_text().replace("  local: {url: target}\n",
                                             f"  local: {{url: target, servers: [{servers}]}}\n"))
    return path


def _load(server, name: str, action: str = "load"):
    """Over gRPC: Triton's HTTP endpoint takes a model name from the path without decoding it."""
    import tritonclient.grpc as grpcclient

    client = grpcclient.InferenceServerClient(server.grpc_url)
    try:
        if action == "load":
            client.load_model(name, client_timeout=60)
        else:
            client.unload_model(name, client_timeout=60)
    finally:
        client.close()
    if action == "unload":  # Triton answers before the model is gone: wait until the index says so
        from tests.support.procs import wait_until

        def gone():
            status, index = server.post("/v2/repository/index", {})
            return status == 200 and all(m.get("state") not in ("READY", "UNLOADING")
                                         for m in index if m["name"] == name)
        assert wait_until(gone, timeout=30)


def test_server_drift_opens_the_issue_hostile_names_stay_text_and_it_closes(served, monkeypatch):
    root, server = served
    manifest = _manifest(root, f"http://{server.http_url}")
    assert run_cli("sync", manifest, "--target", "local")[0] == 0
    _load(server, "add")
    code, out, err = run_cli("drift", manifest, "--no-issue", "--output", "json")
    assert code == 0, out + err
    assert json.loads(out)["targets"][0]["servers"] == [
        {"triton_url": f"http://{server.http_url}", "in_sync": True, "error": "", "drift": []}]

    with GitHubApi("acme/models") as api:
        for name, value in {"GITHUB_API_URL": api.url, "GITHUB_REPOSITORY": "acme/models",
                            "GITHUB_TOKEN": api.BOT_TOKEN}.items():
            monkeypatch.setenv(name, value)
        _load(server, "add", "unload")
        code, out, err = run_cli("drift", manifest)
        assert code == 2 and "issue #1 created" in out, out + err
        body = api.state["issues"][0]["body"]
        assert "| `local` | ✅ in sync | ✏️ 1 of 1 drifted |" in body
        assert f"- `http://{server.http_url}`: 1 finding in 1 model" in body
        assert "\n```text\nadd: missing: not serving (expected versions 1 READY)\n" in body
        assert "`triton-gitops rollout models.yaml --target local`" in body

        _load(server, "add")
        _load(server, HOSTILE)
        code, out, err = run_cli("drift", manifest)
        assert code == 2 and "issue #1 updated" in out, out + err
        body = api.state["issues"][0]["body"]
        tokens = parse(body)
        html = [t.content.strip() for t in walk(tokens) if t.type in ("html_block", "html_inline")]
        assert html == [MARKER, "<sub>", "</sub>"]  # the marker and the footer's own tags: none from the name
        assert not any(t.type in ("link_open", "image", "em_open", "s_open") for t in walk(tokens))
        every = list(walk(tokens))
        strong = [every[i + 1].content for i, t in enumerate(every) if t.type == "strong_open"]
        assert strong == ["1 of 1 target", "Storage", "Servers"]  # the report's own, none from the name
        fences = [t.content for t in walk(tokens) if t.type == "fence"]
        assert fences == [(f"{HOSTILE}: extra: loaded (versions 1) but not in the manifest\n"
                           "    add it to `external_models` if something else manages it\n")]
        assert inline_texts(tokens)[-1].startswith("Kept up to date by the scheduled")  # nothing swallowed

        _load(server, HOSTILE, "unload")
        code, out, err = run_cli("drift", manifest)
        assert code == 0 and "issue #1 closed" in out, out + err
        assert api.state["issues"][0]["state"] == "closed" and len(api.state["issues"]) == 1


def test_a_server_that_does_not_answer_is_named(served):
    root, server = served
    dead = f"http://127.0.0.1:{free_port()}"
    manifest = _manifest(root, f"http://{server.http_url}, {dead}")
    assert run_cli("sync", manifest, "--target", "local")[0] == 0
    _load(server, "add")
    code, out, err = run_cli("drift", manifest, "--no-issue", "--timeout", "5")
    assert code == 1, out + err
    assert "Traceback" not in out + err
    assert "| `local` | ✅ in sync | ⚠️ 1 not reachable |" in out
    assert f"- `{dead}`: not reachable: " in out and f"- `http://{server.http_url}`: in sync" in out
