"""Config variants (`configs:`): the merge rules, validation of each variant as the whole config
Triton loads (problems at the line they come from), names, the Triton release, compiling."""
from google.protobuf import text_format

from compiler.artifacts.settings import Settings
from compiler.manifest.variants import merge_variant, variant_of, written_in_variant
from compiler.pipeline import load_and_build
from compiler.proto import ModelConfig
from tests.commands.test_compile import copy_example
from tests.helpers import run_cli, run_json

MODEL = {
    "backend": "python", "max_batch_size": 8,
    "input": [{"name": "X", "data_type": "FP32", "dims": [4]}],
    "dynamic_batching": {"max_queue_delay_microseconds": 100, "preferred_batch_size": [4, 8]},
    "parameters": {"A": "1", "B": "2"},
    "version_policy": {"specific": [1, 2]},
}


def test_mappings_merge_key_by_key_lists_and_scalars_replace_whole():
    merged = merge_variant(MODEL, {"dynamic_batching": {"preferred_batch_size": [2]}, "parameters": {"B": "3"},
                                   "input": [{"name": "Y", "data_type": "INT32", "dims": [1]}],
                                   "max_batch_size": 2})
    assert merged["dynamic_batching"] == {"max_queue_delay_microseconds": 100, "preferred_batch_size": [2]}
    assert merged["parameters"] == {"A": "1", "B": "3"}
    assert merged["input"] == [{"name": "Y", "data_type": "INT32", "dims": [1]}]  # no element-wise merge
    assert merged["max_batch_size"] == 2 and merged["backend"] == "python"
    assert MODEL["dynamic_batching"]["preferred_batch_size"] == [4, 8]  # the model's own entry is untouched


def test_null_removes_a_key_at_any_depth():
    merged = merge_variant(MODEL, {"dynamic_batching": {"max_queue_delay_microseconds": None},
                                   "parameters": {"A": None}, "version_policy": None})
    assert merged["dynamic_batching"] == {"preferred_batch_size": [4, 8]}
    assert merged["parameters"] == {"B": "2"}
    assert "version_policy" not in merged
    # A null inside a value the model does not have removes nothing: it is dropped.
    assert merge_variant({}, {"sequence_batching": {"max_sequence_idle_microseconds": None}}) == {
        "sequence_batching": {}}


def test_setting_a_oneof_member_replaces_the_models_other_member():
    merged = merge_variant(MODEL, {"sequence_batching": {"max_sequence_idle_microseconds": 5}})
    assert "dynamic_batching" not in merged and merged["sequence_batching"] == {"max_sequence_idle_microseconds": 5}
    merged = merge_variant(MODEL, {"version_policy": {"latest": 1}})
    assert merged["version_policy"] == {"latest": 1}  # not {specific: [1, 2], latest: 1}


def test_variant_of_is_the_inverse_of_the_merge_without_needless_nulls():
    full = merge_variant(MODEL, {"sequence_batching": {}, "parameters": {"A": None, "C": "x"}, "backend": "onnx"})
    written = variant_of(MODEL, full)
    assert written == {"sequence_batching": {}, "parameters": {"A": None, "C": "x"}, "backend": "onnx"}
    assert merge_variant(MODEL, written) == full
    assert variant_of(MODEL, MODEL) == {}


def test_which_paths_the_variant_writes():
    written = {"dynamic_batching": {"preferred_batch_size": [2]}, "input": [{"name": "Y"}]}
    assert written_in_variant(written, ("dynamic_batching", "preferred_batch_size", 0))
    assert written_in_variant(written, ("input", 0, "dims"))  # inside a list the variant replaced
    assert not written_in_variant(written, ("dynamic_batching", "max_queue_delay_microseconds"))
    assert not written_in_variant(written, ("output", 0))
    assert not written_in_variant(written, ())


def _example_with(tmp_path, text: str, after: str = "        dynamic_batching: {max_queue_delay_microseconds: 500}\n"):
    """The example with `text` added to text_classifier's `configs:` (after cpu-large)."""
    manifest = copy_example(tmp_path)
    source = manifest.read_text()
    assert after in source
    manifest.write_text(source.replace(after, after + text, 1))
    return manifest


def _line_of(manifest, needle: str) -> int:
    return next(i for i, line in enumerate(manifest.read_text().splitlines(), 1) if needle in line)


def test_the_example_variant_compiles_to_configs_file_as_the_merged_config(tmp_path):
    manifest = copy_example(tmp_path)
    out = tmp_path / "repo"
    assert run_cli("compile", manifest, "--out", out)[0] == 0
    text = (out / "text_classifier" / "configs" / "cpu-large.pbtxt").read_text()
    variant = text_format.Parse(text, ModelConfig())
    model = text_format.Parse((out / "text_classifier" / "config.pbtxt").read_text(), ModelConfig())
    assert variant.name == "text_classifier"
    assert [(g.kind, g.count) for g in variant.instance_group] == [(ModelConfig.DESCRIPTOR.fields_by_name[
        "instance_group"].message_type.enum_types_by_name["Kind"].values_by_name["KIND_CPU"].number, 2)]
    assert variant.dynamic_batching.max_queue_delay_microseconds == 500
    # Everything else is the model's.
    for field in ("input", "output", "version_policy", "model_warmup", "max_batch_size", "backend"):
        assert getattr(variant, field) == getattr(model, field), field
    assert not (out / "preprocess" / "configs").exists()


def test_a_problem_the_variant_writes_is_at_the_variants_line(tmp_path):
    manifest = _example_with(tmp_path, "      broken:\n        max_batch_size: -3\n")
    code, out, _ = run_cli("validate", manifest)
    assert code == 1
    line = _line_of(manifest, "max_batch_size: -3")
    assert f"models.yaml:{line}:" in out
    assert "models.text_classifier.configs.broken.max_batch_size" in out


def test_a_problem_inherited_from_the_model_is_at_the_models_line_and_names_the_variant(tmp_path):
    # The variant makes the model non-batching: the model's warmup (batch_size 2) and its
    # dynamic batching no longer fit; the lines to look at are the model's.
    manifest = _example_with(tmp_path, "      single:\n        max_batch_size: 0\n")
    result = run_json("validate", manifest)
    code, report = result[0], result[1]
    assert code == 1
    problems = [p for p in report["problems"] if p["severity"] == "error"]
    assert problems
    for problem in problems:
        assert "config variant 'single'" in problem["message"], problem
        assert problem["path"].startswith("models.text_classifier.") and ".configs." not in problem["path"]
    warmup_line = _line_of(manifest, "batch_size: 2")
    assert any(p["line"] == warmup_line for p in problems), problems


def test_a_variant_of_a_valid_model_that_is_itself_valid_passes(tmp_path):
    manifest = _example_with(tmp_path, "      tiny:\n        instance_group: [{kind: KIND_CPU, count: 3}]\n"
                                       "        dynamic_batching: null\n        version_policy: {latest: 1}\n")
    assert run_cli("validate", manifest)[0] == 0
    loaded, tree = load_and_build(manifest, Settings())
    variant = loaded.manifest.models["text_classifier"].variants["tiny"].config
    assert not variant.HasField("dynamic_batching") and variant.instance_group[0].count == 3
    assert variant.version_policy.latest.num_versions == 1
    assert "text_classifier/configs/tiny.pbtxt" in tree.by_path()


def test_variant_names_are_plain_file_names(tmp_path):
    for i, bad in enumerate(("../up", ".hidden", "a/b", "x y")):
        (tmp_path / str(i)).mkdir()
        manifest = _example_with(tmp_path / str(i), f"      {bad!r}: {{max_batch_size: 2}}\n")
        code, out, _ = run_cli("validate", manifest)
        assert code == 1 and "[schema-name]" in out, (bad, out)
        assert f"models.yaml:{_line_of(manifest, repr(bad))}:" in out


def test_variants_need_triton_2_46(tmp_path):
    manifest = copy_example(tmp_path)
    manifest.write_text(manifest.read_text().replace('triton: "24.10"', 'triton: "24.04"', 1))
    code, out, _ = run_cli("validate", manifest)
    assert code == 1
    assert "models.text_classifier.configs: config variants (`configs`) need Triton 2.46 or newer" in out
    manifest.write_text(manifest.read_text().replace('triton: "24.04"', 'triton: "24.05"'))
    assert run_cli("validate", manifest)[0] == 0


def test_a_field_too_new_for_the_release_is_found_in_the_variant(tmp_path):
    # iterative_sequence arrived in Triton 2.40 (compiler/data/triton_releases.json).
    manifest = _example_with(tmp_path, "      seq:\n        max_batch_size: 0\n        model_warmup: null\n"
                                       "        sequence_batching: {iterative_sequence: true}\n")
    manifest.write_text(manifest.read_text().replace('triton: "24.10"', 'triton: ["2.46", "2.39"]', 1))
    code, out, _ = run_cli("validate", manifest)
    assert code == 1 and "[triton-release]" in out and "iterative_sequence" in out, out
    assert f"models.yaml:{_line_of(manifest, 'iterative_sequence')}:" in out


def test_an_ensemble_is_checked_against_its_steps_variants(tmp_path):
    # On a server run with --model-config-name=narrow, text_classifier takes batches of 2 at
    # most while the ensemble (without that variant) sends batches of 8.
    manifest = _example_with(tmp_path, "      narrow:\n        max_batch_size: 2\n        model_warmup: null\n")
    code, out, _ = run_cli("validate", manifest)
    assert code == 1
    assert "on servers started with --model-config-name=narrow" in out, out
    assert "models.classify_text" in out


def test_a_variants_own_warmup_data_gets_its_own_file(tmp_path):
    manifest = _example_with(tmp_path, "      zeros:\n        model_warmup:\n          - name: zeros\n"
                                       "            batch_size: 1\n            inputs:\n"
                                       "              FEATURES: {data_type: FP32, dims: [4], data: [0, 0, 0, 0]}\n")
    out = tmp_path / "repo"
    assert run_cli("compile", manifest, "--out", out)[0] == 0
    variant = text_format.Parse((out / "text_classifier/configs/zeros.pbtxt").read_text(), ModelConfig())
    assert variant.model_warmup[0].inputs["FEATURES"].input_data_file == "zeros.0_FEATURES"
    assert (out / "text_classifier/warmup/zeros.0_FEATURES").read_bytes() == b"\0" * 16
    assert (out / "text_classifier/warmup/0_FEATURES").read_bytes() != b"\0" * 16  # the model's stays


def test_target_config_name_is_read_and_must_be_a_plain_name(tmp_path):
    manifest = copy_example(tmp_path)
    text = manifest.read_text()
    manifest.write_text(text.replace("local: {url: build/model_repository}",
                                     "local: {url: build/model_repository, config_name: cpu-large}"))
    loaded, _ = load_and_build(manifest, Settings())
    assert loaded.ok and loaded.manifest.targets["local"].config_name == "cpu-large"
    manifest.write_text(text.replace("local: {url: build/model_repository}",
                                     "local: {url: build/model_repository, config_name: cpu-larg}"))
    code, out, _ = run_cli("validate", manifest)
    assert code == 0  # allowed (every server falls back to config.pbtxt), but said
    assert "warning: targets.local.config_name: no model has a config variant 'cpu-larg'" in out
    assert "the manifest's variants: cpu-large" in out
    manifest.write_text(text.replace("local: {url: build/model_repository}",
                                     "local: {url: build/model_repository, config_name: ../x}"))
    code, out, _ = run_cli("validate", manifest)
    assert code == 1 and "targets.local.config_name" in out


def test_schema_problems_in_a_variant_read_as_for_the_model(tmp_path):
    manifest = _example_with(tmp_path, "      typo:\n        max_batch_sise: 2\n"
                                       "        instance_group: [{kind: KIND_CPUU}]\n"
                                       "        dynamic_batching: {max_queue_delay_microseconds: x}\n")
    code, out, _ = run_cli("validate", manifest)
    assert code == 1
    assert f"models.yaml:{_line_of(manifest, 'max_batch_sise')}:9: error: " in out
    assert "unknown key 'max_batch_sise'" in out and "did you mean 'max_batch_size'?" in out
    assert "'KIND_CPUU' is not a valid value here [schema-enum]" in out and "did you mean 'KIND_CPU'?" in out
    assert "max_queue_delay_microseconds: expected integer, got string 'x'" in out  # the null branch is not named


def test_a_variants_warmup_file_gets_its_own_name_unless_it_names_one(tmp_path):
    labels = "examples/text_classifier/labels.txt"  # replaced below by a raw file of 16 bytes
    manifest = _example_with(tmp_path, "      f:\n        model_warmup:\n          - name: f\n            batch_size: 1\n"
                                       "            inputs:\n              FEATURES: {data_type: FP32, dims: [4], "
                                       f"file: {labels}}}\n")
    raw = tmp_path / "raw16"
    raw.write_bytes(b"\1" * 16)
    manifest.write_text(manifest.read_text().replace(f"file: {labels}", "file: raw16"))
    out = tmp_path / "repo"
    assert run_cli("compile", manifest, "--out", out)[0] == 0
    assert (out / "text_classifier/warmup/f.0_FEATURES").read_bytes() == b"\1" * 16
    manifest.write_text(manifest.read_text().replace("file: raw16", "file: raw16, input_data_file: mine.raw"))
    assert run_cli("compile", manifest, "--out", out)[0] == 0
    assert (out / "text_classifier/warmup/mine.raw").read_bytes() == b"\1" * 16
    variant = text_format.Parse((out / "text_classifier/configs/f.pbtxt").read_text(), ModelConfig())
    assert variant.model_warmup[0].inputs["FEATURES"].input_data_file == "mine.raw"
