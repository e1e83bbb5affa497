"""Fields, enum values and platforms newer than the Triton the manifest names (`triton:`)."""
from compiler import triton_releases
from compiler.rules import release
from tests.rules.util import BASE, by_rule, one, run


def at(text: str):
    return triton_releases.parse(text)[0]


def test_a_field_newer_than_the_server_is_an_error_naming_the_release():
    text = BASE + ('model_metrics { metric_control [ { metric_identifier { family: "nv_inference_first_response_'
                   'histogram_ms" } histogram_options { buckets: [ 1, 2 ] } } ] }')
    problem = one(run(text, release, triton=at("24.10"), triton_from="target 'prod'"), "triton-release")
    assert problem.is_error and problem.path == ("model_metrics",)
    assert problem.message == ("`model_metrics` needs Triton 2.52 (24.11) or newer; target 'prod' is served by "
                               "Triton 2.51 (24.10)")
    assert "remove `model_metrics`" in problem.hint
    assert run(text, release, triton=at("24.11")) == []


def test_nested_fields_are_found_where_they_are():
    text = BASE.replace('backend: "python"', 'platform: "ensemble"') + (
        'ensemble_scheduling { max_inflight_requests: 4 step [ { model_name: "a" model_version: 1 } ] }')
    problem = one(run(text, release, triton=at("2.62")), "triton-release")
    assert problem.path == ("ensemble_scheduling", "max_inflight_requests")
    assert "Triton 2.63 (25.11)" in problem.message
    assert run(text, release, triton=at("2.63")) == []


def test_runtime_came_with_2_42():
    text = BASE + 'runtime: "model.py"'
    assert one(run(text, release, triton=at("23.12")), "triton-release").path == ("runtime",)
    assert run(text, release, triton=at("24.01")) == []


def test_an_enum_value_newer_than_the_server():
    text = BASE.replace("TYPE_FP32 dims: [ 4 ] } ]\noutput", "TYPE_BF16 dims: [ 4 ] } ]\noutput")
    problem = one(run(text, release, triton=at("22.04")), "triton-release")
    assert problem.path == ("input", 0, "data_type")
    assert problem.message.startswith("data_type TYPE_BF16 needs Triton 2.22 (22.05)")
    assert run(text, release, triton=at("22.05")) == []


def test_fields_inside_repeated_messages_and_maps():
    text = BASE + 'instance_group [ { kind: KIND_CPU count: 1 }, { kind: KIND_CPU passive: true } ]'
    problem = one(run(text, release, triton=at("21.05")), "triton-release")
    assert problem.path == ("instance_group", 1, "passive") and "Triton 2.11 (21.06)" in problem.message
    warmup = BASE + 'model_warmup [ { name: "w" batch_size: 1 count: 2 inputs { key: "IN" value { data_type: ' \
                    'TYPE_FP32 dims: [ 4 ] zero_data: true } } } ]'
    assert one(run(warmup, release, triton=at("22.06")), "triton-release").path == ("model_warmup", 0, "count")


def test_a_platform_newer_than_the_server():
    text = BASE.replace('backend: "python"', 'platform: "torch_aoti"')
    problem = one(run(text, release, triton=at("26.02")), "triton-release")
    assert problem.path == ("platform",) and "platform 'torch_aoti' needs Triton 2.67 (26.03)" in problem.message
    assert run(text, release, triton=at("26.03")) == []


def test_without_triton_nothing_is_version_checked():
    text = BASE + 'runtime: "model.py" model_metrics { }'
    assert run(text, release) == []


def test_the_whole_rule_set_reports_it_once():
    text = BASE + 'runtime: "model.py"'
    assert len(by_rule(run(text, triton=at("23.01"), versions={1}, files={"1/model.py"}), "triton-release")) == 1
