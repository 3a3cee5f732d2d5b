"""Neural style transfer from the command line: absl flags -> one config -> nst -> files and an exit code."""

import os
import pathlib
import sys

# TensorFlow prints start-up chatter on stderr unless told otherwise; keep the
# user's own setting if there is one.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app  # noqa: E402
from absl import flags  # noqa: E402

PROJECT_DIR = pathlib.Path(__file__).resolve().parent
IMAGES_DIR = PROJECT_DIR / "images"
DEFAULT_STYLE_LAYERS_TEXT = "conv1_1:0.2,conv2_1:0.2,conv3_1:0.2,conv4_1:0.2,conv5_1:0.2"

EXIT_BAD_INPUT = 1
EXIT_NON_FINITE = 3

# The original Coursera app's flags.
flags.DEFINE_string("content_image_filename", "village.jpg", "Content image, a file name inside images/.")
flags.DEFINE_string("style_image_filename", "swirls.jpg", "Style image, a file name inside images/.")
flags.DEFINE_integer("epochs", 200, "Optimisation iterations.")
flags.DEFINE_integer("print_every", 20, "Print the costs and save a snapshot every this many iterations.")
flags.DEFINE_float("learning_rate", 2.0, "Adam learning rate, in 0-255 pixel units.")
flags.DEFINE_float("alpha", 10.0, "Weight of the content cost.")
flags.DEFINE_float("beta", 40.0, "Weight of the style cost.")
# Added by this project.
flags.DEFINE_string("content_image", None, "Content image, any path (overrides --content_image_filename).")
flags.DEFINE_string("style_image", None, "Style image, any path (overrides --style_image_filename).")
flags.DEFINE_string("output_dir", "output", "Folder for snapshots and generated_image.png.")
flags.DEFINE_integer("image_size", 400, "Longest side of the generated image in pixels; the content's aspect is kept.")
flags.DEFINE_float("noise_ratio", 0.6, "Share of noise in the initial image (0 = the content image).")
flags.DEFINE_integer("seed", 0, "Seed of the initial noise (and of --weights random).")
flags.DEFINE_string("weights", "imagenet", "VGG19 weights: imagenet, random, or a path to a .h5 or .mat file.")
flags.DEFINE_bool("download", True, "Let Keras download the ImageNet weights when none are found locally.")
flags.DEFINE_enum("pooling", "avg", ["avg", "max"], "Pooling between VGG blocks (Coursera and Gatys use avg).")
flags.DEFINE_string("content_layer", "conv4_2", "Content layer (conv4_2, or a Keras name such as block4_conv2).")
flags.DEFINE_string("style_layers", DEFAULT_STYLE_LAYERS_TEXT, "Style layers with weights, name:weight,...")

FLAGS = flags.FLAGS


def _image_path(path_flag, filename_flag):
    return path_flag if path_flag is not None else str(IMAGES_DIR / filename_flag)


def config_from_flags(flag_values):
    """The one StyleTransferConfig the parsed flags describe; raises nst.config.ConfigError."""
    _import_tensorflow_quietly()
    from nst import config as config_module

    return config_module.StyleTransferConfig(
        content_image=_image_path(flag_values.content_image, flag_values.content_image_filename),
        style_image=_image_path(flag_values.style_image, flag_values.style_image_filename),
        output_dir=flag_values.output_dir,
        image_size=flag_values.image_size,
        epochs=flag_values.epochs,
        print_every=flag_values.print_every,
        learning_rate=flag_values.learning_rate,
        alpha=flag_values.alpha,
        beta=flag_values.beta,
        noise_ratio=flag_values.noise_ratio,
        seed=flag_values.seed,
        weights=flag_values.weights,
        pooling=flag_values.pooling,
        content_layer=flag_values.content_layer,
        style_layers=config_module.parse_layer_weights(flag_values.style_layers),
        allow_download=flag_values.download,
    )


def _import_tensorflow_quietly():
    """Imports TensorFlow with the C-level stderr muted, unless the user asked for its logs.

    TensorFlow 2.21 logs through absl's C++ logging while it loads (the oneDNN notice),
    ignoring TF_CPP_MIN_LOG_LEVEL; those lines would bury a one-line error message.
    """
    if os.environ.get("TF_CPP_MIN_LOG_LEVEL", "0") == "0" or "tensorflow" in sys.modules:
        return
    sys.stderr.flush()
    saved_stderr = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            import tensorflow  # noqa: F401
    finally:
        os.dup2(saved_stderr, 2)
        os.close(saved_stderr)


def _fail(message, exit_code=EXIT_BAD_INPUT):
    print(f"nst_main.py: error: {message}", file=sys.stderr)
    return exit_code


def _print_snapshot_and_save(output_dir):
    from nst import outputs

    def on_snapshot(snapshot):
        outputs.save_snapshot(output_dir, snapshot)
        rate = snapshot.elapsed_seconds / snapshot.iteration if snapshot.iteration else 0.0
        timing = f" [{snapshot.elapsed_seconds:.1f} s, {rate:.2f} s/iteration]" if snapshot.iteration else ""
        print(outputs.describe_costs(snapshot.iteration, snapshot.costs) + timing, flush=True)

    return on_snapshot


def run(flag_values):
    """Runs the style transfer the flags describe; returns the process exit code."""
    _import_tensorflow_quietly()
    from nst import config as config_module
    from nst import files
    from nst import images
    from nst import outputs
    from nst import transfer
    from nst import weights

    try:
        config = config_from_flags(flag_values)
        output_dir = files.prepare_output_directory(config.output_dir)
        prepared = transfer.prepare(config)
    except (config_module.ConfigError, images.ImageError, weights.WeightsError, files.OutputError) as error:
        return _fail(error)
    if prepared.loaded_weights.warning:
        print(f"Warning: {prepared.loaded_weights.warning}", file=sys.stderr)
    height, width = prepared.content_pixels.shape[:2]
    print(f"Weights: {prepared.loaded_weights.source}")
    print(f"Painting {config.content_image} ({width}×{height}) in the style of {config.style_image}, "
          f"{config.epochs} iterations; snapshots in {output_dir}/", flush=True)
    result = transfer.run(config, prepared, on_snapshot=_print_snapshot_and_save(output_dir))
    final_path = outputs.save_final_image(output_dir, result.image)
    if result.stop_reason:
        return _fail(f"stopped early: {result.stop_reason}; saved it to {final_path}", EXIT_NON_FINITE)
    print(f"Done in {result.elapsed_seconds:.1f} s ({result.seconds_per_iteration:.3f} s/iteration): {final_path}")
    return 0


def main(argv):
    if len(argv) > 1:
        return _fail(f"unexpected arguments: {' '.join(argv[1:])} (flags start with --)")
    return run(FLAGS)


if __name__ == "__main__":
    app.run(main)
