"""Keras's VGG19 weights files (.h5, the legacy layout of keras-applications): reading them."""

import os

import h5py
import numpy as np

from nst.weights import conventions
from nst.weights import layers as layers_module

# Keras's own ImageNet files (converted from the VGG team's Caffe model) and where Keras downloads them.
KERAS_NOTOP_FILENAME = "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5"
# The same convolutions plus the classifier (fc1, fc2, predictions), which this tool ignores.
KERAS_FULL_FILENAME = "vgg19_weights_tf_dim_ordering_tf_kernels.h5"
KERAS_WEIGHTS_BASE_URL = "https://storage.googleapis.com/tensorflow/keras-applications/vgg19/"
KERAS_NOTOP_URL = KERAS_WEIGHTS_BASE_URL + KERAS_NOTOP_FILENAME
KERAS_FULL_URL = KERAS_WEIGHTS_BASE_URL + KERAS_FULL_FILENAME
KERAS_NOTOP_MD5 = "253f8cb515780f3b799900260a226db6"  # the hash keras.applications.VGG19 checks
KERAS_FULL_MD5 = "cbe5617147190e668d6c5d5026f83318"
KERAS_CACHE_SUBDIR = "models"  # Keras caches application weights in <KERAS_HOME or ~/.keras>/models


def read_keras_h5(path):
    """Reads the block*_conv* layers of a Keras weights .h5 (legacy layout); BGR caffe input convention.

    The layout: a root attribute 'layer_names'; one group per layer whose attribute
    'weight_names' lists its datasets, kernel (already [height, width, in, out]) then bias.
    A whole-model .h5 keeps the same layout under 'model_weights'.
    """
    path = os.fspath(path)
    with layers_module.reported_as_weights_error(path, "Keras .h5 weights file"):
        with h5py.File(path, "r") as h5_file:
            layers = _keras_conv_layers(path, _keras_weights_group(path, h5_file))
    return layers_module.LoadedWeights(
        layers=layers,
        convention=conventions.CAFFE_CONVENTION,
        source=f"Keras VGG19 weights ({path})",
        path=path,
    )


def _keras_weights_group(path, h5_file):
    """The group whose attributes list the layers: the root of a weights file, 'model_weights' of a model file."""
    for group in (h5_file, h5_file.get("model_weights")):
        if group is not None and _h5_string_list(group.attrs, "layer_names"):
            return group
    raise layers_module.WeightsError(f"{path}: an HDF5 file without Keras's 'layer_names' attribute, so not Keras weights")


def _h5_string_list(attributes, name):
    """A list-of-strings attribute as Keras writes it: whole, or split into name0, name1, … when large."""
    if name in attributes:
        chunks = [attributes[name]]
    else:
        chunks = []
        while f"{name}{len(chunks)}" in attributes:
            chunks.append(attributes[f"{name}{len(chunks)}"])
    return [
        item.decode("utf8") if isinstance(item, bytes) else str(item)
        for chunk in chunks
        for item in np.asarray(chunk).reshape(-1)
    ]


def _keras_conv_layers(path, group):
    """Keras layer name -> (kernel, bias) for every VGG19 convolution listed in group; other layers are skipped."""
    layers = {}
    for layer_name in _h5_string_list(group.attrs, "layer_names"):
        if layer_name in layers_module.VGG19_KERNEL_SHAPES:
            layers[layer_name] = _keras_layer_weights(path, group, layer_name)
    if not layers:
        raise layers_module.WeightsError(
            f"{path}: no VGG19 convolution layers (block1_conv1 … block5_conv4) in this Keras file"
        )
    return layers


def _keras_layer_weights(path, group, layer_name):
    """(kernel, bias) of one layer, read through the names its 'weight_names' attribute lists."""
    if layer_name not in group:
        raise layers_module.WeightsError(f"{path}: layer {layer_name} is listed but its weights are missing")
    layer_group = group[layer_name]
    # The names differ between Keras versions ('block1_conv1_W_1:0' in Keras's own VGG19 files,
    # 'block1_conv1/kernel:0' from Keras 2), so the attribute is followed rather than guessed.
    weight_names = _h5_string_list(layer_group.attrs, "weight_names")
    if len(weight_names) != 2:
        raise layers_module.WeightsError(
            f"{path}: layer {layer_name} has {len(weight_names)} weight arrays; a convolution has 2 (kernel, bias)"
        )
    kernel, bias = (np.asarray(layer_group[name]) for name in weight_names)
    return layers_module.checked_layer(path, layer_name, kernel, bias)
