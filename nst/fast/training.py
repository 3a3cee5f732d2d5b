"""Training a fast style transfer network: the set-up, the distributed step, checkpoints and the loop."""

import dataclasses
import pathlib
import shutil
import time

import keras
import numpy as np
import tensorflow as tf

from nst import errors
from nst import files
from nst import images
from nst import vgg
from nst import weights
from nst.fast import checkpoints
from nst.fast import config as fast_config
from nst.fast import data as training_data
from nst.fast import distribution
from nst.fast import losses as perceptual_losses
from nst.fast import network
from nst.fast import outputs as fast_outputs

FastTrainingError = errors.FastTrainingError


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
            self.model = network.build_transform_net(config.width_multiplier)
            self.optimizer = keras.optimizers.Adam(learning_rate=config.learning_rate)
            # Built now, so a checkpoint can restore the moments before the first step.
            self.optimizer.build(self.model.trainable_variables)
            extractor = vgg.FeatureExtractor(
                (config.content_layer, *config.style_layer_names), loaded_weights, config.pooling
            )
            self.loss = perceptual_losses.PerceptualLoss(
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
        self.manager = checkpoints.make_manager(self.trainer.checkpoint, self.checkpoint_directory,
                                                     config.keep_checkpoints)
        restored = self._restore()
        self.resumed_from = restored.path
        self.skipped_checkpoints = restored.skipped  # newer checkpoints that were missing or damaged
        self.start_step = self.trainer.step
        self.total_steps = config.total_steps(len(training_files.paths))

    def _restore(self):
        """Restores the newest intact checkpoint of the chief's folder; returns a checkpoints.Restored."""
        folder = self.config.checkpoint_directory
        steps = checkpoints.checkpoint_steps(folder)
        if steps and not self.config.resume:
            raise FastTrainingError(
                f"{folder}: holds checkpoints of an earlier run ({checkpoints.prefix(folder, steps[0]).name}); "
                f"resume it, or choose another output folder"
            )
        try:
            return checkpoints.restore_newest(self.trainer.checkpoint, folder, self.trainer.variables)
        except checkpoints.CheckpointError as error:
            raise FastTrainingError(str(error)) from None

    def _save_checkpoint(self, step):
        path = self.manager.save(checkpoint_number=step)
        if not self.is_chief:
            shutil.rmtree(self.checkpoint_directory, ignore_errors=True)
        return path

    def train(self, on_progress=None, on_checkpoint_due=None, on_checkpoint=None, should_stop=None):
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
        batches = iter(training_data.distributed_dataset(
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


def read_style_pixels(config):
    """The style image at config.style_size (its longest side; 0 keeps it), as float32 pixels; ImageError."""
    image = images.read_image(config.style_image)
    if config.style_size:
        image = images.resize_to_longest_side(image, config.style_size)
    images.check_size_for_vgg(image, config.style_image)
    return images.to_array(image)


@dataclasses.dataclass(frozen=True)
class TrainingSetup:
    """Everything a training run needs before its first step."""

    output_dir: pathlib.Path
    loaded_weights: object  # nst.weights.LoadedWeights
    run: TrainingRun


def prepare_training(config):
    """Reads the style image, the training folder and the weights, builds the run and creates its folder.

    Raises NSTErrors: bad input, or a folder holding an earlier run's model that no checkpoint
    can resume (a fresh start would write over it).
    """
    # First: the CPU can only be split before TensorFlow sets up its devices.
    strategy = distribution.make_strategy(config.distribution, config.cpu_devices)
    style_pixels = read_style_pixels(config)
    training_files = training_data.find_training_files(config.train_dir)
    loaded_weights = weights.load_weights(config.weights, config.seed, allow_download=config.allow_download)
    run = TrainingRun(config, training_files, style_pixels, loaded_weights, strategy)
    earlier = fast_outputs.earlier_run_files(config.output_dir)
    if run.resumed_from is None and earlier:
        raise errors.OutputError(config.output_dir, f"holds {' and '.join(earlier)} of an earlier run but no "
                                                    f"checkpoint to resume it from; choose another --output_dir")
    # Last: a refused run leaves no empty folder behind.
    return TrainingSetup(files.prepare_output_directory(config.output_dir), loaded_weights, run)


def training_record(config, loaded_weights, run, **facts):
    """training_config.json's content: the config, the weights, the network, the data and the strategy, and facts."""
    return {
        "config": config.to_dict(),
        "weights": loaded_weights.source,
        "channels": list(fast_config.channel_counts(config.width_multiplier)),
        "training_images": len(run.training_files.paths),
        "skipped_files": len(run.training_files.skipped),
        "strategy": distribution.describe(run.strategy),
        "replicas": run.strategy.num_replicas_in_sync,
        "total_steps": run.total_steps,
        "tensorflow": tf.__version__,
        **facts,
    }
