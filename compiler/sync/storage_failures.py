"""Storage failures turned into one clear line: which target, which file, what to do.

The SDKs under fsspec raise their own types (botocore, aiohttp, google-auth, azure-core),
so errors are recognised by class name and message along the exception chain rather than
by importing each SDK. The same classification decides what is worth retrying: network
drops, timeouts, throttling and 5xx are; missing credentials, missing buckets and denied
access are not, and fail at once.
"""
from __future__ import annotations

import random
import time
from typing import Union

from compiler.errors import FatalError
from compiler.storage.stores import StorageTimeout

CREDENTIALS, DENIED, NO_BUCKET, UNREACHABLE, TRANSIENT, OTHER = (
    "credentials", "denied", "no-bucket", "unreachable", "transient", "other")

# (category, needles matched against "ClassName: message" of every exception in the chain)
_PATTERNS = [
    (CREDENTIALS, ("NoCredentialsError", "Unable to locate credentials", "DefaultCredentialsError",
                   "Could not automatically determine credentials", "InvalidAccessKeyId",
                   "SignatureDoesNotMatch", "ExpiredToken", "ClientAuthenticationError",
                   "CredentialUnavailableError", "AuthenticationFailed", "failed to authenticate")),
    (NO_BUCKET, ("NoSuchBucket", "bucket does not exist", "ContainerNotFound", "container does not exist",
                 "bucket or container")),
    (DENIED, ("AccessDenied", "Access Denied", "Forbidden", "AuthorizationFailure",
              "AuthorizationPermissionMismatch", "PermissionError", "does not have storage.")),
    (UNREACHABLE, ("EndpointConnectionError", "ClientConnectorError", "ConnectionRefusedError",
                   "Cannot connect to host", "Could not connect to the endpoint", "ServiceRequestError",
                   "gaierror", "Name or service not known", "Connection refused", "ConnectTimeout",
                   "ServerDisconnectedError", "ConnectionResetError")),
    (TRANSIENT, ("TimeoutError", "ReadTimeout", "SlowDown", "InternalError", "ServiceUnavailable",
                 "Throttl", "TooManyRequests", "RequestTimeout", "IncompleteRead", "ClientPayloadError",
                 "ServiceResponseError", "BrokenPipeError", "VerifyError")),
]

_HINTS: dict[str, Union[str, dict[str, str]]] = {
    CREDENTIALS: {
        "s3": "no usable AWS credentials: set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE, "
              "or run with an instance or workload role",
        "gs": "no usable Google credentials: set GOOGLE_APPLICATION_CREDENTIALS or run "
              "`gcloud auth application-default login`",
        "az": "no usable Azure credentials: set AZURE_STORAGE_CONNECTION_STRING, or AZURE_STORAGE_ACCOUNT_NAME "
              "with AZURE_STORAGE_KEY/AZURE_STORAGE_SAS_TOKEN, or sign in with `az login`",
    },
    DENIED: {
        "s3": "the credentials in use may not do this: they need s3:ListBucket, s3:GetObject, s3:PutObject "
              "and s3:DeleteObject on the bucket",
        "gs": "the credentials in use may not do this: grant roles/storage.objectAdmin on the bucket",
        "az": "the credentials in use may not do this: grant 'Storage Blob Data Contributor' on the container",
        "file": "check the folder's owner and permissions",
    },
    NO_BUCKET: {
        "s3": "create it (`aws s3 mb s3://BUCKET`) or fix the bucket name in the target URL",
        "gs": "create it (`gcloud storage buckets create gs://BUCKET`) or fix the bucket name in the target URL",
        "az": "create it (`az storage container create -n CONTAINER`) or fix the container name in the URL",
    },
    UNREACHABLE: "check the endpoint in the target's storage_options (or AWS_ENDPOINT_URL and the like), "
                 "that the service is up, and the network or proxy settings",
    TRANSIENT: "the storage service kept failing; run the sync again (it resumes where it stopped)",
}


def _chain(exc):
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


def _status(exc):
    for name in ("status_code", "status", "code"):
        value = getattr(exc, name, None)
        if isinstance(value, int) and 100 <= value < 600:
            return value
    return None


def classify(exc) -> str:
    items = list(_chain(exc))
    text = "\n".join(" ".join(c.__name__ for c in type(i).__mro__) + ": " + str(i) for i in items)
    # What the message names beats the bare status: Azure answers a wrong key with a 403.
    for category, needles in _PATTERNS[:2]:
        if any(needle in text for needle in needles):
            return category
    for item in items:
        status = _status(item)
        if status == 401:
            return CREDENTIALS
        if status == 403:
            return DENIED
        if status in (408, 429) or (status or 0) >= 500:
            return TRANSIENT
    for category, needles in _PATTERNS[2:]:
        if any(needle in text for needle in needles):
            return category
    return OTHER


def timed_out(exc):
    """The StorageTimeout in `exc`'s chain, if any: the run's time for retries is used up."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, StorageTimeout):
            return exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return None


def is_transient(exc) -> bool:
    return timed_out(exc) is None and classify(exc) in (TRANSIENT, UNREACHABLE)


def _scheme(target) -> str:
    url = target.url
    if target.local:
        return "file"
    scheme = url.split("://", 1)[0].lower()
    return {"gcs": "gs", "abfs": "az", "abfss": "az", "adl": "az"}.get(scheme, scheme)


def _hint(category: str, target) -> str:
    hint = _HINTS.get(category, "")
    if isinstance(hint, dict):
        return hint.get(_scheme(target), "")
    return hint


def explain(exc, target, doing: str, path: str = "") -> FatalError:
    """A FatalError naming the target and file, with a hint; secrets scrubbed from the message."""
    where = f"{target.display}" + (f": {path}" if path else "")
    gave_up = timed_out(exc)
    if gave_up is not None:
        return FatalError(f"{where}: cannot {doing}: gave up after {gave_up.seconds:g} s: the store kept failing "
                          "or did not answer", "raise the bound with --storage-timeout SECONDS (or "
                          "TRITON_GITOPS_STORAGE_TIMEOUT) if the store is only slow; else check the endpoint")
    category = classify(exc)
    detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if category == NO_BUCKET:
        detail = "the bucket or container does not exist"
    elif category == CREDENTIALS and "credential" not in detail.lower():
        detail = f"credentials missing or rejected ({detail})"
    elif category == UNREACHABLE:
        detail = f"endpoint unreachable ({detail})"
    elif category == DENIED:
        detail = f"access denied ({detail})"
    hint = _hint(category, target) or "rerun with TRITON_GITOPS_DEBUG=1 for details"
    if isinstance(exc, VerifyError):
        hint = "a source file changed, or something rewrites the object, while the sync ran; run it again"
    return FatalError(target.scrub(f"{where}: cannot {doing}: {detail}"), target.scrub(hint))


def with_retries(fn, attempts: int = 5, base: float = 0.2, on_retry=None, within: float = 0.0):
    """Call fn(); on a transient failure wait base*2^n (jittered) and call again. `within`
    (seconds; 0: no bound): a new attempt starts only if it could end within that long of the
    first one's start, judged by the slowest attempt so far, so that our retries on top of the
    SDK's own cannot stretch the storage timeout (a call that failed after 9 s of a 10 s bound,
    say after the SDK's own retries on a dead DNS name, is not made again for another 9 s)."""
    started = time.monotonic()
    slowest = 0.0
    for attempt in range(attempts):
        began = time.monotonic()
        try:
            return fn()
        except Exception as exc:  # classified right below
            now = time.monotonic()
            slowest = max(slowest, now - began)
            pause = base * (2 ** attempt) * (0.5 + random.random())
            spent = within and now + pause + slowest - started > within
            if attempt == attempts - 1 or not is_transient(exc) or spent:
                raise
            if on_retry is not None:
                on_retry(exc, attempt + 1)
            time.sleep(pause)


class VerifyError(OSError):
    """What was uploaded does not read back as what we sent: retried like a network error."""
