"""nst.compare.comparison: the difference measures by hand, and a 10-step TensorFlow and PyTorch run within the targets."""

import math
import pathlib

import numpy as np
import pytest

from nst import config as config_module
from nst import optimize
from nst.compare import comparison

IMAGES_DIR = pathlib.Path(__file__).resolve().parent.parent.parent / "images"


def _config(**changes):
    values = dict(content_image=str(IMAGES_DIR / "village.jpg"), style_image=str(IMAGES_DIR / "swirls.jpg"),
                  weights="random", image_size=32, epochs=10, print_every=1)
    values.update(changes)
    return config_module.StyleTransferConfig(**values)


def test_max_relative_difference_is_relative_to_the_largest_reference_value():
    assert comparison.max_relative_difference([0.0, 2.0, -4.0], [0.0, 2.0, -4.0]) == 0.0
    assert comparison.max_relative_difference([0.0, 2.0, -4.0], [0.5, 2.0, -4.0]) == pytest.approx(0.125)
    # Not element-wise: 0 against 1e-6 would be an infinite element-wise difference.
    assert comparison.max_relative_difference([0.0, 10.0], [1e-6, 10.0]) == pytest.approx(1e-7)
    assert comparison.max_relative_difference([0.0, 0.0], [0.0, 0.0]) == 0.0
    assert comparison.max_relative_difference([0.0, 0.0], [0.0, 1.0]) == math.inf


def test_cost_differences_are_relative_to_tensorflows_and_cover_every_cost_and_iteration():
    assert comparison.relative_cost_difference(200.0, 199.0) == pytest.approx(0.005)
    assert comparison.relative_cost_difference(0.0, 0.0) == 0.0
    reference = [(0, optimize.Costs(100.0, 10.0, 1.0)), (1, optimize.Costs(90.0, 9.0, 1.0))]
    other = [(0, optimize.Costs(100.0, 10.0, 1.0)), (1, optimize.Costs(90.0, 9.0, 1.002))]
    assert comparison.max_relative_cost_difference(reference, other) == pytest.approx(0.002)
    # A run that stopped early is compared over the iterations both reached.
    assert comparison.max_relative_cost_difference(reference, other[:1]) == 0.0


def test_image_similarity_by_known_values():
    image = np.random.default_rng(0).uniform(0, 254, (24, 32, 3)).astype(np.float32)
    assert comparison.image_similarity(image, image.copy()) == (None, pytest.approx(1.0))
    psnr_db, ssim = comparison.image_similarity(image, image + 1.0)
    assert psnr_db == pytest.approx(20 * math.log10(255.0), abs=1e-3)  # MSE 1: PSNR = 20·log10(255)
    assert 0.99 < ssim < 1.0
    # Compared as saved: clipped to 0–255, so out-of-range pixels that save alike count as equal.
    assert comparison.image_similarity(np.full((16, 16, 3), 300.0), np.full((16, 16, 3), 260.0))[0] is None


def test_exposed_layers_are_the_configs_in_network_order():
    assert comparison.exposed_layers(_config()) == ("conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv4_2", "conv5_1")
    assert comparison.exposed_layers(_config(content_layer="conv1_1", style_layers="conv1_1:1")) == ("conv1_1",)


@pytest.mark.parametrize("change", [{"optimizer": "lbfgs"}, {"tv_weight": 1.0}, {"scales": 2}])
def test_settings_only_tensorflow_has_are_refused(change):
    with pytest.raises(config_module.ConfigError, match="the PyTorch reference implements only the default"):
        comparison.check_comparable(_config(**change))


def test_the_comparable_settings_pass():
    comparison.check_comparable(_config(pooling="max", learning_rate=5.0, content_layer="conv5_2", seed=3))


def test_reading_the_inputs_sizes_the_style_like_the_content():
    inputs = comparison.read_inputs(_config(image_size=40))
    assert inputs.content_pixels.shape == inputs.style_pixels.shape == (30, 40, 3)
    assert inputs.content_pixels.dtype == np.float32 and inputs.loaded_weights.source.startswith("random")


def test_ten_adam_steps_agree_within_the_targets():
    """The issue's targets, with identical (random) weights, from the same start image."""
    pytest.importorskip("torch", reason="the comparison needs PyTorch: pip install -r requirements-torch.txt")
    config = _config()
    progress = []

    result = comparison.compare_frameworks(config, comparison.read_inputs(config),
                                           on_snapshot=lambda framework, snapshot: progress.append(
                                               (framework, snapshot.iteration)))

    assert list(result.layer_differences) == list(comparison.exposed_layers(config))
    assert max(result.layer_differences.values()) <= comparison.ACTIVATION_TARGET
    assert result.max_relative_cost_difference <= comparison.COST_TARGET
    assert result.activations_within_target and result.costs_within_target
    assert progress == [("tensorflow", i) for i in range(11)] + [("torch", i) for i in range(11)]
    assert [iteration for iteration, _ in result.torch.costs] == list(range(11))
    tensorflow_costs = [costs.total for _, costs in result.tensorflow.costs]
    assert tensorflow_costs[-1] < tensorflow_costs[0]  # both really optimised
    assert result.image_shape == (24, 32)
    assert result.psnr_db is None or result.psnr_db > 40
    assert result.ssim > 0.99
    assert result.tensorflow.seconds_per_iteration > 0 and result.torch.seconds_per_iteration > 0
    assert result.weights_source == "random untrained VGG19 (seed 3)"
