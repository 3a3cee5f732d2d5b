"""Training a fast style transfer network: its config, the distributed step, checkpoints and the loop."""

import dataclasses
import math
import pathlib
import shutil
import time

import keras
import numpy as np
import tensorflow as tf

from nst import config as config_module
from nst import distribution
from nst import fast_checkpoints
from nst import fast_data
from nst import fast_losses
from nst import transform_net
from nst import vgg

# The layers and weights below are the ones long used with the caffe-convention VGG19
# (RGB 0–255 minus the ImageNet mean) and the per-value normalisations of nst.fast_losses.
# Johnson et al. took content from relu2_2 of VGG16; a deeper content layer leaves the
# network freer to repaint shapes. The relative weights depend on these layers.
DEFAULT_CONTENT_LAYER = "conv4_2"
DEFAULT_STYLE_LAYERS = (("conv1_1", 1.0), ("conv2_1", 1.0), ("conv3_1", 1.0), ("conv4_1", 1.0), ("conv5_1", 1.0))
CHECKPOINT_FOLDER_NAME = "checkpoints"


class FastTrainingError(ValueError):
    """A training run that cannot start or continue; the message says why."""


def _require_number(name, value, minimum, whole=False, strictly_above=False):
    if isinstance(value, bool) or not isinstance(value, int if whole else (int, float)):
        kind = "a whole number" if whole else "a number"
        raise config_module.ConfigError(f"{name} must be {kind}, got {value!r}")
    if not math.isfinite(value) or value < minimum or (strictly_above and value == minimum):
        relation = "above" if strictly_above else "at least"
        raise config_module.ConfigError(f"{name} must be {relation} {minimum}, got {value!r}")


@dataclasses.dataclass(frozen=True)
class FastTrainingConfig:
    """Everything a training run needs. Loss weights multiply nst.fast_losses's per-image means."""

    style_image: str
    train_dir: str
    output_dir: str
    weights: str = "imagenet"
    allow_download: bool = True
    pooling: str = "max"  # the loss network as VGG was trained, as Johnson et al. used it
    content_layer: str = DEFAULT_CONTENT_LAYER
    style_layers: tuple = DEFAULT_STYLE_LAYERS
    content_weight: float = 7.5
    style_weight: float = 100.0
    total_variation_weight: float = 200.0
    width_multiplier: float = 1.0
    batch_size: int = 4  # the global batch, split over all replicas
    image_size: int = 256  # side of the square training crops (Johnson et al.: 256)
    style_size: int = 512  # longest side the style image is resized to; 0 keeps its size
    epochs: int = 2  # Johnson et al.: two epochs of COCO
    steps: int = 0  # when above 0, the number of steps to train for, overriding epochs
    learning_rate: float = 1e-3
    checkpoint_every: int = 1000
    keep_checkpoints: int = 3
    seed: int = 0
    distribution: str = "auto"
    cpu_devices: int = 0  # above 1: mirror over that many logical CPU devices (see nst.distribution)
    resume: bool = True

    def __post_init__(self):
        for name in ("batch_size", "epochs", "checkpoint_every", "keep_checkpoints"):
            _require_number(name, getattr(self, name), 1, whole=True)
        for name in ("steps", "seed", "cpu_devices"):
            _require_number(name, getattr(self, name), 0, whole=True)
        _require_number("image_size", self.image_size, config_module.MIN_IMAGE_SIZE, whole=True)
        _require_number("style_size", self.style_size, 0, whole=True)
        if 0 < self.style_size < config_module.MIN_IMAGE_SIZE:
            raise config_module.ConfigError(
                f"style_size must be 0 (keep the image's size) or at least {config_module.MIN_IMAGE_SIZE}, "
                f"got {self.style_size}"
            )
        for name in ("content_weight", "style_weight", "total_variation_weight"):
            _require_number(name, getattr(self, name), 0)
        _require_number("learning_rate", self.learning_rate, 0, strictly_above=True)
        try:
            transform_net.channel_counts(self.width_multiplier)
        except transform_net.TransformNetError as error:
            raise config_module.ConfigError(str(error)) from None
        if self.pooling not in config_module.POOLING_MODES:
            raise config_module.ConfigError(
                f"pooling must be one of {', '.join(config_module.POOLING_MODES)}, got {self.pooling!r}"
            )
        if self.distribution not in distribution.DISTRIBUTION_MODES:
            raise config_module.ConfigError(
                f"distribution must be one of {', '.join(distribution.DISTRIBUTION_MODES)}, got {self.distribution!r}"
            )
        if self.cpu_devices > 1 and self.distribution not in ("auto", "mirrored"):
            raise config_module.ConfigError(
                f"cpu_devices {self.cpu_devices} needs distribution mirrored (or auto), not {self.distribution}"
            )
        for name in ("style_image", "train_dir", "output_dir", "weights"):
            if not str(getattr(self, name)).strip():
                raise config_module.ConfigError(f"{name} must not be empty")
        # Frozen dataclass: normalised values are stored once, here, as nst.config does.
        object.__setattr__(self, "content_layer", config_module.canonical_layer_name(self.content_layer))
        object.__setattr__(self, "style_layers", _validated_style_layers(self.style_layers))

    @property
    def style_layer_names(self):
        return tuple(name for name, _ in self.style_layers)

    @property
    def checkpoint_directory(self):
        return pathlib.Path(self.output_dir) / CHECKPOINT_FOLDER_NAME

    def total_steps(self, file_count):
        """steps if set, else epochs passes over file_count images (the last partial batch of each dropped)."""
        if self.steps:
            return self.steps
        return self.epochs * max(1, file_count // self.batch_size)

    def replace(self, **changes):
        """Returns a validated copy with some fields changed."""
        return dataclasses.replace(self, **changes)

    def to_dict(self):
        """Plain JSON-ready values, layers as {name: weight}."""
        return {**dataclasses.asdict(self), "style_layers": dict(self.style_layers)}


def _validated_style_layers(layers):
    if isinstance(layers, str):
        layers = config_module.parse_layer_weights(layers)
    elif isinstance(layers, dict):
        layers = tuple(layers.items())
    if not layers:
        raise config_module.ConfigError("style_layers is empty: give at least one layer")
    validated = []
    for name, weight in layers:
        _require_number(f"style layer weight of {name}", weight, 0)
        validated.append((config_module.canonical_layer_name(name), float(weight)))
    names = [name for name, _ in validated]
    if len(set(names)) != len(names):
        raise config_module.ConfigError(f"style_layers names a layer twice: {', '.join(names)}")
    return tuple(validated)


@dataclasses.dataclass(frozen=True)
class TrainingProgress:
    """What the loop reports after every step: the batch's weighted losses (means over its images)."""

    step: int
    total_steps: int
    losses: dict  # 'content', 'style', 'total_variation', 'total' -> float
    elapsed_seconds: float  # since this run (not the resumed one) started
    images_per_second: float


@dataclasses.dataclass(frozen=True)
class CheckpointDue:
    """Reported just before a checkpoint is written: whatever must match it (the model file, the loss log) goes first.

    A checkpoint on disk then always has its model and loss log, whenever the process is killed.
    """

    step: int
    model: keras.Model


@dataclasses.dataclass(frozen=True)
class CheckpointSaved:
    """Reported after each checkpoint; model holds the weights just saved."""

    step: int
    path: str
    model: keras.Model


@dataclasses.dataclass(frozen=True)
class TrainingResult:
    model: keras.Model
    start_step: int  # the step the run resumed from, 0 for a fresh run
    final_step: int
    elapsed_seconds: float
    stop_reason: str | None = None  # None when every step ran
    interrupted: bool = False  # stopped early because should_stop said so; the last step was checkpointed


class FastTrainer:
    """The transformation network, its Adam optimiser and the perceptual loss, built under a strategy.

    train_step(batch) runs one synchronous step on every replica: each computes the loss
    of its share of the batch divided by the global batch size, and the optimiser sums
    the replicas' gradients, so the update is the one a single device would make.
    """

    def __init__(self, config, loaded_weights, style_pixels, strategy):
        replicas = strategy.num_replicas_in_sync
        if config.batch_size % replicas:
            raise FastTrainingError(
                f"batch_size {config.batch_size} cannot be split evenly over {replicas} replicas; "
                f"use a multiple of {replicas}"
            )
        self.strategy = strategy
        self.global_batch_size = config.batch_size
        # Keras draws initial weights from its global generator: seeding it makes a run repeatable.
        keras.utils.set_random_seed(config.seed)
        with strategy.scope():
            self.model = transform_net.build_transform_net(config.width_multiplier)
            self.optimizer = keras.optimizers.Adam(learning_rate=config.learning_rate)
            # Built now, so a checkpoint can restore the moments before the first step.
            self.optimizer.build(self.model.trainable_variables)
            extractor = vgg.FeatureExtractor(
                (config.content_layer, *config.style_layer_names), loaded_weights, config.pooling
            )
            self.loss = fast_losses.PerceptualLoss(
                extractor, style_pixels, config.content_layer, config.style_layers,
                (config.content_weight, config.style_weight, config.total_variation_weight),
            )
        self.checkpoint = tf.train.Checkpoint(model=self.model, optimizer=self.optimizer)
        self._compiled_step = tf.function(self._distributed_step)

    @property
    def variables(self):
        """Every variable the checkpoint holds: the network's and the optimiser's (which include the network's)."""
        return [*self.model.variables, *self.optimizer.variables]

    @property
    def step(self):
        """Updates applied so far, including those restored from a checkpoint."""
        return int(self.optimizer.iterations.numpy())

    def _replica_step(self, images):
        with tf.GradientTape() as tape:
            generated = self.model(images, training=True)
            per_image = self.loss(images, generated)
            scaled_total = tf.nn.compute_average_loss(per_image["total"], global_batch_size=self.global_batch_size)
        gradients = tape.gradient(scaled_total, self.model.trainable_variables)
        self.optimizer.apply_gradients(zip(gradients, self.model.trainable_variables))
        return {
            name: tf.nn.compute_average_loss(values, global_batch_size=self.global_batch_size)
            for name, values in per_image.items()
        }

    def _distributed_step(self, images):
        per_replica = self.strategy.run(self._replica_step, args=(images,))
        return {
            name: self.strategy.reduce(tf.distribute.ReduceOp.SUM, value, axis=None)
            for name, value in per_replica.items()
        }

    def train_step(self, images):
        """One update from a (distributed) batch; returns the batch's weighted mean losses as floats."""
        return {name: float(value) for name, value in self._compiled_step(images).items()}


def _checkpoint_directory(config, strategy):
    """Where this task writes checkpoints: the run's folder, or a scratch folder on non-chief workers.

    MultiWorkerMirroredStrategy needs every worker to take part in a save; only the
    chief's copy is kept (TensorFlow's documented pattern). Every worker resumes from the
    chief's folder, so a cluster that resumes needs the output folder on a shared file system.
    """
    if distribution.is_chief(strategy):
        return config.checkpoint_directory
    return pathlib.Path(config.output_dir) / f".checkpoints_{distribution.worker_label(strategy)}"


class TrainingRun:
    """A training run set up and restored from the newest intact checkpoint, ready to run().

    Newer checkpoints that are missing or damaged are skipped and listed in
    skipped_checkpoints. Raises FastTrainingError when checkpoints exist but config.resume
    is off, when none of them is intact, or when they do not fit the network the config
    describes.
    """

    def __init__(self, config, training_files, style_pixels, loaded_weights, strategy):
        self.config = config
        self.training_files = training_files
        self.strategy = strategy
        self.trainer = FastTrainer(config, loaded_weights, style_pixels, strategy)
        self.is_chief = distribution.is_chief(strategy)
        self.checkpoint_directory = _checkpoint_directory(config, strategy)
        self.manager = fast_checkpoints.make_manager(self.trainer.checkpoint, self.checkpoint_directory,
                                                     config.keep_checkpoints)
        restored = self._restore()
        self.resumed_from = restored.path
        self.skipped_checkpoints = restored.skipped  # newer checkpoints that were missing or damaged
        self.start_step = self.trainer.step
        self.total_steps = config.total_steps(len(training_files.paths))

    def _restore(self):
        """Restores the newest intact checkpoint of the chief's folder; returns a fast_checkpoints.Restored."""
        folder = self.config.checkpoint_directory
        steps = fast_checkpoints.checkpoint_steps(folder)
        if steps and not self.config.resume:
            raise FastTrainingError(
                f"{folder}: holds checkpoints of an earlier run ({fast_checkpoints.prefix(folder, steps[0]).name}); "
                f"resume it, or choose another output folder"
            )
        try:
            return fast_checkpoints.restore_newest(self.trainer.checkpoint, folder, self.trainer.variables)
        except fast_checkpoints.CheckpointError as error:
            raise FastTrainingError(str(error)) from None

    def _save_checkpoint(self, step):
        path = self.manager.save(checkpoint_number=step)
        if not self.is_chief:
            shutil.rmtree(self.checkpoint_directory, ignore_errors=True)
        return path

    def run(self, on_progress=None, on_checkpoint_due=None, on_checkpoint=None, should_stop=None):
        """Trains from start_step to total_steps; returns a TrainingResult.

        on_progress(TrainingProgress) is called after every step. Every checkpoint_every
        steps, at the end, and when should_stop() turns true after a step, the run
        checkpoints: on_checkpoint_due(CheckpointDue) first, then the checkpoint is written,
        then on_checkpoint(CheckpointSaved). After should_stop the run ends, interrupted. A
        non-finite loss stops the run without saving: the last checkpoint holds the last
        finite weights.
        """
        report_progress = on_progress or (lambda progress: None)
        stop_requested = should_stop or (lambda: False)
        # A resumed run reshuffles with a new seed rather than replaying the first images.
        batches = iter(fast_data.distributed_dataset(
            self.strategy, self.training_files.paths, self.config.batch_size, self.config.image_size,
            self.config.seed + self.start_step,
        ))
        started = time.perf_counter()
        step = self.start_step
        stop_reason = None
        interrupted = False
        while step < self.total_steps:
            losses = self.trainer.train_step(next(batches))
            step += 1
            elapsed = time.perf_counter() - started
            if not all(np.isfinite(value) for value in losses.values()):
                stop_reason = f"the loss became non-finite at step {step}; the last checkpoint holds finite weights"
                break
            rate = (step - self.start_step) * self.config.batch_size / max(elapsed, 1e-9)
            report_progress(TrainingProgress(step, self.total_steps, losses, elapsed, rate))
            interrupted = stop_requested() and step < self.total_steps
            if interrupted or step % self.config.checkpoint_every == 0 or step == self.total_steps:
                self._checkpoint(step, on_checkpoint_due, on_checkpoint)
            if interrupted:
                break
        return TrainingResult(self.trainer.model, self.start_step, step, time.perf_counter() - started, stop_reason,
                              interrupted)

    def _checkpoint(self, step, on_checkpoint_due, on_checkpoint):
        if on_checkpoint_due:
            on_checkpoint_due(CheckpointDue(step, self.trainer.model))
        path = self._save_checkpoint(step)
        if on_checkpoint:
            on_checkpoint(CheckpointSaved(step, path, self.trainer.model))
