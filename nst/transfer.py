"""A whole style transfer from a config: read the images, load the weights, build the network, optimise."""

import dataclasses

import numpy as np

from nst import images
from nst import optimize
from nst import vgg
from nst import weights as weights_module


@dataclasses.dataclass(frozen=True)
class PreparedRun:
    """Everything read from disk before the optimisation starts, so bad input fails before any file is written."""

    content_pixels: np.ndarray  # H×W×3 float32 RGB 0–255
    style_pixels: np.ndarray  # same size as the content
    loaded_weights: weights_module.LoadedWeights


def read_content_and_style(config):
    """The content image resized to config.image_size (longest side) and the style image resized to match it."""
    content = images.resize_to_longest_side(images.read_image(config.content_image), config.image_size)
    images.check_size_for_vgg(content, config.content_image)
    style = images.read_image(config.style_image)
    # Checked before resizing: a sliver stretched to the content's size would carry no texture.
    images.check_size_for_vgg(style, config.style_image)
    style = images.resize_to_size(style, content.size)
    return images.to_array(content), images.to_array(style)


def prepare(config):
    """Reads and checks every input of the run; raises ImageError, WeightsError on bad input."""
    content_pixels, style_pixels = read_content_and_style(config)
    loaded_weights = weights_module.load_weights(
        config.weights, seed=config.seed, allow_download=config.allow_download
    )
    return PreparedRun(content_pixels, style_pixels, loaded_weights)


def build_cost_function(config, prepared):
    """The network cut at the deepest layer the config uses, and the cost against its targets."""
    layer_names = (config.content_layer, *config.style_layer_names)
    extractor = vgg.FeatureExtractor(layer_names, prepared.loaded_weights, config.pooling)
    return optimize.CostFunction(
        extractor,
        prepared.content_pixels,
        prepared.style_pixels,
        config.content_layer,
        config.style_layers,
        config.alpha,
        config.beta,
    )


def run(config, prepared, on_snapshot=None):
    """Optimises the generated image; returns an optimize.OptimizationResult."""
    cost_function = build_cost_function(config, prepared)
    start = optimize.initial_image(
        prepared.content_pixels, config.noise_ratio, config.seed, prepared.loaded_weights.convention.mean
    )
    return optimize.run_adam(
        cost_function, start, config.epochs, config.learning_rate, config.print_every, on_snapshot
    )
