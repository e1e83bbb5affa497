"""#13.12: a store that answers 503 forever stops a run after the storage timeout, with one line,
on each cloud's SDK (botocore, gcsfs and azure-core each retry on their own for minutes)."""
from __future__ import annotations

import time

import pytest

from tests.storage.servers import Recorder, failing

pytestmark = pytest.mark.emulators

TARGETS = {
    "s3": lambda url: {"url": "s3://bucket/models", "storage_options": {
        "key": "AKIAEXAMPLEKEY", "secret": "examplesecret", "client_kwargs": {"endpoint_url": url,
                                                                           "region_name": "us-east-1"}}},
    "gs": lambda url: {"url": "gs://bucket/models", "storage_options": {"token": "anon", "endpoint_url": url}},
    "az": lambda url: {"url": "az://container/models", "storage_options": {"connection_string": (
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
        "AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;"
        f"BlobEndpoint={url}/devstoreaccount1;")}},
}


@pytest.mark.parametrize("scheme", sorted(TARGETS))
@pytest.mark.parametrize("how", ["option", "environment"])
def test_plan_against_a_store_failing_forever_ends_after_the_bound(project, scheme, how):
    with failing() as store:
        project.write({1: "src/model.onnx"}, targets={"t": TARGETS[scheme](store.url)})
        args = ("plan", "--target", "t") + (("--storage-timeout", "3") if how == "option" else ())
        env = {"TRITON_GITOPS_ALLOWED_ENDPOINTS": store.url, "TRITON_GITOPS_PREFETCH": None}
        if how == "environment":
            env["TRITON_GITOPS_STORAGE_TIMEOUT"] = "3"
        started = time.monotonic()
        code, out, err = project.run(*args, env=env, timeout=120)
        took = time.monotonic() - started
    assert code == 1, out + err
    assert took < 15, f"{scheme}: took {took:.1f} s"
    assert store.log, "the store was really asked (and kept failing)"
    errors = [line for line in err.splitlines() if line.startswith("triton-gitops: error:")]
    assert len(errors) == 1 and "t (" in errors[0] and "gave up after 3 s" in errors[0], err
    assert "Traceback" not in err


def test_a_version_source_on_a_store_failing_forever_ends_after_the_bound(project):
    with failing() as store:
        options = {"key": "AKIAEXAMPLEKEY", "secret": "examplesecret",
                   "client_kwargs": {"endpoint_url": store.url, "region_name": "us-east-1"}}
        project.write({1: {"source": "s3://bucket/model.onnx", "storage_options": options}})
        started = time.monotonic()
        code, out, err = project.run("validate", "--storage-timeout", "3",
                                     env={"TRITON_GITOPS_ALLOWED_ENDPOINTS": store.url})
        took = time.monotonic() - started
    assert code == 1 and took < 15, (took, out, err)
    assert "no successful answer within 3 s" in out + err and "source-unreadable" in out + err


def test_storage_timeout_must_be_positive(project):
    project.write({1: "src/model.onnx"})
    code, _, err = project.run("plan", "--storage-timeout", "0")
    assert code == 1 and "--storage-timeout must be a positive number" in err  # a usage error: 1, never 2



def test_the_prefetch_helper_hands_back_an_explained_failure_instead_of_a_second_read(project):
    """The sync's helper process reads the target through the same path as the plain code; a
    failure that path explains (here: no such bucket) is handed back, so the store is asked
    once, not once by the helper and again by the parent, and the message is the same. (With
    static credentials the helper reads without the SDK, compiler/fastpath/s3_raw.py: the state
    and the listing, 2 requests, where s3fs also asks for the root and the bucket.)"""
    missing = b"<Error><Code>NoSuchBucket</Code><Message>The specified bucket does not exist</Message></Error>"
    seen = {}
    for fastpath in ("0", "1"):
        with Recorder(status=404, payload=missing) as store:
            project.write({1: "src/model.onnx"}, targets={"t": TARGETS["s3"](store.url)})
            env = {"TRITON_GITOPS_ALLOWED_ENDPOINTS": store.url, "TRITON_GITOPS_FASTPATH": fastpath}
            code, out, err = project.run("plan", "--target", "t", env=env, timeout=120)
        errors = [line for line in err.splitlines() if line.startswith("triton-gitops: error:")]
        seen[fastpath] = (code, errors, len(store.log))
    assert seen["0"][0] == seen["1"][0] == 1
    assert seen["0"][1] == seen["1"][1] and "bucket" in seen["1"][1][0], seen
    assert 0 < seen["1"][2] <= seen["0"][2], f"requests plain / with the helper: {seen['0'][2]} / {seen['1'][2]}"
