"""Fast style transfer from the command line: `train`, `stylize` and `export`; absl flags -> one config -> nst."""

import contextlib
import functools
import os
import pathlib
import sys

# TensorFlow prints start-up chatter on stderr unless told otherwise; keep the
# user's own setting if there is one.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app  # noqa: E402
from absl import flags  # noqa: E402
from absl import logging as absl_logging  # noqa: E402

from nst import quiet_tensorflow  # noqa: E402  (imports no TensorFlow itself)

PROJECT_DIR = pathlib.Path(__file__).resolve().parent
DEFAULT_CHECK_IMAGE = PROJECT_DIR / "images" / "village.jpg"
DEFAULT_STYLE_LAYERS_TEXT = "conv1_1:1,conv2_1:1,conv3_1:1,conv4_1:1,conv5_1:1"
PROGRAM = "fast_main.py"

EXIT_BAD_INPUT = 1
EXIT_NON_FINITE = 3
EXIT_EXPORT_MISMATCH = 4
EXIT_INTERRUPTED = 130  # 128 + SIGINT, the shell's convention; SIGTERM during training gives 143

USAGE = f"""usage: python {PROGRAM} COMMAND [--flags]

commands:
  train     train a transformation network for one style image on a folder of photos
  stylize   stylise an image, a folder of images or a video with a trained network
  export    write a trained network as a SavedModel and TFLite files, each checked by running it

e.g. python {PROGRAM} train --style_image images/swirls.jpg --train_dir ~/coco/train2014
     python {PROGRAM} stylize --model models/swirls --input photo.jpg
     python {PROGRAM} export --model models/swirls
(python {PROGRAM} --help lists every flag)"""

# This script's flags live apart from absl's global ones: nst_main.py defines some of the same
# names (--style_image, --weights, …), and both scripts are imported by the one test run.
FLAGS = flags.FlagValues()

_string = functools.partial(flags.DEFINE_string, flag_values=FLAGS)
_integer = functools.partial(flags.DEFINE_integer, flag_values=FLAGS)
_float = functools.partial(flags.DEFINE_float, flag_values=FLAGS)
_bool = functools.partial(flags.DEFINE_bool, flag_values=FLAGS)
_enum = functools.partial(flags.DEFINE_enum, flag_values=FLAGS)

# train
_string("style_image", None, "train: the style image, any path.")
_string("train_dir", None, "train: folder of training photos (e.g. COCO), searched recursively.")
_string("weights", "imagenet", "train: VGG19 weights: imagenet, random, or a weights file (.h5, .mat, …).")
_bool("download", True, "train: let Keras download the ImageNet weights when none are found locally.")
_enum("pooling", "max", ["avg", "max"], "train: pooling in the VGG19 loss network.")
_string("content_layer", "conv4_2", "train: VGG19 layer of the content (feature) loss.")
_string("style_layers", DEFAULT_STYLE_LAYERS_TEXT, "train: style layers with weights, name:weight,...")
_float("content_weight", 7.5, "train: weight of the content loss.")
_float("style_weight", 100.0, "train: weight of the style loss.")
_float("tv_weight", 200.0, "train: weight of the total variation loss.")
_float("width_multiplier", 1.0, "train: channel multiplier of the network (0.5, 0.25: smaller, faster).")
_integer("batch_size", 4, "train: images per step, over all replicas together.")
_integer("image_size", 256, "train: side of the square training crops, in pixels.")
_integer("style_size", 512, "train: longest side the style image is scaled to; 0 keeps its size.")
_integer("epochs", 2, "train: passes over the training images (unless --steps is set).")
_integer("steps", 0, "train: training steps; overrides --epochs when above 0.")
_float("learning_rate", 1e-3, "train: Adam learning rate.")
_integer("checkpoint_every", 1000, "train: save a checkpoint, the model and the loss log every N steps.")
_integer("keep_checkpoints", 3, "train: how many recent checkpoints to keep.")
_integer("seed", 0, "train: seed of the initial weights, data order and crops (and of --weights random).")
_enum("distribution", "auto", ["auto", "default", "mirrored", "multi_worker"],
      "train: tf.distribute strategy; auto = multi_worker when TF_CONFIG names a cluster, mirrored with "
      "several GPUs, else one device.")
_integer("cpu_devices", 0, "train: split the CPU into N logical devices and mirror over them (N > 1).")
_bool("resume", True, "train: continue from the last checkpoint in --output_dir if there is one.")
# stylize and export
_string("model", None, "stylize: a training folder, a .keras file, or an export (SavedModel folder, .tflite "
                       "file); export: a training folder or a .keras file.")
_string("input", None, "stylize: an image, a video (.mp4, .gif, …) or a folder of them.")
_integer("max_size", 0, "stylize: scale inputs down so their longest side is at most N; 0 keeps the size.")
_enum("precision", "auto", ["auto", "float32", "bfloat16"],
      "stylize: auto = bfloat16 on CPUs with native bfloat16 (AVX-512 BF16, AMX), else float32.")
_string("formats", "all", "export: all, or some of saved_model,tflite_float32,tflite_float16,tflite_int8.")
_string("check_image", None, "export: image the exports are checked on (default images/village.jpg).")
_integer("check_size", 512, "export: longest side the check image is scaled to; 0 keeps its size.")
# every command
_string("output_dir", None, "train: models/<style name>; stylize: output/fast; export: <model folder>/export "
                            "(stylize, export: its first free run_N subfolder if it holds earlier results).")

COMMAND_FLAGS = {
    "train": ("style_image", "train_dir", "weights", "download", "pooling", "content_layer", "style_layers",
              "content_weight", "style_weight", "tv_weight", "width_multiplier", "batch_size", "image_size",
              "style_size", "epochs", "steps", "learning_rate", "checkpoint_every", "keep_checkpoints", "seed",
              "distribution", "cpu_devices", "resume", "output_dir"),
    "stylize": ("model", "input", "max_size", "precision", "output_dir"),
    "export": ("model", "formats", "check_image", "check_size", "output_dir"),
}


def _input_errors():
    """The exception types that mean bad input or setup: each becomes one line on stderr and exit code 1."""
    from nst import config as config_module
    from nst import distribution
    from nst import export
    from nst import fast_data
    from nst import fast_stylize
    from nst import fast_training
    from nst import files
    from nst import images
    from nst import transform_net
    from nst import video
    from nst import weights

    return (config_module.ConfigError, images.ImageError, weights.WeightsError, files.OutputError,
            fast_data.TrainingDataError, fast_training.FastTrainingError, distribution.DistributionError,
            transform_net.TransformNetError, fast_stylize.StylizeError, video.VideoError, export.ExportError)


def _fail(message, exit_code=EXIT_BAD_INPUT):
    print(f"{PROGRAM}: error: {message}", file=sys.stderr)
    return exit_code


def _new_output_directory(requested):
    """The folder a stylize or export run writes into, created: requested, or its first free run_N subfolder.

    As in nst_main.py, a folder that holds earlier results is never written over. Called
    once every input has been read, so a refused run changes nothing on disk.
    """
    from nst import files
    from nst import outputs

    return files.prepare_output_directory(outputs.choose_output_directory(requested))


def _misplaced_flags(command, flag_values):
    """Flags given on the command line that command does not use."""
    allowed = set(COMMAND_FLAGS[command])
    return [
        name for names in COMMAND_FLAGS.values() for name in names
        if name not in allowed and flag_values[name].present
    ]


# ---------------------------------------------------------------------------
# flags -> configs
# ---------------------------------------------------------------------------


def train_config_from_flags(flag_values):
    """The FastTrainingConfig the parsed flags describe; raises nst.config.ConfigError."""
    quiet_tensorflow.import_tensorflow_quietly()
    from nst import config as config_module
    from nst import fast_training

    for name in ("style_image", "train_dir"):
        if not flag_values[name].value:
            raise config_module.ConfigError(f"train needs --{name}")
    output_dir = flag_values.output_dir or str(pathlib.Path("models") / pathlib.Path(flag_values.style_image).stem)
    return fast_training.FastTrainingConfig(
        style_image=flag_values.style_image,
        train_dir=flag_values.train_dir,
        output_dir=output_dir,
        weights=flag_values.weights,
        allow_download=flag_values.download,
        pooling=flag_values.pooling,
        content_layer=flag_values.content_layer,
        style_layers=config_module.parse_layer_weights(flag_values.style_layers),
        content_weight=flag_values.content_weight,
        style_weight=flag_values.style_weight,
        total_variation_weight=flag_values.tv_weight,
        width_multiplier=flag_values.width_multiplier,
        batch_size=flag_values.batch_size,
        image_size=flag_values.image_size,
        style_size=flag_values.style_size,
        epochs=flag_values.epochs,
        steps=flag_values.steps,
        learning_rate=flag_values.learning_rate,
        checkpoint_every=flag_values.checkpoint_every,
        keep_checkpoints=flag_values.keep_checkpoints,
        seed=flag_values.seed,
        distribution=flag_values.distribution,
        cpu_devices=flag_values.cpu_devices,
        resume=flag_values.resume,
    )


def stylize_config_from_flags(flag_values):
    """The StylizeConfig the parsed flags describe; raises nst.config.ConfigError."""
    quiet_tensorflow.import_tensorflow_quietly()
    from nst import config as config_module
    from nst import fast_stylize

    for name in ("model", "input"):
        if not flag_values[name].value:
            raise config_module.ConfigError(f"stylize needs --{name}")
    return fast_stylize.StylizeConfig(
        model=flag_values.model,
        input=flag_values.input,
        output_dir=flag_values.output_dir or fast_stylize.DEFAULT_OUTPUT_DIR,
        max_size=flag_values.max_size,
        precision=flag_values.precision,
    )


def export_config_from_flags(flag_values):
    """The ExportConfig the parsed flags describe; raises nst.config.ConfigError."""
    quiet_tensorflow.import_tensorflow_quietly()
    from nst import config as config_module
    from nst import export

    if not flag_values.model:
        raise config_module.ConfigError("export needs --model")
    model = pathlib.Path(os.path.expanduser(flag_values.model))
    model_folder = model if model.is_dir() else model.parent
    return export.ExportConfig(
        model=flag_values.model,
        output_dir=flag_values.output_dir or str(model_folder / export.EXPORT_FOLDER_NAME),
        check_image=flag_values.check_image or str(DEFAULT_CHECK_IMAGE),
        formats=export.parse_formats(flag_values.formats),
        check_size=flag_values.check_size,
    )


# ---------------------------------------------------------------------------
# train
# ---------------------------------------------------------------------------


def _read_style_pixels(config):
    from nst import images

    image = images.read_image(config.style_image)
    if config.style_size:
        image = images.resize_to_longest_side(image, config.style_size)
    images.check_size_for_vgg(image, config.style_image)
    return images.to_array(image)


def _prepare_training(config):
    """Everything a run needs before its first step; raises the input errors _run_train reports."""
    from nst import distribution
    from nst import fast_data
    from nst import fast_outputs
    from nst import fast_training
    from nst import files
    from nst import weights

    # First: the CPU can only be split before TensorFlow sets up its devices.
    strategy = distribution.make_strategy(config.distribution, config.cpu_devices)
    style_pixels = _read_style_pixels(config)
    training_files = fast_data.find_training_files(config.train_dir)
    loaded_weights = weights.load_weights(config.weights, config.seed, allow_download=config.allow_download)
    run = fast_training.TrainingRun(config, training_files, style_pixels, loaded_weights, strategy)
    earlier = fast_outputs.earlier_run_files(config.output_dir)
    if run.resumed_from is None and earlier:
        # A fresh start would write over them at its first checkpoint.
        raise files.OutputError(config.output_dir, f"holds {' and '.join(earlier)} of an earlier run but no "
                                                   f"checkpoint to resume it from; choose another --output_dir")
    # Last: a refused run leaves no empty folder behind.
    output_dir = files.prepare_output_directory(config.output_dir)
    return output_dir, loaded_weights, run


def _training_record(config, loaded_weights, run, **facts):
    import tensorflow as tf

    from nst import distribution
    from nst import transform_net

    return {
        "config": config.to_dict(),
        "weights": loaded_weights.source,
        "channels": list(transform_net.channel_counts(config.width_multiplier)),
        "training_images": len(run.training_files.paths),
        "skipped_files": len(run.training_files.skipped),
        "strategy": distribution.describe(run.strategy),
        "replicas": run.strategy.num_replicas_in_sync,
        "total_steps": run.total_steps,
        "tensorflow": tf.__version__,
        **facts,
    }


def _describe_losses(losses):
    return (f"loss {losses['total']:.4g} (content {losses['content']:.3g}, style {losses['style']:.3g}, "
            f"total variation {losses['total_variation']:.3g})")


def _duration(seconds):
    """'42 s', '7 min 30 s', '5 h 20 min': readable for a step and for a day of training."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


class _TrainingDisplay:
    """The training callbacks of the command line: progress, checkpoint lines, and the files of each checkpoint.

    On a terminal a tqdm bar shows every step; in a log, a line every PROGRESS_LINE_EVERY steps
    with the time so far, the time per step and the time left. Only the chief of a cluster
    shows anything or writes files.
    """

    PROGRESS_LINE_EVERY = 100

    def __init__(self, run, output_dir):
        import tqdm

        from nst import fast_outputs

        self.output_dir = output_dir
        self.is_chief = run.is_chief
        self.start_step = run.start_step
        self.loss_log = fast_outputs.LossLog(output_dir, run.start_step)
        self.model_path = None
        self.bar = None
        if run.is_chief and sys.stderr.isatty():
            self.bar = tqdm.tqdm(total=run.total_steps, initial=run.start_step, unit="step", dynamic_ncols=True,
                                 file=sys.stderr)

    def on_progress(self, progress):
        self.loss_log.add(progress.step, progress.losses)
        if self.bar is not None:
            losses = progress.losses
            self.bar.set_postfix(total=f"{losses['total']:.4g}", content=f"{losses['content']:.3g}",
                                 style=f"{losses['style']:.3g}", tv=f"{losses['total_variation']:.3g}",
                                 refresh=False)
            self.bar.update(progress.step - self.bar.n)
        elif self.is_chief and progress.step % self.PROGRESS_LINE_EVERY == 0:
            self._write(self.progress_line(progress))

    def progress_line(self, progress):
        """'Step 100/1000: loss …, 8.0 images/s [50 s, 0.50 s/step, ETA 7 min 30 s]', as nst_main.py's lines end."""
        seconds_per_step = progress.elapsed_seconds / max(1, progress.step - self.start_step)
        remaining = seconds_per_step * (progress.total_steps - progress.step)
        return (f"Step {progress.step}/{progress.total_steps}: {_describe_losses(progress.losses)}, "
                f"{progress.images_per_second:.1f} images/s [{_duration(progress.elapsed_seconds)}, "
                f"{seconds_per_step:.2f} s/step, ETA {_duration(remaining)}]")

    def on_checkpoint_due(self, due):
        """Writes the model and the loss log before the checkpoint, so that a checkpoint always has both."""
        from nst import fast_outputs

        if self.is_chief:
            self.model_path = fast_outputs.save_model(due.model, self.output_dir)
            self.loss_log.write()

    def on_checkpoint(self, saved):
        if not self.is_chief:
            return
        losses = self.loss_log.rows[-1] if self.loss_log.rows else None
        self._write(f"Step {saved.step}: {_describe_losses(losses) + '; ' if losses else ''}"
                    f"checkpoint {saved.path}, model {self.model_path}")

    def _write(self, line):
        if self.bar is not None:
            self.bar.write(line, file=sys.stdout)
        else:
            print(line, flush=True)

    def close(self):
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def _describe_start(config, loaded_weights, run):
    from nst import distribution
    from nst import fast_outputs

    if loaded_weights.warning:
        print(f"Warning: {loaded_weights.warning}", file=sys.stderr)
    if run.training_files.skipped:
        print(f"Warning: {run.training_files.skipped_summary()}", file=sys.stderr)
    for skipped in run.skipped_checkpoints:
        print(f"Warning: {skipped.path}: {skipped.problem}; the checkpoint of step {skipped.step} is skipped",
              file=sys.stderr)
    logged = fast_outputs.read_loss_log(fast_outputs.loss_log_path(config.output_dir))
    if run.start_step and (not logged or logged[-1]["step"] < run.start_step):
        last = logged[-1]["step"] if logged else 0
        print(f"Warning: {fast_outputs.loss_log_path(config.output_dir)} ends at step {last}, before the checkpoint's "
              f"step {run.start_step}: steps {last + 1}–{run.start_step} are missing from it", file=sys.stderr)
    print(f"Weights: {loaded_weights.source}")
    print(f"Training on {len(run.training_files.paths)} images from {config.train_dir} "
          f"({distribution.describe(run.strategy)}), batch {config.batch_size}, "
          f"{config.image_size}×{config.image_size} crops")
    if run.resumed_from:
        print(f"Resuming from {run.resumed_from} (step {run.start_step} of {run.total_steps})")
    print(f"Output: {config.output_dir}/", flush=True)


def _train(config, loaded_weights, run, output_dir):
    """Runs the steps, stopping cleanly on Ctrl-C or SIGTERM; returns (TrainingResult, the signal or None).

    Not in a cluster: a worker that stopped alone would wait forever for the others in the
    collective checkpoint save, so there a signal ends the process as it always did and the
    run resumes from the last regular checkpoint.
    """
    from nst import distribution
    from nst import fast_outputs
    from nst import interrupts

    display = _TrainingDisplay(run, output_dir)
    in_cluster = bool(distribution.worker_label(run.strategy))
    stop = interrupts.StopRequest()  # never requested unless entered
    with contextlib.nullcontext() if in_cluster else stop:
        if not in_cluster:
            print(f"Steps {run.start_step + 1}–{run.total_steps}; Ctrl-C or SIGTERM stops after the current step "
                  f"and saves a checkpoint", flush=True)
        try:
            result = run.run(on_progress=display.on_progress, on_checkpoint_due=display.on_checkpoint_due,
                             on_checkpoint=display.on_checkpoint, should_stop=stop.requested)
        finally:
            display.close()
        if run.is_chief:
            fast_outputs.write_record(output_dir, _training_record(
                config, loaded_weights, run, started_from_step=run.start_step, final_step=result.final_step,
                elapsed_seconds=round(result.elapsed_seconds, 1)))
    return result, stop.signal_number


def run_train(flag_values):
    """Trains the network the flags describe; returns the process exit code."""
    quiet_tensorflow.import_tensorflow_quietly()
    from nst import fast_outputs

    try:
        config = train_config_from_flags(flag_values)
        output_dir, loaded_weights, run = _prepare_training(config)
    except _input_errors() as error:
        return _fail(error)
    _describe_start(config, loaded_weights, run)
    if run.is_chief:
        fast_outputs.write_record(output_dir, _training_record(config, loaded_weights, run,
                                                               started_from_step=run.start_step))
    if run.start_step >= run.total_steps:
        print(f"Already trained for {run.start_step} steps; raise --steps or --epochs to train further.")
        return 0
    result, signal_number = _train(config, loaded_weights, run, output_dir)
    if result.stop_reason:
        return _fail(f"stopped early: {result.stop_reason}", EXIT_NON_FINITE)
    if result.interrupted:
        print(f"Interrupted at step {result.final_step} of {run.total_steps}: checkpoint, model and loss log saved "
              f"in {output_dir}/; run the same command again to resume")
        return 128 + signal_number
    steps = result.final_step - result.start_step
    where = f"model {fast_outputs.model_path(output_dir)}" if run.is_chief else "the chief writes the model"
    print(f"Done: {steps} steps in {result.elapsed_seconds:.1f} s "
          f"({steps * config.batch_size / max(result.elapsed_seconds, 1e-9):.1f} images/s); {where}")
    return 0


# ---------------------------------------------------------------------------
# stylize
# ---------------------------------------------------------------------------


def _describe_item(item):
    if item.error:
        return f"Skipped {item.error}"
    if item.frames == 1:
        return f"{item.source} -> {item.output} ({item.milliseconds[0]:.0f} ms)"
    times = sorted(item.milliseconds)
    return f"{item.source} -> {item.output} ({item.frames} frames, median {times[len(times) // 2]:.0f} ms per frame)"


def run_stylize(flag_values):
    """Stylises the inputs the flags name; returns the process exit code."""
    quiet_tensorflow.import_tensorflow_quietly()
    from nst import fast_stylize

    try:
        config = stylize_config_from_flags(flag_values)
        sources = fast_stylize.list_inputs(config.input)
        # The TFLite runtime announces its CPU delegate from C++ when it first runs.
        with quiet_tensorflow.c_stderr_muted():
            stylizer = fast_stylize.load_stylizer(config.model, config.precision)
            stylizer.warm_up()
        output_dir = _new_output_directory(config.output_dir)
    except _input_errors() as error:
        return _fail(error)
    print(f"Network: {config.model} ({stylizer.description}); results in {output_dir}/", flush=True)
    summary = fast_stylize.stylize_inputs(
        stylizer, sources, output_dir, config.max_size,
        on_item=lambda item: print(_describe_item(item), file=sys.stderr if item.error else sys.stdout, flush=True),
    )
    done = len(summary.items) - len(summary.failures)
    if not done:
        return _fail(f"none of the {len(summary.items)} input(s) could be stylised")
    print(f"Stylised {done} input(s) into {output_dir}/: "
          f"median {summary.median_milliseconds:.0f} ms per image or frame"
          + (" (the first left out: it includes set-up for its size)" if summary.frame_count > 1 else ""))
    return 0


# ---------------------------------------------------------------------------
# export
# ---------------------------------------------------------------------------


def _check_pixels(config):
    from nst import images

    image = images.read_image(config.check_image)
    if config.check_size:
        image = images.resize_to_longest_side(image, config.check_size)
    return images.to_array(image)


def _describe_check(check):
    verdict = "ok" if check.passed else "TOO DIFFERENT"
    return (f"{check.format:15s} {check.path}  {check.size_bytes / 1e6:.1f} MB  "
            f"mean difference {check.mean_difference:.3g} gray levels (max {check.max_difference:.3g}; "
            f"tolerance {check.tolerance:g}): {verdict}, {check.milliseconds:.0f} ms")


def run_export(flag_values):
    """Writes and checks the exports the flags ask for; returns the process exit code."""
    quiet_tensorflow.import_tensorflow_quietly()
    from nst import export
    from nst import fast_outputs
    from nst import transform_net

    try:
        config = export_config_from_flags(flag_values)
        model = transform_net.load_transform_net(fast_outputs.find_model_file(config.model))
        check_pixels = _check_pixels(config)
        output_dir = _new_output_directory(config.output_dir)
    except _input_errors() as error:
        return _fail(error)
    height, width = check_pixels.shape[:2]
    print(f"Exporting {config.model} to {output_dir}/, checked on {config.check_image} ({width}×{height})",
          flush=True)
    try:
        # The converter and the TFLite runtime print MLIR dumps and delegate notices from C++.
        with quiet_tensorflow.c_stderr_muted():
            checks = export.export_all(model, output_dir, config.formats, check_pixels,
                                       on_export=lambda check: print(_describe_check(check), flush=True))
    except export.ExportError as error:
        return _fail(error)
    failed = [check for check in checks if not check.passed]
    if failed:
        names = ", ".join(f"{check.format} ({check.mean_difference:.3g} > {check.tolerance:g})" for check in failed)
        return _fail(f"exports differ from the Keras model by more than their tolerance: {names}",
                     EXIT_EXPORT_MISMATCH)
    return 0


COMMANDS = {"train": run_train, "stylize": run_stylize, "export": run_export}


def run(command, flag_values):
    """Runs one command with parsed flags; returns the process exit code."""
    if command not in COMMANDS:
        return _fail(f"unknown command {command!r}; use one of {', '.join(COMMANDS)}\n{USAGE}")
    misplaced = _misplaced_flags(command, flag_values)
    if misplaced:
        return _fail(f"{', '.join('--' + name for name in misplaced)} not used by {command}; "
                     f"{command} takes {', '.join('--' + name for name in COMMAND_FLAGS[command])}")
    return COMMANDS[command](flag_values)


HELP_ARGUMENTS = ("-h", "-help", "--help", "-?", "--helpshort", "--helpfull")


def parse_command_line(argv):
    """Parses absl's own flags (--flagfile, --verbosity, …), then this script's; returns [program, command, …].

    A bad flag is one line on stderr and exit code 1; --help lists this script's flags.
    """
    if any(argument in HELP_ARGUMENTS for argument in argv[1:]):
        print(f"{USAGE}\n\nflags:\n{FLAGS.get_help()}")
        sys.exit(0)
    try:
        remaining = flags.FLAGS(argv, known_only=True)
        return FLAGS(remaining)
    except flags.Error as error:
        sys.exit(_fail(error))


def main(argv):
    # absl's logging shows INFO under app.run, and TensorFlow's checkpointing logs a line
    # per save through it; --verbosity 0 brings them back.
    if not flags.FLAGS["verbosity"].present:
        absl_logging.set_verbosity(absl_logging.WARNING)
    if len(argv) < 2:
        return _fail(f"no command given\n{USAGE}")
    if len(argv) > 2:
        return _fail(f"unexpected arguments: {' '.join(argv[2:])} (flags start with --)")
    try:
        return run(argv[1], FLAGS)
    except KeyboardInterrupt:  # a Ctrl-C outside the training loop, or a second one: nothing to save
        print(f"{PROGRAM}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    app.run(main, flags_parser=parse_command_line)
