"""nst.compare.torch_reference: torchvision's layout, TensorFlow's activations and costs, Keras's Adam, in PyTorch."""

import sys

import numpy as np
import pytest
import tensorflow as tf

import weight_fixtures
from nst import losses
from nst import optimize
from nst import vgg
from nst import weights
from nst.compare import comparison
from nst.compare import torch_reference

NEEDS_TORCH = "the PyTorch reference needs PyTorch: pip install -r requirements-torch.txt"
EXPOSED_LAYERS = ["conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv4_2", "conv5_1"]


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch", reason=NEEDS_TORCH)


@pytest.fixture(scope="module")
def rgb_batch():
    return np.random.default_rng(5).uniform(0, 255, (1, 32, 48, 3)).astype(np.float32)


def _plain_torch_vgg19(torch, pooling_module):
    """torchvision.models.vgg19() as its source defines it (cfg 'E'), written here without nst or torchvision."""
    modules, in_channels = [], 3
    for item in [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M"]:
        if item == "M":
            modules.append(pooling_module(kernel_size=2, stride=2))
        else:
            modules += [torch.nn.Conv2d(in_channels, item, kernel_size=3, padding=1), torch.nn.ReLU(inplace=True)]
            in_channels = item
    return torch.nn.ModuleDict({"features": torch.nn.Sequential(*modules)})


def test_without_torch_the_error_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(torch_reference.TorchUnavailableError, match=r"pip install -r requirements-torch\.txt"):
        torch_reference.import_torch()


def test_features_have_torchvisions_module_indices(torch):
    features = torch_reference.build_vgg19_features("conv5_1", pooling="max")
    convolutions = [index for index, module in enumerate(features) if isinstance(module, torch.nn.Conv2d)]
    pools = [index for index, module in enumerate(features) if isinstance(module, torch.nn.MaxPool2d)]
    assert convolutions == list(weight_fixtures.TORCHVISION_CONV_INDICES[:13])
    assert pools == [4, 9, 18, 27]
    assert len(features) == 30  # stops at conv5_1's ReLU
    assert all(module.padding == (1, 1) for module in features if isinstance(module, torch.nn.Conv2d))
    assert isinstance(torch_reference.build_vgg19_features("conv2_1")[4], torch.nn.AvgPool2d)


@pytest.mark.parametrize("pooling", ["avg", "max"])
def test_activations_match_tensorflow_at_every_exposed_layer(torch, random_weights, rgb_batch, pooling):
    """The issue's target: identical weights give activations within 1e-4 relative (max|a − b| / max|a|)."""
    tensorflow_extractor = vgg.FeatureExtractor(EXPOSED_LAYERS, random_weights, pooling)
    torch_extractor = torch_reference.TorchFeatureExtractor(EXPOSED_LAYERS, random_weights, pooling)

    differences = comparison.activation_differences(tensorflow_extractor, torch_extractor, rgb_batch[0])

    assert list(differences) == EXPOSED_LAYERS
    assert max(differences.values()) <= comparison.ACTIVATION_TARGET, differences
    assert torch_reference.to_channels_last(torch_extractor(rgb_batch)["conv5_1"]).shape == (1, 2, 3, 512)


def test_torchvision_file_matches_plain_torch_with_torchvisions_normalize(torch, tmp_path, rgb_batch):
    """A .pth read by nst and run in TensorFlow equals the same file run the torchvision way in plain PyTorch:
    load_state_dict, then ToTensor (÷255) and Normalize(mean, std)."""
    layers = weight_fixtures.random_vgg19_layers(seed=2, layer_count=5)
    path = weight_fixtures.write_torchvision_pth(tmp_path / "vgg19-dcbb9e9d.pth", layers)
    model = _plain_torch_vgg19(torch, torch.nn.MaxPool2d)
    model.load_state_dict(torch.load(path, weights_only=True), strict=False)
    image = torch.from_numpy(rgb_batch).permute(0, 3, 1, 2) / 255.0
    normalized = (image - torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)) / torch.tensor(
        [0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    with torch.no_grad():
        expected = model["features"][:12](normalized).permute(0, 2, 3, 1).numpy()  # up to conv3_1's ReLU

    actual = vgg.FeatureExtractor(["conv3_1"], weights.load_weights(str(path)), "max")(rgb_batch)["conv3_1"]

    assert comparison.max_relative_difference(expected, actual.numpy()) <= comparison.ACTIVATION_TARGET


def test_exported_safetensors_runs_in_plain_torch(torch, tmp_path, random_weights, rgb_batch):
    """safetensors.torch.load_file + load_state_dict(strict=True) into torchvision's VGG19 layout, the input
    convention taken from the file's metadata: the activations TensorFlow computes."""
    import json

    import safetensors
    import safetensors.torch

    path = weights.export_torchvision_safetensors(random_weights, tmp_path / "vgg19_nst.safetensors")
    model = _plain_torch_vgg19(torch, torch.nn.AvgPool2d)
    model.load_state_dict(safetensors.torch.load_file(str(path)), strict=True)
    with safetensors.safe_open(str(path), framework="pt") as exported:
        convention = json.loads(exported.metadata()["nst.input_convention"])
    scaled = torch.from_numpy(rgb_batch) / convention["pixel_scale"]
    network_input = (scaled - torch.tensor(convention["mean"])) / torch.tensor(convention["std"])
    if convention["channel_order"] == "bgr":
        network_input = network_input.flip(-1)
    with torch.no_grad():
        expected = model["features"][:7](network_input.permute(0, 3, 1, 2)).permute(0, 2, 3, 1).numpy()  # conv2_1

    actual = vgg.FeatureExtractor(["conv2_1"], random_weights)(rgb_batch)["conv2_1"].numpy()

    assert convention["channel_order"] == "bgr"  # random weights use the caffe convention, and say so
    assert comparison.max_relative_difference(expected, actual) <= comparison.ACTIVATION_TARGET


def test_gram_of_ones_is_the_number_of_positions(torch):
    gram = torch_reference.gram_matrix(torch.ones(1, 3, 4, 5))
    np.testing.assert_array_equal(gram.numpy(), np.full((1, 3, 3), 20.0))


def test_costs_equal_nst_losses(torch):
    """Same formulas as nst.losses on the same numbers (channels last there, channels first here)."""
    random = np.random.default_rng(0)
    content, style, generated = (random.standard_normal((1, 6, 5, 4)).astype(np.float32) for _ in range(3))

    def channels_first(array):
        return torch.from_numpy(array).permute(0, 3, 1, 2)

    pairs = [
        (torch_reference.content_cost(channels_first(content), channels_first(generated)),
         losses.content_cost(content, generated)),
        (torch_reference.layer_style_cost(channels_first(style), channels_first(generated)),
         losses.layer_style_cost(style, generated)),
        (torch_reference.total_cost(torch.tensor(3.0), torch.tensor(5.0), content_weight=10, style_weight=40),
         losses.total_cost(3.0, 5.0, content_weight=10, style_weight=40)),
    ]
    for torch_value, tensorflow_value in pairs:
        assert float(torch_value) == pytest.approx(float(tensorflow_value), rel=1e-6)
    # By hand: Σ(a_C − a_G)² / (4·nH·nW·nC).
    assert float(pairs[0][0]) == pytest.approx(float(np.sum((content - generated) ** 2)) / (4 * 6 * 5 * 4), rel=1e-6)


def _quadratic_costs(target, framework, scale=1.0):
    """scale·Σ(image − target)², a stand-in cost with a known minimum, in TensorFlow or PyTorch."""
    if framework == "tensorflow":
        constant = tf.constant(target[np.newaxis])

        def tensorflow_cost(image):
            value = scale * tf.reduce_sum(tf.square(image - constant))
            return {"total": value, "content": value, "style": tf.constant(0.0)}

        return tensorflow_cost
    import torch

    tensor = torch.from_numpy(target[np.newaxis])

    def torch_cost(image):
        value = scale * ((image - tensor) ** 2).sum()
        return {"total": value, "content": value, "style": torch.zeros(())}

    return torch_cost


def _final_images(target, start, scale):
    return {
        framework: loop(_quadratic_costs(target, framework, scale), start, 10, 2.0, 10).image
        for framework, loop in (("tensorflow", optimize.run_adam), ("torch", torch_reference.run_adam))
    }


def test_adam_steps_equal_keras_adam(torch):
    """Same start, same gradients: torch.optim.Adam and Keras's Adam (both ε 1e-8) take the same steps."""
    random = np.random.default_rng(1)
    target = random.uniform(200, 255, (5, 6, 3)).astype(np.float32)
    start = random.uniform(0, 50, (5, 6, 3)).astype(np.float32)  # far below: every pixel climbs all 10 steps
    snapshots = {"tensorflow": [], "torch": []}
    results = {
        framework: loop(_quadratic_costs(target, framework), start, 10, 2.0, 3,
                        callbacks=optimize.Callbacks(on_snapshot=snapshots[framework].append))
        for framework, loop in (("tensorflow", optimize.run_adam), ("torch", torch_reference.run_adam))
    }
    assert [snapshot.iteration for snapshot in snapshots["torch"]] == [0, 3, 6, 9, 10]
    assert [snapshot.iteration for snapshot in snapshots["tensorflow"]] == [0, 3, 6, 9, 10]
    np.testing.assert_allclose(results["torch"].image, results["tensorflow"].image, rtol=1e-5, atol=1e-3)
    # Adam's first steps move each pixel by about the learning rate, towards the target.
    np.testing.assert_allclose(np.abs(results["torch"].image - start), 20.0, atol=0.5)
    assert results["torch"].costs.total == pytest.approx(results["tensorflow"].costs.total, rel=1e-5)
    assert results["torch"].iterations == 10 and results["torch"].stop_reason is None


def test_keras_equivalent_epsilon_by_hand():
    assert torch_reference.keras_equivalent_epsilon(1) == pytest.approx(1e-8 / np.sqrt(1 - 0.999), rel=1e-12)
    assert torch_reference.keras_equivalent_epsilon(10_000) == pytest.approx(1e-8, rel=1e-4)


def test_adam_steps_equal_keras_adam_even_with_gradients_near_epsilon(torch, monkeypatch):
    """Gradients around 1e-8 (as with torchvision-normalised weights): where ε is added matters, and is matched."""
    random = np.random.default_rng(2)
    target = random.uniform(0, 255, (4, 5, 3)).astype(np.float32)
    start = random.uniform(0, 255, (4, 5, 3)).astype(np.float32)
    scale = 1e-10  # gradients 2·scale·(image − target): 1e-8 and below

    images = _final_images(target, start, scale)
    np.testing.assert_allclose(images["torch"], images["tensorflow"], rtol=1e-5, atol=1e-3)

    # The guard: torch.optim.Adam's own ε placement would move these pixels visibly differently.
    monkeypatch.setattr(torch_reference, "keras_equivalent_epsilon", lambda step: torch_reference.ADAM_EPSILON)
    plain = _final_images(target, start, scale)
    assert np.abs(plain["torch"] - plain["tensorflow"]).max() > 0.5


def test_non_finite_cost_stops_and_keeps_the_last_finite_image(torch):
    def exploding_cost(image):
        value = ((image - 100.0) ** 2).sum()
        value = torch.where(image.max() > 5.0, torch.tensor(float("inf")), value)
        return {"total": value, "content": value, "style": torch.zeros(())}

    result = torch_reference.run_adam(exploding_cost, np.zeros((2, 2, 3), np.float32), 10, 2.0, 1)

    assert result.stop_reason.startswith("the cost became non-finite at iteration 3")
    assert np.all(np.isfinite(result.image)) and result.image.max() > 5.0 and result.iterations == 3
