"""`triton-gitops rollout`: load what changed into every live Triton replica (EXPLICIT mode),
unload what left the manifest, wait for the versions each policy selects; in waves, each
checked (READY, smoke, perf limits, failure counters) and rolled back when a check fails.
The fleet logic is compiler/rollout/waves.py; this module parses options and prints."""
from __future__ import annotations

import sys

from compiler.artifacts.cache import Cache
from compiler.commands import EXIT_ERROR, EXIT_OK, load_or_report, run_settings
from compiler.console import json_text, paint, plural, use_colour
from compiler.errors import printable
from compiler.manifest.variants import serve_variant
from compiler.rollout.client import TritonClient
from compiler.rollout.drift import versions_text
from compiler.rollout.explicit_load import FAILED
from compiler.rollout.fleet import replicas as named_replicas
from compiler.rollout.restore import PreviousFiles
from compiler.rollout.rollout_record import ServerRecords
from compiler.rollout.target_check import check_target
from compiler.rollout.waves import ROLLBACK_FAILED, ROLLED_BACK, ROLLED_OUT, Gates, roll_out

_COLOUR = {"loaded": "create", "unchanged": "dim", "failed": "error", "unloaded": "update"}


def _indent(text: str, first: str, rest: str = "") -> list:
    """Triton's multi-line messages (a Python traceback, say) indented under their first line;
    blank lines and the lone ';' Triton appends are dropped."""
    lines = [printable(line.rstrip()) for line in str(text).split("\n") if line.strip() not in ("", ";")]
    rest = rest or " " * len(first)
    return [(first if i == 0 else rest) + line for i, line in enumerate(lines)]


def _outcome_text(o, colour: bool) -> str:
    head = f"  {paint(f'{o.action:<9}', _COLOUR.get(o.action, ''), colour)} {printable(o.name)}"
    took = f" ({o.seconds:.1f} s)" if o.seconds else ""
    if o.action in ("unloaded", "failed"):
        lines = [head + took]
    else:
        lines = [f"{head}: versions {versions_text(o.ready)} READY{took}"]
    for why in o.why:
        if why != "not loaded":
            lines += _indent(why, "      ")
    if o.action == "failed":
        # Triton's reason per version (from the index) says it best; the load answer repeats it.
        for version, reason in o.failures.items():
            lines += _indent(reason, f"      version {version}: ", "        ")
        if o.message and not o.failures:
            lines += _indent(o.message, "      triton: ", "        ")
        if o.ready:
            lines.append(f"      Triton keeps serving versions {versions_text(o.ready)} of {printable(o.name)}")
        else:
            lines.append(f"      {printable(o.name)} is not being served")
    return "\n".join(lines)


def _target_gate(options, loaded, tree, settings, cache: Cache, colour: bool):
    """(None, check) to go on, or (exit code, None) when the target does not hold the manifest yet.
    `cache`: the hash index the tree was built with."""
    check = check_target(loaded, tree, options.target, settings, cache=cache)
    if check.note:
        print(f"note: {printable(check.note)}", file=sys.stderr)
    if check.in_sync:
        return None, check
    print(paint(f"target {printable(str(check.target))} does not hold this manifest yet:", "error", colour), file=sys.stderr)
    for model, files in sorted(check.pending.items()):
        print(f"  {printable(model)}: {plural(len(files), 'file')} to sync "
              f"({printable(files[0])}{', ...' if len(files) > 1 else ''})",
              file=sys.stderr)
    print(f"    hint: run `triton-gitops sync {options.manifest} --target {options.target}` first", file=sys.stderr)
    return EXIT_ERROR, None


EXIT_ROLLED_BACK = 3  # a gate failed; every replica changed was put back as it was
EXIT_ROLLBACK_FAILED = 4  # a gate failed and at least one replica could not be put back


def _gates(options):
    return Gates(smoke=options.smoke, perf=options.perf, max_p99_ms=options.max_p99_ms,
                 min_throughput=options.min_throughput, concurrency=options.concurrency,
                 duration=options.duration, soak=options.soak)


def _check_live(replicas, timeout: float) -> None:
    """Every replica answers before any changes: a fleet is not half rolled out for a typo."""
    for replica in replicas:
        client = TritonClient(replica.url, timeout=min(timeout, 30.0))
        try:
            client.check_live()
        finally:
            client.close()


def run(options) -> int:
    settings = run_settings(options)
    cache = Cache(settings.cache_root)  # the hash index: read once, by the build and the target's plan
    built = load_or_report(options.manifest, options.output, settings, cache=cache)
    if built is None:
        return EXIT_ERROR
    loaded, tree = built
    manifest = loaded.manifest
    serve_variant(manifest, options.model_config_name, options.target or "")
    text = options.output == "text"
    colour = use_colour()

    replicas = named_replicas(manifest, options.target, options.triton_url, options.servers_file, options.nameserver,
                              options.metrics_port, target_may_be_url=True)
    # Every replica answers before the target is read: a typo in a URL fails in seconds, not
    # after the target's plan.
    _check_live(replicas, options.timeout)
    check = None
    if options.target:
        gate, check = _target_gate(options, loaded, tree, settings, cache, colour)
        if gate is not None:
            return gate
    if text:
        where = str(replicas[0]) if len(replicas) == 1 else f"{len(replicas)} replicas"
        print(f"rollout of {options.manifest} to Triton at {where}"
              + (f" (target {options.target})" if options.target else ""))
    servers = ServerRecords(check, options.timeout)
    previous = PreviousFiles(options.manifest, options.rollback_to, settings, given=servers.given)
    try:
        result = roll_out(manifest, replicas, canary=options.canary, max_unavailable=options.max_unavailable,
                          gates=_gates(options), timeout=options.timeout, force=tuple(options.reload or ()),
                          files_changed=servers.files_changed, changed_why=servers.changed_why,
                          previous=previous,
                          on_wave=(lambda kind, n, runs: _print_wave(kind, n, runs, len(replicas), colour))
                          if text else None)
    finally:
        previous.close()
    ok = not any(run.failures for run in result.runs)
    for run in result.runs:
        if ok or not run.touched:
            servers.remember(run.replica.url, run.outcomes)
    if text:
        _print_verdict(result, colour)
    else:
        print(json_text(_report(result, ok), indent=2))
    if result.verdict == ROLLBACK_FAILED:
        return EXIT_ROLLBACK_FAILED
    return EXIT_ROLLED_BACK if result.verdict == ROLLED_BACK else EXIT_OK


def _report(result, ok: bool) -> dict:
    report = {"ok": ok, "verdict": result.verdict, "replicas": [run.as_dict() for run in result.runs],
              "not_reached": [r.url for r in result.not_reached]}
    if len(result.runs) == 1:  # one server: the shape rollout has always printed, too
        run = result.runs[0]
        report.update({"triton_url": run.replica.url,
                       "counts": {a: sum(o.action == a for o in run.outcomes)
                                  for a in ("loaded", "unchanged", FAILED, "unloaded")},
                       "models": [o.as_dict() for o in run.outcomes], "smoke": [s.as_dict() for s in run.smokes],
                       "perf": [p.as_dict() for p in run.perfs]})
    return report


def _print_wave(kind: str, number: int, runs, total: int, colour: bool) -> None:
    for run in runs:
        if total > 1:
            print(f"{kind} {number}: Triton at {printable(str(run.replica))}")
        for outcome in run.outcomes:
            print(_outcome_text(outcome, colour))
        for result in run.smokes:
            _print_smoke(result)
        for result in run.perfs:
            _print_perf(result)
        counts = {a: sum(o.action == a for o in run.outcomes) for a in ("loaded", "unchanged", "failed", "unloaded")}
        print(("  " if total > 1 else "rollout: ") + ", ".join(f"{n} {a}" for a, n in counts.items())
              + ("" if not run.failures else paint(" - FAILED", "error", colour)))
        if counts["failed"]:
            print("    Triton keeps serving the previous versions of a model whose load failed")
        for why in run.failures:
            lines = _indent(why, "  gate failed: ", "    ")
            print("\n".join(paint(line, "error", colour) for line in lines))


def _print_verdict(result, colour: bool) -> None:
    if result.verdict == ROLLED_OUT:
        if len(result.runs) > 1:
            print(f"rollout: rolled out to {plural(len(result.runs), 'replica')}")
        return
    print(paint(f"rollout: a gate failed; {result.verdict}", "error", colour))
    for run in result.runs:
        if not run.restores and not run.failures:
            continue
        print(f"  Triton at {printable(run.replica.url)}: {run.state}")
        for r in run.restores:
            lines = _indent(r.detail, f"    {r.action} {printable(r.model)}: ", "      ")
            print("\n".join(lines))
    if result.not_reached:
        print(f"  not reached (unchanged): {', '.join(printable(r.url) for r in result.not_reached)}")


def _print_smoke(result) -> None:
    sources = ", ".join(sorted({f for _, _, _, f in result.inputs})) or "no inputs"
    status = "ok" if result.ok else "FAILED"
    print(printable(f"  smoke {status:<6} {result.name}: {result.detail} (inputs from {sources})"))


def _print_perf(result) -> None:
    line = (f"  perf  {result.name}: {result.per_second:.1f} infer/s, p50 {result.p50_ms:.2f} ms, "
            f"p99 {result.p99_ms:.2f} ms ({result.requests} requests, concurrency {result.concurrency}, "
            f"{result.seconds:.1f} s, {result.tool})")
    if result.errors:
        line += f"; {plural(result.errors, 'error')}: {result.detail}"
    print(line)
