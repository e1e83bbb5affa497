"""How a sync reads a target: the state file and one listing, both requests in flight at once.

The one read path: the engine calls it, and so does the prefetch helper
(compiler/fastpath/prefetch.py) when it reads the target in another process.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from compiler.storage.stores import storage_timeout
from compiler.sync.listing import list_target
from compiler.sync.state import STATE_NAME, read_control
from compiler.sync.storage_failures import explain, with_retries
from compiler.sync.target import probe


def _bound(target) -> float:
    """The target's storage timeout: the listing's retries end within it, like each call does."""
    return target.timeout or storage_timeout()


def read_target(target, lister=None) -> tuple:
    """(the state file's bytes or None, Listing); a failure is explained (FatalError). `lister`:
    see list_target."""
    target.fs  # noqa: B018 - opened first: a bad URL is the user's error, not the store's
    probe(target)  # a dead endpoint must fail fast, not after the SDKs' own retries
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="triton-gitops-state") as pool:
        reading = pool.submit(read_control, target, STATE_NAME)  # both requests in flight at once
        try:
            listing, failed = with_retries(lambda: list_target(target, lister), attempts=3, within=_bound(target)), None
        except Exception as exc:  # noqa: BLE001 - reported after the state's own failure, if any
            listing, failed = None, exc
        try:
            raw = reading.result()
        except Exception as exc:
            raise explain(exc, target, "read the sync state") from exc
    if failed is not None:
        raise explain(failed, target, "list the repository") from failed
    return raw, listing
