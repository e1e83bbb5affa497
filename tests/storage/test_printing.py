"""#13.9 and #13.10: an expanded value is never printed (the URL is shown as written), and
TRITON_GITOPS_DEBUG=1 output goes through the same redaction as everything else."""
from __future__ import annotations

import uuid

import pytest

from tests.helpers import run_cli, run_json
from tests.storage.conftest import RUNNER_SECRETS
from tests.storage.servers import Recorder

pytestmark = pytest.mark.emulators


def _s3_target(s3_emulator, url="s3://${TG_BUCKET}/models"):
    return {"url": url, "storage_options": {"key": "${TG_KEY}", "secret": "${TG_SECRET}",
                                            "client_kwargs": {"endpoint_url": "${TG_ENDPOINT}",
                                                              "region_name": "us-east-1"}}}


@pytest.fixture
def bucket_env(s3_emulator, monkeypatch):
    bucket = s3_emulator.make_bucket(f"private-bucket-{uuid.uuid4().hex[:10]}")
    env = {"TG_BUCKET": bucket, "TG_KEY": s3_emulator.key, "TG_SECRET": s3_emulator.secret,
           "TG_ENDPOINT": s3_emulator.endpoint}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


def test_target_url_is_shown_as_written_in_plan_sync_and_json(project, s3_emulator, bucket_env):
    project.write({1: "src/model.onnx"}, targets={"t": _s3_target(s3_emulator)})
    outputs = []
    for args in (("plan",), ("sync",), ("plan",)):
        code, out, err = run_cli(*args, project.manifest, "--target", "t")
        assert code in (0, 2), out + err
        outputs.append(out + err)
    code, report, err = run_json("plan", project.manifest, "--target", "t")
    assert report["target"] == "t (s3://${TG_BUCKET}/models)"
    assert "synced t (s3://${TG_BUCKET}/models)" in outputs[1]
    for text in outputs + [str(report), err]:
        assert bucket_env["TG_BUCKET"] not in text and s3_emulator.endpoint not in text


def test_an_error_naming_the_expanded_bucket_shows_the_variable(project, s3_emulator, bucket_env, monkeypatch):
    monkeypatch.setenv("TG_BUCKET", f"no-such-bucket-{uuid.uuid4().hex[:10]}")
    project.write({1: "src/model.onnx"}, targets={"t": _s3_target(s3_emulator)})
    code, out, err = run_cli("plan", project.manifest, "--target", "t")
    assert code == 1 and "t (s3://${TG_BUCKET}/models)" in err
    assert "no-such-bucket" not in out + err


def test_debug_output_carries_no_credential(project, s3_emulator):
    bucket = s3_emulator.make_bucket()
    project.write({1: "src/model.onnx"}, targets={"t": {"url": f"s3://{bucket}/models"}})
    env = {**RUNNER_SECRETS, "AWS_ENDPOINT_URL": s3_emulator.endpoint, "AWS_DEFAULT_REGION": "us-east-1",
           "TRITON_GITOPS_DEBUG": "1", "TRITON_GITOPS_PREFETCH": "0"}
    code, out, err = project.run("sync", "--target", "t", env=env)
    assert code == 0, err[-3000:]
    assert "DEBUG:botocore" in err and "Authorization" in err  # the SDK's debug log is really on
    for secret in (RUNNER_SECRETS["AWS_SECRET_ACCESS_KEY"], RUNNER_SECRETS["AWS_SESSION_TOKEN"],
                   RUNNER_SECRETS["ACTIONS_ID_TOKEN_REQUEST_TOKEN"]):
        assert secret not in err and secret not in out
    assert "Signature=" not in err or "Signature=***" in err


def test_debug_output_hides_url_user_info(project):
    with Recorder(payload=b"onnx over http") as server:
        source = f"http://deploy:pw-SECRET-4242@127.0.0.1:{server.server.server_address[1]}/model.onnx?sig=SIGSECRET9"
        project.write({1: source})
        code, out, err = project.run("compile", "--dry-run", env={"TRITON_GITOPS_DEBUG": "1"})
    assert server.log, "the source was really fetched"
    assert "DEBUG:" in err
    assert "pw-SECRET-4242" not in out + err and "SIGSECRET9" not in out + err


def test_debug_traceback_is_scrubbed(project, monkeypatch):
    """An internal error under TRITON_GITOPS_DEBUG prints its traceback, without the secrets in it."""
    import compiler.commands.validate as validate

    def broken(options):
        raise RuntimeError(f"boom with {RUNNER_SECRETS['AWS_SESSION_TOKEN']}")

    monkeypatch.setattr(validate, "run", broken)
    monkeypatch.setenv("TRITON_GITOPS_DEBUG", "1")
    monkeypatch.setenv("AWS_SESSION_TOKEN", RUNNER_SECRETS["AWS_SESSION_TOKEN"])
    code, out, err = run_cli("validate", project.manifest)
    assert code == 1 and "Traceback" in err and "RuntimeError: boom with ***" in err
    assert RUNNER_SECRETS["AWS_SESSION_TOKEN"] not in err


def test_internal_error_line_is_scrubbed(project, monkeypatch):
    """Without TRITON_GITOPS_DEBUG the one-line internal error is scrubbed too: an SDK's message
    may quote a header or a value read from the environment."""
    import compiler.commands.validate as validate

    token = RUNNER_SECRETS["AWS_SESSION_TOKEN"]

    def broken(options):
        raise RuntimeError(f"boom with {token} and Authorization: AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE99/x")

    monkeypatch.setattr(validate, "run", broken)
    monkeypatch.delenv("TRITON_GITOPS_DEBUG", raising=False)
    monkeypatch.setenv("AWS_SESSION_TOKEN", token)
    code, out, err = run_cli("validate", project.manifest)
    assert code == 1 and "triton-gitops: internal error: RuntimeError: boom with ***" in err, err
    assert token not in err and "AKIAEXAMPLE99" not in err and "Traceback" not in err
