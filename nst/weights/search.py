"""Finding ImageNet VGG19 weights: pretrained-model/, Keras's and torch.hub's caches, and their publishers' downloads."""

import os
import pathlib

from nst import config

from nst.weights import keras_h5
from nst.weights import layers as layers_module
from nst.weights import matconvnet
from nst.weights import torchvision

PRETRAINED_FOLDER_NAME = "pretrained-model"
# Where 'imagenet' looks first: this project's pretrained-model/, then pretrained-model/ under the
# folder the tool runs from (a relative path, so it follows the working folder at call time).
DEFAULT_SEARCH_DIRECTORIES = (
    config.PRETRAINED_DIR,
    pathlib.Path(PRETRAINED_FOLDER_NAME),
)
# 'imagenet' takes the first of these it finds in a folder: Keras's files first, as Keras ships them hash-checked.
# torchvision's files come last, the .safetensors first of the two: it needs neither PyTorch nor unpickling.
IMAGENET_FILENAMES = (
    keras_h5.KERAS_NOTOP_FILENAME, keras_h5.KERAS_FULL_FILENAME, matconvnet.MATCONVNET_FILENAME,
    torchvision.TORCHVISION_SAFETENSORS_FILENAME, torchvision.TORCHVISION_FILENAME,
)


def keras_cache_directory():
    """Keras's cache of application weights: $KERAS_HOME/models, or ~/.keras/models."""
    keras_home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return pathlib.Path(keras_home) / keras_h5.KERAS_CACHE_SUBDIR


def torch_hub_checkpoint_directory():
    """Where torch.hub keeps downloaded weights: $TORCH_HOME/hub/checkpoints, by default ~/.cache/torch/hub/checkpoints."""
    cache_home = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    torch_home = os.environ.get("TORCH_HOME") or os.path.join(cache_home, "torch")
    return pathlib.Path(torch_home) / "hub" / "checkpoints"


# The files each weights keyword accepts, in the order they are looked for in a search folder;
# 'imagenet' takes whichever comes first (Keras's and MatConvNet's files hold the same Caffe
# network; torchvision's is another, trained by the torchvision team).
WEIGHT_FAMILIES = {
    "imagenet": IMAGENET_FILENAMES,
    "keras": (keras_h5.KERAS_NOTOP_FILENAME, keras_h5.KERAS_FULL_FILENAME),
    "matconvnet": (matconvnet.MATCONVNET_FILENAME,),
    "torchvision": (torchvision.TORCHVISION_SAFETENSORS_FILENAME, torchvision.TORCHVISION_FILENAME),
}
_KERAS_CACHE_FILES = (keras_h5.KERAS_NOTOP_FILENAME, keras_h5.KERAS_FULL_FILENAME)
_TORCH_HUB_FILES = (torchvision.TORCHVISION_FILENAME,)


def find_imagenet_weights(search_directories=None, allow_download=True, family="imagenet"):
    """The path of ImageNet VGG19 weights of a family, found locally or downloaded; WeightsError if neither works.

    Looks in each search directory for the family's file names (WEIGHT_FAMILIES, in that order),
    then in Keras's cache (Keras's files) and torch.hub's (torchvision's), then, if allow_download,
    downloads with the publisher's own hash check: Keras's notop file through keras.utils.get_file,
    torchvision's through torch.hub. MatConvNet's file is not downloaded (about 510 MB; the
    Coursera materials ship it).
    """
    if search_directories is None:
        search_directories = DEFAULT_SEARCH_DIRECTORIES  # read now, so a test can replace it
    # Run from the project root, its pretrained-model/ and the working folder's are one folder: list it once.
    folders = list({pathlib.Path(folder).resolve(): pathlib.Path(folder) for folder in search_directories}.values())
    names = WEIGHT_FAMILIES[family]
    caches = []
    if set(names) & set(_KERAS_CACHE_FILES):
        caches.append((keras_cache_directory(), _KERAS_CACHE_FILES))
    if set(names) & set(_TORCH_HUB_FILES):
        caches.append((torch_hub_checkpoint_directory(), _TORCH_HUB_FILES))
    candidates = [folder / name for folder in folders for name in names]
    candidates += [folder / name for folder, cached_names in caches for name in cached_names]
    for candidate in candidates:
        if candidate.is_file():
            return str(candidate)
    looked_in = [*folders, *(folder for folder, _ in caches)]
    download = _download_keras_notop_weights if family in ("imagenet", "keras") else (
        _download_torchvision_weights if family == "torchvision" else None)
    if download is None:
        raise _weights_missing(family, looked_in, "MatConvNet's file is not downloaded by this tool")
    if not allow_download:
        raise _weights_missing(family, looked_in, "downloading is turned off")
    try:
        return download()
    except layers_module.WeightsError:
        raise
    except Exception as error:  # get_file raises plain Exception on a URL failure, ValueError on a bad hash
        detail = " ".join(str(error).split())[:200] or type(error).__name__
        raise _weights_missing(family, looked_in, f"the download failed: {detail}") from error


def _download_keras_notop_weights():
    """Keras's own download of its VGG19 notop file into its cache, hash-checked; returns the path."""
    import keras  # imported here: TensorFlow's start-up is slow and most calls never download

    return keras.utils.get_file(
        keras_h5.KERAS_NOTOP_FILENAME, keras_h5.KERAS_NOTOP_URL, cache_subdir=keras_h5.KERAS_CACHE_SUBDIR, file_hash=keras_h5.KERAS_NOTOP_MD5
    )


def _download_torchvision_weights():
    """torch.hub's download of torchvision's VGG19 file into its cache, checked against the hash in its name."""
    target = torch_hub_checkpoint_directory() / torchvision.TORCHVISION_FILENAME
    torch = torchvision.import_torch_for(str(target))
    target.parent.mkdir(parents=True, exist_ok=True)
    torch.hub.download_url_to_file(torchvision.TORCHVISION_URL, str(target), hash_prefix=torchvision.TORCHVISION_FILENAME.split("-")[1][:8])
    return str(target)


# Where each family's file comes from, for the message that says what to put where.
_FAMILY_SOURCES = {
    "keras": f"{keras_h5.KERAS_NOTOP_FILENAME} ({keras_h5.KERAS_NOTOP_URL})",
    "matconvnet": f"the Coursera/MatConvNet {matconvnet.MATCONVNET_FILENAME} ({matconvnet.MATCONVNET_PRETRAINED_PAGE})",
    "torchvision": f"torchvision's {torchvision.TORCHVISION_FILENAME} ({torchvision.TORCHVISION_URL})",
}


def _weights_missing(family, folders, reason):
    """The WeightsError when no file of the family is found: one line, and a hint saying what to put where."""
    looked_in = ", ".join(os.path.abspath(folder) for folder in folders)
    described = "ImageNet VGG19" if family == "imagenet" else f"{family} VGG19"
    files_to_get = (" or ".join(_FAMILY_SOURCES[name] for name in ("keras", "matconvnet"))
                    if family == "imagenet" else _FAMILY_SOURCES[family])
    return layers_module.WeightsError(
        f"no {described} weights found (looked in {looked_in}) and {reason}",
        hint=f"put {files_to_get} in {PRETRAINED_FOLDER_NAME}/, or try the pipeline with untrained weights: "
             "--weights random",
    )
