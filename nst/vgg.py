"""The VGG19 feature extractor: convolutions up to the deepest requested layer, nothing after."""

import keras
import numpy as np
import tensorflow as tf

from nst import config as config_module
from nst import weights as weights_module


def _layers_in_order(deepest_layer):
    """Canonical conv names from conv1_1 up to and including deepest_layer."""
    names = config_module.VGG19_LAYER_NAMES
    return names[: names.index(deepest_layer) + 1]


def deepest_layer(layer_names):
    """The layer of layer_names that comes last in VGG19."""
    order = config_module.VGG19_LAYER_NAMES
    return max((config_module.canonical_layer_name(name) for name in layer_names), key=order.index)


def channel_count(layer_name):
    """Output channels of a VGG19 convolution: 64 in block 1, doubling each block up to 512."""
    return 64 * 2 ** min(block_of(layer_name) - 1, 3)


def block_of(layer_name):
    """The block (1–5) of a VGG19 convolution."""
    return int(config_module.canonical_layer_name(layer_name)[len("conv")])


def layer_stride(layer_name):
    """Input pixels per activation along each side at a layer: 1 in block 1, doubling after each pooling."""
    return 2 ** (block_of(layer_name) - 1)


def receptive_extent(deepest_layer):
    """How far, in input pixels, an activation at deepest_layer reaches beyond the pixels it sits over.

    An activation at stride s sits over s×s input pixels; its 3×3 convolutions and 2×2
    poolings reach further on each side, by the same amount on both (70 pixels for conv5_1,
    whose receptive field is 16 + 2·70 = 156 pixels; 118 for conv5_4). Walked back through
    the layers rather than written down, so any deepest layer gets its own.
    """
    layers = _layers_in_order(config_module.canonical_layer_name(deepest_layer))
    first, last = 0, 0  # the span of units, in the current layer's grid, one deepest activation depends on
    block = block_of(layers[-1])
    for name in reversed(layers):
        while block_of(name) < block:  # the pooling between two blocks: unit i covers 2i and 2i + 1 below
            first, last, block = 2 * first, 2 * last + 1, block - 1
        first, last = first - 1, last + 1  # a 3×3 convolution, zero-padded ('same')
    stride = layer_stride(layers[-1])
    return max(-first, last - (stride - 1))


def convolution_gflop(width, height, deepest_layer="conv5_1", pooling_border="keep"):
    """GFLOP of one forward pass from conv1_1 to deepest_layer on a width×height image (2·H·W·9·C_in·C_out each).

    The input gradient of an iteration costs about as much again. Each pooling halves the
    sides, rounding up when it keeps an odd border row or column ('keep') and down when not.
    """
    total, channels_in, block_width, block_height, previous_block = 0, 3, width, height, 1
    for name in _layers_in_order(config_module.canonical_layer_name(deepest_layer)):
        block = int(name[len("conv")])
        if block != previous_block:
            rounding = 1 if pooling_border == "keep" else 0
            block_width, block_height = (block_width + rounding) // 2, (block_height + rounding) // 2
            previous_block = block
        channels_out = channel_count(name)
        total += 2 * block_height * block_width * 9 * channels_in * channels_out
        channels_in = channels_out
    return total / 1e9


def build_vgg19_model(layer_names, pooling="avg", precision="float32", pooling_border="drop", before_relu=False):
    """A Keras model from network input to {canonical layer name: activation} for layer_names.

    Layers carry Keras's VGG19 names (block1_conv1 …) so weight files map onto them by name.
    The network stops at the deepest requested layer: the later convolutions and the
    classifier would cost compute and memory for nothing. With precision 'bfloat16' the
    convolutions compute in bfloat16 (Keras's mixed_bfloat16 policy: float32 variables,
    bfloat16 arithmetic); activations come out in bfloat16. pooling_border 'drop' pools
    with padding 'valid' (an odd last row or column is dropped, as in Keras's and
    torchvision's VGG19), 'keep' with 'same' (pooled by a partial window: the maximum or the
    mean of the values it covers, as TF1's padding='SAME' and Caffe's rounding up do).
    before_relu: the activations returned are the convolutions' outputs before their ReLU.
    """
    if pooling not in config_module.POOLING_MODES:
        raise ValueError(f"pooling must be one of {config_module.POOLING_MODES}, got {pooling!r}")
    if precision not in config_module.PRECISIONS:
        raise ValueError(f"precision must be one of {config_module.PRECISIONS}, got {precision!r}")
    if pooling_border not in config_module.POOLING_BORDERS:
        raise ValueError(f"pooling_border must be one of {config_module.POOLING_BORDERS}, got {pooling_border!r}")
    policy = "mixed_bfloat16" if precision == "bfloat16" else "float32"
    requested = {config_module.canonical_layer_name(name) for name in layer_names}
    pooling_layer = keras.layers.AveragePooling2D if pooling == "avg" else keras.layers.MaxPooling2D
    padding = "valid" if pooling_border == "drop" else "same"
    inputs = keras.Input(shape=(None, None, 3), name="vgg19_input")
    tensor = inputs
    outputs = {}
    previous_block = 1
    for name in _layers_in_order(deepest_layer(layer_names)):
        block = int(name[len("conv")])
        if block != previous_block:
            # Gatys et al. replace VGG's max pooling by average pooling ("slightly more
            # appealing results"), and so does the Coursera model; max stays available.
            tensor = pooling_layer(pool_size=2, strides=2, padding=padding, name=f"block{previous_block}_pool",
                                   dtype=policy)(tensor)
            previous_block = block
        filters = channel_count(name)
        # conv1_1 stays in float32 whatever the precision: bfloat16 would round the input pixels
        # (8 significant bits: steps of 0.5–1 near ±128), making the cost a staircase in the
        # pixels that L-BFGS's line search cannot follow. With 3 input channels it is <0.1 % of the work.
        layer_policy = "float32" if name == "conv1_1" else policy
        keras_name = config_module.keras_layer_name(name)
        if before_relu:
            convolved = keras.layers.Conv2D(filters, 3, padding="same", name=keras_name, dtype=layer_policy)(tensor)
            tensor = keras.layers.ReLU(name=f"{keras_name}_relu", dtype=layer_policy)(convolved)
        else:
            convolved = tensor = keras.layers.Conv2D(filters, 3, padding="same", activation="relu", name=keras_name,
                                                     dtype=layer_policy)(tensor)
        if name in requested:
            outputs[name] = convolved
    return keras.Model(inputs, outputs, name="vgg19_features")


def load_layer_weights(model, loaded_weights):
    """Copies kernels and biases from a LoadedWeights into the model's convolutions, by Keras name."""
    for layer in model.layers:
        if not isinstance(layer, keras.layers.Conv2D):
            continue
        if layer.name not in loaded_weights.layers:
            raise weights_module.WeightsError(
                f"{loaded_weights.path or loaded_weights.source}: has no weights for {layer.name}, "
                "which the requested layers need"
            )
        kernel, bias = loaded_weights.layers[layer.name]
        expected_shape = tuple(layer.kernel.shape)
        if tuple(kernel.shape) != expected_shape:
            raise weights_module.WeightsError(
                f"{loaded_weights.path or loaded_weights.source}: {layer.name} kernel has shape "
                f"{tuple(kernel.shape)}, VGG19 needs {expected_shape}"
            )
        layer.set_weights([np.asarray(kernel, np.float32), np.asarray(bias, np.float32).reshape(-1)])


class FeatureExtractor:
    """Maps RGB 0–255 images (batch×H×W×3) to {layer name: activation}.

    The network is fed as input_normalization says (nst.weights.network_convention): by
    default with the weights' own input convention.
    """

    def __init__(self, layer_names, loaded_weights, pooling="avg", precision="float32", pooling_border="drop",
                 before_relu=False, input_normalization="weights"):
        self.layer_names = tuple(config_module.canonical_layer_name(name) for name in layer_names)
        self.convention = weights_module.network_convention(loaded_weights.convention, input_normalization)
        self.pooling_border = pooling_border
        self.model = build_vgg19_model(self.layer_names, pooling, precision, pooling_border, before_relu)
        load_layer_weights(self.model, loaded_weights)
        self.model.trainable = False

    def __call__(self, rgb_pixels):
        return self.from_network_input(self.convention.preprocess(tf.convert_to_tensor(rgb_pixels, tf.float32)))

    def from_network_input(self, network_input):
        """{layer name: activation} for a batch already in the network's input convention."""
        activations = self.model(network_input, training=False)
        # Gram matrices sum H·W products: in bfloat16 (8 significant bits) that sum would lose
        # most of its precision, so costs are always computed from float32 activations.
        return {name: tf.cast(value, tf.float32) for name, value in activations.items()}
