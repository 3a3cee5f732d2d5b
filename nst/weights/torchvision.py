"""torchvision's VGG19 weights (.pth through torch.load with weights_only, and .safetensors): reading them, and writing any weights in their layout."""

import json
import os
import pickle
import re
import warnings
import zipfile

import numpy as np

from nst import config
from nst import files
from nst.weights import conventions
from nst.weights import layers as layers_module

# torchvision's VGG19 (trained by the torchvision team, not converted from Caffe). torch.hub names
# its files after the first hex digits of their SHA-256, which it checks on download.
TORCHVISION_FILENAME = "vgg19-dcbb9e9d.pth"
TORCHVISION_SAFETENSORS_FILENAME = "vgg19-dcbb9e9d.safetensors"  # the same tensors, saved without pickle
TORCHVISION_URL = "https://download.pytorch.org/models/" + TORCHVISION_FILENAME
TORCH_INSTALL_HINT = "pip install -r requirements-torch.txt"
ZIP_SIGNATURE = b"PK\x03\x04"  # torch.save's format since PyTorch 1.6: a zip holding <name>/data.pkl
_PICKLE_PROTOCOLS = (2, 3, 4, 5)  # older torch.save files are a pickle stream: b"\x80" then the protocol


def _torchvision_feature_indices():
    """Keras layer name -> index in torchvision's vgg19().features: 0, 2, 5, 7, 10, …, 34.

    features is one Sequential in which a ReLU follows every convolution and a pooling every block.
    """
    indices = {}
    position = 0
    for block, size in enumerate(config.VGG19_BLOCK_SIZES, start=1):
        for index in range(1, size + 1):
            indices[f"block{block}_conv{index}"] = position
            position += 2  # the convolution and its ReLU
        position += 1  # the block's pooling
    return indices


TORCHVISION_FEATURE_INDICES = _torchvision_feature_indices()
_LAYER_BY_FEATURE_INDEX = {index: name for name, index in TORCHVISION_FEATURE_INDICES.items()}
# 'features.0.weight' in a whole model's state dict; '0.weight' in the state dict of `features` alone.
_TORCHVISION_KEY = re.compile(r"^(features\.)?(\d+)\.(weight|bias)$")
# PyTorch keeps kernels [out, in, height, width]; TensorFlow wants [height, width, in, out].
OIHW_TO_HWIO = (2, 3, 1, 0)
HWIO_TO_OIHW = (3, 2, 0, 1)
# Where an exported .safetensors records the input convention its kernels expect (see export_torchvision_safetensors).
INPUT_CONVENTION_METADATA_KEY = "nst.input_convention"
_SAFETENSORS_LENGTH_BYTES = 8  # the header: a little-endian uint64 length, then that many bytes of JSON


def looks_like_pickle(header):
    return len(header) >= 2 and header[0] == 0x80 and header[1] in _PICKLE_PROTOCOLS


def looks_like_safetensors(path, header):
    """Whether the first bytes are a safetensors header: a plausible length, then JSON starting with '{'."""
    if len(header) <= _SAFETENSORS_LENGTH_BYTES or header[_SAFETENSORS_LENGTH_BYTES:][:1] != b"{":
        return False
    json_length = int.from_bytes(header[:_SAFETENSORS_LENGTH_BYTES], "little")
    return 2 <= json_length <= os.path.getsize(path) - _SAFETENSORS_LENGTH_BYTES


def read_torchvision_pth(path):
    """Reads torchvision's VGG19 state dict (torch.save, zip or legacy pickle); RGB input, torchvision's normalisation.

    The file is opened with torch.load(weights_only=True), whose unpickler builds only tensors
    and plain containers: a file that asks for anything else (a class, a function such as
    os.system) is refused before any of it runs.
    """
    path = os.fspath(path)
    if zipfile.is_zipfile(path):
        _check_torch_zip_layout(path)
    torch = import_torch_for(path)
    with layers_module.reported_as_weights_error(path, "PyTorch .pth file"):
        try:
            with warnings.catch_warnings():
                # torch warns about pickle protocols it did not write; the refusal below says what matters.
                warnings.simplefilter("ignore", UserWarning)
                state = torch.load(path, map_location="cpu", weights_only=True)
        except pickle.UnpicklingError as error:
            if "weights only load failed" not in str(error).lower():
                raise
            raise layers_module.WeightsError(
                f"{path}: refused: the file holds Python objects beyond tensors ({_unpickler_complaint(error)}); "
                "this tool never runs code from a weights file"
            ) from error
        if not isinstance(state, dict):
            raise layers_module.WeightsError(f"{path}: holds a {type(state).__name__}, not a state dict of tensors")
        arrays = {
            key: value.detach().to(torch.float32).numpy()
            for key, value in state.items()
            if isinstance(key, str) and _TORCHVISION_KEY.match(key) and isinstance(value, torch.Tensor)
        }
    return layers_module.LoadedWeights(
        layers=_torchvision_conv_layers(path, arrays),
        convention=conventions.TORCHVISION_CONVENTION,
        source=f"torchvision VGG19 weights ({path})",
        path=path,
    )


def _check_torch_zip_layout(path):
    """WeightsError unless the zip holds <name>/data.pkl, as torch.save writes it (a .keras or .npz does not)."""
    with layers_module.reported_as_weights_error(path, "zip archive"):
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    if not any(name.endswith("/data.pkl") or name == "data.pkl" for name in names):
        raise layers_module.WeightsError(f"{path}: a zip archive but not a PyTorch checkpoint (no data.pkl inside)")


def import_torch_for(path):
    """The torch module, or a WeightsError saying how to read the file without it."""
    try:
        import torch  # imported here: PyTorch is an optional extra, needed only for .pth files
    except ImportError:
        raise layers_module.WeightsError(
            f"{path}: reading .pth needs PyTorch: {TORCH_INSTALL_HINT}, or convert the file to .safetensors"
        ) from None
    return torch


# What torch's refusal names, in the wordings PyTorch 2.x uses: the global it would not import
# ('Unsupported global: GLOBAL exec', 'unsupported GLOBAL posix.system') or a pickle opcode.
_REFUSED_ITEM = re.compile(r"(unsupported global: GLOBAL [\w.]+|unsupported GLOBAL [\w.]+|unsupported operand \d+)",
                           re.IGNORECASE)


def _unpickler_complaint(error):
    """The part of torch's multi-paragraph weights-only refusal that names what was refused."""
    text = " ".join(str(error).split())
    match = _REFUSED_ITEM.search(text) or re.search(r"WeightsUnpickler error: ([^.]{1,200})", text)
    return match.group(1) if match else "more than tensors and plain containers"


def read_safetensors(path):
    """Reads torchvision-layout VGG19 tensors from a .safetensors file; no PyTorch and no unpickling needed.

    The input convention is torchvision's unless the file's metadata records another
    (files written by export_torchvision_safetensors do).
    """
    path = os.fspath(path)
    try:
        from safetensors import safe_open  # a requirement; imported here so a broken install names the file
    except ImportError:
        raise layers_module.WeightsError(
            f"{path}: reading .safetensors needs the safetensors package: pip install -r requirements.txt"
        ) from None
    with layers_module.reported_as_weights_error(path, ".safetensors file"):
        with safe_open(path, framework="numpy") as tensors:
            metadata = tensors.metadata() or {}
            arrays = {key: tensors.get_tensor(key) for key in tensors.keys() if _TORCHVISION_KEY.match(key)}
    layers = _torchvision_conv_layers(path, arrays)
    if INPUT_CONVENTION_METADATA_KEY in metadata:
        convention = _convention_from_metadata(path, metadata[INPUT_CONVENTION_METADATA_KEY])
        source = f"VGG19 weights exported by nst, {convention.channel_order.upper()} input ({path})"
    else:
        convention, source = conventions.TORCHVISION_CONVENTION, f"torchvision VGG19 weights ({path})"
    return layers_module.LoadedWeights(layers=layers, convention=convention, source=source, path=path)


def _torchvision_conv_layers(path, arrays):
    """Keras layer name -> (kernel HWIO, bias) from arrays keyed 'features.N.weight' / 'features.N.bias'."""
    parameters = {}
    for key, array in arrays.items():
        match = _TORCHVISION_KEY.match(key)
        parameters.setdefault(int(match.group(2)), {})[match.group(3)] = (key, np.asarray(array))
    layers = {}
    for feature_index in sorted(parameters):
        pair = parameters[feature_index]
        if feature_index not in _LAYER_BY_FEATURE_INDEX:
            raise layers_module.WeightsError(f"{path}: {_not_vgg19_problem(feature_index, pair)}")
        if set(pair) != {"weight", "bias"}:
            missing = ({"weight", "bias"} - set(pair)).pop()
            raise layers_module.WeightsError(f"{path}: features.{feature_index} has no {missing}")
        layer_name = _LAYER_BY_FEATURE_INDEX[feature_index]
        (weight_key, kernel), (_, bias) = pair["weight"], pair["bias"]
        expected_shape = tuple(layers_module.VGG19_KERNEL_SHAPES[layer_name][axis] for axis in HWIO_TO_OIHW)
        if kernel.shape != expected_shape:
            raise layers_module.WeightsError(f"{path}: {weight_key} has shape {kernel.shape}; VGG19's is {expected_shape}")
        layers[layer_name] = layers_module.checked_layer(
            path, layer_name, np.transpose(kernel, OIHW_TO_HWIO), bias, f"features.{feature_index}")
    if not layers:
        raise layers_module.WeightsError(
            f"{path}: no VGG19 convolution layers (features.0.weight … features.34.weight) in this file"
        )
    return layers


def _not_vgg19_problem(feature_index, pair):
    """Why a features.N parameter does not fit VGG19: batch normalisation (vgg19_bn) or another depth."""
    if "weight" in pair and pair["weight"][1].ndim == 1:
        return (f"features.{feature_index} is a batch normalisation layer: this is VGG19 with batch "
                "normalisation (vgg19_bn), which this tool does not support; use vgg19")
    convolutions = ", ".join(str(index) for index in sorted(_LAYER_BY_FEATURE_INDEX))
    return (f"features.{feature_index} is not one of VGG19's convolutions (features.{{{convolutions}}}): "
            "is this another network, such as VGG16?")


def _convention_from_metadata(path, text):
    """An InputConvention from the JSON an export wrote; WeightsError if it is not one."""
    try:
        values = json.loads(text)
        channel_order = values["channel_order"]
        mean = tuple(float(value) for value in values["mean"])
        std = tuple(float(value) for value in values["std"])
        pixel_scale = float(values.get("pixel_scale", 1.0))  # absent from files written before it existed
        if channel_order not in ("rgb", "bgr") or len(mean) != 3 or len(std) != 3:
            raise ValueError("channel_order must be rgb or bgr, mean and std three numbers")
        if not all(np.isfinite(mean)) or not all(np.isfinite(std) & (np.asarray(std) > 0)):
            raise ValueError("mean must be finite and std positive")
        if not (np.isfinite(pixel_scale) and pixel_scale > 0):
            raise ValueError("pixel_scale must be positive")
    except (ValueError, TypeError, KeyError) as error:
        raise layers_module.WeightsError(
            f"{path}: metadata {INPUT_CONVENTION_METADATA_KEY} is not an input convention ({error})"
        ) from None
    return conventions.InputConvention(channel_order=channel_order, mean=mean, std=std, pixel_scale=pixel_scale)


def export_torchvision_safetensors(weights, path):
    """Writes the convolutions of a LoadedWeights or an nst.vgg.FeatureExtractor as torchvision's VGG19 .safetensors.

    Keys are 'features.N.weight' [out, in, 3, 3] and 'features.N.bias' [out], so
    safetensors.torch.load_file(path) loads into torchvision.models.vgg19().features'
    parent with strict=False (strict=True too when all sixteen layers are there).
    The kernels are written as they are, not refitted to torchvision's normalisation: a
    network from Keras's caffe file still expects BGR minus the caffe mean (refitting would
    be exact inside the image but not at the zero-padded border, where the two means differ).
    That convention is recorded in the metadata under INPUT_CONVENTION_METADATA_KEY, and
    read_safetensors honours it. Written atomically; returns path.
    """
    layers, convention, source = _exportable_layers(weights)
    tensors = {}
    for layer_name, (kernel, bias) in layers.items():
        feature_index = TORCHVISION_FEATURE_INDICES[layer_name]
        tensors[f"features.{feature_index}.weight"] = np.ascontiguousarray(
            np.transpose(np.asarray(kernel, np.float32), HWIO_TO_OIHW))
        tensors[f"features.{feature_index}.bias"] = np.ascontiguousarray(np.asarray(bias, np.float32).reshape(-1))
    metadata = {
        "format": "pt",  # what safetensors.torch writes; some PyTorch tools check it
        INPUT_CONVENTION_METADATA_KEY: json.dumps(
            {"channel_order": convention.channel_order, "mean": list(convention.mean), "std": list(convention.std),
             "pixel_scale": convention.pixel_scale}
        ),
        "nst.source": source,
    }
    import safetensors.numpy  # a requirement; imported here like the reader's

    data = safetensors.numpy.save(tensors, metadata=metadata)
    try:
        with files.atomic_write(path, "wb") as handle:
            handle.write(data)
    except OSError as error:
        raise layers_module.WeightsError(f"{path}: cannot be written ({error.strerror or error})") from error
    return path


def _exportable_layers(weights):
    """(layers in network order, convention, source) of a LoadedWeights or a FeatureExtractor."""
    if isinstance(weights, layers_module.LoadedWeights):
        layers, convention, source = weights.layers, weights.convention, weights.source
    elif hasattr(weights, "model") and hasattr(weights, "convention"):  # nst.vgg.FeatureExtractor
        layers = {
            layer.name: tuple(layer.get_weights())
            for layer in weights.model.layers
            if layer.name in layers_module.VGG19_KERNEL_SHAPES
        }
        convention, source = weights.convention, "nst.vgg.FeatureExtractor"
    else:
        raise TypeError(f"expected layers_module.LoadedWeights or an nst.vgg.FeatureExtractor, got {type(weights).__name__}")
    ordered = {name: layers[name] for name in layers_module.VGG19_KERNEL_SHAPES if name in layers}
    if not ordered:
        raise layers_module.WeightsError(f"{source}: no VGG19 convolution layers to export")
    return ordered, convention, source
