"""Small VGG19 weight files written at test time, in the exact layouts of the published files.

Nothing here is downloaded: random kernels with VGG19's real shapes are written as a Keras
weights .h5 (the legacy layout of Keras's own vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5),
as MatConvNet's imagenet-vgg-verydeep-19.mat (both published versions) and as torchvision's
vgg19-dcbb9e9d.pth state dict (torch.save, zip or legacy) and its .safetensors twin. All sixteen
layers take about 80 MB, so most tests write only the first few (layer_count).
"""

import h5py
import numpy as np
import pytest
import safetensors.numpy
import scipy.io

VGG19_BLOCK_SIZES = (2, 2, 4, 4, 4)
VGG19_BLOCK_CHANNELS = (64, 128, 256, 512, 512)
CAFFE_MEAN_RGB = (123.68, 116.779, 103.939)


def vgg19_layer_plan():
    """[(block, index, in_channels, out_channels)] for the sixteen convolutions, in network order."""
    plan = []
    in_channels = 3
    for block, (size, out_channels) in enumerate(zip(VGG19_BLOCK_SIZES, VGG19_BLOCK_CHANNELS), start=1):
        for index in range(1, size + 1):
            plan.append((block, index, in_channels, out_channels))
            in_channels = out_channels
    return plan


def random_vgg19_layers(seed, layer_count=16, width_divisor=1):
    """Keras name -> (kernel [3, 3, in, out] float32, bias [out] float32) for the first layer_count convolutions.

    Biases are random too, so a reader that dropped or reshaped them wrongly would be caught.
    width_divisor > 1 divides every channel count except the image's three: such layers are
    not VGG19's and only serve tests of shape checks or code that never reads files.
    """
    generator = np.random.default_rng(seed)
    layers = {}
    for block, index, in_channels, out_channels in vgg19_layer_plan()[:layer_count]:
        if width_divisor > 1:
            in_channels = in_channels if in_channels == 3 else in_channels // width_divisor
            out_channels //= width_divisor
        kernel_shape = (3, 3, in_channels, out_channels)
        kernel = generator.standard_normal(kernel_shape, dtype=np.float32) * np.float32(0.05)
        bias = generator.standard_normal(out_channels, dtype=np.float32)
        layers[f"block{block}_conv{index}"] = (kernel, bias)
    return layers


def trained_like_vgg19_layers(seed, layer_count=16):
    """Keras name -> (kernel, bias) scaled as a trained VGG19's are: He-normal kernels, biases near 0.

    For the reproduction tests, which follow optimisations for several iterations: with
    random_vgg19_layers' large biases many activations sit near a ReLU's kink, and a fixed-step
    L-BFGS then amplifies rounding so fast that the original system itself, started 1e-7 away,
    ends 1e-2 apart after 15 iterations (measured with the PyTorch tutorial's loop).
    """
    generator = np.random.default_rng(seed)
    layers = {}
    for block, index, in_channels, out_channels in vgg19_layer_plan()[:layer_count]:
        kernel = generator.standard_normal((3, 3, in_channels, out_channels), dtype=np.float32)
        kernel *= np.float32(np.sqrt(2.0 / (9 * in_channels)))
        bias = generator.standard_normal(out_channels, dtype=np.float32) * np.float32(0.01)
        layers[f"block{block}_conv{index}"] = (kernel, bias)
    return layers


def matconvnet_kernel_from_caffe(blob, first_layer=False):
    """The array MatConvNet's utils/import-caffe.py stores for a Caffe filter blob [out, in, height, width].

    It reverses every axis ([width, height, in, out]), then, with its default --transpose,
    swaps the spatial axes back ([height, width, in, out]) and turns the first layer's BGR
    input channels into RGB.
    """
    kernel = np.asarray(blob).transpose().transpose(1, 0, 2, 3)
    return np.ascontiguousarray(kernel[:, :, ::-1, :] if first_layer else kernel)


def keras_kernel_from_caffe(blob):
    """The array Keras's VGG19 files hold for a Caffe filter blob: [height, width, in, out], input still BGR."""
    return np.ascontiguousarray(np.asarray(blob).transpose(2, 3, 1, 0))


def reverse_first_layer_channels(layers):
    """A copy of layers with block1_conv1's input channels reversed: BGR-input weights become RGB-input ones.

    This is how MatConvNet's importer turned the Caffe model (BGR, as in Keras's file) into
    imagenet-vgg-verydeep-19.mat (RGB).
    """
    converted = dict(layers)
    kernel, bias = layers["block1_conv1"]
    converted["block1_conv1"] = (np.ascontiguousarray(kernel[:, :, ::-1, :]), bias)
    return converted


# ---------------------------------------------------------------------------
# Keras weights .h5
# ---------------------------------------------------------------------------


def _keras_layer_sequence(layers):
    """Keras's VGG19 (no top) layer names up to the last convolution given, with input and pooling layers."""
    last_block = max(int(name[len("block")]) for name in layers)
    sequence = ["input_1"]
    for block, size in enumerate(VGG19_BLOCK_SIZES, start=1):
        if block > last_block:
            break
        convolutions = [f"block{block}_conv{index}" for index in range(1, size + 1)]
        sequence += [name for name in convolutions if name in layers]
        if all(name in layers for name in convolutions):
            sequence.append(f"block{block}_pool")
    return sequence


def _keras_weight_names(layer_name, weight_name_style):
    """The dataset names of a convolution's kernel and bias as a given Keras version wrote them."""
    if weight_name_style == "keras1":  # Keras's own VGG19 files (2016): flat names in the layer's group
        return [f"{layer_name}_W_1:0", f"{layer_name}_b_1:0"]
    if weight_name_style == "keras2":  # Keras 2 save_weights: variable names, which nest one group deeper
        return [f"{layer_name}/kernel:0", f"{layer_name}/bias:0"]
    raise ValueError(f"weight_name_style must be 'keras1' or 'keras2', got {weight_name_style!r}")


def write_keras_h5(path, layers, weight_name_style="keras1", extra_layers=None):
    """Writes layers (Keras name -> (kernel, bias)) in the legacy Keras weights layout; returns path.

    Root attributes 'layer_names', 'backend', 'keras_version'; one group per layer, its
    'weight_names' attribute listing its datasets (kernel, bias), empty for input and pooling
    layers, exactly as keras.applications.VGG19's loader reads it. extra_layers
    (name -> tuple of arrays, e.g. {'flatten': (), 'fc1': (kernel, bias)}) are appended after
    the last pooling layer, as the top of the full model would be.
    """
    extra_layers = dict(extra_layers or {})
    sequence = _keras_layer_sequence(layers) + list(extra_layers)
    with h5py.File(path, "w") as h5_file:
        h5_file.attrs["layer_names"] = np.array([name.encode("utf8") for name in sequence])
        h5_file.attrs["backend"] = b"tensorflow"
        h5_file.attrs["keras_version"] = b"2.1.5"
        for layer_name in sequence:
            group = h5_file.create_group(layer_name)
            if layer_name in layers:
                names = _keras_weight_names(layer_name, weight_name_style)
                arrays = layers[layer_name]
            else:
                arrays = extra_layers.get(layer_name, ())
                names = [f"{layer_name}_{position}:0" for position in range(len(arrays))]
            # Keras writes an empty list as an empty float array, so do the same.
            encoded_names = [name.encode("utf8") for name in names]
            group.attrs["weight_names"] = np.array(encoded_names) if names else np.array([])
            for name, array in zip(names, arrays):
                group.create_dataset(name, data=np.asarray(array, dtype=np.float32))
    return path


# ---------------------------------------------------------------------------
# MatConvNet .mat
# ---------------------------------------------------------------------------


def _cell(items):
    """A 1×N MATLAB cell array (scipy writes an object array as a cell)."""
    cell = np.empty((1, len(items)), dtype=object)
    for position, item in enumerate(items):
        cell[0, position] = item
    return cell


def _row(*values):
    return np.array([values], dtype=np.float64)


def _conv_struct(name, kernel, bias, version):
    """A conv layer's struct, kernel stored [height, width, in, out] as MatConvNet's importer writes it (see nst.weights)."""
    if version == "old":  # field order of the 8ee3… file: weights first
        return {"weights": _cell([kernel, bias.reshape(1, -1)]), "pad": _row(1, 1, 1, 1),
                "type": "conv", "name": name, "stride": _row(1, 1)}
    return {"name": name, "type": "conv", "weights": _cell([kernel, bias.reshape(-1, 1)]),
            "size": _row(*kernel.shape), "pad": _row(1, 1, 1, 1), "stride": _row(1, 1),
            "precious": np.array([[False]]), "dilate": _row(1, 1), "opts": _cell([])}


def _relu_struct(name, version):
    if version == "old":
        return {"type": "relu", "name": name}
    return {"name": name, "type": "relu", "weights": _cell([]), "leak": _row(0),
            "precious": np.array([[False]]), "opts": _cell([])}


def _pool_struct(name, version):
    if version == "old":
        return {"name": name, "stride": _row(2, 2), "pad": _row(0, 0, 0, 0), "type": "pool",
                "method": "max", "pool": _row(2, 2)}
    return {"name": name, "type": "pool", "weights": _cell([]), "method": "max", "pool": _row(2, 2),
            "stride": _row(2, 2), "pad": _row(0, 0, 0, 0), "precious": np.array([[False]]), "opts": _cell([])}


def _matconvnet_layer_structs(layers, version, extra_conv_layers):
    """conv, relu and pool structs in VGG19 order up to the last convolution given, then extras and a softmax."""
    structs = []
    for block, index, _, _ in vgg19_layer_plan():
        keras_name = f"block{block}_conv{index}"
        if keras_name in layers:
            kernel, bias = layers[keras_name]
            structs.append(_conv_struct(f"conv{block}_{index}", kernel, bias, version))
            structs.append(_relu_struct(f"relu{block}_{index}", version))
            if index == VGG19_BLOCK_SIZES[block - 1]:
                structs.append(_pool_struct(f"pool{block}", version))
    for name, (kernel, bias) in (extra_conv_layers or {}).items():  # fc6–fc8 are 'conv' layers in MatConvNet
        structs.append(_conv_struct(name, kernel, bias, version))
    structs.append({"type": "softmax", "name": "prob"} if version == "old" else
                   {"name": "prob", "type": "softmax", "weights": _cell([]), "precious": np.array([[False]])})
    return structs


def _average_image(mean_rgb, version):
    """averageImage: a full image (old file: 224×224, every pixel the mean) or a single 1×1×3 pixel (new file)."""
    mean = np.asarray(mean_rgb, dtype=np.float32).reshape(1, 1, 3)
    if version == "new":
        return mean
    return np.broadcast_to(mean, (224, 224, 3)).copy()


def write_matconvnet_mat(path, layers, mean_rgb=CAFFE_MEAN_RGB, version="old", extra_conv_layers=None,
                         include_layers=True):
    """Writes layers (Keras name -> (kernel, bias)) as MatConvNet's imagenet-vgg-verydeep-19.mat; returns path.

    version 'old' mimics the file with MD5 8ee3263992981a1d26e73b3ca028a123 (top-level
    'normalization'; layer fields weights, pad, type, name, stride), 'new' the one with MD5
    106118b7cf60435e6d8e04f6a6dc3657 (top-level 'meta'; fields name, type, weights, …).
    Layers are a 1×N cell array of structs with relu and pool layers between the convolutions.
    include_layers=False leaves out 'layers', for the error test.
    """
    if version not in ("old", "new"):
        raise ValueError(f"version must be 'old' or 'new', got {version!r}")
    classes = {"name": _cell(["n01440764"]), "description": _cell(["tench, Tinca tinca"])}
    variables = {}
    if include_layers:
        variables["layers"] = _cell(_matconvnet_layer_structs(layers, version, extra_conv_layers))
    if version == "old":
        variables["classes"] = classes
        variables["normalization"] = {"averageImage": _average_image(mean_rgb, version),
                                      "keepAspect": np.array([[True]]), "border": _row(32, 32),
                                      "imageSize": _row(224, 224, 3), "interpolation": "bilinear"}
    else:
        variables["meta"] = {"inputs": {"name": "input", "size": _row(224, 224, 3, 10)}, "classes": classes,
                             "normalization": {"imageSize": _row(224, 224, 3, 10), "border": _row(32, 32),
                                               "averageImage": _average_image(mean_rgb, version),
                                               "keepAspect": np.array([[True]]), "interpolation": "bilinear",
                                               "cropSize": _row(0.875, 0.875)}}
    scipy.io.savemat(path, variables, format="5", oned_as="row")
    return path


# ---------------------------------------------------------------------------
# torchvision .pth and .safetensors
# ---------------------------------------------------------------------------

# Where torchvision's vgg19().features keeps its sixteen convolutions (print(torchvision.models.vgg19())),
# written out rather than computed, so the reader's own computation is checked against it.
TORCHVISION_CONV_INDICES = (0, 2, 5, 7, 10, 12, 14, 16, 19, 21, 23, 25, 28, 30, 32, 34)


def torchvision_state_dict_arrays(layers):
    """{'features.N.weight': kernel [out, in, 3, 3], 'features.N.bias': [out]} for Keras-named (kernel HWIO, bias)."""
    keras_names = [f"block{block}_conv{index}" for block, index, _, _ in vgg19_layer_plan()]
    arrays = {}
    for keras_name, feature_index in zip(keras_names, TORCHVISION_CONV_INDICES):
        if keras_name in layers:
            kernel, bias = layers[keras_name]
            arrays[f"features.{feature_index}.weight"] = np.ascontiguousarray(kernel.transpose(3, 2, 0, 1))
            arrays[f"features.{feature_index}.bias"] = np.ascontiguousarray(bias)
    return arrays


def write_torchvision_pth(path, layers, legacy=False, extra_entries=None):
    """torch.save of the state dict torchvision's vgg19() would have with these kernels; returns path.

    legacy=True writes the pre-1.6 pickle format instead of the zip. extra_entries are added
    to the saved dict as they are (a classifier's tensors, or objects no weights file should hold).
    """
    import torch

    state = {key: torch.from_numpy(array) for key, array in torchvision_state_dict_arrays(layers).items()}
    state.update(extra_entries or {})
    torch.save(state, path, _use_new_zipfile_serialization=not legacy)
    return path


def write_torchvision_safetensors(path, layers, metadata=None, extra_arrays=None):
    """The same tensors as write_torchvision_pth in a .safetensors file (no PyTorch needed); returns path."""
    arrays = torchvision_state_dict_arrays(layers)
    arrays.update(extra_arrays or {})
    safetensors.numpy.save_file(arrays, str(path), metadata=metadata)
    return path


# ---------------------------------------------------------------------------
# For the nst.weights tests
# ---------------------------------------------------------------------------

DISTINCT_MEAN_RGB = (120.0, 110.0, 100.0)  # not Caffe's, so a reader that ignores a file's mean is caught
FEW_LAYERS = 5  # block1_conv1 … block3_conv1: every kind of channel change, about 2 MB


def write_weights_file(kind, path, layers, mean_rgb=DISTINCT_MEAN_RGB):
    """Writes layers as 'h5' (Keras's own naming), 'h5-keras2', 'mat-old', 'mat-new', 'pth' (torch.save's zip),
    'pth-legacy' (its older pickle) or 'safetensors'; returns the path as str. The .pth kinds skip without torch."""
    if kind == "h5":
        return str(write_keras_h5(path, layers))
    if kind == "h5-keras2":
        return str(write_keras_h5(path, layers, weight_name_style="keras2"))
    if kind in ("pth", "pth-legacy"):
        pytest.importorskip("torch", reason="writing a .pth needs PyTorch (pip install -r requirements-torch.txt)")
        return str(write_torchvision_pth(path, layers, legacy=kind == "pth-legacy"))
    if kind == "safetensors":
        return str(write_torchvision_safetensors(path, layers))
    return str(write_matconvnet_mat(path, layers, mean_rgb, version=kind.split("-")[1]))


def assert_layers_equal(loaded_layers, expected_layers):
    assert list(loaded_layers) == list(expected_layers)
    for name, (kernel, bias) in expected_layers.items():
        loaded_kernel, loaded_bias = loaded_layers[name]
        assert loaded_kernel.dtype == np.float32 and loaded_bias.dtype == np.float32
        np.testing.assert_array_equal(loaded_kernel, kernel, err_msg=name)
        np.testing.assert_array_equal(loaded_bias, bias, err_msg=name)
