"""A whole style transfer from a config: read the inputs, build the network, optimise at each scale."""

import dataclasses

import numpy as np
import PIL.Image
import tensorflow as tf

from nst import colors
from nst import config as config_module
from nst import image_space
from nst import images
from nst import lbfgs
from nst import loss_conventions
from nst import masks
from nst import memory
from nst import optimize
from nst import sizing
from nst import tiling
from nst import vgg
from nst import weights as weights_module


@dataclasses.dataclass(frozen=True)
class PreparedRun:
    """Everything read from disk before the optimisation starts, so bad input fails before any file is written."""

    content_image: PIL.Image.Image  # RGB, as read
    style_images: tuple  # of PIL.Image.Image, one per style
    init_image: PIL.Image.Image | None  # only for init=PATH
    loaded_weights: weights_module.LoadedWeights
    content_mask: np.ndarray | None = None  # H×W in [0, 1] at the full output size
    style_masks: tuple = ()  # likewise, one per style
    sizing: str = "longest"  # the config's sizing rule (nst.sizing)

    def content_size(self, target_side):
        """(width, height) of the content image at a run's (or a scale's) target size, by the sizing rule."""
        return sizing.content_size(self.content_image.size, self.sizing, target_side)


@dataclasses.dataclass(frozen=True)
class ScaleInputs:
    """What one scale optimises against, and how its images are shown."""

    content_pixels: np.ndarray  # the content as the user gave it, at this scale
    network_content: np.ndarray  # what the network sees (the luminance image with preserve_colors=luminance)
    style_targets: tuple  # of optimize.StyleTarget
    content_mask: np.ndarray | None


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


def prepare(config, content=None, style=None, loaded_weights=None):
    """Reads and checks every input of the run; raises ImageError, WeightsError on bad input.

    content and style may be given directly (PIL images or H×W×3 arrays; style also a list
    of them) instead of the config's paths, for the Python API. loaded_weights, when given,
    are the LoadedWeights config.weights names, already read (the web page reads them once for
    many runs); otherwise they are read here.
    """
    content_image = _as_pil(content if content is not None else config.content_image)
    smallest = sizing.content_size(content_image.size, config.sizing, config.scale_sizes()[0])
    images.check_size_for_vgg(PIL.Image.new("L", smallest), config.content_image)
    given_styles = style if isinstance(style, (list, tuple)) else [style] if style is not None else config.style_image
    style_images = tuple(_as_pil(item) for item in given_styles)
    for path, style_image in zip(config.style_image, style_images):
        # Checked before resizing: a sliver stretched to the content's size would carry no texture.
        images.check_size_for_vgg(style_image, path)
    init_image = None if config.init in config_module.INIT_MODES else images.read_image(config.init)
    full_size = sizing.content_size(content_image.size, config.sizing, config.image_size)
    content_mask = masks.read_mask(config.content_mask, full_size) if config.content_mask else None
    style_masks = tuple(masks.read_mask(path, full_size) for path in config.style_masks)
    if loaded_weights is None:
        loaded_weights = weights_module.load_weights(config.weights, seed=config.seed,
                                                     allow_download=config.allow_download)
    return PreparedRun(content_image, style_images, init_image, loaded_weights, content_mask, style_masks,
                       config.sizing)


def pixels_at_size(image, size):
    """A PIL image resized to (width, height), as float32 H×W×3 RGB pixels."""
    return images.to_array(images.resize_to_size(image, size))


def _mask_at_size(mask, size):
    return masks.mask_at_resolution(mask, size[1], size[0]).numpy()


def _style_pixels(config, style_image, content_pixels, target_side):
    """A style image at the size its sizing rule gives (see nst.sizing.style_pixels), recoloured or reduced to luminance."""
    pixels = sizing.style_pixels(style_image, config.sizing, content_pixels.shape[1::-1], target_side,
                                 config.style_scale)
    if config.preserve_colors == "histogram":
        return colors.match_color_histogram(pixels, content_pixels)
    if config.preserve_colors == "luminance":
        matched = colors.match_luminance_statistics(colors.luminance_image(pixels),
                                                    colors.luminance_image(content_pixels))
        return np.asarray(matched, np.float32)
    return pixels


def scale_inputs(config, prepared, target_side):
    """The content, style targets and masks of one scale, at the content size target_side gives."""
    content_pixels = sizing.content_pixels(prepared.content_image, config.sizing, target_side)
    size = content_pixels.shape[1::-1]
    network_content = colors.luminance_image(content_pixels) if config.preserve_colors == "luminance" else content_pixels
    style_masks = [_mask_at_size(mask, size) for mask in prepared.style_masks]
    blend_weights = config.style_blend_weights
    if style_masks:
        style_masks = masks.normalise_style_masks(style_masks)
        # Masked styles share the image, not the strength: equal weights mean full strength in each region.
        blend_weights = [weight * len(style_masks) for weight in blend_weights]
    else:
        style_masks = [None] * len(prepared.style_images)
    style_targets = tuple(
        optimize.StyleTarget(_style_pixels(config, style_image, content_pixels, target_side), blend_weight, mask)
        for style_image, blend_weight, mask in zip(prepared.style_images, blend_weights, style_masks)
    )
    content_mask = None if prepared.content_mask is None else _mask_at_size(prepared.content_mask, size)
    # float64 stays float64 (nst.sizing's float rules): the start image made from it is then exact.
    network_content = np.asarray(network_content, np.float64 if network_content.dtype == np.float64 else np.float32)
    return ScaleInputs(content_pixels, network_content, style_targets, content_mask)


def present(config, inputs, pixels):
    """The optimised pixels as the user sees them: content colours put back, masked-out areas the content."""
    if config.preserve_colors == "luminance":
        pixels = np.asarray(colors.transfer_luminance(pixels, inputs.content_pixels), np.float32)
    if inputs.content_mask is not None:
        pixels = np.asarray(masks.blend_with_content(pixels, inputs.content_pixels, inputs.content_mask), np.float32)
    return pixels


def _needs_presenting(config, inputs):
    return config.preserve_colors == "luminance" or inputs.content_mask is not None


def start_image(config, prepared, inputs, network_convention):
    """The image the optimisation starts from, by config.init, in RGB pixels."""
    content_pixels = inputs.network_content
    if config.init == "noise":
        return optimize.initial_image(content_pixels, config.noise_ratio, config.seed, network_convention.mean_pixel)
    if config.init == "noisy_content":
        return optimize.noisy_content_image(content_pixels, config.seed)
    if config.init == "content":
        return content_pixels.copy()
    if config.init == "style":
        return resize_pixels(inputs.style_targets[0].pixels, content_pixels.shape[1::-1])
    if config.init == "random":
        return optimize.uniform_noise_image(content_pixels.shape, config.seed)
    if config.init == "randn":
        return optimize.randn_image(content_pixels.shape, config.seed, network_convention)
    return pixels_at_size(prepared.init_image, content_pixels.shape[1::-1])


def resize_pixels(pixels, size):
    """Bicubic upsampling of a float image to (width, height), between scales; values are not clipped."""
    resized = tf.image.resize(pixels[np.newaxis], (size[1], size[0]), method="bicubic")
    return resized.numpy()[0]


def build_extractor(config, prepared):
    """The VGG19 feature extractor the config describes, with the prepared weights."""
    layer_names = (config.content_layer, *config.style_layer_names)
    return vgg.FeatureExtractor(layer_names, prepared.loaded_weights, config.pooling, config.precision,
                                pooling_border=config.pooling_border, before_relu=config.features_before_relu,
                                input_normalization=config.input_normalization)


def memory_budget(config):
    """The memory.Budget automatic tiling plans for: read once per run, before the first scale allocates."""
    return memory.resolve_budget(config.memory_limit, on_gpu=bool(tf.config.list_physical_devices("GPU")))


def tiling_choice(config, size, budget):
    """The memory.TilingChoice for a scale of size (width, height): the given --tile_size, or what fits budget."""
    width, height = size
    deepest = vgg.deepest_layer((config.content_layer, *config.style_layer_names))
    return memory.choose_tiling(width, height, config.tile_size, budget, config.precision, config.optimizer,
                                tiling.halo_for(deepest))


def tiling_record(config, prepared, budget):
    """What run.json says about tiling at the run's full size: the choice, why, and the tiles it makes."""
    width, height = prepared.content_size(config.image_size)
    choice = tiling_choice(config, (width, height), budget)
    record = {"tile_size": choice.tile_size, "estimated_peak_bytes": choice.estimated_bytes,
              "untiled_estimate_bytes": choice.untiled_bytes, "budget_bytes": choice.budget_bytes,
              "reason": choice.reason, "description": choice.describe(width, height)}
    if choice.tile_size:
        deepest = vgg.deepest_layer((config.content_layer, *config.style_layer_names))
        plan = tiling.TilePlan.for_image(height, width, choice.tile_size, deepest, config.pooling_border)
        record.update(tile_count=len(plan.tiles), halo=plan.halo)
    return record


def build_cost_function(config, extractor, inputs, tile_size=None, temporal=None):
    """The cost of one scale: the config's losses against this scale's content and style targets, the
    network run in tiles of tile_size (nst.tiling) when it is given.

    temporal: a video frame's nst.temporal.TemporalTarget, at this scale's size.
    """
    return optimize.CostFunction(
        extractor, inputs.network_content, inputs.style_targets, config.content_layer,
        config.effective_style_layers, config.content_weight, config.style_weight, config.total_variation_weight,
        loss_conventions.get_loss_convention(config.loss_convention),
        space=image_space.image_space(config.optimization_space, extractor.convention), tv_form=config.tv_form,
        tile_size=tile_size,
        temporal=temporal,
    )


def _presenting_callbacks(config, inputs, callbacks):
    """The caller's callbacks, with snapshot images presented (the raw image kept for resuming)."""
    if not _needs_presenting(config, inputs) or callbacks.on_snapshot is None:
        return callbacks

    def on_snapshot(snapshot):
        callbacks.on_snapshot(dataclasses.replace(snapshot, image=present(config, inputs, snapshot.image),
                                                  raw_image=snapshot.image))

    return dataclasses.replace(callbacks, on_snapshot=on_snapshot)


def _optimise_scale(config, cost_function, start, first_iteration, last_iteration, callbacks, optimizer_state):
    if config.optimizer == "lbfgs":
        if config.lbfgs_variant == "torch":  # the tutorial's loop counts closure calls (num_steps), not updates
            last_iteration = first_iteration + config.iterations
        return lbfgs.run_lbfgs(cost_function, start, last_iteration, config.print_every, callbacks,
                               first_iteration, config.jit, config.lbfgs_variant)
    return optimize.run_adam(cost_function, start, last_iteration, config.learning_rate, config.print_every,
                             callbacks, first_iteration, optimizer_state, config.jit, config.adam_beta_1,
                             config.adam_epsilon, config.adam_epsilon_placement, config.clip_each_step)


def _combine(results):
    """One result for the whole run: the last scale's image and costs, the time and work of all scales."""
    last = results[-1]
    return dataclasses.replace(
        last,
        iterations_run=sum(result.iterations_run for result in results),
        elapsed_seconds=sum(result.elapsed_seconds for result in results),
        evaluations=sum(result.evaluations for result in results),
    )


def _start_of_scale(config, prepared, inputs, resume, previous_image, first, network_convention):
    """(start image, first iteration, Adam state) of a scale: resumed, upsampled from the last scale, or new."""
    if resume is not None and resume.iteration >= first:
        start, first, optimizer_state = resume.image, resume.iteration, resume.optimizer_state
    elif previous_image is not None:
        start, optimizer_state = previous_image, ()
    else:
        start, optimizer_state = start_image(config, prepared, inputs, network_convention), ()
    if start.shape != inputs.content_pixels.shape:  # the image comes from the scale before: a new Adam
        start, optimizer_state = resize_pixels(start, inputs.content_pixels.shape[1::-1]), ()
    return start, first, optimizer_state


def transfer_style(config, prepared, callbacks=optimize.Callbacks(), resume=None, start=None, temporal=None,
                   extractor=None, budget=None):
    """Optimises the generated image at each scale, coarse to fine; returns an optimize.OptimizationResult.

    Iterations are numbered across scales (scale k covers k·n … (k+1)·n, n = config.iterations_per_scale). With
    resume, the scales already finished are skipped and the run continues from resume's
    image and Adam state. The result's image is presented (colours, mask); raw_image is
    what was optimised. For a video frame (nst.video.transfer): start, RGB pixels to start from
    instead of config.init (resized to the first scale); temporal, an nst.temporal.TemporalTarget
    at the full size, added to every scale's cost at that scale's size; extractor, the network
    built once for the whole clip.
    budget (a memory.Budget; read now when None) decides which scales are tiled when
    config.tile_size is 0.
    """
    budget = budget or memory_budget(config)
    if config.deterministic:
        tf.config.experimental.enable_op_determinism()
    extractor = extractor or build_extractor(config, prepared)
    results, previous_image = [], start
    for scale_index, longest_side in enumerate(config.scale_sizes()):
        first, last = scale_index * config.iterations_per_scale, (scale_index + 1) * config.iterations_per_scale
        if resume is not None and resume.iteration >= last:
            previous_image = resume.image
            continue
        inputs = scale_inputs(config, prepared, longest_side)
        start, first, optimizer_state = _start_of_scale(config, prepared, inputs, resume, previous_image, first,
                                                        extractor.convention)
        resume = None
        tile_size = tiling_choice(config, inputs.content_pixels.shape[1::-1], budget).tile_size
        scale_temporal = temporal.at_size(inputs.content_pixels.shape[1::-1]) if temporal is not None else None
        cost_function = build_cost_function(config, extractor, inputs, tile_size, scale_temporal)
        result = _optimise_scale(config, cost_function, start, first, last,
                                 _presenting_callbacks(config, inputs, callbacks), optimizer_state)
        results.append(dataclasses.replace(result, image=present(config, inputs, result.image),
                                           raw_image=result.image))
        if result.stop_reason or result.interrupted:
            break
        previous_image = result.image
    return _combine(results)
