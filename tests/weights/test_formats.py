"""nst.weights.formats and the readers together: every format gives the same layers; bad files are one-line errors."""

import json
import zipfile

import h5py
import numpy as np
import pytest
import safetensors.numpy
import scipy.io

import weight_fixtures
from nst import weights


@pytest.mark.parametrize("kind", ["h5", "h5-keras2", "mat-old", "mat-new", "pth", "pth-legacy", "safetensors"])
def test_every_format_loads_the_same_kernels_and_biases(tmp_path, few_layers, kind):
    loaded = weights.load_weights(weight_fixtures.write_weights_file(kind, tmp_path / "weights.bin", few_layers))
    weight_fixtures.assert_layers_equal(loaded.layers, few_layers)


def test_readers_skip_pooling_and_fully_connected_layers(tmp_path, few_layers):
    small_dense = (np.ones((8, 4), np.float32), np.zeros(4, np.float32))
    h5_path = weight_fixtures.write_keras_h5(
        tmp_path / "full.h5", few_layers, extra_layers={"flatten": (), "fc1": small_dense})
    small_conv = (np.ones((1, 1, 8, 4), np.float32), np.zeros(4, np.float32))
    mat_path = weight_fixtures.write_matconvnet_mat(
        tmp_path / "full.mat", few_layers, extra_conv_layers={"fc6": small_conv})

    assert list(weights.load_weights(str(h5_path)).layers) == list(few_layers)
    assert list(weights.load_weights(str(mat_path)).layers) == list(few_layers)


def test_a_file_with_only_the_first_layers_loads_them(tmp_path):
    layers = weight_fixtures.random_vgg19_layers(seed=2, layer_count=2)
    loaded = weights.load_weights(weight_fixtures.write_weights_file("h5", tmp_path / "two.h5", layers))
    assert list(loaded.layers) == ["block1_conv1", "block1_conv2"]


def test_file_type_comes_from_content_not_name(tmp_path, few_layers):
    h5_named_mat = weight_fixtures.write_weights_file("h5", tmp_path / "looks_like.mat", few_layers)
    mat_named_h5 = weight_fixtures.write_weights_file("mat-old", tmp_path / "looks_like.h5", few_layers)
    safetensors_named_pth = weight_fixtures.write_weights_file("safetensors", tmp_path / "looks_like.pth", few_layers)
    assert weights.load_weights(h5_named_mat).convention.channel_order == "bgr"
    assert weights.load_weights(mat_named_h5).convention.channel_order == "rgb"
    assert weights.load_weights(safetensors_named_pth).convention == weights.TORCHVISION_CONVENTION


def _missing(tmp_path):
    return tmp_path / "nowhere.h5"


def _directory(tmp_path):
    (tmp_path / "folder.h5").mkdir()
    return tmp_path / "folder.h5"


def _empty(tmp_path):
    (tmp_path / "empty.h5").write_bytes(b"")
    return tmp_path / "empty.h5"


def _text(tmp_path):
    (tmp_path / "notes.h5").write_text("these are not weights\n")
    return tmp_path / "notes.h5"


def _truncated_h5(tmp_path):
    path = weight_fixtures.write_keras_h5(tmp_path / "cut.h5", weight_fixtures.random_vgg19_layers(0, weight_fixtures.FEW_LAYERS))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def _truncated_mat(tmp_path):
    path = weight_fixtures.write_matconvnet_mat(tmp_path / "cut.mat", weight_fixtures.random_vgg19_layers(0, 3))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def _h5_without_keras_layout(tmp_path):
    with h5py.File(tmp_path / "plain.h5", "w") as h5_file:
        h5_file.create_dataset("data", data=np.zeros(3))
    return tmp_path / "plain.h5"


def _mat_without_layers(tmp_path):
    return weight_fixtures.write_matconvnet_mat(
        tmp_path / "nolayers.mat", weight_fixtures.random_vgg19_layers(0, 1), include_layers=False)


def _mat_without_vgg_layers(tmp_path):
    scipy.io.savemat(tmp_path / "other.mat", {"layers": np.zeros((1, 3))})
    return tmp_path / "other.mat"


def _matlab_73(tmp_path):
    header = b"MATLAB 7.3 MAT-file, Platform: GLNXA64".ljust(512, b" ")  # then an HDF5 file
    (tmp_path / "v73.mat").write_bytes(header + b"\x89HDF\r\n\x1a\n")
    return tmp_path / "v73.mat"


def _wrong_kernel_shape_layers():
    layers = weight_fixtures.random_vgg19_layers(0, 3)
    kernel, bias = layers["block2_conv1"]
    layers["block2_conv1"] = (kernel[:, :, :32, :], bias)  # 32 input channels instead of block1's 64
    return layers


def _wrong_shape_h5(tmp_path):
    return weight_fixtures.write_keras_h5(tmp_path / "wrong.h5", _wrong_kernel_shape_layers())


def _wrong_shape_mat(tmp_path):
    layers = _wrong_kernel_shape_layers()
    return weight_fixtures.write_matconvnet_mat(tmp_path / "wrong.mat", layers, version="new")


def _narrow_network_h5(tmp_path):
    return weight_fixtures.write_keras_h5(
        tmp_path / "narrow.h5", weight_fixtures.random_vgg19_layers(0, 3, width_divisor=2))


def _zip_not_from_torch(tmp_path):
    with zipfile.ZipFile(tmp_path / "model.keras", "w") as archive:
        archive.writestr("config.json", "{}")
    return tmp_path / "model.keras"


def _truncated_safetensors(tmp_path):
    path = weight_fixtures.write_torchvision_safetensors(
        tmp_path / "cut.safetensors", weight_fixtures.random_vgg19_layers(0, 3))
    path.write_bytes(path.read_bytes()[:-1000])
    return path


def _safetensors_of(tmp_path, arrays, metadata=None):
    safetensors.numpy.save_file(arrays, str(tmp_path / "w.safetensors"), metadata=metadata)
    return tmp_path / "w.safetensors"


def _safetensors_without_vgg_layers(tmp_path):
    return _safetensors_of(tmp_path, {"encoder.weight": np.zeros((2, 2), np.float32)})


def _safetensors_wrong_shape(tmp_path):
    return weight_fixtures.write_torchvision_safetensors(tmp_path / "w.safetensors", _wrong_kernel_shape_layers())


def _safetensors_of_vgg16(tmp_path):
    """VGG16's third block has three convolutions, so its fourth block starts at features.17."""
    arrays = weight_fixtures.torchvision_state_dict_arrays(weight_fixtures.random_vgg19_layers(0, 1))
    arrays.update({"features.17.weight": np.zeros((512, 256, 3, 3), np.float32),
                   "features.17.bias": np.zeros(512, np.float32)})
    return _safetensors_of(tmp_path, arrays)


def _safetensors_of_vgg19_bn(tmp_path):
    """vgg19_bn: conv, BatchNorm, ReLU, …: features.1 holds the batch normalisation's 1-D weight."""
    arrays = weight_fixtures.torchvision_state_dict_arrays(weight_fixtures.random_vgg19_layers(0, 1))
    arrays.update({"features.1.weight": np.ones(64, np.float32), "features.1.bias": np.zeros(64, np.float32)})
    return _safetensors_of(tmp_path, arrays)


def _safetensors_without_a_bias(tmp_path):
    arrays = weight_fixtures.torchvision_state_dict_arrays(weight_fixtures.random_vgg19_layers(0, 1))
    del arrays["features.0.bias"]
    return _safetensors_of(tmp_path, arrays)


def _safetensors_with_a_bad_convention(tmp_path):
    arrays = weight_fixtures.torchvision_state_dict_arrays(weight_fixtures.random_vgg19_layers(0, 1))
    metadata = {weights.INPUT_CONVENTION_METADATA_KEY: json.dumps({"channel_order": "rgb", "mean": [0, 0, 0],
                                                                   "std": [1, 0, 1]})}
    return _safetensors_of(tmp_path, arrays, metadata)


def _wrong_bias_h5(tmp_path):
    layers = weight_fixtures.random_vgg19_layers(0, 1)
    layers["block1_conv1"] = (layers["block1_conv1"][0], np.zeros(63, np.float32))
    return weight_fixtures.write_keras_h5(tmp_path / "bias.h5", layers)


@pytest.mark.parametrize("make_file, problem", [
    (_missing, "no such file"),
    (_directory, "is a folder"),
    (_empty, "empty"),
    (_text, "not a VGG19 weights file this tool can read"),
    (_truncated_h5, "not a readable Keras .h5"),
    (_truncated_mat, "not a readable MATLAB .mat"),
    (_h5_without_keras_layout, "layer_names"),
    (_mat_without_layers, "without a 'layers' variable"),
    (_mat_without_vgg_layers, "no VGG19 convolution layers"),
    (_matlab_73, "MATLAB v7.3"),
    (_wrong_shape_h5, "block2_conv1 has a kernel of shape (3, 3, 32, 128); VGG19's is (3, 3, 64, 128)"),
    (_wrong_shape_mat, "conv2_1 has a kernel of shape (3, 3, 32, 128); VGG19's is (3, 3, 64, 128)"),
    (_narrow_network_h5, "block1_conv1 has a kernel of shape (3, 3, 3, 32)"),
    (_wrong_bias_h5, "block1_conv1 has 63 biases"),
    (_zip_not_from_torch, "a zip archive but not a PyTorch checkpoint (no data.pkl inside)"),
    (_truncated_safetensors, "not a readable .safetensors file"),
    (_safetensors_without_vgg_layers, "no VGG19 convolution layers (features.0.weight … features.34.weight)"),
    (_safetensors_wrong_shape, "features.5.weight has shape (128, 32, 3, 3); VGG19's is (128, 64, 3, 3)"),
    (_safetensors_of_vgg16, "features.17 is not one of VGG19's convolutions"),
    (_safetensors_of_vgg19_bn, "batch normalisation (vgg19_bn)"),
    (_safetensors_without_a_bias, "features.0 has no bias"),
    (_safetensors_with_a_bad_convention, "metadata nst.input_convention is not an input convention"),
])
def test_bad_files_raise_one_line_weights_errors_naming_the_file(tmp_path, make_file, problem):
    path = str(make_file(tmp_path))
    with pytest.raises(weights.WeightsError) as raised:
        weights.load_weights(path)
    message = str(raised.value)
    assert message.startswith(f"{path}: ") and problem in message
    assert "\n" not in message
