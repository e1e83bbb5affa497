from compiler.rules import batching
from tests.rules.util import one, run

HEAD = 'name: "m" backend: "python" max_batch_size: 8 input [ { name: "IN" data_type: TYPE_INT32 dims: [ -1 ] } ] ' \
       'output [ { name: "OUT" data_type: TYPE_INT32 dims: [ -1 ] } ] '


def test_negative_max_batch_size():
    problem = one(run('name: "m" max_batch_size: -1', batching), "max-batch-size")
    assert problem.message == "'max_batch_size' must be non-negative value for m"
    assert problem.path == ("max_batch_size",)


def test_preferred_batch_sizes():
    problems = run(HEAD + "dynamic_batching { preferred_batch_size: [ 0, 4, 16 ] }", batching)
    assert [(p.rule, p.path[-1]) for p in problems] == [("batching-preferred-size", 0), ("batching-preferred-size", 2)]
    assert problems[0].message == "dynamic batching preferred size must be positive for m"
    assert problems[1].message == "dynamic batching preferred size must be <= max batch size for m"


def test_default_priority_level_out_of_range():
    problem = one(run(HEAD + "dynamic_batching { priority_levels: 3 default_priority_level: 4 }", batching),
                  "batching-default-priority")
    assert problem.message == "default priority level must be in range [1, 3] for m"
    assert problem.path == ("dynamic_batching", "default_priority_level")


def test_priority_queue_policy_key_out_of_range():
    text = HEAD + "dynamic_batching { priority_levels: 2 default_priority_level: 1 priority_queue_policy { key: 0 value { } } }"
    problem = one(run(text, batching), "batching-priority-level")
    assert problem.message == "priority queue policy must have priority level in range [1, 2] for m"
    assert problem.path == ("dynamic_batching", "priority_queue_policy", "0")


def test_priority_settings_without_levels_are_ignored():
    problem = one(run(HEAD + "dynamic_batching { default_priority_level: 2 }", batching), "batching-priority-ignored")
    assert not problem.is_error


def test_preserve_ordering_conflicts():
    text = HEAD + ("dynamic_batching { preserve_ordering: true priority_levels: 2 default_priority_level: 1 "
                   "default_queue_policy { timeout_action: DELAY default_timeout_microseconds: 100 } "
                   "priority_queue_policy { key: 2 value { timeout_action: DELAY default_timeout_microseconds: 5 } } }")
    problems = run(text, batching)
    assert [p.path for p in problems] == [
        ("dynamic_batching", "priority_levels"),
        ("dynamic_batching", "default_queue_policy", "timeout_action"),
        ("dynamic_batching", "priority_queue_policy", "2", "timeout_action")]
    assert {p.rule for p in problems} == {"batching-preserve-ordering"}
    assert problems[0].message == "Only one priority level is allowed when 'preserve_ordering' is true for m"
    assert problems[1].message == ("Queue policy can not have DELAY as timeout action when 'preserve_ordering' is true "
                                   "for m")


def test_delay_without_timeout_is_fine_with_preserve_ordering():
    text = HEAD + "dynamic_batching { preserve_ordering: true default_queue_policy { timeout_action: DELAY } }"
    assert run(text, batching) == []


def test_batch_input_rules():
    text = HEAD + ('batch_input [ { kind: BATCH_ELEMENT_COUNT target_name: "N" data_type: TYPE_INT64 '
                   'source_input: [ "IN", "NOPE" ] } ]')
    problems = run(text, batching)
    assert [p.rule for p in problems] == ["batch-input-source-count", "batch-input-data-type",
                                          "batch-input-source-unknown"]
    assert problems[0].message == "batch input kind 'BATCH_ELEMENT_COUNT' expects 1 source input, got 2 for m"
    assert problems[1].message == "batch input data type must be TYPE_INT32 or TYPE_FP32 for m"
    assert problems[2].message == "unknown source input name 'NOPE' for m"
    assert problems[2].path == ("batch_input", 0, "source_input", 1)


def test_batch_output_rules():
    text = HEAD + ('batch_output [ { kind: BATCH_SCATTER_WITH_INPUT_SHAPE target_name: [ "OUT", "OUT", "OTU" ] '
                   'source_input: [ ] } ]')
    problems = run(text, batching)
    assert [p.rule for p in problems] == ["batch-output-source-count", "batch-output-target-duplicate",
                                          "batch-output-target-unknown"]
    assert problems[0].message == "batch output kind 'BATCH_SCATTER_WITH_INPUT_SHAPE' expects 1 source input, got 0 for m"
    assert problems[1].message == "target output name 'OUT' can only be specified once for m"
    assert problems[2].message == "unknown target output name 'OTU' for m"
    assert problems[2].hint == "did you mean 'OUT'?"


def test_valid_batch_io():
    text = HEAD + ('batch_input [ { kind: BATCH_ACCUMULATED_ELEMENT_COUNT target_name: "N" data_type: TYPE_FP32 '
                   'source_input: "IN" } ] batch_output [ { kind: BATCH_SCATTER_WITH_INPUT_SHAPE target_name: "OUT" '
                   'source_input: "IN" } ]')
    assert run(text, batching) == []


def test_batch_output_unknown_source():
    text = HEAD + 'batch_output [ { kind: BATCH_SCATTER_WITH_INPUT_SHAPE target_name: "OUT" source_input: "IN2" } ]'
    problem = one(run(text, batching), "batch-output-source-unknown")
    assert problem.message == "unknown source input name 'IN2' for m"
    assert problem.path == ("batch_output", 0, "source_input", 0)
