"""python -m nst.compare: the same style transfer in TensorFlow and PyTorch, compared in compare.json and compare.png.

Flags are parsed with argparse, not absl: absl keeps flags in one process-wide registry,
and nst_main.py registers flags of the same names (--content_image, --weights, …), so
absl definitions here would collide in any process that imports both (the test suite,
or an entry script that delegates to this one). argparse keeps the parser inside main().
This module only parses, builds the config, calls nst.compare.comparison and turns the
outcome into an exit code (nst.errors).
"""

import argparse
import os
import sys

# TensorFlow prints start-up chatter on stderr unless told otherwise; keep the user's own setting.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from nst import config as config_module  # noqa: E402
from nst import errors  # noqa: E402
from nst import quiet_tensorflow  # noqa: E402

PROGRAM = "python -m nst.compare"
DEFAULT_STEPS = 10  # the target is stated for 10 Adam steps
DEFAULT_IMAGE_SIZE = 64  # small: the point is the numbers, and PyTorch and TensorFlow both run it
DEFAULT_OUTPUT_DIR = "output/compare"


class _ArgumentParser(argparse.ArgumentParser):
    """argparse whose bad arguments are a ConfigError, so they become one line and exit code 1 like any other."""

    def error(self, message):
        raise errors.ConfigError(f"{message} (see --help)")


def build_parser():
    """The command's arguments; names and defaults follow nst_main.py's flags where they share a meaning."""
    parser = _ArgumentParser(
        prog=PROGRAM,
        description="Run the same style transfer in TensorFlow and in the PyTorch reference, from the same "
                    "weights and start image, and write compare.json and compare.png.",
    )
    parser.add_argument("--content_image", default=str(config_module.IMAGES_DIR / "village.jpg"),
                        help="content image path")
    parser.add_argument("--style_image", default=str(config_module.IMAGES_DIR / "swirls.jpg"), help="style image path")
    parser.add_argument("--weights", default="imagenet",
                        help="imagenet, random, or a .h5 / .mat / .pth / .safetensors VGG19 weights file")
    parser.add_argument("--steps", type=int, default=DEFAULT_STEPS, help="Adam steps in each framework")
    parser.add_argument("--image_size", type=int, default=DEFAULT_IMAGE_SIZE, help="longest side in pixels")
    parser.add_argument("--output_dir", default=DEFAULT_OUTPUT_DIR,
                        help="folder for compare.json and compare.png (its first free run_N subfolder if it holds "
                             "earlier results)")
    parser.add_argument("--learning_rate", type=float, default=2.0, help="Adam step, in 0-255 pixel units")
    parser.add_argument("--alpha", type=float, default=10.0, help="weight of the content cost")
    parser.add_argument("--beta", type=float, default=40.0, help="weight of the style cost")
    parser.add_argument("--noise_ratio", type=float, default=0.6, help="share of noise in the initial image")
    parser.add_argument("--seed", type=int, default=3, help="seed of the initial noise (and of --weights random)")
    parser.add_argument("--pooling", choices=("avg", "max"), default="avg", help="pooling between VGG blocks")
    parser.add_argument("--pooling_border", choices=("keep", "drop"), default="keep",
                        help="an odd last row or column at a pooling: keep it (Coursera's 'SAME') or drop it")
    parser.add_argument("--content_layer", default="conv4_2", help="content layer")
    parser.add_argument("--style_layers", default=config_module.layer_weights_text(config_module.DEFAULT_STYLE_LAYERS),
                        help="style layers, name:weight,...")
    parser.add_argument("--nodownload", dest="allow_download", action="store_false",
                        help="do not let Keras download the ImageNet weights")
    return parser


def config_from_arguments(arguments):
    """The StyleTransferConfig both frameworks run; raises ConfigError.

    One snapshot per iteration (print_every 1): the comparison needs every cost.
    """
    if arguments.steps < 1:  # checked here: the config would name it 'iterations', not the flag the user typed
        raise errors.ConfigError(f"--steps must be at least 1, got {arguments.steps}")
    return config_module.StyleTransferConfig(
        content_image=arguments.content_image,
        style_image=arguments.style_image,
        output_dir=arguments.output_dir,
        image_size=arguments.image_size,
        iterations=arguments.steps,
        print_every=1,
        learning_rate=arguments.learning_rate,
        content_weight=arguments.alpha,
        style_weight=arguments.beta,
        noise_ratio=arguments.noise_ratio,
        seed=arguments.seed,
        weights=arguments.weights,
        pooling=arguments.pooling,
        pooling_border=arguments.pooling_border,
        content_layer=arguments.content_layer,
        style_layers=config_module.parse_layer_weights(arguments.style_layers),
        allow_download=arguments.allow_download,
    )


def _print_snapshot(framework, snapshot):
    from nst import outputs

    print(f"{framework:>10}: {outputs.describe_costs(snapshot.iteration, snapshot.costs)}", flush=True)


def _print_weights(loaded_weights):
    if loaded_weights.warning:
        print(f"Warning: {loaded_weights.warning}", file=sys.stderr)
    print(f"Weights: {loaded_weights.source}", flush=True)


def compare(argv):
    """Parses argv, compares the two frameworks and writes the report; returns the exit code."""
    config = config_from_arguments(build_parser().parse_args(argv))
    quiet_tensorflow.import_tensorflow_quietly()
    from nst.compare import comparison
    from nst.compare import report

    comparison_run, json_path, figure_path = comparison.compare_and_report(
        config, on_snapshot=_print_snapshot, on_weights=_print_weights)
    print(report.summary(comparison_run, json_path, figure_path))
    runs = {"TensorFlow": comparison_run.tensorflow, "PyTorch": comparison_run.torch}
    stopped = {name: framework_run.stop_reason for name, framework_run in runs.items() if framework_run.stop_reason}
    if stopped:
        return errors.report(PROGRAM, "; ".join(f"{name} stopped early: {reason}" for name, reason in stopped.items()),
                             errors.EXIT_NON_FINITE)
    return errors.EXIT_OK


def main(argv=None):
    """python -m nst.compare [flags]; returns the exit code (argv: sys.argv[1:] by default)."""
    return errors.run_entry_point(PROGRAM, compare, argv)


if __name__ == "__main__":
    sys.exit(main())
