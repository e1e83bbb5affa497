"""Object stores: keep a polling Triton off a version folder while its files arrive one by one.

An object store has no rename, so the files of a new version folder (say `m/2/model.py`,
then `m/2/weights.bin`) appear at their final keys one after the other. If the model's
deployed config serves that version (default policy latest 1, `all`, or a `specific` list
naming it), Triton may load it half uploaded. So before step 1 such a model gets a pinned
config: the deployed one, as Triton reads it now, with `version_policy { specific {
versions: [...] } }` listing the versions it serves now among the complete ones. Step 3
then writes the wanted config as usual (written back even when unchanged). A sync that
dies in between leaves the pin: Triton keeps serving the complete versions, and the next
sync finds the config changed on the target and writes the wanted one, last again.

The same holds for a version Triton serves now of which two or more files change (say
`m/1/model.py` and the `m/1/table.json` it reads): while they change one by one, the pin
leaves that version out. Triton then keeps the other versions it serves; when the changing
version is the only one served, the pin lists none, Triton's reload fails ("at least one
version must be available") and, as Triton does for any failed reload, the loaded version
stays served, untouched, until step 3 writes the wanted config and Triton reloads it whole.

Prune is the same change the other way: a served version folder deleted file by file (or
trimmed in two or more deletes) is pinned out too, and its model's configs are written back
only after those deletes (apply.py step 4), not in step 3. A folder the manifest drops whole
counts as gone for the pin, so Triton moves to what it will serve after the sync (say
version 1 under latest 1) instead of reloading the half-deleted one.

New models need none of this (their config is written after all their files), nor do
local targets (a version folder is renamed, or swapped, into place whole: local.py).
"""
from __future__ import annotations

from collections.abc import Set as AbstractSet
from dataclasses import dataclass

from google.protobuf import text_format

from compiler.proto import ModelConfig
from compiler.rules.versions import versions_to_load
from compiler.sync.plan import UPDATE, Change
from compiler.sync.storage_failures import explain, with_retries


@dataclass
class Pin:
    model: str
    path: str
    data: bytes  # the deployed config with a specific version policy
    versions: list  # the versions it serves


def pinned_config(deployed: bytes, folders: dict, new: set, changing: AbstractSet = frozenset(),
                  gone: AbstractSet = frozenset()):
    """(bytes of the pinned config, versions) or None when the deployed config serves no version
    that is about to appear or change.

    folders: {version: complete?} of the folders on the target now; new: versions about to appear;
    changing: versions on the target two or more of whose files are about to change (or be
    deleted); gone: those of them about to be deleted whole.
    Raises ParseError/UnicodeDecodeError when the deployed config is not one we can rewrite.
    """
    config = text_format.Parse(deployed.decode("utf-8"), ModelConfig())
    present = {int(v) for v in folders}
    coming = {int(v) for v in new}
    changed = {int(v) for v in changing}
    if not versions_to_load(config, present | coming) & (coming | changed):
        return None  # e.g. a specific list without the new version, or latest 1 below a higher one
    complete = {int(v) for v, whole in folders.items() if whole} - coming - {int(v) for v in gone}
    # A changing version is left out, not replaced by an older one: what Triton serves stays a
    # subset of what it serves now.
    keep = sorted(versions_to_load(config, complete) - changed)
    config.version_policy.Clear()
    config.version_policy.specific.versions.extend(keep)
    # An empty list only when no complete version is there at all: Triton loads nothing, as now.
    config.version_policy.specific.SetInParent()
    return text_format.MessageToString(config).encode("utf-8"), keep


def find_pins(target, plan, puts, note) -> tuple:
    """(pins to write before step 1, config changes to add to step 3) for a remote target.

    Reads the deployed config of each existing model that gets a new version folder, or a
    version folder two or more of whose files change."""
    if target.local or not (plan.new_versions or plan.changed_versions or plan.pruned_versions):
        return [], []
    new: dict = {}
    changing: dict = {}
    gone: dict = {}
    for model, version in plan.new_versions:
        new.setdefault(model, set()).add(version)
    for model, version in plan.changed_versions | plan.pruned_versions:
        changing.setdefault(model, set()).add(version)
    for model, version in plan.gone_versions:
        gone.setdefault(model, set()).add(version)
    writing = {c.path for c in puts}
    pins, restores = [], []
    for model in sorted(set(new) | set(changing)):
        # config.pbtxt and every variant (configs/<name>.pbtxt): a server started with
        # --model-config-name reads its variant, so each deployed one gets the same pin.
        for path, want in sorted(plan.config_wants.get(model, {}).items()):
            pin = _pin_one(target, plan, model, path, new.get(model, set()), changing.get(model, set()),
                           gone.get(model, set()), note)
            if pin is None:
                continue
            pins.append(pin)
            if path not in writing:  # unchanged config: it must still replace the pin in step 3
                restores.append(Change(UPDATE, path, want.size, "written back over its version pin", want))
    return pins, restores


def _pin_one(target, plan, model, path, new: set, changing: set, gone: set, note):
    """The Pin for one deployed config, or None (not there, serves no version that appears or
    changes, unreadable)."""
    try:
        deployed = with_retries(lambda: target.fs.cat_file(target.path(path), start=0), attempts=3)
    except FileNotFoundError:
        return None  # no config there: Triton sees no model (or no variant) until step 3 writes one
    except Exception as exc:
        raise explain(exc, target, "read the deployed config", path) from exc
    try:
        pinned = pinned_config(deployed, plan.target_versions.get(model, {}), new, changing, gone)
    except Exception as exc:  # noqa: BLE001 - a config we cannot parse: say so, sync as before
        note(f"warning: cannot read {path} on the target ({type(exc).__name__}); Triton may see "
             f"version {', '.join(sorted(new | changing))} before all of its files are there")
        return None
    if pinned is None:
        return None
    data, versions = pinned
    return Pin(model, path, data, versions)


def write_pins(target, pins, pool, note) -> None:
    """Put every pin in place; each PUT replaces the object whole, so Triton reads old or pinned."""
    def put(pin):
        try:
            with_retries(lambda: target.fs.pipe_file(target.path(pin.path), pin.data))
        except Exception as exc:
            raise explain(exc, target, "pin the served versions in", pin.path) from exc

    for pin in pins:
        shown = pin.versions or "none (Triton keeps what it has loaded)"
        note(f"{pin.model}: served versions pinned to {shown} until its new or changed versions are complete")
    for _ in pool.map(put, pins):
        pass
