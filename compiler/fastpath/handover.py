"""The prefetch helper (prefetch.py) carrying out a sync's plan: its end of the handover.

The helper imported the storage SDK and made its client while this process's parent loaded
the manifest; when the plan has work, making them again in the parent costs more than a
third of a one-file sync (docs/benchmarks.md, Sync). So the parent sends the plan here and
this process runs the very code the parent would (compiler.sync.engine.write: the lock, the
second look when needed, the applier in its order, the verification), sending back each
progress event, the plan carried out and the result. Nothing about what is written changes;
TRITON_GITOPS_FASTPATH=0 (or TRITON_GITOPS_PREFETCH=0) writes from the parent instead.

Interruptions keep their meaning: the first Ctrl-C (the parent forwards one it gets alone)
stops the applier here, which records what it set out to send and releases the lock, as in
one process; a parent killed outright takes this process with it (prefetch._die_with_parent).
"""
from __future__ import annotations

import pickle
import signal
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from compiler.fastpath.prefetch import _read_frame, _write_frame
from compiler.sync.engine import Context, write

if TYPE_CHECKING:  # for annotations only
    from compiler.artifacts.cache import Cache
    from compiler.sync.engine import WriteJob


@dataclass
class Job:
    """What engine.write needs from the parent's Context, and the WriteJob (picklable: the wanted
    files carry their hash index, which reopens its folder here)."""
    wants: dict
    cache: Cache
    ensembles: set
    manifest_name: str
    work: WriteJob

    @classmethod
    def of(cls, ctx, work) -> Job:
        return cls(ctx.wants, ctx.cache, ctx.ensembles, ctx.manifest_name, work)


class _Relay:
    """The Progress the applier reports to here: every call goes to the parent's, in order. A
    file done is batched with the next ones for up to FLUSH seconds (one message per file would
    wake the parent hundreds of times a second on a first upload; a bar redraws every 0.1 s)."""

    FLUSH = 0.1

    def __init__(self, send):
        self._send = send
        self._lock = threading.Lock()  # the applier's threads and the lock's refresh may report at once
        self._done: list = []
        self._since = 0.0

    def note(self, message: str) -> None:
        self._call("note", (message,))

    def start(self, total_files: int, total_bytes: int) -> None:
        self._call("start", (total_files, total_bytes))

    def finish(self) -> None:
        self._call("finish", ())

    def done(self, action: str, path: str, size: int) -> None:
        with self._lock:
            if not self._done:
                self._since = time.monotonic()
            self._done.append((action, path, size))
            if time.monotonic() - self._since >= self.FLUSH:
                self._flush()

    def flush(self) -> None:
        with self._lock:
            self._flush()

    def _call(self, name: str, args: tuple) -> None:
        self.message(("progress", [(name, args)]))

    def message(self, message) -> None:
        """Any other message to the parent, after what is batched (one writer at a time)."""
        with self._lock:
            self._flush()
            self._send(message)

    def _flush(self) -> None:
        if self._done:
            self._send(("progress", [("done", event) for event in self._done]))
            self._done = []


def serve(target, from_parent: int, to_parent: int) -> None:  # pragma: no cover - runs in the helper
    """Wait for a Job; none (end-of-file) ends the helper. Answers with one final message:
    ("result", Result), ("interrupted",) or ("raised", exception): the parent raises it as if
    its own run had (a FatalError is then reported as usual)."""
    data = _read_frame(from_parent)
    if not data:
        return
    _interrupt_once()

    def send(message) -> None:
        _write_frame(to_parent, pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL))

    answer: tuple
    relay = _Relay(send)
    try:
        job = pickle.loads(data)
        _open(target, job.work.plan)
        answer = ("result", _run(target, job, relay, lambda: _ask_revision(relay, from_parent)))
    except KeyboardInterrupt:
        answer = ("interrupted",)
    except BaseException as exc:  # noqa: BLE001 - every failure goes to the parent, which reports it
        answer = _described(exc)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the answer must get out whole
    send(answer)


def _open(target, plan) -> None:  # pragma: no cover - runs in the helper
    """How this process writes: a target read without the SDK is written without it too when the
    plan allows (s3_store.py: one-request uploads and deletes); else the SDK, imported now."""
    from compiler.fastpath import s3_store  # noqa: PLC0415 - fastpath: the helper's, with a plan to carry out
    from compiler.fastpath.sdk_guess import import_sdk  # noqa: PLC0415 - fastpath: the helper's, with a plan to carry out

    if not target.opened and not s3_store.provide(target, plan):
        import_sdk(target.url, ())  # s3: without aiohttp's CA parsing; target.fs opens it when first used


def _ask_revision(relay: _Relay, from_parent: int):  # pragma: no cover - runs in the helper
    """The manifest's git revision, which the parent looks up while this process writes (it
    would otherwise import GitPython here, on the way to the final state)."""
    relay.message(("revision?",))
    data = _read_frame(from_parent)
    return pickle.loads(data) if data else None


def _run(target, job: Job, relay: _Relay, revision):  # pragma: no cover - runs in the helper
    done: Future = Future()
    done.set_result(job.wants)
    # The writing half reads neither the loaded manifest, nor the tree, nor the run's settings.
    nothing: Any = None
    ctx = Context(nothing, nothing, target, done, job.cache, job.ensembles, job.manifest_name, nothing)
    try:
        return write(ctx, job.work, relay, on_plan=lambda plan: relay.message(("plan", plan)), revision=revision)
    finally:
        relay.flush()  # what is still batched goes out before the answer


def _described(exc: BaseException) -> tuple:
    """("raised", exc) when `exc` comes back whole from pickle (every FatalError does, and the
    package's own exception types: errors.Picklable); else ("raised", RuntimeError) with its
    type and text: a library's exception may not pickle, or not unpickle in the parent."""
    try:
        pickle.loads(pickle.dumps(exc, protocol=pickle.HIGHEST_PROTOCOL))
        return ("raised", exc)
    except Exception:  # noqa: BLE001 - any failure either way: its text
        return ("raised", RuntimeError(f"{type(exc).__name__}: {exc}"))


def _interrupt_once() -> None:  # pragma: no cover - runs in the helper
    """The first SIGINT stops the run with KeyboardInterrupt (the applier then records what it set
    out to send); later ones (Ctrl-C reaches both processes, and the parent forwards its own) are
    ignored so that they cannot cut that record short."""
    def first(signum, frame):
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, first)
