"""The storage layer's pieces on their own: policy, destinations, expansion, redaction, atomic writes."""
from __future__ import annotations

import logging
import os

import pytest

from compiler.errors import FatalError
from compiler.storage import destinations, env, policy, redact
from compiler.storage.files import write_atomic
from compiler.storage.urls import is_local_url, local_part, redact_url


def test_policy_from_the_environment_and_the_clouds_own_endpoints():
    p = policy.load({"TRITON_GITOPS_ALLOWED_ENDPOINTS": "https://minio.internal:9000, 127.0.0.1:4566 other.host",
                     "TRITON_GITOPS_ALLOWED_ENV": "MODELS_BUCKET TEAM_*"})
    assert p.allows_endpoint("https://minio.internal:9000") and not p.allows_endpoint("http://minio.internal:9000")
    assert not p.allows_endpoint("https://minio.internal:9001")
    assert p.allows_endpoint("http://127.0.0.1:4566") and not p.allows_endpoint("http://127.0.0.1:4567")
    assert p.allows_endpoint("http://other.host:1234")
    assert p.allows_endpoint("https://s3.eu-west-1.amazonaws.com") and p.allows_endpoint("https://storage.googleapis.com")
    assert not p.allows_endpoint("http://s3.amazonaws.com")  # the clouds' own over https only
    assert not p.allows_endpoint("https://amazonaws.com.evil.example")
    assert p.allows_env("MODELS_BUCKET") and p.allows_env("TEAM_X") and not p.allows_env("AWS_SECRET_ACCESS_KEY")
    assert not policy.load({}).allows_env("ANYTHING")


def test_endpoints_the_environment_names_are_trusted():
    p = policy.load({"AWS_ENDPOINT_URL": "http://127.0.0.1:5000",
                     "AZURE_STORAGE_CONNECTION_STRING": "AccountName=a;BlobEndpoint=http://127.0.0.1:10000/a;"})
    assert p.allows_endpoint("http://127.0.0.1:5000") and p.allows_endpoint("http://127.0.0.1:10000")


def test_a_bad_policy_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "p.yaml"
    bad.write_text("allowed_hosts: [x]\n")
    with pytest.raises(FatalError, match="a policy file is a mapping"):
        policy.load({"TRITON_GITOPS_POLICY": str(bad)})
    with pytest.raises(FatalError, match="cannot read"):
        policy.load({"TRITON_GITOPS_POLICY": str(tmp_path / "missing.yaml")})


@pytest.mark.parametrize("url,options,expected", [
    ("s3://b/k", {}, "https://s3.amazonaws.com"),
    ("s3://b/k", {"client_kwargs": {"endpoint_url": "http://e:1"}}, "http://e:1"),
    ("s3://b/k", {"config_kwargs": {"proxies": {"https": "http://proxy:3128"}}}, "http://proxy:3128"),
    ("gs://b/k", {"endpoint_url": "http://g:2"}, "http://g:2"),
    ("az://c/k", {"account_url": "https://evil.example"}, "https://evil.example"),
    ("az://c/k", {"account_host": "evil.example"}, "evil.example"),
    ("az://c/k", {"connection_string": "AccountName=a;AccountKey=k;EndpointSuffix=evil.example"},
     "https://a.blob.evil.example"),
    ("abfs://c@evil.example/k", {}, "https://evil.example"),
    ("https://h.example/m.onnx", {}, "https://h.example"),
])
def test_destinations_of_each_store(url, options, expected):
    assert expected in [d.endpoint for d in destinations.destinations(url, options, {})]


def test_check_refuses_endpoints_variables_and_credential_files():
    strict = policy.Policy()
    found = destinations.check("az://c/k", {"account_name": "evil.example#", "account_url": "https://x.example"},
                               ("targets", "t"), strict, "target", environ={})
    assert {p.rule for p in found} == {"target-endpoint"} and len(found) == 2
    found = destinations.check("gs://b/k", {"token": "/home/runner/creds.json"}, (), strict, "source", environ={})
    assert [p.path for p in found] == [("storage_options", "token")]
    found = destinations.check("s3://${B}/k", {"key": "${K}"}, ("targets", "t"), strict, "target", environ={})
    assert [(p.rule, p.path) for p in found] == [("target-env", ("targets", "t", "url")),
                                                 ("target-env", ("targets", "t", "storage_options", "key"))]
    assert destinations.check("s3://b/k", {}, (), strict, "source", environ={}) == []


def test_expansion_refuses_what_the_policy_does_not_allow():
    problems: list = []
    value, used = env.expanded({"a": "${OK}-${NO}", "b": ["${UNSET:-d}"]}, ("x",), problems,
                               policy.Policy(env=("OK", "UNSET")), environ={"OK": "1", "NO": "secret"})
    assert value == {"a": "1-", "b": ["d"]} and used == {"OK": "1"}
    assert [p.path for p in problems] == [("x", "a")] and "secret" not in problems[0].message


def test_urls():
    assert is_local_url("file:///x") and is_local_url("local://x") and is_local_url("C:/x") and is_local_url("a/b")
    assert not is_local_url("s3://b") and local_part("local://x/y") == "x/y" and local_part("file:///x") == "/x"
    assert redact_url("https://u:p@h/x?sig=1#f") == "https://***@h/x?***"
    assert redact_url("https://token@h/x") == "https://***@h/x"


def test_scrub_masks_headers_bearer_tokens_user_info_and_known_values():
    text = ("{'Authorization': b'AWS4-HMAC-SHA256 Credential=AKIA/x, Signature=abc', 'X-Amz-Security-Token': "
            "b'TOKEN123'} Bearer ya29.abcdefgh https://u:pw@h/?sig=s1&se=2 plain KNOWNSECRET")
    out = redact.scrub(text, ["KNOWNSECRET"])
    for secret in ("TOKEN123", "ya29.abcdefgh", "pw@", "KNOWNSECRET", "sig=s1", "Credential=AKIA"):
        assert secret not in out
    assert "X-Amz-Security-Token" in out and "https://***@h/" in out


def test_debug_filter_scrubs_records_with_arguments_and_tracebacks(monkeypatch):
    monkeypatch.setenv("AWS_SESSION_TOKEN", "sessionTOKENvalue")
    record = logging.LogRecord("botocore", logging.DEBUG, __file__, 1, "headers=%s", ({"x": "sessionTOKENvalue"},),
                               None)
    assert redact.DebugFilter().filter(record) and "sessionTOKENvalue" not in record.getMessage()


def test_write_atomic_leaves_nothing_behind_on_failure(tmp_path):
    target = tmp_path / "f.json"
    write_atomic(target, "one")
    assert target.read_text() == "one"
    with pytest.raises(OSError):
        write_atomic(tmp_path / "missing" / "f.json", b"x")
    assert sorted(os.listdir(tmp_path)) == ["f.json"]


def test_a_target_must_be_a_store_and_its_url_variables_are_checked_first():
    found = destinations.check("https://h.example/${SECRET}", {}, ("targets", "t"), policy.Policy(), "target",
                               environ={"SECRET": "x"})
    assert [p.rule for p in found] == ["target-scheme"]
    found = destinations.check("s3://b/${SECRET}", {}, ("targets", "t"), policy.Policy(), "target", environ={})
    assert [p.rule for p in found] == ["target-env"]


def test_speaks_names_the_store_behind_a_bounded_filesystem_whatever_fsspec_calls_it():
    import fsspec

    from compiler.storage.stores import Bounded, speaks

    s3 = Bounded(fsspec.filesystem("s3", anon=True, skip_instance_cache=True), 5.0)  # no request is made
    assert speaks(s3, "s3") and not speaks(s3, "gs", "abfs", "az")
    assert speaks(fsspec.filesystem("memory"), "memory")  # one name, not a tuple
    local = fsspec.filesystem("file")
    assert speaks(local, "file") and speaks(local, "local") and not speaks(local, "s3")
    azure = fsspec.get_filesystem_class("az")  # adlfs: ("abfs", "az", "abfss")
    assert speaks(azure, "abfs", "az") and not speaks(azure, "s3")
