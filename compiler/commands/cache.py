"""`triton-gitops cache prune`: free the space of model artifacts no run has used lately."""
from __future__ import annotations

from compiler.artifacts.cache import Cache
from compiler.artifacts.settings import default_cache_dir
from compiler.commands import EXIT_OK
from compiler.console import human_size, plural


def run(options) -> int:
    cache = Cache(default_cache_dir())  # the folder a run's Settings use; no storage policy needed here
    if options.cache_action == "prune":
        days = None if options.all else options.older_than
        removed, freed, kept = cache.prune(days)
        print(f"{cache.root}: removed {plural(removed, 'file')} ({human_size(freed)}), "
              f"{human_size(kept)} kept")
    return EXIT_OK
