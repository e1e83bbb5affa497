"""Triton's checksum repository agent: the compiler fills in the `MD5:<file>` parameters.

A model asks for it in the manifest the way Triton spells it:

    model_repository_agents: {agents: [{name: checksum}]}

and the compiler adds one parameter per version file and per `files:` entry, keyed
`MD5:<path relative to the model folder>` (e.g. `MD5:1/model.onnx`) with the file's md5
in lowercase hex, which is what the agent compares before Triton loads the model. A
parameter written by hand is checked against the file instead of overwritten.

The agent only handles repositories on a local file system (it refuses Triton's remote
artifacts), so a manifest with a cloud target gets a warning for each such model.
"""
from __future__ import annotations

from compiler.errors import WARNING, Problem
from compiler.storage.urls import redact_url

AGENT = "checksum"


def checksum_agent(config):
    """The `checksum` agent entry of a ModelConfig, or None."""
    if config is None:
        return None
    for agent in config.model_repository_agents.agents:
        if agent.name == AGENT:
            return agent
    return None


def add_md5_parameters(model, md5s: dict) -> list:
    """Set `MD5:<path>` on the model's checksum agent; `md5s` maps model-folder paths to md5 hex."""
    agent = checksum_agent(model.config)
    doc_path = model.doc_path_of(("model_repository_agents",))
    problems = []
    for path in sorted(md5s):
        key = f"MD5:{path}"
        given = agent.parameters.get(key)
        if given is not None and given.lower() != md5s[path]:
            problems.append(Problem(f"{key} says {given}, but the file's md5 is {md5s[path]}", "checksum-md5",
                                    doc_path, hint="drop the parameter: the compiler computes it"))
            continue
        agent.parameters[key] = md5s[path]
    return problems


def cloud_target_warnings(manifest) -> list:
    """One warning per model that uses the agent, when the manifest has a non-local target."""
    remote = [t for t in manifest.targets.values() if "://" in t.url and not t.url.startswith("file://")]
    if not remote:
        return []
    return checksum_warnings(manifest, ", ".join(f"{t.name} ({redact_url(t.url)})" for t in remote))


def checksum_warnings(manifest, names: str) -> list:
    """One warning per model that uses the agent, for the cloud target(s) `names`."""
    problems = []
    for model in manifest.models.values():
        if checksum_agent(model.config) is None:
            continue
        problems.append(Problem(
            f"the checksum repository agent only checks models in a local repository; Triton will fail to load "
            f"{model.name} from target {names}", "checksum-cloud-target", model.doc_path_of(("model_repository_agents",)),
            severity=WARNING, hint="serve this model from a local repository (e.g. synced to a volume), or drop "
                                   "the agent; the sha256 pins and models.lock still guard what is synced"))
    return problems
