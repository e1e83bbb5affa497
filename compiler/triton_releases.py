"""Which Triton release added what: the table in compiler/data/triton_releases.json.

The table comes from Triton's own history (scripts/triton_releases.py reads model_config.proto
and core's platform names on every release branch). A release is named either by its version
("2.51", "2.51.0") or by its container tag ("24.10"); both map to one `Release`.
"""
from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

DATA = Path(__file__).parent / "data" / "triton_releases.json"
_VERSION = re.compile(r"^2\.(\d{1,3})(\.\d{1,3})?$")
_CONTAINER = re.compile(r"^(\d{2})\.(\d{2})$")


@dataclass(frozen=True, order=True)
class Release:
    minor: int  # Triton 2.<minor>: releases compare by it
    container: str = ""

    @property
    def version(self) -> str:
        return f"2.{self.minor}"

    def __str__(self) -> str:
        return f"Triton {self.version} ({self.container})" if self.container else f"Triton {self.version}"


@functools.lru_cache(maxsize=1)
def table() -> dict:
    return json.loads(DATA.read_text(encoding="utf-8"))


@functools.lru_cache(maxsize=1)
def _by_minor() -> dict:
    return {int(r["version"].split(".")[1]): r["container"] for r in table()["releases"]}


def release_of(version: str) -> Release:
    """The release a table value ("2.52") names."""
    minor = int(version.split(".")[1])
    return Release(minor, _by_minor().get(minor, ""))


def baseline() -> Release:
    return release_of(table()["baseline"])


def newest() -> Release:
    return release_of(max(table()["releases"], key=lambda r: int(r["version"].split(".")[1]))["version"])


def parse(text) -> tuple:
    """(Release, "") or (None, why not) for a manifest's `triton:` value."""
    text = str(text).strip()
    by_minor = _by_minor()
    match = _VERSION.match(text)
    if match:
        minor = int(match.group(1))
        if minor in by_minor:
            return Release(minor, by_minor[minor]), ""
    match = _CONTAINER.match(text)
    if match:
        for minor, container in by_minor.items():
            if container == text:
                return Release(minor, container), ""
    first, last = baseline(), newest()
    return None, (f"'{text}' is not a Triton release this tool knows: give the version (\"{last.version}\") or the "
                  f"container tag (\"{last.container}\"), from {first.version} ({first.container}) to {last.version} "
                  f"({last.container})")


def added_in(full_name: str) -> Optional[Release]:
    """The release that added a field or enum value (`inference.ModelConfig.runtime`), or None
    when the table does not know it."""
    version = table()["fields"].get(full_name)
    return release_of(version) if version else None


def field_releases() -> dict:
    """{full name: "2.52 (24.11)"} of every field and enum value newer than the table's oldest
    release: the `releases` table compiler/manifest/docs.py takes, so that the schema's
    descriptions and `explain` say "Added in Triton 2.52 (24.11).". Older ones are left out:
    the table only knows they are in 2.10 or earlier."""
    first = table()["baseline"]
    out = {}
    for name, version in table()["fields"].items():
        if version != first:
            release = release_of(version)
            out[name] = f"{release.version} ({release.container})"
    return out


def platform_added_in(platform: str) -> Optional[Release]:
    version = table()["platforms"].get(platform)
    return release_of(version) if version else None
