"""nst.fast.losses: per-image losses against values known by hand, and the weighted PerceptualLoss."""

import numpy as np
import pytest
import tensorflow as tf

from nst import vgg
from nst.fast import losses as perceptual_losses


def test_normalised_gram_of_ones_is_one_over_channels():
    # G[c, d] = Σ over H·W locations of 1·1 = H·W; divided by C·H·W -> 1/C.
    gram = perceptual_losses.normalised_gram_matrix(tf.ones((2, 3, 5, 4))).numpy()
    assert gram.shape == (2, 4, 4)
    np.testing.assert_allclose(gram, 0.25)


def test_normalised_gram_does_not_depend_on_image_size():
    small = perceptual_losses.normalised_gram_matrix(tf.fill((1, 4, 4, 3), 2.0))
    large = perceptual_losses.normalised_gram_matrix(tf.fill((1, 40, 30, 3), 2.0))
    np.testing.assert_allclose(small.numpy(), large.numpy())


def test_feature_loss_is_a_mean_per_image():
    target = np.zeros((2, 2, 2, 3), np.float32)
    generated = target.copy()
    generated[0] = 2.0  # every entry off by 2 -> 4
    generated[1, 0, 0, 0] = 6.0  # one entry of 12 off by 6 -> 36 / 12
    np.testing.assert_allclose(perceptual_losses.feature_loss(target, generated).numpy(), [4.0, 3.0])


def test_style_loss_is_zero_for_the_style_itself_and_known_otherwise():
    style = tf.ones((1, 3, 3, 4))
    style_gram = perceptual_losses.normalised_gram_matrix(style)
    generated = tf.concat([tf.ones((1, 3, 3, 4)), tf.zeros((1, 3, 3, 4))], axis=0)
    # Image 0 matches; image 1's Gram is 0 against 1/4 everywhere: mean of (1/4)² over 16 entries.
    np.testing.assert_allclose(perceptual_losses.style_loss(style_gram, generated).numpy(), [0.0, 1 / 16], atol=1e-7)


def test_total_variation_by_hand():
    flat = np.full((1, 4, 4, 3), 9.0, np.float32)
    checkerboard = (np.indices((4, 4)).sum(axis=0) % 2 * 255.0)[None, :, :, None].repeat(3, axis=3)
    stripes = (np.arange(4) % 2 * 10.0)[None, None, :, None].repeat(4, axis=1).repeat(3, axis=3)
    values = perceptual_losses.total_variation_loss(np.concatenate([flat, checkerboard, stripes]).astype(np.float32))
    # Checkerboard: every neighbour differs by 255, both ways; stripes: only horizontally, by 10.
    np.testing.assert_allclose(values.numpy(), [0.0, 2 * 255.0**2, 100.0])


@pytest.fixture(scope="module")
def perceptual_loss(random_weights):
    extractor = vgg.FeatureExtractor(("conv2_2", "conv1_1", "conv2_1"), random_weights, "max")
    style = np.random.default_rng(0).uniform(0, 255, (24, 24, 3)).astype(np.float32)

    def make(weights):
        return perceptual_losses.PerceptualLoss(extractor, style, "conv2_2", (("conv1_1", 1.0), ("conv2_1", 0.5)), weights)

    return make


def test_perceptual_loss_parts_add_up_and_scale_with_their_weights(perceptual_loss):
    content = np.random.default_rng(1).uniform(0, 255, (2, 16, 16, 3)).astype(np.float32)
    generated = np.random.default_rng(2).uniform(0, 255, (2, 16, 16, 3)).astype(np.float32)
    unit = {name: value.numpy() for name, value in perceptual_loss((1.0, 1.0, 1.0))(content, generated).items()}
    assert all(value.shape == (2,) for value in unit.values())
    np.testing.assert_allclose(unit["total"], unit["content"] + unit["style"] + unit["total_variation"], rtol=1e-6)
    weighted = perceptual_loss((2.0, 3.0, 0.0))(content, generated)
    np.testing.assert_allclose(weighted["content"].numpy(), 2 * unit["content"], rtol=1e-6)
    np.testing.assert_allclose(weighted["style"].numpy(), 3 * unit["style"], rtol=1e-5)
    np.testing.assert_allclose(weighted["total_variation"].numpy(), 0.0)


def test_content_loss_is_zero_when_the_output_is_the_input(perceptual_loss):
    content = np.random.default_rng(3).uniform(0, 255, (1, 16, 16, 3)).astype(np.float32)
    losses = perceptual_loss((1.0, 1.0, 1.0))(content, content)
    assert float(losses["content"][0]) == 0.0
    assert float(losses["style"][0]) > 0.0  # a random image is not the style image
