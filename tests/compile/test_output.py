
import pytest

from compiler.compile.output import MARKER, diff_tree, write_tree
from compiler.compile.tree import Entry, Tree
from compiler.errors import FatalError
from compiler.sync.state import STATE_NAME


def tree_of(files: dict) -> Tree:
    return Tree(sorted((Entry(p, p.split("/")[0], "file", len(d), data=d) for p, d in files.items()),
                       key=lambda e: e.path))


def test_write_then_diff_is_clean_and_content_changes_are_seen_even_at_same_size(tmp_path):
    out = tmp_path / "repo"
    write_tree(tree_of({"m/config.pbtxt": b"abc", "m/1/model.py": b"x"}), out)
    assert (out / MARKER).exists()
    assert not diff_tree(tree_of({"m/config.pbtxt": b"abc", "m/1/model.py": b"x"}), out).pending
    diff = diff_tree(tree_of({"m/config.pbtxt": b"abd", "n/config.pbtxt": b"1"}), out)
    assert [(c.action, c.path) for c in diff.changes] == [
        ("delete", "m/1/model.py"), ("update", "m/config.pbtxt"), ("create", "n/config.pbtxt")]


def test_rewrite_replaces_the_whole_folder_and_leaves_no_staging_behind(tmp_path):
    out = tmp_path / "repo"
    write_tree(tree_of({"m/config.pbtxt": b"1", "old/config.pbtxt": b"1"}), out)
    write_tree(tree_of({"m/config.pbtxt": b"2"}), out)
    assert sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()) == [
        MARKER, STATE_NAME, "m/config.pbtxt"]
    assert (out / "m/config.pbtxt").read_bytes() == b"2"
    assert [p.name for p in tmp_path.iterdir()] == ["repo"]


def test_refuses_to_replace_a_folder_it_did_not_write(tmp_path):
    (tmp_path / "precious.txt").write_text("keep me")
    with pytest.raises(FatalError, match="not written by triton-gitops"):
        write_tree(tree_of({"m/config.pbtxt": b"1"}), tmp_path)
    assert (tmp_path / "precious.txt").read_text() == "keep me"


def test_a_failing_copy_leaves_the_previous_repository_intact(tmp_path):
    out = tmp_path / "repo"
    write_tree(tree_of({"m/config.pbtxt": b"old"}), out)
    broken = Tree([Entry("m/config.pbtxt", "m", "config", 3, data=b"new"),
                   Entry("m/1/model.py", "m", "version", 1, source=tmp_path / "missing")])
    with pytest.raises(FatalError, match="missing: No such file"):
        write_tree(broken, out)
    assert (out / "m/config.pbtxt").read_bytes() == b"old"
    assert [p.name for p in tmp_path.iterdir()] == ["repo"]


def test_copies_without_copy_file_range_as_on_macos_and_windows(tmp_path, monkeypatch):
    from compiler.compile import assemble

    source = tmp_path / "weights.bin"
    source.write_bytes(b"w" * 3_000_000)
    monkeypatch.setattr(assemble, "_copy_file_range", assemble._no_copy_file_range)
    out = tmp_path / "repo"
    tree = tree_of({"m/config.pbtxt": b"abc"})
    tree.entries.append(Entry("m/1/model.bin", "m", "version", source.stat().st_size, source=source))
    write_tree(tree, out)
    assert (out / "m/1/model.bin").read_bytes() == source.read_bytes()
