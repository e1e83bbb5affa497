"""The sync stage end to end: manifest -> wanted files -> plan against a target -> apply.

The source is the in-memory tree the compiler builds, not a compiled folder, so `plan` and
`sync` need no `compile` first. A no-op run costs one listing and one read of the state
(no lock: a run that finds nothing to do writes nothing), made for an object store by the
prefetch helper while this process loads the manifest; a run with work takes the lock,
then lists and plans again, since another sync may have finished in between.
"""
from __future__ import annotations

import hashlib
import logging
import os
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Optional, Protocol

from compiler import gitinfo
from compiler.answers import PLAIN
from compiler.artifacts.cache import Cache
from compiler.artifacts.checksum import checksum_warnings
from compiler.artifacts.resolve import locked_precheck
from compiler.errors import FatalError
from compiler.pipeline import build
from compiler.storage.stores import speaks
from compiler.sync import expect
from compiler.sync.boundary import check_local_target
from compiler.sync.guard import check_plan
from compiler.sync.hashing import hash_local, wanted_files
from compiler.sync.plan import make_plan
from compiler.sync.promote import mark_copies, read_source
from compiler.sync.read import read_target
from compiler.sync.state import LOCK_NAME, STATE_NAME, read_control, state_from
from compiler.sync.storage_failures import explain
from compiler.sync.target import resolve_target
from compiler.sync.transfer import mark_methods

if TYPE_CHECKING:  # for annotations only: never imported at run time
    from concurrent.futures import Future

    from compiler.artifacts.settings import Settings
    from compiler.compile.tree import Tree
    from compiler.manifest import LoadedManifest
    from compiler.sync.apply import Outcome
    from compiler.sync.plan import Plan
    from compiler.sync.state import State
    from compiler.sync.target import Target

# What only writing needs (the applier, the lock) is imported when a plan has work.


class TargetReader(Protocol):
    """A read of the target made elsewhere while the manifest loads (compiler.fastpath.prefetch's
    helper process): told the target once, it answers (state bytes, Listing) or None; kept, it
    carries out a plan as `write` below would here."""

    def send(self, target) -> None: ...

    def result(self, keep: bool = False): ...

    def write(self, ctx: Context, job: WriteJob, progress, on_plan, revision) -> Result: ...

    def cancel(self) -> None: ...

    def close(self) -> None: ...


@dataclass
class Context:
    loaded: LoadedManifest
    tree: Tree
    target: Target
    hashing: Future  # of {path: Want}: files are hashed while the target is listed
    cache: Cache  # shared with the artifacts stage
    ensembles: set
    manifest_name: str
    settings: Settings  # this run's (the storage timeout of later requests)
    early: Optional[TargetReader] = None  # the target as a helper process read it, used once
    writer: Optional[TargetReader] = None  # that helper, kept to write the plan (sync), once it has read
    copy_from: Optional[tuple] = None  # promote.read_source's answer: another target to copy files from

    @property
    def wants(self) -> dict:
        try:
            return self.hashing.result()
        except OSError as exc:
            raise FatalError(f"cannot read {exc.filename}: {exc.strerror}", "the manifest names a source that "
                             "changed or vanished while hashing; run again") from exc


class IndexedTree:
    """What a target is planned against: the manifest's tree, the run's hash index (the one the
    artifacts stage filled while building the tree: its digests are found there in memory) and,
    once asked for, the files the tree wants ({path: Want}), hashed once however many targets
    are planned against it (drift plans every target of the manifest)."""

    def __init__(self, tree: Tree, cache: Cache):
        self.tree, self.cache = tree, cache
        self._wanted: Optional[Future] = None

    def wanted(self, jobs: int) -> Future:
        """{path: Want}, worked out on a thread of its own the first time (beside the reading
        of the target); the same answer after that."""
        if self._wanted is None:
            # Sources the artifacts stage hashed are index hits by now; any others (extra files,
            # warmup data) are hashed here.
            hashing = ThreadPoolExecutor(max_workers=1, thread_name_prefix="triton-gitops-hash")
            self._wanted = hashing.submit(wanted_files, self.tree, self.cache, jobs)
            hashing.shutdown(wait=False)
        return self._wanted


@dataclass
class Result:
    plan: Plan
    outcome: Optional[Outcome] = None  # None when nothing was written
    state: Optional[State] = None


def git_revision(folder: Path):
    """The manifest's commit (through GitPython, shallow clones included), if it lives in git."""
    try:
        found = gitinfo.revision(folder)
    except Exception:  # noqa: BLE001 - a revision is informative; a broken repository must not stop a sync
        return None
    return found.sha if found else None


def quiet_libraries() -> None:
    """Keep the SDKs' own log records (gcsfs prints whole tracebacks while it retries) off stderr:
    every failure reaches the user once, explained. TRITON_GITOPS_DEBUG=1 shows them."""
    if os.environ.get("TRITON_GITOPS_DEBUG"):
        return  # cli.main turned them on, scrubbed of credentials (compiler/storage/redact.py)
    root = logging.getLogger()
    if not root.handlers:
        root.addHandler(logging.NullHandler())


def prepare(loaded: LoadedManifest, requested_target, settings: Settings, jobs: int, early=None,
            results=PLAIN, built: Optional[IndexedTree] = None):
    """(Context, None) or (None, LoadedManifest with problems) when the manifest does not build.

    `loaded`: the manifest as the command loaded it (compiler.pipeline.load); its tree is built
    here, with a hash index opened here, unless the command built it already (`built`: rollout
    and drift, which plan against a target after loading, hand the tree with the index they built
    it with; the files it wants are then worked out once for all their targets). `settings`:
    this run's (compiler.artifacts.settings); remote version files are left remote for a sync.
    `early` (compiler.fastpath.prefetch.Prefetch, or None) is told the target as soon as the
    manifest names it, so that its reading overlaps the hashing of the sources. `results`:
    answers of earlier runs to reuse (compiler/answers.py)."""
    quiet_libraries()
    with cancelling(early):
        return _prepare(loaded, requested_target, settings, jobs, early, results, built)


@contextmanager
def cancelling(early):
    """The target reader is stopped when what it reads for fails first (loading, planning)."""
    try:
        yield
    except BaseException:
        if early is not None:
            early.cancel()
        raise


def _prepare(loaded, requested_target, settings, jobs, early, results, built):
    found: dict = {}
    timeout = settings.storage_timeout

    def resolve_early(loaded) -> None:
        if not loaded.ok or locked_precheck(loaded.manifest, settings):
            return  # --locked refusals come first, before any request to the target
        try:
            found["target"] = resolve_target(loaded.manifest, requested_target, settings.policy, timeout=timeout)
            check_local_target(found["target"], loaded.manifest, requested_target, loaded.document)
        except FatalError as exc:
            found["error"] = exc  # raised below, after the sources had their say, as before
            return
        if early is not None:
            early.send(found["target"])

    if built is None:
        cache = Cache(settings.cache_root)  # one index for the artifacts stage and the hashing below
        # Remote version files stay remote (their digests known, fetched once if never seen), so
        # that a target on their own store can copy them server-side; others are fetched to upload.
        sync_settings = replace(settings, fetch=False, digests=True, busy_cores=0 if early is None else 1)
        tree = build(loaded, sync_settings, after_load=resolve_early, results=results, cache=cache)
        if tree is None:
            return _failed(loaded, early)
        built = IndexedTree(tree, cache)
    manifest, target, target_error = loaded.manifest, found.get("target"), found.get("error")
    if target_error is not None:
        raise target_error
    if target is None:
        target = resolve_target(manifest, requested_target, settings.policy, timeout=timeout)
        check_local_target(target, manifest, requested_target, loaded.document)
    if early is not None:
        early.send(target)  # nothing to do if already sent
    hashing = built.wanted(jobs)  # beside the reading of the target
    if not target.local and not any(p.rule == "checksum-cloud-target" for p in loaded.problems):
        # A URL given on the command line: the manifest's own targets did not warn about it.
        for problem in checksum_warnings(manifest, target.display):
            loaded.problems.append(loaded.document.place(problem))
    ensembles = {name for name, model in manifest.models.items() if model.config.platform == "ensemble"}
    return Context(loaded, built.tree, target, hashing, built.cache, ensembles, Path(manifest.path).name, settings,
                   early), loaded


def _failed(loaded, early):
    if early is not None:
        early.cancel()
    return None, loaded


def _observe(ctx: Context, prune: bool, keep: bool = False):
    """(plan, state, listing): read the state and list the target, then compare with the wanted files.
    `keep`: a helper that read the target stays, as ctx.writer, to carry the plan out."""
    target = ctx.target
    early, ctx.early = ctx.early, None  # what the helper saw is fresh once, not under the lock
    try:
        seen = early.result(keep=keep) if early is not None else None
        if seen is not None and keep:
            ctx.writer = early
    except TimeoutError as exc:  # the helper used up the time for retries: no second try here
        raise explain(exc, target, "read the target") from exc
    raw, listing = seen if seen is not None else read_target(target)
    state = state_from(raw)
    return _plan(ctx, state, listing, prune), state, listing


def _plan(ctx: Context, state, listing, prune: bool):
    target = ctx.target
    rehash_for = read_for = None
    if target.local:
        def rehash_for(path):
            def rehash(_size):
                try:
                    return hash_local(Path(target.path(path)), ctx.cache)[1]
                except OSError:
                    return None
            return rehash
    else:  # used only for files the manifest dropped whose stamp and md5 cannot tell
        def read_for(path):
            return lambda _size: _remote_sha256(target, path)
    plan = make_plan(ctx.wants, state, listing, prune, rehash_for, read_for)
    mark_methods(plan, target)
    if ctx.copy_from is not None:
        mark_copies(plan, ctx.copy_from)
    return plan


def _remote_sha256(target, path: str):
    """The sha256 of an object on the target, read through; None when it cannot be read (the file
    is then kept: prune deletes only what it knows to be ours)."""
    digest = hashlib.sha256()
    try:
        with target.fs.open(target.path(path), "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    except Exception:  # noqa: BLE001 - unreadable: not proven ours
        return None
    return digest.hexdigest()


def unchanged_since(state, lock, saw_lock: bool) -> bool:
    """Can a plan made before the lock was taken stand under it, without a second listing?

    Every sync that writes to an object-store target holds the lock while it does, and leaves the
    state changed: its final state (new stamps), or when it fails part way, the state with what it
    set out to send marked pending (Applier.record_interrupted; if even that cannot be written,
    it keeps its lock). So when no one held the lock from our listing to our taking it (the
    listing showed none, the lock was free at once) and the state reads back byte for byte as it
    did, no sync wrote in between and the listing is still the target's. Hand edits in that
    window are a race that a second listing would only narrow, not close."""
    return not saw_lock and not lock.contended and lock.beside == state.raw


def copy_from(ctx: Context, requested) -> None:
    """`--from-target`: read the other target now, so the plan can copy from it (promote.py)."""
    if requested:
        ctx.copy_from = read_source(ctx.loaded.manifest, requested, ctx.target, ctx.settings)


def plan_only(ctx: Context, prune: bool = False) -> Result:
    plan, state, _ = _observe(ctx, prune)
    ctx.cache.save()
    _remember(ctx, plan)
    return Result(plan, None, state)


def _remember(ctx: Context, plan) -> None:
    if not plan.needs_write:
        expect.remember_done(ctx.target, ctx.wants, ctx.cache.root)


def _warm_up(target) -> None:
    """Open the store while the prefetch helper reads it, for a run that will probably write:
    the SDK import and (S3) the client are then ready when the lock is taken."""
    try:
        fs = target.fs
        if speaks(fs, "s3"):
            fs.connect()  # s3fs makes its botocore client here (service model, credentials)
    except Exception:  # noqa: BLE001 - the same failure comes back, explained, when it matters
        pass


@dataclass
class WriteJob:
    """What carrying out a plan needs besides the Context: made here, and handed over whole to the
    prefetch helper when that process writes (compiler/fastpath/prefetch.py)."""
    plan: Plan
    state: State
    saw_lock: bool  # the listing the plan was made from showed a lock
    prune: bool
    jobs: int
    force_unlock: bool
    lock_wait: float
    overwrite_unmanaged: bool
    part_jobs: int  # the run's Settings.part_jobs (the helper that writes has no Settings)


def sync(ctx: Context, prune: bool, dry_run: bool, jobs: int, progress, force_unlock: bool = False,
         lock_wait: float = 10.0, on_plan=None, overwrite_unmanaged: bool = False) -> Result:
    """Make the target equal to the manifest. `on_plan(plan)` is called with the plan carried out.

    Refused before anything is written (guard.py): replacing files triton-gitops did not write
    (unless `overwrite_unmanaged`), and on a local target, writing through a symbolic link.
    When the prefetch helper read the target, that process (which has the SDK imported and its
    client made) takes the lock and writes; this one relays its progress (same steps, same
    requests, same results: `write` below runs there)."""
    # The helper writes unless files are copied from another target (read here: --from-target).
    hand_over = ctx.early is not None and not dry_run and ctx.copy_from is None
    if ctx.early is not None and not dry_run and not hand_over and \
            not expect.likely_done(ctx.target, ctx.wants, ctx.cache.root):
        _warm_up(ctx.target)
    try:
        plan, state, listing = _observe(ctx, prune, keep=hand_over)
        ctx.cache.save()
        if dry_run or (not plan.needs_write and not force_unlock):
            if not dry_run and ctx.target.local:
                # Nothing to write (a manifest with no models yet) still leaves the folder Triton serves.
                os.makedirs(ctx.target.root, exist_ok=True)
            _remember(ctx, plan)
            if on_plan:
                on_plan(plan)
            return Result(plan, None, state)
        check_plan(plan, ctx.target, overwrite_unmanaged)  # before the lock: fail fast, nothing written
        job = WriteJob(plan, state, LOCK_NAME in listing.control, prune, jobs, force_unlock, lock_wait,
                       overwrite_unmanaged, ctx.settings.part_jobs)
        folder = Path(os.path.abspath(ctx.loaded.manifest.path)).parent  # type: ignore[union-attr]  # a Context has one
        # Only the final state records the manifest's git revision: GitPython looks it up on a
        # thread of this process while the files are sent (here, or by the helper, which asks).
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="triton-gitops-git") as git:
            revision = git.submit(git_revision, folder).result
            carry_out = ctx.writer.write if ctx.writer is not None else write
            result = carry_out(ctx, job, progress, on_plan, revision)
        if result.outcome is not None or not result.plan.needs_write:
            expect.remember_done(ctx.target, ctx.wants, ctx.cache.root)
        return result
    finally:
        writer, ctx.writer = ctx.writer, None
        if writer is not None:
            writer.close()


def write(ctx: Context, job: WriteJob, progress, on_plan, revision) -> Result:
    """Under the target's lock: check the plan still stands (or make it again), then carry it out.
    `revision()`: the manifest's git revision for the final state (sync looks it up meanwhile)."""
    from compiler.sync.apply import Applier  # noqa: PLC0415 - ~35 ms: only a plan with work writes (plan never does)
    from compiler.sync.target_lock import TargetLock  # noqa: PLC0415 - ~15 ms: only a plan with work takes the lock

    plan, state = job.plan, job.state
    lock = TargetLock(ctx.target, wait=job.lock_wait, force=job.force_unlock, notify=progress.note)
    remote = not ctx.target.local
    try:
        # The state is read again beside the lock's read-back (object stores: one round trip).
        lock.acquire(free=remote and not job.saw_lock, beside=(lambda: read_control(ctx.target, STATE_NAME))
                     if remote else None)
    except FatalError:
        raise
    except Exception as exc:
        raise explain(exc, ctx.target, "take the sync lock") from exc
    applier = None
    try:
        if not (remote and unchanged_since(state, lock, job.saw_lock)):
            plan, state, _ = _observe(ctx, job.prune)  # under the lock: what is there now
        if on_plan:
            on_plan(plan)
        if not plan.needs_write:
            return Result(plan, None, state)
        check_plan(plan, ctx.target, job.overwrite_unmanaged)  # again: another sync may have run meanwhile
        ctx.target.fit(plan)  # a plan made again may need what the provided filesystem cannot do
        applier = Applier(ctx.target, plan, state, ctx.ensembles, job.jobs, progress, revision, ctx.manifest_name,
                          job.part_jobs)
        outcome = applier.run()
        return Result(plan, outcome, outcome.state)
    except BaseException:
        if applier is not None and not applier.record_interrupted():
            # Files may have changed that no state says so: a sync that listed the target before
            # them must not take the lock at once and trust that listing (unchanged_since).
            lock.abandon()
            progress.note(f"warning: the lock on {ctx.target.display} is left in place: this sync could not "
                          "record what it had written; it expires in 5 minutes (a sync on this machine "
                          "takes it over at once), and the next sync reads the whole target again")
        raise
    finally:
        try:
            lock.release()
        except Exception as exc:  # noqa: BLE001 - the sync itself is done; say so and move on
            progress.note(f"warning: could not release the lock on {ctx.target.display}: "
                          f"{ctx.target.scrub(str(exc))}")
