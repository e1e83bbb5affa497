import pytest

from compiler.lint.pbtxt import ScanError, parse_tree, positions, tokenize, unescape
from compiler.proto import ModelConfig
from tests.helpers import CORPUS

TEXT = '''# a comment with { braces } and "quotes"
name: "m"
input [
  {
    name: "a"
    dims: [ 2, -1 ]
    reshape { shape: [ 2, -1 ] }
  },
  { name: "b" dims: [ 1 ] }
]
input { name: "c" }
input < name: 'd' >
parameters { key: "K" value { string_value: "v" } }
parameters [ { key: "L", value: { string_value: "w" } } ];
dynamic_batching {
  priority_levels: 2
  priority_queue_policy { key: 2 value { timeout_action: DELAY } }
}
ensemble_scheduling { step [ { model_name: "x" input_map { key: "in" value: "t" } } ] }
'''


def at(line: int, needle: str, nth: int = 1) -> tuple:
    """(line, column) of the nth `needle` on 1-based `line` of TEXT."""
    text, column = TEXT.splitlines()[line - 1], -1
    for _ in range(nth):
        column = text.index(needle, column + 1)
    return line, column + 1


@pytest.fixture(scope="module")
def located():
    return positions(TEXT, ModelConfig.DESCRIPTOR)


def test_top_level_and_nested_fields(located):
    assert located.by_path[("name",)] == at(2, "name")
    assert located.by_path[("input", 0, "dims")] == at(6, "dims")
    assert located.by_path[("input", 0, "reshape", "shape")] == at(7, "shape:")


def test_list_elements_are_located_at_the_element(located):
    assert located.by_path[("input", 0)] == at(4, "{")
    assert located.by_path[("input", 1)] == at(9, "{")
    assert located.by_path[("input", 0, "dims", 1)] == at(6, "-1")
    assert located.by_path[("input", 0, "reshape", "shape", 1)] == at(7, "-1")


def test_repeated_blocks_continue_the_index_after_a_list(located):
    assert located.by_path[("input", 2)] == at(11, "input")
    assert located.by_path[("input", 2, "name")] == at(11, "name")
    assert located.by_path[("input", 3, "name")] == at(12, "name")


def test_map_entries_are_keyed_by_their_key(located):
    assert located.by_path[("parameters", "K")] == at(13, "parameters")
    assert located.by_path[("parameters", "K", "string_value")] == at(13, "string_value")
    assert located.by_path[("parameters", "L")] == at(14, "{")
    assert located.by_path[("dynamic_batching", "priority_queue_policy", "2", "timeout_action")] == at(17, "timeout_action")
    assert located.by_path[("ensemble_scheduling", "step", 0, "input_map", "in")] == at(19, '"t"')


def test_locate_falls_back_to_the_nearest_ancestor(located):
    assert located.locate(("input", 1, "data_type")) == at(9, "{")
    assert located.locate(("max_batch_size",)) == (1, 1)


def test_unknown_fields_are_collected_with_their_position():
    found = positions('name: "m"\ninput [ { nmae: "x" } ]\nmax_batchsize: 3', ModelConfig.DESCRIPTOR).unknown
    assert [(u.path, u.name, u.line, u.column, u.message_type) for u in found] == [
        (("input", 0), "nmae", 2, 11, "ModelInput"), ((), "max_batchsize", 3, 1, "ModelConfig")]
    assert "name" in found[0].known


def test_tokens_strings_numbers_and_comments():
    tokens = tokenize('a: "x\\"y" # c\nb: -1.5e3 c: 0x1F d: 8#MAX\n')
    assert [(t.kind, t.text, t.line, t.column) for t in tokens if t.kind != "eof"] == [
        ("ident", "a", 1, 1), ("symbol", ":", 1, 2), ("string", '"x\\"y"', 1, 4),
        ("ident", "b", 2, 1), ("symbol", ":", 2, 2), ("number", "-1.5e3", 2, 4),
        ("ident", "c", 2, 11), ("symbol", ":", 2, 12), ("number", "0x1F", 2, 14),
        ("ident", "d", 2, 19), ("symbol", ":", 2, 20), ("number", "8", 2, 22)]


def test_unescape_and_adjacent_strings():
    assert unescape(r'"a\tb\"\\\x41\101\u00e9"') == 'a\tb"\\AAé'
    tree = parse_tree("name: 'ab' \"cd\"")
    assert tree.entries[0].value.text == "abcd"


def test_scan_errors_carry_a_position():
    with pytest.raises(ScanError) as info:
        positions('name: "m"\ninput [ { name: "a" } ', ModelConfig.DESCRIPTOR)
    assert (info.value.line, info.value.column) == (2, 23)  # end of file, after "} "
    with pytest.raises(ScanError) as info:
        tokenize('name: "m" @')
    assert (info.value.line, info.value.column) == (1, 11)


def _corpus_configs() -> list:
    names = ("*.pbtxt", "*.pbtxt.*", "*__expected")
    return sorted({p for pattern in names for p in CORPUS.rglob(pattern) if p.is_file()})


def test_scanner_follows_every_config_protobuf_parses():
    """Wherever text_format accepts a corpus file, the scanner reads it too and knows every field."""
    from google.protobuf import text_format

    files = _corpus_configs()
    assert len(files) >= 355, f"corpus not found or incomplete at {CORPUS}"
    parsed = 0
    for path in files:
        text = path.read_text(encoding="utf-8")
        try:
            config = text_format.Parse(text, ModelConfig())
        except text_format.ParseError:
            continue
        parsed += 1
        located = positions(text, ModelConfig.DESCRIPTOR)
        assert located.unknown == [], path
        top_level = {f.name for f, _ in config.ListFields()}
        assert top_level <= {p[0] for p in located.by_path if p}, path
    assert parsed >= 300
