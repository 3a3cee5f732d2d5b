"""nst.temporal: the temporal cost and its gradient have their analytic values, in the optimisation variable's units."""

import numpy as np
import pytest
import tensorflow as tf

from nst import image_space
from nst import optimize
from nst import temporal
from nst import vgg


def tiny_case():
    """A 2×2 image, the warped previous frame and weights c with values 0, 1 and a soft 0.25."""
    image = np.array([[[10, 20, 30], [40, 50, 60]], [[70, 80, 90], [100, 110, 120]]], np.float32)
    warped = image - np.array([[[1, 2, 3], [4, 5, 6]], [[7, 8, 9], [2, 2, 2]]], np.float32)
    weights = np.array([[1.0, 0.0], [0.25, 1.0]], np.float32)
    return image, warped, weights


def test_cost_and_gradient_of_a_tiny_case_are_the_formulas():
    image, warped, weights = tiny_case()
    # (1/D)·Σ c·(x − ω)², D = 2·2·3 = 12: pixel (0, 0) gives 1 + 4 + 9, pixel (0, 1) nothing (c = 0),
    # pixel (1, 0) 0.25·(49 + 64 + 81), pixel (1, 1) 4 + 4 + 4.
    expected = (14 + 0.25 * 194 + 12) / 12
    x = tf.constant(image[np.newaxis])
    with tf.GradientTape() as tape:
        tape.watch(x)
        cost = temporal.temporal_cost(x, warped[np.newaxis], weights[np.newaxis, :, :, np.newaxis])
    assert float(cost) == pytest.approx(expected, rel=1e-6)
    # The true gradient 2/D·c·(x − ω), not Ruder et al.'s Torch one (2/D·√c·(x − ω)):
    # 0.25, not 0.5, at the soft pixel.
    gradient = tape.gradient(cost, x).numpy()[0]
    np.testing.assert_allclose(gradient, 2 / 12 * weights[..., np.newaxis] * (image - warped), rtol=1e-6)
    assert gradient[1, 0, 0] == pytest.approx(2 / 12 * 0.25 * 7)


def test_a_target_shrinks_to_a_coarse_scale_by_area_and_keeps_its_weight():
    _, warped, weights = tiny_case()
    target = temporal.TemporalTarget(warped, weights, 7.0)
    assert target.at_size((2, 2)) is target
    small = target.at_size((1, 1))
    np.testing.assert_allclose(small.warped[0, 0], warped.reshape(4, 3).mean(axis=0), rtol=1e-6)
    assert small.reliability[0, 0] == pytest.approx(0.5625) and small.weight == 7.0


@pytest.mark.parametrize("space_name, units_per_pixel", [("pixels", 1.0), ("unit", 1 / 255), ("network", 1.0)])
def test_the_cost_function_measures_it_in_the_optimisation_variables_units(random_weights, space_name,
                                                                           units_per_pixel):
    # Like total variation, the temporal cost is measured on the variable the optimiser moves: the
    # Coursera preset's mean-subtracted pixels ('network' with Caffe weights) or a 0–1 image ('unit').
    extractor = vgg.FeatureExtractor(["conv1_1"], random_weights)
    content = np.random.default_rng(0).uniform(0, 255, (16, 16, 3)).astype(np.float32)
    warped = np.clip(content + np.random.default_rng(1).normal(0, 20, content.shape), 0, 255).astype(np.float32)
    weights = np.random.default_rng(2).uniform(0, 1, (16, 16)).astype(np.float32)
    space = image_space.image_space(space_name, extractor.convention)
    cost_function = optimize.CostFunction(extractor, content, content, "conv1_1", (("conv1_1", 1.0),), 10, 40,
                                          space=space, temporal=temporal.TemporalTarget(warped, weights, 3.0))
    plain = optimize.CostFunction(extractor, content, content, "conv1_1", (("conv1_1", 1.0),), 10, 40, space=space)
    image = tf.constant(np.asarray(space.from_pixels(content), np.float32)[np.newaxis])
    costs = cost_function(image)
    expected = np.sum(weights[..., np.newaxis] * ((content - warped) * units_per_pixel) ** 2) / content.size
    assert float(costs["temporal"]) == pytest.approx(expected, rel=1e-4)
    assert float(costs["total"]) == pytest.approx(float(plain(image)["total"]) + 3.0 * expected, rel=1e-5)
    assert optimize.Costs.from_tensors(costs).temporal == pytest.approx(expected, rel=1e-4)
    assert "temporal" not in plain.image_costs(image)
