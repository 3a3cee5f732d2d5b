"""The compiled cost-and-gradient step and the Adam loop; reports through callbacks, writes no files."""

import dataclasses
import time

import keras
import numpy as np
import tensorflow as tf

from nst import losses

# Coursera's generate_noise_image: uniform noise in [-20, 20] around the mean pixel.
NOISE_AMPLITUDE = 20.0


@dataclasses.dataclass(frozen=True)
class Costs:
    """The three Coursera costs of one image, as Python floats."""

    total: float
    content: float
    style: float

    @classmethod
    def from_tensors(cls, tensors):
        return cls(**{name: float(value) for name, value in tensors.items()})


@dataclasses.dataclass(frozen=True)
class Snapshot:
    """What the loop reports every print_every iterations: the image after `iteration` updates and its costs."""

    iteration: int
    image: np.ndarray  # H×W×3 float32 RGB, pixel units, not clipped
    costs: Costs
    elapsed_seconds: float


@dataclasses.dataclass(frozen=True)
class OptimizationResult:
    image: np.ndarray  # H×W×3 float32 RGB, pixel units, not clipped
    costs: Costs  # of the returned image
    iterations: int  # updates applied
    elapsed_seconds: float
    stop_reason: str | None = None  # None when all iterations ran

    @property
    def seconds_per_iteration(self):
        return self.elapsed_seconds / max(self.iterations, 1)


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


class CostFunction:
    """The Coursera total cost of a generated image against fixed content and style targets.

    Targets (content activations, style Gram matrices) are computed once here; calling the
    object runs only the generated image through the network.
    """

    def __init__(self, extractor, content_pixels, style_pixels, content_layer, style_layers, alpha, beta):
        self.extractor = extractor
        self.content_layer = content_layer
        self.style_layers = tuple(style_layers)  # ((name, weight), ...)
        self.alpha = float(alpha)
        self.beta = float(beta)
        self.content_target = extractor(content_pixels[np.newaxis])[content_layer]
        style_activations = extractor(style_pixels[np.newaxis])
        self.style_grams = {name: losses.gram_matrix(style_activations[name]) for name, _ in self.style_layers}

    def __call__(self, image_batch):
        """{'total', 'content', 'style'} scalar tensors for a 1×H×W×3 RGB pixel tensor."""
        activations = self.extractor(image_batch)
        content = losses.content_cost(self.content_target, activations[self.content_layer])
        style = tf.add_n(
            [
                weight * losses.gram_style_cost(self.style_grams[name], activations[name])
                for name, weight in self.style_layers
            ]
        )
        total = losses.total_cost(content, style, self.alpha, self.beta)
        return {"total": total, "content": content, "style": style}


def _adam(learning_rate):
    # epsilon 1e-8 is TF1's AdamOptimizer default, which the Coursera assignment used;
    # Keras 3 defaults to 1e-7.
    return keras.optimizers.Adam(learning_rate=learning_rate, beta_1=0.9, beta_2=0.999, epsilon=1e-8)


def run_adam(cost_function, start_image, epochs, learning_rate, print_every, on_snapshot=None):
    """Runs `epochs` Adam updates on the image; returns an OptimizationResult.

    on_snapshot(Snapshot) is called for iterations 0, print_every, 2·print_every, …
    and for the final image. A non-finite cost stops the run and keeps the image
    whose cost it was (its pixels are still finite: the update was not applied).
    """
    image = tf.Variable(np.asarray(start_image, np.float32)[np.newaxis], name="generated_image")
    optimizer = _adam(learning_rate)
    optimizer.build([image])

    def apply_update(gradient):
        optimizer.apply_gradients([(gradient, image)])
        return tf.constant(True)

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            costs = cost_function(image)
        gradient = tape.gradient(costs["total"], image)
        finite = tf.math.logical_and(
            tf.math.is_finite(costs["total"]), tf.reduce_all(tf.math.is_finite(gradient))
        )
        applied = tf.cond(finite, lambda: apply_update(gradient), lambda: tf.constant(False))
        return costs, applied

    report = on_snapshot or (lambda snapshot: None)
    started = time.perf_counter()
    stop_reason = None
    iteration = 0
    while iteration < epochs:
        snapshot_due = iteration % print_every == 0
        # The step returns the costs of the image it starts from, so a snapshot pairs
        # that image (copied before the update) with those costs: no extra forward pass.
        image_before = image.numpy()[0] if snapshot_due else None
        costs, applied = step()
        if snapshot_due:
            report(Snapshot(iteration, image_before, Costs.from_tensors(costs), time.perf_counter() - started))
        if not bool(applied):
            stop_reason = f"the cost became non-finite at iteration {iteration}; kept the last finite image"
            break
        iteration += 1
    elapsed = time.perf_counter() - started
    final_costs = Costs.from_tensors(tf.function(cost_function)(image))
    final_image = image.numpy()[0]
    if stop_reason is None:
        report(Snapshot(iteration, final_image, final_costs, elapsed))
    return OptimizationResult(final_image, final_costs, iteration, elapsed, stop_reason)
