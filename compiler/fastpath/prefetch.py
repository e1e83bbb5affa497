"""Reading an object-store target in a helper process while this one loads the manifest.

A no-op sync needs two requests (the state, one listing), but before the first one a Python
process must import the storage SDK (s3fs, aiobotocore, aiohttp, botocore), create a client
and, after the listing arrives, parse it. Loading and validating the manifest and hashing the
sources cost about as much again (docs/benchmarks.md, Sync, has the figures). Both hold the GIL, so threads
cannot overlap them; two processes can. A child forked at start-up imports the SDK at once,
waits for the target (known only once the manifest is loaded), reads the state and lists
the target with the sync's own read path (compiler/sync/read.py), and hands the bytes and the listing back through a pipe. This process plans with them as if
it had read them itself. A sync whose plan has work hands the plan back to the child, which
writes it (handover.py: the lock, the second look under it, the uploads, the verification,
the same code the parent would run); a run that finds nothing to do, and one that hands its
writes over, never import the SDK in this process.

The child can only save time, never change an outcome: it reads through the normal path (probe,
retries, explained errors), so a failure that path explains (endpoint down, no credentials,
missing bucket) is handed back as the same error, and on any other failure (a crash) it
answers "failed" and this process reads the target itself. Used on Linux only
(fork is cheap there, and safe while the parent has a single thread, which is checked), for
object stores only, and not when TRITON_GITOPS_FASTPATH=0 (every speed-only trick off) or
TRITON_GITOPS_PREFETCH=0 (this helper only).

The helper's import of the SDK is the longest leg of a no-op run, so it starts as early as
possible: the entry point (`compiler/__main__.py`, through `compiler.fastpath.begin`) calls
`start_early` with the raw arguments before argparse and the command's modules are imported,
and the command picks that helper up with `start` (`compiler.fastpath.target_reader`). The early start only guesses from the raw
arguments; the parsed `--target` decides, and a guess that turns out wrong is stopped.
Modules this file imports at the top delay that fork, so it keeps to `os` and `sys`.
"""
from __future__ import annotations

import gc
import os
import sys

_early: list = []  # [(requested, Prefetch)] forked by start_early, not yet picked up


class Prefetch:
    """The parent's end: send the target once, collect what the child saw, and (sync) hand it
    the plan to carry out. Messages both ways are pickles, each preceded by its length."""

    def __init__(self, pid: int, to_child: int, from_child: int, writes: bool = True):
        self.pid, self._to_child, self._from_child = pid, to_child, from_child
        self._sent = False
        # Can a plan follow for the child to carry out? Not for `plan`, `sync --dry-run` or a
        # promotion (written here): the child then ends right after the read, importing nothing
        # for a write that cannot come, and whoever waits for it (close) waits for nothing more.
        # Told the child with the target (send): the early fork cannot know it yet.
        self.writes = writes
        self._handed_over = False  # a plan was sent to the child to carry out (`write`)

    def send(self, target) -> None:
        """Hand over the resolved target; a local one needs no helper, so the child is told to stop."""
        if self._to_child < 0 or self._sent:
            return
        if target.local:
            self._close_to_child()
            return
        import pickle  # noqa: PLC0415 - fastpath: ~8 ms, only with a helper running

        try:
            ahead = self.writes and _work_ahead(target)
            _write_frame(self._to_child, pickle.dumps((target, ahead, self.writes)))
            self._sent = True
        except OSError:
            self._close_to_child()  # the child is gone: result() says so

    def result(self, keep: bool = False):
        """(state bytes or None, Listing) as the child read them, or None when it could not.
        `keep`: the child stays, waiting for `write` (or `close`); otherwise it ends here."""
        if self._from_child < 0:
            return None
        import pickle  # noqa: PLC0415 - fastpath: ~8 ms, only with a helper running

        if not (keep and self._sent):
            self._close_to_child()  # the child stops after answering (or at once, never sent)
        try:
            data = _read_frame(self._from_child)
        except OSError:
            data = None
        try:
            answer = pickle.loads(data) if data else None
        except Exception:  # noqa: BLE001 - a truncated answer is no answer
            answer = None
        if not (answer and answer[0] == "ok" and self._to_child >= 0):
            self.close()
        if answer and answer[0] == "timeout":  # the run's time for retries is used up: no second try
            from compiler.storage.stores import StorageTimeout  # noqa: PLC0415 - storage.stores ~17 ms: only when the helper timed out

            raise StorageTimeout(answer[1], "read the target")
        if answer and answer[0] == "error":  # the same read path explained it: reading again says the same

            from compiler.errors import FatalError  # noqa: PLC0415 - the top stays os and sys: ~12-50 ms there would delay the fork
            raise FatalError(answer[1], answer[2])
        return answer[1:] if answer and answer[0] == "ok" else None

    def write(self, ctx, job, progress, on_plan, revision):
        """Have the child (its SDK imported, its client made) carry out `job` (engine.WriteJob) as
        engine.write does here; its progress is shown through `progress`, `on_plan` called here,
        `revision()` (the git revision, looked up here meanwhile) answered when the child asks.
        Returns engine.Result, or raises what the child's run raised."""
        import pickle  # noqa: PLC0415 - fastpath: ~8 ms, only with a helper running
        import signal  # noqa: PLC0415 - fastpath: ~8 ms, only with a helper running

        from compiler.fastpath.handover import Job  # noqa: PLC0415 - fastpath: only a sync with work hands it over

        self._handed_over = True  # from here on the child may write: `close` lets it finish
        _write_frame(self._to_child, pickle.dumps(Job.of(ctx, job), protocol=pickle.HIGHEST_PROTOCOL))
        interrupted: list = []

        def forward(_signum, _frame):
            # Ctrl-C at a terminal reaches both processes, `kill -INT` this one only: the child stops
            # on the first it gets and records what it set out to send; wait for it to say so.
            interrupted.append(True)
            _signal(self.pid)

        try:
            previous = signal.signal(signal.SIGINT, forward)
        except ValueError:  # not the main thread: Ctrl-C reaches the child anyway
            previous = None
        try:
            return self._relay(progress, on_plan, revision, interrupted)
        finally:
            if previous is not None:
                signal.signal(signal.SIGINT, previous)

    def _relay(self, progress, on_plan, revision, interrupted):
        import pickle  # noqa: PLC0415 - fastpath: ~8 ms, only with a helper running

        while True:
            data = _read_frame(self._from_child)
            if data is None:  # the child died (killed by the system): nothing more is known than that
                from compiler.errors import FatalError  # noqa: PLC0415 - the top stays os and sys: ~12-50 ms there would delay the fork
                raise FatalError("the helper process writing the target ended without an answer",
                                 "run the sync again (it converges); TRITON_GITOPS_PREFETCH=0 writes from "
                                 "the main process")
            kind, *rest = pickle.loads(data)
            if kind == "progress":
                for name, args in rest[0]:
                    getattr(progress, name)(*args)
            elif kind == "plan":
                if on_plan:
                    on_plan(rest[0])
            elif kind == "revision?":
                _write_frame(self._to_child, pickle.dumps(revision()))
            elif kind == "result":
                if interrupted:
                    raise KeyboardInterrupt
                return rest[0]
            elif kind == "interrupted":
                raise KeyboardInterrupt
            else:  # "raised": what the child's run raised (a FatalError too), as it was
                raise rest[0]

    def cancel(self) -> None:
        """Stop the child (if still waiting for a target) and forget it."""
        self.close(wait=False)

    def close(self, wait: bool = True) -> None:
        """The child's work is over (or never given): it ends at end-of-file."""
        self._close_to_child()
        if self._from_child >= 0:
            os.close(self._from_child)
            self._from_child = -1
            if not self._handed_over:
                # Never given a plan, the child can have written nothing and will write nothing:
                # all it may still be doing is importing what a write would need (handover.py,
                # ~0.1 s after its answer), which a no-op or a fresh checkout would wait for here.
                _kill(self.pid)
            _reap(self.pid, wait=wait)

    def _close_to_child(self) -> None:
        if self._to_child >= 0:
            os.close(self._to_child)
            self._to_child = -1


def start_early(argv: list) -> None:
    """At process start: fork the helper for `sync`/`plan` given a `--target`, read from the raw
    arguments (the command comes first: the top-level parser has no other options)."""
    if len(argv) < 2 or argv[0] not in ("sync", "plan"):
        return
    requested, args = None, argv[1:]
    for index, arg in enumerate(args):
        if arg == "--":
            break
        if arg == "--target" and index + 1 < len(args):
            requested = args[index + 1]
        elif arg.startswith("--target="):
            requested = arg[len("--target="):]
    # The manifest is the one positional argument, but which of the others are option values
    # is argparse's to know: every word that is not an option is a candidate.
    candidates = tuple(arg for arg in args if not arg.startswith("-") and arg != requested)
    helper = start(requested, (*candidates, "models.yaml"))
    if helper is not None:
        _early.append((requested, helper))


def start(requested, manifests=("models.yaml",), writes: bool = True):
    """Fork the helper when it can help: a --target that names or may name an object store.
    `manifests`: where a target name may be defined (the first that can be read counts);
    `writes`: whether a plan may be handed over (Prefetch.writes). Returns the one
    `start_early` forked for this very target, if any, told `writes` now; stops one forked for
    another."""
    while _early:
        guessed, helper = _early.pop()
        if guessed == requested:
            helper.writes = writes
            return helper
        helper.cancel()
    if not requested or sys.platform != "linux" or os.environ.get("TRITON_GITOPS_PREFETCH") == "0":
        return None  # no --target: the manifest's local target
    if "://" not in requested and ("/" in requested or requested.startswith(".")):
        return None  # a path
    if "://" in requested:
        from compiler.storage.urls import is_local_url  # noqa: PLC0415 - fastpath: ~10 ms, before the fork and only for a URL target

        if is_local_url(requested):
            return None
    threading = sys.modules.get("threading")  # not imported yet: no thread was started from Python
    if threading is not None and threading.active_count() != 1:
        return None  # fork copies no other thread, and a lock one of them holds would stay held
    to_child_r, to_child_w = os.pipe()
    from_child_r, from_child_w = os.pipe()
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child's work ends in os._exit, out of coverage's sight
        os.close(to_child_w)
        os.close(from_child_r)
        _child(requested, manifests, to_child_r, from_child_w)
    os.close(to_child_r)
    os.close(from_child_w)
    return Prefetch(pid, to_child_w, from_child_r, writes)


def _child(requested: str, manifests: tuple, from_parent: int, to_parent: int) -> None:  # pragma: no cover
    """Import the SDK, wait for the target, read it, answer; then carry out the plan if the parent
    hands one over; exit without any cleanup of the parent's."""
    import pickle  # noqa: PLC0415 - fastpath: the child's, after the fork
    import signal  # noqa: PLC0415 - fastpath: the child's, after the fork

    _die_with_parent()
    # A short life that ends in os._exit: the collector would only walk the SDK's hundreds of
    # thousands of import-time objects again and again (docs/benchmarks.md, Sync), to free nothing.
    gc.disable()
    answer: tuple = ("failed",)
    target, work_ahead, writes = None, False, False
    try:
        signal.signal(signal.SIGINT, signal.SIG_DFL)  # Ctrl-C: end quietly, the parent reports it
        if not os.environ.get("TRITON_GITOPS_DEBUG"):
            quiet = os.open(os.devnull, os.O_WRONLY)
            os.dup2(quiet, 1)  # stdout belongs to the parent (JSON output); errors are its to report
            os.dup2(quiet, 2)
        from compiler.fastpath.sdk_guess import guess, import_sdk  # noqa: PLC0415 - fastpath: the child's, after the fork

        scheme, text = guess(requested, manifests)  # the manifest read once for both questions
        if not _plain_s3_likely(scheme, text):
            import_sdk(requested, manifests, scheme)  # while the parent loads the manifest
        else:
            from compiler.fastpath import s3_raw  # noqa: F401, PLC0415 - the read's (~25 ms): now, while the parent loads the manifest
        from compiler.sync import target as _  # noqa: F401, PLC0415 - what the target's pickle needs (~30 ms): now rather than once it arrives
        data = _read_frame(from_parent)
        if not data:
            os._exit(0)
        target, work_ahead, writes = pickle.loads(data)
        answer = ("ok", *_observe(target))
    except BaseException as exc:  # noqa: BLE001 - any other failure: the parent reads the target itself
        answer = _timed_out(exc) or _explained(exc) or ("failed",)
    try:
        _write_frame(to_parent, pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL))
        if answer[0] == "ok" and work_ahead and target is not None and "s3fs" not in sys.modules:
            # Read without the SDK, and a write the SDK must make (a big file changed) is likely:
            # import it now, while the parent still loads the manifest, rather than once the plan arrives.
            import_sdk(target.url, ())
        if answer[0] == "ok" and writes:
            from compiler.fastpath.handover import serve  # noqa: PLC0415 - fastpath: the child's, after the fork

            serve(target, from_parent, to_parent)
    except BaseException:  # noqa: BLE001 - the parent is gone
        pass
    os._exit(0)


def _work_ahead(target) -> bool:
    """The parent's guess, before the manifest is loaded, that this run will write through the
    SDK: a few of the local sources of the last run that left the target done changed since (an
    edit; neither a no-op nor a fresh checkout), one of them too big for one request (a write of
    small files needs no SDK: s3_store.py). Only decides when the helper imports the SDK."""
    try:
        from compiler.artifacts.settings import default_cache_dir  # noqa: PLC0415 - loaded already (the run's Settings)
        from compiler.sync import expect  # noqa: PLC0415 - loaded already (the engine)
        from compiler.sync.transfer import STREAM_LIMIT  # noqa: PLC0415 - loaded already (the engine)

        return expect.few_sources_changed(target, default_cache_dir(), larger_than=STREAM_LIMIT)
    except Exception:  # noqa: BLE001 - a guess: never a reason to fail
        return False


def _die_with_parent() -> None:  # pragma: no cover - runs in the child
    """A parent killed (kill -9, a CI job cancelled) takes this process with it at once, as if
    the sync had been one process: nothing writes to the target after the sync died."""
    try:
        import ctypes  # noqa: PLC0415 - fastpath: the child's, after the fork

        ctypes.CDLL(None, use_errno=True).prctl(1, 9)  # PR_SET_PDEATHSIG, SIGKILL
    except Exception:  # noqa: BLE001 - without it the child still ends at the pipe's end-of-file
        return
    if os.getppid() == 1:  # the parent died before that took effect
        os._exit(0)


def _plain_s3_likely(scheme: str, text: str) -> bool:  # pragma: no cover - runs in the child
    """Will the target probably be read without the SDK (s3_raw.py)? Then it is not imported
    before the target is known: a no-op never needs it. An S3 target, nothing in the
    environment against it, and static credentials in sight (the environment's, or a `secret`
    in the target's storage options: `text`, its lines in the manifest)."""
    from compiler.fastpath.s3_route import environment_allows  # noqa: PLC0415 - fastpath: the child's, after the fork

    credentials = bool(os.environ.get("AWS_ACCESS_KEY_ID") and os.environ.get("AWS_SECRET_ACCESS_KEY")) or \
        "secret" in text
    return scheme == "s3" and credentials and environment_allows()


def _observe(target) -> tuple:  # pragma: no cover - runs in the child
    from compiler.fastpath import s3_raw  # noqa: PLC0415 - fastpath: the child's, after the fork

    seen = s3_raw.read_target(target)  # the plain case, without the SDK
    if seen is not None:
        return seen
    from compiler.fastpath.s3_listing import list_objects  # noqa: PLC0415 - fastpath: the child's, after the fork
    from compiler.fastpath.sdk_guess import import_sdk, quick_timestamps  # noqa: PLC0415 - fastpath: the child's, after the fork
    from compiler.sync.read import read_target  # noqa: PLC0415 - fastpath: the child's, after the fork (~110 ms)

    import_sdk(target.url, ())  # at once if not guessed before (s3: without aiohttp's CA parsing)
    target.fs  # noqa: B018 - opened before the parsers are patched
    quick_timestamps()  # in case the SDK was not guessed: before its client (and parsers) are made
    # The engine's own read path (the same requests, retries and probe), an S3 listing without
    # botocore's and s3fs's work per object (s3_listing.py).
    return read_target(target, list_objects)


def _explained(exc):  # pragma: no cover - runs in the child
    """("error", message, hint) for a failure the read path explained (endpoint unreachable, no
    such bucket, credentials): the parent would read into the same error, after as long again."""
    from compiler.errors import FatalError  # noqa: PLC0415 - the top stays os and sys: ~12-50 ms there would delay the fork
    return ("error", exc.message, exc.hint) if isinstance(exc, FatalError) else None


def _timed_out(exc):  # pragma: no cover - runs in the child
    """("timeout", seconds) when the store did not answer within the storage timeout."""
    from compiler.sync.storage_failures import timed_out  # noqa: PLC0415 - fastpath: the child's, after the fork

    found = timed_out(exc)
    return ("timeout", found.seconds) if found is not None else None


def _reap(pid: int, wait: bool = True) -> None:
    try:
        os.waitpid(pid, 0 if wait else os.WNOHANG)
    except ChildProcessError:
        pass


def _kill(pid: int) -> None:
    import signal  # noqa: PLC0415 - fastpath: ~1 ms, only to stop the child; the top stays os and sys (the fork)

    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _signal(pid: int) -> None:
    import signal  # noqa: PLC0415 - fastpath: ~1 ms, only to forward Ctrl-C; the top stays os and sys (the fork)

    try:
        os.kill(pid, signal.SIGINT)
    except ProcessLookupError:
        pass


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]


def _write_frame(fd: int, data: bytes) -> None:
    _write_all(fd, len(data).to_bytes(8, "big") + data)


def _read_exactly(fd: int, size: int):
    chunks: list[bytes] = []
    while size:
        chunk = os.read(fd, min(size, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def _read_frame(fd: int):
    """The next message, or None at end-of-file (the other end closed or died)."""
    head = _read_exactly(fd, 8)
    return None if head is None else _read_exactly(fd, int.from_bytes(head, "big"))
