"""Reading Model Analyzer's output: the CSV route (inference + GPU CSV, config folders) and
the checkpoint route, on fixtures in Model Analyzer v1.53.0's formats (fixtures/make_fixtures.py)."""
from __future__ import annotations

import json

import pytest

from compiler.analyzer.results import latest_checkpoint, open_results
from compiler.errors import FatalError
from tests.analyzer.conftest import CHECKPOINT_RUN, CSV_RUN

INFERENCE = "results/metrics-model-inference.csv"


def test_csv_route_reads_every_row_with_gpu_memory_summed_over_the_gpus():
    results = open_results(CSV_RUN)
    assert results.kind == "csv" and results.path == CSV_RUN / INFERENCE
    rows = results.models["text_classifier"]
    assert len(rows) == 15 and {m.config for m in rows} == {f"text_classifier_config_{n}" for n in
                                                           ("default", "0", "1", "2", "3")}
    best = rows[0]
    assert (best.config, best.batch_size, best.concurrency, best.request_rate) == ("text_classifier_config_2", 4, 8, None)
    assert (best.throughput, best.p99_ms, best.max_batch_size, best.satisfies) == (2410.7, 14.2, 16, True)
    assert best.gpu_memory_mb == pytest.approx(1402.5 + 1144.8)  # the two GPUs' rows of metrics-model-gpu.csv
    assert best.where == f"{CSV_RUN / INFERENCE}:2"
    assert [m.satisfies for m in rows if m.config.endswith("_3")] == [False] * 3


def test_csv_route_reads_the_variant_config_from_the_output_model_repository():
    config = open_results(CSV_RUN / INFERENCE).read_config("text_classifier", "text_classifier_config_2")
    assert config.max_batch_size == 16 and config.backend == "python"
    assert [(g.kind, g.count) for g in config.instance_group] == [(1, 2)]  # KIND_GPU
    assert config.HasField("dynamic_batching")


def test_checkpoint_route_reads_measurements_and_configs_from_the_json():
    results = open_results(CHECKPOINT_RUN)
    assert results.kind == "checkpoint" and results.path == CHECKPOINT_RUN / "checkpoints" / "0.ckpt"
    rows = results.models["preprocess"]
    assert len(rows) == 10 and all(m.gpu_memory_mb is None and m.satisfies is None for m in rows)
    one = next(m for m in rows if m.config == "preprocess_config_1" and m.batch_size == 8)
    assert (one.concurrency, one.throughput, one.p99_ms) == (8, 5120.4, 19.87)
    config = results.read_config("preprocess", "preprocess_config_1")
    assert config.max_batch_size == 16 and [g.count for g in config.instance_group] == [4]
    assert config.dynamic_batching.max_queue_delay_microseconds == 100  # dynamic_batching {} merged, not replaced


def test_checkpoint_gpu_records_are_summed_and_gpu_names_kept(tmp_path):
    data = json.loads((CHECKPOINT_RUN / "checkpoints" / "0.ckpt").read_text())
    measurement = next(iter(data["ResultManager.results"]["_results"]["preprocess"]["preprocess_config_0"][1].values()))
    measurement["_gpu_data"] = {f"GPU-{n}": [["gpu_used_memory", {"_value": 1000.5 * n, "_timestamp": 0,
                                                                  "_device_uuid": f"GPU-{n}"}],
                                            ["gpu_utilization", {"_value": 5.0, "_timestamp": 0, "_device_uuid": None}]]
                                 for n in (1, 2)}
    data["MetricsManager.gpus"] = {"GPU-1": {"name": "NVIDIA L4", "total_memory": 24000000000},
                                   "GPU-2": {"name": "NVIDIA L4", "total_memory": 24000000000}}
    (tmp_path / "7.ckpt").write_text(json.dumps(data))
    (tmp_path / "3.ckpt").write_text("not even json")  # an older one: the highest index is read, as MA does
    results = open_results(tmp_path)
    assert results.gpus == ["NVIDIA L4"]
    memory = [m.gpu_memory_mb for m in results.models["preprocess"] if m.gpu_memory_mb is not None]
    assert memory == [pytest.approx(3001.5)]


def test_request_rate_mode_reads_the_request_rate_column(tmp_path):
    csv = tmp_path / "metrics-model-inference.csv"
    csv.write_text("Model,Batch,Request Rate,Model Config Path,Instance Group,Max Batch Size,Satisfies Constraints,"
                   "Throughput (infer/sec),p99 Latency (ms)\nm,2,32,m_config_5,3:GPU,2,Yes,64.0,1.4\n\n")
    (m,) = open_results(csv).models["m"]
    assert (m.batch_size, m.concurrency, m.request_rate, m.load()) == (2, None, 32, "batch 2, request rate 32")


def test_ensembles_and_models_profiled_together_are_marked_unsupported(tmp_path):
    csv = tmp_path / "metrics-model-inference.csv"
    csv.write_text('Model,Batch,Concurrency,Model Config Path,Instance Group,Max Batch Size,Satisfies Constraints,'
                   'Throughput (infer/sec),p99 Latency (ms)\n'
                   'ens,1,8,"ens_config_1: add_config_0, sub_config_1","1:GPU,2:GPU","0,0",Yes,2865.9,3.7\n'
                   '"a,b","1,1","4,4","a_config_5,b_config_4","2:GPU,1:GPU","1,2",Yes,"421.0, [184.5,236.5]",'
                   '"20.7, [23.9,17.4]"\n\n')
    results = open_results(csv)
    assert results.models == {}
    assert set(results.unsupported) == {"ens", "a", "b"}
    assert "ensemble" in results.unsupported["ens"] and "profiled together" in results.unsupported["a"]


@pytest.mark.parametrize("text, message", [
    ("Model,Batch\nm,1\n", "no column 'Model Config Path', 'Throughput (infer/sec)', 'p99 Latency (ms)'"),
    ("Model,Model Config Path,Throughput (infer/sec),p99 Latency (ms)\nm,m_config_0,fast,1.0\n",
     "metrics-model-inference.csv:2: column 'Throughput (infer/sec)': 'fast' is not a number"),
    ("Model,Model Config Path,Throughput (infer/sec),p99 Latency (ms)\nm,m_config_0,1.0\n",
     "metrics-model-inference.csv:2: 3 cells where the header has 4"),
    ("\n\n", "metrics-model-inference.csv: empty"),
])
def test_a_broken_csv_is_a_located_error(tmp_path, text, message):
    csv = tmp_path / "metrics-model-inference.csv"
    csv.write_text(text)
    with pytest.raises(FatalError) as caught:
        open_results(csv)
    assert message in caught.value.message


@pytest.mark.parametrize("text, message", [
    ("{", "not JSON"), ('{"ResultManager.server_only_data": {}}', "not a Model Analyzer checkpoint"),
    ('{"ResultManager.results": {"_results": {"m": {"m_config_0": {"not": "a pair"}}}}}',
     "m/m_config_0: expected [run config, measurements]"),
])
def test_a_broken_checkpoint_is_an_error(tmp_path, text, message):
    (tmp_path / "0.ckpt").write_text(text)
    with pytest.raises(FatalError) as caught:
        open_results(tmp_path / "0.ckpt")
    assert message in caught.value.message


def test_a_folder_without_results_says_what_it_looked_for(tmp_path):
    with pytest.raises(FatalError) as caught:
        open_results(tmp_path)
    assert "looked for checkpoints/<n>.ckpt and results/metrics-model-inference.csv" in caught.value.message
    with pytest.raises(FatalError, match="no such file or folder"):
        open_results(tmp_path / "missing")
    assert latest_checkpoint(tmp_path) is None


def test_a_missing_config_folder_points_at_configs_option(csv_run):
    import shutil

    shutil.rmtree(csv_run / "output_model_repository" / "text_classifier_config_2")
    results = open_results(csv_run)
    with pytest.raises(FatalError) as caught:
        results.read_config("text_classifier", "text_classifier_config_2")
    assert "text_classifier_config_2/config.pbtxt" in caught.value.message and "--configs" in caught.value.hint
    moved = csv_run.parent / "elsewhere"
    shutil.move(csv_run / "output_model_repository", moved)
    config = open_results(csv_run, configs=moved).read_config("text_classifier", "text_classifier_config_1")
    assert config.max_batch_size == 8


def test_the_committed_fixtures_are_what_make_fixtures_writes(tmp_path):
    from tests.analyzer.fixtures import make_fixtures

    configs = make_fixtures.compiled_configs()
    make_fixtures.write_csv_run(configs["text_classifier"], tmp_path / "csv_run")
    make_fixtures.write_checkpoint_run(configs["preprocess"], tmp_path / "checkpoint_run")
    for run in (CSV_RUN, CHECKPOINT_RUN):
        committed = {p.relative_to(run): p.read_bytes() for p in run.rglob("*") if p.is_file()}
        written = {p.relative_to(tmp_path / run.name): p.read_bytes() for p in (tmp_path / run.name).rglob("*")
                   if p.is_file()}
        assert committed == written, "run tests/analyzer/fixtures/make_fixtures.py and commit the result"
