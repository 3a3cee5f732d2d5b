"""MatConvNet's imagenet-vgg-verydeep-19.mat (both published versions), the Coursera assignment's weights: reading it."""

import os

import numpy as np
import scipy.io

from nst import config
from nst.weights import conventions
from nst.weights import layers as layers_module

# The MatConvNet conversion of the same Caffe model, the file the Coursera assignment uses.
MATCONVNET_FILENAME = "imagenet-vgg-verydeep-19.mat"
MATCONVNET_PRETRAINED_PAGE = "https://www.vlfeat.org/matconvnet/pretrained/"
# Two versions were published under that name. The reader reads struct fields by name, so it
# does not depend on which one it gets; the hashes are here to tell a user which one they have.
# Older: top-level 'normalization'; layer fields weights, pad, type, name, stride.
MATCONVNET_OLD_MD5 = "8ee3263992981a1d26e73b3ca028a123"
# Newer: top-level 'meta' (normalization, classes); layer fields name, type, weights, size, pad, ….
MATCONVNET_NEW_MD5 = "106118b7cf60435e6d8e04f6a6dc3657"

# MatConvNet's kernels are stored [height, width, in, out], TensorFlow's order, and are read as stored.
# Its Caffe importer (utils/import-caffe.py) reverses Caffe's [out, in, height, width] blobs, which gives
# [width, height, in, out], and then, with its --transpose option (on by default, "Transpose CNN in a
# sane MATLAB format"), swaps the spatial axes back; the MatConvNet manual writes filters as
# H'×W'×D×D''. The Coursera assignment's load_vgg_model and the TensorFlow code it derives from use
# the arrays as stored. (vl_nnconv's help text says "FW x FH x FC x K", which misled anishathalye/neural-style
# into a transpose; a user who measured the file's ImageNet accuracy found the stored order right,
# anishathalye/neural-style#180.)


def read_matconvnet_mat(path):
    """Reads the conv1_1 … conv5_4 layers of a MatConvNet SimpleNN .mat; RGB input, mean from the file.

    Struct fields are read by name: the two published versions of
    imagenet-vgg-verydeep-19.mat store them in different orders.
    """
    path = os.fspath(path)
    with layers_module.reported_as_weights_error(path, "MATLAB .mat file"):
        # 'classes' (the 1000 ImageNet labels) is not needed, so it is not read.
        contents = scipy.io.loadmat(
            path, struct_as_record=True, squeeze_me=False, variable_names=("layers", "normalization", "meta")
        )
        if "layers" not in contents:
            raise layers_module.WeightsError(f"{path}: a .mat file without a 'layers' variable, so not a MatConvNet model")
        layers = _matconvnet_conv_layers(path, contents["layers"])
        mean_rgb = _matconvnet_mean_rgb(path, contents)
    return layers_module.LoadedWeights(
        layers=layers,
        convention=conventions.InputConvention(channel_order="rgb", mean=mean_rgb),
        source=f"MatConvNet VGG19 weights ({path})",
        path=path,
    )


def _unwrap_cell(value):
    """The content of a 1×1 MATLAB cell (or of scipy's 1×1 object array around a struct field)."""
    while isinstance(value, np.ndarray) and value.dtype == object and value.size == 1:
        value = value.reshape(-1)[0]
    return value


def _mat_field(struct, field):
    """The value of a 1×1 MATLAB struct's field, found by name; None if the struct has no such field."""
    struct = _unwrap_cell(struct)
    names = getattr(getattr(struct, "dtype", None), "names", None)
    if not names or field not in names:
        return None
    if isinstance(struct, np.ndarray):
        if struct.size != 1:
            return None
        struct = struct.reshape(-1)[0]
    return _unwrap_cell(struct[field])


def _mat_text(value):
    """A MATLAB char array as a Python string ('' if it is not text)."""
    value = _unwrap_cell(value)
    if isinstance(value, str):
        return value
    if isinstance(value, np.ndarray) and value.dtype.kind == "U":
        return "".join(value.reshape(-1).tolist())
    return ""


def _matconvnet_conv_layers(path, layers):
    """Keras layer name -> (kernel, bias) for the VGG19 convolutions among a MatConvNet model's layers.

    fc6–fc8 are 'conv' layers in MatConvNet too; they are skipped by name.
    """
    conv_layers = {}
    # 'layers' is a cell array of structs; a struct array would also do.
    for struct in np.asarray(layers).reshape(-1):
        file_layer_name = _mat_text(_mat_field(struct, "name"))
        if _mat_text(_mat_field(struct, "type")) != "conv" or file_layer_name not in config.VGG19_LAYER_NAMES:
            continue
        layer_name = config.keras_layer_name(file_layer_name)
        if layer_name in conv_layers:
            raise layers_module.WeightsError(f"{path}: layer {file_layer_name} appears twice")
        kernel, bias = _matconvnet_kernel_and_bias(path, struct, file_layer_name)
        conv_layers[layer_name] = layers_module.checked_layer(
            path, layer_name, kernel, bias, file_layer_name
        )
    if not conv_layers:
        raise layers_module.WeightsError(f"{path}: no VGG19 convolution layers (conv1_1 … conv5_4) in this MatConvNet model")
    return conv_layers


def _matconvnet_kernel_and_bias(path, struct, file_layer_name):
    """The {kernel, bias} pair of a conv layer as float32 arrays, kernel still in the file's axis order."""
    weights = _mat_field(struct, "weights")
    if weights is not None:
        pair = list(np.asarray(weights, dtype=object).reshape(-1))
    else:  # MatConvNet betas before 1.0-beta13 kept them in separate fields
        pair = [_mat_field(struct, "filters"), _mat_field(struct, "biases")]
    if len(pair) != 2 or any(array is None for array in pair):
        raise layers_module.WeightsError(f"{path}: layer {file_layer_name} has no {{kernel, bias}} weights")
    kernel, bias = (np.asarray(array, dtype=np.float32) for array in pair)
    if kernel.ndim != 4:
        raise layers_module.WeightsError(f"{path}: layer {file_layer_name} has a kernel of shape {kernel.shape}, not 4-D")
    return kernel, bias


def _matconvnet_mean_rgb(path, contents):
    """The mean pixel (R, G, B) of the file's normalization.averageImage.

    The older file keeps 'normalization' at the top level, the newer one inside 'meta';
    averageImage is a full H×W×3 image in one and a 1×1×3 pixel in the other, so it
    is averaged over every position either way.
    """
    normalization = contents.get("normalization")
    if normalization is None:
        normalization = _mat_field(contents.get("meta"), "normalization")
    average_image = _mat_field(normalization, "averageImage")
    if average_image is None:
        raise layers_module.WeightsError(f"{path}: no normalization.averageImage, the mean pixel the network expects")
    pixels = np.asarray(average_image, dtype=np.float64)
    if pixels.size == 3:
        pixels = pixels.reshape(1, 3)
    if pixels.size == 0 or pixels.shape[-1] != 3:
        raise layers_module.WeightsError(f"{path}: normalization.averageImage has shape {pixels.shape}, not …×3")
    mean = pixels.reshape(-1, 3).mean(axis=0)
    # Both published files hold the Caffe mean pixel in single precision; the Coursera assignment
    # subtracts the constants themselves, and so does Keras for its file of the same network.
    if np.allclose(mean, conventions.CAFFE_CONVENTION.mean, rtol=0, atol=1e-4):
        return conventions.CAFFE_CONVENTION.mean
    return tuple(float(value) for value in mean)
