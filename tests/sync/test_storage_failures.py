"""Failures a user meets: each names the target (and file), says what to do, exits 1, leaks no secret."""
from __future__ import annotations

import os

import pytest
import yaml

from tests.helpers import run_cli

SECRET = "S3CR3T-never-print-me"


def _manifest(folder, targets: dict):
    os.makedirs(folder / "src", exist_ok=True)
    (folder / "src" / "model.py").write_text("# a model\n")
    data = {"version": 1, "targets": targets, "models": {"m": {
        "backend": "python", "max_batch_size": 0,
        "input": [{"name": "X", "data_type": "FP32", "dims": [2]}],
        "output": [{"name": "Y", "data_type": "FP32", "dims": [2]}],
        "versions": {1: {"source": "src/model.py"}}}}}
    path = folder / "models.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


def _closed_port() -> int:
    from tests.support.procs import free_port
    return free_port()  # nothing listens there once the probe socket is closed


@pytest.mark.parametrize("scheme,options", [
    ("s3", lambda url: {"key": "AKIAEXAMPLE", "secret": SECRET, "client_kwargs": {"endpoint_url": url}}),
    ("gs", lambda url: {"token": "anon", "endpoint_url": url}),
    ("az", lambda url: {"connection_string": f"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
                                             f"AccountKey={SECRET};BlobEndpoint={url}/devstoreaccount1;"}),
])
def test_an_unreachable_endpoint_fails_fast_and_says_so(tmp_path, monkeypatch, scheme, options):
    url = f"http://127.0.0.1:{_closed_port()}"
    monkeypatch.setenv("TRITON_GITOPS_ALLOWED_ENDPOINTS", url)  # allowed: only unreachable
    manifest = _manifest(tmp_path, {"prod": {"url": f"{scheme}://bucket/models", "storage_options": options(url)}})
    for command in ("plan", "sync"):
        code, out, err = run_cli(command, manifest, "--target", "prod")
        assert code == 1
        assert f"prod ({scheme}://bucket/models): endpoint unreachable: cannot connect to {url}" in err
        assert "hint: check the endpoint" in err
        assert SECRET not in out + err and "Traceback" not in err


@pytest.mark.emulators
@pytest.mark.parametrize("kind,hint", [("s3", "aws s3 mb"), ("gcs", "gcloud storage buckets create"),
                                       ("azure", "az storage container create")])
def test_a_missing_bucket_is_named_with_the_command_that_creates_it(tmp_path, request, kind, hint):
    emulator = request.getfixturevalue(f"{kind}_emulator")
    options = emulator.storage_options()
    manifest = _manifest(tmp_path, {"prod": {"url": f"{emulator.protocol}://no-such-bucket-9/models",
                                             "storage_options": options}})
    code, out, err = run_cli("sync", manifest, "--target", "prod")
    assert code == 1
    assert f"prod ({emulator.protocol}://no-such-bucket-9/models)" in err
    assert "the bucket or container does not exist" in err and hint in err
    if kind == "azure":
        assert "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq" not in out + err


@pytest.mark.emulators
def test_missing_credentials_are_explained(tmp_path, monkeypatch, s3_emulator):
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    manifest = _manifest(tmp_path, {"prod": {"url": "s3://bucket/models", "storage_options": {
        "client_kwargs": {"endpoint_url": s3_emulator.endpoint, "region_name": "us-east-1"}}}})
    code, _, err = run_cli("plan", manifest, "--target", "prod")
    assert code == 1
    assert "prod (s3://bucket/models): cannot read the sync state: Unable to locate credentials" in err
    assert "AWS_ACCESS_KEY_ID" in err  # the hint says where credentials come from


@pytest.mark.emulators
def test_wrong_credentials_on_azure_are_called_credentials(tmp_path, azure_emulator):
    bucket = azure_emulator.make_bucket()
    wrong = azure_emulator.connection_string.replace("AccountKey=", "AccountKey=AAAA")
    manifest = _manifest(tmp_path, {"prod": {"url": f"az://{bucket}/m", "storage_options": {
        "connection_string": wrong}}})
    code, out, err = run_cli("sync", manifest, "--target", "prod")
    assert code == 1
    assert "credentials missing or rejected" in err and "AZURE_STORAGE_CONNECTION_STRING" in err
    assert "AccountKey" not in out + err


def test_an_unset_variable_is_named(tmp_path, monkeypatch):
    monkeypatch.delenv("TG_UNSET_BUCKET", raising=False)
    manifest = _manifest(tmp_path, {"prod": {"url": "s3://${TG_UNSET_BUCKET}/models"}})
    code, _, err = run_cli("plan", manifest, "--target", "prod")
    assert code == 1
    assert "target 'prod': url refers to ${TG_UNSET_BUCKET}, which is not set" in err


def test_variables_expand_with_defaults(tmp_path, monkeypatch):
    monkeypatch.setenv("TRITON_GITOPS_ALLOWED_ENV", "TG_OUT TG_MISSING")  # the storage policy allows them
    monkeypatch.setenv("TG_OUT", str(tmp_path / "out"))
    manifest = _manifest(tmp_path, {"local": {"url": "${TG_OUT}/${TG_MISSING:-repo}"}})
    assert run_cli("sync", manifest)[0] == 0
    assert (tmp_path / "out" / "repo" / "m" / "1" / "model.py").is_file()


def test_the_default_target_is_the_local_one(tmp_path):
    manifest = _manifest(tmp_path, {"prod": {"url": "s3://bucket/x"}, "local": {"url": "build/repo"},
                                    "other": {"url": "file://" + str(tmp_path / "else")}})
    code, out, _ = run_cli("sync", manifest, cwd=tmp_path / "src")  # relative to the manifest, not cwd
    assert code == 0 and "\nsynced local (build/repo): 2 created" in out
    assert (tmp_path / "build" / "repo" / "m" / "config.pbtxt").is_file()


def test_no_local_target_and_several_ambiguous_ones_are_errors(tmp_path):
    manifest = _manifest(tmp_path, {"prod": {"url": "s3://bucket/x"}})
    code, _, err = run_cli("plan", manifest)
    assert code == 1 and "has no local target" in err and "--target" in err
    manifest = _manifest(tmp_path, {"a": {"url": "one"}, "b": {"url": "two"}})
    code, _, err = run_cli("plan", manifest)
    assert code == 1 and "several local targets (a, b)" in err
    code, _, err = run_cli("plan", manifest, "--target", "c")
    assert code == 1 and "no target named 'c'" in err and "(targets: a, b)" in err


@pytest.mark.emulators
def test_a_url_target_takes_endpoint_and_credentials_from_the_environment(tmp_path, monkeypatch, s3_emulator):
    for key, value in s3_emulator.env().items():
        monkeypatch.setenv(key, value)
    bucket = s3_emulator.make_bucket()
    manifest = _manifest(tmp_path, {})
    code, out, err = run_cli("sync", manifest, "--target", f"s3://{bucket}/direct")
    assert code == 0, err
    assert f"\nsynced s3://{bucket}/direct: 2 created" in out
    assert s3_emulator.fs().exists(f"{bucket}/direct/m/1/model.py")


def test_a_local_url_target_is_relative_to_the_working_directory(tmp_path):
    manifest = _manifest(tmp_path, {})
    (tmp_path / "work").mkdir()
    code, out, err = run_cli("sync", manifest, "--target", "./out", cwd=tmp_path / "work")
    assert code == 0, err
    assert (tmp_path / "work" / "out" / "m" / "config.pbtxt").is_file()
    code, out, err = run_cli("sync", manifest, "--target", f"file://{tmp_path / 'f'}")
    assert code == 0 and (tmp_path / "f" / "m" / "config.pbtxt").is_file()


def test_an_invalid_manifest_is_reported_not_synced(tmp_path):
    manifest = _manifest(tmp_path, {"local": {"url": "out"}})
    manifest.write_text(manifest.read_text().replace("FP32", "FLOAT99"))
    code, out, err = run_cli("sync", manifest)
    assert code == 1 and "FLOAT99" in out + err
    assert not (tmp_path / "out").exists()


def test_errors_are_classified_by_what_they_say():
    from botocore.exceptions import ClientError

    from compiler.sync.storage_failures import DENIED, NO_BUCKET, classify, explain, is_transient
    from compiler.sync.target import Target

    def client_error(code, message=""):
        return ClientError({"Error": {"Code": code, "Message": message or code}}, "PutObject")

    assert classify(client_error("AccessDenied", "Access Denied")) == DENIED
    assert classify(PermissionError(13, "Permission denied")) == DENIED
    assert classify(client_error("NoSuchBucket", "The specified bucket does not exist")) == NO_BUCKET
    assert is_transient(client_error("SlowDown", "Please reduce your request rate"))
    assert is_transient(ConnectionResetError(104, "Connection reset by peer"))
    assert not is_transient(FileNotFoundError(2, "No such file"))
    target = Target("prod", "s3://bucket/m", None, "bucket/m", False, (SECRET,))
    error = explain(client_error("AccessDenied", f"Access Denied for key {SECRET}"), target, "upload", "m/1/x")
    assert error.message == "prod (s3://bucket/m): m/1/x: cannot upload: access denied (An error occurred " \
                            "(AccessDenied) when calling the PutObject operation: Access Denied for key ***)"
    assert "s3:PutObject" in error.hint


def test_retries_start_no_new_attempt_once_the_bound_is_spent():
    """Our retries come on top of the SDK's own: a call that failed only after most of the
    storage timeout is not tried again, else the bound would stretch to a multiple of itself."""
    import time

    from compiler.sync.storage_failures import with_retries

    calls = []

    def slow_refusal():
        calls.append(time.monotonic())
        time.sleep(0.3)
        raise ConnectionRefusedError(111, "Connection refused")

    with pytest.raises(ConnectionRefusedError):
        with_retries(slow_refusal, attempts=3, base=0.01, within=0.25)
    assert len(calls) == 1
    calls.clear()
    with pytest.raises(ConnectionRefusedError):
        with_retries(slow_refusal, attempts=3, base=0.01)  # unbounded: every attempt is made
    assert len(calls) == 3


def test_retries_start_no_attempt_that_could_not_end_within_the_bound():
    """A failure after most of the bound (a dead DNS name behind the SDK's own retries took
    9 s of a 10 s bound; a second try took 6 s more) is not tried again: the next attempt would
    end past the bound. Quick failures are still retried within it."""
    import time

    from compiler.sync.storage_failures import with_retries

    calls = []

    def failing(seconds):
        def call():
            calls.append(time.monotonic())
            time.sleep(seconds)
            raise ConnectionRefusedError(111, "Connection refused")
        return call

    started = time.monotonic()
    with pytest.raises(ConnectionRefusedError):
        with_retries(failing(0.6), attempts=3, base=0.01, within=1.0)
    assert len(calls) == 1 and time.monotonic() - started < 0.9
    calls.clear()
    with pytest.raises(ConnectionRefusedError):
        with_retries(failing(0.05), attempts=3, base=0.01, within=1.0)
    assert len(calls) == 3
