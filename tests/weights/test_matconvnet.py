"""nst.weights.matconvnet: MatConvNet's imagenet-vgg-verydeep-19.mat, old and new layouts, kernels as stored."""

import numpy as np
import pytest
import scipy.io

import weight_fixtures
from nst import weights


def test_matconvnet_fixture_versions_store_fields_in_their_published_orders(tmp_path, few_layers):
    """The old file lists a layer's weights first, the new one its name first: the reader must go by name."""
    old = scipy.io.loadmat(weight_fixtures.write_weights_file("mat-old", tmp_path / "old.mat", few_layers))
    new = scipy.io.loadmat(weight_fixtures.write_weights_file("mat-new", tmp_path / "new.mat", few_layers))

    assert old["layers"][0, 0].dtype.names == ("weights", "pad", "type", "name", "stride")
    assert new["layers"][0, 0].dtype.names[:3] == ("name", "type", "weights")
    assert "normalization" in old and "meta" not in old
    assert "meta" in new and "normalization" not in new
    assert [str(new["layers"][0, i]["type"][0, 0][0]) for i in range(3)] == ["conv", "relu", "conv"]


@pytest.mark.parametrize("kind", ["mat-old", "mat-new"])
def test_matconvnet_mat_uses_rgb_and_the_mean_in_the_file(tmp_path, few_layers, kind):
    path = weight_fixtures.write_weights_file(kind, tmp_path / "weights.mat", few_layers, mean_rgb=weight_fixtures.DISTINCT_MEAN_RGB)
    loaded = weights.load_weights(path)
    assert loaded.convention.channel_order == "rgb"
    assert loaded.convention.mean == pytest.approx(weight_fixtures.DISTINCT_MEAN_RGB, abs=1e-4)
    assert loaded.convention.std == (1.0, 1.0, 1.0)
    assert loaded.path == path and path in loaded.source and loaded.warning is None


def test_matconvnet_kernels_are_read_as_stored_height_first(tmp_path):
    """A Caffe filter that responds to rows keeps responding to rows after MatConvNet's import and this reader."""
    blob = np.zeros((64, 3, 3, 3), np.float32)  # Caffe: [out, in, height, width]
    blob[0, :, 2, 1], blob[0, :, 0, 1] = 1.0, -1.0  # output 0: the row below minus the row above
    layers = {"block1_conv1": (weight_fixtures.matconvnet_kernel_from_caffe(blob, first_layer=True),
                               np.zeros(64, np.float32))}
    path = weight_fixtures.write_weights_file("mat-new", tmp_path / "weights.mat", layers, mean_rgb=(0.0, 0.0, 0.0))
    stored = scipy.io.loadmat(path)["layers"][0, 0]["weights"][0, 0][0, 0]
    np.testing.assert_array_equal(stored, layers["block1_conv1"][0])  # the fixture writes the importer's layout

    kernel = weights.load_weights(path).layers["block1_conv1"][0]
    rows = np.repeat(np.arange(6, dtype=np.float32)[:, None], 6, axis=1)  # brightness grows down the rows
    image = np.repeat(rows[:, :, None], 3, axis=2)
    response = _first_convolution(weights.load_weights(path).convention, kernel, np.zeros(64, np.float32), image)
    # Inside the image, the row below minus the row above is 2 per channel, 3 channels: 6 (after the ReLU).
    np.testing.assert_allclose(response[1:-1, 1:-1, 0], 6.0)
    columns = image.transpose(1, 0, 2)  # the same image turned: brightness grows along the rows, not down them
    assert np.abs(_first_convolution(weights.load_weights(path).convention, kernel, np.zeros(64, np.float32),
                                     columns)[1:-1, 1:-1, 0]).max() == 0.0


def test_keras_and_matconvnet_files_from_one_caffe_network_hold_the_same_kernels(tmp_path):
    """Both published files come from the same Caffe blobs, each in its real layout: they load equal."""
    generator = np.random.default_rng(4)
    blobs = {"block1_conv1": generator.standard_normal((64, 3, 3, 3), dtype=np.float32),
             "block1_conv2": generator.standard_normal((64, 64, 3, 3), dtype=np.float32)}
    biases = {name: generator.standard_normal(64, dtype=np.float32) for name in blobs}
    keras_layers = {name: (weight_fixtures.keras_kernel_from_caffe(blob), biases[name]) for name, blob in blobs.items()}
    mat_layers = {name: (weight_fixtures.matconvnet_kernel_from_caffe(blob, name == "block1_conv1"), biases[name])
                  for name, blob in blobs.items()}
    from_keras = weights.load_weights(weight_fixtures.write_weights_file("h5", tmp_path / "w.h5", keras_layers))
    from_mat = weights.load_weights(weight_fixtures.write_weights_file("mat-old", tmp_path / "w.mat", mat_layers))

    np.testing.assert_array_equal(from_mat.layers["block1_conv2"][0], from_keras.layers["block1_conv2"][0])
    # conv1_1 differs only in its input channel order, which the two conventions undo.
    np.testing.assert_array_equal(from_mat.layers["block1_conv1"][0][:, :, ::-1], from_keras.layers["block1_conv1"][0])


def _first_convolution(convention, kernel, bias, rgb_image):
    """conv1_1 with 'same' padding on one image, in numpy, independent of TensorFlow."""
    network_input = convention.preprocess(rgb_image)
    padded = np.pad(network_input, ((1, 1), (1, 1), (0, 0)))
    windows = np.lib.stride_tricks.sliding_window_view(padded, (3, 3), axis=(0, 1))  # H×W×C×3×3
    return np.einsum("yxcij,ijco->yxo", windows, kernel) + bias
