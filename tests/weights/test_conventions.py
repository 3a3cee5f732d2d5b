"""nst.weights.conventions: each publisher's input convention, and one network giving one answer through each."""

import numpy as np

import weight_fixtures
from nst import weights


def test_caffe_preprocess_is_the_rgb_preprocess_reversed():
    rgb_pixels = np.random.default_rng(0).uniform(0, 255, (2, 5, 7, 3)).astype(np.float32)
    rgb_convention = weights.InputConvention("rgb", mean=weights.CAFFE_CONVENTION.mean)

    caffe_input = weights.CAFFE_CONVENTION.preprocess(rgb_pixels)
    np.testing.assert_allclose(caffe_input, rgb_convention.preprocess(rgb_pixels)[..., ::-1], atol=1e-5)
    np.testing.assert_allclose(
        weights.CAFFE_CONVENTION.preprocess(rgb_pixels)[0, 0, 0],
        (rgb_pixels[0, 0, 0] - np.float32([123.68, 116.779, 103.939]))[::-1], atol=1e-4)


def _first_convolution(convention, kernel, bias, rgb_image):
    """conv1_1 with 'same' padding on one image, in numpy, independent of TensorFlow."""
    network_input = convention.preprocess(rgb_image)
    padded = np.pad(network_input, ((1, 1), (1, 1), (0, 0)))
    windows = np.lib.stride_tricks.sliding_window_view(padded, (3, 3), axis=(0, 1))  # H×W×C×3×3
    return np.einsum("yxcij,ijco->yxo", windows, kernel) + bias


def test_keras_and_matconvnet_files_of_one_network_give_the_same_first_activations(tmp_path, few_layers):
    """As published: Keras's file expects BGR, MatConvNet's importer reversed conv1_1 to take RGB."""
    h5_path = weight_fixtures.write_weights_file("h5", tmp_path / "caffe.h5", few_layers)
    mat_layers = weight_fixtures.reverse_first_layer_channels(few_layers)
    mat_path = weight_fixtures.write_weights_file("mat-old", tmp_path / "matconvnet.mat", mat_layers, mean_rgb=weights.CAFFE_CONVENTION.mean)
    rgb_image = np.random.default_rng(1).uniform(0, 255, (6, 8, 3)).astype(np.float32)

    from_h5, from_mat = weights.load_weights(h5_path), weights.load_weights(mat_path)
    activations_h5 = _first_convolution(from_h5.convention, *from_h5.layers["block1_conv1"], rgb_image)
    activations_mat = _first_convolution(from_mat.convention, *from_mat.layers["block1_conv1"], rgb_image)

    np.testing.assert_allclose(activations_mat, activations_h5, rtol=1e-4, atol=1e-3)
