from compiler.rules import batch_strategy
from tests.rules.util import one, run

PARAM = 'parameters { key: "TRITON_BATCH_STRATEGY_PATH" value: { string_value: "%s" } } '


def test_a_custom_strategy_with_the_sequence_batcher_is_refused():
    problem = one(run(PARAM % "/opt/lib/libbatch.so" + "sequence_batching { }", batch_strategy),
                  "batch-strategy-sequence")
    assert problem.message == "TRITON_BATCH_STRATEGY_PATH cannot be specified with sequence batcher"
    assert problem.path == ("parameters", "TRITON_BATCH_STRATEGY_PATH")


def test_a_relative_path_is_an_error_an_absolute_one_is_for_the_declarations():
    relative = one(run(PARAM % "libs/batchstrategy.so" + "dynamic_batching { }", batch_strategy), "batch-strategy-path")
    assert relative.is_error and relative.message.startswith("Batching library path not found: libs/batchstrategy.so")
    # an absolute path is declared as installed, for the manifest and for lint alike (compiler.rules.installed)
    assert run(PARAM % "/opt/lib/libbatch.so" + "dynamic_batching { }", batch_strategy) == []
    assert run(PARAM % "/opt/lib/libbatch.so" + "dynamic_batching { }", batch_strategy,
               model_file_may_complete=True) == []
    assert run("dynamic_batching { }", batch_strategy) == []
