"""`triton-gitops schema`: print the manifest's JSON Schema."""
from __future__ import annotations

import sys

from compiler import triton_releases
from compiler.commands import EXIT_OK
from compiler.manifest.schema import schema_text


def run(options) -> int:
    sys.stdout.write(schema_text(triton_releases.field_releases()))
    return EXIT_OK
