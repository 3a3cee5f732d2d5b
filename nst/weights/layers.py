"""The sixteen VGG19 convolutions a weights file holds, the shapes they must have, and how a reader reports a damaged file."""

import contextlib
import dataclasses

import numpy as np

from nst import config
from nst import errors
from nst.weights import conventions

WeightsError = errors.WeightsError


@dataclasses.dataclass(frozen=True)
class LoadedWeights:
    """The sixteen VGG19 convolutions, ready for nst.vgg.

    layers maps Keras layer names ('block1_conv1' …) to (kernel, bias): kernel
    float32 [height, width, in, out], bias float32 [out]. A file may hold fewer
    layers than sixteen; the extractor asks only for those it needs.
    """

    layers: dict
    convention: conventions.InputConvention
    source: str  # human description, e.g. "Keras VGG19 weights (path)"
    path: str | None = None  # the file read, None for random weights
    warning: str | None = None  # to be shown to the user, e.g. for random weights


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


@contextlib.contextmanager
def reported_as_weights_error(path, kind):
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


def checked_layer(path, layer_name, kernel, bias, file_layer_name=None):
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
