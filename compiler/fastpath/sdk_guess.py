"""What the prefetch helper (prefetch.py) does before it knows the target: import its SDK.

Importing fsspec's S3, GCS or Azure implementation is the longest leg of a no-op sync
(docs/benchmarks.md, Sync), so the helper starts on it at once, in parallel with the manifest loading in
the parent. Which SDK? A `--target` URL says; a target *name* (what the GitHub workflows
pass) is looked up in the manifest's text with a quick scan, since the parent only knows for
sure once the YAML is loaded. Everything here is a guess that can only save time: the target
the parent resolves decides what is read, and a wrong guess merely imports one SDK too many.
Runs in the helper process only.
"""
from __future__ import annotations

import os
import re
import sys
from contextlib import contextmanager

_TARGETS = re.compile(r"^targets\s*:", re.M)
_URL = re.compile(r"""\burl\s*:\s*["']?([A-Za-z][A-Za-z0-9+.-]*)://""")
_BYTES = 1 << 20  # a manifest longer than this is looked at no further


def import_sdk(requested: str, manifests, scheme: str = "") -> None:
    """Import fsspec and the filesystem class the target `requested` probably needs (`scheme`:
    already found by `guess`)."""
    import fsspec  # noqa: PLC0415 - fastpath: the child's, after the fork (fsspec ~130 ms)

    scheme = (scheme or guess(requested, manifests)[0]).lower()
    if not scheme:
        return
    try:
        if scheme in ("s3", "s3a"):
            with _no_ca_file():
                import aiohttp  # noqa: F401, PLC0415 - see _no_ca_file; the child's, s3 only (aiohttp ~300 ms)
        fsspec.get_filesystem_class(scheme)
    except Exception:  # noqa: BLE001 - the parent will say what is wrong with the URL
        return
    quick_timestamps()


def guess(requested: str, manifests) -> tuple:
    """(scheme, the target's lines in the manifest) of `requested`, a URL or a target name,
    from one read of the first readable manifest of `manifests`, as text: the lines of the key
    under `targets:` (flow or block style); "" for what is not known."""
    if "://" in requested:
        return requested.split("://", 1)[0].lower(), ""
    text = target_text(requested, manifests)
    url = _URL.search(text)
    return (url.group(1).lower() if url else ""), text


def target_text(name: str, manifests) -> str:
    """The lines of target `name` under `targets:` in the first readable manifest of `manifests`
    ("" if not found)."""
    for path in manifests:
        try:
            with open(path, encoding="utf-8", errors="replace") as handle:
                text = handle.read(_BYTES)
        except OSError:
            continue
        targets = _TARGETS.search(text)
        key = targets and re.compile(rf"""^([ \t]*)["']?{re.escape(name)}["']?[ \t]*:""", re.M).search(
            text, targets.end())
        if not key:
            return ""
        lines = text[key.start():].split("\n")
        block = [lines[0]]
        for line in lines[1:]:
            if line.strip() and len(line) - len(line.lstrip()) <= len(key.group(1)):
                break  # the next key at the target's own level (or above)
            block.append(line)
        return "\n".join(block)
    return ""


@contextmanager
def _no_ca_file():
    """aiohttp builds two default SSL contexts when imported, and OpenSSL parses the whole CA
    bundle for each (a tenth of this helper's path on Debian). aiobotocore never
    uses them: it passes a context of its own (AWS_CA_BUNDLE or its default bundle, built when
    the client is made, after this) to every connection. So for S3 the import runs with
    SSL_CERT_FILE pointing at an empty file. It fails closed, never open: those contexts then
    trust fewer roots, not more."""
    saved = os.environ.get("SSL_CERT_FILE")
    os.environ["SSL_CERT_FILE"] = os.devnull
    try:
        yield
    finally:
        if saved is None:
            del os.environ["SSL_CERT_FILE"]
        else:
            os.environ["SSL_CERT_FILE"] = saved


def quick_timestamps() -> None:
    """botocore parses every LastModified of a listing through dateutil (a third of the parsing
    of a 600-file S3 listing); ISO 8601, which S3 listings use, is parsed by the standard
    library in a tenth of the time, and nothing this process reads looks at the value
    anyway (an S3 object's stamp is its ETag). Anything else goes to botocore's own parser.
    Only in the helper process, only if botocore is loaded and still has that default."""
    parsers = sys.modules.get("botocore.parsers")
    slow = getattr(parsers, "DEFAULT_TIMESTAMP_PARSER", None)
    if slow is None or getattr(slow, "quick", False):
        return
    from datetime import datetime  # noqa: PLC0415 - fastpath: the child's, only with botocore loaded

    def parse(value):
        try:
            parsed = datetime.fromisoformat(value)
        except (TypeError, ValueError):
            return slow(value)
        return parsed if parsed.tzinfo is not None else slow(value)

    parse.quick = True  # type: ignore[attr-defined]  # a mark on the function, read back by the next call
    parsers.DEFAULT_TIMESTAMP_PARSER = parse  # type: ignore[union-attr]  # imported above when None
