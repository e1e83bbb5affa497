"""A big checked-out file's sha256, taken from its Git LFS pointer when git vouches for the file.

A file above GitHub's 100 MB limit lives in a git repository as a Git LFS pointer, and the
pointer git holds in its index names the content's sha256 (`oid sha256:<hex>`) and size: the
digest our hash index would compute. A fresh CI checkout has an empty hash index, so taking
the digest from the pointer spares reading the file (~0.8 s of CPU per GiB) before the first
byte goes up.

The pointer names the file's content only when the work-tree file is the one git wrote from
it (or cleaned into it), untouched since. So it is trusted only when all of these hold:

* the file is tracked, its index entry normal: stage 0, a regular file, neither
  assume-unchanged nor skip-worktree (those bits tell git to stop looking at the file);
* the index blob is an LFS pointer with one sha256 and one size, and that size is the file's;
* the stat data git recorded for the entry when it wrote (or cleaned) the file is exactly the
  file's now: size, mtime and ctime to the nanosecond, inode, device (git's own check below
  compares seconds; an edit that sets mtime back within the second of the recorded ctime
  would pass it);
* the entry is not racily clean: the file's last change (mtime, ctime) is earlier than the
  index file's mtime, to the nanosecond (an entry of the index's own tick is one only reading
  the file could settle, which is our job, not a filter's);
* when the change is also in an earlier second than the index, `git diff-files` says the file
  is unmodified against the index, with git's full stat check (`core.checkStat`,
  `core.trustctime`, `core.ignoreStat` and fsmonitor overridden, whatever the repository's
  config says). An entry of the index's second but of an earlier tick (a fresh clone's last
  files) is racily clean to git as built here, which compares seconds and would read the file
  through the clean filter to settle it: there the recorded stat, equal to the nanosecond,
  settles it, by git's own rule when built with USE_NSEC;
* our own stat key is the same before git was asked and after it answered.

Anything else, or any failure, gives None and the caller hashes the file. The git commands
run with an environment of our own (no GIT_DIR or similar from outside, no pager, no
optional locks, no replace objects, no network, literal paths) and with the LFS filter
switched off, so asking can neither write the repository nor start a program its config
names. Small files are never asked about: below `MIN_SIZE` hashing costs about as much as
asking (docs/sync-internals.md, "The hash index and Git LFS").
"""
from __future__ import annotations

import os
import re
import shutil
import stat as stat_module
import subprocess
from typing import Optional

from compiler.storage.files import stat_key
from compiler.storage.lfs_pointer import MAX_POINTER, parse_pointer

# Below this the file is hashed. Measured here (2 cores, load ~2.5): the whole probe, five git
# processes, 10-13 ms; sha256 of 70 MB ~100 ms, so the two cost the same near 8 MiB. At 32 MiB an
# LFS file saves ~35 ms and a big file that is not LFS (three git processes, then hashed) loses ~7.
MIN_SIZE = 32 << 20
TIMEOUT = 30  # seconds for one git command: a hung git must not hang the run
_REGULAR_MODES = ("100644", "100755")
_DEBUG_FIELD = re.compile(r"\b(ctime|mtime|dev|ino|size): ([0-9:]+)")
_DEBUG_KEYS = ("ctime", "mtime", "dev", "ino", "size")
# The git environment variables that only narrow where git looks for a repository; every other
# GIT_* (GIT_DIR, GIT_INDEX_FILE, GIT_CONFIG_*, GIT_EXTERNAL_DIFF, ...) is dropped.
_KEPT = ("GIT_CEILING_DIRECTORIES", "GIT_DISCOVERY_ACROSS_FILESYSTEM")
_OPTIONS = (
    "--no-pager", "--literal-pathspecs", "--no-replace-objects",
    # git's full stat check, whatever the repository says: these settings weaken it
    "-c", "core.checkStat=default", "-c", "core.trustctime=true", "-c", "core.ignoreStat=false",
    "-c", "core.fsmonitor=false",  # a hook (or daemon) answering for lstat
    # no clean filter: a racily clean entry would be read through it (then it no longer matches
    # the pointer, and is reported modified)
    "-c", "filter.lfs.process=", "-c", "filter.lfs.clean=", "-c", "filter.lfs.smudge=",
    "-c", "filter.lfs.required=false",
    "-c", "protocol.allow=never",  # a partial clone's missing blob is not fetched
)


def pointer_sha256(path, stat) -> Optional[str]:
    """The sha256 of the local file `path` (whose os.stat is `stat`) from its Git LFS pointer,
    or None when git does not vouch for it (then hash it). Never raises for git's answers."""
    if not stat_module.S_ISREG(stat.st_mode) or stat.st_size < MIN_SIZE:
        return None
    git = shutil.which("git")
    if git is None:
        return None
    real = os.path.realpath(path)
    try:
        sha = _vouched_sha256(git, os.path.dirname(real), os.path.basename(real), stat)
        if sha and stat_key(os.stat(real)) == stat_key(stat):  # the file git looked at is ours
            return sha
    except (OSError, ValueError, subprocess.SubprocessError):
        pass
    return None


def _vouched_sha256(git: str, folder: str, name: str, stat) -> Optional[str]:
    env = _environment()

    def run(*args, stdin: Optional[bytes] = None):
        return subprocess.run([git, *_OPTIONS, "-C", folder, *args], input=stdin, env=env, capture_output=True,
                              timeout=TIMEOUT, check=False)

    where = run("rev-parse", "--is-inside-work-tree", "--git-path", "index")
    lines = where.stdout.decode().splitlines()
    if where.returncode != 0 or len(lines) != 2 or lines[0] != "true":
        return None
    index = os.stat(os.path.join(folder, lines[1]))  # --git-path answers relative to `folder`, or absolute
    changed = max(stat.st_mtime_ns, stat.st_ctime_ns)
    if changed >= index.st_mtime_ns:
        return None  # racily clean even to the nanosecond: only reading the file could tell
    listed = run("ls-files", "--stage", "-v", "-t", "--debug", "-z", "--", name)
    entry, _, recorded = listed.stdout.partition(b"\0")
    if listed.returncode != 0 or not entry or b"\0" in recorded:
        return None  # untracked, or unmerged (stages 1-3, one entry each)
    head, _, listed_name = entry.partition(b"\t")
    fields = head.decode().split(" ")
    # "H" is a tracked entry with no bits set: "h" is assume-unchanged, "S"/"s" skip-worktree
    if listed_name != os.fsencode(name) or len(fields) != 4 or fields[0] != "H" or \
            fields[1] not in _REGULAR_MODES or fields[3] != "0" or _recorded_stat(recorded) != _as_recorded(stat):
        return None
    text = _small_blob(run, fields[2])
    pointer = parse_pointer(text) if text is not None else None
    if pointer is None or not pointer.sha256 or pointer.size != stat.st_size:
        return None
    if changed // 10**9 == index.st_mtime_ns // 10**9:
        # racily clean to a git that compares seconds (it would read the file through a filter),
        # not to the nanosecond: the recorded stat, equal to ours to the nanosecond, settles it
        return pointer.sha256
    # exit 0: unmodified against the index; 1: modified (stat-dirty counts); else git failed
    unmodified = run("diff-files", "--quiet", "--no-ext-diff", "--no-textconv", "--", name)
    return pointer.sha256 if unmodified.returncode == 0 else None


def _recorded_stat(debug: bytes) -> Optional[tuple]:
    """The stat data git's index holds for the entry, from `ls-files --debug` (a format for
    people, so anything unexpected gives None)."""
    fields = dict(_DEBUG_FIELD.findall(debug.decode("ascii", "replace")))
    try:
        return tuple(int(part) for key in _DEBUG_KEYS for part in fields[key].split(":"))
    except (KeyError, ValueError):
        return None


def _as_recorded(stat) -> tuple:
    """Our stat in the index's terms: 32-bit fields (size, inode and device wrap), nanoseconds kept."""
    wrap = 0xFFFFFFFF
    return (stat.st_ctime_ns // 10**9, stat.st_ctime_ns % 10**9, stat.st_mtime_ns // 10**9,
            stat.st_mtime_ns % 10**9, stat.st_dev & wrap, stat.st_ino & wrap, stat.st_size & wrap)


def _small_blob(run, oid: str) -> Optional[bytes]:
    """The blob's bytes if it is one of under MAX_POINTER bytes (else None, never reading it)."""
    sized = run("cat-file", "--batch-check", stdin=f"{oid}\n".encode())
    parts = sized.stdout.split()
    if sized.returncode != 0 or len(parts) != 3 or parts[1] != b"blob" or not parts[2].isdigit() or \
            int(parts[2]) >= MAX_POINTER:
        return None
    blob = run("cat-file", "blob", oid)
    return blob.stdout if blob.returncode == 0 else None


def _environment() -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_") or k in _KEPT}
    env.update(GIT_OPTIONAL_LOCKS="0", GIT_TERMINAL_PROMPT="0", GIT_NO_LAZY_FETCH="1", LC_ALL="C")
    return env
