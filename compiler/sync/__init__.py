"""Stage 4: sync the repository the manifest describes to a folder, S3, GCS or Azure.

    target.py    which storage: manifest target or URL -> fsspec filesystem, ${ENV} expansion
    hashing.py   what must be there: sha256/md5 of every file, cached by stat
    listing.py   what is there: one listing, reduced to size/stamp/md5
    state.py     what we wrote: the state and control files at the target root
    plan.py      the difference: create / update / repair / delete per file (and drift prune leaves)
    boundary.py  a manifest's local target stays inside the manifest's repository (checked again on the folder resolved)
    guard.py     what a plan may not do: replace files we did not write, write through links
    apply.py     doing it in Triton-safe order, in parallel, verified
    local.py     atomic renames and folder swaps for local and mounted targets
    transfer.py  streaming one file and checking what arrived
    target_lock.py  one sync per target
    read.py      reading a target: the state and one listing (also the prefetch helper's path)
    expect.py    a guess of whether a run will write, to open the SDK early when it will
    storage_failures.py  storage failures -> messages with hints; what to retry
    engine.py    the above, chained for the `plan` and `sync` commands

The speed-only parts (the prefetch helper forked at start-up, the SDK guess, the collector
tuning) live in compiler/fastpath/, off with TRITON_GITOPS_FASTPATH=0.
"""
