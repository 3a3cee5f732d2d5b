"""nst.optimize: the Coursera start image, the Adam loop, its snapshots and its non-finite guard."""

import numpy as np
import pytest
import tensorflow as tf

from nst import optimize
from nst import vgg

MEAN_PIXEL = (123.68, 116.779, 103.939)


def quadratic_cost(target):
    """A stand-in cost with a known minimum, so the loop is tested without a network."""
    target = tf.constant(target[np.newaxis], tf.float32)

    def cost(image):
        value = tf.reduce_sum(tf.square(image - target))
        return {"total": value, "content": value, "style": tf.constant(0.0)}

    return cost


def test_zero_noise_ratio_starts_from_the_content():
    content = np.full((4, 6, 3), 77.0, np.float32)
    np.testing.assert_array_equal(optimize.initial_image(content, 0.0, seed=1, mean_pixel=MEAN_PIXEL), content)


def test_pure_noise_is_within_twenty_of_the_mean_pixel():
    start = optimize.initial_image(np.zeros((50, 40, 3), np.float32), 1.0, seed=1, mean_pixel=MEAN_PIXEL)
    offsets = start - np.asarray(MEAN_PIXEL, np.float32)
    assert offsets.min() >= -20 and offsets.max() <= 20
    assert offsets.std() == pytest.approx(40 / np.sqrt(12), rel=0.05)  # uniform on [-20, 20]


def test_coursera_blend_is_a_weighted_average():
    content = np.full((8, 8, 3), 200.0, np.float32)
    noise_only = optimize.initial_image(content, 1.0, seed=5, mean_pixel=MEAN_PIXEL)
    blended = optimize.initial_image(content, 0.6, seed=5, mean_pixel=MEAN_PIXEL)
    np.testing.assert_allclose(blended, 0.6 * noise_only + 0.4 * content, rtol=1e-6)


def test_initial_image_is_seeded():
    content = np.zeros((5, 5, 3), np.float32)
    first = optimize.initial_image(content, 0.6, seed=3, mean_pixel=MEAN_PIXEL)
    np.testing.assert_array_equal(first, optimize.initial_image(content, 0.6, seed=3, mean_pixel=MEAN_PIXEL))
    assert not np.array_equal(first, optimize.initial_image(content, 0.6, seed=4, mean_pixel=MEAN_PIXEL))


def test_adam_lowers_the_cost_and_reports_snapshots():
    target = np.full((4, 4, 3), 100.0, np.float32)
    snapshots = []
    result = optimize.run_adam(
        quadratic_cost(target), np.zeros((4, 4, 3), np.float32), iterations=10, learning_rate=2.0,
        print_every=4, callbacks=optimize.Callbacks(on_snapshot=snapshots.append),
    )
    assert [snapshot.iteration for snapshot in snapshots] == [0, 4, 8, 10]
    assert snapshots[0].costs.total == pytest.approx(48 * 100.0**2)
    np.testing.assert_array_equal(snapshots[0].image, 0.0)
    # Adam's first steps move every pixel by about the learning rate: 10 steps, about 20 pixel units.
    np.testing.assert_allclose(result.image, 20.0, atol=0.5)
    assert result.costs.total == pytest.approx(48 * 80.0**2, rel=0.02)
    assert result.iterations == 10 and result.stop_reason is None
    assert [s.costs.total for s in snapshots] == sorted((s.costs.total for s in snapshots), reverse=True)


def test_snapshot_costs_belong_to_the_snapshot_image():
    target = np.full((2, 2, 3), 10.0, np.float32)
    snapshots = []
    optimize.run_adam(quadratic_cost(target), np.zeros((2, 2, 3), np.float32), 6, 1.0, 3,
                      optimize.Callbacks(on_snapshot=snapshots.append))
    for snapshot in snapshots:
        assert snapshot.costs.total == pytest.approx(float(np.sum((snapshot.image - 10.0) ** 2)), rel=1e-5)


def test_non_finite_cost_stops_and_keeps_the_last_finite_image():
    def exploding_cost(image):
        # Finite until the pixels pass 5, then infinite.
        value = tf.where(tf.reduce_max(image) > 5.0, tf.constant(np.inf), tf.reduce_sum(tf.square(image - 100.0)))
        return {"total": value, "content": value, "style": tf.constant(0.0)}

    result = optimize.run_adam(exploding_cost, np.zeros((2, 2, 3), np.float32), 50, 2.0, 10)
    assert result.stop_reason is not None and "non-finite" in result.stop_reason
    assert np.all(np.isfinite(result.image))
    assert result.iterations == 3  # 0 → 2 → 4 → 6: the third update crossed 5
    assert result.image.max() == pytest.approx(6.0, abs=0.1)


def test_cost_function_is_zero_style_free_at_the_content(random_weights):
    extractor = vgg.FeatureExtractor(["conv4_2", "conv1_1"], random_weights)
    content = np.random.default_rng(0).uniform(0, 255, (32, 48, 3)).astype(np.float32)
    cost = optimize.CostFunction(extractor, content, content, "conv4_2", (("conv1_1", 1.0),), 10, 40)
    costs = cost(tf.constant(content[np.newaxis]))
    assert float(costs["content"]) == 0.0 and float(costs["style"]) == 0.0
    noisy = cost(tf.constant(content[np.newaxis] + 30.0))
    assert float(noisy["total"]) == pytest.approx(10 * float(noisy["content"]) + 40 * float(noisy["style"]), rel=1e-6)
    assert float(noisy["content"]) > 0 and float(noisy["style"]) > 0


def test_adam_on_the_network_lowers_the_total_cost(random_weights):
    extractor = vgg.FeatureExtractor(["conv4_2", "conv1_1", "conv2_1"], random_weights)
    random = np.random.default_rng(1)
    content = random.uniform(0, 255, (32, 32, 3)).astype(np.float32)
    style = random.uniform(0, 255, (32, 32, 3)).astype(np.float32)
    cost = optimize.CostFunction(extractor, content, style, "conv4_2", (("conv1_1", 0.5), ("conv2_1", 0.5)), 10, 40)
    start = optimize.initial_image(content, 0.6, seed=0, mean_pixel=MEAN_PIXEL)
    snapshots = []
    result = optimize.run_adam(cost, start, iterations=8, learning_rate=2.0, print_every=8, callbacks=optimize.Callbacks(on_snapshot=snapshots.append))
    assert result.costs.total < 0.9 * snapshots[0].costs.total


def test_stop_request_interrupts_adam_and_keeps_state():
    target = np.full((2, 2, 3), 50.0, np.float32)
    result = optimize.run_adam(quadratic_cost(target), np.zeros((2, 2, 3), np.float32), 10, 1.0, 5,
                               optimize.Callbacks(should_stop=lambda: True))
    assert result.interrupted and result.iterations == 1
    assert int(result.optimizer_state[0]) == 1  # Adam's own step counter


def test_resumed_adam_ends_where_an_uninterrupted_run_ends():
    target = np.random.default_rng(2).uniform(0, 255, (3, 3, 3)).astype(np.float32)
    start = np.zeros((3, 3, 3), np.float32)
    whole = optimize.run_adam(quadratic_cost(target), start, 12, 3.0, 4)
    calls = iter(range(100))
    first = optimize.run_adam(quadratic_cost(target), start, 12, 3.0, 4,
                              optimize.Callbacks(should_stop=lambda: next(calls) == 6))
    assert first.interrupted and first.iterations == 7
    rest = optimize.run_adam(quadratic_cost(target), first.image, 12, 3.0, 4, first_iteration=first.iterations,
                             optimizer_state=first.optimizer_state)
    assert rest.iterations == 12 and rest.iterations_run == 5
    np.testing.assert_allclose(rest.image, whole.image, rtol=1e-6)


def test_total_variation_is_added_with_its_weight(random_weights):
    extractor = vgg.FeatureExtractor(["conv1_1"], random_weights)
    content = np.random.default_rng(0).uniform(0, 255, (16, 16, 3)).astype(np.float32)
    plain = optimize.CostFunction(extractor, content, content, "conv1_1", (("conv1_1", 1.0),), 10, 40)
    smoothed = optimize.CostFunction(extractor, content, content, "conv1_1", (("conv1_1", 1.0),), 10, 40,
                                     total_variation_weight=0.5)
    image = tf.constant(content[np.newaxis] + 10.0)
    expected_tv = float(tf.image.total_variation(image)[0])
    assert float(smoothed(image)["tv"]) == pytest.approx(expected_tv)
    assert float(smoothed(image)["total"]) == pytest.approx(float(plain(image)["total"]) + 0.5 * expected_tv, rel=1e-6)


def test_an_update_that_overflows_inside_adam_is_undone():
    # Gradients of 1e30 are finite, but Adam squares them (1e60 overflows float32): the
    # update would make the image NaN, so it is undone and the run stops.
    def steep_cost(image):
        value = tf.reduce_sum(image) * 1e30
        return {"total": value, "content": value, "style": tf.constant(0.0)}

    result = optimize.run_adam(steep_cost, np.full((2, 2, 3), 7.0, np.float32), 5, 1.0, 5)
    # Update 1 is 0 (finite momentum over an infinite second moment); update 2 is inf/inf = NaN.
    assert result.stop_reason is not None and result.iterations == 1
    np.testing.assert_array_equal(result.image, 7.0)
