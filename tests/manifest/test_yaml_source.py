from compiler.manifest.yaml_source import MAX_NODES, load_bytes, load_text


def only_problem(doc):
    assert doc.data is None
    assert len(doc.problems) == 1, doc.problems
    return doc.problems[0]


def test_positions_of_nested_values_and_keys():
    doc = load_text("models:\n  m:\n    input:\n      - {name: X, dims: [1, 2]}\n", "m.yaml")
    assert doc.problems == []
    assert doc.locate(("models", "m", "input", 0, "dims", 1)) == (4, 29)
    assert doc.locate(("models", "m", "input", 0, "name"), prefer_key=True) == (4, 10)
    assert doc.locate(("models", "m", "nothing", "here")) == (3, 5)  # nearest ancestor: the mapping of m


def test_duplicate_key_is_an_error_at_the_second_key():
    problem = only_problem(load_text("models:\n  a: 1\n  b: 2\n  a: 3\n", "m.yaml"))
    assert (problem.rule, problem.line, problem.column) == ("yaml-duplicate-key", 4, 3)  # at the key
    assert "first defined at line 2" in problem.message


def test_yaml12_scalars_keep_leading_zeros_and_words_as_strings():
    doc = load_text("a: [01, on, no, 2024-01-01, 1.5, 1e3, 0x10, true, ~, '7', 7]\n", "m.yaml")
    assert doc.data == {"a": ["01", "on", "no", "2024-01-01", 1.5, 1000.0, 16, True, None, "7", 7]}


def test_merge_keys_and_aliases_are_expanded_as_copies():
    doc = load_text("base: &b {x: 1}\nm: {<<: *b, y: 2}\nn: *b\n", "m.yaml")
    assert doc.data["m"] == {"x": 1, "y": 2}
    doc.data["n"]["x"] = 5
    assert doc.data["base"]["x"] == 1


def test_alias_bomb_is_refused_quickly():
    lines = ['a: &a ["x","x","x","x","x","x","x","x","x"]']
    for i in range(1, 10):
        prev, cur = chr(96 + i), chr(97 + i)
        lines.append(f"{cur}: &{cur} [" + ",".join([f"*{prev}"] * 9) + "]")
    problem = only_problem(load_text("\n".join(lines), "bomb.yaml"))
    assert problem.rule == "yaml-alias-bomb"
    assert f"{MAX_NODES:,}" in problem.message


def test_syntax_error_is_located():
    problem = only_problem(load_text("a:\n  b: [1, 2\n", "m.yaml"))
    assert problem.rule == "yaml-syntax"
    assert problem.line == 3


def test_invalid_utf8_is_located():
    problem = only_problem(load_bytes(b"a: 1\nb: \xff\n", "m.yaml"))
    assert (problem.rule, problem.line, problem.column) == ("yaml-encoding", 2, 4)


def test_bom_is_accepted():
    assert load_bytes("\ufeffa: 1\n".encode("utf-8"), "m.yaml").data == {"a": 1}


def test_tab_indentation_and_control_characters_are_errors():
    assert only_problem(load_text("a:\n\tb: 1\n", "m.yaml")).line == 2
    assert only_problem(load_text("a: \x07\n", "m.yaml")).rule == "yaml-syntax"


def test_deep_nesting_and_multiple_documents_and_unknown_tags_are_refused():
    assert only_problem(load_text("a: " + "[" * 100 + "]" * 100, "m.yaml")).rule in ("yaml-depth", "yaml-syntax")
    assert only_problem(load_text("a: 1\n---\nb: 2\n", "m.yaml")).rule == "yaml-multiple-documents"
    assert only_problem(load_text("a: !!python/object:os.system x\n", "m.yaml")).rule == "yaml-tag"


def _many_models(count: int) -> str:
    """A manifest-shaped document with block and flow styles, an anchor, an alias and a merge."""
    lines = ["version: 1", "defaults: &defaults {backend: python, max_batch_size: 8}", "models:"]
    for m in range(count):
        lines += [f"  model_{m:05d}:", "    <<: *defaults",
                  "    input: [{name: INPUT, data_type: FP32, dims: [16]}]",
                  "    output:", "      - name: OUTPUT", "        data_type: FP32", f"        dims: [{m % 7 + 1}, 2]",
                  "    parameters: *defaults" if m % 2 else "    parameters: {k: {string_value: v}}",
                  "    versions:", f"      1: {{source: src/{m}}}"]
    return "\n".join(lines) + "\n"


def test_positions_worked_out_on_demand_are_the_ones_a_full_load_records():
    """load_text leaves positions for the first locate(); every value and key of 10,000 models,
    model_09999's too, is then where a load that records them as it goes says."""
    from compiler.manifest.yaml_source import Document, _build

    text = _many_models(10_000)
    eager = Document("m.yaml")
    _build(text, eager, positions=True)
    lazy = load_text(text, "m.yaml")
    assert lazy.data == eager.data and lazy.problems == []
    assert lazy.locate(("models", "model_09999", "output", 0, "dims", 1)) == (100_000, 19)
    assert lazy.locate(("models", "model_09999", "versions", "1"), prefer_key=True) == (100_003, 7)
    assert len(eager.positions) > 200_000
    assert all(lazy.locate(path) == where for path, where in eager.positions.items())
    assert all(lazy.locate(path, prefer_key=True) == where for path, where in eager.key_positions.items())


def test_duplicate_key_deep_in_a_large_document_names_both_lines():
    text = _many_models(2_000).replace("    versions:\n      1: {source: src/1999}",
                                       "    versions:\n      1: {source: src/1999}\n    input: []")
    problem = only_problem(load_text(text, "m.yaml"))
    assert (problem.rule, problem.line, problem.column) == ("yaml-duplicate-key", 20_004, 5)
    assert "first defined at line 19996" in problem.message


def test_validate_locates_problems_in_the_last_of_10000_models(tmp_path):
    """End to end, through the positions worked out on demand: a rule's problem, a source's
    and a schema's in model_09999 of 10,000, each at its exact line and column."""
    from tests.helpers import run_json

    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "model.py").write_text("VALUE = 1\n")
    lines = ["version: 1", "defaults: {backend: python, max_batch_size: 8}", "models:"]
    for m in range(10_000):
        last = m == 9_999
        lines += [f"  model_{m:05d}:",
                  "    input: [{name: INPUT, data_type: FP32, dims: [16]}, {name: INPUT, data_type: FP32, dims: [4]}]"
                  if last else "    input: [{name: INPUT, data_type: FP32, dims: [16]}]",
                  "    output: [{name: OUTPUT, data_type: FP32, dims: [16]}]",
                  "    versions:", "      1: {source: src}", "      2: {source: src/nope}" if last else ""]
    lines.append("  broken: {input: 7, versions: {1: {source: src}}}")
    (tmp_path / "models.yaml").write_text("\n".join(line for line in lines if line) + "\n")
    code, report, _ = run_json("validate", tmp_path / "models.yaml")
    assert code == 1
    where = {p["rule"]: (p["line"], p["column"]) for p in report["problems"]}
    first = 4 + 5 * 9_999  # model_09999's line: five lines per model before it
    assert where["tensor-duplicate"] == (first + 1, 64)  # input[1].name
    assert where["source-missing"] == (first + 5, 19)  # versions.2.source
    schema = [p for p in report["problems"] if p["path"].startswith("models.broken.")]
    assert [(p["rule"], p["line"], p["column"]) for p in schema] == [("schema-type", first + 6, 19)], schema
