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
