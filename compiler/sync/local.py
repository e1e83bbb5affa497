"""Writing to a local (or mounted) repository so that a polling Triton never sees half a change.

Triton 2.51 in poll mode, measured: a version folder that shows up before its `model.py`
stays LOADING for good and stalls the poller; a `model.py` caught half-written can load
as READY and then hang. So on disk:

* each file is written under a temporary name in its folder and renamed over the old one;
* a new version folder is assembled as `<model>/.triton-gitops-tmp-<N>/` (Triton skips
  version folders whose names are not numbers) and renamed to `<model>/<N>` whole;
* a new model is assembled in a sibling of the repository (a folder at the repository
  root, hidden or not, is taken for a model) and renamed in once its config is there;
* a removed version or model is renamed out of sight first, then deleted, and only when
  it holds nothing but our files (and Triton's `__pycache__/`); otherwise its managed
  files are deleted one by one and the rest stays.

Renames need the staging folder on the same filesystem; where the parent folder cannot
be written, new models are written in place (versions first, config last).
"""
from __future__ import annotations

import os
import shutil
import threading

from compiler.sync.listing import IGNORED_DIRS
from compiler.sync.state import TMP_PREFIX
from compiler.sync.transfer import write_local


class LocalWriter:
    local = True

    def __init__(self, target, plan):
        self.target = target
        self.root = target.root
        self.fs = target.fs
        os.makedirs(self.root, exist_ok=True)
        self.staging = None
        self.new_models = {m for m in plan.new_models if not os.path.lexists(self._final(m))}
        if self.new_models:
            self.staging = self._make_staging()
        in_place_models = set() if self.staging else self.new_models
        self.new_versions = {(m, v) for (m, v) in plan.new_versions if not os.path.lexists(self._final(m, v))}
        self.new_versions |= {(c.model, c.version) for c in plan.active
                              if c.model in in_place_models and c.version}

    # -- where things go ------------------------------------------------------------------
    def _final(self, *parts) -> str:
        return os.path.join(self.root, *parts)

    def _staging_name(self) -> str:
        parent, name = os.path.split(self.root.rstrip("/"))
        return os.path.join(parent, f".{name}{TMP_PREFIX}{os.getpid()}")

    def _make_staging(self):
        path = self._staging_name()
        try:
            os.makedirs(path, exist_ok=True)
            if os.stat(path).st_dev != os.stat(self.root).st_dev:
                os.rmdir(path)
                return None  # another filesystem: rename would not be atomic (or possible)
            return path
        except OSError:
            return None

    def dest(self, path: str) -> str:
        model, rest = path.split("/", 1)
        if self.staging and model in self.new_models:
            return os.path.join(self.staging, path)
        head, _, tail = rest.partition("/")
        if tail and (model, head) in self.new_versions:
            return self._final(model, TMP_PREFIX + head, tail)
        return self._final(path)

    # -- writing ------------------------------------------------------------------------------
    def put(self, change):
        dest = self.dest(change.path)
        folder, name = os.path.split(dest)
        os.makedirs(folder, exist_ok=True)
        tmp = os.path.join(folder, f"{TMP_PREFIX}{os.getpid()}-{threading.get_ident()}-{name}")
        try:
            sent = write_local(self.fs, change.want, tmp)
            os.replace(tmp, dest)  # atomic: a reader sees the old file or the new one
        except BaseException:
            _unlink(tmp)
            raise
        return sent

    def publish_versions(self) -> None:
        for model, version in sorted(self.new_versions):
            staged = self._final(model, TMP_PREFIX + version)
            if os.path.isdir(staged):
                _move_into_place(staged, self._final(model, version))

    def publish_models(self, models) -> None:
        for model in models:
            if self.staging and model in self.new_models:
                staged = os.path.join(self.staging, model)
                if os.path.isdir(staged):
                    _move_into_place(staged, self._final(model))

    # -- removing -------------------------------------------------------------------------------
    def remove_models(self, deletes, removed_models) -> list:
        """Take away removed models whole (callers order them: ensembles first).

        Returns the deletes still to do: those of models holding files we did not write.
        """
        remaining = {c.path: c for c in deletes}
        for model in removed_models:
            paths = {p for p in remaining if p.startswith(model + "/")}
            if paths and self._only(self._final(model), model, paths):
                self._discard(self._final(model), model_level=True)
                for path in paths:
                    remaining.pop(path)
        return [remaining[p] for p in sorted(remaining)]

    def remove_versions(self, deletes) -> list:
        """Take away version folders left with nothing of ours; return the deletes still to do."""
        remaining = {c.path: c for c in deletes}
        for model, version in sorted({(c.model, c.version) for c in deletes if c.version}):
            prefix = f"{model}/{version}/"
            paths = {p for p in remaining if p.startswith(prefix)}
            if self._only(self._final(model, version), prefix.rstrip("/"), paths):
                self._discard(self._final(model, version), model_level=False)
                for path in paths:
                    remaining.pop(path)
        return [remaining[p] for p in sorted(remaining)]

    def _only(self, folder: str, rel: str, managed: set) -> bool:
        """Does `folder` hold only files in `managed` (besides __pycache__ and our temp names)?"""
        for current, dirs, files in os.walk(folder):
            dirs[:] = [d for d in dirs if d not in IGNORED_DIRS and not d.startswith(TMP_PREFIX)]
            prefix = os.path.relpath(current, folder)
            for name in files:
                if name.startswith(TMP_PREFIX):
                    continue
                path = rel + "/" + (name if prefix == "." else f"{prefix}/{name}")
                if path not in managed:
                    return False
        return True

    def _discard(self, folder: str, model_level: bool) -> None:
        parent, name = os.path.split(folder)
        if model_level:
            aside = self.staging or self._make_staging()
            if aside is None:  # nowhere outside the repository: take the config first
                _unlink(os.path.join(folder, "config.pbtxt"))
                shutil.rmtree(folder, ignore_errors=True)
                return
            self.staging = aside
            gone = os.path.join(aside, f"{TMP_PREFIX}gone-{name}")
        else:
            gone = os.path.join(parent, f"{TMP_PREFIX}gone-{name}")
        shutil.rmtree(gone, ignore_errors=True)
        try:
            os.rename(folder, gone)  # out of Triton's sight in one step
        except FileNotFoundError:
            return  # someone removed it already
        shutil.rmtree(gone, ignore_errors=True)

    def delete(self, change) -> None:
        path = self._final(change.path)
        _unlink(path)
        folder = os.path.dirname(path)
        top = self._final(change.model)
        while folder != top and folder.startswith(top):  # drop folders the deletion emptied
            try:
                os.rmdir(folder)
            except OSError:
                break
            folder = os.path.dirname(folder)

    # -- housekeeping -------------------------------------------------------------------------
    def clean_leftovers(self, leftovers) -> None:
        """Remove temporary files and folders an interrupted sync left behind (ours by name)."""
        for rel in leftovers:
            if os.path.isabs(rel):  # a staging folder beside the repository
                if rel != self.staging:
                    shutil.rmtree(rel, ignore_errors=True)
                continue
            parts = rel.split("/")
            for i, part in enumerate(parts):
                if TMP_PREFIX in part:
                    victim = self._final(*parts[:i + 1])
                    if os.path.isdir(victim):
                        shutil.rmtree(victim, ignore_errors=True)
                    else:
                        _unlink(victim)
                    break

    def finish(self) -> None:
        if self.staging:
            shutil.rmtree(self.staging, ignore_errors=True)
            self.staging = None


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _move_into_place(staged: str, final: str) -> None:
    """Rename a staged folder to its final name; merge file by file if that name appeared meanwhile."""
    try:
        os.rename(staged, final)
        return
    except OSError:
        if not os.path.isdir(final):
            raise
    config = None
    for current, _dirs, files in os.walk(staged):
        for name in files:
            src = os.path.join(current, name)
            dst = os.path.join(final, os.path.relpath(src, staged))
            if os.path.relpath(dst, final) == "config.pbtxt":
                config = (src, dst)  # last, once everything it refers to is there
                continue
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            os.replace(src, dst)
    if config:
        os.replace(*config)
    shutil.rmtree(staged, ignore_errors=True)
