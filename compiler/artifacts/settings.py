"""How this run treats model artifacts and storage: lock checking, fetching, cache location,
parallelism, and the storage policy (which endpoints and variables a manifest may use).

A command builds one `Settings` from its options and the environment (`for_run`) and hands
it down explicitly: pipeline -> manifest (the policy) -> compile -> artifacts, and the sync
engine and its target, lock, rollout and PR report. A stage that needs another mode for one step says so at the call
(`dataclasses.replace(settings, fetch=False)`); nothing is read from a global.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path

from compiler.errors import FatalError
from compiler.storage import policy as storage_policy
from compiler.storage import stores
from compiler.storage.policy import Policy

PART_JOBS_ENV = "TRITON_GITOPS_PART_JOBS"
DEFAULT_PART_JOBS = 4

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
    # Parts of one big file in flight at once (S3 multipart, Azure blocks: compiler/sync/transfer.py),
    # each held in memory by the SDK; `for_run`: TRITON_GITOPS_PART_JOBS, else the default.
    part_jobs: int = DEFAULT_PART_JOBS
    # Cores another process of this run keeps busy meanwhile (sync's prefetch helper, which
    # is then the longest leg of the run): hashing local files leaves them to it.
    busy_cores: int = 0
    # Seconds a store may take to answer a listing or small read, retries included (`for_run`:
    # --storage-timeout, else TRITON_GITOPS_STORAGE_TIMEOUT, else the default; 0, in a Settings()
    # built without it, lets compiler/storage/stores.py read the same).
    storage_timeout: float = 0.0
    # Which endpoints and ${VARIABLES} a manifest's sources and targets may use (compiler/storage/
    # policy.py): a command's is loaded from its environment by `for_run`; the default is the
    # strictest (the clouds' own endpoints, no variable).
    policy: Policy = storage_policy.DEFAULT

    @classmethod
    def for_run(cls, locked: bool = False, storage_timeout: float | None = None, with_policy: bool = True) -> Settings:
        """The settings of one command run: `--locked`, `--storage-timeout`, and the environment
        (TRITON_GITOPS_CACHE_DIR / XDG_CACHE_HOME, TRITON_GITOPS_JOBS, TRITON_GITOPS_PART_JOBS,
        TRITON_GITOPS_STORAGE_TIMEOUT, the storage policy's variables and the endpoints it
        trusts) read once, now. `with_policy=False`: the strictest policy stands in until
        `with_run_policy` loads the run's (compile's up-to-date check needs none)."""
        return cls(lock=LOCK_STRICT if locked else LOCK_WARN, cache_dir=str(default_cache_dir()),
                   jobs=_jobs_from_environment(), part_jobs=_part_jobs_from_environment(),
                   storage_timeout=storage_timeout or stores.storage_timeout(),
                   policy=storage_policy.load() if with_policy else storage_policy.DEFAULT)

    def with_run_policy(self) -> Settings:
        """These settings with the storage policy of the environment (storage_policy.load)."""
        return replace(self, policy=storage_policy.load())

    @property
    def cache_root(self) -> Path:
        return Path(self.cache_dir) if self.cache_dir else default_cache_dir()

    @property
    def workers(self) -> int:
        return self.jobs if self.jobs > 0 else _jobs_from_environment()

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


def _part_jobs_from_environment() -> int:
    text = os.environ.get(PART_JOBS_ENV, "").strip()
    if not text:
        return DEFAULT_PART_JOBS
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise FatalError(f"{PART_JOBS_ENV}={text!r}: not a whole number of at least 1",
                         f"set it to the parts of one big file to upload at once (default {DEFAULT_PART_JOBS}), "
                         "or unset it")
    return value


def _jobs_from_environment() -> int:
    try:
        return max(1, int(os.environ.get("TRITON_GITOPS_JOBS", "8")))
    except ValueError:
        return 8
