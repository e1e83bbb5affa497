"""Carry out a plan in the order a polling Triton can live with, in parallel within each step.

Steps, each finished (and, on object stores, verified: a listing, or for a few files a look
at each) before the next:
 0. object stores: a model whose deployed config would serve a version folder about to be
    uploaded, or changed in two or more files, gets that config with its served versions
    pinned (pinning.py);
 1. version files (on disk: new version folders, and served ones of which two or more files
    change, assembled aside, then renamed or swapped in whole: local.py; on object stores the
    served ones are pinned out in step 0 while they change: pinning.py);
 2. other model files: labels, warmup data;
 3. config.pbtxt of plain models, then of ensembles (so an ensemble never names a step
    model that is not there yet); on disk new models are renamed in here, config included;
 4. with --prune: removed models (ensembles first; on disk renamed out whole, elsewhere
    config.pbtxt first so Triton never sees a config whose files are gone), then files
    and versions that left models still served (their configs stopped naming them in 3; on
    object stores a served version folder pruned file by file is pinned out in step 0 instead,
    and its model's configs are written back here, after its deletes).

Before step 1 the state is rewritten with every file about to be sent marked pending: if
the sync dies (Ctrl-C, kill -9, network), the next one knows those files are ours, checks
them, and converges. After step 4 the state is written with the stamps read back.
"""
from __future__ import annotations

import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Optional

from compiler.errors import FatalError
from compiler.sync.listing import fingerprint, list_target
from compiler.sync.local import LocalWriter
from compiler.sync.pinning import find_pins, write_pins
from compiler.sync.plan import DELETE
from compiler.sync.state import STATE_NAME, Record, State, now_iso, write_control
from compiler.sync.storage_failures import explain, with_retries
from compiler.sync.transfer import SERVER_SIDE, arrived, send

VERIFY_ROUNDS = 3
PIN_SETTLE = 1.1  # seconds between the last file written under a pin and the config written back over it
LOOK_ONE_BY_ONE = 16  # changed files up to this many are verified with one request each, not a listing


class RemoteWriter:
    """Object stores: every file straight to its final key; ordering does the rest."""

    local = False

    def __init__(self, target, part_jobs: int):
        self.target, self.part_jobs = target, part_jobs

    def put(self, change):
        return send(self.target.fs, change.want, self.target.path(change.path), change.method, change.origin,
                    self.part_jobs)

    def delete(self, change) -> None:
        self._rm(change.path)

    def _rm(self, rel: str) -> None:
        try:
            self.target.fs.rm_file(self.target.path(rel))
        except FileNotFoundError:
            pass

    def publish_versions(self) -> None:
        pass

    def publish_models(self, models) -> None:
        pass

    def remove_models(self, deletes, removed_models) -> list:
        return deletes

    def remove_versions(self, deletes) -> list:
        return deletes

    def clean_leftovers(self, leftovers) -> None:
        for rel in leftovers:
            self._rm(rel)

    def finish(self) -> None:
        pass


@dataclass
class Outcome:
    sent_files: int = 0
    sent_bytes: int = 0  # from this machine: server-side copies are not counted
    copied: int = 0  # files copied server-side (counted in sent_files too)
    deleted: int = 0
    state: Optional[State] = None


class Applier:
    def __init__(self, target, plan, state, ensembles, jobs, progress, revision, manifest_name,
                 part_jobs):
        self.target = target
        self.part_jobs = part_jobs  # parts of one big file in flight (Settings.part_jobs)
        self.plan = plan
        self.ensembles = set(ensembles) | (set(state.ensembles) & plan.removed_models)
        self.jobs = max(1, jobs)
        self.progress = progress
        self.journal = State(dict(state.files), state.revision, manifest_name, state.synced_at,
                             ensembles=list(state.ensembles))
        self.revision = revision  # the manifest's commit, or a function returning it (looked up meanwhile)
        self.sent: dict = {}
        self.outcome = Outcome()
        self.writer = None
        self.pins: list = []
        self.writing = False  # set once the first change may have reached the target

    # -- running a step ---------------------------------------------------------------------
    def _run(self, pool, items, work, doing: str) -> None:
        """work(item) for every item in parallel, with retries; the first failure stops the sync."""
        if not items:
            return
        notify = self.progress.note

        def attempt(item):
            def again(exc, n):
                notify(f"retrying {item.path} ({n}): {self.target.scrub(str(exc).splitlines()[0] if str(exc) else '')}")
            return with_retries(lambda: work(item), on_retry=again)

        futures = {pool.submit(attempt, item): item for item in items}
        failure = None
        try:
            pending = set(futures)
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    item = futures[future]
                    exc = future.exception()
                    if exc is not None:
                        failure = failure or (exc, item)
                        for other in pending:
                            other.cancel()
                        continue
                    self._record(item, future.result())
        except BaseException:  # Ctrl-C: let running transfers end, start no new ones
            for future in futures:
                future.cancel()
            raise
        if failure:
            exc, item = failure
            if isinstance(exc, FatalError):
                raise exc
            raise explain(exc, self.target, doing, item.path) from exc

    def _deleted(self, path: str) -> None:
        self.journal.files.pop(path, None)
        self.outcome.deleted += 1
        self.progress.done(DELETE, path, 0)

    def _record(self, change, result) -> None:
        if change.action == DELETE:
            self._deleted(change.path)
        else:
            self.sent[change.path] = result
            self.outcome.sent_files += 1
            if change.method == SERVER_SIDE:
                self.outcome.copied += 1
            else:
                self.outcome.sent_bytes += change.want.size
            self.progress.done(change.action, change.path, change.want.size)

    def _verify(self, pool, changes) -> dict:
        """Look at what arrived ({path: listing.Remote or None}); send again whatever does not read
        back as sent."""
        for _ in range(VERIFY_ROUNDS):
            found = self._look(pool, changes)
            bad = [c for c in changes if not arrived(found.get(c.path), self.sent[c.path])]
            if not bad:
                return found
            for change in bad:
                self.progress.note(f"{change.path} did not read back as sent; sending it again")
            self._run(pool, bad, self.writer.put, "upload")
            changes = bad
        raise FatalError(f"{self.target.display}: {changes[0].path} does not read back as sent "
                         f"(size or checksum differ) after {VERIFY_ROUNDS} attempts",
                         "something rewrites the object while we upload it; find it, then run sync again")

    def _list(self):
        try:
            return with_retries(lambda: list_target(self.target), attempts=3)
        except Exception as exc:
            raise explain(exc, self.target, "list the repository") from exc

    def _look(self, pool, changes) -> dict:
        """What the store holds at the changed paths: a few are asked one by one, in parallel (one
        round trip, where a listing of a big repository takes a page per thousand files); more,
        with one listing. Either way the store's own answer: size, stamp and md5. A file whose
        write was answered with the md5 of what we sent (S3's PutObject ETag), or with the
        checksum of the parts we sent (S3's CompleteMultipartUpload, transfer.s3_parts), is not
        asked again: that reply is the store's answer, given after it stored the bytes."""
        answered = {}
        for change in changes:
            sent = self.sent.get(change.path)
            if sent is not None and sent.answered():
                answered[change.path] = fingerprint(sent.answer)
        changes = [c for c in changes if c.path not in answered]
        if not changes:
            return answered
        if len(changes) > LOOK_ONE_BY_ONE:
            return {**self._list().files, **answered}
        fs = self.target.fs

        def one(change):
            path = self.target.path(change.path)
            fs.invalidate_cache(path)  # never an answer remembered from an earlier listing
            try:
                return change.path, fingerprint(fs.info(path))
            except FileNotFoundError:
                return change.path, None

        def attempt(change):
            try:
                return with_retries(lambda: one(change), attempts=3)
            except Exception as exc:
                raise explain(exc, self.target, "check what arrived", change.path) from exc
        return {**dict(pool.map(attempt, changes)), **answered}

    def _write_state(self, doing: str) -> None:
        try:
            with_retries(lambda: write_control(self.target, STATE_NAME, self.journal.to_bytes()), attempts=4)
        except Exception as exc:
            raise explain(exc, self.target, doing, STATE_NAME) from exc

    def record_interrupted(self) -> bool:
        """After a failure part way: write the state as it stands (every file this sync set out to
        send marked pending), so that a sync that listed the target before this one wrote anything
        sees, from the state alone, that it must look again (engine.sync). True when that is done
        or nothing was written."""
        if not self.writing:
            return True
        try:
            with_retries(lambda: write_control(self.target, STATE_NAME, self.journal.to_bytes()), attempts=2)
        except Exception:  # noqa: BLE001 - the caller keeps the lock instead
            return False
        return True

    # -- the whole sync ------------------------------------------------------------------------
    def run(self) -> Outcome:
        plan, journal = self.plan, self.journal
        active = plan.active
        puts = [c for c in active if c.action != DELETE]
        deletes = [c for c in active if c.action == DELETE]
        for path in plan.forget:
            journal.files.pop(path, None)
        journal.files.update(plan.adopt)
        self.pins, restores = find_pins(self.target, plan, puts, self.progress.note)
        puts += restores  # configs left unchanged by the plan, pinned for the sync's duration
        new_paths = [c.path for c in puts if c.path not in journal.files]
        for change in puts:
            w = change.want
            journal.files[change.path] = Record(w.size, w.sha256, pending=True)  # md5 known once sent
        if new_paths:  # paths the state already lists are known to be ours: no need to say so first
            self._write_state("record the files about to be sent")
        self.progress.start(len(active) + len(restores), sum(c.want.size for c in puts))
        self.writer = LocalWriter(self.target, plan) if self.target.local else RemoteWriter(self.target, self.part_jobs)
        self.writing = True
        try:
            with ThreadPoolExecutor(max_workers=self.jobs, thread_name_prefix="triton-gitops") as pool:
                seen = self._apply(pool, puts, deletes)
        finally:
            self.writer.finish()
            self.progress.finish()
        written = {c.path for c in puts}
        for path in getattr(self.writer, "relinked", ()):
            # unchanged files linked into a swapped version folder: same content, new ctime
            record, remote = journal.files.get(path), seen.get(path)
            if record is not None and remote is not None and path not in written and remote.size == record.size:
                journal.files[path] = Record(record.size, record.sha256, record.md5, remote.stamp, record.pending)
        for change in puts:
            remote = seen.get(change.path)
            w = change.want
            sent = self.sent.get(change.path)
            journal.files[change.path] = Record(w.size, w.sha256, sent.md5 if sent else "",
                                                remote.stamp if remote else "", pending=remote is None)
        journal.revision = (self.revision() if callable(self.revision) else self.revision) or journal.revision
        still_there = {path.split("/", 1)[0] for path in journal.files}
        journal.ensembles = sorted(m for m in self.ensembles if m in still_there)
        journal.synced_at = now_iso()
        self._write_state("write the sync state")
        self.outcome.state = journal
        return self.outcome

    def _apply(self, pool, puts, deletes):
        writer, remote = self.writer, not self.target.local
        if self.plan.leftovers:
            writer.clean_leftovers(self.plan.leftovers)
        write_pins(self.target, self.pins, pool, self.progress.note)
        versions = [c for c in puts if c.kind == "version"]
        files = [c for c in puts if c.kind not in ("version", "config")]
        # On object stores a model whose served version prune deletes file by file keeps its pin
        # through step 4: its configs are written back after those deletes (pinning.py).
        pruning = {m for m, _ in self.plan.pruned_versions} if remote else set()
        later = [c for c in puts if c.kind == "config" and c.model in pruning]
        configs = [c for c in puts if c.kind == "config" and c.model not in self.ensembles and c not in later]
        ensemble_configs = [c for c in puts if c.kind == "config" and c.model in self.ensembles and c not in later]
        seen: dict = {}  # path -> listing.Remote, as read back after sending
        self._run(pool, versions, writer.put, "upload")
        writer.publish_versions()
        self._run(pool, files, writer.put, "upload")
        if remote and (versions or files):
            seen.update(self._verify(pool, versions + files))  # no config may name an unverified file
        new_models = sorted(self.plan.new_models)
        if self.pins:
            # Triton's S3 and Azure repositories compare LastModified, in whole seconds, and reload only
            # on a newer one. Had it polled the pin or the files that followed, a config written back
            # within that same second would go unnoticed and the pin would stay.
            time.sleep(PIN_SETTLE)
        self._run(pool, configs, writer.put, "upload")
        writer.publish_models([m for m in new_models if m not in self.ensembles])
        self._run(pool, ensemble_configs, writer.put, "upload")
        writer.publish_models([m for m in new_models if m in self.ensembles])
        if remote and (configs or ensemble_configs):
            seen.update(self._verify(pool, configs + ensemble_configs))
        if deletes:
            self._remove(pool, deletes)
        if later:
            for group in ([c for c in later if c.model not in self.ensembles],
                          [c for c in later if c.model in self.ensembles]):
                self._run(pool, group, writer.put, "upload")
            seen.update(self._verify(pool, later))
        if not remote and puts:
            seen = self._list().files  # stamps (inode, mtime, ctime) as they are now, after the renames
        return seen

    def _remove(self, pool, deletes) -> None:
        removed = sorted(self.plan.removed_models, key=lambda m: (m not in self.ensembles, m))
        before = {c.path for c in deletes}
        remaining = self.writer.remove_models(deletes, removed)
        self._count_whole(before, remaining)
        gone_configs = [c for c in remaining if c.model in self.plan.removed_models and c.kind == "config"]
        for group in ([c for c in gone_configs if c.model in self.ensembles],
                      [c for c in gone_configs if c.model not in self.ensembles]):
            self._run(pool, group, self.writer.delete, "delete")
        remaining = [c for c in remaining if c not in gone_configs]
        before = {c.path for c in remaining}
        remaining = self.writer.remove_versions(remaining)
        self._count_whole(before, remaining)
        self._run(pool, remaining, self.writer.delete, "delete")

    def _count_whole(self, before: set, remaining: list) -> None:
        """Deletes done by taking a whole folder away: account for them like single ones."""
        left = {c.path for c in remaining}
        for path in sorted(before - left):
            self._deleted(path)
