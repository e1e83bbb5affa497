"""`python -m compiler.scaffold`: re-render this repository's own workflows and compose file."""
from pathlib import Path

from compiler.scaffold import self_files, write_files

here = Path(__file__).resolve().parents[2]
for rel in write_files(self_files(), here, force=True):
    print(f"wrote {rel}")
