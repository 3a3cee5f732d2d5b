"""The page's feed-forward tab: the trained and exported networks in the server's models folder, and stylising uploads.

Only the folder the server was started with is listed, and a page names a network by its place
in that listing, never by a path: the page cannot make the server load a network (which could run
code from a SavedModel) from anywhere else, and nothing uploaded is ever loaded as a network.
"""

import os
import pathlib
import threading

from nst import errors
from nst import images
from nst.fast import outputs as fast_outputs
from nst.fast import stylize as fast_stylize
from nst.web import uploads

_MAX_DEPTH = 4  # models/<style>/export/run_2/saved_model: deep enough for what fast_main.py writes
_SKIPPED_FOLDERS = ("checkpoints",)  # training checkpoints are not networks one can run


def _model_kind(path):
    """'training folder', 'SavedModel', 'Keras file' or 'TFLite file' for a network fast_main.py wrote, else None."""
    if path.is_dir():
        if (path / fast_stylize.SAVED_MODEL_FILENAME).is_file():
            return "SavedModel"
        if fast_outputs.model_path(path).is_file():
            return "training folder"
        return None
    suffix = path.suffix.lower()
    if suffix == fast_stylize.TFLITE_SUFFIX:
        return "TFLite file"
    if suffix == ".keras":
        return "Keras file"
    return None


def list_models(models_dir):
    """{name: path} of every network under models_dir (names are paths relative to it, with /), sorted.

    A training folder is listed as itself (its transform_net.keras) and its exports below it;
    checkpoints and hidden folders are skipped. A missing folder lists nothing.
    """
    root = pathlib.Path(models_dir)
    if not root.is_dir():
        return {}
    found = {}
    for folder, subfolders, file_names in os.walk(root):
        folder = pathlib.Path(folder)
        depth = len(folder.relative_to(root).parts)
        subfolders[:] = sorted(name for name in subfolders if not name.startswith(".")
                               and name not in _SKIPPED_FOLDERS and depth < _MAX_DEPTH)
        kind = _model_kind(folder) if folder != root else None
        if kind == "SavedModel":
            subfolders[:] = []  # its variables/ and assets/ are parts of it
        if kind is not None:
            found[folder.relative_to(root).as_posix()] = folder
        for name in file_names:
            path = folder / name
            if name != fast_outputs.MODEL_FILENAME and not name.startswith(".") and _model_kind(path):
                found[path.relative_to(root).as_posix()] = path
    return dict(sorted(found.items()))


class FeedForwardTab:
    """Stylises uploads with a network from the models folder; keeps the last network loaded (loading takes seconds)."""

    def __init__(self, models_dir, upload_folder, limits):
        self.models_dir = pathlib.Path(models_dir)
        self.upload_folder = upload_folder
        self.limits = limits
        self._lock = threading.Lock()
        self._loaded_key = None
        self._stylizer = None

    def model_names(self):
        return list(list_models(self.models_dir))

    def _stylizer_for(self, name):
        models = list_models(self.models_dir)
        if name not in models:
            raise errors.ConfigError(f"no network {name!r} in the models folder: pick one from the list "
                                     "(Refresh shows networks added since the page opened)")
        path = models[name]
        key = (str(path), _modified(path))
        if key != self._loaded_key:
            from nst.fast import api as fast_api

            self._loaded_key, self._stylizer = None, None
            self._stylizer = fast_api.FastStylizer(path)
            self._loaded_key = key
        return self._stylizer

    def stylize(self, name, upload_paths, max_size, output_folder):
        """Stylises each uploaded picture with the network name; returns the PNG paths written into output_folder.

        Raises an NSTError naming the network or the picture that could not be used.
        """
        if not upload_paths:
            raise errors.ConfigError("upload one or more pictures to stylise")
        pictures = [(uploads.shown_name(path), uploads.read_upload(path, self.upload_folder, self.limits))
                    for path in upload_paths]
        output_folder = pathlib.Path(output_folder)
        output_folder.mkdir(parents=True, exist_ok=True)
        written = []
        with self._lock:
            stylizer = self._stylizer_for(name)
            for shown, picture in pictures:
                try:
                    result = stylizer(picture, max_size=int(max_size or 0))
                except errors.NSTError as error:
                    raise errors.StylizeError(shown, str(error)) from None
                target = _free_path(output_folder / f"{pathlib.Path(shown).stem}.png")
                images.save_image(result, target)
                written.append(target)
        return written


def _modified(path):
    """The newest modification time of a network's file or folder's top level (a re-export gives a new one)."""
    path = pathlib.Path(path)
    if path.is_dir():
        return max((child.stat().st_mtime_ns for child in path.iterdir()), default=path.stat().st_mtime_ns)
    return path.stat().st_mtime_ns


def _free_path(path):
    """path, or path with _2, _3, … before its suffix when it exists (two uploads with one name)."""
    candidate, number = path, 2
    while candidate.exists():
        candidate = path.with_name(f"{path.stem}_{number}{path.suffix}")
        number += 1
    return candidate

