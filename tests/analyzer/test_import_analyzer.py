"""`triton-gitops import-analyzer` end to end: the diff, --write on a copy of the example
manifest, what the result compiles to, the PR report, and the errors."""
from __future__ import annotations

import difflib
import json

import pytest

from compiler.manifest.yaml_source import load_bytes
from tests.analyzer.conftest import CHECKPOINT_RUN, CSV_RUN
from tests.commands.test_compile import copy_example
from tests.gitops.gitutil import commit_all, init_repo
from tests.helpers import run_cli

EXPECTED_TUNING = {"source": "model_analyzer", "config": "text_classifier_config_2", "objective": "throughput",
                   "batch_size": 4, "concurrency": 8, "throughput_per_sec": 2410.7, "p99_latency_ms": 14.2,
                   "gpu_memory_mb": 2547.3}


def test_without_write_it_shows_the_diff_and_writes_nothing(tmp_path):
    manifest = copy_example(tmp_path)
    before = manifest.read_text()
    code, out, err = run_cli("import-analyzer", CSV_RUN, "--model", "text_classifier", "--manifest", manifest)
    assert code == 0 and "error" not in err.replace("becomes an error", "")  # only main's `triton:` note
    assert manifest.read_text() == before
    assert "text_classifier: text_classifier_config_2 (highest throughput; 12 of 15 measurements of 5 configs" in out
    assert "measured at batch 4, concurrency 8: 2410.7 infer/s, p99 14.2 ms, GPU memory 2547.3 MB" in out
    assert "changes instance_group (was inherited from defaults:)" in out
    assert "-    max_batch_size: 8\n+    max_batch_size: 16\n" in out
    assert "+    instance_group: [{kind: KIND_GPU, count: 2}]\n" in out
    assert "nothing written (add --write" in out


def test_write_changes_only_the_tuned_fields_and_the_tuning_block(tmp_path):
    manifest = copy_example(tmp_path)
    before = manifest.read_text()
    code, out, _ = run_cli("import-analyzer", CSV_RUN / "results" / "metrics-model-inference.csv",
                           "--model", "text_classifier", "--manifest", manifest, "--write")
    assert code == 0 and f"wrote {manifest}: models.text_classifier (2 fields and tuning); it validates" in out
    after = manifest.read_text()
    old_lines, new_lines = before.splitlines(), after.splitlines()
    changed = [line for line in difflib.unified_diff(old_lines, new_lines, lineterm="", n=0)
               if line[:1] in "+-" and not line.startswith(("+++", "---"))]
    assert changed == ["-    max_batch_size: 8", "+    max_batch_size: 16", "+    instance_group: [{kind: KIND_GPU, count: 2}]",
                       "+    tuning:", "+      source: model_analyzer", "+      config: text_classifier_config_2",
                       "+      objective: throughput", "+      batch_size: 4", "+      concurrency: 8",
                       "+      throughput_per_sec: 2410.7", "+      p99_latency_ms: 14.2", "+      gpu_memory_mb: 2547.3"]
    data = load_bytes(after.encode(), "m").data
    assert data["models"]["text_classifier"]["tuning"] == EXPECTED_TUNING
    assert data["defaults"] == load_bytes(before.encode(), "m").data["defaults"]  # defaults stay for the others
    assert run_cli("validate", manifest)[0] == 0
    assert run_cli("compile", manifest, "--out", tmp_path / "out")[0] == 0
    config = (tmp_path / "out" / "text_classifier" / "config.pbtxt").read_text()
    assert "max_batch_size: 16\n" in config and "count: 2\n  kind: KIND_GPU\n" in config
    assert "tuning" not in config and "2410.7" not in config  # the figures are not Triton's business
    # Again: nothing left to change, the same figures: the text stays byte for byte.
    code, out, _ = run_cli("import-analyzer", CSV_RUN, "--model", "text_classifier", "--manifest", manifest, "--write")
    assert code == 0 and "already match this config" in out and manifest.read_text() == after


def test_json_output_lists_changes_and_the_tuning_block(tmp_path):
    manifest = copy_example(tmp_path)
    code, out, _ = run_cli("import-analyzer", CSV_RUN, "--model", "text_classifier", "--manifest", manifest,
                           "--objective", "latency", "--max-p99-ms", "2", "--output", "json")
    assert code == 0
    report = json.loads(out)
    assert report["config"] == "text_classifier_config_1" and report["written"] is False
    assert report["tuning"]["constraints"] == {"max_p99_ms": 2.0} and report["tuning"]["p99_latency_ms"] == 1.9
    assert [(c["field"], c["before"], c["after"], c["inherited"]) for c in report["changes"]] == [
        ("instance_group", [{"kind": "KIND_CPU", "count": 1}], [{"kind": "KIND_GPU", "count": 2}], True)]
    assert report["eliminated"]["--max-p99-ms 2"] == 13
    assert "+    instance_group: [{kind: KIND_GPU, count: 2}]\n" in report["diff"]


@pytest.mark.triton
def test_checkpoint_route_writes_a_config_real_triton_serves(tmp_path):
    from tests.support.triton import TritonServer, tritonserver_binary

    manifest = copy_example(tmp_path)
    code, out, _ = run_cli("import-analyzer", CHECKPOINT_RUN / "checkpoints" / "0.ckpt", "--model", "preprocess",
                           "--manifest", manifest, "--max-p99-ms", "5", "--write")
    assert code == 0 and "preprocess: preprocess_config_2 (highest throughput; 7 of 10" in out
    tuning = load_bytes(manifest.read_bytes(), "m").data["models"]["preprocess"]["tuning"]
    assert tuning == {"source": "model_analyzer", "config": "preprocess_config_2", "objective": "throughput",
                      "constraints": {"max_p99_ms": 5.0}, "batch_size": 1, "concurrency": 8,
                      "throughput_per_sec": 4402.5, "p99_latency_ms": 3.55}
    assert run_cli("compile", manifest, "--out", tmp_path / "repo")[0] == 0
    if tritonserver_binary() is None:
        pytest.skip("tritonserver not installed; run scripts/bootstrap.sh")
    with TritonServer(tmp_path / "repo", log_path=tmp_path / "triton.log") as server:
        status, config = server.get("/v2/models/preprocess/config")
        assert status == 200
        assert config["max_batch_size"] == 32
        assert [(g["kind"], g["count"]) for g in config["instance_group"]] == [("KIND_CPU", 4)]
        assert config["dynamic_batching"]["max_queue_delay_microseconds"] == 100
        status, ready = server.get("/v2/models/preprocess/ready")
        assert status == 200


def test_the_pr_report_shows_the_measured_figures(tmp_path):
    repo = init_repo(tmp_path / "repo")
    manifest = copy_example(repo)
    commit_all(repo, "base")
    assert run_cli("import-analyzer", CSV_RUN, "--model", "text_classifier", "--manifest", manifest, "--write")[0] == 0
    code, out, _ = run_cli("report", manifest, "--base", "main")
    assert code == 0
    assert "| measured | by | config | load | infer/s | p99 latency (ms) | GPU memory (MB) |" in out
    assert "| this PR | `model_analyzer` | `text_classifier_config_2` | batch 4, concurrency 8 | `2410.7` | `14.2` | " \
           "`2547.3` |" in out
    commit_all(repo, "tuned")
    # Only the figures change (same config, another measurement chosen): the model is shown as changed.
    assert run_cli("import-analyzer", CSV_RUN, "--model", "text_classifier", "--manifest", manifest,
                   "--config", "2", "--max-p99-ms", "10", "--write")[0] == 0
    code, out, _ = run_cli("report", manifest, "--base", "HEAD", "--output", "json")
    model = next(m for m in json.loads(out)["models"] if m["name"] == "text_classifier")
    assert model["status"] == "changed" and model["config_changes"] == []
    assert (model["old_tuning"]["throughput_per_sec"], model["tuning"]["throughput_per_sec"]) == (2410.7, 1722.3)
    code, out, _ = run_cli("report", manifest, "--base", "HEAD")
    assert "| base | `model_analyzer` | `text_classifier_config_2` | batch 4, concurrency 8 | `2410.7` |" in out
    assert "| this PR | `model_analyzer` | `text_classifier_config_2` | batch 1, concurrency 8 | `1722.3` |" in out


def test_a_markdown_or_html_string_in_the_tuning_block_is_escaped(tmp_path):
    repo = init_repo(tmp_path / "repo")
    manifest = copy_example(repo)
    commit_all(repo, "base")
    text = manifest.read_text().replace(
        "  preprocess:                      # text -> 4 features\n",
        "  preprocess:                      # text -> 4 features\n"
        "    tuning: {source: '<img src=x onerror=alert(1)>', config: 'a|b`c', throughput_per_sec: 1, "
        "p99_latency_ms: 2}\n")
    manifest.write_text(text)
    code, out, _ = run_cli("report", manifest, "--base", "main")
    assert code == 0
    row = next(line for line in out.splitlines() if line.startswith("| this PR |"))
    assert '`"<img src=x onerror=alert(1)>"`' in row and "a\\|b`c" in row
    markdown_it = pytest.importorskip("markdown_it", reason="markdown-it-py is in the test extras")
    tokens = markdown_it.MarkdownIt("commonmark").enable(["table"]).parse(out)
    inline = [c for t in tokens if t.type == "inline" for c in t.children or ()]
    html = [t.content for t in tokens + inline if t.type in ("html_block", "html_inline")]
    assert html and not [h for h in html if "img" in h]  # the template's own <details>, nothing from input
    codes = [c.content for t in tokens if t.type == "inline" for c in t.children or () if c.type == "code_inline"]
    assert '"<img src=x onerror=alert(1)>"' in codes and '"a|b`c"' in codes  # shown as written, as code
    assert sum(1 for t in tokens if t.type == "td_open") == 7  # one row of seven cells: no pipe split a cell


@pytest.mark.parametrize("args, message", [
    (["--model", "bert"], "models.yaml: no model 'bert' (models: classify_text, preprocess, text_classifier)"),
    (["--model", "preprocess"], "no results for model 'preprocess' (models there: text_classifier)"),
    (["--model", "text_classifier", "--max-p99-ms", "1"], "--max-p99-ms 1 eliminated 15 of 15"),
    (["--model", "text_classifier", "--min-throughput", "-1"], "--min-throughput -1.0: must be a number at least 0"),
])
def test_errors_are_one_clear_message_and_exit_1(tmp_path, args, message):
    manifest = copy_example(tmp_path)
    before = manifest.read_text()
    code, out, err = run_cli("import-analyzer", CSV_RUN, "--manifest", manifest, "--write", *args)
    assert code == 1 and message in err and "Traceback" not in err
    assert manifest.read_text() == before


def test_missing_results_are_an_error(tmp_path):
    manifest = copy_example(tmp_path)
    code, _, err = run_cli("import-analyzer", tmp_path / "nowhere", "--model", "preprocess", "--manifest", manifest)
    assert code == 1 and "nowhere: no such file or folder" in err


def test_a_config_folder_from_another_run_is_refused(csv_run, tmp_path):
    manifest = copy_example(tmp_path)
    config = csv_run / "output_model_repository" / "text_classifier_config_2" / "config.pbtxt"
    config.write_text(config.read_text().replace("max_batch_size: 16", "max_batch_size: 2"))
    code, _, err = run_cli("import-analyzer", csv_run, "--model", "text_classifier", "--manifest", manifest)
    assert code == 1
    assert "metrics-model-inference.csv:2: text_classifier_config_2 was measured with max_batch_size 16, but its " \
           "config.pbtxt says 2" in err


def test_a_result_that_would_not_validate_is_not_written(csv_run, tmp_path):
    manifest = copy_example(tmp_path)
    before = manifest.read_text()
    config = csv_run / "output_model_repository" / "text_classifier_config_2" / "config.pbtxt"
    # A warmup batch of 2 does not fit max_batch_size 1: Triton refuses to load it.
    config.write_text(config.read_text().replace("max_batch_size: 16", "max_batch_size: 1"))
    inference = csv_run / "results" / "metrics-model-inference.csv"
    inference.write_text(inference.read_text().replace("4:GPU,16,", "4:GPU,1,"))
    code, _, err = run_cli("import-analyzer", csv_run, "--model", "text_classifier", "--manifest", manifest,
                           "--config", "2", "--write")
    assert code == 1 and "with this config the manifest would not validate" in err and "nothing written" in err
    assert f"{manifest}:" in err  # the problem itself, located in the manifest
    assert manifest.read_text() == before
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".models.yaml")] == []


def test_an_invalid_manifest_is_reported_first(tmp_path):
    manifest = copy_example(tmp_path)
    manifest.write_text(manifest.read_text().replace("data_type: FP32, dims: [4]}]", "data_type: FP33, dims: [4]}]", 1))
    code, _, err = run_cli("import-analyzer", CSV_RUN, "--model", "text_classifier", "--manifest", manifest)
    assert code == 1 and "FP33" in err and "does not validate; fix it first" in err


def test_warmup_is_kept_and_a_field_outside_the_search_is_flagged(csv_run, tmp_path):
    manifest = copy_example(tmp_path)
    config = csv_run / "output_model_repository" / "text_classifier_config_2" / "config.pbtxt"
    text = config.read_text()
    text = text[:text.index("model_warmup")]  # a repository profiled without warmup
    config.write_text(text + 'parameters {\n  key: "THREADS"\n  value {\n    string_value: "4"\n  }\n}\n')
    code, out, err = run_cli("import-analyzer", csv_run, "--model", "text_classifier", "--manifest", manifest,
                             "--write")
    assert code == 0, err
    assert "changes parameters (not a field Model Analyzer's automatic search sets: check it)" in out
    assert "differs but kept: model_warmup: warmup data is the manifest's own" in out
    entry = load_bytes(manifest.read_bytes(), "m").data["models"]["text_classifier"]
    assert entry["parameters"] == {"THREADS": "4"} and entry["model_warmup"][0]["inputs"]["FEATURES"]["data"]


def test_control_characters_from_the_results_reach_no_terminal(csv_run, tmp_path):
    manifest = copy_example(tmp_path)
    hostile = "text_classifier_config_\x1b[2J\r::error::x"
    (csv_run / "output_model_repository" / "text_classifier_config_2").rename(
        csv_run / "output_model_repository" / hostile)
    for name in ("metrics-model-inference.csv", "metrics-model-gpu.csv"):
        path = csv_run / "results" / name
        path.write_text(path.read_text().replace("text_classifier_config_2,", f'"{hostile}",'))
    code, out, err = run_cli("import-analyzer", csv_run, "--model", "text_classifier", "--manifest", manifest, "--write")
    assert code == 0, err
    assert "\x1b" not in out and "\r" not in out and "\n::" not in out
    assert "text_classifier_config_\\x1b[2J\\r::error::x" in out
    tuning = load_bytes(manifest.read_bytes(), "m").data["models"]["text_classifier"]["tuning"]
    assert tuning["config"] == hostile  # the manifest keeps the name as it is, quoted
    code, out, _ = run_cli("import-analyzer", csv_run, "--model", "text_classifier", "--manifest", manifest,
                           "--output", "json")
    assert json.loads(out)["config"] == hostile and "\x1b" not in out
