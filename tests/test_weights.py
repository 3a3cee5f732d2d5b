"""nst.weights: the readers (Keras, MatConvNet, torchvision), the export, random weights, 'imagenet', errors."""

import dataclasses
import json
import pathlib
import sys
import zipfile

import h5py
import numpy as np
import pytest
import safetensors.numpy
import scipy.io

import weight_fixtures
from nst import weights

DISTINCT_MEAN_RGB = (120.0, 110.0, 100.0)
FEW_LAYERS = 5  # block1_conv1 … block3_conv1: every kind of channel change, about 2 MB


@pytest.fixture(scope="module")
def few_layers():
    return weight_fixtures.random_vgg19_layers(seed=11, layer_count=FEW_LAYERS)


@pytest.fixture
def empty_keras_home(tmp_path, monkeypatch):
    """Points Keras's and torch.hub's caches at empty folders, so a real ~/.keras or ~/.cache never answers a test."""
    keras_home = tmp_path / "keras_home"
    keras_home.mkdir()
    monkeypatch.setenv("KERAS_HOME", str(keras_home))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    return keras_home


def _write(kind, path, layers, mean_rgb=DISTINCT_MEAN_RGB):
    """Writes layers as 'h5' (Keras's own naming), 'h5-keras2', 'mat-old', 'mat-new', 'pth' (torch.save's zip),
    'pth-legacy' (its older pickle) or 'safetensors'; returns the path as str. The .pth kinds skip without torch."""
    if kind == "h5":
        return str(weight_fixtures.write_keras_h5(path, layers))
    if kind == "h5-keras2":
        return str(weight_fixtures.write_keras_h5(path, layers, weight_name_style="keras2"))
    if kind in ("pth", "pth-legacy"):
        pytest.importorskip("torch", reason="writing a .pth needs PyTorch (pip install -r requirements-torch.txt)")
        return str(weight_fixtures.write_torchvision_pth(path, layers, legacy=kind == "pth-legacy"))
    if kind == "safetensors":
        return str(weight_fixtures.write_torchvision_safetensors(path, layers))
    return str(weight_fixtures.write_matconvnet_mat(path, layers, mean_rgb, version=kind.split("-")[1]))


def _assert_layers_equal(loaded_layers, expected_layers):
    assert list(loaded_layers) == list(expected_layers)
    for name, (kernel, bias) in expected_layers.items():
        loaded_kernel, loaded_bias = loaded_layers[name]
        assert loaded_kernel.dtype == np.float32 and loaded_bias.dtype == np.float32
        np.testing.assert_array_equal(loaded_kernel, kernel, err_msg=name)
        np.testing.assert_array_equal(loaded_bias, bias, err_msg=name)


# ---------------------------------------------------------------------------
# The fixtures are in the real formats
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("weight_name_style", ["keras1", "keras2"])
def test_keras_own_vgg19_loads_the_fixture_h5(tmp_path, weight_name_style):
    """keras.applications.VGG19 reads the fixture exactly: it is in Keras's real weights format."""
    keras = pytest.importorskip("keras")
    layers = weight_fixtures.random_vgg19_layers(seed=3)
    path = str(weight_fixtures.write_keras_h5(
        tmp_path / weights.KERAS_NOTOP_FILENAME, layers, weight_name_style=weight_name_style))

    model = keras.applications.VGG19(include_top=False, weights=path)

    keras_layers = {name: tuple(model.get_layer(name).get_weights()) for name in layers}
    _assert_layers_equal(keras_layers, layers)
    _assert_layers_equal(weights.load_weights(path).layers, layers)


def test_matconvnet_fixture_versions_store_fields_in_their_published_orders(tmp_path, few_layers):
    """The old file lists a layer's weights first, the new one its name first: the reader must go by name."""
    old = scipy.io.loadmat(_write("mat-old", tmp_path / "old.mat", few_layers))
    new = scipy.io.loadmat(_write("mat-new", tmp_path / "new.mat", few_layers))

    assert old["layers"][0, 0].dtype.names == ("weights", "pad", "type", "name", "stride")
    assert new["layers"][0, 0].dtype.names[:3] == ("name", "type", "weights")
    assert "normalization" in old and "meta" not in old
    assert "meta" in new and "normalization" not in new
    assert [str(new["layers"][0, i]["type"][0, 0][0]) for i in range(3)] == ["conv", "relu", "conv"]


# ---------------------------------------------------------------------------
# Readers
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["h5", "h5-keras2", "mat-old", "mat-new", "pth", "pth-legacy", "safetensors"])
def test_every_format_loads_the_same_kernels_and_biases(tmp_path, few_layers, kind):
    loaded = weights.load_weights(_write(kind, tmp_path / "weights.bin", few_layers))
    _assert_layers_equal(loaded.layers, few_layers)


@pytest.mark.parametrize("kind", ["h5", "h5-keras2"])
def test_keras_h5_uses_the_caffe_convention(tmp_path, few_layers, kind):
    path = _write(kind, tmp_path / "weights.h5", few_layers)
    loaded = weights.load_weights(path)
    assert loaded.convention == weights.CAFFE_CONVENTION
    assert loaded.path == path and path in loaded.source and loaded.warning is None


@pytest.mark.parametrize("kind", ["mat-old", "mat-new"])
def test_matconvnet_mat_uses_rgb_and_the_mean_in_the_file(tmp_path, few_layers, kind):
    path = _write(kind, tmp_path / "weights.mat", few_layers, mean_rgb=DISTINCT_MEAN_RGB)
    loaded = weights.load_weights(path)
    assert loaded.convention.channel_order == "rgb"
    assert loaded.convention.mean == pytest.approx(DISTINCT_MEAN_RGB, abs=1e-4)
    assert loaded.convention.std == (1.0, 1.0, 1.0)
    assert loaded.path == path and path in loaded.source and loaded.warning is None


def test_matconvnet_kernels_are_read_as_stored_height_first(tmp_path):
    """A Caffe filter that responds to rows keeps responding to rows after MatConvNet's import and this reader."""
    blob = np.zeros((64, 3, 3, 3), np.float32)  # Caffe: [out, in, height, width]
    blob[0, :, 2, 1], blob[0, :, 0, 1] = 1.0, -1.0  # output 0: the row below minus the row above
    layers = {"block1_conv1": (weight_fixtures.matconvnet_kernel_from_caffe(blob, first_layer=True),
                               np.zeros(64, np.float32))}
    path = _write("mat-new", tmp_path / "weights.mat", layers, mean_rgb=(0.0, 0.0, 0.0))
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
    from_keras = weights.load_weights(_write("h5", tmp_path / "w.h5", keras_layers))
    from_mat = weights.load_weights(_write("mat-old", tmp_path / "w.mat", mat_layers))

    np.testing.assert_array_equal(from_mat.layers["block1_conv2"][0], from_keras.layers["block1_conv2"][0])
    # conv1_1 differs only in its input channel order, which the two conventions undo.
    np.testing.assert_array_equal(from_mat.layers["block1_conv1"][0][:, :, ::-1], from_keras.layers["block1_conv1"][0])


def test_readers_skip_pooling_and_fully_connected_layers(tmp_path, few_layers):
    small_dense = (np.ones((8, 4), np.float32), np.zeros(4, np.float32))
    h5_path = weight_fixtures.write_keras_h5(
        tmp_path / "full.h5", few_layers, extra_layers={"flatten": (), "fc1": small_dense})
    small_conv = (np.ones((1, 1, 8, 4), np.float32), np.zeros(4, np.float32))
    mat_path = weight_fixtures.write_matconvnet_mat(
        tmp_path / "full.mat", few_layers, extra_conv_layers={"fc6": small_conv})

    assert list(weights.load_weights(str(h5_path)).layers) == list(few_layers)
    assert list(weights.load_weights(str(mat_path)).layers) == list(few_layers)


def test_a_whole_model_h5_is_read_from_its_model_weights_group(tmp_path, few_layers):
    """model.save(... .h5) nests the same layout under 'model_weights'."""
    weights_path = weight_fixtures.write_keras_h5(tmp_path / "weights.h5", few_layers)
    with h5py.File(weights_path, "r") as source, h5py.File(tmp_path / "model.h5", "w") as model_file:
        model_file.attrs["model_config"] = b"{}"
        group = model_file.create_group("model_weights")
        group.attrs.update(source.attrs)
        for name in source:
            source.copy(source[name], group)

    _assert_layers_equal(weights.load_weights(str(tmp_path / "model.h5")).layers, few_layers)


def test_a_file_with_only_the_first_layers_loads_them(tmp_path):
    layers = weight_fixtures.random_vgg19_layers(seed=2, layer_count=2)
    loaded = weights.load_weights(_write("h5", tmp_path / "two.h5", layers))
    assert list(loaded.layers) == ["block1_conv1", "block1_conv2"]


def test_file_type_comes_from_content_not_name(tmp_path, few_layers):
    h5_named_mat = _write("h5", tmp_path / "looks_like.mat", few_layers)
    mat_named_h5 = _write("mat-old", tmp_path / "looks_like.h5", few_layers)
    safetensors_named_pth = _write("safetensors", tmp_path / "looks_like.pth", few_layers)
    assert weights.load_weights(h5_named_mat).convention.channel_order == "bgr"
    assert weights.load_weights(mat_named_h5).convention.channel_order == "rgb"
    assert weights.load_weights(safetensors_named_pth).convention == weights.TORCHVISION_CONVENTION


# ---------------------------------------------------------------------------
# Input conventions
# ---------------------------------------------------------------------------


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
    h5_path = _write("h5", tmp_path / "caffe.h5", few_layers)
    mat_layers = weight_fixtures.reverse_first_layer_channels(few_layers)
    mat_path = _write("mat-old", tmp_path / "matconvnet.mat", mat_layers, mean_rgb=weights.CAFFE_CONVENTION.mean)
    rgb_image = np.random.default_rng(1).uniform(0, 255, (6, 8, 3)).astype(np.float32)

    from_h5, from_mat = weights.load_weights(h5_path), weights.load_weights(mat_path)
    activations_h5 = _first_convolution(from_h5.convention, *from_h5.layers["block1_conv1"], rgb_image)
    activations_mat = _first_convolution(from_mat.convention, *from_mat.layers["block1_conv1"], rgb_image)

    np.testing.assert_allclose(activations_mat, activations_h5, rtol=1e-4, atol=1e-3)


# ---------------------------------------------------------------------------
# torchvision .pth and .safetensors, and the export
# ---------------------------------------------------------------------------


def test_torchvision_feature_indices_are_the_published_ones():
    assert list(weights.TORCHVISION_FEATURE_INDICES.values()) == list(weight_fixtures.TORCHVISION_CONV_INDICES)
    assert list(weights.TORCHVISION_FEATURE_INDICES) == list(weights.VGG19_KERNEL_SHAPES)


def test_torchvision_convention_is_to_tensor_then_normalize():
    """(pixels / 255 − mean) / std per RGB channel: torchvision's ToTensor and Normalize, in their order, to the bit."""
    convention = weights.TORCHVISION_CONVENTION
    mean = np.float32([0.485, 0.456, 0.406]) * 255
    one_std_above = mean + np.float32([0.229, 0.224, 0.225]) * 255
    np.testing.assert_allclose(convention.preprocess(np.stack([mean, one_std_above])), [[0, 0, 0], [1, 1, 1]],
                               atol=1e-6)
    pixels = np.random.default_rng(0).uniform(0, 255, (4, 5, 3)).astype(np.float32)
    expected = (pixels / np.float32(255) - np.float32([0.485, 0.456, 0.406])) / np.float32([0.229, 0.224, 0.225])
    np.testing.assert_array_equal(convention.preprocess(pixels), expected)


@pytest.mark.parametrize("kind", ["pth", "pth-legacy", "safetensors"])
def test_torchvision_files_use_torchvisions_convention(tmp_path, few_layers, kind):
    path = _write(kind, tmp_path / "vgg19.bin", few_layers)
    loaded = weights.load_weights(path)
    assert loaded.convention == weights.TORCHVISION_CONVENTION
    assert loaded.source == f"torchvision VGG19 weights ({path})" and loaded.path == path and loaded.warning is None


@pytest.mark.parametrize("kind", ["pth", "safetensors"])
def test_torchvision_files_give_the_activations_of_the_h5_fixture(tmp_path, kind):
    """The same kernels as .h5, .pth and .safetensors: the same network, so the same activations.

    Compared under one input convention (the h5's): with different conventions the networks
    differ by design, which test_torch_reference checks against torchvision's own normalisation.
    """
    from nst import vgg

    layers = weight_fixtures.random_vgg19_layers(seed=11, layer_count=FEW_LAYERS)
    from_h5 = weights.load_weights(_write("h5", tmp_path / "vgg19.h5", layers))
    from_torchvision = weights.load_weights(_write(kind, tmp_path / "vgg19.bin", layers))
    image = np.random.default_rng(3).uniform(0, 255, (1, 32, 48, 3)).astype(np.float32)
    layer_names = ["conv1_1", "conv2_1", "conv3_1"]

    expected = vgg.FeatureExtractor(layer_names, from_h5)(image)
    actual = vgg.FeatureExtractor(layer_names, dataclasses.replace(from_torchvision, convention=from_h5.convention))(
        image)

    for name in layer_names:
        assert np.abs(expected[name].numpy()).max() > 1.0  # a real signal
        np.testing.assert_array_equal(actual[name].numpy(), expected[name].numpy(), err_msg=name)


def test_a_whole_torchvision_model_state_dict_loads_its_features(tmp_path, few_layers):
    """vgg19().state_dict() also holds the classifier; a bare features.state_dict() has no 'features.' prefix."""
    whole = weight_fixtures.write_torchvision_safetensors(
        tmp_path / "whole.safetensors", few_layers,
        extra_arrays={"classifier.0.weight": np.zeros((4, 8), np.float32),
                      "classifier.0.bias": np.zeros(4, np.float32)})
    bare_arrays = {key.removeprefix("features."): array
                   for key, array in weight_fixtures.torchvision_state_dict_arrays(few_layers).items()}
    safetensors.numpy.save_file(bare_arrays, str(tmp_path / "bare.safetensors"))
    _assert_layers_equal(weights.load_weights(str(whole)).layers, few_layers)
    _assert_layers_equal(weights.load_weights(str(tmp_path / "bare.safetensors")).layers, few_layers)


def test_safetensors_needs_no_pytorch(tmp_path, few_layers, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` now raises ImportError
    path = _write("safetensors", tmp_path / "vgg19.safetensors", few_layers)
    _assert_layers_equal(weights.load_weights(path).layers, few_layers)


def _minimal_torch_zip(path):
    """A zip in torch.save's layout (<name>/data.pkl), written without PyTorch."""
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", b"\x80\x02}q\x00.")  # pickle of {}
        archive.writestr("archive/version", b"3\n")
    return path


def test_pth_without_pytorch_says_how_to_read_it(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)
    path = str(_minimal_torch_zip(tmp_path / "vgg19.pth"))
    with pytest.raises(weights.WeightsError) as raised:
        weights.load_weights(path)
    assert str(raised.value) == (f"{path}: reading .pth needs PyTorch: pip install -r requirements-torch.txt, "
                                 "or convert the file to .safetensors")


class _RunsCodeWhenUnpickled:
    """Unpickling this calls exec, which writes the marker file: the classic malicious-pickle payload."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return exec, (f"open({self.marker!r}, 'w').write('code from the weights file ran')",)


@pytest.mark.parametrize("legacy", [False, True], ids=["zip", "legacy-pickle"])
def test_a_pth_that_would_run_code_is_refused_and_runs_nothing(tmp_path, few_layers, legacy):
    torch = pytest.importorskip("torch", reason="writing a .pth needs PyTorch (pip install -r requirements-torch.txt)")
    marker = tmp_path / "marker.txt"
    path = str(weight_fixtures.write_torchvision_pth(tmp_path / "vgg19-dcbb9e9d.pth", few_layers, legacy=legacy,
                                                     extra_entries={"payload": _RunsCodeWhenUnpickled(marker)}))

    with pytest.raises(weights.WeightsError) as raised:
        weights.load_weights(path)

    message = str(raised.value)
    assert message.startswith(f"{path}: refused: the file holds Python objects beyond tensors (")
    assert "exec" in message and "never runs code" in message and "\n" not in message
    assert not marker.exists()
    # The guard: the payload is real. Unpickled the unsafe way, the file does run its code.
    torch.load(path, weights_only=False)
    assert marker.read_text() == "code from the weights file ran"


def test_a_pth_holding_a_single_tensor_is_not_a_state_dict(tmp_path):
    torch = pytest.importorskip("torch", reason="writing a .pth needs PyTorch (pip install -r requirements-torch.txt)")
    torch.save(torch.zeros(3), tmp_path / "tensor.pth")
    with pytest.raises(weights.WeightsError, match=r"tensor.pth: holds a Tensor, not a state dict of tensors"):
        weights.load_weights(str(tmp_path / "tensor.pth"))


def test_export_round_trip_keeps_kernels_and_the_input_convention(tmp_path, few_layers):
    """Exported from Keras's caffe weights, the file still expects BGR minus the caffe mean, and says so."""
    from_h5 = weights.load_weights(_write("h5", tmp_path / "vgg19.h5", few_layers))
    path = tmp_path / "exported.safetensors"

    assert weights.export_torchvision_safetensors(from_h5, path) == path

    loaded = weights.load_weights(str(path))
    _assert_layers_equal(loaded.layers, few_layers)
    assert loaded.convention == weights.CAFFE_CONVENTION
    assert loaded.source == f"VGG19 weights exported by nst, BGR input ({path})"
    stored = safetensors.numpy.load_file(str(path))
    assert sorted(stored) == sorted(
        f"features.{index}.{kind}" for index in (0, 2, 5, 7, 10) for kind in ("weight", "bias"))
    np.testing.assert_array_equal(stored["features.5.weight"], few_layers["block2_conv1"][0].transpose(3, 2, 0, 1))
    with safetensors.safe_open(str(path), framework="numpy") as exported:
        metadata = exported.metadata()
    assert json.loads(metadata[weights.INPUT_CONVENTION_METADATA_KEY]) == {
        "channel_order": "bgr", "mean": list(weights.CAFFE_CONVENTION.mean), "std": [1.0, 1.0, 1.0], "pixel_scale": 1.0}


def test_a_torchvision_convention_survives_the_export_to_the_bit(tmp_path, few_layers):
    loaded = weights.load_weights(_write("safetensors", tmp_path / "tv.safetensors", few_layers))
    exported = weights.export_torchvision_safetensors(loaded, tmp_path / "exported.safetensors")
    assert weights.load_weights(str(exported)).convention == weights.TORCHVISION_CONVENTION


def test_exports_written_before_pixel_scale_existed_still_load(tmp_path, few_layers):
    old = {"channel_order": "rgb", "mean": [123.675, 116.28, 103.53], "std": [58.395, 57.12, 57.375]}
    path = weight_fixtures.write_torchvision_safetensors(
        tmp_path / "old.safetensors", few_layers, metadata={weights.INPUT_CONVENTION_METADATA_KEY: json.dumps(old)})
    convention = weights.load_weights(str(path)).convention
    assert convention.pixel_scale == 1.0 and convention.mean == tuple(old["mean"])


def test_export_from_an_extractor_gives_back_its_activations(tmp_path, random_weights):
    from nst import vgg

    extractor = vgg.FeatureExtractor(["conv2_1"], random_weights)
    path = weights.export_torchvision_safetensors(extractor, tmp_path / "extractor.safetensors")
    image = np.random.default_rng(0).uniform(0, 255, (1, 16, 24, 3)).astype(np.float32)

    reloaded = vgg.FeatureExtractor(["conv2_1"], weights.load_weights(str(path)))

    assert list(weights.load_weights(str(path)).layers) == ["block1_conv1", "block1_conv2", "block2_conv1"]
    np.testing.assert_array_equal(reloaded(image)["conv2_1"].numpy(), extractor(image)["conv2_1"].numpy())


def test_export_of_torchvision_weights_keeps_torchvisions_convention(tmp_path, few_layers):
    source = weights.load_weights(_write("safetensors", tmp_path / "vgg19.safetensors", few_layers))
    exported = weights.export_torchvision_safetensors(source, tmp_path / "again.safetensors")
    assert weights.load_weights(str(exported)).convention == weights.TORCHVISION_CONVENTION


def test_export_to_an_unwritable_place_is_a_weights_error(tmp_path, few_layers):
    with pytest.raises(weights.WeightsError, match="cannot be written"):
        weights.export_torchvision_safetensors(weights.LoadedWeights(few_layers, weights.CAFFE_CONVENTION, "test"),
                                               tmp_path / "no_folder" / "w.safetensors")


# ---------------------------------------------------------------------------
# Random weights
# ---------------------------------------------------------------------------


def test_random_weights_have_vgg19_shapes_and_he_scale():
    random = weights.load_weights("random", seed=0)
    assert list(random.layers) == list(weights.VGG19_KERNEL_SHAPES)
    assert len(random.layers) == 16
    for name, (kernel, bias) in random.layers.items():
        assert kernel.shape == weights.VGG19_KERNEL_SHAPES[name] and kernel.dtype == np.float32
        assert bias.shape == (kernel.shape[3],) and not bias.any()
    kernel = random.layers["block5_conv4"][0]
    assert kernel.std() == pytest.approx(np.sqrt(2 / (9 * 512)), rel=0.01)
    assert random.convention == weights.CAFFE_CONVENTION and random.path is None
    assert random.source == "random untrained VGG19 (seed 0)"


def test_random_weights_depend_only_on_the_seed():
    first, again, other = (weights.load_weights("random", seed=seed) for seed in (4, 4, 5))
    _assert_layers_equal(again.layers, first.layers)
    assert not np.array_equal(first.layers["block1_conv1"][0], other.layers["block1_conv1"][0])


def test_random_weights_warn_that_they_are_untrained():
    warning = weights.load_weights("random").warning
    assert "untrained" in warning and "ImageNet" in warning and "pretrained-model/README.md" in warning


# ---------------------------------------------------------------------------
# Errors name the file and the problem
# ---------------------------------------------------------------------------


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
    path = weight_fixtures.write_keras_h5(tmp_path / "cut.h5", weight_fixtures.random_vgg19_layers(0, FEW_LAYERS))
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


# ---------------------------------------------------------------------------
# Finding 'imagenet'
# ---------------------------------------------------------------------------


def _refuse_download(*args, **kwargs):
    raise AssertionError("no download expected")


def test_imagenet_missing_everywhere_explains_where_to_put_the_file(tmp_path, empty_keras_home):
    with pytest.raises(weights.WeightsError) as raised:
        weights.load_weights("imagenet", search_directories=[tmp_path / "pretrained-model"], allow_download=False)
    message, hint = str(raised.value), raised.value.hint
    assert "\n" not in message and "\n" not in hint  # one line of error, one of advice
    assert message.startswith("no ImageNet VGG19 weights found") and "downloading is turned off" in message
    assert str(empty_keras_home / "models") in message and str(tmp_path / "torch_home") in message
    for expected in ("pretrained-model/", weights.KERAS_NOTOP_FILENAME, weights.KERAS_NOTOP_URL,
                     weights.MATCONVNET_FILENAME, weights.MATCONVNET_PRETRAINED_PAGE, "--weights random"):
        assert expected in hint


@pytest.mark.parametrize("family, file_name", [("keras", weights.KERAS_NOTOP_FILENAME),
                                               ("matconvnet", weights.MATCONVNET_FILENAME),
                                               ("torchvision", weights.TORCHVISION_FILENAME)])
def test_a_publishers_keyword_names_only_its_file(tmp_path, empty_keras_home, family, file_name):
    with pytest.raises(weights.WeightsError) as raised:
        weights.load_weights(family, search_directories=[tmp_path], allow_download=False)
    assert f"no {family} VGG19 weights found" in str(raised.value) and file_name in raised.value.hint
    others = {weights.KERAS_NOTOP_FILENAME, weights.MATCONVNET_FILENAME, weights.TORCHVISION_FILENAME} - {file_name}
    assert not any(other in raised.value.hint for other in others)


def test_keras_keyword_skips_other_publishers_files(tmp_path, empty_keras_home, few_layers):
    _write("mat-old", tmp_path / weights.MATCONVNET_FILENAME, few_layers)
    _write("safetensors", tmp_path / weights.TORCHVISION_SAFETENSORS_FILENAME, few_layers)
    with pytest.raises(weights.WeightsError, match="no keras VGG19 weights found"):
        weights.load_weights("keras", search_directories=[tmp_path], allow_download=False)
    keras_file = _write("h5", tmp_path / weights.KERAS_FULL_FILENAME, few_layers)
    assert weights.load_weights("keras", search_directories=[tmp_path], allow_download=False).path == keras_file
    mat = weights.load_weights("matconvnet", search_directories=[tmp_path], allow_download=False)
    assert mat.path == str(tmp_path / weights.MATCONVNET_FILENAME)


def test_torchvision_keyword_finds_torch_hubs_cache(tmp_path, empty_keras_home, few_layers):
    pytest.importorskip("torch", reason="writing a .pth needs PyTorch (pip install -r requirements-torch.txt)")
    cache = tmp_path / "torch_home" / "hub" / "checkpoints"
    cache.mkdir(parents=True)
    path = _write("pth", cache / weights.TORCHVISION_FILENAME, few_layers)
    loaded = weights.load_weights("torchvision", search_directories=[tmp_path / "empty"], allow_download=False)
    assert loaded.path == path and loaded.convention == weights.TORCHVISION_CONVENTION


def test_torchvision_download_goes_through_torch_hub_with_its_hash(tmp_path, empty_keras_home, monkeypatch,
                                                                   few_layers):
    torch = pytest.importorskip("torch", reason="the torchvision download uses torch.hub")
    requests = []

    def download(url, destination, hash_prefix=None):
        requests.append((url, hash_prefix))
        _write("pth", destination, few_layers)

    monkeypatch.setattr(torch.hub, "download_url_to_file", download)
    loaded = weights.load_weights("torchvision", search_directories=[tmp_path / "empty"], allow_download=True)
    assert requests == [("https://download.pytorch.org/models/vgg19-dcbb9e9d.pth", "dcbb9e9d")]
    assert loaded.path == str(tmp_path / "torch_home" / "hub" / "checkpoints" / weights.TORCHVISION_FILENAME)


def test_imagenet_download_failure_gives_the_same_clean_error(tmp_path, empty_keras_home, monkeypatch):
    keras = pytest.importorskip("keras")
    requests = []

    def failing_get_file(*args, **kwargs):
        requests.append((args, kwargs))
        raise Exception("URL fetch failure on https://storage.googleapis.com/…: None -- no network")

    monkeypatch.setattr(keras.utils, "get_file", failing_get_file)
    with pytest.raises(weights.WeightsError) as raised:
        weights.load_weights("imagenet", search_directories=[tmp_path], allow_download=True)

    message, hint = str(raised.value), raised.value.hint
    assert "pretrained-model/" in hint and "--weights random" in hint and "URL fetch failure" in message
    assert requests == [((weights.KERAS_NOTOP_FILENAME, weights.KERAS_NOTOP_URL),
                         {"cache_subdir": "models", "file_hash": "253f8cb515780f3b799900260a226db6"})]


def test_imagenet_uses_what_keras_downloads(tmp_path, empty_keras_home, monkeypatch, few_layers):
    keras = pytest.importorskip("keras")
    downloaded = _write("h5", tmp_path / "downloaded.h5", few_layers)
    monkeypatch.setattr(keras.utils, "get_file", lambda *args, **kwargs: downloaded)

    loaded = weights.load_weights("imagenet", search_directories=[tmp_path / "empty"], allow_download=True)

    assert loaded.path == downloaded


def test_imagenet_found_in_a_search_directory(tmp_path, empty_keras_home, few_layers):
    folder = tmp_path / "pretrained-model"
    folder.mkdir()
    path = _write("h5", folder / weights.KERAS_NOTOP_FILENAME, few_layers)

    loaded = weights.load_weights("imagenet", search_directories=[tmp_path / "elsewhere", folder],
                                  allow_download=False)

    assert loaded.path == path and loaded.convention == weights.CAFFE_CONVENTION
    _assert_layers_equal(loaded.layers, few_layers)


def test_imagenet_reads_the_coursera_mat_when_it_is_the_only_file(tmp_path, empty_keras_home, few_layers):
    path = _write("mat-old", tmp_path / weights.MATCONVNET_FILENAME, few_layers)
    loaded = weights.load_weights("imagenet", search_directories=[tmp_path], allow_download=False)
    assert loaded.path == path and loaded.convention.channel_order == "rgb"


def test_imagenet_prefers_keras_files_to_the_mat(tmp_path, empty_keras_home, few_layers):
    _write("mat-old", tmp_path / weights.MATCONVNET_FILENAME, few_layers)
    full = _write("h5", tmp_path / weights.KERAS_FULL_FILENAME, few_layers)
    assert weights.load_weights("imagenet", search_directories=[tmp_path], allow_download=False).path == full
    notop = _write("h5", tmp_path / weights.KERAS_NOTOP_FILENAME, few_layers)
    assert weights.load_weights("imagenet", search_directories=[tmp_path], allow_download=False).path == notop


def test_imagenet_takes_torchvisions_files_last_safetensors_first(tmp_path, empty_keras_home, few_layers):
    _write("safetensors", tmp_path / weights.TORCHVISION_FILENAME, few_layers)  # content, not name, decides
    safetensors_path = _write("safetensors", tmp_path / weights.TORCHVISION_SAFETENSORS_FILENAME, few_layers)
    found = weights.load_weights("imagenet", search_directories=[tmp_path], allow_download=False)
    assert found.path == safetensors_path and found.convention == weights.TORCHVISION_CONVENTION
    mat = _write("mat-old", tmp_path / weights.MATCONVNET_FILENAME, few_layers)
    assert weights.load_weights("imagenet", search_directories=[tmp_path], allow_download=False).path == mat


def test_imagenet_found_in_the_keras_cache(tmp_path, empty_keras_home, monkeypatch, few_layers):
    (empty_keras_home / "models").mkdir()
    path = _write("h5", empty_keras_home / "models" / weights.KERAS_NOTOP_FILENAME, few_layers)
    monkeypatch.setattr(weights, "_download_keras_notop_weights", _refuse_download)

    loaded = weights.load_weights("imagenet", search_directories=[tmp_path / "empty"], allow_download=True)

    assert loaded.path == path


def test_a_damaged_imagenet_file_is_reported_not_skipped(tmp_path, empty_keras_home):
    (tmp_path / weights.KERAS_NOTOP_FILENAME).write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 64)
    with pytest.raises(weights.WeightsError, match=weights.KERAS_NOTOP_FILENAME):
        weights.load_weights("imagenet", search_directories=[tmp_path], allow_download=False)


def test_default_search_directories_are_the_projects_and_the_working_folders(tmp_path, empty_keras_home,
                                                                            monkeypatch, few_layers):
    project_folder = pathlib.Path(weights.__file__).resolve().parent.parent / "pretrained-model"
    assert weights.DEFAULT_SEARCH_DIRECTORIES[0] == project_folder
    # The second is relative, so it follows the working folder at call time.
    working_folder = weights.DEFAULT_SEARCH_DIRECTORIES[1]
    monkeypatch.setattr(weights, "DEFAULT_SEARCH_DIRECTORIES", (tmp_path / "empty", working_folder))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pretrained-model").mkdir()
    _write("h5", tmp_path / "pretrained-model" / weights.KERAS_NOTOP_FILENAME, few_layers)

    loaded = weights.load_weights("imagenet", allow_download=False)

    assert pathlib.Path(loaded.path).resolve() == tmp_path / "pretrained-model" / weights.KERAS_NOTOP_FILENAME
