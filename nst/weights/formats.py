"""Which reader a weights file needs, told by its first bytes, whatever its name."""

import os

from nst.weights import keras_h5
from nst.weights import layers as layers_module
from nst.weights import matconvnet
from nst.weights import torchvision

# A file's first bytes say what it is, whatever its name.
_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
_MATLAB5_SIGNATURE = b"MATLAB 5.0 MAT-file"
_MATLAB73_SIGNATURE = b"MATLAB 7.3 MAT-file"  # HDF5 inside, after a 512-byte text header


def read_weights_file(path):
    """Reads a VGG19 weights file (.h5, .mat, .pth or .safetensors), its format told by its first bytes."""
    path = os.fspath(path)
    header = _read_header(path)
    if header.startswith(_HDF5_SIGNATURE):
        return keras_h5.read_keras_h5(path)
    if header.startswith(_MATLAB5_SIGNATURE):
        return matconvnet.read_matconvnet_mat(path)
    if header.startswith(_MATLAB73_SIGNATURE):
        raise layers_module.WeightsError(
            f"{path}: a MATLAB v7.3 .mat file, which this tool cannot read; "
            f"re-save it in MATLAB with save(..., '-v7') or use the published {matconvnet.MATCONVNET_FILENAME}"
        )
    if header.startswith(torchvision.ZIP_SIGNATURE) or torchvision.looks_like_pickle(header):
        return torchvision.read_torchvision_pth(path)
    if torchvision.looks_like_safetensors(path, header):
        return torchvision.read_safetensors(path)
    raise layers_module.WeightsError(
        f"{path}: not a VGG19 weights file this tool can read "
        "(expected a Keras .h5, a MatConvNet .mat, a torchvision .pth or a .safetensors)"
    )



def _read_header(path):
    """The first bytes of a weights file; WeightsError for a missing, empty or unreadable one."""
    if not os.path.exists(path):
        raise layers_module.WeightsError(f"{path}: no such file")
    if os.path.isdir(path):
        raise layers_module.WeightsError(f"{path}: is a folder, not a weights file")
    try:
        with open(path, "rb") as weights_file:
            header = weights_file.read(len(_MATLAB73_SIGNATURE))
    except OSError as error:
        raise layers_module.WeightsError(f"{path}: cannot be read ({error.strerror or error})") from error
    if not header:
        raise layers_module.WeightsError(f"{path}: the file is empty")
    return header
