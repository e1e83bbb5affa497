"""`triton-gitops rollout`: load what changed into a live Triton (EXPLICIT mode), unload what
left the manifest, wait for the versions each policy selects, then optionally smoke- and
load-test the models that were loaded."""
from __future__ import annotations

import sys

from compiler.commands import EXIT_ERROR, EXIT_OK
from compiler.errors import FatalError, printable
from compiler.manifest.variants import serve_variant
from compiler.pipeline import load_valid
from compiler.report import json_text, paint, plural, use_colour

_COLOUR = {"loaded": "create", "unchanged": "dim", "failed": "error", "unloaded": "update"}


def _indent(text: str, first: str, rest: str = "") -> list:
    """Triton's multi-line messages (a Python traceback, say) indented under their first line;
    blank lines and the lone ';' Triton appends are dropped."""
    lines = [printable(line.rstrip()) for line in str(text).split("\n") if line.strip() not in ("", ";")]
    rest = rest or " " * len(first)
    return [(first if i == 0 else rest) + line for i, line in enumerate(lines)]


def _outcome_text(o, colour: bool) -> str:
    from compiler.rollout.drift import versions_text

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


def _target_gate(options, colour: bool):
    """(None, check) to go on, or (exit code, None) when the target does not hold the manifest yet."""
    from compiler.rollout.target_check import check_target

    check = check_target(options.manifest, options.target)
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


def _files_changed(check, server: str) -> set:
    """Models whose files differ from what this server was last given (all of them when
    there is no record yet: a first rollout with --target loads everything once)."""
    if check is None or check.storage is None:
        return set()
    from compiler.rollout.record import read_record

    previous = read_record(check.storage, server)
    return {model for model, digest in check.digests.items() if previous.get(model) != digest}


def _remember(check, server: str, outcomes) -> None:
    """Record what the server now runs; a failed model keeps its old digest, so it is retried."""
    if check is None or check.storage is None:
        return
    from compiler.rollout.engine import FAILED, UNLOADED
    from compiler.rollout.record import read_record, write_record

    record = read_record(check.storage, server)
    for outcome in outcomes:
        if outcome.action == UNLOADED:
            record.pop(outcome.name, None)
        elif outcome.action != FAILED and outcome.name in check.digests:
            record[outcome.name] = check.digests[outcome.name]
    write_record(check.storage, server, record)


def run(options) -> int:
    from compiler.rollout.client import TritonClient, TritonError
    from compiler.rollout.engine import FAILED, LOADED, rollout

    built = load_valid(options)
    if built is None:
        return EXIT_ERROR
    loaded, tree = built
    manifest = loaded.manifest
    serve_variant(manifest, options.model_config_name, options.target or "")
    text = options.output == "text"
    colour = use_colour()
    check = None
    if options.target:
        gate, check = _target_gate(options, colour)
        if gate is not None:
            return gate
    client = TritonClient(options.triton_url, timeout=options.timeout)
    try:
        client.check_live()
        if text:
            print(f"rollout of {options.manifest} to Triton at {client.endpoint}"
                  + (f" (target {options.target})" if options.target else ""))
        server = str(client.endpoint)
        outcomes = rollout(manifest, client, options.timeout, tuple(options.reload or ()),
                           on_outcome=(lambda o: print(_outcome_text(o, colour), flush=True)) if text else None,
                           files_changed=_files_changed(check, server))
        _remember(check, server, outcomes)
        changed = [manifest.models[o.name] for o in outcomes if o.action == LOADED]
        smokes = _smoke(changed, client, manifest.root, text) if options.smoke else []
        perfs = _perf(changed, client, manifest.root, options, text) if options.perf else []
    except TritonError as exc:  # the server went away mid-rollout: what is known was printed already
        raise FatalError(f"Triton at {client.endpoint}: {exc.message}", "check the server; rerun rollout to converge")
    finally:
        client.close()
    counts = {a: sum(o.action == a for o in outcomes) for a in ("loaded", "unchanged", "failed", "unloaded")}
    ok = not counts[FAILED] and all(s.ok for s in smokes) and all(p.ok for p in perfs)
    if text:
        summary = ", ".join(f"{n} {a}" for a, n in counts.items())
        print(f"rollout: {summary}" + ("" if ok else paint(" - FAILED", "error", colour)))
        if counts[FAILED]:
            print("    Triton keeps serving the previous versions of a model whose load failed")
    else:
        print(json_text({"triton_url": str(client.endpoint), "ok": ok, "counts": counts,
                          "models": [o.as_dict() for o in outcomes], "smoke": [s.as_dict() for s in smokes],
                          "perf": [p.as_dict() for p in perfs]}, indent=2))
    return EXIT_OK if ok else EXIT_ERROR


def _smoke(models, client, root, text: bool) -> list:
    from compiler.rollout.smoke import smoke

    results = []
    for model in models:
        result = smoke(model, client, root)
        results.append(result)
        if text:
            sources = ", ".join(sorted({f for _, _, _, f in result.inputs})) or "no inputs"
            status = "ok" if result.ok else "FAILED"
            print(printable(f"  smoke {status:<6} {model.name}: {result.detail} (inputs from {sources})"))
    return results


def _perf(models, client, root, options, text: bool) -> list:
    from compiler.rollout.perf import measure

    results = []
    for model in models:
        result = measure(model, client.endpoint, root, options.concurrency, options.duration)
        results.append(result)
        if text:
            line = (f"  perf  {model.name}: {result.per_second:.1f} infer/s, p50 {result.p50_ms:.2f} ms, "
                    f"p99 {result.p99_ms:.2f} ms ({result.requests} requests, concurrency {result.concurrency}, "
                    f"{result.seconds:.1f} s, {result.tool})")
            if result.errors:
                line += f"; {plural(result.errors, 'error')}: {result.detail}"
            print(line)
    return results
