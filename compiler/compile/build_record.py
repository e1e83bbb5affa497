"""The build record: what the last compile read and wrote, so that the next one can tell
in a few milliseconds that nothing changed (as make, ninja and git's index do).

Kept in the cache folder, one file per output folder, never in the output itself (whose
bytes must depend on the manifest alone). It holds the stat stamp (size, mtime, ctime,
inode) of every input (the manifest, models.lock, each source file and folder) and of
every output file and folder, with each output's sha256. The record is only a shortcut: when anything
differs, or cannot be told apart with certainty, the caller does the full run, which
decides by content. It is never written for remote sources, whose state a stat cannot see.

"Cannot be told apart" is git's racy case: a file changed within the same clock tick as
the moment it was looked at keeps its mtime. So inputs touched at or after the moment the
compile started (measured with the file system's own clock) make the record unusable,
and outputs touched at or after the compile finished writing are checked by sha256.
"""
from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import stat as stat_mod
import sys
import tempfile
from pathlib import Path

from compiler import __version__
from compiler.compile.assemble import stamp
from compiler.control_files import COMPILED_NAME, CONTROL_NAMES
from compiler.manifest.sources import source_boundary
from compiler.storage.files import sha256_file, write_atomic

FORMAT = 1
MARKER = COMPILED_NAME  # says "this folder is ours to replace"
_SKIPPED = {"__pycache__"}  # Python writes these next to the tool's own modules


def fingerprint(path) -> list | None:
    """lstat stamp (plus the target's for a symlink); None if the path does not exist."""
    try:
        st = os.lstat(path)
        found = stamp(st)
        if stat_mod.S_ISLNK(st.st_mode):
            found += stamp(os.stat(path))
        return found
    except FileNotFoundError:
        return None


def tool_fingerprint() -> str:
    """Changes whenever the code that renders could: this package's files, the protobuf and
    tritonclient modules it renders with, the Python running it."""
    digest = hashlib.sha256(f"{__version__} {sys.version}".encode())
    package = Path(__file__).resolve().parents[1]
    for folder, subfolders, files in os.walk(package):
        subfolders[:] = sorted(d for d in subfolders if d not in _SKIPPED)
        for name in sorted(files):
            if name.endswith(".py"):
                path = os.path.join(folder, name)
                digest.update(f"{path} {stamp(os.stat(path))}".encode())
    # Located without importing them (tritonclient.grpc pulls in numpy): an upgrade rewrites
    # these files, which changes their stamps.
    packages: tuple[tuple[str, tuple[str, ...]], ...] = (
        ("google.protobuf", ("__init__.py", "text_format.py", "json_format.py")),
        ("tritonclient", ("__init__.py", "grpc/model_config_pb2.py")))
    for package_name, package_files in packages:
        spec = importlib.util.find_spec(package_name)
        package_folder = os.path.dirname(spec.origin) if spec and spec.origin else ""
        for name in package_files:
            path = os.path.join(package_folder, name)
            digest.update(f"{path} {fingerprint(path)}".encode())
    return digest.hexdigest()


def clock_now(out: Path):
    """The file system's own "now" (ns) where the output goes: a temporary file's mtime in
    the nearest existing folder above `out` (not in it: that would change the folder's own
    stamp), deleted at once. None if nothing can be written there."""
    folder = Path(out).absolute().parent
    while not folder.is_dir() and folder != folder.parent:
        folder = folder.parent
    try:
        fd, name = tempfile.mkstemp(prefix=".triton-gitops-clock-", dir=folder)
    except OSError:
        return None
    try:
        return os.fstat(fd).st_mtime_ns
    finally:
        os.close(fd)
        os.unlink(name)


def _walk(folder: str, found: dict) -> None:
    """Every folder and file under a source folder, symlinks followed as the compiler does."""
    stack = [folder]
    while stack:
        current = stack.pop()
        for item in os.scandir(current):
            found[item.path] = fingerprint(item.path)
            if item.is_dir():  # follows links: list_local does, within the source
                stack.append(item.path)


def input_stamps(manifest, lock_file: Path) -> dict:
    """{absolute path: fingerprint} of everything a compile of `manifest` reads."""
    found = {str(manifest.path): fingerprint(manifest.path), str(lock_file): fingerprint(lock_file)}
    for model in manifest.models.values():
        paths = [v.local_path for v in model.versions.values()] + [f.local_path for f in model.files.values()]
        paths += [w.local_path for w in model.warmups if w.source]
        for path in paths:
            if path is None:
                continue
            path = str(path)
            found[path] = fingerprint(path)
            if os.path.isdir(path):
                _walk(path, found)
    return found


def key_of(out: Path, manifest: Path, manifest_sha256: str, display: str, lock_mode: str, boundary) -> dict:
    # The manifest's real path too: the same bytes elsewhere name other sources.
    return {"format": FORMAT, "tool": tool_fingerprint(), "out": os.path.abspath(out), "manifest": str(manifest),
            "manifest_sha256": manifest_sha256, "display": display, "lock": lock_mode,
            "boundary": str(boundary) if boundary else None}


def _tree_stamps(out: Path, written: dict) -> dict:
    folders = {""} | {p.rsplit("/", 1)[0] for p in written if "/" in p}
    for path in list(folders):
        while "/" in path:
            path = path.rsplit("/", 1)[0]
            folders.add(path)
    return {f: fingerprint(out / f if f else out) for f in sorted(folders)}


def record_path(out: Path, cache_root: Path) -> Path:
    """Where the record of `out` is kept: in the run's cache folder (`Settings.cache_root`)."""
    where = os.path.abspath(out)
    return cache_root / "builds" / (hashlib.sha256(where.encode()).hexdigest()[:32] + ".json")


def save(out: Path, cache_root: Path, key: dict, started, inputs: dict, written: dict, report: dict) -> None:
    """Stamp the output (after the swap, so the stamps are final) and write the record."""
    finished = clock_now(out)
    if finished is None:
        return
    record = {"key": key, "started": started, "finished": finished,
              "inputs": inputs, "folders": _tree_stamps(out, written), "files": written, "report": report}
    path = record_path(out, cache_root)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, json.dumps(record, separators=(",", ":")))


def forget(out: Path, cache_root: Path) -> None:
    """Drop the record of `out` (before replacing it, so that a failure leaves none)."""
    try:
        os.unlink(record_path(out, cache_root))
    except OSError:
        pass


def _newer(found, since) -> bool:
    return found is not None and max(found[1], found[2]) >= since


def _used(out: Path, cache_root: Path) -> None:
    """`cache prune` drops records not used for N days (by mtime): this one was just used."""
    try:
        os.utime(record_path(out, cache_root))
    except OSError:
        pass  # a read-only cache: the record may go after N days, costing one full compile


def load(out: Path, cache_root: Path):
    try:
        record = json.loads(record_path(out, cache_root).read_bytes())
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def inputs_unchanged(record: dict, key: dict) -> bool:
    if record.get("key") != key or record.get("started") is None:
        return False
    started = record["started"]
    for path, recorded in record["inputs"].items():
        found = fingerprint(path)
        if found != recorded or _newer(found, started):
            return False
    return True


def outputs_unchanged(record: dict, out: Path) -> bool:
    written_at = record["finished"]
    folders, files = record["folders"], record["files"]
    root = str(out)
    for rel, recorded in folders.items():
        path = os.path.join(root, rel) if rel else root
        found = fingerprint(path)
        if found != recorded:
            return False
        if _newer(found, written_at) and not _same_names(path, rel, folders, files):
            return False
    for rel, recorded in files.items():
        path = os.path.join(root, rel)
        found = fingerprint(path)
        if found != recorded[:4]:
            return False
        if _newer(found, written_at) and sha256_file(path) != recorded[4]:
            return False
    return True


def _same_names(path: str, rel: str, folders: dict, files: dict) -> bool:
    """A folder touched in the record's own clock tick: compare its entries by name."""
    prefix = rel + "/" if rel else ""
    expected = {p[len(prefix):] for p in list(folders) + list(files)
                if p and p.startswith(prefix) and "/" not in p[len(prefix):]}
    try:
        names = {e.name for e in os.scandir(path)}
        return (names - set(CONTROL_NAMES) if not rel else names) == expected
    except OSError:
        return False


def current_key(out: Path, manifest_path: Path, display: str, lock_mode: str):
    """The key a record must carry to describe this run; None if the manifest is unreadable."""
    try:
        manifest = Path(manifest_path).resolve()
        manifest_sha256 = hashlib.sha256(manifest.read_bytes()).hexdigest()
    except (OSError, RuntimeError):
        return None
    return key_of(out, manifest, manifest_sha256, display, lock_mode, source_boundary(manifest.parent))


def up_to_date(out: Path, key, cache_root: Path) -> dict | None:
    """The recorded report if `out` is exactly what compiling with `key` would write."""
    if key is None or not (out / MARKER).is_file():
        return None
    record = load(out, cache_root)
    if record is None:
        return None
    try:
        if inputs_unchanged(record, key) and outputs_unchanged(record, out):
            _used(out, cache_root)
            return record["report"]
    except (KeyError, TypeError, IndexError, ValueError, OSError):  # damaged or foreign: the full run
        return None
    return None
