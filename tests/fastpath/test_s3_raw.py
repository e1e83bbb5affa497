"""The prefetch helper's plain S3 reader (compiler/fastpath/s3_raw.py, s3_route.py, sigv4.py)
answers what the SDK path answers, sends its requests where botocore would and nowhere else,
and leaves everything it is not sure of to the SDK."""
from __future__ import annotations

import os
import socket
import threading
import time
from urllib.parse import urlsplit

import pytest

from compiler.fastpath import s3_http, s3_raw, s3_route, sigv4
from compiler.fastpath.s3_listing import list_objects
from compiler.storage.stores import Bounded, StorageTimeout
from compiler.sync.read import read_target
from compiler.sync.state import STATE_NAME
from compiler.sync.target import Target, explicit_endpoint
from tests.fastpath.test_s3_listing import ODD_NAMES
from tests.storage.servers import Recorder

SPEC_KEY, SPEC_SECRET = "AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
ODD_ROOT = "with state/ünï +plus%20"  # a root whose name needs encoding, and holds a state


@pytest.fixture(scope="module")
def bucket(s3_emulator):
    """1,002 objects under repo/ (two pages) with odd names among them, others beside it, and a
    state file under an oddly named root."""
    name = s3_emulator.make_bucket()
    objects = {f"{name}/repo/m_{i:04d}/1/model.py": b"x" * (i % 7) for i in range(1002)}
    objects.update({f"{name}/repo/{odd}": odd.encode() for odd in ODD_NAMES})
    objects.update({f"{name}/repo2/not-under-the-root": b"2", f"{name}/other/x": b"3",
                    f"{name}/{ODD_ROOT}/{STATE_NAME}": b'{"format": 1, "files": {}}',
                    f"{name}/{ODD_ROOT}/m/1/a b+c.py": b"odd", f"{name}/{ODD_ROOT}/m/config.pbtxt": b"cfg"})
    s3_emulator.fs().pipe(objects)
    return name


def _targets(emulator, root: str, options=None, environ=None):
    """(the target as the helper receives it, unopened; the same target opened through s3fs)."""
    options = emulator.storage_options() if options is None else options
    plain = Target("", f"s3://{root}", None, "", False, endpoint=emulator.endpoint, options=options, timeout=30.0)
    sdk = Target("", f"s3://{root}", Bounded(emulator.fs(), 30.0), root, False, endpoint=emulator.endpoint,
                 options=options, timeout=30.0)
    return plain, sdk


@pytest.mark.emulators
@pytest.mark.parametrize("where", ["repo", "", ODD_ROOT, "nothing-here", "repo/m_0001/1/model.py/deeper"])
def test_the_same_state_and_listing_as_the_sdk_path(s3_emulator, bucket, where):
    root = f"{bucket}/{where}" if where else bucket
    plain, sdk = _targets(s3_emulator, root)
    seen = s3_raw.read_target(plain, environ={})
    assert seen is not None, "the plain path applies to moto with static credentials"
    assert seen == read_target(sdk, list_objects) == read_target(sdk)
    raw, listing = seen
    if where == ODD_ROOT:
        assert raw == b'{"format": 1, "files": {}}' and set(listing.files) == {"m/1/a b+c.py", "m/config.pbtxt"}
    else:
        assert raw is None
    if where == "repo":
        assert len(listing.files) == 1002 + len(ODD_NAMES)
    if where == "":
        assert f"{ODD_ROOT}/m/1/a b+c.py" in listing.files and STATE_NAME not in listing.files


@pytest.mark.emulators
def test_credentials_from_the_environment_and_a_missing_bucket(s3_emulator, bucket):
    environ = {"AWS_ACCESS_KEY_ID": s3_emulator.key, "AWS_SECRET_ACCESS_KEY": s3_emulator.secret,
               "AWS_ENDPOINT_URL": s3_emulator.endpoint}
    plain, sdk = _targets(s3_emulator, f"{bucket}/repo", options={})
    assert s3_raw.read_target(plain, environ=environ) == read_target(sdk)
    missing, _ = _targets(s3_emulator, "no-such-bucket-9/models", options={})
    with pytest.raises(Exception) as raised:
        s3_raw.read_target(missing, environ=environ)
    assert "cannot list the repository: the bucket or container does not exist" in str(raised.value.message)


def test_signatures_match_the_examples_of_the_sigv4_description():
    credentials = sigv4.Credentials(SPEC_KEY, SPEC_SECRET)
    get = sigv4.sign("GET", "examplebucket.s3.amazonaws.com", "/test.txt", "", "us-east-1", credentials,
                     "20130524T000000Z", {"Range": "bytes=0-9"})
    assert get["authorization"].endswith("Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
    listing = sigv4.sign("GET", "examplebucket.s3.amazonaws.com", "/",
                         sigv4.query_string([("max-keys", "2"), ("prefix", "J")]), "us-east-1", credentials,
                         "20130524T000000Z")
    assert listing["authorization"].endswith(
        "Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7")
    assert SPEC_SECRET not in repr(credentials)


# (storage options, environment): every way the plain path may be taken
ROUTES = [
    ({"key": "K", "secret": "S", "client_kwargs": {"endpoint_url": "http://127.0.0.1:9000",
                                                   "region_name": "eu-west-3"}}, {}),
    ({"key": "K", "secret": "S", "token": "T", "endpoint_url": "https://minio.example:9443"}, {}),
    ({}, {"AWS_ACCESS_KEY_ID": "K", "AWS_SECRET_ACCESS_KEY": "S", "AWS_ENDPOINT_URL": "http://localhost:7000",
          "AWS_ENDPOINT_URL_S3": "http://127.0.0.1:7001", "AWS_DEFAULT_REGION": "ap-south-1"}),
    ({}, {"AWS_ACCESS_KEY_ID": "K", "AWS_SECRET_ACCESS_KEY": "S", "AWS_SESSION_TOKEN": "T",
          "AWS_DEFAULT_REGION": "eu-central-1", "AWS_REGION": "us-west-2"}),
    ({"key": "K", "secret": "S", "client_kwargs": {"region_name": "us-east-1"}}, {}),
    ({"key": "K", "secret": "S"}, {"AWS_DEFAULT_REGION": "us-west-2"}),
]


@pytest.mark.parametrize("options,environ", ROUTES)
def test_requests_go_where_botocore_sends_them_signed_as_botocore_signs(options, environ, monkeypatch):
    """botocore (as s3fs makes its client from the same options) prepares the same listing
    request: the same URL, the same region, and over http the very same signature."""
    botocore_session = pytest.importorskip("botocore.session")
    from botocore.awsrequest import AWSResponse

    for name in [n for n in os.environ if n.startswith("AWS_")]:
        monkeypatch.delenv(name)
    for name, value in {**environ, "AWS_CONFIG_FILE": os.devnull}.items():
        monkeypatch.setenv(name, value)
    target = Target("", "s3://models-bucket/a b+c/ü", None, "", False, options=options)
    where = s3_route.route(target, {**environ, "AWS_CONFIG_FILE": os.devnull})
    assert where is not None

    kwargs = {**options.get("client_kwargs", {})}
    for option, argument in (("key", "aws_access_key_id"), ("secret", "aws_secret_access_key"),
                             ("token", "aws_session_token"), ("endpoint_url", "endpoint_url")):
        if option in options:
            kwargs[argument] = options[option]
    client = botocore_session.get_session().create_client("s3", **kwargs)
    sent = {}

    def capture(request, **_):
        sent.update(url=request.url, headers=dict(request.headers))
        return AWSResponse(request.url, 200, {}, None)
    client.meta.events.register("before-send", capture)
    try:
        client.list_objects_v2(Bucket="models-bucket", Prefix="a b+c/ü/")
    except Exception:  # noqa: BLE001 - the empty answer does not parse: the request is what counts
        pass
    from urllib.parse import parse_qsl

    url = urlsplit(sent["url"])
    assert (url.scheme, url.netloc, url.path or "/") == (where.scheme, where.host_header, where.base or "/")
    ours = sigv4.query_string([("list-type", "2"), ("prefix", "a b+c/ü/"), ("encoding-type", "url")])
    assert sorted(parse_qsl(url.query)) == sorted(parse_qsl(ours))
    authorization = sent["headers"]["Authorization"]
    authorization = authorization.decode() if isinstance(authorization, bytes) else authorization
    assert f"/{where.region}/s3/aws4_request" in authorization
    if where.scheme == "http":  # botocore signs the (empty) payload over http: the signature must agree
        amz_date = sent["headers"]["X-Amz-Date"]
        amz_date = amz_date.decode() if isinstance(amz_date, bytes) else amz_date
        mine = sigv4.sign("GET", where.host_header, where.base or "/", ours, where.region, where.credentials, amz_date)
        assert mine["authorization"].replace(", ", ",") == authorization.replace(", ", ",")


@pytest.mark.parametrize("options,environ", ROUTES)
def test_the_probe_checks_the_endpoint_the_requests_go_to(options, environ):
    """One derivation of the endpoint (compiler/sync/target.py): what Target.endpoint probes is
    where the plain path connects, and no endpoint named means AWS's own."""
    environ = {**environ, "AWS_CONFIG_FILE": os.devnull}
    target = Target("", "s3://models-bucket/models", None, "", False, options=options)
    where = s3_route.route(target, environ)
    named = explicit_endpoint(target.url, options, environ)
    if named:
        parts = urlsplit(named)
        port = parts.port or {"http": 80, "https": 443}[parts.scheme]
        assert (parts.scheme, parts.hostname, port) == (where.scheme, where.host, where.port)
    else:
        assert where.host.endswith(".amazonaws.com")


@pytest.mark.parametrize("options,environ", [
    ({"key": "K", "secret": "S", "anon": False}, {}),
    ({"key": "K", "secret": "S", "requester_pays": True}, {}),
    ({"key": "K", "secret": "S", "client_kwargs": {"endpoint_url": "http://h:1", "verify": False}}, {}),
    ({"key": "K"}, {"AWS_SECRET_ACCESS_KEY": "S", "AWS_DEFAULT_REGION": "us-east-1"}),  # half a pair
    ({}, {"AWS_DEFAULT_REGION": "us-east-1"}),  # no static credentials: profiles, SSO, IMDS
    ({}, {"AWS_ACCESS_KEY_ID": "K", "AWS_SECRET_ACCESS_KEY": "S", "AWS_PROFILE": "p", "AWS_DEFAULT_REGION": "eu-west-1"}),
    ({}, {"AWS_ACCESS_KEY_ID": "K", "AWS_SECRET_ACCESS_KEY": "S", "AWS_USE_FIPS_ENDPOINT": "true",
          "AWS_DEFAULT_REGION": "us-east-1"}),
    ({}, {"AWS_ACCESS_KEY_ID": "K", "AWS_SECRET_ACCESS_KEY": "S", "HTTPS_PROXY": "http://proxy:3128",
          "AWS_DEFAULT_REGION": "us-east-1"}),
    ({"key": "K", "secret": "S"}, {}),  # AWS's endpoint, no region: botocore would follow S3's redirect
    ({"key": "K", "secret": "S", "client_kwargs": {"region_name": "cn-north-1"}}, {}),  # another partition
    ({"key": "K", "secret": "S", "endpoint_url": "http://h:1/base"}, {}),
    ({"key": "K", "secret": "S", "endpoint_url": "http://h:1", "client_kwargs": {"endpoint_url": "http://i:2"}}, {}),
])
def test_anything_else_is_left_to_the_sdk(options, environ):
    target = Target("", "s3://models-bucket/models", None, "", False, options=options)
    assert s3_route.route(target, {**environ, "AWS_CONFIG_FILE": os.devnull}) is None


def test_a_shared_config_file_may_give_the_region_and_nothing_else(tmp_path):
    config = tmp_path / "config"
    target = Target("", "s3://models-bucket/models", None, "", False, options={"key": "K", "secret": "S"})
    config.write_text("[default]\nregion = eu-north-1\noutput = json\n[profile other]\ns3 =\n  addressing_style = path\n")
    where = s3_route.route(target, {"AWS_CONFIG_FILE": str(config)})
    assert where is not None and where.host == "models-bucket.s3.eu-north-1.amazonaws.com"
    config.write_text("[default]\nregion = eu-north-1\ns3 =\n  addressing_style = path\n")
    assert s3_route.route(target, {"AWS_CONFIG_FILE": str(config)}) is None
    for url in ("s3://Bad_Bucket/m", "s3://bucket.with.dots/m", "s3://b//m", "s3://b/m?versionId=1", "s3a://bucket/m"):
        dotted = Target("", url, None, "", False, options={"key": "K", "secret": "S",
                                                           "client_kwargs": {"region_name": "eu-west-1"}})
        assert s3_route.route(dotted, {"AWS_CONFIG_FILE": os.devnull}) is None, url


SECRET = "attacker-must-not-see-this-0123456789"
TRUNCATED = (b'<?xml version="1.0"?><ListBucketResult><Name>b</Name><IsTruncated>true</IsTruncated>'
             b'</ListBucketResult>')


@pytest.mark.parametrize("status,payload,redirect", [
    (301, b"", True), (307, b"", True), (302, b"<Error><Code>PermanentRedirect</Code></Error>", True),
    (200, b"<html>not a listing</html>", False), (200, TRUNCATED, False),
    (500, b"<Error><Code>InternalError</Code></Error>", False),
    (403, b"<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>", False),
])
def test_odd_answers_are_left_to_the_sdk_and_no_redirect_is_followed(status, payload, redirect):
    """An endpoint answering what the plain reader does not interpret gets it nothing more than
    its own requests, and every other host nothing at all: a redirect (to another host, here
    127.0.0.1 on another port) is not followed, so no signed request goes there."""
    with Recorder(status=200, payload=b"") as elsewhere:
        headers = {"Location": f"{elsewhere.url}/stolen"} if redirect else {}
        with Recorder(status=status, payload=payload, headers=headers) as attacker:
            options = {"key": "AKIAEXAMPLE", "secret": SECRET, "client_kwargs": {"endpoint_url": attacker.url}}
            target = Target("", "s3://bucket/models", None, "", False, endpoint=attacker.url, options=options,
                            timeout=10.0)
            assert s3_raw.read_target(target, environ={}) is None
        assert attacker.log, "the endpoint the target names was asked"
        assert elsewhere.log == []
    for request in attacker.log:
        assert SECRET not in attacker.received()  # signed with it, never sent
        headers = {name.lower(): value for name, value in request["headers"].items()}
        assert headers["authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE/")
        assert headers["host"] == attacker.url.split("://")[1]
        assert headers["user-agent"] == s3_http.USER_AGENT  # as the plain writer's: the same request function


def test_a_store_that_never_answers_stops_the_read_at_the_storage_timeout():
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    accepted: list = []
    stop = threading.Event()

    def accept():  # takes connections, answers nothing
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except OSError:
                continue
    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{listener.getsockname()[1]}"
    options = {"key": "K", "secret": "S", "client_kwargs": {"endpoint_url": url}}
    target = Target("", "s3://bucket/models", None, "", False, endpoint=url, options=options, timeout=1.5)
    started = time.monotonic()
    try:
        with pytest.raises(StorageTimeout) as raised:
            s3_raw.read_target(target, environ={})
    finally:
        stop.set()
        thread.join()
        for connection in accepted:
            connection.close()
        listener.close()
    assert raised.value.seconds == 1.5 and time.monotonic() - started < 5
