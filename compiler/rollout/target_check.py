"""Before a rollout: does the target Triton reads from hold what the manifest says?

Loading a model makes Triton read its folder from the repository at that moment; rolling
out before the sync finished would load yesterday's files and report them as today's. The
sync stage (compiler/sync) already knows how to compare the manifest with a target without
writing anything (`plan`), so this asks it, and names the models a sync would still change.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Optional

from compiler.artifacts.cache import Cache
from compiler.errors import FatalError
from compiler.rollout.rollout_record import model_digests

if TYPE_CHECKING:  # for annotations only: never imported at run time
    from compiler.artifacts.settings import Settings
    from compiler.compile.tree import Tree
    from compiler.manifest import LoadedManifest
    from compiler.sync.target import Target


@dataclass
class TargetCheck:
    target: str  # how the target is shown (never with secrets)
    pending: dict = field(default_factory=dict)  # model -> files a sync would still write or delete
    note: str = ""
    storage: Optional[Target] = None  # the opened target, for the rollout record
    digests: dict = field(default_factory=dict)  # model -> digest of its files per the sync state

    @property
    def in_sync(self) -> bool:
        return not self.pending


def check_target(loaded: LoadedManifest, tree: Tree, requested: str, settings: Settings, jobs: int = 8,
                 cache: Optional[Cache] = None) -> TargetCheck:
    """The plan of `tree` against the target `requested`. The command built the tree with
    `cache` (the run's hash index), so the manifest is loaded, and its index read, once."""
    try:
        from compiler.sync.engine import IndexedTree, plan_only, prepare  # noqa: PLC0415 - the sync stage ~90-230 ms: rollout --target only
    except ImportError:  # an install without the sync stage: say so rather than guess
        return TargetCheck(requested, note="sync is not available here; the target was not checked")
    built = IndexedTree(tree, cache if cache is not None else Cache(settings.cache_root))
    ctx, _loaded = prepare(loaded, requested, settings, jobs, built=built)
    if ctx is None:  # not with a tree given; said plainly should that ever change
        raise FatalError(f"{loaded.document.file}: does not validate", "run `triton-gitops validate` for the problems")
    result = plan_only(ctx)
    pending: dict = {}
    for change in result.plan.active:
        pending.setdefault(change.model, []).append(f"{change.action} {change.path}")
    files = result.state.files if result.state is not None else {}
    return TargetCheck(ctx.target.display, pending, storage=ctx.target,
                       digests=model_digests({path: record.sha256 for path, record in files.items()}))
