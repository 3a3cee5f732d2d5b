"""Johnson et al.'s (2016) image transformation network: RGB pixels in, the stylised RGB pixels out."""

import keras
import tensorflow as tf
from nst import errors
from nst.fast import config as fast_config

TransformNetError = errors.TransformNetError


@keras.saving.register_keras_serializable(package="nst")
class InstanceNormalization(keras.layers.Layer):
    """Normalises each image's channels over its own height and width, then scales and shifts them.

    Ulyanov et al. (2016) showed that this, not batch normalisation, is what lets a
    feed-forward network stylise well: the contrast of the content image is removed
    per image, at training and at test time alike.

    fused=True computes it with TensorFlow's fused batch-normalisation kernel (see _fused);
    fused=False with plain reductions and arithmetic, which every converter understands
    (TFLite has no training-mode batch normalisation). Both give the same values.
    """

    # Keras's normalisation default; also above the fused kernel's floor (1.001e-5), which it
    # would silently raise smaller values to, so both implementations use the same epsilon.
    DEFAULT_EPSILON = 1e-3

    def __init__(self, epsilon=DEFAULT_EPSILON, fused=True, **kwargs):
        super().__init__(**kwargs)
        self.epsilon = epsilon
        self.fused = fused

    def build(self, input_shape):
        channels = input_shape[-1]
        self.scale = self.add_weight(name="scale", shape=(channels,), initializer="ones")
        self.offset = self.add_weight(name="offset", shape=(channels,), initializer="zeros")

    def call(self, inputs):
        normalised = self._fused(inputs) if self.fused else self._portable(inputs)
        normalised.set_shape(inputs.shape)
        return normalised

    def _fused(self, inputs):
        # Batch normalisation in training mode uses the statistics of its whole input; with
        # the batch folded into the channels, those are each image's own: instance
        # normalisation in one kernel that keeps its statistics in float32 even for
        # bfloat16 inputs. On a CPU this is several times faster than _portable, which
        # makes four passes over a full-resolution tensor.
        shape = tf.shape(inputs)
        batch, height, width, channels = shape[0], shape[1], shape[2], shape[3]
        # For a batch of one this transpose moves only a size-1 axis, which TensorFlow does without copying.
        folded = tf.reshape(tf.transpose(inputs, [1, 2, 0, 3]), [1, height, width, batch * channels])
        normalised, _, _ = tf.compat.v1.nn.fused_batch_norm(
            folded,
            tf.tile(tf.cast(self.scale, tf.float32), [batch]),
            tf.tile(tf.cast(self.offset, tf.float32), [batch]),
            epsilon=self.epsilon,
            is_training=True,
        )
        normalised = self._after_fused_kernel(normalised)
        return tf.transpose(tf.reshape(normalised, [height, width, batch, channels]), [2, 0, 1, 3])

    def _after_fused_kernel(self, normalised):
        """What a subclass applies to the fused kernel's output while the batch is folded (nothing here)."""
        return normalised

    def _portable(self, inputs):
        # Statistics in float32 even under a bfloat16 policy: 8 mantissa bits are too few for a variance.
        values = tf.cast(inputs, tf.float32)
        mean, variance = tf.nn.moments(values, axes=[1, 2], keepdims=True)
        normalised = (values - mean) * tf.math.rsqrt(variance + self.epsilon)
        scaled = normalised * tf.cast(self.scale, tf.float32) + tf.cast(self.offset, tf.float32)
        return tf.cast(scaled, self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon, "fused": self.fused}


@keras.saving.register_keras_serializable(package="nst")
class ReflectionPadding2D(keras.layers.Layer):
    """Pads height and width by mirroring, so convolutions see no dark zero border."""

    def __init__(self, padding, **kwargs):
        super().__init__(**kwargs)
        self.padding = int(padding)

    def call(self, inputs):
        side = [self.padding, self.padding]
        return tf.pad(inputs, [[0, 0], side, side, [0, 0]], mode="REFLECT")

    def get_config(self):
        return {**super().get_config(), "padding": self.padding}


def _phase_taps(kernel, phase, axis):
    """The 2 taps along axis (0 rows, 1 columns) that a 3-tap kernel has on a ×2 nearest-upsampled signal.

    Output 2i + phase of the upsampled signal sees input i − 1, i, i (phase 0) or i, i, i + 1
    (phase 1): the middle tap falls on the same input sample as one of its neighbours.
    """
    first, middle, last = tf.unstack(kernel, axis=axis)
    pair = (first, middle + last) if phase == 0 else (first + middle, last)
    return tf.stack(pair, axis=axis)


@keras.saving.register_keras_serializable(package="nst")
class UpsamplingConvolution(keras.layers.Layer):
    """Nearest-neighbour ×2 upsampling, mirrored padding by 1, then a 3×3 convolution: computed at low resolution.

    Output pixel (2i + a, 2j + b) of that sequence sees only input rows i − 1 + a, i + a and
    columns j − 1 + b, j + b, so each of the four phases (a, b) is a 2×2 convolution of the
    input with summed taps of the 3×3 kernel (_phase_taps), and depth_to_space interleaves
    them. The values are those of resize-then-convolve; the work is 4/9 of it, with no
    upsampled copy of the input. Mirrored padding of the upsampled image is symmetric
    padding of the input by one pixel. The kernel is stored as the 3×3 kernel it stands for.
    """

    def __init__(self, filters, **kwargs):
        super().__init__(**kwargs)
        self.filters = int(filters)

    def build(self, input_shape):
        self.kernel = self.add_weight(
            name="kernel", shape=(3, 3, input_shape[-1], self.filters), initializer="glorot_uniform"
        )
        self.bias = self.add_weight(name="bias", shape=(self.filters,), initializer="zeros")

    def call(self, inputs):
        kernel = tf.cast(self.kernel, inputs.dtype)
        bias = tf.cast(self.bias, inputs.dtype)
        padded = self._padded(inputs)
        # Phase 0 reads padded rows i, i + 1 (input rows i − 1, i); phase 1 rows i + 1, i + 2.
        windows = {0: slice(None, -1), 1: slice(1, None)}
        phases = []
        for row_phase in (0, 1):
            row_kernel = _phase_taps(kernel, row_phase, axis=0)
            for column_phase in (0, 1):
                phase_kernel = _phase_taps(row_kernel, column_phase, axis=1)
                window = padded[:, windows[row_phase], windows[column_phase], :]
                convolved = tf.nn.conv2d(window, phase_kernel, strides=1, padding="VALID")
                phases.append(tf.nn.bias_add(convolved, bias))
        # depth_to_space puts channel block 2·a + b at offset (a, b) of each 2×2 output block.
        return tf.nn.depth_to_space(tf.concat(phases, axis=-1), 2)

    def _padded(self, inputs):
        return tf.pad(inputs, [[0, 0], [1, 1], [1, 1], [0, 0]], mode="SYMMETRIC")

    def compute_output_shape(self, input_shape):
        double = [None if side is None else 2 * side for side in input_shape[1:3]]
        return (input_shape[0], *double, self.filters)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters}


@keras.saving.register_keras_serializable(package="nst")
class CropLike(keras.layers.Layer):
    """Cuts the first input down to the height and width of the second.

    An upsampled odd-sized map is one row or column larger than its downsampling stage
    was; cutting it keeps the output the input's size for any size.
    """

    def call(self, inputs):
        values, reference = inputs
        height, width = tf.unstack(tf.shape(reference)[1:3])
        # A size with the channel count as a constant keeps it visible to TFLite's converter.
        return tf.slice(values, [0, 0, 0, 0], tf.stack([-1, height, width, values.shape[-1]]))

    def compute_output_shape(self, input_shapes):
        values_shape, reference_shape = input_shapes
        return (values_shape[0], reference_shape[1], reference_shape[2], values_shape[-1])


@keras.saving.register_keras_serializable(package="nst")
class ScaledTanh(keras.layers.Layer):
    """Maps any value into pixel units: 127.5·(tanh(x) + 1) lies in 0–255, as in Johnson et al."""

    def call(self, inputs):
        return 127.5 * (tf.tanh(tf.cast(inputs, tf.float32)) + 1.0)


class _LayerFactory:
    """Makes the network's layers with one dtype policy and one instance-normalisation implementation."""

    def __init__(self, dtype_policy, fused_normalization):
        self.dtype_policy = dtype_policy
        self.fused_normalization = fused_normalization

    padding_layer = ReflectionPadding2D

    def convolution(self, tensor, filters, kernel_size, name, strides=1):
        """Reflection padding then a valid convolution: the output keeps the input's size divided by strides."""
        tensor = self.padding_layer(kernel_size // 2, name=f"{name}_pad", dtype=self.dtype_policy)(tensor)
        convolution = keras.layers.Conv2D(
            filters, kernel_size, strides=strides, padding="valid", name=name, dtype=self.dtype_policy
        )
        return convolution(tensor)

    def normalisation(self, tensor, name):
        layer = InstanceNormalization(fused=self.fused_normalization, name=name, dtype=self.dtype_policy)
        return layer(tensor)

    def normalisation_relu(self, tensor, name):
        """Instance normalisation (layer <name>_norm) then ReLU (<name>_relu)."""
        tensor = self.normalisation(tensor, f"{name}_norm")
        return keras.layers.ReLU(name=f"{name}_relu", dtype=self.dtype_policy)(tensor)

    def convolution_block(self, tensor, filters, kernel_size, name, strides=1):
        tensor = self.convolution(tensor, filters, kernel_size, name, strides)
        return self.normalisation_relu(tensor, name)

    def residual_block(self, tensor, filters, name):
        # Gross and Wilber's variant, which Johnson et al. used: no ReLU after the addition.
        shortcut = tensor
        tensor = self.convolution_block(tensor, filters, 3, f"{name}_conv1")
        tensor = self.convolution(tensor, filters, 3, f"{name}_conv2")
        tensor = self.normalisation(tensor, f"{name}_conv2_norm")
        return keras.layers.Add(name=f"{name}_add", dtype=self.dtype_policy)([shortcut, tensor])

    def upsampling_block(self, tensor, reference, filters, name):
        # Nearest-neighbour resize then convolution instead of a transposed convolution, whose
        # uneven kernel overlap paints checkerboard artefacts (Odena et al., Distill 2016).
        tensor = self.upsampling_convolution(tensor, filters, name)
        tensor = CropLike(name=f"{name}_crop", dtype=self.dtype_policy)([tensor, reference])
        return self.normalisation_relu(tensor, name)

    upsampling_layer = UpsamplingConvolution

    def upsampling_convolution(self, tensor, filters, name):
        return self.upsampling_layer(filters, name=name, dtype=self.dtype_policy)(tensor)

    def output_convolution(self, tensor, filters, kernel_size, name):
        return self.convolution(tensor, filters, kernel_size, name)


def build_transform_net(width_multiplier=1.0, dtype_policy="float32", fused_normalization=True, name="transform_net"):
    """The Keras model: batch×H×W×3 RGB pixels (0–255, any H and W) -> same-size stylised RGB pixels (0–255).

    Layout (Johnson et al. 2016, with Ulyanov et al.'s instance normalisation): 9×9 conv,
    two stride-2 3×3 convs, five residual blocks, two nearest-neighbour ×2 upsamplings each
    followed by a 3×3 conv, a 9×9 conv to three channels and a scaled tanh. Channel counts
    are Johnson's (32, 64, 128) times width_multiplier, rounded. dtype_policy
    'mixed_bfloat16' computes in bfloat16 with float32 weights; the output is float32 always.
    fused_normalization: see InstanceNormalization.
    """
    return _build(fast_config.channel_counts(width_multiplier), dtype_policy, fused_normalization, name)


def _build(channels, dtype_policy, fused_normalization, name, for_inference=False):
    full, half, quarter = channels
    if for_inference:
        from nst.fast import kernels  # it builds on this module's layers

        layers = kernels.InferenceLayerFactory(dtype_policy)
    else:
        layers = _LayerFactory(dtype_policy, fused_normalization)
    pixels = keras.Input(shape=(None, None, 3), name="pixels")
    unit_range = keras.layers.Rescaling(1 / 127.5, offset=-1.0, name="to_unit_range", dtype=dtype_policy)(pixels)
    full_resolution = layers.convolution_block(unit_range, full, 9, "input_conv")
    half_resolution = layers.convolution_block(full_resolution, half, 3, "down1", strides=2)
    tensor = layers.convolution_block(half_resolution, quarter, 3, "down2", strides=2)
    for index in range(1, fast_config.RESIDUAL_BLOCKS + 1):
        tensor = layers.residual_block(tensor, quarter, f"residual{index}")
    tensor = layers.upsampling_block(tensor, half_resolution, half, "up1")
    tensor = layers.upsampling_block(tensor, full_resolution, full, "up2")
    tensor = layers.output_convolution(tensor, 3, 9, "output_conv")
    stylised = ScaledTanh(name="to_pixels", dtype="float32")(tensor)
    return keras.Model(pixels, stylised, name=name)


def rebuilt(model, dtype_policy="float32", fused_normalization=True, for_inference=False):
    """A copy of a transformation network with the same weights, computing with another policy or normalisation.

    Used to run a float32-trained network in bfloat16, and to export it with the
    portable normalisation. for_inference=True builds it from nst.fast.kernels' layers,
    which compute the same values with fewer passes over memory but cannot be trained,
    saved or converted (fused normalisation always).
    """
    copy = _build(channel_counts_of(model), dtype_policy, fused_normalization, model.name, for_inference)
    copy.set_weights(model.get_weights())
    return copy


def channel_counts_of(model):
    """(full, half, quarter)-resolution channel counts of a transformation network, read from its layers."""
    try:
        return tuple(model.get_layer(name).filters for name in ("input_conv", "down1", "down2"))
    except ValueError as error:
        raise TransformNetError(f"{model.name} is not a transformation network built by this tool") from error


def load_transform_net(path):
    """Reads a transformation network saved with model.save(path) (a .keras file); TransformNetError if not one."""
    try:
        model = keras.saving.load_model(path, compile=False)
    except Exception as error:  # zip, JSON, h5 and Keras errors of many types for a damaged or foreign file
        detail = " ".join(str(error).split())[:300] or type(error).__name__
        raise TransformNetError(f"{path}: not a transformation network this tool can read ({detail})") from error
    channel_counts_of(model)
    return model
