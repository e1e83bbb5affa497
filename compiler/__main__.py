"""The entry point: `python -m compiler` and the `triton-gitops` console script.

The speed-only start of `sync` and `plan` (a helper process reading the target, forked
before argparse and the command's modules are imported) begins here: compiler/fastpath/."""
import sys

from compiler.fastpath import begin


def main() -> int:
    begin(sys.argv[1:])
    from compiler.cli import main as run  # noqa: PLC0415 - fastpath: the CLI (argparse, options) loads after begin() may have forked the target helper

    return run()


if __name__ == "__main__":
    raise SystemExit(main())
