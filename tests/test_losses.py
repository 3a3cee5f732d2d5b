"""nst.losses against hand-known values and an independent NumPy reference."""

import numpy as np
import pytest
import tensorflow as tf

from nst import losses


def numpy_gram(activations):
    batch, height, width, channels = activations.shape
    unrolled = activations.reshape(batch, height * width, channels)
    return np.stack([matrix.T @ matrix for matrix in unrolled])


@pytest.fixture
def random_activations():
    random = np.random.default_rng(7)
    return (
        random.normal(size=(1, 4, 5, 3)).astype(np.float32),
        random.normal(size=(1, 4, 5, 3)).astype(np.float32),
    )


def test_gram_of_ones_counts_locations():
    gram = losses.gram_matrix(tf.ones((1, 3, 4, 2)))
    np.testing.assert_array_equal(gram.numpy(), np.full((1, 2, 2), 12.0))


def test_gram_matches_numpy_per_batch_item():
    activations = np.random.default_rng(1).normal(size=(2, 3, 5, 4)).astype(np.float32)
    np.testing.assert_allclose(losses.gram_matrix(activations).numpy(), numpy_gram(activations), rtol=1e-5)


def test_gram_is_unnormalised_and_symmetric():
    activations = np.arange(24, dtype=np.float32).reshape(1, 2, 3, 4)
    gram = losses.gram_matrix(activations).numpy()[0]
    np.testing.assert_array_equal(gram, gram.T)
    assert gram[0, 0] == sum(value**2 for value in range(0, 24, 4))


def test_content_cost_known_value():
    # Σ(0 − 1)² over 2·3·4 entries, divided by 4·2·3·4: exactly one quarter.
    cost = losses.content_cost(tf.zeros((1, 2, 3, 4)), tf.ones((1, 2, 3, 4)))
    assert float(cost) == pytest.approx(0.25)


def test_content_cost_matches_numpy(random_activations):
    content, generated = random_activations
    expected = np.sum((content - generated) ** 2) / (4 * 4 * 5 * 3)
    assert float(losses.content_cost(content, generated)) == pytest.approx(expected, rel=1e-5)


def test_content_cost_of_identical_activations_is_zero(random_activations):
    content, _ = random_activations
    assert float(losses.content_cost(content, content)) == 0.0


def test_layer_style_cost_matches_numpy(random_activations):
    style, generated = random_activations
    difference = numpy_gram(style) - numpy_gram(generated)
    expected = np.sum(difference**2) / (4 * 3**2 * (4 * 5) ** 2)
    assert float(losses.layer_style_cost(style, generated)) == pytest.approx(expected, rel=1e-5)


def test_layer_style_cost_known_value():
    # Ones against zeros: every Gram entry of the ones is nH·nW = 6, C² = 4 entries.
    cost = losses.layer_style_cost(tf.ones((1, 2, 3, 2)), tf.zeros((1, 2, 3, 2)))
    assert float(cost) == pytest.approx(4 * 36 / (4 * 4 * 36))


def test_gram_style_cost_equals_layer_style_cost(random_activations):
    style, generated = random_activations
    precomputed = losses.gram_style_cost(losses.gram_matrix(style), generated)
    assert float(precomputed) == pytest.approx(float(losses.layer_style_cost(style, generated)), rel=1e-6)


def test_style_cost_weights_layers_from_sequences_and_dicts(random_activations):
    style, generated = random_activations
    other_style, other_generated = style[:, :2, :2], generated[:, :2, :2]
    expected = 0.3 * float(losses.layer_style_cost(style, generated)) + 0.7 * float(
        losses.layer_style_cost(other_style, other_generated)
    )
    from_sequences = losses.style_cost([style, other_style], [generated, other_generated], [0.3, 0.7])
    from_dicts = losses.style_cost(
        {"conv1_1": style, "conv2_1": other_style},
        {"conv2_1": other_generated, "conv1_1": generated},
        {"conv1_1": 0.3, "conv2_1": 0.7},
    )
    assert float(from_sequences) == pytest.approx(expected, rel=1e-5)
    assert float(from_dicts) == pytest.approx(expected, rel=1e-5)


def test_style_cost_refuses_mismatched_lengths(random_activations):
    style, generated = random_activations
    with pytest.raises(ValueError, match="one weight per layer"):
        losses.style_cost([style], [generated], [0.5, 0.5])


def test_total_cost_defaults_are_coursera():
    assert float(losses.total_cost(2.0, 3.0)) == 10 * 2 + 40 * 3
    assert float(losses.total_cost(2.0, 3.0, content_weight=1, style_weight=0.5)) == 3.5


def test_total_variation_of_a_checkerboard():
    # A 4×4 checkerboard of 0 and 1 in one channel: every one of the 3·4 horizontal
    # and 4·3 vertical neighbour pairs differs by 1.
    board = (np.indices((4, 4)).sum(axis=0) % 2).astype(np.float32)
    image = np.zeros((1, 4, 4, 3), np.float32)
    image[0, :, :, 0] = board
    assert float(losses.total_variation_cost(image)) == 24.0
    assert float(losses.total_variation_cost(np.ones((2, 5, 5, 3), np.float32))) == 0.0
