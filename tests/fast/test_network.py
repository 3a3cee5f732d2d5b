"""nst.fast.network: Johnson et al.'s layout, any input size, instance normalisation by hand-known values, saving."""

import keras
import numpy as np
import pytest

from fast_fixtures import perturbed
from nst.fast import network


@pytest.fixture(scope="module")
def small_net():
    return perturbed(network.build_transform_net(0.25))


def test_layout_is_johnsons():
    model = network.build_transform_net(1.0)
    convolutions = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    # 9×9, two stride-2 3×3, five residual blocks of two 3×3, (two upsampling 3×3, below), 9×9.
    assert [layer.kernel_size[0] for layer in convolutions] == [9, 3, 3] + [3] * 10 + [9]
    assert [layer.strides[0] for layer in convolutions] == [1, 2, 2] + [1] * 10 + [1]
    assert [layer.filters for layer in convolutions] == [32, 64, 128] + [128] * 10 + [3]
    upsampling = [layer for layer in model.layers if isinstance(layer, network.UpsamplingConvolution)]
    assert [tuple(layer.kernel.shape) for layer in upsampling] == [(3, 3, 128, 64), (3, 3, 64, 32)]
    assert not any(isinstance(layer, keras.layers.Conv2DTranspose) for layer in model.layers)
    assert sum(isinstance(layer, network.InstanceNormalization) for layer in model.layers) == 15
    assert sum(isinstance(layer, keras.layers.Add) for layer in model.layers) == 5
    assert model.count_params() == 1_679_235
    assert network.channel_counts_of(model) == (32, 64, 128)


@pytest.mark.parametrize("height, width", [(5, 5), (37, 45), (32, 48), (6, 101)])
def test_output_has_the_input_size_and_pixel_range(small_net, height, width):
    pixels = np.random.default_rng(0).uniform(0, 255, (2, height, width, 3)).astype(np.float32)
    output = small_net(pixels).numpy()
    assert output.shape == (2, height, width, 3)
    assert output.dtype == np.float32
    assert 0 <= output.min() and output.max() <= 255


def test_images_of_a_batch_do_not_influence_each_other(small_net):
    generator = np.random.default_rng(2)
    first = generator.uniform(0, 255, (1, 24, 24, 3)).astype(np.float32)
    second = generator.uniform(0, 50, (1, 24, 24, 3)).astype(np.float32)
    together = small_net(np.concatenate([first, second])).numpy()
    np.testing.assert_allclose(together[:1], small_net(first).numpy(), atol=1e-3)


@pytest.mark.parametrize("fused", [True, False])
def test_instance_normalisation_by_hand(fused):
    layer = network.InstanceNormalization(epsilon=1e-6 if not fused else 1.001e-5, fused=fused)
    # Image 0 holds 1 and 3 (mean 2, deviation 1) -> -1 and 1; image 1 is image 0 × 10 + 5,
    # which normalises to the same values because each image uses its own statistics.
    values = np.array([[[[1.0], [3.0]], [[1.0], [3.0]]]], np.float32)
    batch = np.concatenate([values, values * 10 + 5])
    output = layer(batch).numpy()
    expected = np.array([[[[-1.0], [1.0]], [[-1.0], [1.0]]]], np.float32)
    np.testing.assert_allclose(output, np.concatenate([expected, expected]), atol=1e-5)
    layer.scale.assign([2.0])
    layer.offset.assign([0.5])
    np.testing.assert_allclose(layer(batch).numpy(), np.concatenate([expected, expected]) * 2 + 0.5, atol=1e-5)


@pytest.mark.parametrize("fused", [True, False])
def test_instance_normalisation_of_a_constant_channel_is_its_offset(fused):
    layer = network.InstanceNormalization(fused=fused)
    layer.build((None, None, None, 2))
    layer.offset.assign([0.25, -3.0])
    output = layer(np.full((1, 3, 4, 2), 7.0, np.float32)).numpy()
    np.testing.assert_allclose(output[..., 0], 0.25, atol=1e-6)
    np.testing.assert_allclose(output[..., 1], -3.0, atol=1e-6)


@pytest.mark.parametrize("height, width", [(4, 5), (7, 6), (1, 1)])
def test_upsampling_convolution_is_resize_pad_and_convolve(height, width):
    """The phase-wise computation against the plain definition: repeat pixels, mirror-pad, 3×3 convolution."""
    generator = np.random.default_rng(height * width)
    inputs = generator.normal(size=(2, height, width, 5)).astype(np.float32)
    layer = network.UpsamplingConvolution(7)
    layer.build(inputs.shape)
    kernel = generator.normal(size=(3, 3, 5, 7)).astype(np.float32)
    bias = generator.normal(size=7).astype(np.float32)
    layer.set_weights([kernel, bias])
    upsampled = inputs.repeat(2, axis=1).repeat(2, axis=2)
    padded = np.pad(upsampled, ((0, 0), (1, 1), (1, 1), (0, 0)), mode="reflect" if height > 1 else "symmetric")
    expected = np.zeros((2, 2 * height, 2 * width, 7), np.float64)
    for row in range(3):
        for column in range(3):
            window = padded[:, row:row + 2 * height, column:column + 2 * width, :]
            expected += np.einsum("bhwi,io->bhwo", window, kernel[row, column])
    np.testing.assert_allclose(layer(inputs).numpy(), expected + bias, atol=1e-4)


def test_crop_like_cuts_to_the_reference_size():
    values = np.arange(16, dtype=np.float32).reshape(1, 4, 4, 1)
    cropped = network.CropLike()([values, np.zeros((1, 3, 2, 9), np.float32)]).numpy()
    np.testing.assert_array_equal(cropped[0, :, :, 0], [[0, 1], [4, 5], [8, 9]])


def test_scaled_tanh_maps_to_pixels():
    output = network.ScaledTanh()(np.array([0.0, 100.0, -100.0], np.float32)).numpy()
    np.testing.assert_allclose(output, [127.5, 255.0, 0.0], atol=1e-4)


def test_rebuilt_copies_compute_the_same(small_net):
    pixels = np.random.default_rng(3).uniform(0, 255, (1, 29, 35, 3)).astype(np.float32)
    reference = small_net(pixels).numpy()
    portable = network.rebuilt(small_net, fused_normalization=False)
    np.testing.assert_allclose(portable(pixels).numpy(), reference, atol=0.01)
    bfloat16 = network.rebuilt(small_net, dtype_policy="mixed_bfloat16")
    assert bfloat16.get_layer("input_conv").compute_dtype == "bfloat16"
    difference = np.abs(bfloat16(pixels).numpy() - reference)
    assert difference.mean() < 3.0  # bfloat16 keeps 8 significant bits: a few gray levels at most on average


def test_save_and_load_round_trip(small_net, tmp_path):
    path = tmp_path / "net.keras"
    small_net.save(path)
    loaded = network.load_transform_net(path)
    pixels = np.random.default_rng(4).uniform(0, 255, (1, 16, 20, 3)).astype(np.float32)
    np.testing.assert_array_equal(loaded(pixels).numpy(), small_net(pixels).numpy())
    assert network.channel_counts_of(loaded) == (8, 16, 32)


def test_loading_something_else_is_a_clear_error(tmp_path):
    not_a_model = tmp_path / "photo.keras"
    not_a_model.write_bytes(b"not a zip file")
    with pytest.raises(network.TransformNetError, match="photo.keras: not a transformation network"):
        network.load_transform_net(not_a_model)
    other = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    other.save(tmp_path / "other.keras")
    with pytest.raises(network.TransformNetError, match="not a transformation network built by this tool"):
        network.load_transform_net(tmp_path / "other.keras")
