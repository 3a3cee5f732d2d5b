"""The selectable loss conventions: how the Gram matrix, content cost and per-layer style cost are scaled."""

import dataclasses
import types
from typing import Callable

import tensorflow as tf

from nst import losses


@dataclasses.dataclass(frozen=True)
class LossConvention:
    """One convention's per-layer functions, all on batch×H×W×C activations.

    gram_matrix(activations) -> batch×C×C;
    content_cost(content_activations, generated_activations) -> scalar;
    gram_style_cost(style_gram, generated_activations) -> scalar, where
    style_gram comes from this convention's own gram_matrix.
    Weighting and summing layers is left to the caller.

    The same costs from sums over the image, for a layer of `locations` H·W and `channels` C
    (the tiled evaluation adds the sums up tile by tile, then applies these with the whole
    layer's sizes, where the functions above would take the sizes of the tensor they get):
    content_scale(locations, channels) -> k, content cost = k·Σ(a_C − a_G)²;
    gram_scale(locations, channels) -> g, gram_matrix = g·Σ a·aᵀ;
    style_cost_from_gram(style_gram, generated_gram, locations, channels) -> scalar.
    """

    name: str
    gram_matrix: Callable
    content_cost: Callable
    gram_style_cost: Callable
    content_scale: Callable
    gram_scale: Callable
    style_cost_from_gram: Callable
    # True when gram_matrix already divides by the number of locations H·W: such Grams of
    # images of different sizes compare directly; un-normalised ones must be rescaled.
    gram_is_per_location: bool = False

    def layer_style_cost(self, style_activations, generated_activations):
        """Return gram_style_cost with the style Gram computed here, for one-off use."""
        return self.gram_style_cost(self.gram_matrix(style_activations), generated_activations)


def _layer_sizes(activations):
    """Return (H·W, C) of batch×H×W×C activations as float32 scalars."""
    shape = tf.shape(activations)
    return tf.cast(shape[1] * shape[2], tf.float32), tf.cast(shape[3], tf.float32)


def mean_squared_content_cost(content_activations, generated_activations):
    """mean((a_G − a_C)²) over every entry: the content cost of both the TF tutorial and the PyTorch notebook."""
    return tf.reduce_mean(tf.square(generated_activations - content_activations))


# The TensorFlow "Neural style transfer" tutorial. It weights the summed layer
# costs by style_weight / number_of_style_layers and content_weight /
# number_of_content_layers; that weighting is the caller's.


def tf_tutorial_gram_matrix(activations):
    """Gram matrices divided by the number of locations H·W: batch×H×W×C -> batch×C×C."""
    locations, _ = _layer_sizes(activations)
    return losses.gram_matrix(activations) / locations


def tf_tutorial_gram_style_cost(style_gram, generated_activations):
    """Mean squared difference of the (location-averaged) Gram matrices."""
    return tf.reduce_mean(tf.square(tf_tutorial_gram_matrix(generated_activations) - style_gram))


# The Udacity-style PyTorch style-transfer notebook ("stype_transfer", a Colab notebook on GitHub):
# content mean((target − input)²), and per layer mean((G_target − G)²) / (d·h·w)
# with the un-normalised Gram XᵀX of the h·w × d features. (The notebook's notes
# also write XᵀX/N; the d·h·w division plays that part, so the Gram itself
# stays un-normalised.) It handles one image (batch 1); for a larger batch the
# mean runs over all batch×C×C entries.


def pytorch_gram_style_cost(style_gram, generated_activations):
    """mean((G_target − G)²) / (d·h·w), with un-normalised Grams and d, h, w the layer's size."""
    locations, channels = _layer_sizes(generated_activations)
    squared_error = tf.reduce_mean(tf.square(losses.gram_matrix(generated_activations) - style_gram))
    return squared_error / (channels * locations)


# jcjohnson/neural-style (the "gatys" preset): Gram divided by its input's element count
# C·H·W, then mean squared error over the C×C entries; content mean squared error.


def jcjohnson_gram_matrix(activations):
    """Gram matrices divided by C·H·W: batch×H×W×C -> batch×C×C."""
    locations, channels = _layer_sizes(activations)
    return losses.gram_matrix(activations) / (locations * channels)


def jcjohnson_gram_style_cost(style_gram, generated_activations):
    """mean((G/(C·H·W) − G_target)²) over the C×C entries."""
    return tf.reduce_mean(tf.square(jcjohnson_gram_matrix(generated_activations) - style_gram))


# The whole-image forms. Batch 1: a mean over the layer's entries divides by H·W·C.


def _mean_scale(locations, channels):
    return 1.0 / (locations * channels)


def _unit_scale(locations, channels):
    return 1.0


def _location_scale(locations, channels):
    return 1.0 / locations


def _coursera_content_scale(locations, channels):
    return 1.0 / (4.0 * locations * channels)


def _coursera_style_cost_from_gram(style_gram, generated_gram, locations, channels):
    return tf.reduce_sum(tf.square(style_gram - generated_gram)) / (4.0 * channels**2 * locations**2)


def _mean_squared_gram_difference(style_gram, generated_gram, locations, channels):
    return tf.reduce_mean(tf.square(generated_gram - style_gram))


def _pytorch_style_cost_from_gram(style_gram, generated_gram, locations, channels):
    return tf.reduce_mean(tf.square(generated_gram - style_gram)) / (channels * locations)


COURSERA = LossConvention(
    name="coursera",
    gram_matrix=losses.gram_matrix,
    content_cost=losses.content_cost,
    gram_style_cost=losses.gram_style_cost,
    content_scale=_coursera_content_scale,
    gram_scale=_unit_scale,
    style_cost_from_gram=_coursera_style_cost_from_gram,
)
TF_TUTORIAL = LossConvention(
    name="tf_tutorial",
    gram_matrix=tf_tutorial_gram_matrix,
    content_cost=mean_squared_content_cost,
    gram_style_cost=tf_tutorial_gram_style_cost,
    content_scale=_mean_scale,
    gram_scale=_location_scale,
    style_cost_from_gram=_mean_squared_gram_difference,
    gram_is_per_location=True,
)
PYTORCH = LossConvention(
    name="pytorch",
    gram_matrix=losses.gram_matrix,
    content_cost=mean_squared_content_cost,
    gram_style_cost=pytorch_gram_style_cost,
    content_scale=_mean_scale,
    gram_scale=_unit_scale,
    style_cost_from_gram=_pytorch_style_cost_from_gram,
)

JCJOHNSON = LossConvention(
    name="jcjohnson",
    gram_matrix=jcjohnson_gram_matrix,
    content_cost=mean_squared_content_cost,
    gram_style_cost=jcjohnson_gram_style_cost,
    content_scale=_mean_scale,
    gram_scale=_mean_scale,
    style_cost_from_gram=_mean_squared_gram_difference,
    gram_is_per_location=True,
)

# Read-only, so no caller can change what a name means for everyone else.
LOSS_CONVENTIONS = types.MappingProxyType(
    {convention.name: convention for convention in (COURSERA, TF_TUTORIAL, PYTORCH, JCJOHNSON)}
)


def get_loss_convention(name):
    """Return the LossConvention called `name`; raise ValueError listing the valid names otherwise."""
    try:
        return LOSS_CONVENTIONS[name]
    except (KeyError, TypeError):
        valid_names = ", ".join(LOSS_CONVENTIONS)
        raise ValueError(f"unknown loss convention {name!r}; choose one of: {valid_names}") from None
