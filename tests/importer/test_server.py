"""Import declares the custom backends and repository agents the repository's models use."""
from compiler.importer import import_repository
from compiler.manifest.yaml_source import load_bytes
from tests.helpers import run_json, write

CUSTOM = '''backend: "my_backend"
max_batch_size: 1
input [ { name: "X" data_type: TYPE_FP32 dims: [ 1 ] } ]
output [ { name: "Y" data_type: TYPE_FP32 dims: [ 1 ] } ]
model_repository_agents { agents [ { name: "relocation" }, { name: "checksum" } ] }
'''


def test_custom_names_land_in_server_and_the_import_validates(tmp_path):
    write(tmp_path / "repo" / "m" / "config.pbtxt", CUSTOM)
    write(tmp_path / "repo" / "m" / "1" / "libstate.bin", "x")
    result = import_repository(str(tmp_path / "repo"), tmp_path / "models.yaml")
    data = load_bytes(result.text.encode(), "models.yaml").data
    assert data["server"] == {"backends": ["my_backend"], "repository_agents": ["relocation"]}
    assert "# custom backends / repository agents" in result.text
    code, report, _ = run_json("validate", "models.yaml", cwd=tmp_path)
    assert code == 0, report


def test_without_the_declaration_validate_names_the_backend(tmp_path):
    write(tmp_path / "repo" / "m" / "config.pbtxt", CUSTOM)
    write(tmp_path / "repo" / "m" / "1" / "libstate.bin", "x")
    result = import_repository(str(tmp_path / "repo"), tmp_path / "models.yaml")
    text = result.text.split("# custom backends")[0] + "models:" + result.text.split("\nmodels:", 1)[1]
    write(tmp_path / "models.yaml", text)
    code, report, _ = run_json("validate", "models.yaml", cwd=tmp_path)
    rules = sorted(p["rule"] for p in report["problems"] if p["severity"] == "error")
    assert code == 1 and rules == ["unknown-backends", "unknown-repository-agents"]


def test_standard_backends_need_no_server_key(tmp_path):
    write(tmp_path / "repo" / "m" / "config.pbtxt", CUSTOM.replace("my_backend", "python").split("model_repo")[0])
    write(tmp_path / "repo" / "m" / "1" / "model.py", "")
    assert "server:" not in import_repository(str(tmp_path / "repo"), None).text
