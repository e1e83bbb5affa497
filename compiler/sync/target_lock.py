"""One sync per target at a time: a lock object at the target root with an owner and an expiry.

    .triton-gitops-lock.json
    {"format": 1, "id": "<uuid4>", "command": "sync",
     "owner": {"user": "ci", "host": "runner-7", "pid": 4242, "boot_id": "..."},
     "created": "2025-01-01T00:00:00Z", "expires": "2025-01-01T00:05:00Z", "expires_epoch": 1735690000}

Taken by looking first, then a create-if-absent write (O_EXCL on disk; If-None-Match /
ifGenerationMatch=0 on object stores), then a read-back: where a store ignores the
condition, looking first keeps us from overwriting a held lock and the read-back tells two
simultaneous writers apart (the window left is between the look and the write). A caller
whose own listing of the target, moments before, showed no lock passes `free=True` and
the look is skipped (on a store that honours the condition, as S3, GCS and Azure do, the
look adds nothing; on one that ignores it, the window becomes listing-to-write). The
read-back can carry another read along (`beside`), in flight at the same time. Whether
anyone else held the lock while we tried is kept (`contended`): the caller then knows
another sync may have run since it looked. The holder refreshes the expiry while it works, so a
lock whose expiry has passed belongs to a sync that died; so does one held by a process
of this very machine (same host name and boot id) that no longer exists. Both are taken
over with a notice. Anything else makes a second sync wait a little, then fail naming
the holder; `--force-unlock` clears a lock by hand.
"""
from __future__ import annotations

import getpass
import json
import os
import socket
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Optional

from compiler.errors import FatalError
from compiler.sync.state import LOCK_NAME, create_control, now_iso, read_control, remove_control, write_control

UNREAD = object()  # what `beside` gave when it failed: equal to nothing
TTL = 300.0  # seconds a lock lives without a refresh
REFRESH = 60.0


def _boot_id() -> str:
    try:
        with open("/proc/sys/kernel/random/boot_id") as handle:
            return handle.read().strip()
    except OSError:
        return ""


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid()) if hasattr(os, "getuid") else "?"


@dataclass
class Holder:
    raw: dict

    @classmethod
    def parse(cls, data: bytes):
        try:
            raw = json.loads(data)
            return cls(raw if isinstance(raw, dict) else {})
        except ValueError:
            return cls({})

    @property
    def id(self) -> str:
        return str(self.raw.get("id", ""))

    @property
    def owner(self) -> dict:
        owner = self.raw.get("owner")
        return owner if isinstance(owner, dict) else {}

    def describe(self) -> str:
        o = self.owner
        who = f"{o.get('user', '?')}@{o.get('host', '?')} (pid {o.get('pid', '?')})"
        return f"{who}, taken {self.raw.get('created', '?')}, expires {self.raw.get('expires', '?')}"

    def expired(self) -> bool:
        try:
            return float(self.raw["expires_epoch"]) < time.time()
        except (KeyError, TypeError, ValueError):
            return True  # unreadable: no one can be refreshing it

    def dead_here(self) -> bool:
        """Held by a process of this machine (this boot) that is gone?"""
        o = self.owner
        if o.get("host") != socket.gethostname() or not o.get("boot_id") or o.get("boot_id") != _boot_id():
            return False
        pid = o.get("pid")
        if pid is None:
            return False  # as int(None) would: no process to ask about
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return True
        except (PermissionError, TypeError, ValueError, OverflowError):
            return False
        return False


class TargetLock:
    def __init__(self, target, wait: float = 10.0, force: bool = False, notify=None, command: str = "sync"):
        self.target = target
        self.wait = wait
        self.force = force
        self.notify = notify or (lambda message: None)
        self.command = command
        self.id = uuid.uuid4().hex
        self.created = now_iso()
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self.held = False
        self.contended = False  # another holder was seen (waited for, or taken over) while acquiring
        self.beside = None  # what `beside` returned, read while the lock was read back

    def _body(self) -> bytes:
        return json.dumps({
            "format": 1, "id": self.id, "command": self.command,
            "owner": {"user": _user(), "host": socket.gethostname(), "pid": os.getpid(), "boot_id": _boot_id()},
            "created": self.created, "expires": now_iso(TTL), "expires_epoch": int(time.time() + TTL),
        }, indent=1).encode()

    def _current(self):
        data = read_control(self.target, LOCK_NAME)
        return None if data is None else Holder.parse(data)

    def acquire(self, free: bool = False, beside=None) -> None:
        """Take the lock or raise FatalError. free: the caller's listing of a moment ago showed
        none (no look first). beside(): called on another thread while the new lock is read
        back; what it returns (when the lock is ours) is kept in self.beside."""
        deadline = time.monotonic() + self.wait
        if self.force:
            holder = self._current()
            if holder is not None:
                self.contended = True
                self.notify(f"removing the lock held by {holder.describe()} (--force-unlock)")
                remove_control(self.target, LOCK_NAME)
        look = not free or self.force
        while True:
            # Look before writing: a store that ignores the create condition (the GCS emulator
            # does) would otherwise let us overwrite a live lock and then read back our own.
            holder = self._current() if look else None
            look = True
            if holder is None and create_control(self.target, LOCK_NAME, self._body()):
                holder, self.beside = self._read_back(beside)
                if holder is not None and holder.id == self.id:
                    self.held = True
                    self._start_refresh()
                    return
            elif holder is None:  # the create failed: someone holds it
                self.contended = True
                holder = self._current()
                if holder is not None and holder.id == self.id:
                    # Ours: the create arrived but its answer was lost, and the retried request
                    # (the SDK's, or the plain writer's) found the lock there. Held, not read beside.
                    self.held = True
                    self._start_refresh()
                    return
            if holder is not None:
                self.contended = True
            if holder is None:
                if time.monotonic() >= deadline:
                    raise FatalError(f"{self.target.display}: cannot take the lock {LOCK_NAME}: it does not "
                                     "read back after writing", "check the storage's consistency settings")
                time.sleep(0.05)
                continue  # released between our attempt and our look: try again
            if holder.id != self.id and (holder.expired() or holder.dead_here()):
                why = "expired" if holder.expired() else "its process is gone"
                self.notify(f"taking over a stale lock ({why}) held by {holder.describe()}")
                again = self._current()
                if again is not None and again.id == holder.id:  # still that one: not someone's fresh lock
                    remove_control(self.target, LOCK_NAME)
                continue
            if time.monotonic() >= deadline:
                raise FatalError(f"{self.target.display} is locked by another sync: {holder.describe()}",
                                 "wait for it to finish and run again; if that sync is gone for good, "
                                 "rerun with --force-unlock")
            time.sleep(min(1.0, max(0.05, deadline - time.monotonic())))

    def _read_back(self, beside) -> tuple:
        """(the lock as it reads now, beside() or None), both requests in flight together."""
        if beside is None:
            return self._current(), None

        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="triton-gitops-beside") as pool:
            other = pool.submit(beside)
            holder = self._current()
            try:
                return holder, other.result()
            except Exception:  # noqa: BLE001 - the caller then reads again itself, as without it
                return holder, UNREAD

    def _start_refresh(self) -> None:
        def refresh():
            while not self._stop.wait(REFRESH):
                try:
                    holder = self._current()
                    if holder is None or holder.id != self.id:
                        return  # taken from us (--force-unlock): nothing left to refresh
                    write_control(self.target, LOCK_NAME, self._body())
                except Exception:  # noqa: BLE001 - a missed refresh only shortens the lock's life
                    pass
        self._thread = threading.Thread(target=refresh, name="triton-gitops-lock", daemon=True)
        self._thread.start()

    def abandon(self) -> None:
        """Leave the lock where it is: it expires after TTL, or a sync on this machine takes it
        over once this process is gone."""
        self._stop.set()
        self.held = False

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        if not self.held:
            return
        self.held = False
        holder = self._current()
        if holder is not None and holder.id == self.id:
            remove_control(self.target, LOCK_NAME)

    def __enter__(self):
        self.acquire()
        return self

    def __exit__(self, *exc):
        self.release()
