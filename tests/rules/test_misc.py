from compiler.errors import WARNING
from compiler.rules import misc
from compiler.rules.misc import strings
from tests.rules.util import config, one, run

HEAD = 'name: "m" backend: "python" '


def test_response_cache_with_decoupled():
    problem = one(run(HEAD + "model_transaction_policy { decoupled: true } response_cache { enable: true }", misc),
                  "response-cache-decoupled")
    assert problem.message == ("Response Cache does not currently support model m with 'decoupled' transaction "
                               "policy. Please disable the response cache.")
    assert problem.path == ("response_cache", "enable")


def test_placeholders_are_warnings_on_both_paths_and_errors_for_tensorrtllm():
    # Triton 2.51 loads a python model with such a parameter (tests/judge: param_placeholder).
    text = HEAD + 'parameters { key: "dir" value { string_value: "${engine_dir}/x" } }'
    problem = one(run(text, misc), "placeholder")
    assert problem.severity == WARNING
    assert problem.path == ("parameters", "dir", "string_value")
    assert "${engine_dir}" in problem.message
    assert one(run(text, misc, model_file_may_complete=True), "placeholder").severity == WARNING
    assert one(run(text.replace('"python"', '"tensorrtllm"'), misc), "placeholder").is_error
    assert run(HEAD + 'parameters { key: "EXECUTION_ENV_PATH" value { string_value: "$$TRITON_MODEL_DIRECTORY/e" } }',
               misc) == []


def test_strings_walks_maps_lists_and_keys():
    found = dict(strings(config('name: "m" input [ { name: "a" } ] parameters { key: "k" value { string_value: "v" } } '
                                'ensemble_scheduling { step [ { input_map { key: "x" value: "y" } } ] }')))
    assert found[("input", 0, "name")] == "a"
    assert found[("parameters", "k")] == "k" and found[("parameters", "k", "string_value")] == "v"
    assert found[("ensemble_scheduling", "step", 0, "input_map", "x")] == "y"


def test_label_files():
    text = HEAD + 'output [ { name: "y" data_type: TYPE_FP32 dims: [ 2 ] label_filename: "labels.txt" } ]'
    problem = one(run(text, misc, files={"1/model.py"}), "label-file")
    assert problem.path == ("output", 0, "label_filename")
    assert "does not exist in the model folder" in problem.message
    assert run(text, misc, files={"labels.txt"}) == []
    assert run(text, misc) == []
    outside = one(run(text.replace("labels.txt", "../labels.txt"), misc), "label-file")
    assert "outside the model folder" in outside.message


METRIC = 'model_metrics { metric_control [ { %s } ] }'


def test_model_metrics_messages():
    cases = {
        'histogram_options { buckets: [ 1 ] }': ("metrics-identifier", "metric control must specify 'metric_identifier'"),
        'metric_identifier { } histogram_options { buckets: [ 1 ] }':
            ("metrics-identifier", "metric identifier must specify non-empty 'family'"),
        'metric_identifier { family: "nv_inference_first_response_histogram_ms" }':
            ("metrics-histogram", "metric control must specify 'histogram_options'"),
        'metric_identifier { family: "nv_inference_first_response_histogram_ms" } histogram_options { }':
            ("metrics-buckets", "histogram options must specify non-empty 'buckets'"),
    }
    for body, expected in cases.items():
        problems = [p for p in run(HEAD + METRIC % body, misc) if p.is_error]
        assert [(p.rule, p.message) for p in problems] == [expected], body


def test_model_metrics_valid_warn_and_order():
    family = 'metric_identifier { family: "%s" } histogram_options { buckets: [ %s ] }'
    assert run(HEAD + METRIC % (family % ("nv_inference_first_response_histogram_ms", "-1, 0, 1, 2.5")), misc) == []
    warn = one(run(HEAD + METRIC % (family % ("nv_inference_request_success", "1")), misc), "metrics-family")
    assert warn.severity == WARNING
    assert warn.message == ("Metric family 'nv_inference_request_success' in 'metric_identifier' is not a customizable "
                            "metric in Triton core.")
    order = one(run(HEAD + METRIC % (family % ("nv_inference_first_response_histogram_ms", "1, 4, 2")), misc),
                "metrics-buckets")
    assert order.path == ("model_metrics", "metric_control", 0, "histogram_options", "buckets", 2)
