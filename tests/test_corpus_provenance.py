"""The vendored corpus (tests/corpus) keeps its provenance: every file is listed in MANIFEST.tsv
with its source repository, path, commit and license, is byte-for-byte what that commit holds
(its sha256, recorded when it was vendored), and the license text it names is in licenses/.

Apache-2.0 allows redistribution of unmodified files with the license (and NOTICE) alongside;
BSD-3-Clause and MIT with their copyright notice. A file edited here would no longer be the
upstream file its row describes, so an edit fails the sha256 check instead of going unnoticed.
"""
from __future__ import annotations

import csv
import hashlib
import re

from tests.helpers import CORPUS

OWN = "(this repository)"
# Words each license text must contain, to catch a row naming the wrong text.
LICENSE_WORDS = {
    "BSD-3-Clause": "Redistribution and use in source and binary forms",
    "MIT": "Permission is hereby granted, free of charge",
    "Apache-2.0": "Apache License",
}
NOT_DATA = {"README.md", "MANIFEST.tsv"}


def manifest_rows() -> list:
    with open(CORPUS / "MANIFEST.tsv", newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


def vendored_files() -> set:
    return {p.relative_to(CORPUS).as_posix() for p in CORPUS.rglob("*")
            if p.is_file() and p.name not in NOT_DATA and not p.relative_to(CORPUS).as_posix().startswith("licenses/")}


def test_every_vendored_file_is_listed_once():
    rows = manifest_rows()
    listed = [r["file"] for r in rows]
    assert len(listed) == len(set(listed))
    assert set(listed) == vendored_files()
    # 532 QA case files; 105 real-world configs, their 20 `expected` texts and INDEX.tsv; VERIFIED.tsv
    qa = [f for f in listed if f.startswith("triton-qa-model-config/")]
    real = [f for f in listed if f.startswith("real-world-configs/")]
    assert (len(qa), len(real), len(listed)) == (532, 126, 659)


def test_every_third_party_file_is_the_upstream_file_under_a_redistributable_license():
    for row in manifest_rows():
        if row["source_repo"] == OWN:
            continue
        where = row["file"]
        assert re.fullmatch(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+", row["source_repo"]), where
        assert re.fullmatch(r"[0-9a-f]{40}", row["commit"]), where
        assert row["source_path"], where
        assert hashlib.sha256((CORPUS / where).read_bytes()).hexdigest() == row["sha256"], \
            f"{where} differs from {row['source_repo']}@{row['commit'][:7]}:{row['source_path']}"
        assert row["license"] in LICENSE_WORDS, f"{where}: {row['license']!r} is not a license this corpus may carry"
        texts = row["license_text"].split()
        assert texts, where
        for text in texts:
            assert text.startswith("licenses/") and (CORPUS / text).is_file(), f"{where}: {text} missing"
        bodies = " ".join((CORPUS / t).read_text(encoding="utf-8") for t in texts)
        assert LICENSE_WORDS[row["license"]] in bodies, f"{where}: {texts} is not a {row['license']} text"


def test_every_license_text_is_used_and_names_its_source():
    rows = manifest_rows()
    used = {t for r in rows for t in r["license_text"].split()}
    present = {p.relative_to(CORPUS).as_posix() for p in (CORPUS / "licenses").iterdir()}
    assert used == present
    for row in rows:  # licenses/<owner>__<repo>__<commit7>[__<folder>]__<name>
        for text in row["license_text"].split():
            prefix = f"licenses/{row['source_repo'].replace('/', '__')}__{row['commit'][:7]}__"
            assert text.startswith(prefix), (row["file"], text)


def test_real_world_index_agrees_with_the_manifest():
    by_file = {r["file"]: r for r in manifest_rows()}
    with open(CORPUS / "real-world-configs" / "INDEX.tsv", newline="", encoding="utf-8") as handle:
        index = list(csv.DictReader(handle, delimiter="\t"))
    assert len(index) == 105
    for entry in index:
        row = by_file[f"real-world-configs/{entry['file']}"]
        assert (row["source_repo"], row["source_path"], row["commit"]) == \
            (entry["source_repo"], entry["path"], entry["commit"]), entry["file"]
