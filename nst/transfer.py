"""A whole style transfer from a config: read the inputs, build the network, optimise at each scale."""

import dataclasses

import numpy as np
import PIL.Image
import tensorflow as tf

from nst import config as config_module
from nst import images
from nst import optimize
from nst import vgg
from nst import weights as weights_module


@dataclasses.dataclass(frozen=True)
class PreparedRun:
    """Everything read from disk before the optimisation starts, so bad input fails before any file is written."""

    content_image: PIL.Image.Image  # RGB, as read
    style_image: PIL.Image.Image
    init_image: PIL.Image.Image | None  # only for init=PATH
    loaded_weights: weights_module.LoadedWeights

    def content_size(self, longest_side):
        """(width, height) of the content image scaled to longest_side."""
        return images.resize_to_longest_side(self.content_image, longest_side).size


@dataclasses.dataclass(frozen=True)
class ResumeState:
    """Where an interrupted run stopped: the iteration reached, its image and Adam's state."""

    iteration: int
    image: np.ndarray
    optimizer_state: tuple = ()


def _as_pil(image_or_path):
    if isinstance(image_or_path, PIL.Image.Image):
        return image_or_path.convert("RGB")
    if isinstance(image_or_path, np.ndarray):
        return images.to_pil(image_or_path)
    return images.read_image(image_or_path)


def prepare(config, content=None, style=None):
    """Reads and checks every input of the run; raises ImageError, WeightsError on bad input.

    content and style may be given directly (PIL images or H×W×3 arrays) instead of the
    config's paths, for the Python API.
    """
    content_image = _as_pil(content if content is not None else config.content_image)
    smallest = images.resize_to_longest_side(content_image, config.scale_sizes()[0])
    images.check_size_for_vgg(smallest, config.content_image)
    style_image = _as_pil(style if style is not None else config.style_image)
    # Checked before resizing: a sliver stretched to the content's size would carry no texture.
    images.check_size_for_vgg(style_image, config.style_image)
    init_image = None if config.init in config_module.INIT_MODES else images.read_image(config.init)
    loaded_weights = weights_module.load_weights(config.weights, seed=config.seed,
                                                 allow_download=config.allow_download)
    return PreparedRun(content_image, style_image, init_image, loaded_weights)


def pixels_at_size(image, size):
    """A PIL image resized to (width, height), as float32 H×W×3 RGB pixels."""
    return images.to_array(images.resize_to_size(image, size))


def start_image(config, prepared, content_pixels, style_pixels):
    """The image the optimisation starts from, by config.init."""
    if config.init == "noise":
        return optimize.initial_image(content_pixels, config.noise_ratio, config.seed,
                                      prepared.loaded_weights.convention.mean)
    if config.init == "content":
        return content_pixels.copy()
    if config.init == "style":
        return style_pixels.copy()
    if config.init == "random":
        return optimize.uniform_noise_image(content_pixels.shape, config.seed)
    return pixels_at_size(prepared.init_image, content_pixels.shape[1::-1])


def resize_pixels(pixels, size):
    """Bicubic upsampling of a float image to (width, height), between scales; values are not clipped."""
    resized = tf.image.resize(pixels[np.newaxis], (size[1], size[0]), method="bicubic")
    return resized.numpy()[0]


def build_extractor(config, prepared):
    layer_names = (config.content_layer, *config.style_layer_names)
    return vgg.FeatureExtractor(layer_names, prepared.loaded_weights, config.pooling, config.precision)


def _optimise_scale(config, cost_function, start, first_iteration, last_iteration, callbacks, optimizer_state):
    if config.optimizer == "lbfgs":
        return optimize.run_lbfgs(cost_function, start, last_iteration, config.print_every, callbacks,
                                  first_iteration, config.jit)
    return optimize.run_adam(cost_function, start, last_iteration, config.learning_rate, config.print_every,
                             callbacks, first_iteration, optimizer_state, config.jit)


def _combine(results):
    """One result for the whole run: the last scale's image and costs, the time and work of all scales."""
    last = results[-1]
    return dataclasses.replace(
        last,
        iterations_run=sum(result.iterations_run for result in results),
        elapsed_seconds=sum(result.elapsed_seconds for result in results),
        evaluations=sum(result.evaluations for result in results),
    )


def run(config, prepared, callbacks=optimize.Callbacks(), resume=None):
    """Optimises the generated image at each scale, coarse to fine; returns an optimize.OptimizationResult.

    Iterations are numbered across scales (scale k covers k·epochs … (k+1)·epochs). With
    resume, the scales already finished are skipped and the run continues from resume's
    image and Adam state.
    """
    if config.deterministic:
        tf.config.experimental.enable_op_determinism()
    extractor = build_extractor(config, prepared)
    results, previous_image = [], None
    for scale_index, longest_side in enumerate(config.scale_sizes()):
        first, last = scale_index * config.epochs, (scale_index + 1) * config.epochs
        if resume is not None and resume.iteration >= last:
            previous_image = resume.image
            continue
        size = prepared.content_size(longest_side)
        content_pixels = pixels_at_size(prepared.content_image, size)
        style_pixels = pixels_at_size(prepared.style_image, size)
        optimizer_state = ()
        if resume is not None and resume.iteration >= first:
            first, start, optimizer_state = resume.iteration, resume.image, resume.optimizer_state
            resume = None
        elif previous_image is not None:
            start = previous_image
        else:
            start = start_image(config, prepared, content_pixels, style_pixels)
        if start.shape != content_pixels.shape:  # the image comes from the scale before: a new Adam
            start, optimizer_state = resize_pixels(start, size), ()
        cost_function = optimize.CostFunction(
            extractor, content_pixels, style_pixels, config.content_layer, config.style_layers,
            config.alpha, config.beta, config.tv_weight,
        )
        results.append(_optimise_scale(config, cost_function, start, first, last, callbacks, optimizer_state))
        if results[-1].stop_reason or results[-1].interrupted:
            break
        previous_image = results[-1].image
    return _combine(results)
