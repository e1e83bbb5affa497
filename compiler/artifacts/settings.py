"""How this run treats model artifacts: lock checking, fetching, cache location, parallelism.

The tree is built deep inside `load_and_build`, which every command shares, so the few
run-wide choices reach the resolver through a context variable rather than through every
signature on the way. `compiler.cli.main` resets them for every run and applies
`--locked`; a command may change them further before building the tree.
"""
from __future__ import annotations

import contextlib
import contextvars
import os
from dataclasses import dataclass, replace
from pathlib import Path

# What the lock file means for this run.
LOCK_WARN = "warn"  # drift from models.lock is a warning (plain compile/validate)
LOCK_STRICT = "strict"  # drift, or no entry, is an error (--locked)
LOCK_IGNORE = "ignore"  # the lock is being rewritten (`lock`)


@dataclass(frozen=True)
class Settings:
    lock: str = LOCK_WARN
    # True: every remote file is downloaded into the cache (compile needs local bytes).
    # False: only what must be verified is downloaded; the rest stays remote so that a
    # sync to the same store can copy it server-side.
    fetch: bool = True
    # With fetch=False: still learn every remote file's sha256 (downloading, once, what the
    # cache has never seen) so that content comparisons work; sync wants this.
    digests: bool = False
    cache_dir: str = ""  # "" = TRITON_GITOPS_CACHE_DIR, else the user cache dir
    jobs: int = 0  # parallel transfers; 0 = TRITON_GITOPS_JOBS or 8
    # Cores another process of this run keeps busy meanwhile (sync's prefetch helper, which
    # is then the longest leg of the run): hashing local files leaves them to it.
    busy_cores: int = 0
    # Seconds a store may take to answer a listing or small read, retries included (0: the
    # TRITON_GITOPS_STORAGE_TIMEOUT setting or its default; see compiler/storage/stores.py).
    storage_timeout: float = 0.0

    @property
    def cache_root(self) -> Path:
        return Path(self.cache_dir) if self.cache_dir else default_cache_dir()

    @property
    def workers(self) -> int:
        if self.jobs > 0:
            return self.jobs
        try:
            return max(1, int(os.environ.get("TRITON_GITOPS_JOBS", "8")))
        except ValueError:
            return 8

    @property
    def hash_threads(self) -> int:
        """Threads for hashing local files: CPU work (hashlib lets go of the GIL), so no more
        than the cores left to this process, and no more than `workers`."""
        try:
            cores = len(os.sched_getaffinity(0))
        except (AttributeError, OSError):
            cores = os.cpu_count() or 1
        return max(1, min(self.workers, cores - self.busy_cores))


def default_cache_dir() -> Path:
    """TRITON_GITOPS_CACHE_DIR, else $XDG_CACHE_HOME/triton-gitops/artifacts (~/.cache by default)."""
    explicit = os.environ.get("TRITON_GITOPS_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "triton-gitops" / "artifacts"


_CURRENT: contextvars.ContextVar = contextvars.ContextVar("triton_gitops_artifacts", default=Settings())  # noqa: B039 - frozen
# One Cache object per cache folder for the whole run: the digests the artifacts stage learns
# are then found, in memory, by the sync's change detection (one index, each file read once).
_CACHES: dict = {}


def current() -> Settings:
    return _CURRENT.get()


def configure(**changes) -> Settings:
    """Change the settings for the rest of this context (a command run)."""
    settings = replace(_CURRENT.get(), **changes)
    _CURRENT.set(settings)
    return settings


def reset() -> None:
    _CURRENT.set(Settings())
    _CACHES.clear()  # a new run reads the index afresh (tests run many commands in one process)


def cache():
    """This run's Cache (compiler.artifacts.cache) for the current cache folder."""
    root = current().cache_root
    found = _CACHES.get(str(root))
    if found is None:
        from compiler.artifacts.cache import Cache

        found = _CACHES[str(root)] = Cache(root)
    return found


@contextlib.contextmanager
def using(**changes):
    """Settings for one block only (tests, sync's planning step)."""
    token = _CURRENT.set(replace(_CURRENT.get(), **changes))
    try:
        yield _CURRENT.get()
    finally:
        _CURRENT.reset(token)
