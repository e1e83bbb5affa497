"""Where a version's bytes are: a local file or folder, or an fsspec URL, listed without reading.

Listing is cheap (a stat walk on disk, one HEAD or LIST on a store) and yields every file
with its size and, for a store, the stamp the store changes on each rewrite (S3 ETag and
LastModified, GCS generation, Azure ETag, HTTP ETag/Last-Modified). The stamp is what
lets a later run trust an earlier download without reading the object again.
"""
from __future__ import annotations

import json
import os
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional
from urllib.parse import urlsplit, urlunsplit

from compiler.artifacts.digest import bad_name
from compiler.errors import Problem

FILE, FOLDER = "file", "folder"
_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")
# Info fields that change whenever an object is rewritten, per store (size is added apart).
_STAMP_FIELDS = ("VersionId", "generation", "ETag", "etag", "LastModified", "last_modified", "updated",
                 "Last-Modified", "md5Hash", "mtime")
_HTTP = ("http", "https")


@dataclass(frozen=True)
class Origin:
    """One remote file a version is made of. Sync copies it server-side when it can."""

    url: str  # protocol://path of this one file (query strings kept: signed URLs need them)
    protocol: str  # fsspec's name for the store: s3, gcs, abfs, https, ...
    path: str  # the path inside the filesystem, as fsspec wants it
    size: int
    stamp: str  # "" when the store gives no validator: then nothing about it is trusted
    sha256: str = ""  # known digest ("" until computed or recalled)
    md5: str = ""  # content md5 when known (store-reported or computed)
    storage_options: dict = field(default_factory=dict, repr=False, compare=False, hash=False)


@dataclass
class ArtifactFile:
    rel: str  # POSIX path inside the version folder; "" for a single-file source
    size: int
    local: Optional[Path] = None  # bytes on this machine: the source itself or a cache blob
    origin: Optional[Origin] = None  # set for remote files
    sha256: str = ""
    md5: str = ""
    fetched: bool = False  # downloaded during this run (False: from the cache, or local)


def display_url(url: str) -> str:
    """A URL fit for messages: no user info, no query (SAS tokens, signatures)."""
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit((parts.scheme, netloc, parts.path, "…" if parts.query else "", ""))


def expand_env(value, where: tuple, problems: list):
    """${VAR} and ${VAR:-default} in every string, like targets; a missing VAR is a problem."""
    if isinstance(value, dict):
        return {k: expand_env(v, where + (k,), problems) for k, v in value.items()}
    if isinstance(value, list):
        return [expand_env(v, where + (i,), problems) for i, v in enumerate(value)]
    if not isinstance(value, str):
        return value

    def replace(match):
        found = os.environ.get(match.group(1))
        if found is None or (found == "" and match.group(2) is not None):
            if match.group(2) is not None:
                return match.group(2)
            problems.append(Problem(f"${{{match.group(1)}}} is not set", "source-env", where,
                                    hint=f"export {match.group(1)}=... or write ${{{match.group(1)}:-default}}"))
            return ""
        return found
    return _ENV_REF.sub(replace, value)


class Filesystems:
    """One fsspec filesystem per (protocol, options) for a run: connections are reused, and
    listings are never served from a cache older than this run."""

    def __init__(self):
        self._lock = threading.Lock()
        self._open: dict = {}

    def get(self, url: str, options: dict):
        import fsspec

        protocol = fsspec.core.split_protocol(url)[0] or "file"
        key = (protocol, json.dumps(options, sort_keys=True, default=str))
        with self._lock:
            if key not in self._open:
                extra = {} if protocol in _HTTP else {"use_listings_cache": False}
                self._open[key] = fsspec.filesystem(protocol, skip_instance_cache=True, **extra, **options)
            fs = self._open[key]
        return fs, (url if protocol in _HTTP else fs._strip_protocol(url))


def stamp_of(info: dict) -> str:
    values = {k: str(info[k]) for k in _STAMP_FIELDS if info.get(k) not in (None, "")}
    return json.dumps(values, sort_keys=True) if values else ""


def store_md5(info: dict) -> str:
    """The content md5 a store reports, as hex; "" if it reports none (or an S3 multipart ETag)."""
    import base64
    import binascii

    if info.get("md5Hash"):
        try:
            return base64.b64decode(info["md5Hash"]).hex()
        except (binascii.Error, ValueError):
            return ""
    settings = info.get("content_settings")
    # azure-storage-blob's ContentSettings reads like a dict but is not one
    md5 = settings.get("content_md5") if hasattr(settings, "get") else None
    if md5:
        return bytes(md5).hex()
    etag = str(info.get("ETag") or "").strip('"').lower()
    return etag if re.fullmatch(r"[0-9a-f]{32}", etag) else ""


def list_local(path: Path, doc_path: tuple, problems: list) -> tuple:
    """(kind, files) of a local source; files sorted by path, skipped names left out."""
    from compiler.compile.tree import SKIPPED_NAMES

    if path.is_file():
        return FILE, [ArtifactFile("", path.stat().st_size, local=path)]
    root = os.path.realpath(path)
    # Real paths are worked out only where a symlink is met: a plain folder's real path is its
    # parent's plus its name, and resolving thousands of version folders costs real time.
    files, stack = [], [(path, "", root)]
    while stack:
        current, prefix, current_real = stack.pop()
        try:
            items = sorted(os.scandir(current), key=lambda e: e.name)
        except OSError as exc:
            problems.append(Problem(f"cannot read source folder {current}: {exc.strerror}", "source-unreadable",
                                    doc_path))
            continue
        for item in items:
            rel = prefix + item.name
            if item.name in SKIPPED_NAMES:
                continue
            try:
                linked = item.is_symlink()
                real = os.path.realpath(item.path) if linked else os.path.join(current_real, item.name)
                if linked and not (real == root or real.startswith(root + os.sep)):
                    problems.append(Problem(f"{rel} in {path} is a symlink to {real}, outside the source folder",
                                            "source-symlink-escape", doc_path,
                                            hint="copy the file into the folder instead of linking out of it"))
                    continue
                if item.is_dir():
                    if linked and (current_real == real or current_real.startswith(real + os.sep)):
                        problems.append(Problem(f"{rel} in {path} links back to a folder it is in ({real})",
                                                "source-symlink-loop", doc_path,
                                                hint="remove the link; a model folder cannot contain itself"))
                        continue
                    stack.append((Path(item.path), rel + "/", real))
                elif item.is_file():
                    if _refuse_name(rel, path, doc_path, problems):
                        continue
                    files.append(ArtifactFile(rel, item.stat().st_size, local=Path(item.path)))
            except OSError as exc:
                problems.append(Problem(f"cannot read {rel} in {path}: {exc.strerror}", "source-unreadable",
                                        doc_path))
    files.sort(key=lambda f: f.rel.encode("utf-8"))
    return FOLDER, files


def _refuse_name(rel: str, where, doc_path, problems) -> bool:
    if bad_name(rel):
        problems.append(Problem(f"{rel!r} in {where}: a file name with a newline or backslash cannot be "
                                "part of a model folder", "source-file-name", doc_path))
        return True
    return False


def list_remote(url: str, options: dict, filesystems: Filesystems, doc_path: tuple, problems: list):
    """(kind, files) of a URL source, or (None, []) after reporting why it cannot be listed."""
    from compiler.compile.tree import SKIPPED_NAMES

    shown = display_url(url)
    protocol = url.split("://", 1)[0].lower()
    if protocol in _HTTP and urlsplit(url).path.endswith("/"):
        problems.append(Problem(f"{shown}: an {protocol}:// source must be one file (a web server cannot list a "
                                "folder)", "source-http-folder", doc_path,
                                hint="point at the file itself; a folder source must be local or on an object "
                                     "store (s3://, gs://, az://)"))
        return None, []
    try:
        fs, path = filesystems.get(url, options)
        info = fs.info(path)
        if info.get("type") != "directory":
            origin = _origin(fs, protocol, url, path, info, options)
            return FILE, [ArtifactFile("", origin.size, origin=origin)]
        listing = fs.find(path, detail=True, withdirs=False)
    except FileNotFoundError:
        problems.append(Problem(f"source {shown} does not exist", "source-missing", doc_path,
                                hint="check the URL, and that these credentials can see it"))
        return None, []
    except Exception as exc:  # noqa: BLE001 - any SDK error: report it at the source
        problems.append(Problem(f"cannot read source {shown}: {type(exc).__name__}: {_first_line(exc)}",
                                "source-unreadable", doc_path,
                                hint="check the URL, storage_options and credentials (rerun with "
                                     "TRITON_GITOPS_DEBUG=1 for details)"))
        return None, []
    base = path.rstrip("/") + "/"
    files = []
    for name, item in sorted(listing.items()):
        rel = name[len(base):] if name.startswith(base) else name
        if not rel or rel.endswith("/") or any(part in SKIPPED_NAMES for part in rel.split("/")):
            continue  # folder markers and skipped names
        if _refuse_name(rel, shown, doc_path, problems):
            continue
        child = url.rstrip("/") + "/" + rel
        files.append(ArtifactFile(rel, int(item.get("size") or 0),
                                  origin=_origin(fs, protocol, child, name, item, options)))
    if not files:
        problems.append(Problem(f"source folder {shown} holds no files", "source-missing", doc_path))
        return None, []
    files.sort(key=lambda f: f.rel.encode("utf-8"))
    return FOLDER, files


def _origin(fs, protocol, url, path, info, options) -> Origin:
    return Origin(url, protocol, path, int(info.get("size") or 0), stamp_of(info), md5=store_md5(info),
                  storage_options=options)


def _first_line(exc) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else ""
