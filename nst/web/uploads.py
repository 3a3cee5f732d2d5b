"""Files a browser uploaded: checked, decoded by nst.images' reader under the server's limits, kept in its session.

Gradio's file component never decodes what it receives, so every upload is decoded here, once,
by the project's own reader: its EXIF rotation, its refusal of truncated files, SVGs and
decompression bombs, with the server's pixel limit. Paths come from the browser, so one that is
not inside Gradio's upload folder is refused before anything is opened.
"""

import dataclasses
import hashlib
import pathlib
import shutil

from nst import errors
from nst import images

_EXPIRED = "the upload is gone (the page was open a long time, or the server restarted): upload it again"


@dataclasses.dataclass(frozen=True)
class UploadLimits:
    """The largest file (bytes) and image (pixels) the server reads."""

    max_bytes: int
    max_pixels: int


def shown_name(path):
    """The name the user knows the file by: Gradio keeps the uploaded file's own name in its cache path."""
    return pathlib.Path(str(path)).name


def read_upload(path, upload_folder, limits):
    """The uploaded image at path as an upright 8-bit RGB PIL image; ImageError naming the file as uploaded.

    Refuses a path outside upload_folder (a page cannot make the server read a file of its
    choosing), a file over limits.max_bytes, and anything nst.images.read_image refuses, with
    limits.max_pixels as its pixel limit.
    """
    name = shown_name(path)
    resolved = pathlib.Path(str(path)).resolve()
    if not resolved.is_relative_to(pathlib.Path(upload_folder).resolve()):
        raise errors.ImageError(name, "not a file uploaded to this page")
    try:
        size = resolved.stat().st_size
    except FileNotFoundError:
        raise errors.ImageError(name, _EXPIRED) from None
    if size > limits.max_bytes:
        raise errors.ImageError(name, f"the file is {_megabytes(size)}; this server reads files up to "
                                      f"{_megabytes(limits.max_bytes)}")
    try:
        return images.read_image(resolved, max_pixels=limits.max_pixels)
    except errors.ImageError as error:
        problem = _EXPIRED if error.problem == "no such file" else error.problem
        raise errors.ImageError(name, problem) from None


def keep_copy(path, folder):
    """Copies an upload into folder (a session's) under its own name; returns the copy's path.

    Two different files with one name get the second a short content hash in its name, so each
    run's run.json names (and hashes) the file that run read.
    """
    source = pathlib.Path(str(path))
    folder = pathlib.Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / source.name
    if target.exists() and _digest(target) != _digest(source):
        target = folder / f"{source.stem}-{_digest(source)[:8]}{source.suffix}"
    if not target.exists():
        shutil.copyfile(source, target)
    return target


def _digest(path):
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()


def _megabytes(size):
    return f"{size / (1024 * 1024):.1f} MB"
