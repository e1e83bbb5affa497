"""Read an existing Triton model repository (a local folder or any fsspec URL) into a
neutral description: per model folder its config.pbtxt, version folders, warmup files,
alternative configs and every other file.

One recursive listing of the whole repository is made (a single paginated request on an
object store, instead of one per model); only config files are read. Model files are
never opened: the manifest points at them, or `--copy-to` copies them.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Optional

import fsspec

from compiler.errors import WARNING, FatalError, Problem
from compiler.extras import missing_extra
from compiler.rules.model_files import version_number

if TYPE_CHECKING:  # for annotations only: never imported at run time
    from fsspec import AbstractFileSystem

# Written by Triton or by tools, never part of a model: byte-code caches, VCS metadata,
# and this tool's own placeholder for an empty version folder (compile/tree.py).
_SKIPPED = {"__pycache__", ".git", ".DS_Store", ".triton-gitops-keep", ".ipynb_checkpoints"}


@dataclass
class RawModel:
    name: str
    path: str  # the model folder, in the filesystem's own path form
    config_path: Optional[str] = None
    config_text: str = ""
    versions: dict = field(default_factory=dict)  # int -> folder path
    files: dict = field(default_factory=dict)  # POSIX name inside the model folder -> path
    warmup: dict = field(default_factory=dict)  # name inside warmup/ -> path
    configs: dict = field(default_factory=dict)  # name inside configs/ -> path
    problems: list = field(default_factory=list)
    seen_versions: set = field(default_factory=set)  # version folder names as listed
    contents: dict = field(default_factory=dict)  # every file but config.pbtxt: name in the folder -> path


@dataclass
class Repository:
    fs: AbstractFileSystem
    root: str
    url: str  # as given, for messages
    local: bool
    models: list  # [RawModel], sorted by name

    def display(self, path: str) -> str:
        """A path as the user would type it: local paths as they are, remote ones as URLs."""
        return path if self.local else self.fs.unstrip_protocol(path)


def open_repository(source: str) -> Repository:
    try:
        fs, root = fsspec.core.url_to_fs(source)
    except (ImportError, ValueError) as exc:
        if isinstance(exc, ImportError) and (error := missing_extra(source, source, exc)):
            raise error from None
        raise FatalError(f"{source}: cannot open: {exc}",
                         "install the fsspec backend for this URL (s3fs, gcsfs, adlfs)")
    root = root.rstrip("/")
    try:
        if not fs.isdir(root):
            raise FatalError(f"{source}: not a folder",
                             "give the model repository folder (the one holding model folders)")
        listing = fs.find(root, withdirs=True, detail=True)
    except FatalError:
        raise
    except FileNotFoundError:
        raise FatalError(f"{source}: no such repository")
    except PermissionError as exc:
        raise FatalError(f"{source}: access denied: {exc}")
    except OSError as exc:
        raise FatalError(f"{source}: cannot list: {exc}")
    if f"{root}/config.pbtxt" in listing:
        raise FatalError(f"{source}: is a model folder (it holds config.pbtxt), not a repository",
                         "give the folder above it, the one that holds the model folders")
    local = type(fs).__name__ == "LocalFileSystem"
    repo = Repository(fs, root, source, local, [])
    repo.models = _models(repo, listing)
    for model in repo.models:
        _read_config(repo, model)
    return repo


def _relative(root: str, name: str) -> Optional[str]:
    name = name.rstrip("/")
    prefix = root + "/"
    return name[len(prefix):] if name.startswith(prefix) else None


def _models(repo: Repository, listing: dict) -> list:
    by_name: dict = {}
    for name, info in sorted(listing.items()):
        rel = _relative(repo.root, name)
        if not rel:
            continue
        parts = rel.split("/")
        if parts[0].startswith(".") or any(p in _SKIPPED for p in parts):
            continue  # tool metadata at the root (sync state, markers) and caches inside models
        is_dir = info.get("type") == "directory"
        if len(parts) == 1:
            if is_dir:
                by_name[parts[0]] = RawModel(parts[0], name.rstrip("/"))
            continue  # files at the repository root belong to no model
        model = by_name.get(parts[0])
        if model is None:  # object stores list no folder entries for some layouts
            model = by_name[parts[0]] = RawModel(parts[0], f"{repo.root}/{parts[0]}")
        _classify(model, parts[1:], name.rstrip("/"), is_dir)
    return [by_name[n] for n in sorted(by_name)]


def _add_version(model: RawModel, head: str) -> None:
    number = int(head)
    if head != str(number):
        model.problems.append(Problem(f"version folder {head!r} not imported: Triton ignores a version folder whose "
                                      "name has a leading zero", "import-version", (), WARNING,
                                      hint=f"rename it to {number} if it should be served"))
        return
    # Object stores may list a version's files without an entry for the folder itself.
    model.versions.setdefault(number, f"{model.path}/{head}")


def _prefixed(model: RawModel, head: str) -> bool:
    """A folder like '3.bak' or '-1', which Triton reads as the version its name starts with:
    a manifest names version folders by their number only, so it cannot carry one (not imported)."""
    number = version_number(head)
    if number is None or head.isdigit():
        return False
    if head not in model.seen_versions:
        model.seen_versions.add(head)
        model.problems.append(Problem(f"folder {head!r} not imported: Triton reads it as version {number} (the "
                                      "number its name starts with), which a manifest cannot express", "import-version",
                                      (), WARNING, hint="rename it to a version number, or move it out of the model "
                                                        "folder"))
    return True


def _classify(model: RawModel, parts: list, path: str, is_dir: bool) -> None:
    head = parts[0]
    if head.isdigit():
        if len(parts) == 1 and not is_dir:
            model.files[head] = path  # a file named like a number is not a version
            model.contents[head] = path
            return
        if head not in model.seen_versions:
            model.seen_versions.add(head)
            _add_version(model, head)
        if len(parts) > 1 and not is_dir and head == str(int(head)):
            model.contents["/".join(parts)] = path
        return
    if _prefixed(model, head):
        return
    if is_dir:
        return  # folders come with their files; empty ones other than versions carry nothing
    rel = "/".join(parts)
    if rel != "config.pbtxt":
        model.contents[rel] = path
    if len(parts) == 1 and head == "config.pbtxt":
        model.config_path = path
    elif head == "warmup" and len(parts) > 1:
        model.warmup["/".join(parts[1:])] = path
    elif head == "configs" and len(parts) > 1:
        model.configs["/".join(parts[1:])] = path
    else:
        model.files[rel] = path


def _read_config(repo: Repository, model: RawModel) -> None:
    if model.config_path is None:
        return
    try:
        model.config_text = repo.fs.cat_file(model.config_path).decode("utf-8")
    except UnicodeDecodeError:
        model.problems.append(Problem("config.pbtxt is not UTF-8 text", "import-config", ()))
    except OSError as exc:
        model.problems.append(Problem(f"cannot read config.pbtxt: {exc}", "import-config", ()))


def read_text(repo: Repository, path: str) -> str:
    return repo.fs.cat_file(path).decode("utf-8")
