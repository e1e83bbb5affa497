"""How the prefetch helper's run ends crosses the pipe (compiler/fastpath/handover.py): one
answer, ("raised", exception), for a FatalError and anything else, read back whole by the
parent, or as a RuntimeError with the type and text of what would not come back."""
from __future__ import annotations

import pickle
import threading

from compiler.errors import FatalError
from compiler.fastpath.handover import _described
from compiler.storage.stores import StorageTimeout


class NoWayBack(Exception):
    """Pickles, but the parent could not rebuild it (pickle calls it with its message alone)."""

    def __init__(self, status: int, text: str):
        super().__init__(f"{status} {text}")


def _parent_reads(answer: tuple):
    return pickle.loads(pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL))


def test_a_fatal_error_and_a_bare_storage_timeout_come_back_as_they_were_raised():
    for exc in (FatalError("cannot take the sync lock on s3://b/m", "wait, or --force-unlock"),
                StorageTimeout(2.0, "find")):
        kind, back = _parent_reads(_described(exc))
        assert kind == "raised" and type(back) is type(exc) and str(back) == str(exc) and vars(back) == vars(exc)
    kind, back = _parent_reads(_described(FatalError("no", "hint")))
    assert (back.message, back.hint) == ("no", "hint")


def test_what_would_not_come_back_whole_goes_as_its_type_and_text():
    unrebuildable = NoWayBack(503, "Slow Down")
    pickle.dumps(unrebuildable)  # pickles: only the way back fails
    kind, back = _parent_reads(_described(unrebuildable))
    assert kind == "raised" and type(back) is RuntimeError and str(back) == "NoWayBack: 503 Slow Down"

    unpicklable = OSError("connection reset")
    unpicklable.lock = threading.Lock()  # an SDK's error holding its client, say
    kind, back = _parent_reads(_described(unpicklable))
    assert type(back) is RuntimeError and str(back) == "OSError: connection reset"
