"""python -m nst.compare: the same style transfer in TensorFlow and PyTorch, compared in compare.json and compare.png.

Flags are parsed with argparse, not absl: absl keeps flags in one process-wide registry,
and nst_main.py registers flags of the same names (--content_image, --weights, …), so
absl definitions here would collide in any process that imports both (the test suite,
or an entry script that delegates to this one). argparse keeps the parser inside main().
"""

import argparse
import os
import pathlib
import sys

# TensorFlow prints start-up chatter on stderr unless told otherwise; keep the user's own setting.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from nst import quiet_tensorflow  # noqa: E402

PROGRAM = "python -m nst.compare"
IMAGES_DIR = pathlib.Path(__file__).resolve().parent.parent / "images"
DEFAULT_STEPS = 10  # the target is stated for 10 Adam steps
DEFAULT_IMAGE_SIZE = 64  # small: the point is the numbers, and PyTorch and TensorFlow both run it
DEFAULT_OUTPUT_DIR = "output/compare"
DEFAULT_STYLE_LAYERS_TEXT = "conv1_1:0.2,conv2_1:0.2,conv3_1:0.2,conv4_1:0.2,conv5_1:0.2"

EXIT_BAD_INPUT = 1
EXIT_NON_FINITE = 3


class _ArgumentParser(argparse.ArgumentParser):
    """argparse with this project's convention for bad input: one line on stderr and exit code 1."""

    def error(self, message):
        print(f"{self.prog}: error: {message} (see --help)", file=sys.stderr)
        sys.exit(EXIT_BAD_INPUT)


def build_parser():
    """The command's arguments; names and defaults follow nst_main.py's flags where they share a meaning."""
    parser = _ArgumentParser(
        prog=PROGRAM,
        description="Run the same style transfer in TensorFlow and in the PyTorch reference, from the same "
                    "weights and start image, and write compare.json and compare.png.",
    )
    parser.add_argument("--content_image", default=str(IMAGES_DIR / "village.jpg"), help="content image path")
    parser.add_argument("--style_image", default=str(IMAGES_DIR / "swirls.jpg"), help="style image path")
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
    parser.add_argument("--style_layers", default=DEFAULT_STYLE_LAYERS_TEXT, help="style layers, name:weight,...")
    parser.add_argument("--nodownload", dest="allow_download", action="store_false",
                        help="do not let Keras download the ImageNet weights")
    return parser


def config_from_arguments(arguments):
    """The StyleTransferConfig both frameworks run; raises nst.config.ConfigError.

    One snapshot per iteration (print_every 1): the comparison needs every cost.
    """
    from nst import config as config_module

    if arguments.steps < 1:  # checked here: the config would name it 'epochs', not the flag the user typed
        raise config_module.ConfigError(f"--steps must be at least 1, got {arguments.steps}")
    return config_module.StyleTransferConfig(
        content_image=arguments.content_image,
        style_image=arguments.style_image,
        output_dir=arguments.output_dir,
        image_size=arguments.image_size,
        epochs=arguments.steps,
        print_every=1,
        learning_rate=arguments.learning_rate,
        alpha=arguments.alpha,
        beta=arguments.beta,
        noise_ratio=arguments.noise_ratio,
        seed=arguments.seed,
        weights=arguments.weights,
        pooling=arguments.pooling,
        pooling_border=arguments.pooling_border,
        content_layer=arguments.content_layer,
        style_layers=config_module.parse_layer_weights(arguments.style_layers),
        allow_download=arguments.allow_download,
    )


def _fail(message, exit_code=EXIT_BAD_INPUT):
    print(f"{PROGRAM}: error: {message}", file=sys.stderr)
    return exit_code


def _print_snapshot(framework, snapshot):
    from nst import outputs

    print(f"{framework:>10}: {outputs.describe_costs(snapshot.iteration, snapshot.costs)}", flush=True)


def _summary(comparison, json_path, figure_path):
    """The lines printed at the end: the headline numbers and where the files are."""
    worst_layer = max(comparison.layer_differences, key=comparison.layer_differences.get)
    psnr = "identical images" if comparison.psnr_db is None else f"PSNR {comparison.psnr_db:.1f} dB"
    return "\n".join([
        f"Largest relative activation difference: {comparison.layer_differences[worst_layer]:.2e} ({worst_layer}); "
        f"largest relative cost difference: {comparison.max_relative_cost_difference:.2e}",
        f"Final images: {psnr}, SSIM {comparison.ssim:.5f}",
        f"Seconds per iteration: TensorFlow {comparison.tensorflow.seconds_per_iteration:.3f}, "
        f"PyTorch {comparison.torch.seconds_per_iteration:.3f}",
        f"Wrote {json_path} and {figure_path}",
    ])


def run(arguments):
    """Runs the comparison the arguments describe; returns the process exit code."""
    from nst import config as config_module

    try:
        config = config_from_arguments(arguments)
    except config_module.ConfigError as error:
        return _fail(error)
    quiet_tensorflow.import_tensorflow_quietly()
    from nst import comparison as comparison_module
    from nst import comparison_report
    from nst import files
    from nst import images
    from nst import outputs
    from nst import torch_reference
    from nst import weights

    try:
        comparison_module.check_comparable(config)
        inputs = comparison_module.read_inputs(config)
        torch_reference.import_torch()  # before the slow part, so a missing PyTorch costs no waiting
        # Chosen once the inputs are known good, so a refused run leaves no folder behind; as in
        # nst_main.py, a folder holding an earlier comparison gets the new one in a run_N subfolder.
        output_dir = files.prepare_output_directory(outputs.choose_output_directory(config.output_dir))
        if inputs.loaded_weights.warning:
            print(f"Warning: {inputs.loaded_weights.warning}", file=sys.stderr)
        print(f"Weights: {inputs.loaded_weights.source}", flush=True)
        comparison = comparison_module.compare_frameworks(config, inputs, on_snapshot=_print_snapshot)
    except (config_module.ConfigError, images.ImageError, weights.WeightsError, files.OutputError,
            torch_reference.TorchUnavailableError) as error:
        return _fail(error)
    json_path, figure_path = comparison_report.write_comparison(output_dir, comparison, config)
    print(_summary(comparison, json_path, figure_path))
    runs = {"TensorFlow": comparison.tensorflow, "PyTorch": comparison.torch}
    stopped = {name: framework_run.stop_reason for name, framework_run in runs.items() if framework_run.stop_reason}
    if stopped:
        return _fail("; ".join(f"{name} stopped early: {reason}" for name, reason in stopped.items()),
                     EXIT_NON_FINITE)
    return 0


def main(argv=None):
    """Parses argv (sys.argv[1:] by default) and runs; returns the exit code (unreadable arguments exit 1 at once)."""
    return run(build_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
