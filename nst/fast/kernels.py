"""Inference-only forms of some of the transformation network's layers: the same values, less time on a CPU.

Profiled at 1024×680 in float32 on a 2-core server CPU (docs/fast_style_transfer.md, Speed),
the network's 3×3 convolutions run near the processor's peak; three things around them did
not: the last convolution, to three channels, kept the 16-wide vector units a sixteenth busy
(a sixth of the whole pass); TensorFlow's mirror-padding kernel, before every convolution,
copies an element at a time; and every ReLU after a normalisation was a pass over memory of
its own. The layers below compute the same sums in another order, so their results differ
from nst.fast.network's by float rounding only (tests/fast/test_kernels.py bounds it);
network.rebuilt(for_inference=True) copies a trained network's weights into them.
They are for stylising: not for training, saving or conversion.

Tried and dropped, because they measured no faster: convolving with zero padding and
recomputing the border outputs instead of copying a mirror-padded input (the in-place
updates copy the tensor after all), and upsampling convolutions without the shifted
copies of their input."""

import keras
import numpy as np
import tensorflow as tf

from nst.fast import network


def _ceil_div(numerator, denominator):
    return -(-numerator // denominator)


def mirror_padded(inputs, pad, mode="REFLECT"):
    """tf.pad(inputs, pad on each side of height and width, mode) built from slices and two concatenations.

    The same values (a copy) in a little over half the time of TensorFlow's MirrorPad
    kernel, which moves an element at a time: concatenation copies whole rows.
    """
    skip = 1 if mode == "REFLECT" else 0  # REFLECT leaves out the edge row it mirrors at, SYMMETRIC repeats it
    for axis in (2, 1):
        size = tf.shape(inputs)[axis]
        before = tf.reverse(tf.gather(inputs, tf.range(skip, skip + pad), axis=axis), [axis])
        after = tf.reverse(tf.gather(inputs, tf.range(size - skip - pad, size - skip), axis=axis), [axis])
        inputs = tf.concat([before, inputs, after], axis=axis)
    return inputs


class ConcatReflectionPadding2D(network.ReflectionPadding2D):
    """ReflectionPadding2D with mirror_padded."""

    def call(self, inputs):
        return mirror_padded(inputs, self.padding)


class ConcatPaddingUpsamplingConvolution(network.UpsamplingConvolution):
    """UpsamplingConvolution with mirror_padded."""

    def _padded(self, inputs):
        return mirror_padded(inputs, 1, mode="SYMMETRIC")


class SpaceToDepthConvolution(keras.layers.Layer):
    """ReflectionPadding2D then a k×k Conv2D to a few channels (the network's last layer), computed on 4×4 blocks.

    A convolution to 3 channels keeps a CPU's 16-wide vector units a sixteenth busy. With
    the pixels regrouped into 4×4 blocks (space_to_depth), the same sums are a 3×3
    convolution from 16·C to 48 channels, which runs at full width: 1.8 times the
    multiply-adds, as the blocked kernel holds zeros, in about a third of the time.
    """

    BLOCK = 4

    def __init__(self, filters, kernel_size, **kwargs):
        super().__init__(**kwargs)
        self.filters = int(filters)
        self.kernel_size = int(kernel_size)
        block = self.BLOCK
        # The blocks an output block reads along one axis, and for each (block t, input place r,
        # output place a) the kernel tap b·t + r − a; taps outside the kernel point at an added zero tap.
        self.taps = _ceil_div(self.kernel_size - 1 + block, block)
        t, r, a = np.meshgrid(np.arange(self.taps), np.arange(block), np.arange(block), indexing="ij")
        tap = block * t + r - a
        self._tap_index = np.where((tap >= 0) & (tap < self.kernel_size), tap, self.kernel_size).reshape(-1)

    def build(self, input_shape):
        self.kernel = self.add_weight(name="kernel", shape=(self.kernel_size, self.kernel_size, input_shape[-1],
                                                            self.filters))
        self.bias = self.add_weight(name="bias", shape=(self.filters,), initializer="zeros")

    def _blocked_kernel(self, kernel):
        """The (taps, taps, b·b·C, b·b·F) kernel on blocks.

        Entry [t, u, (r, s, c), (a, q, f)] is kernel[b·t + r − a, b·u + s − q, c, f], or 0 outside the kernel.
        """
        block, taps, size = self.BLOCK, self.taps, self.kernel_size
        channels = tf.shape(kernel)[2]
        with_zero_tap = tf.pad(kernel, [[0, 1], [0, 1], [0, 0], [0, 0]])
        by_rows = tf.reshape(tf.gather(with_zero_tap, self._tap_index, axis=0),
                             [taps, block, block, size + 1, channels, self.filters])
        both = tf.reshape(tf.gather(by_rows, self._tap_index, axis=3),
                          [taps, block, block, taps, block, block, channels, self.filters])
        # [t, r, a, u, s, q, c, f] -> [t, u, r, s, c, a, q, f]: space_to_depth's and depth_to_space's channel orders.
        both = tf.transpose(both, [0, 3, 1, 4, 6, 2, 5, 7])
        return tf.reshape(both, [taps, taps, block * block * channels, block * block * self.filters])

    def call(self, inputs):
        block, pad = self.BLOCK, self.kernel_size // 2
        height, width = tf.shape(inputs)[1], tf.shape(inputs)[2]
        padded = mirror_padded(inputs, pad)
        # Whole blocks for every output block's window; the extra rows and columns meet only zero taps.
        needed_rows = (_ceil_div(height, block) + self.taps - 1) * block
        needed_columns = (_ceil_div(width, block) + self.taps - 1) * block
        padded = tf.pad(padded, [[0, 0], [0, needed_rows - height - 2 * pad], [0, needed_columns - width - 2 * pad],
                                 [0, 0]])
        kernel = self._blocked_kernel(tf.cast(self.kernel, inputs.dtype))
        blocks = tf.nn.conv2d(tf.nn.space_to_depth(padded, block), kernel, 1, "VALID")
        outputs = tf.nn.depth_to_space(blocks, block)[:, :height, :width]
        return tf.nn.bias_add(outputs, tf.cast(self.bias, inputs.dtype))


class InstanceNormalizationReLU(network.InstanceNormalization):
    """InstanceNormalization (fused) then ReLU, applied straight to the fused kernel's output.

    There TensorFlow's graph optimiser merges the two into one kernel; after the layer's
    final transpose it cannot, and the ReLU is a pass of its own.
    """

    def __init__(self, **kwargs):
        super().__init__(fused=True, **kwargs)

    def _after_fused_kernel(self, normalised):
        return tf.nn.relu(normalised)


class InferenceLayerFactory(network._LayerFactory):
    """transform_net's layer factory with the layers above: the same network, the same weights in the same order."""

    padding_layer = ConcatReflectionPadding2D
    upsampling_layer = ConcatPaddingUpsamplingConvolution

    def __init__(self, dtype_policy):
        super().__init__(dtype_policy, fused_normalization=True)

    def normalisation_relu(self, tensor, name):
        return InstanceNormalizationReLU(name=f"{name}_norm", dtype=self.dtype_policy)(tensor)

    def output_convolution(self, tensor, filters, kernel_size, name):
        return SpaceToDepthConvolution(filters, kernel_size, name=name, dtype=self.dtype_policy)(tensor)
