"""Seeded, untrained VGG19 weights: --weights random, for demos and tests."""

import numpy as np

from nst.weights import conventions
from nst.weights import layers as layers_module
from nst.weights import search

def random_weights(seed=0):
    """Untrained VGG19 weights: He-normal kernels and zero biases from numpy.random.default_rng(seed)."""
    generator = np.random.default_rng(seed)
    layers = {}
    for layer_name, shape in layers_module.VGG19_KERNEL_SHAPES.items():
        # He et al. (2015): std = sqrt(2 / fan_in) keeps ReLU activations from shrinking or
        # exploding with depth, so even untrained features carry some signal.
        fan_in = shape[0] * shape[1] * shape[2]
        kernel = generator.standard_normal(shape, dtype=np.float32) * np.float32(np.sqrt(2.0 / fan_in))
        layers[layer_name] = (kernel, np.zeros(shape[3], np.float32))
    return layers_module.LoadedWeights(
        layers=layers,
        convention=conventions.CAFFE_CONVENTION,
        source=f"random untrained VGG19 (seed {seed})",
        warning=(
            f"These VGG19 weights are random and untrained (seed {seed}), so the result will not look "
            f"artistic; use ImageNet weights for art (see {search.PRETRAINED_FOLDER_NAME}/README.md)."
        ),
    )
