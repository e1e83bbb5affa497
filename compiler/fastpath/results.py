"""A per-model result cache: what validating and building a model cost, reused while the
model's inputs are unchanged.

At 10,000 models most of a `validate` or a no-op `plan` is per-model work that gives the same
answer as last time: the YAML parsed into the same mapping, the same config dict turned into
the same ModelConfig, the same message rendered into the same config.pbtxt, Triton's rules
finding the same problems. Each is a function of inputs this module keys it by, so a cached
answer is the answer the plain code would give:

- a model's normalized config (short forms expanded, warmup data taken out): its entry merged
  with the defaults, exactly as written (`repr`);
- the parsed manifest: the sha256 of the manifest's bytes (a document that loads with a
  problem, or needed its positions to load, is never cached; nor is one with storage options
  or a URL with user info or a query, where a credential may be written literally);
- the schema's yes/no check: the same bytes;
- a ModelConfig: the model's normalized config (defaults merged, canonical form), exactly as
  written (`repr`: 1, 1.0, True and "1" stay apart);
- config.pbtxt: the message's deterministic bytes and the source label in its header;
- the rules' findings for one config (its problems and its notes, such as a graph that is not
  ONNX, so that a replay shows the same notes): the config's bytes; the versions and files the folder
  will hold; the Triton release and who said it; the server's declared backends and agents;
  for an ensemble, each step's config, versions and whether the repository has it; and every
  look the rules took into the model's folder, replayed against the folder as it is now, with
  the stat key (size, mtime, ctime, inode, device: compiler/storage/files.stat_key) of each
  file they were given to read (never kept when one of them changed within RACY_SECONDS of
  that look: its stamps could not show a rewrite in the same tick); an ONNX graph, which the
  rule reads through a look of its own (onnx_graph), with its stat key and what was read of it
  (its inputs and outputs, or why not): a graph whose stamp changed is read again and
  compared, so a fresh checkout (every stamp new, the same graphs) does not run the rules
  again once its stamps are RACY_SECONDS old;
- and, around all of it, the tool itself: its version, the stamps of its own files, Python's
  and protobuf's versions. A cache written by other code is never read.

One file per manifest (by its absolute path) in the user cache folder, next to the artifact
cache: `<cache>/results/<hash>.bin`, replaced atomically, holding only what the last run used.
A file that is corrupt, truncated or foreign is ignored, never an error. Off with
TRITON_GITOPS_FASTPATH=0 (compiler/fastpath/__init__.py); tests/fastpath checks that both
ways give the same results.
"""
from __future__ import annotations

import dataclasses
import hashlib
import marshal
import os
import stat
import time
from pathlib import Path

from compiler.answers import PLAIN, Plain  # noqa: F401 - PLAIN: what compiler.fastpath hands out when off
from compiler.fastpath import cache_file
from compiler.manifest.normalize import WarmupSource
from compiler.manifest.yaml_source import MAX_BYTES, Document
from compiler.notes import as_data, from_data
from compiler.proto import ModelConfig
from compiler.rules import Findings
from compiler.rules.onnx_model import Tensor
from compiler.storage.files import racy, stamp_ns, stat_key

_MAGIC = b"triton-gitops results 2\n"  # 2: the rules' entries keep their notes
_SECTIONS = ("doc", "normal", "parse", "render", "rules")


def open_for(manifest_path, cache_root: Path) -> Results:
    name = hashlib.sha256(os.fsencode(os.path.abspath(manifest_path))).hexdigest()[:32]
    return Results(cache_root / "results" / f"{name}.bin")


class Results(Plain):
    def __init__(self, file: Path):
        self.file = file
        self.old = _read(file)
        self.new: dict = {section: {} for section in _SECTIONS}
        self.computed = 0  # answers the cache did not have

    def _hit(self, section: str, key):
        value = self.old[section].get(key)
        if value is not None:
            self.new[section][key] = value
        return value

    def _keep(self, section: str, key, value) -> None:
        self.new[section][key] = value
        self.computed += 1

    def document(self, raw, display, load):
        if len(raw) > MAX_BYTES:
            return load(raw, display)
        key = hashlib.sha256(raw).digest()
        found = self._hit("doc", key)
        if isinstance(found, list) and len(found) == 2 and isinstance(found[0], bytes):
            doc = Document(display)
            try:
                doc.data = marshal.loads(found[0])  # a copy: what the run does to it stays out of the cache
            except (EOFError, ValueError, TypeError):
                doc.data = None
            if doc.data is not None:
                doc.text = raw.decode("utf-8-sig")  # decoded before: cannot fail
                self._document = (key, doc.data)
                return doc
            self.new["doc"].pop(key, None)
        doc = load(raw, display)
        if not doc.problems and doc.text is not None and not cache_file.may_hold_credentials(doc.data):
            try:
                frozen = marshal.dumps(doc.data)
            except ValueError:  # not plain data: not cached
                return doc
            self._keep("doc", key, [frozen, None])
            self._document = (key, doc.data)
        return doc

    def is_valid(self, data, check) -> bool:
        key, loaded = getattr(self, "_document", (None, None))
        entry = self.new["doc"].get(key)
        if entry is None or loaded is not data:
            return check(data)
        if entry[1] is None:
            entry[1] = bool(check(data))
            self.computed += 1
        return entry[1]

    def canonical_config(self, name, merged, canonical):
        """(config dict, [WarmupSource]) of one model's merged entry, as normalize.canonical_config."""
        key = hashlib.sha256(repr((name, merged)).encode("utf-8", "surrogatepass")).digest()
        found = self._hit("normal", key)
        if isinstance(found, bytes):
            try:
                config, warmups = marshal.loads(found)  # a copy: later changes to the dict stay out of the cache
                return config, [WarmupSource(*fields[:5], tuple(fields[5])) for fields in warmups]
            except (EOFError, ValueError, TypeError):
                self.new["normal"].pop(key, None)
        config, warmups = canonical(name, merged)
        try:
            frozen = marshal.dumps([config, [[w.file_name, w.data_type, w.dims, w.data, w.source, list(w.path)]
                                             for w in warmups]])
        except ValueError:
            return config, warmups
        self._keep("normal", key, frozen)
        return config, warmups

    def parse_config(self, config_dict, parse):
        key = hashlib.sha256(repr(config_dict).encode("utf-8", "surrogatepass")).digest()
        found = self._hit("parse", key)
        if isinstance(found, bytes):
            return ModelConfig.FromString(found)
        config = parse(config_dict)
        if config is not None:
            self._keep("parse", key, config.SerializeToString(deterministic=True))
        return config

    def render(self, config, label, render):
        key = hashlib.sha256(config.SerializeToString(deterministic=True) + b"\0"
                             + label.encode("utf-8", "surrogatepass")).digest()
        found = self._hit("render", key)
        if isinstance(found, str):
            return found
        text = render(config, label)
        self._keep("render", key, text)
        return text

    def check(self, config, ctx, check) -> Findings:
        key = _rules_key(config, ctx)
        found = self._hit("rules", key)
        calls = _replayed(found[0], ctx.model_folder) if isinstance(found, list) and len(found) == 3 else None
        if calls is not None:
            try:
                findings = Findings([cache_file.problem_from(fields) for fields in found[1]], from_data(found[2]))
            except (TypeError, ValueError):  # a malformed entry: computed again
                pass
            else:
                if calls != found[0]:  # the same answers under new stamps (a fresh checkout): kept with those
                    self._keep("rules", key, [calls, found[1], found[2]])
                return findings
        self.new["rules"].pop(key, None)
        folder = _Recorder(ctx.model_folder) if ctx.model_folder is not None else None
        findings = check(config, dataclasses.replace(ctx, model_folder=folder) if folder else ctx)
        if folder is None or folder.cacheable:
            self._keep("rules", key, [folder.calls if folder else [],
                                      [cache_file.problem_fields(p) for p in findings.problems],
                                      as_data(findings.notes)])
        return findings

    def save(self) -> None:
        """Write what this run used, if it differs from what was read (atomically; a cache
        that cannot be written is no error: the next run computes again)."""
        if not self.computed and all(len(self.new[s]) == len(self.old[s]) for s in _SECTIONS):
            return

        cache_file.write(self.file, _MAGIC, self.new)


def _read(file: Path) -> dict:
    empty: dict = {section: {} for section in _SECTIONS}
    data = cache_file.read(file, _MAGIC)
    if not isinstance(data, dict) or not all(isinstance(data.get(s), dict) for s in _SECTIONS):
        return empty
    return data


def _rules_key(config, ctx) -> bytes:
    digest = hashlib.sha256(config.SerializeToString(deterministic=True))
    server = sorted((kind, sorted(names)) for kind, names in (ctx.server or {}).items()) if ctx.server is not None \
        else None
    digest.update(repr((ctx.model_name, _sorted(ctx.versions), _sorted(ctx.files), repr(ctx.triton),
                        ctx.triton_from, server, ctx.model_file_may_complete,
                        ctx.repository_models is None)).encode("utf-8", "surrogatepass"))
    for step in config.ensemble_scheduling.step:  # what an ensemble's rules read of other models
        other = ctx.model_configs.get(step.model_name)
        digest.update(repr((step.model_name, ctx.repository_models is not None
                            and step.model_name in ctx.repository_models,
                            _sorted(ctx.model_versions.get(step.model_name)))).encode("utf-8", "surrogatepass"))
        digest.update(b"\0" + (other.SerializeToString(deterministic=True) if other is not None else b"-"))
    return digest.digest()


def _sorted(values):
    return None if values is None else sorted(values, key=repr)


class _Recorder:
    """A model folder (compiler.rules.folder) that writes down every look a rule takes and
    what it saw, with the stamp of every file it handed out to be read."""

    def __init__(self, folder):
        self.folder, self.calls, self.cacheable = folder, [], True

    def _record(self, name, *args):
        answer = getattr(self.folder, name)(*args)
        seen = _seen(answer)
        if seen is _UNCACHEABLE:
            self.cacheable = False
        self.calls.append([name, list(args), seen])
        return answer

    def version_files(self, version):
        return self._record("version_files", version)

    def version_path(self, version, rel):
        return self._record("version_path", version, rel)

    def has(self, version, rel):
        return self._record("has", version, rel)

    def version_doc_path(self, version):
        return self._record("version_doc_path", version)

    def model_file(self, rel):
        return self._record("model_file", rel)

    def onnx_graph(self, version, filename):
        # The file's stamp, taken before it is read (an edit after it shows as another stamp),
        # and what was read of it: a replay whose stamp differs reads the graph again and
        # compares (a fresh checkout: every stamp changed, the graphs the same).
        stamp = _seen(self.folder.onnx_file(version, filename))
        answer = self.folder.onnx_graph(version, filename)
        seen = _seen(answer)
        if stamp is _UNCACHEABLE or seen is _UNCACHEABLE:
            self.cacheable = False
        self.calls.append(["onnx_graph", [version, filename], [stamp, seen]])
        return answer

    def __getattr__(self, name):  # anything else a rule reads: not known to replay
        self.cacheable = False
        return getattr(self.folder, name)


_UNCACHEABLE = object()


def _seen(answer):
    """What a folder answer looked like, as plain data to compare with a later replay: a path
    handed out to be read, as the file's stat key (size, mtime, ctime, inode, device: ctime
    shows an edit that kept size and mtime), or uncacheable while its stamps are racy (a
    rewrite in the same tick would keep them: compiler/storage/files.py); an ONNX graph
    (onnx_graph) as its tensors."""
    if answer is None or isinstance(answer, (bool, int, float, str)):
        return answer
    if isinstance(answer, (set, frozenset)):
        return sorted(answer)
    if isinstance(answer, (tuple, list)):  # a Note is a tuple too: (key, text)
        items = [_seen(item) for item in answer]
        return _UNCACHEABLE if any(item is _UNCACHEABLE for item in items) else items
    if isinstance(answer, Tensor):
        return [answer.name, answer.data_type, list(answer.dims)]
    if isinstance(answer, Path):
        moment = time.time_ns()  # before the stat, as the hash index does (file_digest.digest_local)
        try:
            info = os.stat(answer)
        except (OSError, ValueError):
            return [str(answer)]
        if not stat.S_ISREG(info.st_mode):
            return _UNCACHEABLE  # a folder: its stamp does not cover what is inside
        if racy(stamp_ns(info), moment):
            return _UNCACHEABLE  # this run reads it; the next one must read it again
        return [str(answer), *stat_key(info)]
    return _UNCACHEABLE


def _replayed(calls, folder):
    """The recorded looks as the folder, as it is now, answers them (an ONNX graph's stamp the
    file's now), or None when one answer differs."""
    if not isinstance(calls, list):
        return None
    if calls and folder is None:
        return None
    now = []
    try:
        for name, args, seen in calls:
            if name == "onnx_graph":
                seen = _graph_replayed(folder, args, seen)
                if seen is None:
                    return None
            elif name not in ("version_files", "version_path", "has", "version_doc_path", "model_file") or \
                    _seen(getattr(folder, name)(*args)) != seen:
                return None
            now.append([name, args, seen])
    except Exception:  # noqa: BLE001 - a malformed entry: computed again
        return None
    return now


def _graph_replayed(folder, args, seen):
    """[stamp, graph] of the folder's ONNX graph now, or None when it reads differently. The same
    file with the same stamp is not read again; another stamp (the same bytes in a fresh
    checkout, or an edit) and the graph is read and compared: the rule learns nothing else
    from the file. The stamp is taken before the read, as when it was recorded."""
    stamp, graph = seen
    now = _seen(folder.onnx_file(*args))
    if now is _UNCACHEABLE:
        return None
    if now == stamp:
        return seen
    return [now, graph] if _seen(folder.onnx_graph(*args)) == graph else None


