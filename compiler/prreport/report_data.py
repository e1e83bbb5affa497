"""The report's data: the manifest at a base ref against the work tree, model by model.

The command loads both sides (`compiler.pipeline.load_and_build`, the base from a temporary
copy of the manifest's folder as it was at the base ref, so relative sources resolve as they
did there) and asks git what it knows (`GitFacts`); this module only compares what it is
given. Per model: added / changed / removed, the field-level config diff, the files of the
compiled model folder that differ, and a digest per version.

Version digests are the ones `models.lock` records (`compiler.artifacts`): a file source's
is its sha256 (what `sha256sum model.onnx` prints), a folder's the sha256 of its
`sha256sum`-style listing (`<sha256>  <path>\\n` per file, sorted by path); an ensemble's
empty version folder has none.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Optional

from compiler.manifest.variants import FOLDER, is_config_path
from compiler.prreport.configdiff import diff_configs
from compiler.prreport.plans import ERROR, UNKNOWN
from compiler.storage.destinations import listing as credential_destinations
from compiler.storage.urls import redact_url

if TYPE_CHECKING:  # for annotations only: never imported at run time
    from compiler.compile.tree import Tree
    from compiler.gitinfo import Revision
    from compiler.manifest import LoadedManifest

ADDED, CHANGED, REMOVED, UNCHANGED = "added", "changed", "removed", "unchanged"
_CONFIG = "config.pbtxt"


@dataclass
class Side:
    """One manifest, loaded: config dicts, per-file digests and the problems found."""
    configs: dict = field(default_factory=dict)  # model -> config_dict
    files: dict = field(default_factory=dict)  # model -> {path inside the model folder: (sha256, size)}
    config_texts: dict = field(default_factory=dict)  # model -> config.pbtxt as compiled
    digests: dict = field(default_factory=dict)  # model -> {version: (digest, file count)}
    sources: dict = field(default_factory=dict)  # model -> {version: source as written}
    targets: dict = field(default_factory=dict)  # target -> URL as written (credentials redacted)
    problems: list = field(default_factory=list)  # Problem
    tuning: dict = field(default_factory=dict)  # model -> its `tuning:` block (measured figures)
    variants: dict = field(default_factory=dict)  # model -> {variant: config_dict} (`configs:`)
    config_names: dict = field(default_factory=dict)  # target -> the variant its servers load ("" for none)
    destinations: list = field(default_factory=list)  # (what, endpoint, credentials): storage.destinations
    ok: bool = False
    has_tree: bool = False  # files/digests known (the manifest built); else configs only
    parsed: bool = False  # the manifest was read (models and targets known), with or without problems


@dataclass
class ModelReport:
    name: str
    status: str
    config_changes: list = field(default_factory=list)  # FieldChange
    files: list = field(default_factory=list)  # {"path", "status", "sha256", "old_sha256", "size"}
    versions: list = field(default_factory=list)  # {"version", "status", "sha256", "old_sha256", "source", "files"}
    config_text: str = ""  # an added model's whole config.pbtxt
    tuning: dict = field(default_factory=dict)  # this PR's `tuning:` block
    old_tuning: dict = field(default_factory=dict)  # the base's
    # Config variants (configs/<name>.pbtxt) added, changed or removed: {"name", "status", "config_changes"}.
    variants: list = field(default_factory=list)
    # Per target that names a config variant: {"target", "config_name", "file"}: the file its servers load.
    served: list = field(default_factory=list)

    @property
    def tuning_rows(self) -> list:
        """The measured figures, base (when they differ) and this PR, for the report's table."""
        rows = [("base", self.old_tuning)] if self.old_tuning and self.old_tuning != self.tuning else []
        rows += [("this PR", self.tuning)] if self.tuning else []
        return [{"side": side, "source": t.get("source"), "config": t.get("config"), "load": _load_text(t),
                 "throughput": t.get("throughput_per_sec"), "p99": t.get("p99_latency_ms"),
                 "memory": t.get("gpu_memory_mb")} for side, t in rows]

    @property
    def extra_files(self) -> list:
        """Changed files outside the version folders: labels, warmup data, ... (config variants
        have their own table)."""
        return [f for f in self.files if not f["path"].split("/", 1)[0].isdigit()
                and not is_config_path(f"{self.name}/{f['path']}")]

    def as_dict(self) -> dict:
        return {"name": self.name, "status": self.status,
                "config_changes": [c.as_dict() for c in self.config_changes],
                "files": self.files, "versions": self.versions, "config_text": self.config_text,
                "tuning": self.tuning, "old_tuning": self.old_tuning,
                "variants": [dict(v, config_changes=[c.as_dict() for c in v["config_changes"]]) for v in self.variants],
                "served": self.served}


def _load_text(tuning: dict) -> str:
    """`batch 4, concurrency 8`: the client load the figures were measured at."""
    names = (("batch_size", "batch"), ("concurrency", "concurrency"), ("request_rate", "request rate"))
    return ", ".join(f"{label} {tuning[key]}" for key, label in names if tuning.get(key) is not None)


@dataclass
class Report:
    manifest: str
    base_ref: str
    base_sha: str = ""
    head: Optional[Revision] = None
    base_note: str = ""
    models: list = field(default_factory=list)  # ModelReport, every model on either side
    problems: list = field(default_factory=list)  # the PR side's problems (warnings, or errors)
    changed_files: list = field(default_factory=list)  # git paths changed since base, in the manifest's folder
    targets: list = field(default_factory=list)  # prreport.plans.TargetPlan
    target_changes: list = field(default_factory=list)  # {"name", "status", "url", "old_url"}
    head_ok: bool = True
    # Where credentials go, where the PR changes it: {"change": added|removed, "what", "endpoint", "credentials"}
    security: list = field(default_factory=list)

    def counts(self) -> dict:
        counts = {ADDED: 0, CHANGED: 0, REMOVED: 0, UNCHANGED: 0}
        for model in self.models:
            counts[model.status] += 1
        return counts

    @property
    def pending(self) -> bool:
        return bool(self.target_changes) or any(m.status != UNCHANGED for m in self.models)

    @property
    def failed_plans(self) -> list:
        """Targets whose plan did not finish (an error, or no result that can be read)."""
        return [t for t in self.targets if t.status in (ERROR, UNKNOWN)]

    def as_dict(self) -> dict:
        errors = sum(p.is_error for p in self.problems)
        return {"manifest": self.manifest, "base": {"ref": self.base_ref, "sha": self.base_sha, "note": self.base_note},
                "head": self.head.as_dict() if self.head else None, "ok": self.head_ok,
                "counts": self.counts(), "pending": self.pending,
                "models": [m.as_dict() for m in self.models],
                "problems": [p.as_dict() for p in sorted(self.problems, key=lambda p: p.sort_key())],
                "errors": errors, "warnings": len(self.problems) - errors,
                "changed_files": self.changed_files,
                "target_changes": self.target_changes,
                "targets": [t.as_dict() for t in self.targets], "security": self.security}


def side_of(loaded: LoadedManifest, tree: Optional[Tree]) -> Side:
    """One side of the report, from its loaded manifest and its tree (None when it did not
    build). Local files are read for their digests: call this while they are still there."""
    side = Side()
    side.problems = list(loaded.problems)
    side.ok = loaded.ok
    side.destinations = credential_destinations(loaded.document.data)
    if loaded.manifest is None:
        return side
    side.parsed = True
    side.targets = {name: redact_url(t.url) for name, t in loaded.manifest.targets.items()}
    side.config_names = {name: t.config_name for name, t in loaded.manifest.targets.items()}
    for name, model in loaded.manifest.models.items():
        side.configs[name] = model.config_dict
        side.variants[name] = {v: variant.config_dict for v, variant in model.variants.items()}
        side.sources[name] = {n: v.source for n, v in model.versions.items()}
        side.tuning[name] = dict(model.tuning)
    if tree is not None:
        side.has_tree = True
        for entry in tree.entries:
            inner = entry.path.split("/", 1)[1]
            sha = entry.content_sha256()
            if inner == _CONFIG and entry.data is not None:
                side.config_texts[entry.model] = entry.data.decode("utf-8", "replace")
            side.files.setdefault(entry.model, {})[inner] = (sha, entry.size)
        for name, model in loaded.manifest.models.items():
            side.digests[name] = _digests(model, side.files.get(name, {}))
    return side


def _digests(model, files: dict) -> dict:
    """{version: (digest, file count)}: the resolved artifact's digest, else computed the same way."""
    listed = version_digests(files)
    out = {}
    for number, version in model.versions.items():
        artifact = getattr(version, "artifact", None)
        if artifact is not None and bool(getattr(artifact, "digest", "")):
            count = len(getattr(artifact, "files", None) or ()) or listed.get(number, ("", 1))[1]
            out[number] = (artifact.digest, count)
        elif version.local_path is not None:
            digest, count = listed.get(number, ("", 0))
            if version.local_path.is_file():  # a file source: its own sha256, not a listing's
                digest = next((sha for path, (sha, _) in files.items() if path.startswith(f"{number}/")), digest)
            out[number] = (digest, count)
    return out


def version_digests(files: dict) -> dict:
    """{version number: (folder digest, file count)} from one model's {path: (sha256, size)}."""
    per_version: dict = {}
    for path, (sha, _size) in files.items():
        head, _, rest = path.partition("/")
        if head.isdigit() and rest:
            per_version.setdefault(int(head), []).append((rest, sha))
    digests = {}
    for number, items in per_version.items():
        items.sort(key=lambda item: item[0].encode("utf-8"))
        listing = "".join(f"{sha}  {rel}\n" for rel, sha in items)
        digests[number] = (hashlib.sha256(listing.encode("utf-8")).hexdigest(), len(items))
    return digests


def compare_model(name: str, base: Side, head: Side) -> ModelReport:
    in_base, in_head = name in base.configs, name in head.configs
    status = ADDED if not in_base else REMOVED if not in_head else UNCHANGED
    report = ModelReport(name, status)
    if in_base and in_head:
        report.config_changes = diff_configs(base.configs[name], head.configs[name])
    elif in_head:
        report.config_text = head.config_texts.get(name, "")
    # Content is compared only when both sides built (a side that did not has no files;
    # missing files there are not removals). A side missing the model entirely counts as built.
    trees = (base.has_tree or not in_base) and (head.has_tree or not in_head)
    old_files, new_files = base.files.get(name, {}), head.files.get(name, {})
    for path in sorted(set(old_files) | set(new_files)) if trees else ():
        if path == _CONFIG:
            continue
        old, new = old_files.get(path), new_files.get(path)
        if old == new or (old and new and old[0] == new[0]):
            continue
        file_status = ADDED if old is None else REMOVED if new is None else CHANGED
        report.files.append({"path": path, "status": file_status, "sha256": new[0] if new else "",
                             "old_sha256": old[0] if old else "", "size": new[1] if new else old[1]})
    old_digests, new_digests = base.digests.get(name, {}), head.digests.get(name, {})
    old_sources, new_sources = base.sources.get(name, {}), head.sources.get(name, {})
    for number in sorted(set(old_sources) | set(new_sources)):
        old, new = old_digests.get(number), new_digests.get(number)
        if number not in old_sources:
            v_status = ADDED
        elif number not in new_sources:
            v_status = REMOVED
        elif trees and (old or ("", 0))[0] != (new or ("", 0))[0]:
            v_status = CHANGED
        else:
            v_status = UNCHANGED
        report.versions.append({"version": number, "status": v_status,
                                "sha256": new[0] if new else "", "old_sha256": old[0] if old else "",
                                "files": (new or old or ("", 0))[1],
                                "source": new_sources.get(number, old_sources.get(number, ""))})
    report.tuning, report.old_tuning = head.tuning.get(name, {}), base.tuning.get(name, {})
    report.variants = compare_variants(base.variants.get(name, {}), head.variants.get(name, {}))
    if in_head:
        report.served = served_configs(head.variants.get(name, {}), head.config_names)
    if status == UNCHANGED and (report.config_changes or report.files or report.tuning != report.old_tuning
                                or report.variants or any(v["status"] != UNCHANGED for v in report.versions)):
        report.status = CHANGED
    return report


def compare_variants(old: dict, new: dict) -> list:
    """Variants added, changed (field by field, as compiled) or removed."""
    out = []
    for variant in sorted(set(old) | set(new)):
        before, after = old.get(variant), new.get(variant)
        if before is None:
            out.append({"name": variant, "status": ADDED, "config_changes": []})
        elif after is None:
            out.append({"name": variant, "status": REMOVED, "config_changes": []})
        else:
            changes = diff_configs(before, after)
            if changes:
                out.append({"name": variant, "status": CHANGED, "config_changes": changes})
    return out


def served_configs(variants: dict, config_names: dict) -> list:
    """For each target whose servers run --model-config-name: the file they load for this model
    (its variant, or config.pbtxt when the model has none of that name: Triton's fallback)."""
    out = []
    for target, config_name in sorted(config_names.items()):
        if config_name:
            file = f"{FOLDER}/{config_name}.pbtxt" if config_name in variants else _CONFIG
            out.append({"target": target, "config_name": config_name, "file": file})
    return out


def compare_targets(base: Side, head: Side) -> list:
    """Targets added, removed or pointed elsewhere: a sync writes somewhere new (or stops)."""
    changes = []
    for name in sorted(set(base.targets) | set(head.targets)):
        old, new = base.targets.get(name), head.targets.get(name)
        if old == new:
            continue
        status = ADDED if old is None else REMOVED if new is None else CHANGED
        changes.append({"name": name, "status": status, "url": new or "", "old_url": old or ""})
    return changes


def security_changes(base: list, head: list) -> list:
    """Credential destinations the PR adds or removes (a changed one is both)."""
    old, new = set(base), set(head)
    rows = [("added", row) for row in sorted(new - old)] + [("removed", row) for row in sorted(old - new)]
    return [{"change": change, "what": what, "endpoint": endpoint, "credentials": credentials}
            for change, (what, endpoint, credentials) in rows]


@dataclass(frozen=True)
class GitFacts:
    """What git says around the two sides, read by the command: HEAD's revision, the base commit,
    the files changed since it, and why there is no base side ("" when there is one)."""
    head: Optional[Revision] = None
    base_sha: str = ""
    changed_files: tuple = ()  # git paths, in the manifest's folder
    base_note: str = ""


def build_report(manifest, base_ref: str, head: tuple, base: Optional[tuple], git: GitFacts,
                 plans: list | None = None) -> Report:
    """Compare two loaded sides of `manifest` (the path the report names): `head` and `base` are
    `pipeline.load_and_build`'s (LoadedManifest, Tree or None); `base` None when there is no
    manifest at the base (every model and target is new). Nothing is read from git or loaded
    here, except the local files of each side's tree for their digests: the base's checkout
    must still exist."""
    manifest = Path(manifest)
    report = Report(manifest.as_posix(), base_ref, base_sha=git.base_sha, head=git.head, base_note=git.base_note,
                    changed_files=list(git.changed_files))
    head_side = side_of(*head)
    report.problems = head_side.problems
    report.head_ok = head_side.ok
    base_side = Side() if base is None else side_of(*base)
    if base is not None and not base_side.ok:
        errors = sum(p.is_error for p in base_side.problems)
        report.base_note = (f"the base {manifest.name} has {errors} error(s); models it could not "
                            "build are compared by config only")
    names = sorted(set(base_side.configs) | set(head_side.configs))
    report.models = [compare_model(name, base_side, head_side) for name in names]
    if base is None or base_side.parsed:  # a base manifest that could not be read says nothing of its targets
        report.target_changes = compare_targets(base_side, head_side)
    report.security = security_changes(base_side.destinations, head_side.destinations)
    report.targets = list(plans or [])
    return report
