"""Files written atomically, and output folders checked before a run starts."""

import contextlib
import json
import os
import pathlib
import tempfile
from nst import errors

# Binary for images, text (always UTF-8) for logs and JSON.
_WRITE_MODES = {"wb": None, "w": "utf-8", "wt": "utf-8"}


OutputError = errors.OutputError


@contextlib.contextmanager
def atomic_write(path, mode="wb"):
    """Yield a file whose contents replace `path` only if the block finishes.

    The data goes to a temporary file in the same folder (so the final
    os.replace is a rename within one file system, which is atomic). If the
    block raises, the temporary file is removed and any old file at `path`
    is left exactly as it was.
    """
    if mode not in _WRITE_MODES:
        raise ValueError(f"atomic_write mode must be one of {sorted(_WRITE_MODES)}, not {mode!r}")
    with atomic_path(path, suffix=".tmp") as temporary_path:
        with open(temporary_path, mode, encoding=_WRITE_MODES[mode]) as temporary:
            yield temporary


@contextlib.contextmanager
def atomic_path(path, suffix=None):
    """Yield a temporary path beside `path` that replaces `path` if the block finishes.

    For writers that take a file name rather than a file (Keras's model.save, imageio's
    video writers, which pick the format from the suffix: by default the temporary file has
    `path`'s). The result gets the permissions an ordinary open() would give; if the block
    raises, the temporary file is removed and any old file at `path` is left as it was.
    """
    target = pathlib.Path(path)
    descriptor, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.",
                                        suffix=target.suffix if suffix is None else suffix)
    os.close(descriptor)
    temporary_path = pathlib.Path(name)
    try:
        yield temporary_path
        # Without fsync a crash soon after the rename can leave an empty file.
        _sync_file(temporary_path)
        # mkstemp creates files readable only by their owner; give the result
        # the permissions an ordinary open() would have.
        os.chmod(temporary_path, 0o666 & ~_current_umask())
        os.replace(temporary_path, target)
    except BaseException:
        with contextlib.suppress(OSError):
            temporary_path.unlink()
        raise
    _sync_directory(target.parent)


def write_text_atomic(path, text):
    """Write `text` to `path` as UTF-8, atomically."""
    with atomic_write(path, "w") as handle:
        handle.write(text)


def write_json_atomic(path, obj):
    """Write `obj` to `path` as indented JSON with a trailing newline, atomically."""
    text = json.dumps(obj, indent=2, sort_keys=False, ensure_ascii=False)
    write_text_atomic(path, text + "\n")


def prepare_output_directory(path):
    """Create the folder `path` if needed, check it is writable, and return it as a Path.

    Raises OutputError if it is a file, cannot be created, or refuses a test
    file, so that a run fails at the start instead of after minutes of work.
    """
    folder = pathlib.Path(path)
    if folder.exists() and not folder.is_dir():
        raise OutputError(path, "is a file, not a folder")
    _create_directory(folder, path)
    _check_writable(folder, path)
    return folder


def _create_directory(folder, shown_path):
    """Create `folder` with its parents, turning OS errors into OutputError."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except (NotADirectoryError, FileExistsError):
        blocker = _first_file_ancestor(folder)
        where = f"{blocker} is a file" if blocker else "a part of the path is a file"
        raise OutputError(shown_path, f"cannot create the folder because {where}") from None
    except OSError as error:
        raise OutputError(shown_path, f"cannot create the folder ({_reason(error)})") from None


def _check_writable(folder, shown_path):
    """Create and remove a file in `folder`: permission bits miss read-only mounts and root."""
    try:
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".write-test-"):
            pass
    except OSError as error:
        raise OutputError(shown_path, f"folder is not writable ({_reason(error)})") from None


def _first_file_ancestor(folder):
    """Return the ancestor of `folder` that exists but is not a folder, or None."""
    for candidate in reversed((folder, *folder.parents)):
        if candidate.exists() and not candidate.is_dir():
            return candidate
    return None


def _reason(error):
    """Return the short OS text of an error, e.g. 'Permission denied'."""
    return error.strerror or str(error)


def _current_umask():
    """Return the process umask (it can only be read by setting it)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _sync_file(path):
    """Flush a file another library wrote and closed, so the rename cannot expose an empty file after a crash."""
    with open(path, "rb") as handle:
        os.fsync(handle.fileno())


def _sync_directory(folder):
    """Flush the rename to disk where the platform allows fsync on a folder."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass  # Some file systems (and Windows) do not support this; the rename still happened.
    finally:
        os.close(descriptor)
