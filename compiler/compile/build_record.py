"""The build record: what the last compile read and wrote, so that the next one can tell
in a few milliseconds that nothing changed (as make, ninja and git's index do).

Kept in the cache folder, one file per output folder, never in the output itself (whose
bytes must depend on the manifest alone). It holds the stat stamp (size, mtime, ctime,
inode) of every input (the manifest, models.lock, each source file and folder) and of
every output file and folder, with each output's sha256, and where each of the manifest's local
targets resolves (which decides whether it builds at all). The record is only a shortcut: when anything
differs, or cannot be told apart with certainty, the caller does the full run, which
decides by content. It is never written for remote sources, whose state a stat cannot see.

"Cannot be told apart" is git's racy case: a file changed within the same clock tick as
the moment it was looked at keeps its mtime. So inputs touched at or after the moment the
compile started (measured with the file system's own clock) make the record unusable,
and outputs touched at or after the compile finished writing are checked by sha256.
"""
from __future__ import annotations

import hashlib
import json
import os
import stat as stat_mod
import tempfile
from array import array
from pathlib import Path

from compiler.compile import tool_stamp
from compiler.compile.assemble import stamp
from compiler.control_files import COMPILED_NAME, CONTROL_NAMES
from compiler.manifest import local_target
from compiler.manifest.sources import source_boundary
from compiler.storage.env import variables_digest
from compiler.storage.files import sha256_file, write_atomic

FORMAT = 5  # 5: the local targets' fingerprints (4: the tool is tool_stamp.fingerprint; 3: the storage the answer depends on; 2: paths in lists)
MARKER = COMPILED_NAME  # says "this folder is ours to replace"
_MISSING = (-1, -1, -1, -1)  # the stamp of a path that does not exist
_FORMAT_BITS = 0o170000  # stat.S_IFMT's mask, inlined in the loop that stats every path


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


def survey(paths: list, prefix: str = "") -> tuple[list, list]:
    """(stamps, links) of `paths` (each joined to `prefix`): stamps is flat, size, mtime, ctime
    and inode of each path's lstat in turn (-1 four times for a missing path), then the same of
    the target of each symbolic link; links holds the indices of those links. One tight loop,
    no object per path: at 10,000 models this is 100,000 paths, and the syscalls themselves
    are most of what a dry run costs."""
    found: list = []
    links = []
    add, lstat = found.extend, os.lstat
    for index, path in enumerate(paths):
        try:
            st = lstat(prefix + path)
        except FileNotFoundError:
            add(_MISSING)
            continue
        add((st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino))
        if st.st_mode & _FORMAT_BITS == stat_mod.S_IFLNK:
            links.append(index)
    for index in links:
        try:
            st = os.stat(prefix + paths[index])
        except FileNotFoundError:  # a broken link: recorded as such
            add(_MISSING)
            continue
        add((st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino))
    return found, links


def digest(stamps: list) -> str:
    """One sha256 over a flat list of stamps: the record keeps this, not the 400,000 numbers,
    which would cost more to decode than to compare. Packed as 64-bit integers when they fit
    (they do on common file systems), as text otherwise; the two are told apart by a prefix."""
    try:
        packed = b"q" + array("q", stamps).tobytes()
    except OverflowError:  # an inode number above 2**63 (some network and overlay file systems)
        packed = b"r" + repr(stamps).encode()
    return hashlib.sha256(packed).hexdigest()


def _latest(stamps: list) -> int:
    """The latest mtime or ctime in a flat list of stamps (-1 when there is none)."""
    return max(max(stamps[1::4], default=-1), max(stamps[2::4], default=-1))


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
            found[item.path] = None
            if item.is_dir():  # follows links: list_local does, within the source
                stack.append(item.path)


def input_paths(manifest, lock_file: Path) -> list:
    """The absolute path of everything a compile of `manifest` reads (files and folders)."""
    found = {str(manifest.path): None, str(lock_file): None}  # a dict: ordered, no duplicates
    for model in manifest.models.values():
        paths = [v.local_path for v in model.versions.values()] + [f.local_path for f in model.files.values()]
        paths += [w.local_path for w in model.warmups if w.source]
        for path in paths:
            if path is None:
                continue
            path = str(path)
            found[path] = None
            if os.path.isdir(path):
                _walk(path, found)
    return list(found)


def key_of(out: Path, manifest: Path, manifest_sha256: str, display: str, lock_mode: str, boundary) -> dict:
    # The manifest's real path too: the same bytes elsewhere name other sources.
    return {"format": FORMAT, "tool": tool_stamp.fingerprint().decode(), "out": os.path.abspath(out),
            "manifest": str(manifest), "manifest_sha256": manifest_sha256, "display": display, "lock": lock_mode,
            "boundary": str(boundary) if boundary else None}


def _folders_of(written: dict) -> list:
    """Every folder of the output that holds a written file, "" for the output itself."""
    folders = {""} | {p.rsplit("/", 1)[0] for p in written if "/" in p}
    for path in list(folders):
        while "/" in path:
            path = path.rsplit("/", 1)[0]
            folders.add(path)
    return sorted(folders)


def record_path(out: Path, cache_root: Path) -> Path:
    """Where the record of `out` is kept: in the run's cache folder (`Settings.cache_root`)."""
    where = os.path.abspath(out)
    return cache_root / "builds" / (hashlib.sha256(where.encode()).hexdigest()[:32] + ".json")


def save(out: Path, cache_root: Path, key: dict, started, inputs: list, written: dict, report: dict,
         storage=None, local_targets=()) -> None:
    """Stamp the inputs and the output's folders (after the swap, so the stamps are final) and
    write the record. The files' stamps are the ones taken as each was written (`written`): an
    edit made to one since then must not be vouched for. `storage`: None, or (names, digest)
    from storage.env's target_variables and variables_digest when the answer depends on the storage policy.
    `local_targets`: manifest/local_target.py's fingerprints of the manifest's local targets
    (where each resolves decides whether the manifest builds at all)."""
    finished = clock_now(out)
    if finished is None:
        return
    input_stamps, input_links = survey(inputs)
    folders, files = _folders_of(written), list(written)
    folder_stamps, folder_links = survey(folders, _prefix(out))
    output_stamps = folder_stamps[:4 * len(folders)] + [n for rel in files for n in written[rel][:4]]
    output_stamps += folder_stamps[4 * len(folders):]  # the targets of links (among the folders only)
    record = {"key": key, "started": started, "finished": finished,
              "inputs": inputs, "input_links": input_links, "input_digest": digest(input_stamps),
              "folders": folders, "files": files, "output_links": folder_links,
              "output_digest": digest(output_stamps), "sha256": [written[rel][4] for rel in files],
              "storage": None if storage is None else {"names": storage[0], "digest": storage[1]},
              "local_targets": list(local_targets),
              # the sources for --output json only, kept as text: decoding them costs as much again
              "report": {"summary": report["summary"], "sources_text": report["sources_text"],
                         "sources_json": json.dumps(report["sources"], separators=(",", ":")),
                         "notes": report.get("notes", [])}}  # [key, text] of the loaded manifest's notes
    path = record_path(out, cache_root)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, json.dumps(record, separators=(",", ":")))


def _prefix(out: Path) -> str:
    return str(out).rstrip(os.sep) + os.sep


def forget(out: Path, cache_root: Path) -> None:
    """Drop the record of `out` (before replacing it, so that a failure leaves none)."""
    try:
        os.unlink(record_path(out, cache_root))
    except OSError:
        pass


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
    """Every input as it was, and none touched at or after the compile started."""
    if record.get("key") != key or record.get("started") is None:
        return False
    found, links = survey(record["inputs"])
    return links == record["input_links"] and digest(found) == record["input_digest"] and \
        _latest(found) < record["started"]


def outputs_unchanged(record: dict, out: Path) -> bool:
    """Every folder and file of the output as the compile left it. One touched in the record's
    own clock tick (at or after it finished) is checked by content: its names, its sha256."""
    folders, files = record["folders"], record["files"]
    paths = folders + files
    prefix = _prefix(out)
    found, links = survey(paths, prefix)
    if links != record["output_links"] or digest(found) != record["output_digest"]:
        return False
    written_at = record["finished"]
    if _latest(found) < written_at:
        return True
    names = None
    for index, rel in enumerate(paths):
        if max(found[4 * index + 1], found[4 * index + 2]) < written_at:
            continue
        if index < len(folders):
            names = names if names is not None else _names_by_folder(folders, files)
            if not _same_names(prefix + rel if rel else str(out), rel, names):
                return False
        elif sha256_file(prefix + rel) != record["sha256"][index - len(folders)]:
            return False
    return True


def _names_by_folder(folders: list, files: list) -> dict:
    """{folder: the names the compile wrote in it}."""
    names: dict = {folder: set() for folder in folders}
    for path in folders[1:] + files:  # folders[0] is "", the output itself
        parent, _, name = path.rpartition("/")
        names.setdefault(parent, set()).add(name)
    return names


def _same_names(path: str, rel: str, names: dict) -> bool:
    """A folder touched in the record's own clock tick: compare its entries by name."""
    try:
        found = {e.name for e in os.scandir(path)}
    except OSError:
        return False
    return (found - set(CONTROL_NAMES) if not rel else found) == names.get(rel, set())


def current_key(out: Path, manifest_path: Path, display: str, lock_mode: str):
    """The key a record must carry to describe this run; None if the manifest is unreadable."""
    try:
        manifest = Path(manifest_path).resolve()
        manifest_sha256 = hashlib.sha256(manifest.read_bytes()).hexdigest()
    except (OSError, RuntimeError):
        return None
    return key_of(out, manifest, manifest_sha256, display, lock_mode, source_boundary(manifest.parent))


def up_to_date(out: Path, key, cache_root: Path, policy) -> dict | None:
    """The recorded report if `out` is exactly what compiling with `key` would write, and the
    run would say the same. `policy()`: the run's storage policy, asked for only when the
    record's answer depends on it (storage.env.target_variables) or a local target's URL names a
    variable (manifest/local_target.py: the policy says whether it is expanded)."""
    if key is None or not (out / MARKER).is_file():
        return None
    record = load(out, cache_root)
    if record is None:
        return None
    try:
        storage = record["storage"]
        if inputs_unchanged(record, key) and outputs_unchanged(record, out) and \
                (storage is None or variables_digest(policy(), storage["names"]) == storage["digest"]) and \
                local_target.unchanged(record["local_targets"], key["manifest"], policy):
            _used(out, cache_root)
            return record["report"]
    except (KeyError, TypeError, IndexError, ValueError, OSError):  # damaged or foreign: the full run
        return None
    return None
