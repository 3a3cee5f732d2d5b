"""nst.loss_conventions against an independent NumPy reference and hand-known values."""

import dataclasses

import numpy as np
import pytest
import tensorflow as tf

from nst import loss_conventions, losses

HEIGHT, WIDTH, CHANNELS = 4, 5, 3
LOCATIONS = HEIGHT * WIDTH


def numpy_gram(activations):
    batch, height, width, channels = activations.shape
    unrolled = activations.astype(np.float64).reshape(batch, height * width, channels)
    return np.stack([matrix.T @ matrix for matrix in unrolled])


@pytest.fixture
def random_activations():
    random = np.random.default_rng(11)
    shape = (1, HEIGHT, WIDTH, CHANNELS)
    return random.normal(size=shape).astype(np.float32), random.normal(size=shape).astype(np.float32)


def test_the_conventions_are_registered_by_name():
    assert set(loss_conventions.LOSS_CONVENTIONS) == {"coursera", "tf_tutorial", "pytorch", "jcjohnson"}
    for name, convention in loss_conventions.LOSS_CONVENTIONS.items():
        assert convention.name == name
        assert loss_conventions.get_loss_convention(name) is convention


def test_unknown_name_is_refused_listing_valid_names():
    with pytest.raises(ValueError, match="unknown loss convention 'gatys'.*coursera, tf_tutorial, pytorch"):
        loss_conventions.get_loss_convention("gatys")


def test_conventions_are_frozen_and_the_registry_read_only():
    with pytest.raises(dataclasses.FrozenInstanceError):
        loss_conventions.get_loss_convention("coursera").name = "other"
    with pytest.raises(TypeError):
        loss_conventions.LOSS_CONVENTIONS["other"] = loss_conventions.COURSERA


def test_coursera_is_nst_losses():
    convention = loss_conventions.get_loss_convention("coursera")
    assert convention.gram_matrix is losses.gram_matrix
    assert convention.content_cost is losses.content_cost
    assert convention.gram_style_cost is losses.gram_style_cost


def test_coursera_layer_style_cost_equals_nst_losses(random_activations):
    style, generated = random_activations
    convention = loss_conventions.get_loss_convention("coursera")
    expected = float(losses.layer_style_cost(style, generated))
    assert float(convention.layer_style_cost(style, generated)) == pytest.approx(expected, rel=1e-6)


def test_tf_tutorial_gram_divides_by_locations(random_activations):
    style, _ = random_activations
    gram = loss_conventions.get_loss_convention("tf_tutorial").gram_matrix(style)
    np.testing.assert_allclose(gram.numpy(), numpy_gram(style) / LOCATIONS, rtol=1e-5)


def test_tf_tutorial_costs_match_numpy(random_activations):
    content, generated = random_activations
    convention = loss_conventions.get_loss_convention("tf_tutorial")
    expected_content = np.mean((generated.astype(np.float64) - content) ** 2)
    expected_style = np.mean((numpy_gram(generated) / LOCATIONS - numpy_gram(content) / LOCATIONS) ** 2)
    style_gram = convention.gram_matrix(content)
    assert float(convention.content_cost(content, generated)) == pytest.approx(expected_content, rel=1e-5)
    assert float(convention.gram_style_cost(style_gram, generated)) == pytest.approx(expected_style, rel=1e-5)


def test_tf_tutorial_known_values():
    convention = loss_conventions.get_loss_convention("tf_tutorial")
    ones, zeros = tf.ones((1, 2, 3, 2)), tf.zeros((1, 2, 3, 2))
    # The Gram of ones averages 1·1 over the locations: 1 everywhere.
    np.testing.assert_allclose(convention.gram_matrix(ones).numpy(), np.ones((1, 2, 2)))
    assert float(convention.content_cost(zeros, ones)) == pytest.approx(1.0)
    assert float(convention.layer_style_cost(ones, zeros)) == pytest.approx(1.0)


def test_pytorch_gram_is_unnormalised(random_activations):
    style, _ = random_activations
    gram = loss_conventions.get_loss_convention("pytorch").gram_matrix(style)
    np.testing.assert_allclose(gram.numpy(), numpy_gram(style), rtol=1e-5)


def test_pytorch_costs_match_numpy(random_activations):
    content, generated = random_activations
    convention = loss_conventions.get_loss_convention("pytorch")
    expected_content = np.mean((generated.astype(np.float64) - content) ** 2)
    expected_style = np.mean((numpy_gram(generated) - numpy_gram(content)) ** 2) / (CHANNELS * LOCATIONS)
    style_gram = convention.gram_matrix(content)
    assert float(convention.content_cost(content, generated)) == pytest.approx(expected_content, rel=1e-5)
    assert float(convention.gram_style_cost(style_gram, generated)) == pytest.approx(expected_style, rel=1e-5)


def test_pytorch_known_values():
    convention = loss_conventions.get_loss_convention("pytorch")
    ones, zeros = tf.ones((1, 2, 3, 2)), tf.zeros((1, 2, 3, 2))
    assert float(convention.content_cost(zeros, ones)) == pytest.approx(1.0)
    # Every Gram entry of the ones is h·w = 6: mean(6²) / (d·h·w) = 36 / 12 = 3.
    assert float(convention.layer_style_cost(ones, zeros)) == pytest.approx(3.0)


def test_content_costs_of_identical_activations_are_zero(random_activations):
    content, _ = random_activations
    for convention in loss_conventions.LOSS_CONVENTIONS.values():
        assert float(convention.content_cost(content, content)) == 0.0
        assert float(convention.layer_style_cost(content, content)) == 0.0


def test_conventions_differ_only_by_scale(random_activations):
    # The same layer and images: each convention's style cost is the Coursera one times a known factor.
    style, generated = random_activations
    coursera = float(loss_conventions.COURSERA.layer_style_cost(style, generated))
    tf_tutorial = float(loss_conventions.TF_TUTORIAL.layer_style_cost(style, generated))
    pytorch = float(loss_conventions.PYTORCH.layer_style_cost(style, generated))
    # Coursera: S / (4·C²·L²); tf_tutorial: S / (L²·C²); pytorch: S / (C²·C·L), with S the summed squares.
    assert tf_tutorial == pytest.approx(4 * coursera, rel=1e-5)
    assert pytorch == pytest.approx(4 * coursera * LOCATIONS / CHANNELS, rel=1e-5)


def test_conventions_work_inside_tf_function(random_activations):
    style, generated = random_activations
    for convention in loss_conventions.LOSS_CONVENTIONS.values():
        style_gram = convention.gram_matrix(style)
        compiled = tf.function(convention.gram_style_cost)
        expected = float(convention.gram_style_cost(style_gram, generated))
        assert float(compiled(style_gram, tf.constant(generated))) == pytest.approx(expected, rel=1e-6)


def test_jcjohnson_convention_against_numpy():
    random = np.random.default_rng(3)
    style, generated = (random.normal(size=(1, 3, 4, 5)).astype(np.float32) for _ in range(2))

    def numpy_gram(values):
        flat = values.reshape(-1, values.shape[-1])
        return flat.T @ flat / values.size

    convention = loss_conventions.get_loss_convention("jcjohnson")
    expected = np.mean((numpy_gram(generated) - numpy_gram(style)) ** 2)
    assert float(convention.layer_style_cost(style, generated)) == pytest.approx(expected, rel=1e-5)
    assert convention.gram_is_per_location and not loss_conventions.COURSERA.gram_is_per_location


@pytest.mark.parametrize("name", ["coursera", "tf_tutorial", "pytorch", "jcjohnson"])
def test_the_whole_image_forms_give_each_conventions_costs(random_activations, name):
    """What the tiled evaluation computes from sums over tiles equals the convention's own functions."""
    convention = loss_conventions.get_loss_convention(name)
    content, generated = random_activations
    raw_gram = numpy_gram(generated)
    style_gram = convention.gram_matrix(content)
    scale = convention.gram_scale(LOCATIONS, CHANNELS)
    np.testing.assert_allclose(scale * raw_gram, convention.gram_matrix(generated).numpy(), rtol=1e-5)
    squared_sum = float(np.sum((content.astype(np.float64) - generated) ** 2))
    assert convention.content_scale(LOCATIONS, CHANNELS) * squared_sum == pytest.approx(
        float(convention.content_cost(content, generated)), rel=1e-5)
    from_gram = convention.style_cost_from_gram(style_gram, tf.constant(scale * raw_gram, tf.float32),
                                                LOCATIONS, CHANNELS)
    assert float(from_gram) == pytest.approx(float(convention.gram_style_cost(style_gram, generated)), rel=1e-5)
