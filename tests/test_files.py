"""Tests for nst.files: atomic writes and output folder checks."""

import json
import os
import stat

import pytest

from nst import files
from nst.files import (
    OutputError,
    atomic_path,
    atomic_write,
    prepare_output_directory,
    write_json_atomic,
    write_text_atomic,
)


class Boom(RuntimeError):
    """Raised by tests to simulate a failure in the middle of a write."""


def test_atomic_write_creates_file(tmp_path):
    target = tmp_path / "result.bin"
    with atomic_write(target) as handle:
        handle.write(b"\x00\x01payload")
    assert target.read_bytes() == b"\x00\x01payload"
    assert os.listdir(tmp_path) == ["result.bin"]


def test_atomic_write_replaces_existing_file(tmp_path):
    target = tmp_path / "result.txt"
    target.write_text("old")
    with atomic_write(target, "w") as handle:
        handle.write("new")
    assert target.read_text() == "new"


def test_atomic_write_failure_keeps_old_file_and_leaves_no_temp(tmp_path):
    target = tmp_path / "result.txt"
    target.write_text("old contents")
    with pytest.raises(Boom):
        with atomic_write(target, "w") as handle:
            handle.write("half of the new conte")
            raise Boom("disk on fire")
    assert target.read_text() == "old contents"
    assert os.listdir(tmp_path) == ["result.txt"]


def test_atomic_write_failure_without_old_file_creates_nothing(tmp_path):
    with pytest.raises(Boom):
        with atomic_write(tmp_path / "new.bin") as handle:
            handle.write(b"partial")
            raise Boom()
    assert os.listdir(tmp_path) == []


def test_atomic_write_failure_in_replace_removes_temp(tmp_path, monkeypatch):
    target = tmp_path / "result.txt"
    target.write_text("old")

    def failing_replace(source, destination):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(files.os, "replace", failing_replace)
    with pytest.raises(OSError):
        write_text_atomic(target, "new")
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["result.txt"]


def test_atomic_write_gives_ordinary_permissions(tmp_path):
    target = tmp_path / "result.bin"
    with atomic_write(target) as handle:
        handle.write(b"x")
    umask = os.umask(0o022)
    os.umask(umask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~umask


def test_atomic_path_replaces_the_file_with_the_umasks_permissions(tmp_path, umask_027):
    target = tmp_path / "clip.gif"
    target.write_text("old")
    with atomic_path(target) as temporary:
        assert temporary.parent == tmp_path and temporary.suffix == ".gif" and temporary != target
        temporary.write_text("new")
        assert target.read_text() == "old"
    assert target.read_text() == "new"
    assert stat.S_IMODE(target.stat().st_mode) == umask_027
    assert os.listdir(tmp_path) == ["clip.gif"]


def test_atomic_path_failure_keeps_the_old_file_and_leaves_no_temp(tmp_path):
    target = tmp_path / "model.keras"
    target.write_text("old")
    with pytest.raises(Boom):
        with atomic_path(target) as temporary:
            temporary.write_text("half")
            raise Boom()
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["model.keras"]


def test_atomic_write_rejects_unknown_mode(tmp_path):
    with pytest.raises(ValueError, match="mode"):
        with atomic_write(tmp_path / "x", "a"):
            pass
    assert os.listdir(tmp_path) == []


def test_write_text_atomic_uses_utf8(tmp_path):
    target = tmp_path / "note.txt"
    write_text_atomic(target, "café ×\n")
    assert target.read_bytes() == "café ×\n".encode("utf-8")


def test_write_json_atomic_format(tmp_path):
    target = tmp_path / "run.json"
    write_json_atomic(target, {"zeta": 1, "alpha": [1, 2], "name": "é"})
    text = target.read_text(encoding="utf-8")
    assert text == '{\n  "zeta": 1,\n  "alpha": [\n    1,\n    2\n  ],\n  "name": "é"\n}\n'
    assert json.loads(text) == {"zeta": 1, "alpha": [1, 2], "name": "é"}


def test_prepare_output_directory_creates_nested_folders(tmp_path):
    folder = tmp_path / "a" / "b" / "c"
    result = prepare_output_directory(str(folder))
    assert result == folder
    assert folder.is_dir()
    assert os.listdir(folder) == []  # The write test file is gone.


def test_prepare_output_directory_accepts_existing_folder(tmp_path):
    (tmp_path / "keep.txt").write_text("x")
    assert prepare_output_directory(tmp_path) == tmp_path
    assert os.listdir(tmp_path) == ["keep.txt"]


def test_prepare_output_directory_refuses_a_file(tmp_path):
    target = tmp_path / "out"
    target.write_text("not a folder")
    with pytest.raises(OutputError) as caught:
        prepare_output_directory(target)
    message = str(caught.value)
    assert message.startswith(f"{target}: ")
    assert "is a file" in message
    assert "\n" not in message


def test_prepare_output_directory_refuses_path_under_a_file(tmp_path):
    blocker = tmp_path / "somefile.txt"
    blocker.write_text("x")
    folder = blocker / "out"
    with pytest.raises(OutputError) as caught:
        prepare_output_directory(folder)
    message = str(caught.value)
    assert message.startswith(f"{folder}: ")
    assert "cannot create" in message
    assert str(blocker) in message


def test_prepare_output_directory_refuses_unwritable_folder(tmp_path, monkeypatch):
    # Tests run as root, which ignores permission bits; simulate the refusal.
    def refusing_temporary_file(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(files.tempfile, "NamedTemporaryFile", refusing_temporary_file)
    with pytest.raises(OutputError) as caught:
        prepare_output_directory(tmp_path / "out")
    message = str(caught.value)
    assert message.startswith(f"{tmp_path / 'out'}: ")
    assert "not writable" in message
    assert "Permission denied" in message


def test_output_error_is_a_value_error():
    error = OutputError("results", "folder is not writable")
    assert isinstance(error, ValueError)
    assert str(error) == "results: folder is not writable"
    assert error.folder == "results"
