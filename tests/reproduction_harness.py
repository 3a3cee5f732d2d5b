"""What the preset-reproduction tests share: inputs made at run time, this project's run of a preset, the checks.

Each tests/test_reproduce_*.py module transcribes one original system's computation independently of
nst/ (its image loading and sizing, preprocessing, network, costs and optimiser, from its published
code) and checks this project's preset against it, on the same weights fixture and inputs, at an odd
size so that pooling borders matter:
- the start image equals the system's (its init rule and seed convention, where its random numbers
  can be drawn the same way; otherwise both start from one given image);
- the start costs and the gradient with respect to the system's own optimisation variable agree
  within 1e-4 relative;
- the costs after 10 optimiser iterations agree within 1e-3 relative, and the float image after them
  within 0.05 gray levels on average.
"""

import dataclasses

import numpy as np
import PIL.Image
import tensorflow as tf

from nst import config as config_module
from nst import optimize
from nst import transfer

START_TOLERANCE = 1e-4
COST_TOLERANCE = 1e-3
IMAGE_TOLERANCE_GRAY_LEVELS = 0.05
ITERATIONS = 10


def smooth_picture(seed, size):
    """An 8-bit RGB picture of (width, height) with structure at several scales, as a PIL image.

    Low-frequency noise upsampled plus a little fine noise: the network sees edges and texture, as in a
    photo, rather than white noise, so the costs and their gradients behave as they do on real images.
    """
    random = np.random.default_rng(seed)
    width, height = size
    coarse = random.uniform(0, 255, (max(2, height // 6), max(2, width // 6), 3)).astype(np.uint8)
    smooth = np.asarray(PIL.Image.fromarray(coarse).resize(size, PIL.Image.Resampling.BICUBIC), np.float32)
    detail = random.normal(0, 12, (height, width, 3))
    return PIL.Image.fromarray(np.clip(smooth + detail, 0, 255).astype(np.uint8))


def write_picture(path, seed, size):
    """smooth_picture saved as PNG (lossless, so every reader decodes the same pixels); returns the path as str."""
    smooth_picture(seed, size).save(path)
    return str(path)


@dataclasses.dataclass
class PresetRun:
    """This project's run of a preset: its config, the start image, costs and gradient there, and every snapshot."""

    config: config_module.StyleTransferConfig
    start_pixels: np.ndarray  # H×W×3 RGB pixels
    start_costs: dict  # name -> float
    start_gradient: np.ndarray  # 1×H×W×3, with respect to the optimisation variable (RGB channel order)
    snapshots: dict  # iteration -> optimize.Snapshot
    result: optimize.OptimizationResult


def run_preset(preset, content_path, style_path, weights_path, start_pixels=None, iterations=ITERATIONS, **fields):
    """Runs the preset through nst.transfer with a snapshot at every iteration.

    start_pixels (RGB pixels) replaces the preset's own start image where the system's random numbers
    cannot be drawn the same way.
    """
    config = config_module.StyleTransferConfig.from_preset(
        preset, content_image=content_path, style_image=style_path, weights=weights_path, epochs=iterations,
        print_every=1, **fields)
    prepared = transfer.prepare(config)
    extractor = transfer.build_extractor(config, prepared)
    inputs = transfer.scale_inputs(config, prepared, config.image_size)
    if start_pixels is None:
        start_pixels = transfer.start_image(config, prepared, inputs, extractor.convention)
    start_pixels = np.asarray(start_pixels)  # float64 where the preset makes it so: exact in the optimiser's space
    cost_function = transfer.build_cost_function(config, extractor, inputs)
    values = cost_function.space.from_pixels(start_pixels)[np.newaxis]
    costs, gradient = optimize.make_cost_and_gradient(cost_function)(tf.constant(values, tf.float32))
    snapshots = {}
    result = transfer.transfer_style(config, prepared, optimize.Callbacks(on_snapshot=lambda s: snapshots.setdefault(s.iteration, s)),
                          transfer.ResumeState(0, start_pixels))
    return PresetRun(config, start_pixels, {name: float(value) for name, value in costs.items()},
                     gradient.numpy(), snapshots, result)


ZERO_COST = 1e-9  # a cost that is 0 in the original (a start from the content) must be below this here


def relative(value, reference):
    """|value − reference| / |reference|; for a reference of exactly 0, 0 when |value| < ZERO_COST.

    A start from the content image has a content cost of 0; this project's graph-compiled forward
    pass rounds apart from its eager one by a few ulps, so it finds about 1e-13, not 0.
    """
    if reference == 0:
        return 0.0 if abs(float(value)) < ZERO_COST else float("inf")
    return abs(float(value) - float(reference)) / abs(float(reference))


def relative_array(values, reference):
    """max|values − reference| / max|reference|: the measure for gradients, whose entries can be 0."""
    values, reference = np.asarray(values, np.float64), np.asarray(reference, np.float64)
    return float(np.abs(values - reference).max() / np.abs(reference).max())


def assert_reproduces(run, reference_start_pixels, reference_start_costs, reference_gradient, reference_costs,
                      reference_image_pixels, cost_names=("content", "style"), iterations=ITERATIONS,
                      cost_tolerance=COST_TOLERANCE, image_tolerance=IMAGE_TOLERANCE_GRAY_LEVELS):
    """The issue's four checks. reference_costs: iteration -> {name: cost} after that many updates.

    The costs are checked after every iteration up to `iterations`, not only the last. cost_tolerance
    may be a dict per cost name (see own_spread for why a system may need one).
    """
    np.testing.assert_allclose(run.start_pixels, reference_start_pixels, rtol=0, atol=1e-3)
    for name in cost_names:
        assert relative(run.start_costs[name], reference_start_costs[name]) <= START_TOLERANCE, (
            name, run.start_costs[name], reference_start_costs[name])
    assert relative_array(run.start_gradient, reference_gradient) <= START_TOLERANCE
    tolerances = cost_tolerance if isinstance(cost_tolerance, dict) else dict.fromkeys(cost_names, cost_tolerance)
    for iteration in range(1, iterations + 1):
        ours = run.snapshots[iteration].costs
        for name in cost_names:
            assert relative(getattr(ours, name), reference_costs[iteration][name]) <= tolerances[name], (
                iteration, name, getattr(ours, name), reference_costs[iteration][name])
    difference = np.abs(run.snapshots[iterations].image - reference_image_pixels).mean()
    assert difference <= image_tolerance, difference
    return difference


def own_spread(reference, perturbed, cost_names, iterations=ITERATIONS):
    """How far a system's run ends from itself when its content image is changed by 1e-7 (relative).

    (largest relative cost difference per cost over the iterations, mean image difference in gray
    levels). A float32 implementation cannot be expected closer to a system than the system is to
    itself under such a change, whose size is float32's rounding: where this spread exceeds the
    issue's targets, tests use twice it as the tolerance and say so.
    """
    costs = {name: max(relative(perturbed[3][iteration][name], reference[3][iteration][name])
                       for iteration in range(1, iterations + 1)) for name in cost_names}
    return costs, float(np.abs(np.asarray(perturbed[4]) - np.asarray(reference[4])).mean())
