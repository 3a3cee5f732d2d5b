"""One style transfer run in TensorFlow and in the PyTorch reference from the same start, and how far apart they end."""

import dataclasses
import math

import numpy as np
import tensorflow as tf

from nst import config as config_module
from nst import images
from nst import optimize
from nst import outputs
from nst import vgg
from nst import weights as weights_module
from nst.compare import torch_reference

# The targets with identical weights: activations within 1e-4 and the costs of a
# 10-step Adam run within 1e-3, both relative as defined below.
ACTIVATION_TARGET = 1e-4
COST_TARGET = 1e-3
FRAMEWORKS = ("tensorflow", "torch")
COST_NAMES = ("total", "content", "style")
RELATIVE_DIFFERENCE_DEFINITION = (
    "activations: max|tensorflow - torch| / max|tensorflow| over all of a layer's values for the content "
    "image; costs: |tensorflow - torch| / |tensorflow| for each cost at each iteration, the largest reported; "
    "null (infinite) when the TensorFlow values are all 0 and PyTorch's are not"
)

# The settings both pipelines implement. Any other setting of the config must keep its default:
# the PyTorch reference mirrors the Coursera Adam pipeline, not every option of the TensorFlow one.
COMPARABLE_SETTINGS = (
    "content_image", "style_image", "output_dir", "image_size", "iterations", "print_every", "learning_rate",
    "content_weight", "style_weight", "noise_ratio", "seed", "weights", "pooling", "pooling_border", "content_layer",
    "style_layers", "allow_download", "deterministic",
)


@dataclasses.dataclass(frozen=True)
class ComparisonInputs:
    """What both frameworks read, read once: the two images at the run's size and the weights."""

    content_pixels: np.ndarray  # H×W×3 float32 RGB 0–255, longest side config.image_size
    style_pixels: np.ndarray  # resized to the content's size
    loaded_weights: weights_module.LoadedWeights


@dataclasses.dataclass(frozen=True)
class FrameworkRun:
    """One framework's optimisation: its cost at every iteration, its final image, its speed."""

    costs: tuple  # ((iteration, optimize.Costs), ...) for iterations 0 … steps, the last after the final update
    final_image: np.ndarray  # H×W×3 float32 RGB, pixel units, not clipped
    seconds_per_iteration: float  # from the second iteration on: the first also traces or allocates
    first_iteration_seconds: float
    stop_reason: str | None = None


@dataclasses.dataclass(frozen=True)
class Comparison:
    """What differs between the TensorFlow run and the PyTorch run of the same config, weights and start."""

    layer_differences: dict  # canonical layer name -> max relative activation difference, network order
    tensorflow: FrameworkRun
    torch: FrameworkRun
    max_relative_cost_difference: float
    psnr_db: float | None  # None when the two final images are identical (PSNR is infinite)
    ssim: float
    image_shape: tuple  # (height, width)
    weights_source: str

    @property
    def activations_within_target(self):
        return max(self.layer_differences.values()) <= ACTIVATION_TARGET

    @property
    def costs_within_target(self):
        return self.max_relative_cost_difference <= COST_TARGET


def max_relative_difference(reference, other):
    """max|reference − other| / max|reference|: 0 for equal arrays, inf if reference is all zeros and other is not.

    Element-wise relative differences would be meaningless here: ReLU activations are
    exactly 0 in many places, where a 1e-9 difference is an infinite relative one.
    """
    reference = np.asarray(reference, np.float64)
    largest_difference = float(np.max(np.abs(reference - np.asarray(other, np.float64)), initial=0.0))
    scale = float(np.max(np.abs(reference), initial=0.0))
    if largest_difference == 0.0:
        return 0.0
    return largest_difference / scale if scale > 0.0 else math.inf


def relative_cost_difference(reference, other):
    """|reference − other| / |reference| for one cost (0 when both are 0)."""
    if reference == other:
        return 0.0
    return abs(reference - other) / abs(reference) if reference != 0 else math.inf


def max_relative_cost_difference(reference_costs, other_costs):
    """The largest relative_cost_difference of total, content and style over the iterations both runs reached."""
    other_by_iteration = dict(other_costs)
    differences = [
        relative_cost_difference(getattr(costs, name), getattr(other_by_iteration[iteration], name))
        for iteration, costs in reference_costs
        if iteration in other_by_iteration
        for name in COST_NAMES
    ]
    return max(differences, default=0.0)


def image_similarity(first_image, second_image):
    """(PSNR in dB or None when identical, SSIM) of two images as saved: clipped to 0–255, tf.image's definitions."""
    first, second = (
        tf.constant(np.clip(image, 0.0, 255.0), tf.float32) for image in (first_image, second_image)
    )
    psnr = float(tf.image.psnr(first, second, max_val=255.0))
    ssim = float(tf.image.ssim(first, second, max_val=255.0))
    return (psnr if math.isfinite(psnr) else None), ssim


def exposed_layers(config):
    """The layers the config reads (content and style), once each, in network order."""
    names = {config.content_layer, *config.style_layer_names}
    return tuple(name for name in config_module.VGG19_LAYER_NAMES if name in names)


def activation_differences(tensorflow_extractor, torch_extractor, rgb_pixels):
    """{layer: max_relative_difference} of the two extractors' activations for one H×W×3 RGB image."""
    batch = np.asarray(rgb_pixels, np.float32)[np.newaxis]
    tensorflow_activations = tensorflow_extractor(batch)
    torch_activations = torch_extractor(batch)
    return {
        name: max_relative_difference(
            tensorflow_activations[name].numpy(), torch_reference.to_channels_last(torch_activations[name])
        )
        for name in tensorflow_extractor.layer_names
    }


def _run_and_record(run_adam, cost_function, start, config, on_snapshot, framework):
    """Runs one framework's Adam loop with a snapshot every iteration; returns its FrameworkRun."""
    snapshots = []

    def record(snapshot):
        snapshots.append(snapshot)
        if on_snapshot:
            on_snapshot(framework, snapshot)

    result = run_adam(cost_function, start, config.iterations, config.learning_rate, 1,
                      callbacks=optimize.Callbacks(on_snapshot=record))
    elapsed = {snapshot.iteration: snapshot.elapsed_seconds for snapshot in snapshots}
    first = elapsed[0]
    last_timed = result.iterations - 1  # snapshot k is taken after update k, so k = steps − 1 closes the timing
    steady = (elapsed[last_timed] - first) / last_timed if last_timed >= 1 else first
    return FrameworkRun(
        costs=tuple((snapshot.iteration, snapshot.costs) for snapshot in snapshots),
        final_image=result.image,
        seconds_per_iteration=steady,
        first_iteration_seconds=first,
        stop_reason=result.stop_reason,
    )


def style_image_paths(config):
    """The config's style images as a tuple, whether it holds one path or several."""
    style = config.style_image
    return (style,) if isinstance(style, (str, bytes)) or hasattr(style, "__fspath__") else tuple(style)


def check_comparable(config):
    """ConfigError unless the config uses only COMPARABLE_SETTINGS and one style image."""
    if len(style_image_paths(config)) != 1:
        raise config_module.ConfigError("the comparison takes one style image; the PyTorch reference blends none")
    baseline = type(config)(**{name: getattr(config, name) for name in COMPARABLE_SETTINGS})
    for field in dataclasses.fields(config):
        value = getattr(config, field.name)
        if value != getattr(baseline, field.name):
            raise config_module.ConfigError(
                f"{field.name} {value!r}: the PyTorch reference implements only the default, "
                f"{getattr(baseline, field.name)!r}, so the two frameworks cannot be compared with it"
            )


def read_inputs(config):
    """The content image at config.image_size, the style image at the content's size, and the weights.

    Raises ImageError or WeightsError naming the file.
    """
    content = images.resize_to_longest_side(images.read_image(config.content_image), config.image_size)
    images.check_size_for_vgg(content, config.content_image)
    (style_path,) = style_image_paths(config)
    style = images.read_image(style_path)
    # Checked before resizing: a sliver stretched to the content's size would carry no texture.
    images.check_size_for_vgg(style, style_path)
    style = images.resize_to_size(style, content.size)
    loaded_weights = weights_module.load_weights(config.weights, seed=config.seed,
                                                 allow_download=config.allow_download)
    return ComparisonInputs(images.to_array(content), images.to_array(style), loaded_weights)


def compare_frameworks(config, inputs, on_snapshot=None):
    """Runs config.iterations Adam steps in both frameworks from one start image; returns a Comparison.

    inputs (from read_inputs) are shared, and so is the start image, the Coursera blend of
    noise and content (nst.optimize.initial_image), handed to both. on_snapshot(framework,
    Snapshot) is called at every iteration of each run, TensorFlow's first. Raises ConfigError
    for settings only TensorFlow has, TorchUnavailableError without PyTorch.
    """
    check_comparable(config)
    torch_reference.import_torch()
    if config.deterministic:  # as nst.transfer.run does, so the TensorFlow side is the tool's own run
        tf.config.experimental.enable_op_determinism()
    content_pixels, style_pixels, loaded_weights = inputs.content_pixels, inputs.style_pixels, inputs.loaded_weights
    layer_names = exposed_layers(config)
    extractors = {
        "tensorflow": vgg.FeatureExtractor(layer_names, loaded_weights, config.pooling,
                                           pooling_border=config.pooling_border),
        "torch": torch_reference.TorchFeatureExtractor(layer_names, loaded_weights, config.pooling,
                                                       config.pooling_border),
    }
    layer_differences = activation_differences(extractors["tensorflow"], extractors["torch"], content_pixels)
    cost_classes = {"tensorflow": optimize.CostFunction, "torch": torch_reference.TorchCostFunction}
    loops = {"tensorflow": optimize.run_adam, "torch": torch_reference.run_adam}
    start = optimize.initial_image(content_pixels, config.noise_ratio, config.seed,
                                   loaded_weights.convention.mean_pixel)
    runs = {}
    for framework in FRAMEWORKS:
        cost_function = cost_classes[framework](
            extractors[framework], content_pixels, style_pixels,
            config.content_layer, config.style_layers, config.content_weight, config.style_weight,
        )
        runs[framework] = _run_and_record(loops[framework], cost_function, start, config, on_snapshot, framework)
    psnr_db, ssim = image_similarity(runs["tensorflow"].final_image, runs["torch"].final_image)
    return Comparison(
        layer_differences=layer_differences,
        tensorflow=runs["tensorflow"],
        torch=runs["torch"],
        max_relative_cost_difference=max_relative_cost_difference(runs["tensorflow"].costs, runs["torch"].costs),
        psnr_db=psnr_db,
        ssim=ssim,
        image_shape=tuple(content_pixels.shape[:2]),
        weights_source=loaded_weights.source,
    )


def compare_and_report(config, on_snapshot=None, on_weights=None):
    """Reads the inputs, compares the frameworks and writes compare.json and compare.png; (Comparison, json, figure).

    The folder is chosen once the inputs are known good, so a refused run leaves none behind; as
    with nst_main.py, one holding an earlier comparison gets the new one in a run_N subfolder.
    on_weights(LoadedWeights) is called once they are read. Raises NSTErrors.
    """
    from nst.compare import report  # the report draws with matplotlib: imported when a report is written

    check_comparable(config)
    inputs = read_inputs(config)
    torch_reference.import_torch()  # before the slow part, so a missing PyTorch costs no waiting
    output_dir = outputs.new_output_directory(config.output_dir)
    if on_weights:
        on_weights(inputs.loaded_weights)
    comparison = compare_frameworks(config, inputs, on_snapshot=on_snapshot)
    json_path, figure_path = report.write_comparison(output_dir, comparison, config)
    return comparison, json_path, figure_path
