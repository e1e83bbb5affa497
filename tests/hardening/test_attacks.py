"""Named attacks: each hostile manifest is refused quickly, with bounded memory and a located,
clear message, and `compile` leaves the destination (and everything beside it) untouched.

Tests marked xfail(strict=True) document a hole that is still open: the reason names the
function at fault. Remove the marker with the fix (strict: an unexpected pass fails the run).
"""
from __future__ import annotations

import json
import os
import subprocess
import textwrap
import time
import unicodedata

import pytest

from tests.hardening.harness import MANIFEST, Workspace, check_located, cli, files_of, run_measured

# Bounds generous enough for a loaded 2-core CI machine; a process's time includes start-up.
SECONDS = 5.0
RSS_MB = 300.0


def manifest(name='m', source="src/m/1", extra="") -> str:
    """A manifest with one model that compiles; `name` and `source` are inserted as written."""
    text = textwrap.dedent(f"""\
        version: 1
        models:
          {name}:
            backend: python
            max_batch_size: 0
            input: [{{name: X, data_type: FP32, dims: [2]}}]
            output: [{{name: Y, data_type: FP32, dims: [2]}}]
            versions: {{1: {{source: {source}}}}}
        """)
    return text + textwrap.indent(textwrap.dedent(extra), "    ") if extra else text


def q(text: str) -> str:
    """`text` as a YAML double-quoted scalar (JSON's escapes are YAML's)."""
    return json.dumps(text)


def prepare_destination(ws) -> tuple:
    """Compile a good manifest to the destination; (its files, the workspace around it)."""
    ws.reset()
    ws.manifest.write_text(manifest())
    code, out, err = cli(ws, "compile", MANIFEST, "--out", ws.out)
    assert code == 0, out + err
    return files_of(ws.out), ws.snapshot()


def assert_refused(ws, text, rules=(), line=None, column=None, message="") -> list:
    """validate exits 1 with located problems (one of `rules` at line:column, if given), within
    SECONDS; compile exits 1 and changes nothing at a prepared destination nor beside it."""
    raw = text if isinstance(text, bytes) else text.encode("utf-8")
    before_out, before = prepare_destination(ws)
    ws.manifest.write_bytes(raw)
    start = time.perf_counter()
    code, out, err = cli(ws, "validate", MANIFEST, "--output", "json")
    elapsed = time.perf_counter() - start
    assert code == 1, out + err
    assert elapsed < SECONDS, f"validate took {elapsed:.1f} s"
    problems = json.loads(out)["problems"]
    check_located(problems, raw)
    errors = [p for p in problems if p["severity"] == "error"]
    assert errors, problems
    if rules:
        hits = [p for p in errors if p["rule"] in rules and (line is None or p["line"] == line)
                and (column is None or p["column"] == column) and message in p["message"]]
        assert hits, f"expected {rules} at {line}:{column} containing {message!r}; got " + json.dumps(errors)[:3000]
    code, out, err = cli(ws, "compile", MANIFEST, "--out", ws.out)
    assert code == 1, out + err
    assert files_of(ws.out) == before_out, "compile changed the destination"
    assert ws.snapshot() == before, "compile wrote beside the destination"
    return errors


def assert_measured_refusal(ws, raw: bytes, rules) -> None:
    """The same refusal in a process of its own: exit 1 within SECONDS and RSS_MB, a located rule."""
    ws.reset()
    ws.manifest.write_bytes(raw)
    run = run_measured(ws, "validate", MANIFEST, "--output", "json")
    assert run.code == 1, run.stderr[-3000:]
    assert run.seconds < SECONDS, f"took {run.seconds:.1f} s"
    assert run.max_rss_mb < RSS_MB, f"peak RSS {run.max_rss_mb:.0f} MB"
    problems = json.loads(run.stdout)["problems"]
    assert any(p["rule"] in rules and p["line"] >= 1 and p["column"] >= 1 for p in problems), problems
    assert len(run.stdout) < 64_000, "the report itself should stay short"
    run = run_measured(ws, "compile", MANIFEST, "--out", ws.out)
    assert run.code == 1 and not os.path.lexists(ws.out), run.stderr[-3000:]


# --- names that are paths -------------------------------------------------------------------

OPEN = "hole still open: "
HOSTILE_NAMES = [
    pytest.param("..", id="dotdot"),
    pytest.param(".", id="dot"),
    pytest.param("../escape", id="dotdot-slash"),
    pytest.param("a/../../b", id="inner-dotdot"),
    pytest.param("a/b", id="slash"),
    pytest.param("/etc", id="absolute"),
    pytest.param("/", id="root"),
    pytest.param("a\0b", id="nul"),
    pytest.param("C:\\x", id="drive-backslash"),
    pytest.param("C:foo", id="drive-relative"),
    pytest.param("\\\\server\\share", id="unc"),
    pytest.param("a\\b", id="backslash"),
    pytest.param("m\n", id="trailing-newline"),
    pytest.param("\nm", id="leading-newline"),
    pytest.param("", id="empty"),
]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_model_name_that_is_a_path_is_refused(workspace, name):
    assert_refused(workspace, manifest(name=q(name)), rules={"schema-name"}, line=3, column=3)


def test_model_name_longer_than_a_file_name_is_refused(workspace):
    assert_refused(workspace, manifest(name="m" * 300), rules={"schema-name"}, line=3, column=3)


@pytest.mark.parametrize("name", [".triton-gitops-compiled", ".triton-gitops-state.json", ".triton-gitops-lock.json"])
def test_model_name_of_the_tools_own_files_is_refused(workspace, name):
    assert_refused(workspace, manifest(name=name), rules={"schema-name"}, line=3, column=3)


HOSTILE_FILE_KEYS = [
    pytest.param("..", id="dotdot"),
    pytest.param(".", id="dot"),
    pytest.param("../x", id="dotdot-slash"),
    pytest.param("a/../../x", id="inner-dotdot"),
    pytest.param("/etc/passwd", id="absolute"),
    pytest.param("a\0b", id="nul"),
    pytest.param("C:\\x", id="drive-backslash"),
    pytest.param("C:foo", id="drive-relative"),
    pytest.param("a\\b", id="backslash"),
    pytest.param("a//b", id="empty-part"),
    pytest.param("./x", id="dot-part"),
    pytest.param("config.pbtxt", id="config"),
    pytest.param("warmup/x", id="warmup"),
    pytest.param("1/model.py", id="version-folder"),
    pytest.param("labels.txt\n", id="trailing-newline"),
]


@pytest.mark.parametrize("key", HOSTILE_FILE_KEYS)
def test_files_key_that_is_a_path_is_refused(workspace, key):
    text = manifest(extra=f"files: {{{q(key)}: src/labels.txt}}\n")
    assert_refused(workspace, text, rules={"file-name"}, line=9)


@pytest.mark.parametrize("name", ["../../../evil.py", "/tmp/evil.py", "a/../../../evil.py", "..", "a\\b", "a\0b",
                                  "a//b", "./model.py"])
def test_default_model_filename_cannot_leave_the_version_folder(workspace, name):
    text = manifest(source="src/m/1/model.py", extra=f"default_model_filename: {q(name)}\n")
    assert_refused(workspace, text, line=9)


# --- version numbers ------------------------------------------------------------------------



@pytest.mark.parametrize("number", [10**30, 2**63], ids=["10**30", "2**63"])
def test_version_number_beyond_int64_is_refused(workspace, number):
    text = manifest().replace("versions: {1:", f"versions: {{{number}:")
    assert_refused(workspace, text, rules={"version-number"}, line=8)


def test_largest_int64_version_number_compiles(workspace):
    text = manifest().replace("versions: {1:", f"versions: {{{2**63 - 1}:")
    workspace.reset()
    workspace.manifest.write_text(text)
    code, out, err = cli(workspace, "compile", MANIFEST, "--out", workspace.out)
    assert code == 0, out + err
    assert (workspace.out / "m" / str(2**63 - 1) / "model.py").is_file()


def test_version_keys_that_differ_by_a_newline_are_refused(workspace):
    text = manifest().replace("versions: {1: {source: src/m/1}}",
                              'versions: {1: {source: src/m/1}, "1\\n": {source: src/labels.txt}}')
    assert_refused(workspace, text, rules={"version-number"}, line=8)


# --- symlinks in a version's source folder --------------------------------------------------


def source_folder(ws, name: str) -> str:
    folder = ws.root / "linked" / name
    (folder / "sub").mkdir(parents=True, exist_ok=True)
    (folder / "model.py").write_text("# model\n")
    return f"linked/{name}"


SYMLINKS = {
    "file-outside": ("model2.py", "../../outside/secret.txt"),
    "absolute-file": ("passwd", "/etc/passwd"),
    "folder-outside": ("data", "../../outside"),
    "absolute-folder": ("etc", "/etc"),
    "parent": ("up", ".."),
    "nested-outside": ("sub/secret", "../../../outside/secret.txt"),
    "dangling-outside": ("gone", "../../outside/no-such-file"),
}


@pytest.mark.parametrize("case", sorted(SYMLINKS))
def test_symlink_leaving_the_source_folder_is_refused(workspace, case):
    link, target = SYMLINKS[case]
    source = source_folder(workspace, f"leak-{case}")
    os.symlink(target, workspace.root / source / link)
    errors = assert_refused(workspace, manifest(source=source), rules={"source-symlink-escape"}, line=8)
    assert any(link in e["message"] for e in errors), errors


def test_symlink_loop_in_the_source_folder_is_refused_quickly(workspace):
    source = source_folder(workspace, "loop")
    os.symlink(".", workspace.root / source / "self")
    os.symlink("..", workspace.root / source / "sub" / "parent")
    assert_refused(workspace, manifest(source=source), line=8)


def test_symlink_inside_the_source_folder_is_copied_as_a_file(workspace):
    source = source_folder(workspace, "inside")
    os.symlink("model.py", workspace.root / source / "alias.py")
    workspace.reset()
    workspace.manifest.write_text(manifest(source=source))
    code, out, err = cli(workspace, "compile", MANIFEST, "--out", workspace.out)
    assert code == 0, out + err
    copied = workspace.out / "m" / "1" / "alias.py"
    assert copied.is_file() and not copied.is_symlink()


# --- size and nesting -----------------------------------------------------------------------


def billion_laughs(levels: int = 10, width: int = 10) -> bytes:
    lines = ['lol0: &lol0 "lol"']
    for i in range(1, levels):
        lines.append(f"lol{i}: &lol{i} [" + ", ".join([f"*lol{i - 1}"] * width) + "]")
    lines.append(f"version: 1\nmodels: {{m: {{parameters: {{x: *lol{levels - 1}}}}}}}")
    return "\n".join(lines).encode() + b"\n"


def test_alias_bomb_is_refused_quickly_in_bounded_memory(workspace):
    assert_measured_refusal(workspace, billion_laughs(), {"yaml-alias-bomb"})
    assert_refused(workspace, billion_laughs(), rules={"yaml-alias-bomb"})


def test_merge_key_bomb_is_refused_quickly_in_bounded_memory(workspace):
    lines = ["a0: &a0 {k0: x, k1: x, k2: x, k3: x, k4: x, k5: x, k6: x, k7: x, k8: x, k9: x}"]
    for i in range(1, 9):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"{{<<: *a{i - 1}, n: {j}}}" for j in range(10)]) + "]")
    raw = ("\n".join(lines) + "\nversion: 1\nmodels: {}\n").encode()
    assert_measured_refusal(workspace, raw, {"yaml-alias-bomb", "yaml-size"})


def test_100_mb_manifest_is_refused_quickly_in_bounded_memory(workspace):
    workspace.reset()
    with open(workspace.manifest, "wb") as f:
        f.write(manifest().encode())
        f.write(b"# " + b"x" * (100 * 2**20) + b"\n")
    run = run_measured(workspace, "validate", MANIFEST, "--output", "json")
    assert run.code == 1, run.stderr[-2000:]
    assert run.seconds < SECONDS and run.max_rss_mb < RSS_MB, (run.seconds, run.max_rss_mb)
    (problem,) = json.loads(run.stdout)["problems"]
    assert (problem["rule"], problem["line"], problem["column"]) == ("yaml-size", 1, 1)
    assert "16,777,216" in problem["message"]
    assert run_measured(workspace, "compile", MANIFEST, "--out", workspace.out).code == 1
    assert not os.path.lexists(workspace.out)


def test_1_gb_manifest_is_refused_in_bounded_memory(workspace):
    workspace.reset()
    with open(workspace.manifest, "wb") as f:  # sparse: costs no disk
        f.write(manifest().encode() + b"#")
        f.truncate(2**30)
    run = run_measured(workspace, "validate", MANIFEST, "--output", "json")
    assert run.code == 1 and run.max_rss_mb < RSS_MB, (run.code, run.max_rss_mb, run.stderr[-2000:])
    assert json.loads(run.stdout)["problems"][0]["rule"] == "yaml-size"


def test_dims_list_of_a_million_entries_is_refused_quickly_in_bounded_memory(workspace):
    raw = manifest().replace("dims: [2]}]\n    output", "dims: [" + ",".join(["1"] * 10**6) + "]}]\n    output")
    assert_measured_refusal(workspace, raw.encode(), {"yaml-size"})


@pytest.mark.parametrize("shape", ["flow-open", "flow-closed", "flow-mappings", "block-sequences"])
def test_deep_nesting_is_refused_quickly(workspace, shape):
    n = 10**5
    body = {"flow-open": "[" * n, "flow-closed": "[" * n + "]" * n, "flow-mappings": "{a: " * n + "}" * n,
            "block-sequences": "- " * n + "x"}[shape]
    raw = f"version: 1\nmodels:\n  m:\n    parameters: {body}\n".encode()
    assert_measured_refusal(workspace, raw, {"yaml-depth", "yaml-syntax"})
    assert_refused(workspace, raw, rules={"yaml-depth", "yaml-syntax"}, line=4)


def test_deep_indentation_is_refused_quickly(workspace):
    raw = "version: 1\nmodels:\n" + "".join(" " * (i + 1) + f"k{i}:\n" for i in range(2000)) + " " * 2001 + "x\n"
    assert_refused(workspace, raw, rules={"yaml-depth"})


LONG = 15 * 2**20  # under the 16 MiB limit, on one line


@pytest.mark.parametrize("where", ["value", "enum", "name-value", "unknown-key"])
def test_very_long_single_line_is_refused_quickly_in_bounded_memory(workspace, where):
    x = "x" * LONG
    raw = {"value": manifest().replace("max_batch_size: 0", f"max_batch_size: {x}"),
           "enum": bad_enum(x),
           "name-value": manifest(extra=f"name: {x}\n"),
           "unknown-key": manifest(extra=f"? {x}\n: 1\n")}[where].encode()
    workspace.reset()
    workspace.manifest.write_bytes(raw)
    run = run_measured(workspace, "validate", MANIFEST, "--output", "json")
    assert run.code == 1, run.stderr[-2000:]
    assert run.seconds < SECONDS and run.max_rss_mb < RSS_MB, (run.seconds, run.max_rss_mb)
    problems = json.loads(run.stdout)["problems"]
    check_located(problems, raw)


@pytest.mark.parametrize("where", ["enum", "name-value", "unknown-key"])
def test_report_of_a_very_long_value_stays_short(workspace, where):
    x = "x" * 10**6
    text = {"enum": bad_enum(x),
            "name-value": manifest(extra=f"name: {x}\n"),
            "unknown-key": manifest(extra=f"? {x}\n: 1\n")}[where]
    workspace.reset()
    workspace.manifest.write_text(text)
    code, out, err = cli(workspace, "validate", MANIFEST)
    assert code == 1
    assert len(out) < 10_000, f"{len(out):,} characters of report"


def bad_enum(value: str) -> str:
    return manifest().replace("data_type: FP32, dims: [2]}]\n    out", f"data_type: F{value}, dims: [2]}}]\n    out")


# --- not a manifest -------------------------------------------------------------------------

NOT_A_MAPPING = {
    "list": "- version: 1\n- models: {}\n", "flow-list": "[1, 2]\n", "string": "just some text\n", "number": "42\n",
    "null": "null\n", "empty": "", "comment-only": "# nothing here\n", "bare-document": "---\n...\n",
    "models-list": "version: 1\nmodels: [a, b]\n", "models-string": "version: 1\nmodels: hello\n",
    "models-null": "version: 1\nmodels:\n", "model-not-mapping": "version: 1\nmodels: {m: 3}\n",
    "two-documents": "version: 1\nmodels: {}\n---\nversion: 1\nmodels: {}\n",
}


@pytest.mark.parametrize("case", sorted(NOT_A_MAPPING))
def test_manifest_that_is_not_a_mapping_of_models_is_refused(workspace, case):
    assert_refused(workspace, NOT_A_MAPPING[case])


# --- YAML features that are not data --------------------------------------------------------


@pytest.mark.parametrize("tag", ["!!python/object/apply:os.system", "!!python/name:os.system", "!!binary", "!custom",
                                 "!<tag:yaml.org,2002:python/object/apply:os.system>"])
def test_yaml_tags_are_refused_and_never_run(workspace, tag):
    text = manifest(extra=f"parameters: {{x: {tag} [\"touch pwned\"]}}\n")
    assert_refused(workspace, text, rules={"yaml-tag"}, line=9)
    assert not (workspace.root / "pwned").exists()


@pytest.mark.parametrize("literal", ["1" * 5000, "-" + "9" * 4301, "0x" + "f" * 4000, "0o" + "7" * 6000])
def test_huge_integer_literal_is_refused(workspace, literal):
    assert_refused(workspace, manifest(extra=f"max_batch_size: {literal}\n").replace("    max_batch_size: 0\n", ""),
                   rules={"yaml-number"}, line=8, column=21)


# --- values that reach the writers ----------------------------------------------------------



@pytest.mark.parametrize("value", [
    "1e300",
    "-3.5e38",
    pytest.param(str(10**99), id="10**99"),
])
def test_bf16_warmup_value_beyond_float_range_is_refused(workspace, value):
    text = manifest().replace("FP32", "BF16") + textwrap.indent(textwrap.dedent(f"""\
        model_warmup:
          - name: w
            batch_size: 1
            inputs: {{X: {{data_type: BF16, dims: [2], data: [1, {value}]}}}}
        """), "    ")
    assert_refused(workspace, text, rules={"warmup-data-type"}, line=12)


@pytest.mark.parametrize("field", ["version-source", "file-source", "warmup-file"])
def test_source_path_too_long_for_the_file_system_is_refused(workspace, field):
    long = "x" * 300
    text = {"version-source": manifest(source=long), "file-source": manifest(extra=f"files: {{a.txt: {long}}}\n"),
            "warmup-file": manifest(extra=f"""\
                model_warmup: [{{name: w, batch_size: 1, inputs: {{X: {{data_type: FP32, dims: [2], file: {long}}}}}}}]
                """)}[field]
    assert_refused(workspace, text, rules={"source-missing", "source-unreadable"})


def test_warmup_file_that_is_empty_is_refused(workspace):
    text = manifest(extra="""\
        model_warmup: [{name: w, batch_size: 1, inputs: {X: {data_type: FP32, dims: [2], file: ""}}}]
        """)
    assert_refused(workspace, text, line=9)




@pytest.mark.parametrize("field", [
    "proc-environ",
    "absolute-file",
    "parent-folder",
    "device",
    "device-version",
])
def test_source_outside_the_manifest_folder_is_refused(workspace, field):
    # CI runs in a git checkout: sources must stay in its work tree (outside git, a relative
    # path may go anywhere; absolute paths and system files are refused everywhere).
    if not (workspace.root / ".git").exists():
        subprocess.run(["git", "init", "-q", str(workspace.root)], check=True)
    elsewhere = workspace.root.parent / "elsewhere"
    (elsewhere / "1").mkdir(parents=True, exist_ok=True)
    (elsewhere / "1" / "model.py").write_text("# not in the manifest's folder\n")
    (elsewhere / "secret.txt").write_text("secret\n")
    text = {"proc-environ": manifest(extra="files: {env.txt: /proc/self/environ}\n"),
            "absolute-file": manifest(extra=f"files: {{s.txt: {elsewhere / 'secret.txt'}}}\n"),
            "parent-folder": manifest(source="../elsewhere/1"),
            "device": manifest(extra="files: {zero.bin: /dev/zero}\n"),
            "device-version": manifest(source="/dev/zero")}[field]
    assert_refused(workspace, text, line=8 if field in ("parent-folder", "device-version") else 9)


def test_files_key_longer_than_a_file_name_is_refused(workspace):
    assert_refused(workspace, manifest(extra=f"files: {{{'x' * 300}: src/labels.txt}}\n"), rules={"file-name"}, line=9)


def test_integer_map_key_that_is_not_a_number_is_refused(workspace):
    text = manifest(extra="dynamic_batching: {priority_queue_policy: {abc: {}}}\n")
    assert_refused(workspace, text, line=9)


@pytest.mark.parametrize("source", [".", "x/..", "build/.."])
def test_version_source_folder_containing_the_destination_is_refused(tmp_path, source):
    ws = Workspace(tmp_path / "ws")  # of its own: the shared one holds symlinks that refuse "." anyway
    ws.manifest.write_text(manifest(source=source))
    code, out, err = cli(ws, "compile", MANIFEST, "--out", "build/repo")  # inside the manifest's folder
    assert code == 1, out + err
    assert not os.path.lexists(ws.root / "build" / "repo")


# --- what reaches the terminal --------------------------------------------------------------


def control_characters(text: str) -> list:
    return sorted({hex(ord(c)) for c in text
                   if c != "\n" and (unicodedata.category(c) == "Cc" or c in "\u2028\u2029\u202e")})


@pytest.mark.parametrize("key", ["\x1bc", "\rforged", "x\n::error::forged",
                                 "\u202eevil", "\x9b31m"])
def test_control_characters_in_keys_never_reach_the_terminal(workspace, key):
    text = manifest(extra=f"parameters: {{{q(key)}: {{nope: 1}}}}\n")
    workspace.reset()
    workspace.manifest.write_text(text)
    code, out, err = cli(workspace, "validate", MANIFEST)
    assert code == 1
    assert control_characters(out + err) == []
    lines = out.splitlines()
    assert all(line.startswith((f"{MANIFEST}:", "    hint: ")) for line in lines), lines
