"""Choosing the config: objectives, constraints (ours and Model Analyzer's own), --config,
and errors that say what eliminated what."""
from __future__ import annotations

import pytest

from compiler.analyzer.choose import choose, constraints_from
from compiler.analyzer.results import open_results
from compiler.errors import FatalError
from tests.analyzer.conftest import CHECKPOINT_RUN, CSV_RUN

MODEL = "text_classifier"


@pytest.fixture(scope="module")
def results():
    return open_results(CSV_RUN)


@pytest.mark.parametrize("objective, config, load", [
    ("throughput", "text_classifier_config_2", (4, 8)),  # 2410.7/s; config_3's 2600.5 failed MA's constraints
    ("latency", "text_classifier_config_1", (1, 1)),  # 1.9 ms
    ("gpu-memory", "text_classifier_config_default", (4, 8)),  # 1701.4 MB; ties broken by throughput
])
def test_each_objective_picks_its_best_passing_measurement(results, objective, config, load):
    choice = choose(results, MODEL, objective)
    assert (choice.config, (choice.measurement.batch_size, choice.measurement.concurrency)) == (config, load)
    assert (choice.considered, choice.passed, choice.configs) == (15, 12, 5)
    assert choice.eliminated == {"Model Analyzer's own constraints (Satisfies Constraints: No)": 3}


def test_constraints_narrow_the_choice(results):
    choice = choose(results, MODEL, "throughput", constraints_from(max_p99_ms=10))
    assert (choice.config, choice.measurement.throughput) == ("text_classifier_config_1", 1980.4)
    assert choice.eliminated["--max-p99-ms 10"] == 7
    choice = choose(results, MODEL, "latency", constraints_from(min_throughput=1700, max_gpu_memory_mb=2530))
    assert (choice.config, choice.measurement.p99_ms) == ("text_classifier_config_1", 7.2)


def test_no_measurement_left_says_what_each_constraint_eliminated(results):
    with pytest.raises(FatalError) as caught:
        choose(results, MODEL, "throughput", constraints_from(max_p99_ms=1.5, min_throughput=2500))
    message = caught.value.message
    assert message.startswith("no measurement of 'text_classifier' meets the constraints (15 measurements of the 5 configs")
    assert "--max-p99-ms 1.5 eliminated 15 of 15 (lowest: 1.9 ms, text_classifier_config_1 at batch 1, concurrency 1)" \
        in message
    assert "--min-throughput 2500 eliminated 14 of 15 (highest: 2600.5 infer/s, text_classifier_config_3 at batch 4, " \
           "concurrency 8)" in message
    assert "Model Analyzer's own constraints (Satisfies Constraints: No) eliminated 3 of 15" in message


def test_a_named_config_is_taken_by_number_default_or_name(results):
    assert choose(results, MODEL, config="1").config == "text_classifier_config_1"
    choice = choose(results, MODEL, config="default")
    assert (choice.config, choice.named, choice.considered, choice.measurement.throughput) == \
        ("text_classifier_config_default", True, 3, 1311.8)
    assert choose(results, MODEL, config="text_classifier_config_0").config == "text_classifier_config_0"
    with pytest.raises(FatalError) as caught:
        choose(results, MODEL, config="3")  # every row failed Model Analyzer's constraints
    assert "3 measurements of config text_classifier_config_3" in caught.value.message
    with pytest.raises(FatalError) as caught:
        choose(results, MODEL, config="9")
    assert "has no config '9' (configs: text_classifier_config_0, text_classifier_config_1," in caught.value.message


def test_unknown_model_lists_the_models_there(results):
    with pytest.raises(FatalError) as caught:
        choose(results, "bert")
    assert "no results for model 'bert' (models there: text_classifier)" in caught.value.message
    assert "--profile-models" in caught.value.hint


def test_gpu_memory_without_gpu_figures_is_an_error():
    with pytest.raises(FatalError, match="no GPU memory figures for 'preprocess'"):
        choose(open_results(CHECKPOINT_RUN), "preprocess", "gpu-memory")
    with pytest.raises(FatalError, match="no GPU memory figures"):
        choose(open_results(CHECKPOINT_RUN), "preprocess", constraints=constraints_from(max_gpu_memory_mb=100))
