"""The entry point: `python -m compiler` and the `triton-gitops` console script.

The storage helper of `sync` and `plan` is forked here, before argparse and the command's
modules are imported, because its import of the storage SDK is the longest leg of a no-op
run (compiler/sync/prefetch.py)."""
import sys


def main() -> int:
    from compiler.sync.prefetch import start_early

    start_early(sys.argv[1:])
    from compiler.cli import main as run

    return run()


if __name__ == "__main__":
    raise SystemExit(main())
