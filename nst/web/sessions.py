"""Browser sessions: each one's folder, its uploads and the files sent to it, its run's stop request, its cleanup.

Gradio keeps uploads and the files it sends in one cache shared by every session, named by a hash
of their content (with a secret seed, so a name cannot be guessed from bytes one does not have).
Two people who upload the same photo share one cached file: a session that ends removes only the
cached files that no other live session holds.
"""

import collections
import dataclasses
import pathlib
import shutil
import threading
import uuid

_REMEMBERED_ENDED_SESSIONS = 1000  # enough to recognise a late request from a closed tab; bounded, so memory is


@dataclasses.dataclass
class Session:
    """One browser tab's state on the server."""

    key: str  # Gradio's session hash
    folder: pathlib.Path  # uploads kept for runs, and the runs' folders
    uploads: set = dataclasses.field(default_factory=set)  # cache paths of files this tab uploaded
    sent_files: set = dataclasses.field(default_factory=set)  # cache paths of previews and downloads sent to it
    stop: object = None  # the nst.interrupts.StopRequest of its queued or running runs
    waiting: int = 0  # runs queued by Start that have not begun
    running: bool = False  # a run is between its start and its last write
    closed: bool = False  # the tab is gone; a run still finishing cleans up after itself

    @property
    def runs_folder(self):
        return self.folder / "runs"

    @property
    def uploads_folder(self):
        return self.folder / "uploads"


class SessionRegistry:
    """The live sessions of one server, each with a private folder under root; thread-safe.

    cache_folder is Gradio's cache: only files inside it are ever removed from it. on_cache_removed,
    when given, hears the cache paths removed (the page tells Gradio to forget them).
    """

    def __init__(self, root, cache_folder, on_cache_removed=None):
        self.root = pathlib.Path(root)
        self.cache_folder = pathlib.Path(cache_folder).resolve()
        self.on_cache_removed = on_cache_removed
        self._sessions = {}
        self._ended = collections.OrderedDict()
        self._lock = threading.Lock()

    def get(self, key):
        """The session of key, made on first use; None for a session that has ended (a closed tab's late request)."""
        with self._lock:
            session = self._sessions.get(key)
            if session is None and key not in self._ended:
                folder = self.root / uuid.uuid4().hex  # not the session hash: folder names reveal nothing
                folder.mkdir(parents=True)
                session = self._sessions[key] = Session(key, folder)
            return session

    def __len__(self):
        with self._lock:
            return len(self._sessions)

    def end(self, key):
        """The tab is gone: stops its run, removes its folder (once the run is done) and its cached files."""
        with self._lock:
            session = self._sessions.pop(key, None)
            self._ended[key] = True
            while len(self._ended) > _REMEMBERED_ENDED_SESSIONS:
                self._ended.popitem(last=False)
            if session is None:
                return None
            session.closed = True
            folder_free = not session.running
        if session.stop is not None:
            session.stop.request()
        if folder_free:
            shutil.rmtree(session.folder, ignore_errors=True)
        self._remove_cache_files(session.uploads | session.sent_files)
        return session

    def begin_run(self, session):
        """Marks session's run as started; False when the session has ended (its folder may be gone)."""
        with self._lock:
            if session.closed:
                return False
            session.running = True
            return True

    def run_finished(self, session):
        """A run of session has written its last file: a closed session's folder can go now."""
        with self._lock:
            session.running = False
            closed = session.closed
        if closed:
            shutil.rmtree(session.folder, ignore_errors=True)
            self._remove_cache_files(session.sent_files)

    def end_all(self):
        """Ends every session (the server is stopping)."""
        with self._lock:
            keys = list(self._sessions)
        for key in keys:
            self.end(key)

    def _remove_cache_files(self, paths):
        with self._lock:
            held = set().union(*(other.uploads | other.sent_files for other in self._sessions.values()))
        removed = []
        for path in set(paths) - held:
            resolved = pathlib.Path(path).resolve()
            if not resolved.is_relative_to(self.cache_folder) or resolved == self.cache_folder:
                continue  # never anything outside Gradio's cache
            try:
                resolved.unlink()
            except FileNotFoundError:
                pass
            except OSError:
                continue
            removed.append(str(path))
            if resolved.parent != self.cache_folder:
                try:
                    resolved.parent.rmdir()  # the content-hash folder Gradio made for it, once empty
                except OSError:
                    pass
        if removed and self.on_cache_removed:
            self.on_cache_removed(removed)
