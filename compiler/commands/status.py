"""`triton-gitops status`: do live Tritons serve what the manifest says? Exit 2 when one does
not. With several servers (compiler/rollout/fleet.py) each is compared on its own; with
--wait, POLL-mode servers are watched until they converge (compiler/rollout/converge.py)."""
from __future__ import annotations

from compiler.commands import EXIT_CHANGES, EXIT_ERROR, EXIT_OK, load_or_report, run_settings
from compiler.console import json_text, paint, plural, use_colour
from compiler.errors import FatalError, printable
from compiler.manifest.variants import serve_variant
from compiler.rollout.client import TritonClient, TritonError
from compiler.rollout.converge import wait_converged
from compiler.rollout.drift import find_drift, versions_text
from compiler.rollout.fleet import replicas as named_replicas


def _drift(manifest, replica, timeout: float) -> list:
    client = TritonClient(replica.url, timeout=timeout)
    try:
        client.check_live()
        return find_drift(manifest, client)
    except TritonError as exc:
        raise FatalError(f"Triton at {client.endpoint}: {exc.message}")
    finally:
        client.close()


def run(options) -> int:
    built = load_or_report(options.manifest, options.output, run_settings(options))
    if built is None:
        return EXIT_ERROR
    loaded, _tree = built
    manifest = loaded.manifest
    serve_variant(manifest, options.model_config_name, options.target or "")

    replicas = named_replicas(manifest, options.target, options.triton_url, options.servers_file, options.nameserver,
                              options.metrics_port)
    if options.wait:
        return _wait(options, manifest, replicas)
    results = [(replica, _drift(manifest, replica, options.timeout or 30.0)) for replica in replicas]
    drifted = any(drift for _, drift in results)
    if options.output == "json":
        report = {"in_sync": not drifted, "models": len(manifest.models),
                  "servers": [{"triton_url": r.url, "in_sync": not d, "drift": [x.as_dict() for x in d]}
                              for r, d in results]}
        if len(results) == 1:  # one server: the shape status has always printed, too
            report.update(triton_url=results[0][0].url, drift=[x.as_dict() for x in results[0][1]])
        print(json_text(report, indent=2))
        return EXIT_CHANGES if drifted else EXIT_OK
    colour = use_colour()
    for replica, drift in results:
        _print_one(manifest, options, replica, drift, colour, several=len(results) > 1)
    if len(results) > 1:
        bad = sum(1 for _, d in results if d)
        print(f"status: {bad} of {plural(len(results), 'server')} drifted" if bad
              else f"status: in sync on all {plural(len(results), 'server')}")
    return EXIT_CHANGES if drifted else EXIT_OK


def _print_one(manifest, options, replica, drift, colour, several: bool) -> None:
    indent = "  " if several else ""
    if several:
        print(f"Triton at {printable(str(replica))}:")
    for item in drift:
        kind = paint(item.kind, "error" if item.kind == "missing" else "update", colour)
        print(f"{indent}{kind} {printable(item.model)}: {printable(item.message)}")
        for detail in item.details:  # several lines from Triton: each one printable
            print("\n".join(indent + "    " + printable(line) for line in detail.strip().split("\n")))
    if drift:
        models = len({d.model for d in drift})
        print(f"{indent}status: drifted - {plural(len(drift), 'finding')} in {plural(models, 'model')} "
              f"(Triton at {replica.url}, {printable(str(options.manifest))})")
    else:
        print(f"{indent}status: in sync - {plural(len(manifest.models), 'model')} served as "
              f"{printable(str(options.manifest))} says (Triton at {replica.url})")


def _wait(options, manifest, replicas) -> int:
    timeout = options.timeout or 300.0
    servers = wait_converged(manifest, replicas, timeout, request_timeout=min(timeout, 30.0))
    ok = all(s.converged for s in servers)
    if options.output == "json":
        print(json_text({"converged": ok, "timeout": timeout, "servers": [s.as_dict() for s in servers]}, indent=2))
        return EXIT_OK if ok else EXIT_CHANGES
    colour = use_colour()
    for server in servers:
        if server.converged:
            print(f"converged Triton at {printable(server.url)}: {plural(len(manifest.models), 'model')} READY")
            continue
        print(paint(f"not converged Triton at {printable(server.url)} after {timeout:g} s", "error", colour))
        if server.error:
            print(f"    not reachable: {printable(server.error)}")
        for m in server.missing:
            print(f"    {printable(m.model)}: versions {versions_text(m.ready)} READY, the manifest selects "
                  f"{versions_text(m.expected)}")
            for version, reason in m.reasons.items():
                print("\n".join(f"      version {version}: " + printable(line) if i == 0 else "        " + printable(line)
                                for i, line in enumerate(str(reason).strip().split("\n"))))
        if server.stuck:
            print("    its repository index did not change at all while waiting: the poller is not taking the "
                  "change (Triton stops polling after some failed loads; or --repository-poll-secs is longer "
                  "than the wait; or it reads another repository)")
            print("    remedy: check the server's log, fix the failing model and sync again, then restart the "
                  "server (or its pod) so it polls again; `sync --revision REF` puts the last good state back")
    print(f"status: {'converged' if ok else 'NOT converged'} - {sum(s.converged for s in servers)} of "
          f"{plural(len(servers), 'server')}")
    return EXIT_OK if ok else EXIT_CHANGES
