from compiler.lint import lint_paths
from compiler.lint.config_file import load_config
from tests.lint.util import write


def test_syntax_error_is_located(tmp_path):
    path = write(tmp_path / "m" / "config.pbtxt", 'name: "m"\nmax_batch_size: 4\ninput [ { name: "a" dims: [ 1, ] } ]\n')
    problems = lint_paths([str(path)])
    assert [(p.rule, p.line, p.column) for p in problems] == [("pbtxt-syntax", 3, 32)]
    assert problems[0].file == str(path)
    assert problems[0].message.startswith("config syntax:")


def test_unknown_fields_are_all_reported_with_a_suggestion(tmp_path):
    path = write(tmp_path / "m" / "config.pbtxt",
                 'name: "m"\nbackend: "python"\ninput [ { name: "a" data_typ: TYPE_FP32 } ]\nmax_batch: 1\n')
    problems = lint_paths([str(path)])
    assert [(p.rule, p.line, p.column, p.path) for p in problems] == [
        ("pbtxt-unknown-field", 3, 21, ("input", 0, "data_typ")),
        ("pbtxt-unknown-field", 4, 1, ("max_batch",))]
    assert problems[0].message == "unknown field 'data_typ' in ModelInput"
    assert problems[0].hint == "did you mean 'data_type'?"
    assert problems[1].hint == "did you mean 'max_batch_size'?"


def test_unrendered_template_gets_a_hint(tmp_path):
    path = write(tmp_path / "m" / "config.pbtxt", 'name: "m"\nmax_batch_size: ${triton_max_batch_size}\n')
    problem, = lint_paths([str(path)])
    assert (problem.rule, problem.line, problem.column) == ("pbtxt-syntax", 2, 17)
    assert "unrendered template" in problem.hint


def test_invalid_utf8_is_located(tmp_path):
    path = tmp_path / "config.pbtxt"
    path.write_bytes(b'name: "m"\nbackend: "caf\xe9"\n')
    problem, = lint_paths([str(path)])
    assert (problem.rule, problem.line, problem.column) == ("pbtxt-encoding", 2, 14)


def test_missing_path(tmp_path):
    problem, = lint_paths([str(tmp_path / "nope.pbtxt")])
    assert problem.rule == "lint-path" and (problem.line, problem.column) == (1, 1)


def test_rule_problems_are_placed_at_their_field(tmp_path):
    path = write(tmp_path / "m" / "config.pbtxt", 'name: "m"\nbackend: "python"\nmax_batch_size: 2\n'
                 'input [\n  { name: "a" data_type: TYPE_FP32 dims: [ 3, 0 ] }\n]\n'
                 'output [ { name: "b" dims: [ 1 ] } ]\n')
    problems = {p.rule: p for p in lint_paths([str(path)])}
    assert (problems["tensor-dims-value"].line, problems["tensor-dims-value"].column) == (5, 47)
    # data_type is absent: the problem is placed at the output it belongs to.
    assert (problems["tensor-data-type"].line, problems["tensor-data-type"].column) == (7, 10)


def test_lone_config_takes_the_folder_name(tmp_path):
    path = write(tmp_path / "folder" / "config.pbtxt", 'name: "other"\nbackend: "python"\n')
    problem, = lint_paths([str(path)])
    assert problem.rule == "model-name-mismatch" and (problem.line, problem.column) == (1, 1)
    other = write(tmp_path / "folder" / "partial.pbtxt", 'name: "other"\nbackend: "python"\n')
    assert lint_paths([str(other)]) == []


def test_load_config_keeps_text_and_positions(tmp_path):
    path = write(tmp_path / "config.pbtxt", 'name: "m"\n\nmax_batch_size: 3\n')
    loaded = load_config(str(path))
    assert loaded.config.max_batch_size == 3 and loaded.problems == []
    assert loaded.positions.locate(("max_batch_size",)) == (3, 1)


def test_oversized_file_is_not_read(tmp_path):
    from compiler.lint.config_file import MAX_BYTES

    path = tmp_path / "config.pbtxt"
    path.write_bytes(b"#" * (MAX_BYTES + 1))
    problem, = lint_paths([str(path)])
    assert problem.rule == "lint-read" and (problem.line, problem.column) == (1, 1)


def test_oneof_conflict_and_repeated_singular_field(tmp_path):
    path = write(tmp_path / "m" / "config.pbtxt", 'name: "m"\nbackend: "python"\ndynamic_batching { }\nsequence_batching { }\n')
    problem, = lint_paths([str(path)])
    assert (problem.rule, problem.line, problem.column) == ("pbtxt-syntax", 4, 1)
    assert 'another member of oneof "scheduling_choice"' in problem.message
    assert "keep only one" in problem.hint
    path = write(tmp_path / "m" / "config.pbtxt", 'name: "m"\nmax_batch_size: 1\nmax_batch_size: 2\n')
    problem, = lint_paths([str(path)])
    assert (problem.rule, problem.line) == ("pbtxt-syntax", 3)
    assert "remove the repetition" in problem.hint


def test_too_many_tokens_fall_back_to_coarse_positions(tmp_path, monkeypatch):
    import compiler.lint.pbtxt as pbtxt

    monkeypatch.setattr(pbtxt, "MAX_TOKENS", 20)
    path = write(tmp_path / "m" / "config.pbtxt",
                 'name: "m"\nbackend: "python"\ninput [ { name: "a" data_type: TYPE_FP32 dims: [ 1, 1, 1, 1, 0 ] } ]\n')
    problem, = lint_paths([str(path)])
    assert problem.rule == "tensor-dims-value" and (problem.line, problem.column) == (1, 1)


def test_long_values_are_clipped_in_messages(tmp_path):
    path = write(tmp_path / "m" / "config.pbtxt", 'name: "m"\nplatform: "' + "x" * 50_000 + '"\n')
    problem, = lint_paths([str(path)])
    assert problem.rule == "platform-unknown" and len(problem.message) == 2000
    assert problem.message.endswith("... (truncated)") and problem.hint.startswith("valid platforms:")


def test_deeply_nested_unknown_fields_do_not_exhaust_the_stack(tmp_path):
    path = write(tmp_path / "config.pbtxt", 'name: "m"\n' + "a { " * 5000 + "} " * 5000 + "\n")
    problem, = lint_paths([str(path)])
    assert (problem.rule, problem.line, problem.column) == ("pbtxt-syntax", 2, 1)
    assert 'has no field named "a"' in problem.message
