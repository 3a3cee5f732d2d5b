"""The compiled cost-and-gradient step and the Adam and L-BFGS loops; they report through callbacks and write no files."""

import dataclasses
import random
import time
from collections.abc import Callable

import keras
import numpy as np
import tensorflow as tf

from nst import image_space as image_space_module
from nst import loss_conventions
from nst import losses
from nst import masks
from nst import temporal as temporal_module
from nst import tiling
from nst import vgg

# Coursera's generate_noise_image: uniform noise in [-20, 20] around the mean pixel.
NOISE_AMPLITUDE = 20.0
# The Coursera TF2 assignment's start: the 0–1 content plus uniform noise in [-0.25, 0.25], clipped.
NOISY_CONTENT_AMPLITUDE = 0.25 * 255.0
# jcjohnson/neural-style's -init random: 0.001·N(0, 1) in the network's input space.
RANDN_SCALE = 0.001
PIXEL_RANGE = image_space_module.PIXEL_RANGE


@dataclasses.dataclass(frozen=True)
class Costs:
    """The costs of one image, as Python floats; tv and temporal are 0 when their terms are not used."""

    total: float
    content: float
    style: float
    tv: float = 0.0
    temporal: float = 0.0  # a video frame's, against the previous frame warped (nst.temporal)

    @classmethod
    def from_tensors(cls, tensors):
        return cls(**{name: float(value) for name, value in tensors.items()})

    def is_finite(self):
        return bool(np.isfinite(self.total))


@dataclasses.dataclass(frozen=True)
class Snapshot:
    """The image after `iteration` updates and its costs, with what it takes to resume from it."""

    iteration: int
    image: np.ndarray  # H×W×3 float32 RGB, pixel units, not clipped
    costs: Costs
    elapsed_seconds: float
    optimizer_state: tuple = ()  # Adam's variables as arrays; empty for L-BFGS
    raw_image: np.ndarray | None = None  # the optimised image, when `image` was post-processed (colours, mask)

    @property
    def resume_image(self):
        return self.image if self.raw_image is None else self.raw_image


@dataclasses.dataclass(frozen=True)
class Callbacks:
    """How the loop talks to its caller: progress every iteration, snapshots, and a stop request."""

    on_iteration: Callable | None = None  # (iteration, Costs) after each update
    on_snapshot: Callable | None = None  # (Snapshot) every print_every iterations and at the end
    should_stop: Callable | None = None  # () -> bool, asked after each update
    on_tile: Callable | None = None  # (nst.tiling.TileProgress) before each tile, when the image is tiled

    def iteration_done(self, iteration, costs):
        if self.on_iteration:
            self.on_iteration(iteration, costs)

    def snapshot(self, snapshot):
        if self.on_snapshot:
            self.on_snapshot(snapshot)

    def stop_requested(self):
        return bool(self.should_stop and self.should_stop())


@dataclasses.dataclass(frozen=True)
class OptimizationResult:
    image: np.ndarray  # H×W×3 float32 RGB, pixel units, not clipped
    costs: Costs  # of the returned image
    iterations: int  # the iteration number reached (counting from the first_iteration given)
    iterations_run: int  # iterations made by this call
    elapsed_seconds: float
    stop_reason: str | None = None  # why the run had to stop (a non-finite cost); None otherwise
    evaluations: int = 0  # cost-and-gradient evaluations made
    optimizer_state: tuple = ()
    interrupted: bool = False
    raw_image: np.ndarray | None = None  # the optimised image, when `image` was post-processed
    ended_early: str | None = None  # in words, why an optimiser ended before its iterations were done
    ended_at_limit: bool = False  # ended_early for a limit or a failure (L-BFGS), not because it converged

    @property
    def resume_image(self):
        return self.image if self.raw_image is None else self.raw_image

    @property
    def seconds_per_iteration(self):
        return self.elapsed_seconds / max(self.iterations_run, 1)


def initial_image(content_pixels, noise_ratio, seed, mean_pixel):
    """The Coursera start: noise_ratio·noise + (1 − noise_ratio)·content, H×W×3 float32.

    Coursera blends in mean-subtracted space, noise uniform in [-20, 20] from NumPy's global
    (legacy) generator. Its notebook seeds it with np.random.seed(3) in the total_cost test cell
    and draws two normals there before generate_noise_image runs, so every student's noise is
    the same: this draws the noise the same way from seed (3 by default), in float32, and blends
    in float64 as the notebook does. The image here is held in plain RGB pixels, so the noise is
    centred on the weights' mean pixel: the same image, whatever input convention the weights use.
    """
    content_pixels = np.asarray(content_pixels, np.float32)
    generator = np.random.RandomState(seed)
    generator.randn()
    generator.randn()
    noise = generator.uniform(-NOISE_AMPLITUDE, NOISE_AMPLITUDE, content_pixels.shape).astype(np.float32)
    mean = np.asarray(mean_pixel, np.float64)
    # float32 noise·ratio plus float64 content: NumPy's promotion, as in the notebook. Returned in
    # float64 pixels, so the mean-subtracted space gets back exactly the blend the notebook assigns.
    return noise * noise_ratio + (content_pixels - mean) * (1.0 - noise_ratio) + mean


def uniform_noise_image(shape, seed):
    """Pure white noise over the whole pixel range, H×W×3 float32 (the 'random' init)."""
    return np.random.default_rng(seed).uniform(*PIXEL_RANGE, shape).astype(np.float32)


def noisy_content_image(content_pixels, seed, amplitude=NOISY_CONTENT_AMPLITUDE):
    """The Coursera TF2 start: content + uniform noise in [-amplitude, amplitude], clipped to 0–255, float32.

    The assignment draws its noise with tf.random.uniform after its tests last called
    tf.random.set_seed(1): eager TensorFlow then seeds the op with (1, the third number
    random.Random(1) gives), which this reproduces for any seed without touching TensorFlow's
    global seed. The sum is clipped in 0–1 units, as the assignment does.
    """
    content_pixels = np.asarray(content_pixels, np.float32)
    operation_seeds = random.Random(seed)
    operation_seed = [operation_seeds.randint(0, 2**31 - 1) for _ in range(3)][-1]
    # In a graph of its own: eager TensorFlow caches a stateful random kernel by its seeds and would
    # continue its stream if the same seeds were drawn before in this process.
    with tf.Graph().as_default():
        uniform = tf.raw_ops.RandomUniform(shape=content_pixels.shape, dtype=tf.float32, seed=seed,
                                           seed2=operation_seed)
        with tf.compat.v1.Session() as session:
            uniform = session.run(uniform)
    unit_amplitude = np.float32(amplitude / 255.0)
    noise = uniform * (2 * unit_amplitude) - unit_amplitude
    unit_content = content_pixels * np.float32(1.0 / 255.0)  # tf.image.convert_image_dtype's multiply
    # float64 pixels, so the 0–1 space gets back exactly the float32 values the assignment starts from.
    return np.clip(unit_content + noise, 0.0, 1.0).astype(np.float64) * 255.0


def randn_image(shape, seed, convention, scale=RANDN_SCALE):
    """jcjohnson/neural-style's random start: scale·N(0, 1) in the network's input space, as RGB pixels.

    Around the network's zero, which is the mean pixel: an almost uniform gray image.
    """
    network_input = (np.random.default_rng(seed).standard_normal(shape) * scale).astype(np.float32)
    return np.asarray(convention.to_pixels(network_input), np.float32)


@dataclasses.dataclass(frozen=True)
class StyleTarget:
    """One style image's part of the cost: its pixels, blend weight and optional mask (H×W in [0, 1])."""

    pixels: np.ndarray  # H×W×3 RGB 0–255, any size (style_scale)
    blend_weight: float = 1.0
    mask: np.ndarray | None = None  # at the generated image's size; None: everywhere


class CostFunction:
    """The total cost of a generated image against fixed content and style targets.

    Targets (content activations, style Gram matrices) are computed once here; calling the
    object runs only the generated image through the network. The formulas are the loss
    convention's (the Coursera ones by default); total variation of the image (Mahendran &
    Vedaldi; used by Johnson et al.) is added when tv_weight > 0, in tv_form: 'absolute' (Σ of
    absolute neighbour differences) or 'squared' (jcjohnson/neural-style's). style is one
    StyleTarget, a sequence of them (blended by their weights), or plain style pixels.
    The generated image is given in space's coordinates (nst.image_space; pixels by default),
    and total variation is measured in them too, as the reproduced systems measure it on the
    variable they optimise. temporal, a nst.temporal.TemporalTarget at the image's size, adds a
    video frame's temporal cost, also measured in the space's units.
    """

    def __init__(self, extractor, content_pixels, style, content_layer, style_layers, content_weight, style_weight,
                 total_variation_weight=0.0, convention=loss_conventions.COURSERA, space=None, tv_form="absolute",
                 tile_size=None, temporal=None):
        self.extractor = extractor
        self.content_layer = content_layer
        self.style_layers = tuple(style_layers)  # ((name, weight), ...)
        self.content_weight, self.style_weight = float(content_weight), float(style_weight)
        self.total_variation_weight = float(total_variation_weight)
        self.convention = convention
        self.space = space or image_space_module.image_space("pixels")
        self.tv_cost = losses.squared_total_variation_cost if tv_form == "squared" else losses.total_variation_cost
        self.image_shape = tuple(np.shape(content_pixels)[:2])  # the generated image is the content's size
        self.tile_size = tile_size  # None: the network sees the whole image at once (see nst.tiling)
        self.temporal = temporal
        if temporal is not None:
            warped = np.asarray(self.space.from_pixels(np.asarray(temporal.warped, np.float32)), np.float32)
            self._temporal_warped = tf.constant(warped[np.newaxis])
            self._temporal_reliability = tf.constant(np.asarray(temporal.reliability, np.float32)[None, :, :, None])
        # The image is fed the way its system feeds it, not through pixels and back, which would
        # round every value twice: as it is in the network's own input space (channels reordered),
        # and normalised from the 0–1 image when the weights' convention starts from one.
        convention = extractor.convention
        self._fed_directly = self.space.coordinates == image_space_module.image_space("network", convention).coordinates
        self._fed_scaled = self.space.coordinates == (convention.pixel_scale, (0.0, 0.0, 0.0), (1.0, 1.0, 1.0))
        if tile_size:
            plan = self.tile_plan()
            self.content_target = tf.constant(tiling.assembled_layer(extractor, content_pixels, content_layer, plan))
            layer_sizes = {name: plan.layer_size(vgg.layer_stride(name)) for name, _ in self.style_layers}
        else:
            content_activations = extractor(content_pixels[np.newaxis])
            self.content_target = content_activations[content_layer]
            layer_sizes = {name: tuple(content_activations[name].shape[1:3]) for name, _ in self.style_layers}
        targets = [style] if isinstance(style, (np.ndarray, StyleTarget)) else list(style)
        targets = [target if isinstance(target, StyleTarget) else StyleTarget(target) for target in targets]
        self.style_terms = [self._style_term(target, layer_sizes) for target in targets]

    def tile_plan(self, height=None, width=None):
        """The tiles of an image of this cost's size (or height×width) at its tile_size (nst.tiling)."""
        height, width = (height, width) if height else self.image_shape
        return tiling.TilePlan.for_image(height, width, self.tile_size, vgg.deepest_layer(self.extractor.layer_names),
                                         self.extractor.pooling_border)

    def _style_grams(self, pixels):
        """({layer: this convention's Gram of the style image}, {layer: its H·W}), tiled when the cost is."""
        if self.tile_size:
            plan = self.tile_plan(*np.shape(pixels)[:2])
            names = [name for name, _ in self.style_layers]
            sums = tiling.gram_sums(self.extractor, pixels, names, plan)
            grams, locations = {}, {}
            for name in names:
                height, width = plan.layer_size(vgg.layer_stride(name))
                locations[name] = height * width
                grams[name] = self.convention.gram_scale(float(locations[name]), float(vgg.channel_count(name))) * sums[name]
            return grams, locations
        activations = self.extractor(pixels[np.newaxis])
        return ({name: self.convention.gram_matrix(activations[name]) for name, _ in self.style_layers},
                {name: activations[name].shape[1] * activations[name].shape[2] for name, _ in self.style_layers})

    def _style_term(self, target, layer_sizes):
        """(blend weight, {layer: (style Gram rescaled to the generated image, √mask or None)})."""
        style_grams, style_locations = self._style_grams(target.pixels)
        layers = {}
        for name, _ in self.style_layers:
            generated_height, generated_width = layer_sizes[name]
            generated_locations = generated_height * generated_width
            root_mask, covered = None, generated_locations
            if target.mask is not None:
                layer_mask = masks.mask_at_resolution(target.mask, generated_height, generated_width)
                # Weighting activations by √m makes their Gram Σ m·a·aᵀ, the Gram of the masked region.
                root_mask = tf.sqrt(layer_mask)[tf.newaxis, :, :, tf.newaxis]
                covered = float(tf.reduce_sum(layer_mask))
            # A Gram sums over locations: compare the style's per-location statistics over the
            # generated image's (or mask's) area, whatever the style image's size (style_scale).
            reference_locations = generated_locations if self.convention.gram_is_per_location else style_locations[name]
            gram = style_grams[name]
            if covered != reference_locations:  # exactly the original's Gram when nothing is rescaled
                gram = gram * (covered / reference_locations)
            layers[name] = (gram, root_mask)
        return target.blend_weight, layers

    def network_input(self, image_batch):
        """The network's input for a 1×H×W×3 image in this cost's space."""
        convention = self.extractor.convention
        if self._fed_directly:
            return image_batch[..., ::-1] if convention.channel_order == "bgr" else image_batch
        if self._fed_scaled:
            return convention.preprocess_scaled(image_batch)
        return convention.preprocess(self.space.to_pixels(image_batch))

    def __call__(self, image_batch):
        """{'total', 'content', 'style', 'tv'} scalar tensors for a 1×H×W×3 image tensor in this cost's space."""
        image_batch = tf.convert_to_tensor(image_batch, tf.float32)
        activations = self.extractor.from_network_input(self.network_input(image_batch))
        content = self.convention.content_cost(self.content_target, activations[self.content_layer])
        style_costs = []
        for blend_weight, layers in self.style_terms:
            for name, layer_weight in self.style_layers:
                gram, root_mask = layers[name]
                generated = activations[name] if root_mask is None else activations[name] * root_mask
                style_costs.append(blend_weight * layer_weight * self.convention.gram_style_cost(gram, generated))
        style = tf.add_n(style_costs)
        costs = {"content": content, "style": style}
        total = losses.total_cost(content, style, self.content_weight, self.style_weight)
        for name, (weight, cost) in self.image_costs(image_batch).items():
            total = total + weight * cost
            costs[name] = cost
        return {"total": total, **costs}

    def image_costs(self, image_batch):
        """{name: (weight, cost)} of the terms measured on the image itself rather than through the network.

        Total variation, and a video frame's temporal cost when there is one. Kept apart from the
        network's terms because they need the whole image at once: a tiled evaluation runs the
        network tile by tile but these on the image.
        """
        tv = self.tv_cost(image_batch) if self.total_variation_weight else tf.constant(0.0)
        costs = {"tv": (self.total_variation_weight, tv)}
        if self.temporal is not None:
            cost = temporal_module.temporal_cost(image_batch, self._temporal_warped, self._temporal_reliability)
            costs["temporal"] = (float(self.temporal.weight), cost)
        return costs


def make_cost_and_gradient(cost_function, jit=False, on_tile=None):
    """One compiled function: image batch -> (costs dict, d total / d image). Shared by Adam and L-BFGS.

    A cost function with a tile_size gets nst.tiling's exact tiled evaluation instead, which
    runs eagerly between tiles (its runs_eagerly is True) and reports each tile to on_tile.
    """
    if getattr(cost_function, "tile_size", None):
        return tiling.TiledCostAndGradient(cost_function, cost_function.tile_plan(), jit, on_tile)

    @tf.function(jit_compile=jit, reduce_retracing=True)
    def cost_and_gradient(image_batch):
        with tf.GradientTape() as tape:
            tape.watch(image_batch)
            costs = cost_function(image_batch)
        return costs, tape.gradient(costs["total"], image_batch)

    return cost_and_gradient


class TorchEpsilonAdam(keras.optimizers.Adam):
    """Keras's Adam with ε where torch.optim.Adam puts it: added after the second moment's bias correction.

    Keras (like TF1) steps by lr·√(1−β₂ᵗ)/(1−β₁ᵗ) · m / (√v + ε); PyTorch by
    lr/(1−β₁ᵗ) · m / (√v/√(1−β₂ᵗ) + ε). The two agree only where ε is negligible, which it is
    not for the Udacity notebook's ImageNet-normalised image (gradients near 1e-6). Keras has
    no option for PyTorch's form, so the update is written here, in PyTorch's arithmetic order,
    with the bias corrections computed in float64 as PyTorch computes them in Python floats.
    The optimizer's variables are Keras's, so resuming works as for Keras's Adam.
    """

    def update_step(self, gradient, variable, learning_rate):
        dtype = variable.dtype
        gradient = tf.cast(gradient, dtype)
        step = tf.cast(self.iterations + 1, tf.float64)
        first_moment = self._momentums[self._get_variable_index(variable)]
        second_moment = self._velocities[self._get_variable_index(variable)]
        first_moment.assign_add((gradient - first_moment) * (1 - self.beta_1))
        second_moment.assign(second_moment * self.beta_2 + (1 - self.beta_2) * tf.square(gradient))
        first_correction = 1 - tf.pow(tf.constant(self.beta_1, tf.float64), step)
        second_correction_root = tf.sqrt(1 - tf.pow(tf.constant(self.beta_2, tf.float64), step))
        step_size = tf.cast(tf.cast(learning_rate, tf.float64) / first_correction, dtype)
        denominator = tf.sqrt(second_moment) / tf.cast(second_correction_root, dtype) + self.epsilon
        variable.assign_sub(step_size * (first_moment / denominator))


def make_adam(learning_rate, beta_1=0.9, epsilon=1e-8, epsilon_placement="keras"):
    """Adam with β₂ 0.999, ε placed as Keras (and TF1) place it, or as PyTorch does (TorchEpsilonAdam).

    epsilon 1e-8 is TF1's AdamOptimizer default, which the Coursera assignment used; Keras 3 defaults to 1e-7.
    """
    optimizer_class = TorchEpsilonAdam if epsilon_placement == "pytorch" else keras.optimizers.Adam
    return optimizer_class(learning_rate=learning_rate, beta_1=beta_1, beta_2=0.999, epsilon=epsilon)


def _finite(costs, gradient):
    return tf.math.logical_and(tf.math.is_finite(costs["total"]), tf.reduce_all(tf.math.is_finite(gradient)))


def _space_of(cost_function):
    """The image space a cost function takes its image in (pixels for plain callables, e.g. in tests)."""
    return getattr(cost_function, "space", None) or image_space_module.image_space("pixels")


def run_adam(cost_function, start_image, iterations, learning_rate, print_every, callbacks=Callbacks(),
             first_iteration=0, optimizer_state=(), jit=False, beta_1=0.9, epsilon=1e-8, epsilon_placement="keras",
             clip_each_step=False):
    """Runs Adam updates on the image from first_iteration up to `iterations`; returns an OptimizationResult.

    start_image and every image reported are RGB pixels; Adam moves the image in the cost
    function's space (its learning rate and epsilon are in that space's units) and, with
    clip_each_step, clips it to the pixel range after every update, as the TensorFlow tutorial
    and the Coursera TF2 assignment do. callbacks.on_snapshot gets iterations first_iteration,
    multiples of print_every, and the final image. optimizer_state (from an earlier Snapshot)
    restores Adam's moments, so a resumed run continues exactly where it stopped. A
    non-finite cost stops the run and keeps the image whose cost it was (its pixels are
    still finite: the update was not applied).
    """
    space = _space_of(cost_function)
    low, high = (tf.constant(bound, tf.float32) for bound in space.bounds())
    start_values = np.asarray(space.from_pixels(np.asarray(start_image)), np.float32)
    image = tf.Variable(start_values[np.newaxis], name="generated_image")
    optimizer = make_adam(learning_rate, beta_1, epsilon, epsilon_placement)
    optimizer.build([image])
    for variable, value in zip(optimizer.variables, optimizer_state):
        variable.assign(value)
    cost_and_gradient = make_cost_and_gradient(cost_function, jit, callbacks.on_tile)

    def apply_update(gradient):
        # A finite gradient can still overflow inside Adam (its square, in the second moment)
        # and turn the image into NaN: such an update is undone and counts as non-finite.
        previous = image.read_value()
        optimizer.apply_gradients([(gradient, image)])
        if clip_each_step:
            image.assign(tf.clip_by_value(image, low, high))

        def undo():
            image.assign(previous)
            return tf.constant(False)

        return tf.cond(tf.reduce_all(tf.math.is_finite(image)), lambda: tf.constant(True), undo)

    def pixels():
        return np.asarray(space.to_pixels(image.numpy()[0]), np.float32)

    def step():
        costs, gradient = cost_and_gradient(tf.convert_to_tensor(image))
        applied = tf.cond(_finite(costs, gradient), lambda: apply_update(gradient), lambda: tf.constant(False))
        return costs, applied

    if getattr(cost_and_gradient, "runs_eagerly", False):
        # Tiled: the tiles run one after another from Python, so only the update is compiled.
        apply_update = tf.function(apply_update)
    else:
        step = tf.function(step)

    def state():
        return tuple(variable.numpy() for variable in optimizer.variables)

    def step_costs(iteration):
        costs, applied = step()
        return Costs.from_tensors(costs), bool(applied)

    return run_update_loop(
        step_costs, pixels, state, lambda: Costs.from_tensors(cost_and_gradient(tf.convert_to_tensor(image))[0]),
        iterations, print_every, callbacks, first_iteration, non_finite="the cost or its update")


def run_update_loop(step, read_image, read_state, final_costs, iterations, print_every, callbacks=Callbacks(),
                    first_iteration=0, non_finite="the cost"):
    """The loop of a one-update-per-step optimiser (Adam here, torch.optim.Adam in nst.compare): an OptimizationResult.

    step(iteration) makes one update and returns (Costs of the image it started from, whether
    the update was applied: False when the cost or gradient was non-finite, which ends the run
    and keeps the image whose cost it was). read_image() and read_state() give the current
    image (H×W×3 pixels) and optimiser state; final_costs() the current image's Costs.
    callbacks.on_snapshot gets iterations first_iteration, multiples of print_every and the end.
    """
    started = time.perf_counter()
    stop_reason, interrupted, iteration = None, False, first_iteration
    while iteration < iterations:
        snapshot_due = iteration % print_every == 0 or iteration == first_iteration
        # The step returns the costs of the image it starts from, so a snapshot pairs
        # that image (copied before the update) with those costs: no extra forward pass.
        image_before = read_image() if snapshot_due else None
        state_before = read_state() if snapshot_due else ()
        costs, applied = step(iteration)
        if snapshot_due:
            callbacks.snapshot(Snapshot(iteration, image_before, costs, time.perf_counter() - started, state_before))
        if not applied:
            stop_reason = f"{non_finite} became non-finite at iteration {iteration}; kept the last finite image"
            break
        iteration += 1
        callbacks.iteration_done(iteration, costs)
        if callbacks.stop_requested():
            interrupted = iteration < iterations
            break
    elapsed = time.perf_counter() - started
    result = OptimizationResult(read_image(), final_costs(), iteration, iteration - first_iteration, elapsed,
                                stop_reason, iteration - first_iteration, read_state(), interrupted)
    if stop_reason is None:
        callbacks.snapshot(Snapshot(iteration, result.image, result.costs, elapsed, result.optimizer_state))
    return result
