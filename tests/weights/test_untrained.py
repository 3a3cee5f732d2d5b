"""nst.weights.untrained: --weights random, He-scaled, seeded and announced as untrained."""

import numpy as np
import pytest

import weight_fixtures
from nst import weights


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
    weight_fixtures.assert_layers_equal(again.layers, first.layers)
    assert not np.array_equal(first.layers["block1_conv1"][0], other.layers["block1_conv1"][0])


def test_random_weights_warn_that_they_are_untrained():
    warning = weights.load_weights("random").warning
    assert "untrained" in warning and "ImageNet" in warning and "pretrained-model/README.md" in warning
