"""nst.weights.torchvision: .pth and .safetensors files, pickles refused, and the export to .safetensors."""

import dataclasses
import json
import sys
import zipfile

import numpy as np
import pytest
import safetensors.numpy

import weight_fixtures
from nst import weights


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
    path = weight_fixtures.write_weights_file(kind, tmp_path / "vgg19.bin", few_layers)
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

    layers = weight_fixtures.random_vgg19_layers(seed=11, layer_count=weight_fixtures.FEW_LAYERS)
    from_h5 = weights.load_weights(weight_fixtures.write_weights_file("h5", tmp_path / "vgg19.h5", layers))
    from_torchvision = weights.load_weights(weight_fixtures.write_weights_file(kind, tmp_path / "vgg19.bin", layers))
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
    weight_fixtures.assert_layers_equal(weights.load_weights(str(whole)).layers, few_layers)
    weight_fixtures.assert_layers_equal(weights.load_weights(str(tmp_path / "bare.safetensors")).layers, few_layers)


def test_safetensors_needs_no_pytorch(tmp_path, few_layers, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` now raises ImportError
    path = weight_fixtures.write_weights_file("safetensors", tmp_path / "vgg19.safetensors", few_layers)
    weight_fixtures.assert_layers_equal(weights.load_weights(path).layers, few_layers)


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
    from_h5 = weights.load_weights(weight_fixtures.write_weights_file("h5", tmp_path / "vgg19.h5", few_layers))
    path = tmp_path / "exported.safetensors"

    assert weights.export_torchvision_safetensors(from_h5, path) == path

    loaded = weights.load_weights(str(path))
    weight_fixtures.assert_layers_equal(loaded.layers, few_layers)
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
    loaded = weights.load_weights(weight_fixtures.write_weights_file("safetensors", tmp_path / "tv.safetensors", few_layers))
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
    source = weights.load_weights(weight_fixtures.write_weights_file("safetensors", tmp_path / "vgg19.safetensors", few_layers))
    exported = weights.export_torchvision_safetensors(source, tmp_path / "again.safetensors")
    assert weights.load_weights(str(exported)).convention == weights.TORCHVISION_CONVENTION


def test_export_to_an_unwritable_place_is_a_weights_error(tmp_path, few_layers):
    with pytest.raises(weights.WeightsError, match="cannot be written"):
        weights.export_torchvision_safetensors(weights.LoadedWeights(few_layers, weights.CAFFE_CONVENTION, "test"),
                                               tmp_path / "no_folder" / "w.safetensors")
