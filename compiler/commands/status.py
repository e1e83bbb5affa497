"""`triton-gitops status`: does a live Triton serve what the manifest says? Exit 2 when not."""
from __future__ import annotations


from compiler.commands import EXIT_CHANGES, EXIT_ERROR, EXIT_OK
from compiler.errors import FatalError, printable
from compiler.manifest.variants import serve_variant
from compiler.pipeline import load_valid
from compiler.report import json_text, paint, plural, use_colour


def run(options) -> int:
    from compiler.rollout.client import TritonClient, TritonError
    from compiler.rollout.drift import find_drift

    built = load_valid(options)
    if built is None:
        return EXIT_ERROR
    loaded, tree = built
    manifest = loaded.manifest
    serve_variant(manifest, options.model_config_name)
    client = TritonClient(options.triton_url, timeout=options.timeout)
    try:
        client.check_live()
        drift = find_drift(manifest, client)
    except TritonError as exc:
        raise FatalError(f"Triton at {client.endpoint}: {exc.message}")
    finally:
        client.close()
    if options.output == "json":
        print(json_text({"triton_url": str(client.endpoint), "in_sync": not drift,
                          "models": len(manifest.models), "drift": [d.as_dict() for d in drift]}, indent=2))
        return EXIT_CHANGES if drift else EXIT_OK
    colour = use_colour()
    for item in drift:
        kind = paint(item.kind, "error" if item.kind == "missing" else "update", colour)
        print(f"{kind} {printable(item.model)}: {printable(item.message)}")
        for detail in item.details:  # several lines from Triton: each one printable
            print("\n".join("    " + printable(line) for line in detail.strip().split("\n")))
    if drift:
        models = len({d.model for d in drift})
        print(f"status: drifted - {plural(len(drift), 'finding')} in {plural(models, 'model')} "
              f"(Triton at {client.endpoint}, {printable(str(options.manifest))})")
        return EXIT_CHANGES
    print(f"status: in sync - {plural(len(manifest.models), 'model')} served as {printable(str(options.manifest))} says "
          f"(Triton at {client.endpoint})")
    return EXIT_OK
