"""nst.vgg: the network is cut where asked, pools as asked, and equals Keras's own VGG19."""

import dataclasses

import keras
import numpy as np
import pytest

from nst import vgg
from nst import weights


@pytest.fixture(scope="module")
def image_batch():
    return np.random.default_rng(3).uniform(0, 255, (1, 48, 64, 3)).astype(np.float32)


def conv_names(model):
    return [layer.name for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]


def test_network_stops_at_the_deepest_requested_layer():
    model = vgg.build_vgg19_model(["conv4_2", "conv1_1", "conv3_1"])
    assert conv_names(model)[-1] == "block4_conv2"
    assert len(conv_names(model)) == 10
    assert not any(layer.name.startswith("block5") or layer.name.startswith("fc") for layer in model.layers)
    assert sorted(model.output.keys()) == ["conv1_1", "conv3_1", "conv4_2"]


def test_whole_feature_stack_up_to_conv5_1():
    model = vgg.build_vgg19_model(["conv5_1"])
    assert len(conv_names(model)) == 13
    assert model.count_params() == sum(
        3 * 3 * inputs * outputs + outputs
        for inputs, outputs in [(3, 64), (64, 64), (64, 128), (128, 128), (128, 256)]
        + [(256, 256)] * 3 + [(256, 512)] + [(512, 512)] * 4
    )


@pytest.mark.parametrize("pooling, layer_type", [("avg", keras.layers.AveragePooling2D), ("max", keras.layers.MaxPooling2D)])
def test_pooling_mode(pooling, layer_type):
    model = vgg.build_vgg19_model(["conv3_1"], pooling=pooling)
    pools = [layer for layer in model.layers if "pool" in layer.name]
    assert [layer.name for layer in pools] == ["block1_pool", "block2_pool"]
    assert all(isinstance(layer, layer_type) for layer in pools)


def test_activation_shapes_follow_the_poolings(random_weights, image_batch):
    extractor = vgg.FeatureExtractor(["conv1_1", "conv2_1", "conv5_1"], random_weights)
    activations = extractor(image_batch)
    assert tuple(activations["conv1_1"].shape) == (1, 48, 64, 64)
    assert tuple(activations["conv2_1"].shape) == (1, 24, 32, 128)
    assert tuple(activations["conv5_1"].shape) == (1, 3, 4, 512)


def test_max_pooling_extractor_equals_keras_applications_vgg19(random_weights, image_batch):
    """Same kernels in keras.applications.VGG19 and in ours give the same activations."""
    reference = keras.applications.VGG19(include_top=False, weights=None, input_shape=(None, None, 3))
    for layer in reference.layers:
        if layer.name in random_weights.layers:
            layer.set_weights(list(random_weights.layers[layer.name]))
    reference_outputs = keras.Model(
        reference.input, [reference.get_layer(name).output for name in ("block1_conv1", "block4_conv2")]
    )
    # keras.applications.vgg19.preprocess_input is the caffe convention: RGB -> BGR, mean subtracted.
    expected = reference_outputs(keras.applications.vgg19.preprocess_input(image_batch.copy()))
    extractor = vgg.FeatureExtractor(["conv1_1", "conv4_2"], random_weights, pooling="max")
    actual = extractor(image_batch)
    np.testing.assert_allclose(actual["conv1_1"], expected[0], rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(actual["conv4_2"], expected[1], rtol=1e-4, atol=1e-3)


def test_missing_layer_in_weights_is_a_clear_error(random_weights):
    partial = dataclasses.replace(
        random_weights,
        layers={name: value for name, value in random_weights.layers.items() if name.startswith("block1")},
        path="partial.h5",
    )
    with pytest.raises(weights.WeightsError, match="partial.h5: has no weights for block2_conv1"):
        vgg.FeatureExtractor(["conv2_1"], partial)


def test_wrong_kernel_shape_is_a_clear_error(random_weights):
    layers = dict(random_weights.layers)
    layers["block1_conv1"] = (np.zeros((3, 3, 3, 32), np.float32), np.zeros(32, np.float32))
    broken = dataclasses.replace(random_weights, layers=layers, path="broken.h5")
    with pytest.raises(weights.WeightsError, match=r"broken.h5: block1_conv1 kernel has shape \(3, 3, 3, 32\)"):
        vgg.FeatureExtractor(["conv1_1"], broken)


@pytest.mark.parametrize("pooling", ["avg", "max"])
def test_same_kernels_in_every_file_format_give_the_same_activations(tmp_path, image_batch, pooling):
    """Each format's input convention is applied: Keras h5 (BGR − caffe mean) and MatConvNet (RGB − file mean)."""
    import weight_fixtures

    bgr_layers = weight_fixtures.random_vgg19_layers(seed=11, layer_count=5)  # conv1_1 … conv3_1
    rgb_layers = weight_fixtures.reverse_first_layer_channels(bgr_layers)  # the network MatConvNet's importer made
    paths = {
        "keras": weight_fixtures.write_keras_h5(tmp_path / "vgg19_notop.h5", bgr_layers),
        "matconvnet-old": weight_fixtures.write_matconvnet_mat(tmp_path / "old.mat", rgb_layers, version="old"),
        "matconvnet-new": weight_fixtures.write_matconvnet_mat(tmp_path / "new.mat", rgb_layers, version="new"),
    }
    layer_names = ["conv1_1", "conv2_1", "conv3_1"]
    activations = {
        name: vgg.FeatureExtractor(layer_names, weights.load_weights(str(path)), pooling)(image_batch)
        for name, path in paths.items()
    }
    assert weights.load_weights(str(paths["keras"])).convention.channel_order == "bgr"
    assert weights.load_weights(str(paths["matconvnet-new"])).convention.channel_order == "rgb"
    for name in ("matconvnet-old", "matconvnet-new"):
        for layer in layer_names:
            reference = activations["keras"][layer].numpy()
            assert np.abs(reference).max() > 1.0  # a real signal, not all zeros
            np.testing.assert_allclose(activations[name][layer], reference, rtol=1e-4,
                                       atol=1e-4 * np.abs(reference).max())


def test_a_convention_mistake_would_show(tmp_path, image_batch):
    """Guard for the test above: reading the .mat as if it were BGR changes the activations."""
    import weight_fixtures

    rgb_layers = weight_fixtures.reverse_first_layer_channels(weight_fixtures.random_vgg19_layers(11, 2))
    loaded = weights.load_weights(str(weight_fixtures.write_matconvnet_mat(tmp_path / "w.mat", rgb_layers)))
    right = vgg.FeatureExtractor(["conv1_1"], loaded)(image_batch)["conv1_1"].numpy()
    wrong = vgg.FeatureExtractor(["conv1_1"], dataclasses.replace(loaded, convention=weights.CAFFE_CONVENTION))(
        image_batch)["conv1_1"].numpy()
    assert np.abs(right - wrong).max() > 0.05 * np.abs(right).max()


def test_bfloat16_activations_are_close_to_float32(random_weights, image_batch):
    layer_names = ["conv1_1", "conv3_1", "conv4_2"]
    full = vgg.FeatureExtractor(layer_names, random_weights)(image_batch)
    half = vgg.FeatureExtractor(layer_names, random_weights, precision="bfloat16")(image_batch)
    # conv1_1 stays float32 (rounding the input pixels would make the cost a staircase).
    np.testing.assert_array_equal(half["conv1_1"].numpy(), full["conv1_1"].numpy())
    for name in layer_names[1:]:
        assert half[name].dtype == "float32"
        reference = full[name].numpy()
        relative = np.abs(half[name].numpy() - reference).max() / np.abs(reference).max()
        assert 0 < relative < 0.05, (name, relative)  # bfloat16 keeps 8 significant bits


def test_unknown_precision_is_refused(random_weights):
    with pytest.raises(ValueError, match="precision must be one of"):
        vgg.build_vgg19_model(["conv1_1"], precision="float8")
