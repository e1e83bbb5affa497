"""The release table (compiler/data/triton_releases.json) and how `triton:` values are read."""
import importlib.util
import json

import pytest

from compiler import triton_releases
from compiler.proto import ModelConfig
from tests.helpers import REPO


def _script():
    spec = importlib.util.spec_from_file_location("triton_releases_script", REPO / "scripts" / "triton_releases.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _descriptor_names(descriptor, seen=None) -> set:
    """Every field and enum value the installed tritonclient's ModelConfig knows, as full names."""
    seen = set() if seen is None else seen
    names: set = set()
    if descriptor.full_name in seen:
        return names
    seen.add(descriptor.full_name)
    for field in descriptor.fields:
        if not descriptor.GetOptions().map_entry:
            names.add(f"{descriptor.full_name}.{field.name}")
        if field.enum_type is not None:
            names |= {f"{field.enum_type.full_name}.{v.name}" for v in field.enum_type.values}
        if field.message_type is not None:
            names |= _descriptor_names(field.message_type, seen)
    return names


def test_the_table_knows_every_field_the_installed_tritonclient_knows():
    unknown = sorted(n for n in _descriptor_names(ModelConfig.DESCRIPTOR) if triton_releases.added_in(n) is None)
    assert unknown == [], ("tritonclient's ModelConfig has fields the release table does not: regenerate it with "
                           "scripts/triton_releases.py (see docs/triton-versions.md)")


def test_what_the_issue_names_came_with_the_releases_it_names():
    assert triton_releases.added_in("inference.ModelConfig.model_metrics").version == "2.52"
    assert triton_releases.added_in("inference.ModelEnsembling.max_inflight_requests").version == "2.63"
    assert triton_releases.added_in("inference.ModelConfig.runtime").version == "2.42"
    assert triton_releases.added_in("inference.DataType.TYPE_BF16").version == "2.22"
    assert triton_releases.platform_added_in("torch_aoti").version == "2.67"
    assert triton_releases.added_in("inference.ModelConfig.max_batch_size") == triton_releases.baseline()
    assert triton_releases.added_in("inference.ModelConfig.no_such_field") is None


@pytest.mark.parametrize("text, minor, container", [
    ("24.10", 51, "24.10"), ("2.51", 51, "24.10"), ("2.51.0", 51, "24.10"), ("23.05", 34, "23.05"),
    ("21.05", 10, "21.05"), ("25.06", 59, "25.06"), ("25.08", 60, "25.08"), ("25.11", 63, "25.11"),
    (" 22.11 ", 28, "22.11"),
])
def test_version_and_container_tag_name_the_same_release(text, minor, container):
    release, why = triton_releases.parse(text)
    assert why == "" and release.minor == minor and release.container == container


@pytest.mark.parametrize("text", ["25.07", "21.01", "2.9", "1.13", "24.13", "2.999", "latest", ""])
def test_releases_the_table_does_not_have_are_refused_with_the_range(text):
    release, why = triton_releases.parse(text)
    assert release is None
    assert "is not a Triton release this tool knows" in why and "2.10 (21.05)" in why


def test_releases_compare_by_version():
    older, newer = triton_releases.parse("24.10")[0], triton_releases.parse("2.52")[0]
    assert older < newer and str(older) == "Triton 2.51 (24.10)"


def test_the_script_reads_fields_and_enum_values_of_a_proto():
    text = '''
    syntax = "proto3";
    package inference;
    // message Commented { int32 not_a_field = 1; }
    message ModelConfig {
      string name = 1;
      map<string, ModelParameter> parameters = 14;
      message Inner { oneof choice { int32 a = 1; Other b = 2; } repeated int64 dims = 3 [packed = true]; }
      enum Kind { KIND_A = 0; KIND_B = 1; }
      reserved 7;
    }
    enum DataType { TYPE_INVALID = 0; TYPE_BF16 = 17; }
    '''
    assert _script().proto_names(text) == {
        "inference.ModelConfig.name", "inference.ModelConfig.parameters", "inference.ModelConfig.Inner.a",
        "inference.ModelConfig.Inner.b", "inference.ModelConfig.Inner.dims", "inference.ModelConfig.Kind.KIND_A",
        "inference.ModelConfig.Kind.KIND_B", "inference.DataType.TYPE_INVALID", "inference.DataType.TYPE_BF16"}


def test_the_release_list_maps_containers_to_versions_as_release_notes_do():
    releases = dict(_script().RELEASES)
    assert releases["21.05"] == "2.10" and releases["22.11"] == "2.28" and releases["23.05"] == "2.34"
    assert releases["24.10"] == "2.51" and releases["25.06"] == "2.59" and "25.07" not in releases
    assert releases["25.08"] == "2.60" and releases["26.05"] == "2.69"
    data = json.loads(triton_releases.DATA.read_text())
    assert {(r["container"], r["version"]) for r in data["releases"]} <= set(releases.items())


def test_the_docs_table_is_generated_from_the_data():
    spec = importlib.util.spec_from_file_location("doc_script", REPO / "scripts" / "triton_versions_doc.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    doc = (REPO / "docs" / "triton-versions.md").read_text()
    assert module.table(json.loads(triton_releases.DATA.read_text())) in doc, \
        "docs/triton-versions.md is stale: python scripts/triton_versions_doc.py --write"


def test_schema_and_explain_say_which_release_added_a_field():
    from tests.helpers import run_cli

    releases = triton_releases.field_releases()
    assert releases["inference.ModelConfig.model_metrics"] == "2.52 (24.11)"
    assert "inference.ModelConfig.max_batch_size" not in releases  # in 2.10 or earlier: nothing to say
    code, out, _ = run_cli("explain", "ensemble_scheduling.max_inflight_requests")
    assert code == 0 and "added in: Triton 2.63 (25.11)" in out
    schema = json.loads((REPO / "schemas" / "models.schema.json").read_text())
    runtime = schema["$defs"]["inference.ModelConfig"]["properties"]["runtime"]["description"]
    assert runtime.endswith("Added in Triton 2.42 (24.01).")
