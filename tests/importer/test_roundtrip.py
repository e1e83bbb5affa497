"""Round trip over the real-world corpus: every config.pbtxt that parses, imported and compiled
again, gives a config.pbtxt whose parsed ModelConfig equals the original's (names aside: each file is
put in a folder cNNN and its `name:` set to that, as Triton requires).

Compiling goes through the manifest's own stages (our YAML loader, the schema, default merging,
short-form expansion, rendering) but not through Triton's rules: a fifth of the corpus breaks
them on purpose, and import must still carry those configs over for `validate` to name the
problem (checked below too)."""
import csv
import re

import pytest
from google.protobuf import json_format, text_format

from compiler.compile.config_text import render_config
from compiler.importer import import_repository
from compiler.manifest.normalize import canonical_config, merge_defaults
from compiler.manifest.validate import schema_problems
from compiler.manifest.yaml_source import load_bytes
from compiler.proto import ModelConfig
from compiler.rules.installed import STANDARD_AGENTS, STANDARD_BACKENDS
from tests.helpers import CORPUS, run_cli, run_json

CONFIGS = CORPUS / "real-world-configs"


def corpus_rows():
    with open(CONFIGS / "INDEX.tsv", newline="") as handle:
        return [row for row in csv.DictReader(handle, delimiter="\t") if row["parses"] == "yes"]


def parse(text: str):
    config = text_format.Parse(text, ModelConfig())
    config.ClearField("name")
    return config


@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    """The whole corpus as one repository (folder cNNN per file, each with a version 1 holding the file its
    backend reads there, if any: model.py for python, model.json for vllm; empty otherwise), imported once."""
    tmp = tmp_path_factory.mktemp("corpus")
    rows = corpus_rows()
    originals = {}
    for i, row in enumerate(rows):
        name = f"c{i:03d}"
        (tmp / "repo" / name / "1").mkdir(parents=True)
        text = (CONFIGS / row["file"]).read_text()
        # Triton refuses a config whose name differs from its folder (import too): the folder's name
        # goes in, the lines stay where they were.
        renamed = re.sub(r'(?m)^name\s*:\s*"[^"\n]*"', f'name: "{name}"', text)
        (tmp / "repo" / name / "config.pbtxt").write_text(renamed)
        originals[name] = (row, parse(text))
        config = originals[name][1]
        if config.backend == "python":
            (tmp / "repo" / name / "1" / (config.default_model_filename or "model.py")).write_text("")
        elif config.backend == "vllm":
            (tmp / "repo" / name / "1" / "model.json").write_text('{"model": "facebook/opt-125m"}')
        for output in originals[name][1].output:  # label files the corpus does not carry: placeholders
            if output.label_filename:
                (tmp / "repo" / name / output.label_filename).write_text("label\n")
    manifest = tmp / "models.yaml"
    result = import_repository(str(tmp / "repo"), manifest, server=custom_names(originals))
    return manifest, result, originals


def custom_names(originals) -> dict:
    """The corpus's custom backends and agents, declared as the servers that ran them had them."""
    configs = [config for _, config in originals.values()]
    return {"backends": {c.backend for c in configs if c.backend} - STANDARD_BACKENDS,
            "repository_agents": {a.name for c in configs for a in c.model_repository_agents.agents} - STANDARD_AGENTS}


def declare_flags(originals) -> list:
    names = custom_names(originals)
    return ([f"--backend={n}" for n in sorted(names["backends"])]
            + [f"--repository-agent={n}" for n in sorted(names["repository_agents"])])


def test_every_parseable_corpus_config_round_trips(imported):
    manifest, result, originals = imported
    assert not [p for p in result.problems if p.is_error]
    document = load_bytes(manifest.read_bytes(), str(manifest))
    assert document.problems == []
    assert schema_problems(document.data) == []  # the import is a valid manifest, whatever Triton thinks of it
    same = []
    for name, (row, original) in originals.items():
        merged, _ = merge_defaults({}, document.data["models"][name])
        config_dict, _ = canonical_config(name, merged)
        rendered = render_config(json_format.ParseDict(config_dict, ModelConfig()))
        again = parse(rendered)
        assert again == original, f"{row['file']}:\n{text_format.MessageToString(again)}"
        same.append(name)
    print(f"\nround trip: {len(same)} of {len(originals)} parseable corpus configs give an equal ModelConfig")
    assert len(same) == len(originals) == len(corpus_rows()) >= 98


def test_configs_breaking_triton_rules_import_and_validate_names_the_problem(imported):
    manifest, _, originals = imported
    code, report, _ = run_json("validate", manifest)
    assert code == 1
    by_model = {}
    for problem in report["problems"]:
        if problem["severity"] == "error" and problem["path"].startswith("models."):
            by_model.setdefault(problem["path"].split(".")[1], []).append(problem)
    broken = {n for n, (row, _) in originals.items() if row["triton_expectation"] == "invalid_semantic"}
    named = {n for n in broken if by_model.get(n)}
    print(f"\nvalidate names a problem for {len(named)} of {len(broken)} imported configs Triton rejects")
    # Each problem is located on the imported manifest, at a line of that model's entry.
    assert all(p["file"].endswith("models.yaml") and p["line"] > 0 for ps in by_model.values() for p in ps)
    assert named == broken


def test_configs_that_validate_round_trip_through_the_real_compile(imported, tmp_path):
    """The same proof through `triton-gitops compile` itself, for every config it accepts: the
    models `validate` finds no error in (and whose ensemble steps are still there)."""
    import shutil

    manifest, _, originals = imported
    keep = set(originals)
    for _ in range(5):  # dropping a model can break an ensemble that uses it: repeat until stable
        repo = tmp_path / f"repo{len(keep)}"
        for name in sorted(keep):
            shutil.copytree(manifest.parent / "repo" / name, repo / name)
        subset = repo.with_suffix(".yaml")
        assert run_cli("import", repo, "-o", subset, *declare_flags(originals))[0] == 0
        code, report, _ = run_json("validate", subset)
        broken = {p["path"].split(".")[1] for p in report["problems"]
                  if p["severity"] == "error" and p["path"].startswith("models.")}
        if code == 0:
            break
        assert broken, report
        keep -= broken
    assert run_json("compile", subset, "--out", tmp_path / "built")[0] == 0
    for name in keep:
        compiled = parse((tmp_path / "built" / name / "config.pbtxt").read_text())
        assert compiled == originals[name][1], originals[name][0]["file"]
    print(f"\nthrough compile: {len(keep)} of {len(originals)} corpus configs validate, compile and round trip")
    # The rest: rejected by Triton, ensembles whose step models are not in the corpus, configs
    # that rely on auto-complete from a model file, or templates with `${...}` left in.
    assert len(keep) >= 55
