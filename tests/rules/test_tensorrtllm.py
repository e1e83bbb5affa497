"""TensorRT-LLM: the parameters its backend reads, their value types, and one batch size for the pipeline."""
import json

from compiler.errors import WARNING
from compiler.rules import tensorrtllm
from compiler.rules.folder import DiskFolder
from tests.helpers import write
from tests.rules.util import by_rule, config, one, run

LLM = '''name: "tensorrt_llm" backend: "tensorrtllm" max_batch_size: 8
input [ { name: "input_ids" data_type: TYPE_INT32 dims: [ -1 ] } ]
output [ { name: "output_ids" data_type: TYPE_INT32 dims: [ -1, -1 ] } ]
'''


def params(**values) -> str:
    return "".join(f'parameters {{ key: "{k}" value {{ string_value: "{v}" }} }} ' for k, v in values.items())


def test_a_well_typed_config_passes():
    text = LLM + params(gpt_model_type="inflight_fused_batching", max_beam_width="1", kv_cache_free_gpu_mem_fraction="0.9",
                        enable_kv_cache_reuse="True", max_attention_window_size="2560,4096",
                        batch_scheduler_policy="guaranteed_no_evict", FORCE_CPU_ONLY_INPUT_TENSORS="no")
    assert run(text, tensorrtllm) == []


def test_gpt_model_type_is_required_and_checked():
    problem = one(run(LLM, tensorrtllm), "tensorrtllm-parameter")
    assert problem.is_error and "gpt_model_type" in problem.message and problem.path == ("parameters",)
    bad = one(run(LLM + params(gpt_model_type="inflight"), tensorrtllm), "tensorrtllm-parameter")
    assert bad.is_error and bad.message.startswith("Invalid gpt_model_type 'inflight'")


def test_a_value_of_the_wrong_type_is_a_warning_the_backend_falls_back():
    problems = run(LLM + params(gpt_model_type="v1", max_beam_width="one", enable_kv_cache_reuse="yes",
                                kv_cache_free_gpu_mem_fraction="half", max_attention_window_size="1,x"), tensorrtllm)
    found = {p.path[1]: p for p in by_rule(problems, "tensorrtllm-parameter")}
    assert set(found) == {"max_beam_width", "enable_kv_cache_reuse", "kv_cache_free_gpu_mem_fraction",
                          "max_attention_window_size"}
    assert all(p.severity == WARNING for p in found.values())
    assert "'one', not an integer" in found["max_beam_width"].message


def test_std_stoi_reads_a_number_prefix_so_those_pass():
    assert run(LLM + params(gpt_model_type="v1", max_beam_width=" 4 beams", gpu_weights_percent="1e-1"),
               tensorrtllm) == []


def test_a_parameter_the_backend_never_reads_is_a_warning_with_a_did_you_mean():
    problem = one(run(LLM + params(gpt_model_type="v1", max_beam_witdh="2"), tensorrtllm), "tensorrtllm-parameter")
    assert problem.severity == WARNING and "did you mean 'max_beam_width'?" in problem.message


def test_placeholders_are_left_to_misc():
    assert run(LLM + params(gpt_model_type="v1", max_beam_width="${max_beam_width}"), tensorrtllm) == []


def test_the_engine_in_the_version_folder_fits_max_batch_size(tmp_path):
    write(tmp_path / "1" / "config.json", json.dumps({"build_config": {"max_batch_size": 4}}))
    write(tmp_path / "1" / "rank0.engine", "")
    text = LLM + params(gpt_model_type="v1")
    problem = one(run(text, tensorrtllm, model_folder=DiskFolder(str(tmp_path)), versions={1}), "tensorrtllm-batch-size")
    assert problem.path == ("max_batch_size",) and "built for (4)" in problem.message
    assert run(text.replace("max_batch_size: 8", "max_batch_size: 4"), tensorrtllm,
               model_folder=DiskFolder(str(tmp_path)), versions={1}) == []


def test_an_ensemble_around_tensorrt_llm_shares_its_batch_size():
    ensemble = '''name: "ensemble" platform: "ensemble" max_batch_size: 8
    ensemble_scheduling { step [ { model_name: "preprocessing" model_version: -1 },
                                 { model_name: "tensorrt_llm" model_version: -1 } ] }'''
    others = {"tensorrt_llm": config(LLM), "preprocessing": config('backend: "python" max_batch_size: 16')}
    (problem,) = run(ensemble, tensorrtllm, model_configs=others)
    assert problem.rule == "tensorrtllm-batch-size" and problem.severity == WARNING
    assert problem.path == ("ensemble_scheduling", "step", 0, "model_name")
    others["preprocessing"] = config('backend: "python" max_batch_size: 8')
    assert run(ensemble, tensorrtllm, model_configs=others) == []
    assert one(run(ensemble.replace("max_batch_size: 8", "max_batch_size: 2", 1), tensorrtllm, model_configs=others),
               "tensorrtllm-batch-size").path == ("max_batch_size",)


def test_the_parameter_table_notes_its_source():
    known, source = tensorrtllm.parameters()
    assert known["max_beam_width"] == "int" and known["enable_kv_cache_reuse"] == "bool"
    assert "tensorrtllm_backend" in source
