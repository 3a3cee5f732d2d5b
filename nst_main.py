"""Neural style transfer from the command line: absl flags -> one config -> nst -> files and an exit code."""

import json
import os
import pathlib
import sys

# TensorFlow prints start-up chatter on stderr unless told otherwise; keep the
# user's own setting if there is one.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app  # noqa: E402
from absl import flags  # noqa: E402

from nst import config as config_module  # noqa: E402
from nst import interrupts  # noqa: E402
from nst import quiet_tensorflow  # noqa: E402

# nst.config, nst.interrupts and nst.quiet_tensorflow import no TensorFlow, so --help answers at once; the
# modules that do are imported inside the functions below, after TensorFlow has been imported quietly.

PROJECT_DIR = pathlib.Path(__file__).resolve().parent
IMAGES_DIR = PROJECT_DIR / "images"
DEFAULT_STYLE_LAYERS_TEXT = "conv1_1:0.2,conv2_1:0.2,conv3_1:0.2,conv4_1:0.2,conv5_1:0.2"

EXIT_BAD_INPUT = 1
EXIT_NON_FINITE = 3
EXIT_WRITE_FAILED = 5  # a file of the run could not be written (disk full, folder gone or read-only)
EXIT_ENDED_EARLY = 6  # the optimiser ended before its iterations at a limit (L-BFGS), the image kept
EXIT_INTERRUPTED = 130  # 128 + SIGINT, the shell's convention; SIGTERM gives 143

# The original Coursera app's flags.
flags.DEFINE_string("content_image_filename", "village.jpg", "Content image, a file name inside images/.")
flags.DEFINE_string("style_image_filename", "swirls.jpg", "Style image(s), file names inside images/, comma-separated.")
flags.DEFINE_integer("epochs", 200, "Optimisation iterations.")
flags.DEFINE_integer("print_every", 20, "Print the costs and save a snapshot every this many iterations.")
flags.DEFINE_float("learning_rate", 2.0, "Adam learning rate, in the units of --optimization_space (pixels: 0-255).")
flags.DEFINE_float("alpha", 10.0, "Weight of the content cost.")
flags.DEFINE_float("beta", 40.0, "Weight of the style cost.")
# Added by this project.
flags.DEFINE_string("content_image", None, "Content image, any path (overrides --content_image_filename).")
flags.DEFINE_string("style_image", None, "Style image(s), any paths, comma-separated (overrides --style_image_filename).")
flags.DEFINE_string("output_dir", "output", "Folder for snapshots and generated_image.png.")
flags.DEFINE_integer("image_size", 400, "Longest side of the generated image in pixels; the content's aspect is kept.")
flags.DEFINE_float("noise_ratio", 0.6, "Share of noise in the initial image (0 = the content image).")
flags.DEFINE_integer("seed", 3, "Seed of the initial noise (and of --weights random); 3 is the Coursera notebook's.")
flags.DEFINE_string("weights", "imagenet",
                    "VGG19 weights: imagenet (the first found), keras, matconvnet or torchvision (only that file), "
                    "random, or a path to a .h5, .mat, .pth or .safetensors file.")
flags.DEFINE_bool("download", True, "Let Keras download the ImageNet weights when none are found locally.")
flags.DEFINE_enum("pooling", "avg", ["avg", "max"], "Pooling between VGG blocks (Coursera and Gatys use avg).")
flags.DEFINE_enum("pooling_border", "keep", list(config_module.POOLING_BORDERS),
                  "An odd last row/column at a pooling: keep (pooled by a partial window: TF1 'SAME', Caffe) or drop "
                  "(Keras, torchvision).")
flags.DEFINE_string("content_layer", "conv4_2", "Content layer (conv4_2, or a Keras name such as block4_conv2).")
flags.DEFINE_string("style_layers", DEFAULT_STYLE_LAYERS_TEXT, "Style layers with weights, name:weight,...")
# Speed and quality.
flags.DEFINE_enum("optimizer", "adam", ["adam", "lbfgs"], "adam (Coursera) or lbfgs (L-BFGS-B, pixels kept in 0-255).")
flags.DEFINE_string("init", "noise", "Start image: noise (Coursera blend), content, style, random, or a path.")
flags.DEFINE_float("tv_weight", 0.0, "Weight of the total variation of the generated image (pixel units).")
flags.DEFINE_integer("scales", 1, "Coarse-to-fine sizes, doubling up to --image_size; --epochs at each.")
flags.DEFINE_enum("precision", "float32", ["float32", "bfloat16"], "Arithmetic of the VGG convolutions.")
flags.DEFINE_bool("jit", False, "XLA-compile the cost-and-gradient step.")
flags.DEFINE_bool("deterministic", True, "TensorFlow op determinism: same seed and inputs give the same image.")
flags.DEFINE_float("adam_beta_1", 0.9, "Adam's beta_1.")
flags.DEFINE_float("adam_epsilon", 1e-8, "Adam's epsilon (TF1's default, as in the Coursera assignment).")
flags.DEFINE_enum("adam_epsilon_placement", "keras", list(config_module.ADAM_EPSILON_PLACEMENTS),
                  "Where Adam adds epsilon: keras (and TF1) or pytorch (after the bias correction).")
flags.DEFINE_enum("lbfgs_variant", "scipy", list(config_module.LBFGS_VARIANTS),
                  "scipy (L-BFGS-B), torch (the PyTorch tutorial's torch.optim.LBFGS loop) or lua "
                  "(jcjohnson/neural-style's optim.lbfgs).")
# Reproducing a system exactly.
flags.DEFINE_enum("input_normalization", "weights", list(config_module.INPUT_NORMALIZATIONS),
                  "Network input: the weights' convention, weights_x256 (jcjohnson), unit_rgb (Coursera TF2: 0-1 RGB "
                  "as is) or half ((x/255-0.5)/0.5).")
flags.DEFINE_enum("optimization_space", "network", list(config_module.OPTIMIZATION_SPACES),
                  "What the optimiser moves: pixels (0-255), unit (0-1) or network (the network's input).")
flags.DEFINE_bool("clip_each_step", False, "Clip the image to its valid range after every Adam update.")
flags.DEFINE_enum("sizing", "longest", list(config_module.SIZING_RULES),
                  "How images are sized: longest, square, udacity, shorter, tf_tutorial, torch_image.")
flags.DEFINE_bool("features_before_relu", False, "Compare the convolutions' outputs before their ReLU.")
flags.DEFINE_enum("tv_form", "absolute", list(config_module.TV_FORMS),
                  "Total variation: absolute (sum of |differences|) or squared (jcjohnson).")
flags.DEFINE_enum("save_rounding", "truncate", list(config_module.SAVE_ROUNDINGS),
                  "8-bit images: truncate (Coursera's astype(uint8)) or round.")
# Artistic control.
flags.DEFINE_string("style_blend_weights", None, "Blend weights of several style images, e.g. 0.7,0.3 (normalised).")
flags.DEFINE_float("style_scale", 1.0, "Style image size relative to the content's, before its Grams are taken.")
flags.DEFINE_enum("preserve_colors", "none", ["none", "luminance", "histogram"],
                  "Keep the content's colours: luminance-only transfer, or recolour the style to the content.")
flags.DEFINE_string("content_mask", None, "Mask image: white = stylise, black = keep the content.")
flags.DEFINE_string("style_masks", None, "One mask per style image, comma-separated: where each style goes.")
flags.DEFINE_float("style_layer_weight_exp", 1.0, "Multiply style layer l's weight by this**l (>1: deeper layers).")
flags.DEFINE_enum("loss_convention", "coursera", ["coursera", "tf_tutorial", "pytorch", "jcjohnson"],
                  "How costs are normalised.")
flags.DEFINE_enum("preset", "coursera", list(config_module.PRESETS),
                  "Reproduce one of the systems this project grew from (see README 'Presets'); explicit flags "
                  "override it.")
flags.DEFINE_bool("print_config", False, "Print the fully resolved configuration as JSON and exit.")
# Runs.
flags.DEFINE_bool("quiet", False, "Print nothing but errors.")
flags.DEFINE_bool("overwrite", False, "Write over an earlier run in --output_dir instead of a new run_N subfolder.")
flags.DEFINE_string("resume", None, "Continue the interrupted run in this output folder (its run.json config).")

FLAGS = flags.FLAGS


# Flags whose value is a config field of the same name; --download sets allow_download.
CONFIG_FLAGS = (
    "output_dir", "image_size", "epochs", "print_every", "learning_rate", "alpha", "beta", "noise_ratio", "seed",
    "weights", "pooling", "content_layer", "style_layers", "optimizer", "init", "tv_weight", "scales", "precision",
    "jit", "deterministic", "adam_beta_1", "adam_epsilon", "style_blend_weights", "style_scale", "preserve_colors",
    "content_mask", "style_masks", "style_layer_weight_exp", "loss_convention", "pooling_border",
    "adam_epsilon_placement", "lbfgs_variant", "input_normalization", "optimization_space", "clip_each_step", "sizing",
    "features_before_relu", "tv_form", "save_rounding",
)
RENAMED_CONFIG_FLAGS = {"download": "allow_download"}


def _image_paths(path_flag, filename_flag):
    """--style_image (any paths) wins over --style_image_filename (names inside images/); both may list several."""
    if path_flag is not None:
        return path_flag
    return ",".join(str(IMAGES_DIR / name.strip()) for name in filename_flag.split(",") if name.strip())


def _flag_value(flag_values, name):
    value = flag_values[name].value
    return config_module.parse_layer_weights(value) if name == "style_layers" else value


def config_from_flags(flag_values):
    """The one StyleTransferConfig the parsed flags describe; raises nst.config.ConfigError.

    The preset gives the defaults; only flags given explicitly (on the command line or in a
    flagfile) override it. The flags' own defaults are the Coursera preset's.
    """
    names = {**{name: name for name in CONFIG_FLAGS}, **RENAMED_CONFIG_FLAGS}
    explicit = {field: _flag_value(flag_values, flag) for flag, field in names.items() if flag_values[flag].present}
    return config_module.StyleTransferConfig.from_preset(
        flag_values.preset,
        content_image=_image_paths(flag_values.content_image, flag_values.content_image_filename),
        style_image=_image_paths(flag_values.style_image, flag_values.style_image_filename),
        **explicit,
    )


def _fail(message, exit_code=EXIT_BAD_INPUT):
    """One line on stderr naming the problem (and, for errors that carry one, a hint line after it)."""
    print(f"nst_main.py: error: {message}", file=sys.stderr)
    hint = getattr(message, "hint", None)
    if hint:
        print(f"nst_main.py: hint: {hint}", file=sys.stderr)
    return exit_code


def _new_run_setup(flag_values):
    """Config and folder of a new run; nothing is touched on disk (see _prepare)."""
    from nst import outputs

    config = config_from_flags(flag_values)
    output_dir = outputs.choose_output_directory(config.output_dir, flag_values.overwrite)
    return config, output_dir, None, None


def _resume_setup(flag_values):
    """Config, folder, state and record of the interrupted run in --resume's folder."""
    from nst import files
    from nst import outputs
    from nst import transfer

    output_dir = pathlib.Path(flag_values.resume)
    record = outputs.load_run_record(output_dir)
    try:
        config = config_module.StyleTransferConfig(**record["config"])
    except (KeyError, TypeError) as error:
        raise files.OutputError(str(output_dir), f"run.json has no usable config ({error})") from None
    iteration, image, optimizer_state = outputs.load_resume_state(output_dir)
    if iteration >= config.total_iterations:
        raise files.OutputError(str(output_dir), f"this run already finished its {iteration} iterations")
    return config, output_dir, transfer.ResumeState(iteration, image, optimizer_state), record


def _announce(display, config, prepared, output_dir, resume):
    if prepared.loaded_weights.warning:
        print(f"Warning: {prepared.loaded_weights.warning}", file=sys.stderr)
    width, height = prepared.content_size(config.image_size)
    display.write(f"Weights: {prepared.loaded_weights.source}")
    start = f"resuming at iteration {resume.iteration} of {config.total_iterations}" if resume else (
        f"{config.total_iterations} iterations ({config.optimizer})")
    display.write(f"Painting {config.content_image} ({width}×{height}) in the style of {', '.join(config.style_image)}, "
                  f"{start}; files in {output_dir}/")


def _exit_code(result, recorder, display, stop, final_path):
    if result.interrupted:
        display.write(f"Interrupted at iteration {result.iterations}: saved {final_path} and "
                      f"{recorder.output_dir / 'run.json'}; continue with --resume {recorder.output_dir}")
        return 128 + stop.signal_number
    if result.stop_reason:
        return _fail(f"stopped early: {result.stop_reason}; saved it to {final_path}", EXIT_NON_FINITE)
    evaluations = f", {result.evaluations} cost evaluations" if result.evaluations != result.iterations_run else ""
    timing = f"{result.elapsed_seconds:.1f} s ({result.seconds_per_iteration:.3f} s/iteration{evaluations})"
    if result.ended_early and result.ended_at_limit:
        return _fail(f"{result.ended_early}; saved the image it reached, after {timing}, to {final_path}",
                     EXIT_ENDED_EARLY)
    if result.ended_early:
        display.write(f"{result.ended_early}.")
    display.write(f"Done in {timing}: {final_path}")
    return 0


def _status(result):
    if result.interrupted:
        return "interrupted"
    if result.stop_reason:
        return "stopped"
    return "ended_early" if result.ended_at_limit else "finished"


def _write_failed(error, recorder):
    """The exit for a file that could not be written mid-run: one line, and how to continue."""
    from nst import outputs

    last = recorder.last_snapshot_iteration
    kept = (f"{outputs.RUN_RECORD_NAME} and the snapshot of iteration {last} are kept"
            if last is not None else "nothing of this run was written")
    error.hint = f"{kept}; once the cause is fixed, continue with --resume {recorder.output_dir}"
    return _fail(error, EXIT_WRITE_FAILED)


def _prepare(flag_values):
    """(config, prepared inputs, output folder, resume state, run record) of the run the flags describe.

    Only once every input is read and the weights are loaded is the output folder created,
    and with --overwrite the earlier run there removed: a refused run costs nothing.
    """
    from nst import files
    from nst import outputs
    from nst import transfer

    setup = _resume_setup if flag_values.resume else _new_run_setup
    config, output_dir, resume, record = setup(flag_values)
    if flag_values.print_config:
        return config, None, None, None, None
    prepared = transfer.prepare(config)
    output_dir = files.prepare_output_directory(output_dir)
    if flag_values.overwrite and not flag_values.resume:
        outputs.clear_previous_run(output_dir)
    return config, prepared, output_dir, resume, record


def run(flag_values):
    """Runs the style transfer the flags describe; returns the process exit code."""
    quiet_tensorflow.import_tensorflow_quietly()
    from nst import files
    from nst import images
    from nst import optimize
    from nst import outputs
    from nst import progress
    from nst import transfer
    from nst import weights

    try:
        config, prepared, output_dir, resume, record = _prepare(flag_values)
    except (config_module.ConfigError, images.ImageError, weights.WeightsError, files.OutputError) as error:
        return _fail(error)
    if flag_values.print_config:
        print(json.dumps(config.to_dict(), indent=2))
        return 0
    first_iteration = resume.iteration if resume else 0
    display = progress.ProgressDisplay(config.total_iterations, first_iteration, quiet=flag_values.quiet)
    _announce(display, config, prepared, output_dir, resume)
    recorder = outputs.RunRecorder(output_dir, config, prepared)
    if record is not None:
        recorder.resume_from(record, first_iteration)
    with interrupts.StopRequest() as stop:
        callbacks = optimize.Callbacks(
            on_iteration=lambda iteration, costs: (recorder.on_iteration(iteration, costs),
                                                   display.on_iteration(iteration, costs)),
            on_snapshot=lambda snapshot: (recorder.on_snapshot(snapshot), display.on_snapshot(snapshot)),
            should_stop=stop.requested,
        )
        try:
            result = transfer.run(config, prepared, callbacks, resume)
            display.close()
            final_path = recorder.finish(result, _status(result))
        except files.OutputError as error:
            display.close()
            return _write_failed(error, recorder)
    return _exit_code(result, recorder, display, stop, final_path)


def main(argv):
    if len(argv) > 1:
        return _fail(f"unexpected arguments: {' '.join(argv[1:])} (flags start with --)")
    try:
        return run(FLAGS)
    except KeyboardInterrupt:  # a Ctrl-C before the loop started, or a second one: nothing to save
        print("nst_main.py: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    app.run(main)
