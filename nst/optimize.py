"""The compiled cost-and-gradient step and the Adam and L-BFGS loops; they report through callbacks and write no files."""

import dataclasses
import time
from collections.abc import Callable

import keras
import numpy as np
import scipy.optimize
import tensorflow as tf

from nst import loss_conventions
from nst import losses
from nst import masks

# Coursera's generate_noise_image: uniform noise in [-20, 20] around the mean pixel.
NOISE_AMPLITUDE = 20.0
PIXEL_RANGE = (0.0, 255.0)


@dataclasses.dataclass(frozen=True)
class Costs:
    """The costs of one image, as Python floats; tv is 0 when total variation is not used."""

    total: float
    content: float
    style: float
    tv: float = 0.0

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
    stop_reason: str | None = None  # None when all iterations ran
    evaluations: int = 0  # cost-and-gradient evaluations made
    optimizer_state: tuple = ()
    interrupted: bool = False
    raw_image: np.ndarray | None = None  # the optimised image, when `image` was post-processed

    @property
    def resume_image(self):
        return self.image if self.raw_image is None else self.raw_image

    @property
    def seconds_per_iteration(self):
        return self.elapsed_seconds / max(self.iterations_run, 1)


def initial_image(content_pixels, noise_ratio, seed, mean_pixel):
    """The Coursera start: noise_ratio·noise + (1 − noise_ratio)·content, H×W×3 float32.

    Coursera blends in mean-subtracted space, noise uniform in [-20, 20]. The image
    here is held in plain RGB pixels, so the noise is centred on the weights' mean
    pixel: the same image, whatever input convention the weights use.
    """
    content_pixels = np.asarray(content_pixels, np.float32)
    random = np.random.default_rng(seed)
    noise = random.uniform(-NOISE_AMPLITUDE, NOISE_AMPLITUDE, content_pixels.shape).astype(np.float32)
    noise += np.asarray(mean_pixel, np.float32)
    return noise_ratio * noise + (1.0 - noise_ratio) * content_pixels


def uniform_noise_image(shape, seed):
    """Pure white noise over the whole pixel range, H×W×3 float32 (the 'random' init)."""
    return np.random.default_rng(seed).uniform(*PIXEL_RANGE, shape).astype(np.float32)


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
    Vedaldi; used by Johnson et al.) is added when tv_weight > 0. style is one StyleTarget,
    a sequence of them (blended by their weights), or plain style pixels.
    """

    def __init__(self, extractor, content_pixels, style, content_layer, style_layers, alpha, beta,
                 tv_weight=0.0, convention=loss_conventions.COURSERA):
        self.extractor = extractor
        self.content_layer = content_layer
        self.style_layers = tuple(style_layers)  # ((name, weight), ...)
        self.alpha, self.beta, self.tv_weight = float(alpha), float(beta), float(tv_weight)
        self.convention = convention
        content_activations = extractor(content_pixels[np.newaxis])
        self.content_target = content_activations[content_layer]
        targets = [style] if isinstance(style, (np.ndarray, StyleTarget)) else list(style)
        targets = [target if isinstance(target, StyleTarget) else StyleTarget(target) for target in targets]
        self.style_terms = [self._style_term(target, content_activations) for target in targets]

    def _style_term(self, target, content_activations):
        """(blend weight, {layer: (style Gram rescaled to the generated image, √mask or None)})."""
        style_activations = self.extractor(target.pixels[np.newaxis])
        layers = {}
        for name, _ in self.style_layers:
            generated_shape = content_activations[name].shape  # the generated image is the content's size
            generated_locations = generated_shape[1] * generated_shape[2]
            style_locations = style_activations[name].shape[1] * style_activations[name].shape[2]
            root_mask, covered = None, generated_locations
            if target.mask is not None:
                layer_mask = masks.mask_at_resolution(target.mask, generated_shape[1], generated_shape[2])
                # Weighting activations by √m makes their Gram Σ m·a·aᵀ, the Gram of the masked region.
                root_mask = tf.sqrt(layer_mask)[tf.newaxis, :, :, tf.newaxis]
                covered = float(tf.reduce_sum(layer_mask))
            # A Gram sums over locations: compare the style's per-location statistics over the
            # generated image's (or mask's) area, whatever the style image's size (style_scale).
            reference_locations = generated_locations if self.convention.gram_is_per_location else style_locations
            gram = self.convention.gram_matrix(style_activations[name]) * (covered / reference_locations)
            layers[name] = (gram, root_mask)
        return target.blend_weight, layers

    def __call__(self, image_batch):
        """{'total', 'content', 'style', 'tv'} scalar tensors for a 1×H×W×3 RGB pixel tensor."""
        activations = self.extractor(image_batch)
        content = self.convention.content_cost(self.content_target, activations[self.content_layer])
        style_costs = []
        for blend_weight, layers in self.style_terms:
            for name, layer_weight in self.style_layers:
                gram, root_mask = layers[name]
                generated = activations[name] if root_mask is None else activations[name] * root_mask
                style_costs.append(blend_weight * layer_weight * self.convention.gram_style_cost(gram, generated))
        style = tf.add_n(style_costs)
        total = losses.total_cost(content, style, self.alpha, self.beta)
        tv = losses.total_variation_cost(image_batch) if self.tv_weight else tf.constant(0.0)
        return {"total": total + self.tv_weight * tv, "content": content, "style": style, "tv": tv}


def make_cost_and_gradient(cost_function, jit=False):
    """One compiled function: image batch -> (costs dict, d total / d image). Shared by Adam and L-BFGS."""

    @tf.function(jit_compile=jit, reduce_retracing=True)
    def cost_and_gradient(image_batch):
        with tf.GradientTape() as tape:
            tape.watch(image_batch)
            costs = cost_function(image_batch)
        return costs, tape.gradient(costs["total"], image_batch)

    return cost_and_gradient


def _adam(learning_rate, beta_1=0.9, epsilon=1e-8):
    # epsilon 1e-8 is TF1's AdamOptimizer default, which the Coursera assignment used;
    # Keras 3 defaults to 1e-7.
    return keras.optimizers.Adam(learning_rate=learning_rate, beta_1=beta_1, beta_2=0.999, epsilon=epsilon)


def _finite(costs, gradient):
    return tf.math.logical_and(tf.math.is_finite(costs["total"]), tf.reduce_all(tf.math.is_finite(gradient)))


def run_adam(cost_function, start_image, iterations, learning_rate, print_every, callbacks=Callbacks(),
             first_iteration=0, optimizer_state=(), jit=False, beta_1=0.9, epsilon=1e-8):
    """Runs Adam updates on the image from first_iteration up to `iterations`; returns an OptimizationResult.

    callbacks.on_snapshot gets iterations first_iteration, multiples of print_every, and the
    final image. optimizer_state (from an earlier Snapshot) restores Adam's moments, so a
    resumed run continues exactly where it stopped. A non-finite cost stops the run and keeps
    the image whose cost it was (its pixels are still finite: the update was not applied).
    """
    image = tf.Variable(np.asarray(start_image, np.float32)[np.newaxis], name="generated_image")
    optimizer = _adam(learning_rate, beta_1, epsilon)
    optimizer.build([image])
    for variable, value in zip(optimizer.variables, optimizer_state):
        variable.assign(value)
    cost_and_gradient = make_cost_and_gradient(cost_function, jit)

    def apply_update(gradient):
        # A finite gradient can still overflow inside Adam (its square, in the second moment)
        # and turn the image into NaN: such an update is undone and counts as non-finite.
        previous = image.read_value()
        optimizer.apply_gradients([(gradient, image)])

        def undo():
            image.assign(previous)
            return tf.constant(False)

        return tf.cond(tf.reduce_all(tf.math.is_finite(image)), lambda: tf.constant(True), undo)

    @tf.function
    def step():
        costs, gradient = cost_and_gradient(tf.convert_to_tensor(image))
        applied = tf.cond(_finite(costs, gradient), lambda: apply_update(gradient), lambda: tf.constant(False))
        return costs, applied

    def state():
        return tuple(variable.numpy() for variable in optimizer.variables)

    started = time.perf_counter()
    stop_reason, interrupted, iteration = None, False, first_iteration
    while iteration < iterations:
        snapshot_due = iteration % print_every == 0 or iteration == first_iteration
        # The step returns the costs of the image it starts from, so a snapshot pairs
        # that image (copied before the update) with those costs: no extra forward pass.
        image_before = image.numpy()[0] if snapshot_due else None
        state_before = state() if snapshot_due else ()
        costs, applied = step()
        costs = Costs.from_tensors(costs)
        if snapshot_due:
            callbacks.snapshot(Snapshot(iteration, image_before, costs, time.perf_counter() - started, state_before))
        if not bool(applied):
            stop_reason = f"the cost or its update became non-finite at iteration {iteration}; kept the last finite image"
            break
        iteration += 1
        callbacks.iteration_done(iteration, costs)
        if callbacks.stop_requested():
            interrupted = iteration < iterations
            break
    elapsed = time.perf_counter() - started
    final_costs = Costs.from_tensors(cost_and_gradient(tf.convert_to_tensor(image))[0])
    result = OptimizationResult(image.numpy()[0], final_costs, iteration, iteration - first_iteration, elapsed,
                                stop_reason, iteration - first_iteration, state(), interrupted)
    if stop_reason is None:
        callbacks.snapshot(Snapshot(iteration, result.image, final_costs, elapsed, result.optimizer_state))
    return result


class _NonFiniteCost(Exception):
    pass


class _LbfgsProblem:
    """Adapts the compiled TensorFlow cost to SciPy's float64 vector interface, remembering the last evaluation.

    SciPy sees the cost scaled so that the largest gradient entry at the start is 1.
    L-BFGS-B's first trial step is the raw negative gradient, in pixels: unscaled, Coursera
    gradients (~1e3 per pixel) would throw pixels to the bounds, and normalised conventions'
    (~1e-6) would move them by less than float32 can register, ending the run at once. With
    this scale the first step moves each pixel by at most one unit, whatever the loss weights.
    """

    def __init__(self, cost_function, shape, jit):
        self.cost_and_gradient = make_cost_and_gradient(cost_function, jit)
        self.shape = (1, *shape)
        self.evaluations = 0
        self.last_point = None
        self.last_costs = None
        self.scale = None

    def __call__(self, point):
        costs, gradient = self.cost_and_gradient(tf.constant(point.reshape(self.shape), tf.float32))
        self.evaluations += 1
        costs = Costs.from_tensors(costs)
        gradient = gradient.numpy().ravel().astype(np.float64)
        if not (costs.is_finite() and np.all(np.isfinite(gradient))):
            raise _NonFiniteCost()
        self.last_point, self.last_costs = point.copy(), costs
        if self.scale is None:
            self.scale = 1.0 / max(float(np.abs(gradient).max()), np.finfo(np.float32).tiny)
        return costs.total * self.scale, gradient * self.scale

    def costs_at(self, point):
        if self.last_point is None or not np.array_equal(point, self.last_point):
            self(point)
        return self.last_costs


def run_lbfgs(cost_function, start_image, iterations, print_every, callbacks=Callbacks(), first_iteration=0,
              jit=False):
    """Runs L-BFGS-B (SciPy) on the image, kept inside 0–255 by bounds; returns an OptimizationResult.

    SciPy's default tolerances (ftol 2.2e-9 relative, gtol 1e-5) are tuned for problems
    whose costs are near 1; here costs and gradients have arbitrary scales, so both are
    set to zero and the run stops only after `iterations`, a stop request, or a line search
    that can make no progress (true convergence). An interrupted run cannot keep L-BFGS's
    curvature memory: resuming restarts it from the saved image.
    """
    start = np.clip(np.asarray(start_image, np.float64), *PIXEL_RANGE)
    problem = _LbfgsProblem(cost_function, start.shape, jit)
    started = time.perf_counter()
    progress = {"iteration": first_iteration, "point": start.ravel(), "interrupted": False}

    def after_iteration(intermediate_result):
        progress["iteration"] += 1
        progress["point"] = intermediate_result.x.copy()
        costs = problem.costs_at(intermediate_result.x)
        callbacks.iteration_done(progress["iteration"], costs)
        if progress["iteration"] % print_every == 0 and progress["iteration"] < iterations:
            image = intermediate_result.x.reshape(start.shape).astype(np.float32)
            callbacks.snapshot(Snapshot(progress["iteration"], image, costs, time.perf_counter() - started))
        if callbacks.stop_requested():
            progress["interrupted"] = True
            raise StopIteration

    callbacks.snapshot(Snapshot(first_iteration, start.astype(np.float32), problem.costs_at(start.ravel()), 0.0))
    stop_reason = None
    try:
        scipy.optimize.minimize(
            problem, start.ravel(), jac=True, method="L-BFGS-B", bounds=[PIXEL_RANGE] * start.size,
            callback=after_iteration,
            options={"maxiter": iterations - first_iteration, "maxfun": 2 * (iterations - first_iteration) + 20,
                     "ftol": 0.0, "gtol": 0.0, "maxcor": 10},
        )
    except _NonFiniteCost:
        stop_reason = f"the cost became non-finite after iteration {progress['iteration']}; kept the last finite image"
    elapsed = time.perf_counter() - started
    final_image = progress["point"].reshape(start.shape).astype(np.float32)
    final_costs = problem.costs_at(progress["point"]) if stop_reason is None else problem.last_costs
    result = OptimizationResult(final_image, final_costs, progress["iteration"],
                                progress["iteration"] - first_iteration, elapsed, stop_reason,
                                problem.evaluations, (), progress["interrupted"])
    if stop_reason is None:
        callbacks.snapshot(Snapshot(result.iterations, final_image, final_costs, elapsed))
    return result
