"""Fast style transfer from the command line: `train`, `stylize` and `export`; absl flags -> one config -> nst.fast.

This script only parses flags, builds the config (nst.fast.config), calls nst.fast and turns the outcome
into an exit code; errors become one line through nst.errors.
"""

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

from nst import config as config_module  # noqa: E402  (these import no TensorFlow: --help answers at once)
from nst import errors  # noqa: E402
from nst import quiet_tensorflow  # noqa: E402
from nst.fast import config as fast_config  # noqa: E402

DEFAULT_CHECK_IMAGE = config_module.IMAGES_DIR / "village.jpg"
PROGRAM = "fast_main.py"

USAGE = f"""usage: python {PROGRAM} COMMAND [--flags]

commands:
  train     train a transformation network for one style image on a folder of photos
  stylize   stylise an image, a folder of images or a video with a trained network
  export    write a trained network as a SavedModel and TFLite files, each checked by running it

e.g. python {PROGRAM} train --style_image images/swirls.jpg --train_dir ~/coco/train2014
     python {PROGRAM} stylize --model models/swirls --input photo.jpg
     python {PROGRAM} export --model models/swirls
(python {PROGRAM} --help lists every flag)"""

COMMAND_HINT = f"python {PROGRAM} train|stylize|export --flags (python {PROGRAM} --help describes them)"

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
_string("style_layers", config_module.layer_weights_text(fast_config.DEFAULT_STYLE_LAYERS),
        "train: style layers with weights, name:weight,...")
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
_enum("distribution", "auto", list(fast_config.DISTRIBUTION_MODES),
      "train: tf.distribute strategy; auto = multi_worker when TF_CONFIG names a cluster, mirrored with "
      "several GPUs, else one device.")
_integer("cpu_devices", 0, "train: split the CPU into N logical devices and mirror over them (N > 1).")
_bool("resume", True, "train: continue from the last checkpoint in --output_dir if there is one.")
# stylize and export
_string("model", None, "stylize: a training folder, a .keras file, or an export (SavedModel folder, .tflite "
                       "file); export: a training folder or a .keras file.")
_string("input", None, "stylize: an image, a video (.mp4, .gif, …) or a folder of them.")
_integer("max_size", 0, "stylize: scale inputs down so their longest side is at most N; 0 keeps the size.")
_enum("precision", "auto", list(fast_config.STYLIZE_PRECISIONS),
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
    """The FastTrainingConfig the parsed flags describe; raises ConfigError."""
    for name in ("style_image", "train_dir"):
        if not flag_values[name].value:
            raise errors.ConfigError(f"train needs --{name}")
    output_dir = flag_values.output_dir or str(pathlib.Path("models") / pathlib.Path(flag_values.style_image).stem)
    return fast_config.FastTrainingConfig(
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
    """The StylizeConfig the parsed flags describe; raises ConfigError."""
    for name in ("model", "input"):
        if not flag_values[name].value:
            raise errors.ConfigError(f"stylize needs --{name}")
    return fast_config.StylizeConfig(
        model=flag_values.model,
        input=flag_values.input,
        output_dir=flag_values.output_dir or fast_config.DEFAULT_STYLIZE_OUTPUT_DIR,
        max_size=flag_values.max_size,
        precision=flag_values.precision,
    )


def export_config_from_flags(flag_values):
    """The ExportConfig the parsed flags describe; raises ConfigError."""
    if not flag_values.model:
        raise errors.ConfigError("export needs --model")
    model = pathlib.Path(os.path.expanduser(flag_values.model))
    model_folder = model if model.is_dir() else model.parent
    return fast_config.ExportConfig(
        model=flag_values.model,
        output_dir=flag_values.output_dir or str(model_folder / fast_config.EXPORT_FOLDER_NAME),
        check_image=flag_values.check_image or str(DEFAULT_CHECK_IMAGE),
        formats=fast_config.parse_formats(flag_values.formats),
        check_size=flag_values.check_size,
    )


# ---------------------------------------------------------------------------
# the commands
# ---------------------------------------------------------------------------


def _train(config, loaded_weights, run, output_dir):
    """Runs the steps, stopping cleanly on Ctrl-C or SIGTERM; returns (TrainingResult, the signal or None).

    Not in a cluster: a worker that stopped alone would wait forever for the others in the
    collective checkpoint save, so there a signal ends the process as it always did and the
    run resumes from the last regular checkpoint.
    """
    from nst import interrupts
    from nst.fast import distribution
    from nst.fast import outputs as fast_outputs
    from nst.fast import progress
    from nst.fast import training

    display = progress.TrainingDisplay(run, output_dir)
    in_cluster = bool(distribution.worker_label(run.strategy))
    stop = interrupts.StopRequest()  # never requested unless entered
    with contextlib.nullcontext() if in_cluster else stop:
        if not in_cluster:
            print(f"Steps {run.start_step + 1}–{run.total_steps}; Ctrl-C or SIGTERM stops after the current step "
                  f"and saves a checkpoint", flush=True)
        try:
            result = run.train(on_progress=display.on_progress, on_checkpoint_due=display.on_checkpoint_due,
                             on_checkpoint=display.on_checkpoint, should_stop=stop.requested)
        finally:
            display.close()
        if run.is_chief:
            fast_outputs.write_record(output_dir, training.training_record(
                config, loaded_weights, run, started_from_step=run.start_step, final_step=result.final_step,
                elapsed_seconds=round(result.elapsed_seconds, 1)))
    return result, stop.signal_number


def run_train(flag_values):
    """Trains the network the flags describe; returns the process exit code."""
    config = train_config_from_flags(flag_values)
    quiet_tensorflow.import_tensorflow_quietly()
    from nst.fast import outputs as fast_outputs
    from nst.fast import progress
    from nst.fast import training

    setup = training.prepare_training(config)
    output_dir, loaded_weights, run = setup.output_dir, setup.loaded_weights, setup.run
    progress.describe_start(config, loaded_weights, run)
    if run.is_chief:
        fast_outputs.write_record(output_dir, training.training_record(config, loaded_weights, run,
                                                                       started_from_step=run.start_step))
    if run.start_step >= run.total_steps:
        print(f"Already trained for {run.start_step} steps; raise --steps or --epochs to train further.")
        return errors.EXIT_OK
    result, signal_number = _train(config, loaded_weights, run, output_dir)
    if result.stop_reason:
        return errors.report(PROGRAM, f"stopped early: {result.stop_reason}", errors.EXIT_NON_FINITE)
    if result.interrupted:
        print(f"Interrupted at step {result.final_step} of {run.total_steps}: checkpoint, model and loss log saved "
              f"in {output_dir}/; run the same command again to resume")
        return 128 + signal_number
    steps = result.final_step - result.start_step
    where = f"model {fast_outputs.model_path(output_dir)}" if run.is_chief else "the chief writes the model"
    print(f"Done: {steps} steps in {result.elapsed_seconds:.1f} s "
          f"({steps * config.batch_size / max(result.elapsed_seconds, 1e-9):.1f} images/s); {where}")
    return errors.EXIT_OK


def run_stylize(flag_values):
    """Stylises the inputs the flags name; returns the process exit code."""
    config = stylize_config_from_flags(flag_values)
    quiet_tensorflow.import_tensorflow_quietly()
    from nst import outputs
    from nst.fast import progress
    from nst.fast import stylize as fast_stylize

    sources = fast_stylize.list_inputs(config.input)
    # The TFLite runtime announces its CPU delegate from C++ when it first runs.
    with quiet_tensorflow.c_stderr_muted():
        stylizer = fast_stylize.load_stylizer(config.model, config.precision)
        stylizer.warm_up()
    output_dir = outputs.new_output_directory(config.output_dir)
    print(f"Network: {config.model} ({stylizer.description}); results in {output_dir}/", flush=True)
    summary = fast_stylize.stylize_inputs(
        stylizer, sources, output_dir, config.max_size,
        on_item=lambda item: print(progress.describe_item(item), file=sys.stderr if item.error else sys.stdout,
                                   flush=True),
    )
    done = len(summary.items) - len(summary.failures)
    if not done:
        return errors.report(PROGRAM, f"none of the {len(summary.items)} input(s) could be stylised",
                             errors.EXIT_BAD_INPUT)
    print(f"Stylised {done} input(s) into {output_dir}/: "
          f"median {summary.median_milliseconds:.0f} ms per image or frame"
          + (" (the first left out: it includes set-up for its size)" if summary.frame_count > 1 else ""))
    return errors.EXIT_OK


def run_export(flag_values):
    """Writes and checks the exports the flags ask for; returns the process exit code."""
    config = export_config_from_flags(flag_values)
    quiet_tensorflow.import_tensorflow_quietly()
    from nst import outputs
    from nst.fast import export
    from nst.fast import network
    from nst.fast import outputs as fast_outputs
    from nst.fast import progress

    model = network.load_transform_net(fast_outputs.find_model_file(config.model))
    check_pixels = export.read_check_pixels(config)
    output_dir = outputs.new_output_directory(config.output_dir)
    height, width = check_pixels.shape[:2]
    print(f"Exporting {config.model} to {output_dir}/, checked on {config.check_image} ({width}×{height})",
          flush=True)
    # The converter and the TFLite runtime print MLIR dumps and delegate notices from C++.
    with quiet_tensorflow.c_stderr_muted():
        checks = export.export_all(model, output_dir, config.formats, check_pixels,
                                   on_export=lambda check: print(progress.describe_check(check), flush=True))
    failed = [check for check in checks if not check.passed]
    if failed:
        names = ", ".join(f"{check.format} ({check.mean_difference:.3g} > {check.tolerance:g})" for check in failed)
        return errors.report(PROGRAM, f"exports differ from the Keras model by more than their tolerance: {names}",
                             errors.EXIT_CHECK_FAILED)
    return errors.EXIT_OK


COMMANDS = {"train": run_train, "stylize": run_stylize, "export": run_export}


def run_command(command, flag_values):
    """Runs one command with parsed flags; returns the process exit code (NSTErrors go to the boundary)."""
    if command not in COMMANDS:
        raise errors.ConfigError(f"unknown command {command!r}; use one of {', '.join(COMMANDS)}",
                                 hint=COMMAND_HINT)
    misplaced = _misplaced_flags(command, flag_values)
    if misplaced:
        raise errors.ConfigError(f"{', '.join('--' + name for name in misplaced)} not used by {command}; "
                                 f"{command} takes {', '.join('--' + name for name in COMMAND_FLAGS[command])}")
    return COMMANDS[command](flag_values)


def parse_command_line(argv):
    """absl's flags, then this script's (nst.errors.parse_own_flags): a bad flag is one line and exit code 1."""
    return errors.parse_own_flags(PROGRAM, USAGE, FLAGS, argv)


def main(argv):
    # absl's logging shows INFO under app.run, and TensorFlow's checkpointing logs a line
    # per save through it; --verbosity 0 brings them back.
    if not flags.FLAGS["verbosity"].present:
        absl_logging.set_verbosity(absl_logging.WARNING)
    if len(argv) < 2:
        return errors.report(PROGRAM, errors.ConfigError("no command given", hint=COMMAND_HINT))
    if len(argv) > 2:
        return errors.report(PROGRAM, f"unexpected arguments: {' '.join(argv[2:])} (flags start with --)",
                             errors.EXIT_BAD_INPUT)
    return errors.run_entry_point(PROGRAM, run_command, argv[1], FLAGS)


if __name__ == "__main__":
    app.run(main, flags_parser=parse_command_line)
