#!/usr/bin/env python3
"""Regenerate compiler/data/triton_releases.json: which Triton release added each ModelConfig
field, enum value and platform.

    python scripts/triton_releases.py --common <git dir> --core <git dir> > compiler/data/triton_releases.json

<git dir> are clones (bare is fine) of github.com/triton-inference-server/common and .../core,
with their release branches r<YY.MM> (the search tool's `fetch github:triton-inference-server/common`
gives one). For every release branch, oldest first, the script reads
- common: protobuf/model_config.proto, every message field and enum value (nested ones too);
- core:   src/constants.h, every `k...Platform[] = "..."`;
and records the first release whose branch has it. The proto moved into `common` for 21.05 and
constants.h into `core` for 22.04: what those first branches hold is recorded as the table's
baseline (2.10, "2.10 or earlier"), since older history lives in the server repository.

Container tag <-> version: Triton 2.x ships as container YY.MM, one per month, 21.05 being 2.10
(see RELEASES below; from Triton's release notes and GitHub releases, e.g. "Release 2.28.0
corresponding to NGC container 22.11"). The first table row is the baseline.
"""
from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys

PROTO = "protobuf/model_config.proto"
CONSTANTS = "src/constants.h"


def _releases() -> list:
    """[(container, version)] of every Triton 2.x release from 21.05 on. One container a month,
    except: no 21.01 (20.12 = 2.6, 21.02 = 2.7) and no 25.07 (25.06 = 2.59, 25.08 = 2.60)."""
    out, minor = [], 10
    for year in range(21, 27):
        for month in range(1, 13):
            tag = f"{year:02d}.{month:02d}"
            if (year, month) < (21, 5) or tag == "25.07":
                continue
            out.append((tag, f"2.{minor}"))
            minor += 1
    return out


RELEASES = _releases()


def _git(git_dir: str, *args) -> str:
    done = subprocess.run(["git", "--git-dir", git_dir, *args], capture_output=True, text=True)
    return done.stdout if done.returncode == 0 else ""


def _branches(git_dir: str) -> set:
    names = _git(git_dir, "for-each-ref", "--format=%(refname:short)", "refs/heads", "refs/remotes", "refs/tags")
    return {n.rsplit("/", 1)[-1] for n in names.split()}


_COMMENT = re.compile(r"//[^\n]*|/\*.*?\*/", re.S)
_TOKEN = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*|\d+|<[^>]*>|[{};=\[\]]|\"[^\"]*\"|\S")


def proto_names(text: str, package: str = "inference") -> set:
    """Full names (`inference.ModelConfig.runtime`, `inference.DataType.TYPE_BF16`) of every
    field and enum value a .proto declares. A small reader of the subset model_config.proto uses:
    messages, enums, oneofs and maps, nested to any depth."""
    tokens = _TOKEN.findall(_COMMENT.sub(" ", text))
    names, scope, kinds = set(), [package], []
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok in ("message", "enum") and i + 2 < len(tokens) and tokens[i + 2] == "{":
            scope.append(tokens[i + 1])
            kinds.append(tok)
            i += 3
            continue
        if tok == "oneof" and i + 2 < len(tokens) and tokens[i + 2] == "{":
            scope.append(None)  # a oneof's fields belong to the message
            kinds.append("oneof")
            i += 3
            continue
        if tok == "}":
            if kinds:
                scope.pop()
                kinds.pop()
            i += 1
            continue
        # A statement up to ';'.
        end = i
        while end < len(tokens) and tokens[end] != ";":
            end += 1
        statement = tokens[i:end]
        i = end + 1
        if not kinds or not statement or statement[0] in ("option", "reserved", "syntax", "package", "import"):
            continue
        if "=" not in statement:
            continue
        before = statement[:statement.index("=")]
        owner = ".".join(s for s in scope if s is not None)
        if kinds[-1] == "enum":
            names.add(f"{owner}.{before[0]}")
        elif len(before) >= 2:
            names.add(f"{owner}.{before[-1]}")
    return names


_PLATFORM = re.compile(r'k\w+Platform\[\]\s*=\s*"([^"]+)"')


def build(common: str, core: str) -> dict:
    common_branches, core_branches = _branches(common), _branches(core)
    fields: dict = {}
    platforms: dict = {}
    baseline = None
    for container, version in RELEASES:
        branch = f"r{container}"
        text = _git(common, "show", f"{branch}:{PROTO}") if branch in common_branches else ""
        if text:
            baseline = baseline or version
            for name in sorted(proto_names(text)):
                fields.setdefault(name, version)
        constants = _git(core, "show", f"{branch}:{CONSTANTS}") if branch in core_branches else ""
        for platform in _PLATFORM.findall(constants):
            platforms.setdefault(platform, version)
    # What the first branch with constants.h knows predates it (it moved there from server).
    first = min(platforms.values(), key=lambda v: int(v.split(".")[1]), default=None)
    platforms = {p: (baseline if v == first else v) for p, v in platforms.items()}
    last = max((v for v in fields.values()), key=lambda v: int(v.split(".")[1]), default=baseline)
    releases = [{"container": c, "version": v} for c, v in RELEASES
                if int(v.split(".")[1]) <= int(last.split(".")[1]) or f"r{c}" in common_branches]
    return {
        "about": "first Triton release whose ModelConfig has each field / enum value, and whose core "
                 "knows each platform; generated by scripts/triton_releases.py from triton-inference-server/"
                 "common " + PROTO + " and core " + CONSTANTS + " on the release branches",
        "generated_by": "python scripts/triton_releases.py --common <common git dir> --core <core git dir>",
        "baseline": baseline,
        "releases": releases,
        "fields": dict(sorted(fields.items())),
        "platforms": dict(sorted(platforms.items())),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--common", required=True, help="git dir of triton-inference-server/common")
    parser.add_argument("--core", required=True, help="git dir of triton-inference-server/core")
    args = parser.parse_args(argv)
    data = build(args.common, args.core)
    if not data["fields"]:
        print(f"no release branch with {PROTO} found in {args.common}", file=sys.stderr)
        return 1
    json.dump(data, sys.stdout, indent=1, sort_keys=False)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
