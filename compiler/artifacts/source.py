"""Where a version's bytes are: a local file or folder, or an fsspec URL, listed without reading.

Listing is cheap (a stat walk on disk, one HEAD or LIST on a store) and yields every file
with its size and, for a store, the stamp the store changes on each rewrite (S3 ETag and
LastModified, GCS generation, Azure ETag, HTTP ETag/Last-Modified). The stamp is what
lets a later run trust an earlier download without reading the object again.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional
from urllib.parse import urlsplit

from compiler.artifacts.digest import bad_name
from compiler.errors import Problem
from compiler.storage.stores import Filesystems, store_md5, version_stamp
from compiler.storage.urls import HTTP_SCHEMES, redact_url

FILE, FOLDER = "file", "folder"
# Never copied from a source folder: byte-code caches and VCS metadata are not model files.
SKIPPED_NAMES = {"__pycache__", ".git", ".DS_Store"}


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


def list_local(path: Path, doc_path: tuple, problems: list) -> tuple:
    """(kind, files) of a local source; files sorted by path, skipped names left out."""
    if path.is_file():
        return FILE, [ArtifactFile("", path.stat().st_size, local=path)]
    # Real paths are worked out only where a symlink is met: a plain folder's real path is the
    # source's plus its relative path (None on the stack below), and resolving thousands of
    # version folders that hold no link costs real time (an lstat per part of the path).
    root = None

    def real_root() -> str:
        nonlocal root
        if root is None:
            root = os.path.realpath(path)
        return root

    def real_of(current_real, prefix: str) -> str:
        if current_real is not None:
            return current_real
        return os.path.join(real_root(), prefix[:-1]) if prefix else real_root()

    files: list = []
    stack: list[tuple[Path, str, Optional[str]]] = [(path, "", None)]
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
                real: Optional[str]
                if linked:
                    real = os.path.realpath(item.path)
                    if not (real == real_root() or real.startswith(real_root() + os.sep)):
                        problems.append(Problem(f"{rel} in {path} is a symlink to {real}, outside the source folder",
                                                "source-symlink-escape", doc_path,
                                                hint="copy the file into the folder instead of linking out of it"))
                        continue
                else:
                    real = None if current_real is None else os.path.join(current_real, item.name)
                if item.is_dir():
                    here = real_of(current_real, prefix) if linked else None
                    if linked and here is not None and real is not None and (here == real or here.startswith(real + os.sep)):
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
    shown = redact_url(url)
    protocol = url.split("://", 1)[0].lower()
    if protocol in HTTP_SCHEMES and urlsplit(url).path.endswith("/"):
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
    return Origin(url, protocol, path, int(info.get("size") or 0), version_stamp(info), md5=store_md5(info),
                  storage_options=options)


def _first_line(exc) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else ""
