"""VGG19 weights (Keras, MatConvNet, torchvision, random): reading, their input conventions, and the export."""

import contextlib
import dataclasses
import json
import os
import pathlib
import pickle
import re
import warnings
import zipfile

import h5py
import numpy as np
import scipy.io

from nst import config
from nst import files


class WeightsError(ValueError):
    """Weights that cannot be found or read; the message names the file and the problem in one line.

    hint, when set, says how to fix it (where to put which file); entry points show it after the message.
    """

    def __init__(self, message, hint=None):
        super().__init__(message)
        self.hint = hint


@dataclasses.dataclass(frozen=True)
class InputConvention:
    """How a network's first layer expects pixels: RGB 0–255 becomes ((rgb / pixel_scale − mean) / std) in channel_order.

    mean and std are in the units of rgb / pixel_scale and in RGB order whatever channel_order is,
    so one formula serves caffe-style (pixels, BGR, mean only) and torchvision-style (pixels / 255,
    RGB, mean and std) weights, in the order of operations each publisher uses: torchvision's
    ToTensor divides by 255 before Normalize, and a network fed by the reproduced systems must get
    their values to the last bit (a ReLU input that lands on the other side of 0 changes the gradient).
    """

    channel_order: str  # "rgb" or "bgr"
    mean: tuple  # per RGB channel, in units of rgb / pixel_scale
    std: tuple = (1.0, 1.0, 1.0)  # likewise
    pixel_scale: float = 1.0

    def preprocess(self, rgb_pixels):
        """Maps an RGB 0–255 tensor or array (…×3) to the network's input."""
        return self.preprocess_scaled(rgb_pixels if self.pixel_scale == 1.0 else rgb_pixels / np.float32(self.pixel_scale))

    def preprocess_scaled(self, scaled_rgb):
        """preprocess for RGB already divided by pixel_scale (the 0–1 image a torchvision user holds)."""
        centred = (scaled_rgb - np.asarray(self.mean, np.float32)) / np.asarray(self.std, np.float32)
        return centred[..., ::-1] if self.channel_order == "bgr" else centred

    def to_pixels(self, network_input):
        """The inverse of preprocess: the network's input (…×3) back to RGB 0–255 pixels."""
        rgb = network_input[..., ::-1] if self.channel_order == "bgr" else network_input
        scaled = rgb * np.asarray(self.std, np.float32) + np.asarray(self.mean, np.float32)
        return scaled if self.pixel_scale == 1.0 else scaled * np.float32(self.pixel_scale)

    @property
    def mean_pixel(self):
        """The RGB pixel (0–255 units) the network sees as 0."""
        return tuple(value * self.pixel_scale for value in self.mean)

    @property
    def pixel_std(self):
        """std in 0–255 pixel units."""
        return tuple(value * self.pixel_scale for value in self.std)


# Keras's VGG19 files were converted from the caffe model: BGR input, ImageNet mean subtracted.
CAFFE_CONVENTION = InputConvention(channel_order="bgr", mean=(123.68, 116.779, 103.939))

# torchvision's models expect ToTensor (pixels / 255) then Normalize(mean, std) with these
# ImageNet statistics in 0–1 units; InputConvention keeps pixel units, hence the factor 255.
TORCHVISION_MEAN = (0.485, 0.456, 0.406)
TORCHVISION_STD = (0.229, 0.224, 0.225)
TORCHVISION_CONVENTION = InputConvention(
    channel_order="rgb", mean=TORCHVISION_MEAN, std=TORCHVISION_STD, pixel_scale=255.0)


# The Coursera TF2 assignment feeds its 0–1 RGB image straight into Keras's VGG19, skipping the caffe
# preprocessing the weights were trained with; the Colab derivative of the Udacity notebook normalises
# with mean 0.5 and std 0.5 instead of ImageNet's statistics.
UNIT_RGB_CONVENTION = InputConvention(channel_order="rgb", mean=(0.0, 0.0, 0.0), pixel_scale=255.0)
HALF_CONVENTION = InputConvention(channel_order="rgb", mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5), pixel_scale=255.0)


def network_convention(weights_convention, input_normalization="weights"):
    """The InputConvention the network is fed with: the weights' own, or a system's departure from it.

    'weights': the file's convention; 'weights_x256': the same after scaling 0–1 images by 256
    instead of 255, as jcjohnson/neural-style does (pixels·256/255 = pixels / (255/256));
    'unit_rgb': RGB in 0–1 as it is (the Coursera TF2 assignment); 'half': (x/255 − 0.5) / 0.5.
    """
    if input_normalization == "weights":
        return weights_convention
    if input_normalization == "weights_x256":
        return dataclasses.replace(weights_convention, pixel_scale=weights_convention.pixel_scale * 255.0 / 256.0)
    if input_normalization == "unit_rgb":
        return UNIT_RGB_CONVENTION
    if input_normalization == "half":
        return HALF_CONVENTION
    raise ValueError(f"unknown input normalisation {input_normalization!r}")


@dataclasses.dataclass(frozen=True)
class LoadedWeights:
    """The sixteen VGG19 convolutions, ready for nst.vgg.

    layers maps Keras layer names ('block1_conv1' …) to (kernel, bias): kernel
    float32 [height, width, in, out], bias float32 [out]. A file may hold fewer
    layers than sixteen; the extractor asks only for those it needs.
    """

    layers: dict
    convention: InputConvention
    source: str  # human description, e.g. "Keras VGG19 weights (path)"
    path: str | None = None  # the file read, None for random weights
    warning: str | None = None  # to be shown to the user, e.g. for random weights


# ---------------------------------------------------------------------------
# VGG19's convolutions and the files that hold them
# ---------------------------------------------------------------------------

VGG19_BLOCK_CHANNELS = (64, 128, 256, 512, 512)  # output channels of every convolution in a block


def _vgg19_kernel_shapes():
    """Keras layer name -> (3, 3, in, out) for the sixteen convolutions, in network order."""
    shapes = {}
    in_channels = 3  # the first convolution sees the three colour channels
    for block, (size, out_channels) in enumerate(zip(config.VGG19_BLOCK_SIZES, VGG19_BLOCK_CHANNELS), start=1):
        for index in range(1, size + 1):
            shapes[f"block{block}_conv{index}"] = (3, 3, in_channels, out_channels)
            in_channels = out_channels
    return shapes


VGG19_KERNEL_SHAPES = _vgg19_kernel_shapes()

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

# The MatConvNet conversion of the same Caffe model, the file the Coursera assignment uses.
MATCONVNET_FILENAME = "imagenet-vgg-verydeep-19.mat"
MATCONVNET_PRETRAINED_PAGE = "https://www.vlfeat.org/matconvnet/pretrained/"
# Two versions were published under that name. The reader reads struct fields by name, so it
# does not depend on which one it gets; the hashes are here to tell a user which one they have.
# Older: top-level 'normalization'; layer fields weights, pad, type, name, stride.
MATCONVNET_OLD_MD5 = "8ee3263992981a1d26e73b3ca028a123"
# Newer: top-level 'meta' (normalization, classes); layer fields name, type, weights, size, pad, ….
MATCONVNET_NEW_MD5 = "106118b7cf60435e6d8e04f6a6dc3657"

# torchvision's VGG19 (trained by the torchvision team, not converted from Caffe). torch.hub names
# its files after the first hex digits of their SHA-256, which it checks on download.
TORCHVISION_FILENAME = "vgg19-dcbb9e9d.pth"
TORCHVISION_SAFETENSORS_FILENAME = "vgg19-dcbb9e9d.safetensors"  # the same tensors, saved without pickle
TORCHVISION_URL = "https://download.pytorch.org/models/" + TORCHVISION_FILENAME
TORCH_INSTALL_HINT = "pip install -r requirements-torch.txt"

PRETRAINED_FOLDER_NAME = "pretrained-model"
# Where 'imagenet' looks first: this project's pretrained-model/, then pretrained-model/ under the
# folder the tool runs from (a relative path, so it follows the working folder at call time).
DEFAULT_SEARCH_DIRECTORIES = (
    pathlib.Path(__file__).resolve().parent.parent / PRETRAINED_FOLDER_NAME,
    pathlib.Path(PRETRAINED_FOLDER_NAME),
)
# 'imagenet' takes the first of these it finds in a folder: Keras's files first, as Keras ships them hash-checked.
# torchvision's files come last, the .safetensors first of the two: it needs neither PyTorch nor unpickling.
IMAGENET_FILENAMES = (
    KERAS_NOTOP_FILENAME, KERAS_FULL_FILENAME, MATCONVNET_FILENAME,
    TORCHVISION_SAFETENSORS_FILENAME, TORCHVISION_FILENAME,
)

# A file's first bytes say what it is, whatever its name.
_HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
_MATLAB5_SIGNATURE = b"MATLAB 5.0 MAT-file"
_MATLAB73_SIGNATURE = b"MATLAB 7.3 MAT-file"  # HDF5 inside, after a 512-byte text header
_ZIP_SIGNATURE = b"PK\x03\x04"  # torch.save's format since PyTorch 1.6: a zip holding <name>/data.pkl
_PICKLE_PROTOCOLS = (2, 3, 4, 5)  # older torch.save files are a pickle stream: b"\x80" then the protocol

# MatConvNet's kernels are stored [height, width, in, out], TensorFlow's order, and are read as stored.
# Its Caffe importer (utils/import-caffe.py) reverses Caffe's [out, in, height, width] blobs, which gives
# [width, height, in, out], and then, with its --transpose option (on by default, "Transpose CNN in a
# sane MATLAB format"), swaps the spatial axes back; the MatConvNet manual writes filters as
# H'×W'×D×D''. The Coursera assignment's load_vgg_model and the TensorFlow code it derives from use
# the arrays as stored. (vl_nnconv's help text says "FW x FH x FC x K", which misled anishathalye/neural-style
# into a transpose; a user who measured the file's ImageNet accuracy found the stored order right,
# anishathalye/neural-style#180.)


# ---------------------------------------------------------------------------
# The one entry point
# ---------------------------------------------------------------------------


def load_weights(spec, seed=0, search_directories=None, allow_download=True):
    """Returns the LoadedWeights that spec names; raises WeightsError naming the file and the problem.

    spec is 'imagenet' (the first ImageNet file found, see find_imagenet_weights), 'keras',
    'matconvnet' or 'torchvision' (only that publisher's file), 'random' (random_weights(seed)),
    or the path of a Keras .h5, MatConvNet .mat, torchvision .pth or .safetensors file,
    recognised by its content, not its name. search_directories (default:
    DEFAULT_SEARCH_DIRECTORIES) and allow_download only matter for the keywords.
    """
    keyword = str(spec).strip()
    if keyword.lower() == "random":
        return random_weights(seed)
    if keyword.lower() in WEIGHT_FAMILIES:
        return read_weights_file(find_imagenet_weights(search_directories, allow_download, keyword.lower()))
    return read_weights_file(os.path.expanduser(keyword))


def random_weights(seed=0):
    """Untrained VGG19 weights: He-normal kernels and zero biases from numpy.random.default_rng(seed)."""
    generator = np.random.default_rng(seed)
    layers = {}
    for layer_name, shape in VGG19_KERNEL_SHAPES.items():
        # He et al. (2015): std = sqrt(2 / fan_in) keeps ReLU activations from shrinking or
        # exploding with depth, so even untrained features carry some signal.
        fan_in = shape[0] * shape[1] * shape[2]
        kernel = generator.standard_normal(shape, dtype=np.float32) * np.float32(np.sqrt(2.0 / fan_in))
        layers[layer_name] = (kernel, np.zeros(shape[3], np.float32))
    return LoadedWeights(
        layers=layers,
        convention=CAFFE_CONVENTION,
        source=f"random untrained VGG19 (seed {seed})",
        warning=(
            f"These VGG19 weights are random and untrained (seed {seed}), so the result will not look "
            f"artistic; use ImageNet weights for art (see {PRETRAINED_FOLDER_NAME}/README.md)."
        ),
    )


def read_weights_file(path):
    """Reads a VGG19 weights file (.h5, .mat, .pth or .safetensors), its format told by its first bytes."""
    path = os.fspath(path)
    header = _read_header(path)
    if header.startswith(_HDF5_SIGNATURE):
        return read_keras_h5(path)
    if header.startswith(_MATLAB5_SIGNATURE):
        return read_matconvnet_mat(path)
    if header.startswith(_MATLAB73_SIGNATURE):
        raise WeightsError(
            f"{path}: a MATLAB v7.3 .mat file, which this tool cannot read; "
            f"re-save it in MATLAB with save(..., '-v7') or use the published {MATCONVNET_FILENAME}"
        )
    if header.startswith(_ZIP_SIGNATURE) or _looks_like_pickle(header):
        return read_torchvision_pth(path)
    if _looks_like_safetensors(path, header):
        return read_safetensors(path)
    raise WeightsError(
        f"{path}: not a VGG19 weights file this tool can read "
        "(expected a Keras .h5, a MatConvNet .mat, a torchvision .pth or a .safetensors)"
    )


def _read_header(path):
    """The first bytes of a weights file; WeightsError for a missing, empty or unreadable one."""
    if not os.path.exists(path):
        raise WeightsError(f"{path}: no such file")
    if os.path.isdir(path):
        raise WeightsError(f"{path}: is a folder, not a weights file")
    try:
        with open(path, "rb") as weights_file:
            header = weights_file.read(len(_MATLAB73_SIGNATURE))
    except OSError as error:
        raise WeightsError(f"{path}: cannot be read ({error.strerror or error})") from error
    if not header:
        raise WeightsError(f"{path}: the file is empty")
    return header


@contextlib.contextmanager
def _damage_reported_as_weights_error(path, kind):
    """Turns whatever h5py or scipy raise on a damaged file into one WeightsError naming the file.

    Truncated or corrupt files make those libraries raise many exception types (OSError,
    KeyError, ValueError, TypeError, zlib errors…); the user needs the file and the problem,
    never a traceback.
    """
    try:
        yield
    except WeightsError:
        raise
    except Exception as error:  # see docstring: the set of types is open-ended
        detail = " ".join(str(error).split()) or type(error).__name__
        raise WeightsError(f"{path}: not a readable {kind} ({detail})") from error


def _checked_layer(path, layer_name, kernel, bias, file_layer_name=None):
    """(kernel, bias) as contiguous float32 with VGG19's shapes for layer_name, else WeightsError."""
    label = file_layer_name or layer_name
    expected_shape = VGG19_KERNEL_SHAPES[layer_name]
    kernel = np.ascontiguousarray(kernel, dtype=np.float32)
    if kernel.shape != expected_shape:
        raise WeightsError(
            f"{path}: layer {label} has a kernel of shape {kernel.shape}; VGG19's is {expected_shape}"
        )
    # Biases come as (out,), (1, out) or (out, 1) depending on the writer.
    bias = np.ascontiguousarray(bias, dtype=np.float32).reshape(-1)
    if bias.shape != (expected_shape[3],):
        raise WeightsError(f"{path}: layer {label} has {bias.size} biases; VGG19's has {expected_shape[3]}")
    return kernel, bias


# ---------------------------------------------------------------------------
# Keras .h5 (the legacy weights layout of Keras's own VGG19 files)
# ---------------------------------------------------------------------------


def read_keras_h5(path):
    """Reads the block*_conv* layers of a Keras weights .h5 (legacy layout); BGR caffe input convention.

    The layout: a root attribute 'layer_names'; one group per layer whose attribute
    'weight_names' lists its datasets, kernel (already [height, width, in, out]) then bias.
    A whole-model .h5 keeps the same layout under 'model_weights'.
    """
    path = os.fspath(path)
    with _damage_reported_as_weights_error(path, "Keras .h5 weights file"):
        with h5py.File(path, "r") as h5_file:
            layers = _keras_conv_layers(path, _keras_weights_group(path, h5_file))
    return LoadedWeights(
        layers=layers,
        convention=CAFFE_CONVENTION,
        source=f"Keras VGG19 weights ({path})",
        path=path,
    )


def _keras_weights_group(path, h5_file):
    """The group whose attributes list the layers: the root of a weights file, 'model_weights' of a model file."""
    for group in (h5_file, h5_file.get("model_weights")):
        if group is not None and _h5_string_list(group.attrs, "layer_names"):
            return group
    raise WeightsError(f"{path}: an HDF5 file without Keras's 'layer_names' attribute, so not Keras weights")


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
        if layer_name in VGG19_KERNEL_SHAPES:
            layers[layer_name] = _keras_layer_weights(path, group, layer_name)
    if not layers:
        raise WeightsError(
            f"{path}: no VGG19 convolution layers (block1_conv1 … block5_conv4) in this Keras file"
        )
    return layers


def _keras_layer_weights(path, group, layer_name):
    """(kernel, bias) of one layer, read through the names its 'weight_names' attribute lists."""
    if layer_name not in group:
        raise WeightsError(f"{path}: layer {layer_name} is listed but its weights are missing")
    layer_group = group[layer_name]
    # The names differ between Keras versions ('block1_conv1_W_1:0' in Keras's own VGG19 files,
    # 'block1_conv1/kernel:0' from Keras 2), so the attribute is followed rather than guessed.
    weight_names = _h5_string_list(layer_group.attrs, "weight_names")
    if len(weight_names) != 2:
        raise WeightsError(
            f"{path}: layer {layer_name} has {len(weight_names)} weight arrays; a convolution has 2 (kernel, bias)"
        )
    kernel, bias = (np.asarray(layer_group[name]) for name in weight_names)
    return _checked_layer(path, layer_name, kernel, bias)


# ---------------------------------------------------------------------------
# MatConvNet .mat (imagenet-vgg-verydeep-19.mat, both published versions)
# ---------------------------------------------------------------------------


def read_matconvnet_mat(path):
    """Reads the conv1_1 … conv5_4 layers of a MatConvNet SimpleNN .mat; RGB input, mean from the file.

    Struct fields are read by name: the two published versions of
    imagenet-vgg-verydeep-19.mat store them in different orders.
    """
    path = os.fspath(path)
    with _damage_reported_as_weights_error(path, "MATLAB .mat file"):
        # 'classes' (the 1000 ImageNet labels) is not needed, so it is not read.
        contents = scipy.io.loadmat(
            path, struct_as_record=True, squeeze_me=False, variable_names=("layers", "normalization", "meta")
        )
        if "layers" not in contents:
            raise WeightsError(f"{path}: a .mat file without a 'layers' variable, so not a MatConvNet model")
        layers = _matconvnet_conv_layers(path, contents["layers"])
        mean_rgb = _matconvnet_mean_rgb(path, contents)
    return LoadedWeights(
        layers=layers,
        convention=InputConvention(channel_order="rgb", mean=mean_rgb),
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
            raise WeightsError(f"{path}: layer {file_layer_name} appears twice")
        kernel, bias = _matconvnet_kernel_and_bias(path, struct, file_layer_name)
        conv_layers[layer_name] = _checked_layer(
            path, layer_name, kernel, bias, file_layer_name
        )
    if not conv_layers:
        raise WeightsError(f"{path}: no VGG19 convolution layers (conv1_1 … conv5_4) in this MatConvNet model")
    return conv_layers


def _matconvnet_kernel_and_bias(path, struct, file_layer_name):
    """The {kernel, bias} pair of a conv layer as float32 arrays, kernel still in the file's axis order."""
    weights = _mat_field(struct, "weights")
    if weights is not None:
        pair = list(np.asarray(weights, dtype=object).reshape(-1))
    else:  # MatConvNet betas before 1.0-beta13 kept them in separate fields
        pair = [_mat_field(struct, "filters"), _mat_field(struct, "biases")]
    if len(pair) != 2 or any(array is None for array in pair):
        raise WeightsError(f"{path}: layer {file_layer_name} has no {{kernel, bias}} weights")
    kernel, bias = (np.asarray(array, dtype=np.float32) for array in pair)
    if kernel.ndim != 4:
        raise WeightsError(f"{path}: layer {file_layer_name} has a kernel of shape {kernel.shape}, not 4-D")
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
        raise WeightsError(f"{path}: no normalization.averageImage, the mean pixel the network expects")
    pixels = np.asarray(average_image, dtype=np.float64)
    if pixels.size == 3:
        pixels = pixels.reshape(1, 3)
    if pixels.size == 0 or pixels.shape[-1] != 3:
        raise WeightsError(f"{path}: normalization.averageImage has shape {pixels.shape}, not …×3")
    mean = pixels.reshape(-1, 3).mean(axis=0)
    # Both published files hold the Caffe mean pixel in single precision; the Coursera assignment
    # subtracts the constants themselves, and so does Keras for its file of the same network.
    if np.allclose(mean, CAFFE_CONVENTION.mean, rtol=0, atol=1e-4):
        return CAFFE_CONVENTION.mean
    return tuple(float(value) for value in mean)


# ---------------------------------------------------------------------------
# torchvision VGG19: .pth (torch.save) and .safetensors, read and written
# ---------------------------------------------------------------------------


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


def _looks_like_pickle(header):
    return len(header) >= 2 and header[0] == 0x80 and header[1] in _PICKLE_PROTOCOLS


def _looks_like_safetensors(path, header):
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
    torch = _import_torch_for(path)
    with _damage_reported_as_weights_error(path, "PyTorch .pth file"):
        try:
            with warnings.catch_warnings():
                # torch warns about pickle protocols it did not write; the refusal below says what matters.
                warnings.simplefilter("ignore", UserWarning)
                state = torch.load(path, map_location="cpu", weights_only=True)
        except pickle.UnpicklingError as error:
            if "weights only load failed" not in str(error).lower():
                raise
            raise WeightsError(
                f"{path}: refused: the file holds Python objects beyond tensors ({_unpickler_complaint(error)}); "
                "this tool never runs code from a weights file"
            ) from error
        if not isinstance(state, dict):
            raise WeightsError(f"{path}: holds a {type(state).__name__}, not a state dict of tensors")
        arrays = {
            key: value.detach().to(torch.float32).numpy()
            for key, value in state.items()
            if isinstance(key, str) and _TORCHVISION_KEY.match(key) and isinstance(value, torch.Tensor)
        }
    return LoadedWeights(
        layers=_torchvision_conv_layers(path, arrays),
        convention=TORCHVISION_CONVENTION,
        source=f"torchvision VGG19 weights ({path})",
        path=path,
    )


def _check_torch_zip_layout(path):
    """WeightsError unless the zip holds <name>/data.pkl, as torch.save writes it (a .keras or .npz does not)."""
    with _damage_reported_as_weights_error(path, "zip archive"):
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    if not any(name.endswith("/data.pkl") or name == "data.pkl" for name in names):
        raise WeightsError(f"{path}: a zip archive but not a PyTorch checkpoint (no data.pkl inside)")


def _import_torch_for(path):
    """The torch module, or a WeightsError saying how to read the file without it."""
    try:
        import torch  # imported here: PyTorch is an optional extra, needed only for .pth files
    except ImportError:
        raise WeightsError(
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
        raise WeightsError(
            f"{path}: reading .safetensors needs the safetensors package: pip install -r requirements.txt"
        ) from None
    with _damage_reported_as_weights_error(path, ".safetensors file"):
        with safe_open(path, framework="numpy") as tensors:
            metadata = tensors.metadata() or {}
            arrays = {key: tensors.get_tensor(key) for key in tensors.keys() if _TORCHVISION_KEY.match(key)}
    layers = _torchvision_conv_layers(path, arrays)
    if INPUT_CONVENTION_METADATA_KEY in metadata:
        convention = _convention_from_metadata(path, metadata[INPUT_CONVENTION_METADATA_KEY])
        source = f"VGG19 weights exported by nst, {convention.channel_order.upper()} input ({path})"
    else:
        convention, source = TORCHVISION_CONVENTION, f"torchvision VGG19 weights ({path})"
    return LoadedWeights(layers=layers, convention=convention, source=source, path=path)


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
            raise WeightsError(f"{path}: {_not_vgg19_problem(feature_index, pair)}")
        if set(pair) != {"weight", "bias"}:
            missing = ({"weight", "bias"} - set(pair)).pop()
            raise WeightsError(f"{path}: features.{feature_index} has no {missing}")
        layer_name = _LAYER_BY_FEATURE_INDEX[feature_index]
        (weight_key, kernel), (_, bias) = pair["weight"], pair["bias"]
        expected_shape = tuple(VGG19_KERNEL_SHAPES[layer_name][axis] for axis in HWIO_TO_OIHW)
        if kernel.shape != expected_shape:
            raise WeightsError(f"{path}: {weight_key} has shape {kernel.shape}; VGG19's is {expected_shape}")
        layers[layer_name] = _checked_layer(
            path, layer_name, np.transpose(kernel, OIHW_TO_HWIO), bias, f"features.{feature_index}")
    if not layers:
        raise WeightsError(
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
        raise WeightsError(
            f"{path}: metadata {INPUT_CONVENTION_METADATA_KEY} is not an input convention ({error})"
        ) from None
    return InputConvention(channel_order=channel_order, mean=mean, std=std, pixel_scale=pixel_scale)


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
        raise WeightsError(f"{path}: cannot be written ({error.strerror or error})") from error
    return path


def _exportable_layers(weights):
    """(layers in network order, convention, source) of a LoadedWeights or a FeatureExtractor."""
    if isinstance(weights, LoadedWeights):
        layers, convention, source = weights.layers, weights.convention, weights.source
    elif hasattr(weights, "model") and hasattr(weights, "convention"):  # nst.vgg.FeatureExtractor
        layers = {
            layer.name: tuple(layer.get_weights())
            for layer in weights.model.layers
            if layer.name in VGG19_KERNEL_SHAPES
        }
        convention, source = weights.convention, "nst.vgg.FeatureExtractor"
    else:
        raise TypeError(f"expected LoadedWeights or an nst.vgg.FeatureExtractor, got {type(weights).__name__}")
    ordered = {name: layers[name] for name in VGG19_KERNEL_SHAPES if name in layers}
    if not ordered:
        raise WeightsError(f"{source}: no VGG19 convolution layers to export")
    return ordered, convention, source


# ---------------------------------------------------------------------------
# Finding the ImageNet weights
# ---------------------------------------------------------------------------


def keras_cache_directory():
    """Keras's cache of application weights: $KERAS_HOME/models, or ~/.keras/models."""
    keras_home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return pathlib.Path(keras_home) / KERAS_CACHE_SUBDIR


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
    "keras": (KERAS_NOTOP_FILENAME, KERAS_FULL_FILENAME),
    "matconvnet": (MATCONVNET_FILENAME,),
    "torchvision": (TORCHVISION_SAFETENSORS_FILENAME, TORCHVISION_FILENAME),
}
_KERAS_CACHE_FILES = (KERAS_NOTOP_FILENAME, KERAS_FULL_FILENAME)
_TORCH_HUB_FILES = (TORCHVISION_FILENAME,)


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
    except WeightsError:
        raise
    except Exception as error:  # get_file raises plain Exception on a URL failure, ValueError on a bad hash
        detail = " ".join(str(error).split())[:200] or type(error).__name__
        raise _weights_missing(family, looked_in, f"the download failed: {detail}") from error


def _download_keras_notop_weights():
    """Keras's own download of its VGG19 notop file into its cache, hash-checked; returns the path."""
    import keras  # imported here: TensorFlow's start-up is slow and most calls never download

    return keras.utils.get_file(
        KERAS_NOTOP_FILENAME, KERAS_NOTOP_URL, cache_subdir=KERAS_CACHE_SUBDIR, file_hash=KERAS_NOTOP_MD5
    )


def _download_torchvision_weights():
    """torch.hub's download of torchvision's VGG19 file into its cache, checked against the hash in its name."""
    target = torch_hub_checkpoint_directory() / TORCHVISION_FILENAME
    torch = _import_torch_for(str(target))
    target.parent.mkdir(parents=True, exist_ok=True)
    torch.hub.download_url_to_file(TORCHVISION_URL, str(target), hash_prefix=TORCHVISION_FILENAME.split("-")[1][:8])
    return str(target)


# Where each family's file comes from, for the message that says what to put where.
_FAMILY_SOURCES = {
    "keras": f"{KERAS_NOTOP_FILENAME} ({KERAS_NOTOP_URL})",
    "matconvnet": f"the Coursera/MatConvNet {MATCONVNET_FILENAME} ({MATCONVNET_PRETRAINED_PAGE})",
    "torchvision": f"torchvision's {TORCHVISION_FILENAME} ({TORCHVISION_URL})",
}


def _weights_missing(family, folders, reason):
    """The WeightsError when no file of the family is found: one line, and a hint saying what to put where."""
    looked_in = ", ".join(os.path.abspath(folder) for folder in folders)
    described = "ImageNet VGG19" if family == "imagenet" else f"{family} VGG19"
    files_to_get = (" or ".join(_FAMILY_SOURCES[name] for name in ("keras", "matconvnet"))
                    if family == "imagenet" else _FAMILY_SOURCES[family])
    return WeightsError(
        f"no {described} weights found (looked in {looked_in}) and {reason}",
        hint=f"put {files_to_get} in {PRETRAINED_FOLDER_NAME}/, or try the pipeline with untrained weights: "
             "--weights random",
    )
