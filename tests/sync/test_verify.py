"""What arrived is read back before any config names it: a file whose bytes are not the ones
sent is sent again, whether a few files are looked at one by one or many with a listing."""
from __future__ import annotations

import hashlib

import pytest

import compiler.sync.apply as apply_mod
from compiler.sync.apply import LOOK_ONE_BY_ONE
from compiler.sync.transfer import Sent
from tests.sync.conftest import echo_model

pytestmark = pytest.mark.emulators


def _garble_first_upload_of(monkeypatch, victims):
    """The first upload of each path in `victims` stores other bytes of the same size, as if
    something rewrote the object right after us; the sync is told all went well."""
    real, hit = apply_mod.send, set()

    def send(fs, want, dest, method="upload", origin=None, part_jobs=4):
        if want.path in victims and want.path not in hit:
            hit.add(want.path)
            data = want.entry.data if want.entry.data is not None else want.entry.source.read_bytes()
            fs.pipe_file(dest, bytes(b ^ 0x5A for b in data))
            return Sent(want.size, hashlib.md5(data).hexdigest())
        return real(fs, want, dest, method, origin, part_jobs)
    monkeypatch.setattr(apply_mod, "send", send)
    return hit


@pytest.mark.parametrize("many", [False, True], ids=["one-by-one", "listing"])
def test_bytes_that_do_not_read_back_are_sent_again(project, backend, monkeypatch, many):
    if backend.name == "local":
        pytest.skip("a local target renames into place what it wrote itself")
    victims = {"text_classifier/2/model.py"}
    if not many:  # one changed file: looked at by itself
        assert project.cli("sync")[0] == 0
        source = project.folder / "examples" / "text_classifier" / "2" / "model.py"
        source.write_text(source.read_text() + "# changed\n")
    else:  # enough new files that a listing is the cheaper check
        for i in range(LOOK_ONE_BY_ONE + 1):
            project.models[f"echo{i}"] = echo_model()
        project.save()
        victims.add("echo3/1/model.py")
    hit = _garble_first_upload_of(monkeypatch, victims)
    code, out, err = project.cli("sync")
    assert code == 0, err
    assert hit == victims
    for path in victims:
        assert f"{path} did not read back as sent; sending it again" in err
    assert backend.files() == project.expected()
    code, result, _ = project.json("sync")
    assert code == 0 and result["sent_files"] == 0
