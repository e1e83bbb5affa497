"""Write a tree's files into a new, empty folder, as few system calls as it takes.

Creating files and folders is what a compile spends its time on (on this machine's ext4
a mkdir costs ~0.3 ms of kernel time), so: each folder made once, parents first; each
file opened once with O_EXCL and written in place, copies done in the kernel
(copy_file_range); models written by a few threads at once, since all of it waits on
system calls that release the GIL. Each file's stat and sha256 are kept for the build
record (compiler.compile.build_record), which lets the next run see it is up to date.
"""
from __future__ import annotations

import hashlib
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
_CHUNK = 1 << 20
# Threads writing models at once: past a few, the file system's own locks are the limit.
JOBS = 4


def stamp(st) -> list:
    """What says a file or folder is the one we saw: any write changes mtime or ctime, a
    replacement changes the inode; ctime cannot be set back by hand (`touch -d` cannot)."""
    return [st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino]


def _no_copy_file_range(*_args) -> int:
    raise OSError("copy_file_range is Linux's")


# macOS and Windows have no copy_file_range: there, files are copied through user space.
_copy_file_range = getattr(os, "copy_file_range", _no_copy_file_range)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _copy(fd: int, source, want_digest: bool) -> str:
    """Copy `source` into `fd`; its sha256 if asked (then read through user space)."""
    with open(source, "rb") as src:
        if want_digest:
            digest = hashlib.sha256()
            while chunk := src.read(_CHUNK):
                digest.update(chunk)
                _write_all(fd, chunk)
            return digest.hexdigest()
        in_fd = src.fileno()
        try:
            while _copy_file_range(in_fd, fd, 1 << 30):
                pass
        except OSError:  # not supported between these file systems (or this OS): copy by hand
            os.lseek(fd, 0, os.SEEK_SET)
            os.ftruncate(fd, 0)
            src.seek(0)
            while chunk := src.read(_CHUNK):
                _write_all(fd, chunk)
    return ""


def _write_file(target: str, entry) -> tuple:
    fd = os.open(target, _FLAGS, 0o666)
    try:
        if entry.data is not None:
            _write_all(fd, entry.data)
            digest = hashlib.sha256(entry.data).hexdigest()
        else:
            digest = _copy(fd, entry.source, want_digest=not entry.sha256) or entry.sha256
        return stamp(os.fstat(fd)), digest
    finally:
        os.close(fd)


def _write_model(staging: str, entries: list) -> dict:
    made = set()
    written = {}
    for entry in entries:
        folder = entry.path.rsplit("/", 1)[0]
        if folder not in made:
            # Parents first: "m" sorts before "m/1", and the model folder holds config.pbtxt.
            parts = folder.split("/")
            for depth in range(1, len(parts) + 1):
                prefix = "/".join(parts[:depth])
                if prefix not in made:
                    os.mkdir(os.path.join(staging, prefix))
                    made.add(prefix)
        fingerprint, digest = _write_file(os.path.join(staging, entry.path), entry)
        written[entry.path] = fingerprint + [digest]
    return written


def assemble(tree, staging: Path) -> dict:
    """Write every entry of `tree` under the empty folder `staging`; {path: stamp + [sha256]}."""
    models: dict = {}
    for entry in tree.entries:
        models.setdefault(entry.model, []).append(entry)
    root = str(staging)
    written: dict = {}
    if len(models) < 2:
        for entries in models.values():
            written.update(_write_model(root, entries))
        return written
    with ThreadPoolExecutor(max_workers=min(JOBS, len(models))) as pool:
        for part in pool.map(lambda entries: _write_model(root, entries), models.values()):
            written.update(part)
    return written
