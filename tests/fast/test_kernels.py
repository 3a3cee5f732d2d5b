"""nst.fast.kernels: each inference layer against the plain layers it stands for, and the whole network."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from fast_fixtures import perturbed
from nst.fast import kernels
from nst.fast import network


@pytest.mark.parametrize("shape, pad", [((1, 5, 5, 2), 4), ((2, 7, 6, 3), 1), ((1, 2, 9, 1), 1), ((1, 12, 11, 4), 4)])
@pytest.mark.parametrize("mode", ["REFLECT", "SYMMETRIC"])
def test_mirror_padding_by_concatenation_is_tensorflows(shape, pad, mode):
    if mode == "REFLECT" and min(shape[1:3]) <= pad:
        pytest.skip("REFLECT needs more pixels than it pads")
    values = np.random.default_rng(0).normal(size=shape).astype(np.float32)
    expected = tf.pad(values, [[0, 0], [pad, pad], [pad, pad], [0, 0]], mode=mode).numpy()
    np.testing.assert_array_equal(kernels.mirror_padded(values, pad, mode).numpy(), expected)


def plain_output_convolution(kernel, bias):
    """ReflectionPadding2D then Conv2D, as transform_net builds the last layer."""
    padding = network.ReflectionPadding2D(kernel.shape[0] // 2)
    convolution = keras.layers.Conv2D(kernel.shape[-1], kernel.shape[0], padding="valid")
    convolution.build((None, None, None, kernel.shape[2]))
    convolution.set_weights([kernel, bias])
    return lambda values: convolution(padding(values)).numpy()


@pytest.mark.parametrize("kernel_size, height, width", [(9, 5, 5), (9, 37, 45), (9, 6, 101), (3, 8, 4), (5, 13, 7)])
def test_the_blocked_convolution_is_the_mirrored_convolution(kernel_size, height, width):
    generator = np.random.default_rng(kernel_size * height)
    kernel = generator.normal(size=(kernel_size, kernel_size, 6, 3)).astype(np.float32)
    bias = generator.normal(size=3).astype(np.float32)
    layer = kernels.SpaceToDepthConvolution(3, kernel_size)
    layer.build((None, None, None, 6))
    layer.set_weights([kernel, bias])
    values = generator.normal(size=(2, height, width, 6)).astype(np.float32)
    np.testing.assert_allclose(layer(values).numpy(), plain_output_convolution(kernel, bias)(values), atol=1e-4)


def test_a_centred_one_tap_kernel_copies_its_channel():
    """Known in advance: a 9×9 kernel whose only weight is 1 at the centre, from channel 1 to output 0."""
    kernel = np.zeros((9, 9, 2, 3), np.float32)
    kernel[4, 4, 1, 0] = 1.0
    layer = kernels.SpaceToDepthConvolution(3, 9)
    layer.build((None, None, None, 2))
    layer.set_weights([kernel, np.array([0.0, 0.5, 0.0], np.float32)])
    values = np.arange(2 * 6 * 7 * 2, dtype=np.float32).reshape(2, 6, 7, 2)
    output = layer(values).numpy()
    np.testing.assert_array_equal(output[..., 0], values[..., 1])
    np.testing.assert_array_equal(output[..., 1], np.full((2, 6, 7), 0.5, np.float32))


def test_normalisation_with_relu_is_relu_of_the_normalisation():
    values = np.random.default_rng(1).normal(size=(2, 6, 5, 4)).astype(np.float32)
    plain = network.InstanceNormalization()
    fused = kernels.InstanceNormalizationReLU()
    for layer in (plain, fused):
        layer.build(values.shape)
        layer.set_weights([np.array([1.0, 2.0, -1.0, 0.5], np.float32), np.array([0.0, 0.3, 0.1, -0.2], np.float32)])
    np.testing.assert_allclose(fused(values).numpy(), np.maximum(plain(values).numpy(), 0), atol=1e-6)


@pytest.mark.parametrize("width_multiplier", [1.0, 0.25])
@pytest.mark.parametrize("shape", [(1, 5, 5), (2, 7, 6), (1, 37, 45), (1, 6, 101)])
def test_the_inference_network_computes_what_the_network_computes(width_multiplier, shape):
    model = perturbed(network.build_transform_net(width_multiplier))
    inference = network.rebuilt(model, for_inference=True)
    pixels = np.random.default_rng(2).uniform(0, 255, (*shape, 3)).astype(np.float32)
    # Float rounding only: the same sums in another order, well under a hundredth of a gray level.
    np.testing.assert_allclose(inference(pixels).numpy(), model(pixels).numpy(), atol=0.01)
    assert sum(isinstance(layer, kernels.InstanceNormalizationReLU) for layer in inference.layers) == 10
    assert isinstance(inference.get_layer("output_conv"), kernels.SpaceToDepthConvolution)
