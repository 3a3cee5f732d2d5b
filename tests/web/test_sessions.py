"""nst.web.sessions: each tab has its own folder; an ended tab's run is stopped, its files removed, shared ones kept."""

import pytest

from nst import interrupts
from nst.web import sessions


@pytest.fixture
def cache(tmp_path):
    folder = tmp_path / "gradio-cache"
    folder.mkdir()
    return folder


def cached(cache, digest, name="photo.png"):
    path = cache / digest / name
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(b"bytes")
    return str(path)


def test_each_session_gets_its_own_folder_and_keeps_it(tmp_path, cache):
    registry = sessions.SessionRegistry(tmp_path / "sessions", cache)
    first, second = registry.get("session-key-a"), registry.get("session-key-b")
    assert first.folder != second.folder and first.folder.is_dir() and second.folder.is_dir()
    assert registry.get("session-key-a") is first and len(registry) == 2
    assert "session-key" not in first.folder.name  # folder names do not reveal session keys


def test_an_ended_session_is_gone_with_its_folder_and_its_own_cached_files(tmp_path, cache):
    removed = []
    registry = sessions.SessionRegistry(tmp_path / "sessions", cache, removed.extend)
    leaving, staying = registry.get("a"), registry.get("b")
    shared, own, sent = cached(cache, "1111"), cached(cache, "2222"), cached(cache, "3333", "preview.png")
    leaving.uploads |= {shared, own}
    leaving.sent_files.add(sent)
    staying.uploads.add(shared)  # the same bytes uploaded by both: one cached file
    registry.end("a")
    assert not leaving.folder.exists() and leaving.closed
    assert sorted(removed) == sorted([own, sent]) and not (cache / "2222").exists() and not (cache / "3333").exists()
    assert (cache / "1111" / "photo.png").exists()
    assert registry.get("a") is None  # a late request of the closed tab makes no new session
    registry.end("b")
    assert not (cache / "1111").exists() and cache.is_dir()


def test_files_outside_the_cache_are_never_removed(tmp_path, cache):
    registry = sessions.SessionRegistry(tmp_path / "sessions", cache)
    outside = tmp_path / "precious.png"
    outside.write_bytes(b"keep")
    session = registry.get("a")
    session.uploads |= {str(outside), str(cache / ".." / "precious.png"), str(cache)}
    registry.end("a")
    assert outside.read_bytes() == b"keep" and cache.is_dir()


def test_ending_a_running_session_stops_its_run_and_leaves_the_folder_to_the_run(tmp_path, cache):
    registry = sessions.SessionRegistry(tmp_path / "sessions", cache)
    session = registry.get("a")
    session.stop = interrupts.StopRequest()
    assert registry.begin_run(session)
    registry.end("a")
    assert session.stop.requested() and session.folder.is_dir()  # the run is still writing its last files
    registry.run_finished(session)
    assert not session.folder.exists()
    assert not registry.begin_run(session)  # an ended session starts nothing


def test_the_registry_forgets_old_ended_sessions(tmp_path, cache, monkeypatch):
    monkeypatch.setattr(sessions, "_REMEMBERED_ENDED_SESSIONS", 3)
    registry = sessions.SessionRegistry(tmp_path / "sessions", cache)
    for key in "abcde":
        registry.get(key)
        registry.end(key)
    assert registry.get("e") is None and registry.get("a") is not None  # bounded: the oldest is forgotten


def test_end_all_ends_every_session(tmp_path, cache):
    registry = sessions.SessionRegistry(tmp_path / "sessions", cache)
    folders = [registry.get(key).folder for key in "abc"]
    registry.end_all()
    assert len(registry) == 0 and not any(folder.exists() for folder in folders)
