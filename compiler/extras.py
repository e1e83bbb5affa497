"""Which `pip install triton-gitops[EXTRA]` brings the storage SDK a URL needs.

The cloud SDKs are optional (pyproject.toml): a plain install validates, compiles and syncs to
folders. A URL on a cloud whose SDK is missing is an error that names the extra to install,
not fsspec's "Install s3fs to access S3".
"""
from __future__ import annotations

from compiler.errors import FatalError

_EXTRA_OF_SCHEME = {"s3": "s3", "s3a": "s3", "gs": "gcs", "gcs": "gcs", "az": "azure", "abfs": "azure",
                    "abfss": "azure", "adl": "azure"}
_PACKAGE_OF_EXTRA = {"s3": "s3fs", "gcs": "gcsfs", "azure": "adlfs"}


def extra_for(url: str) -> str:
    """The extra whose SDK reads `url` ("" for a scheme no extra covers)."""
    scheme = url.split("://", 1)[0].lower() if "://" in url else ""
    return _EXTRA_OF_SCHEME.get(scheme, "")


def missing_extra(url: str, what: str, exc: ImportError) -> FatalError | None:
    """The error for `what` (e.g. "target s3://b/m") when opening it failed on a missing SDK;
    None when no extra covers the scheme (then the caller's own message stands)."""
    extra = extra_for(url)
    if not extra:
        return None
    package = _PACKAGE_OF_EXTRA[extra]
    # fsspec says "Install s3fs to access S3"; anything else is a broken install worth quoting.
    why = f"{package} is not installed" if str(exc).startswith("Install ") else f"{package}: {exc}"
    return FatalError(f"{what}: {url.split('://', 1)[0]}:// storage needs the [{extra}] extra ({why})",
                      f"pip install 'triton-gitops[{extra}]' (or 'triton-gitops[all]' for S3, GCS and Azure)")
