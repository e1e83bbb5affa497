"""Speed-only code, behind one door: nothing here changes what a command answers, only how
soon. Everything else in the package is the plain algorithm; this subpackage holds the
tricks that make it fast at scale, and one setting turns them all off:

    TRITON_GITOPS_FASTPATH=0    # run the plain algorithm only (results are the same)

What is behind the door (each module says why it pays; docs/benchmarks.md has the figures):

    verdict.py   validate's whole answer, and plan's against a local target, replayed while
                 the manifest, the settings, the tool and every file under its local sources
                 (and the target folder) are unchanged (stat keys)
    plan_half.py plan against an object store: the local half (wanted files, their digests, what
                 is printed before the plan) kept under verdict.py's key; the target read each run
    results.py   a per-model result cache: the parsed manifest, each model's ModelConfig,
                 its rendered config.pbtxt and Triton's rules' findings, reused while their
                 inputs (the model's text, its sources' stamps, what other models it
                 depends on, the Triton release, the tool itself) have not changed
    cache_file.py  how those two keep their files: stamped with the tool, marshal, never a
                 manifest that may hold a credential
    prefetch.py  sync/plan: a helper process reads an object-store target while this one
                 loads the manifest (forked before argparse from compiler/__main__.py)
    sdk_guess.py what the helper does before it knows the target: import the SDK it guesses
    s3_listing.py  how the prefetch helper lists an S3 target: the same requests, without
                 botocore's parsing and s3fs's info dicts per object (30,000 at 10,000 models)
    handover.py  sync: that helper, its SDK and client ready, carries out a plan with work
                 (the lock, the writes, the verification) while this process relays its progress
    collector.py fewer garbage-collector passes for sync/plan (imports and listings allocate
                 hundreds of thousands of objects that all stay alive)

The entry point is `begin(argv)` (called by compiler/__main__.py at process start); the
commands then ask `target_reader(...)` for the helper and `results_for(...)` for the cache,
which they hand to the stages (compiler/answers.py says what the stages ask of it). With the
setting off, each of these answers "nothing" (None, compiler.answers.PLAIN).
"""
from __future__ import annotations

import os

SETTING = "TRITON_GITOPS_FASTPATH"


def enabled() -> bool:
    """False when TRITON_GITOPS_FASTPATH=0 (or off/false/no): the plain algorithm only."""
    return os.environ.get(SETTING, "1").strip().lower() not in ("0", "off", "false", "no")


def begin(argv: list) -> None:
    """At process start, before argparse: for `sync`/`plan`, fork the target reader early and
    tune the collector. Imports nothing heavy (they would delay the fork)."""
    if not enabled() or len(argv) < 1 or argv[0] not in ("sync", "plan"):
        return
    from compiler.fastpath import collector, prefetch  # noqa: PLC0415 - fastpath: ~6 ms, only sync/plan fork the helper

    prefetch.start_early(argv)
    collector.fewer_passes()


def target_reader(requested, manifests, writes: bool = True):
    """The helper reading target `requested` (forked by `begin`, or now), or None: the engine
    reads the target itself. `writes`: whether the command may hand it a plan to carry out (not
    `plan`, `sync --dry-run`, a promotion). See prefetch.py."""
    if not enabled():
        return None
    from compiler.fastpath import prefetch  # noqa: PLC0415 - fastpath: ~6 ms, only sync/plan fork the helper

    return prefetch.start(requested, manifests, writes)


def verdict_for(manifest_path, settings):
    """validate's kept answer for this manifest (verdict.Verdict: `replay()`, `keep(...)`), or None
    when the fast path is off."""
    if not enabled():
        return None
    from compiler.fastpath import verdict  # noqa: PLC0415 - only when the fast path is on (the kept answers' key reads the manifest's sources)

    return verdict.Verdict(manifest_path, settings)


def plan_verdict_for(options, settings):
    """plan's kept output for this command line (verdict.PlanVerdict), or None when off."""
    if not enabled():
        return None
    from compiler.fastpath import verdict  # noqa: PLC0415 - only when the fast path is on (the kept answers' key reads the manifest's sources)

    return verdict.PlanVerdict(options, settings)


def results_for(manifest_path, settings):
    """The result cache for this manifest (results.Results) in `settings`' cache folder, or the
    pass-through that computes everything (compiler.answers.PLAIN) when the fast path is off."""
    from compiler.fastpath import results  # noqa: PLC0415 - the result cache ~100 ms: --help, schema, explain, completion never load it

    return results.open_for(manifest_path, settings.cache_root) if enabled() else results.PLAIN
