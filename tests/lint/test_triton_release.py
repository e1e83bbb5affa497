"""`lint --triton`: fields newer than the named release are errors at their line in config.pbtxt."""
from tests.helpers import run_cli, run_json, write

# runtime "libtriton_python.so": the python backend's own library (runtime "model.py" would name a
# Python-based backend's file, which Triton 2.51 refuses for backend python: tests/judge).
CONFIG = 'backend: "python"\nruntime: "libtriton_python.so"\ninput [ { name: "X" data_type: TYPE_FP32 dims: [ 1 ] } ]\n' \
         'output [ { name: "Y" data_type: TYPE_FP32 dims: [ 1 ] } ]\n'


def test_lint_with_triton_locates_the_newer_field(tmp_path):
    write(tmp_path / "m" / "config.pbtxt", CONFIG)
    write(tmp_path / "m" / "1" / "model.py", "")
    code, report, _ = run_json("lint", "m", "--triton", "23.12", cwd=tmp_path)
    (problem,) = [p for p in report["problems"] if p["severity"] == "error"]
    assert code == 1 and problem["rule"] == "triton-release" and problem["line"] == 2
    assert "this repository (--triton) is served by Triton 2.41 (23.12)" in problem["message"]
    assert run_json("lint", "m", "--triton", "2.42", cwd=tmp_path)[0] == 0
    assert run_json("lint", "m", cwd=tmp_path)[0] == 0


def test_an_unknown_release_stops_lint_with_a_clear_error(tmp_path):
    write(tmp_path / "config.pbtxt", CONFIG)
    code, _, err = run_cli("lint", "config.pbtxt", "--triton", "19.01", cwd=tmp_path)
    assert code == 1 and "--triton: '19.01' is not a Triton release this tool knows" in err
    assert "Traceback" not in err
