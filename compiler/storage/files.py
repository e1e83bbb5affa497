"""Local files: replaced whole (atomic writes), and hashed streamed (constant memory)."""
from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path

# hashlib drops the GIL on buffers this large, so threads hash in parallel, and the
# per-call overhead vanishes: throughput matches `openssl dgst -sha256` (see bench/).
CHUNK = 4 << 20


def stat_key(stat) -> list:
    """What identifies one state of a local file, like git's index: size, mtime, ctime (which
    nothing can set back, so an edit keeping size and mtime still shows), inode and device.
    The hash index (compiler/artifacts/file_digest.py), the rules' results
    (compiler/fastpath/results.py) and the kept answers (compiler/fastpath/verdict.py) trust a
    file's digest, or an answer, while it is unchanged, and only when it was not `racy` when
    they looked."""
    return [stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino, stat.st_dev]


# git's "racy" rule, the one place it is decided for every cache kept between runs that trusts
# a stat key or a file's stamps. Two writes within one tick of a file system's clock leave the
# same stamps (FAT's ticks every 2 s; SMB servers and other network file systems may round to
# the second), so a stat key taken that close to a write vouches for no content: such a file
# is trusted by the run that read it, never by a later one.
RACY_SECONDS = 2.0


def stamp_ns(stat) -> int:
    """The later of a file's mtime and ctime (ns): what the racy rule compares. Both, because
    mtime can be set back or ahead by hand and ctime is not a change time everywhere (Windows
    reports the creation time)."""
    return max(stat.st_mtime_ns, stat.st_ctime_ns)


def racy(stamp: int, moment_ns: int) -> bool:
    """Whether a stamp (stamp_ns, or the newest of several) is within RACY_SECONDS of
    `moment_ns` (time.time_ns() taken before the file was looked at), or later: a write made
    after that look could have left it unchanged."""
    return stamp >= moment_ns - int(RACY_SECONDS * 1_000_000_000)


def write_atomic(path, data, temp_name: str = "") -> None:
    """Replace `path` whole with `data` (bytes or str): readers see the old file or the new one,
    never half of one. The temporary file is beside it (same file system), named `temp_name`
    or after the file, this process and thread, and removed when the write fails (the error
    is raised)."""
    path = Path(path)
    temp = path.with_name(temp_name or f".{path.name}.{os.getpid()}.{threading.get_ident():x}.tmp")
    raw = data.encode("utf-8") if isinstance(data, str) else data
    try:
        with open(temp, "wb") as handle:
            handle.write(raw)
        os.replace(temp, path)
    except BaseException:
        try:
            temp.unlink()
        except OSError:
            pass
        raise


def sha256_file(path) -> str:
    with open(path, "rb", buffering=0) as handle:
        if hasattr(hashlib, "file_digest"):  # Python >= 3.11: hashes straight from the fd
            return hashlib.file_digest(handle, "sha256").hexdigest()
        return digest_stream(handle, hashlib.sha256())[1]


def md5_file(path) -> str:
    """Only for Triton's checksum agent and store ETags, which know no other algorithm."""
    with open(path, "rb", buffering=0) as handle:
        return digest_stream(handle, hashlib.md5())[1]


def digest_stream(handle, *hashers) -> tuple:
    """(bytes read, hexdigest per hasher) in one pass with a fixed buffer: constant memory
    whatever the size. Shared by the artifacts and the sync's hash cache."""
    buffer = bytearray(CHUNK)
    view = memoryview(buffer)
    size = 0
    while True:
        count = handle.readinto(buffer)
        if not count:
            return (size, *(h.hexdigest() for h in hashers))
        size += count
        for hasher in hashers:
            hasher.update(view[:count])


def digest_path(path, *names) -> tuple:
    """(size, hexdigest per algorithm name) of a file."""
    with open(path, "rb", buffering=0) as handle:
        return digest_stream(handle, *(hashlib.new(name) for name in names))
