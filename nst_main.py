"""Neural style transfer from the command line: absl flags -> one config -> nst -> files and an exit code."""

import json
import os
import sys

# TensorFlow prints start-up chatter on stderr unless told otherwise; keep the
# user's own setting if there is one.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app  # noqa: E402
from absl import flags  # noqa: E402

from nst import config as config_module  # noqa: E402
from nst import errors  # noqa: E402
from nst import interrupts  # noqa: E402
from nst import quiet_tensorflow  # noqa: E402

# nst.config, nst.errors, nst.interrupts and nst.quiet_tensorflow import no TensorFlow, so --help answers at once; the
# modules that do are imported inside the functions below, after TensorFlow has been imported quietly.

PROGRAM = "nst_main.py"
IMAGES_DIR = config_module.IMAGES_DIR

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
flags.DEFINE_string("style_layers", config_module.layer_weights_text(config_module.DEFAULT_STYLE_LAYERS), "Style layers with weights, name:weight,...")
# Speed and quality.
flags.DEFINE_enum("optimizer", "adam", ["adam", "lbfgs"], "adam (Coursera) or lbfgs (L-BFGS-B, pixels kept in 0-255).")
flags.DEFINE_string("init", "noise", "Start image: noise (Coursera blend), content, style, random, or a path.")
flags.DEFINE_float("tv_weight", 0.0, "Weight of the total variation of the generated image (pixel units).")
flags.DEFINE_integer("scales", 1, "Coarse-to-fine sizes, doubling up to --image_size; --epochs at each.")
flags.DEFINE_enum("precision", "float32", ["float32", "bfloat16"], "Arithmetic of the VGG convolutions.")
flags.DEFINE_bool("jit", False, "XLA-compile the cost-and-gradient step.")
flags.DEFINE_integer("tile_size", 0, "Run VGG19 tile by tile, each tile this many pixels square (plus a halo); the "
                                     "cost and gradient are exactly the untiled ones. 0: tile only when an untiled "
                                     "step would not fit --memory_limit.")
flags.DEFINE_string("memory_limit", "auto", "Memory automatic tiling plans for: auto (half of what the process can "
                                            "use: the cgroup limit or MemAvailable) or a size such as 8G.")
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
# Video.
flags.DEFINE_string("content_video", None,
                    "Stylise a clip instead of an image: a video file (.mp4, .mov, .mkv, .gif, …) or a folder of "
                    "frames; writes video.mp4 (with the clip's sound), the frames and run.json.")
flags.DEFINE_float("temporal_weight", config_module.DEFAULT_TEMPORAL_WEIGHT,
                   "Weight of the temporal cost: each frame's squared difference to the previous stylised frame, "
                   "warped along the optical flow, where the flow is reliable (units of --optimization_space).")
flags.DEFINE_integer("epochs_per_frame", None, "Iterations of each frame after the first (default: half of --epochs).")
flags.DEFINE_enum("frame_init", "warped", list(config_module.FRAME_INITS),
                  "How frames after the first start: warped (the previous stylised frame, warped along the flow) "
                  "or independent (from --init, like the first: the flickering baseline).")
# Runs.
flags.DEFINE_bool("quiet", False, "Print nothing but errors.")
flags.DEFINE_bool("overwrite", False, "Write over an earlier run in --output_dir instead of a new run_N subfolder.")
flags.DEFINE_string("resume", None, "Continue the interrupted run in this output folder (its run.json config).")

FLAGS = flags.FLAGS


# Flags whose value is a config field of the same name; --download sets allow_download.
CONFIG_FLAGS = (
    "output_dir", "image_size", "epochs", "print_every", "learning_rate", "alpha", "beta", "noise_ratio", "seed",
    "weights", "pooling", "content_layer", "style_layers", "optimizer", "init", "tv_weight", "scales", "precision",
    "jit", "tile_size", "memory_limit", "deterministic", "adam_beta_1", "adam_epsilon", "style_blend_weights",
    "style_scale", "preserve_colors", "content_mask", "style_masks", "style_layer_weight_exp", "loss_convention",
    "pooling_border", "adam_epsilon_placement", "lbfgs_variant", "input_normalization", "optimization_space",
    "clip_each_step", "sizing", "features_before_relu", "tv_form", "save_rounding",
    "content_video", "temporal_weight", "epochs_per_frame", "frame_init",
)
RENAMED_CONFIG_FLAGS = {"download": "allow_download", **config_module.RENAMED_FIELDS}


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
    content_image = _image_paths(flag_values.content_image, flag_values.content_image_filename)
    if flag_values.content_video is not None:  # a clip's run: its content is the clip, named in both fields
        if flag_values["content_image"].present or flag_values["content_image_filename"].present:
            raise errors.ConfigError("--content_video and --content_image both name the content: give one")
        content_image = flag_values.content_video
    return config_module.StyleTransferConfig.from_preset(
        flag_values.preset,
        content_image=content_image,
        style_image=_image_paths(flag_values.style_image, flag_values.style_image_filename),
        **explicit,
    )


def _announce(display, run):
    """The run's first lines: the weights, what is painted at which size, and where the files go."""
    config, prepared = run.config, run.prepared
    if prepared.loaded_weights.warning:
        print(f"Warning: {prepared.loaded_weights.warning}", file=sys.stderr)
    width, height = prepared.content_size(config.image_size)
    display.write(f"Weights: {prepared.loaded_weights.source}")
    start = f"resuming at iteration {run.resume.iteration} of {config.total_iterations}" if run.resume else (
        f"{config.total_iterations} iterations ({config.optimizer})")
    display.write(f"Painting {config.content_image} ({width}×{height}) in the style of {', '.join(config.style_image)}, "
                  f"{start}; files in {run.output_dir}/")
    tiling = run.tiling
    if tiling["tile_size"]:
        display.write(f"Tiling: {tiling['description']}, {tiling['tile_count']} tiles with a {tiling['halo']}-pixel halo; "
                      "the cost and gradient are the untiled ones")


def _exit_code(outcome, run, display, stop):
    """The process exit code of a run's outcome, and the last line it prints."""
    from nst import outputs

    result, final_path = outcome.result, outcome.final_path
    if result.interrupted:
        display.write(f"Interrupted at iteration {result.iterations}: saved {final_path} and "
                      f"{run.output_dir / outputs.RUN_RECORD_NAME}; continue with --resume {run.output_dir}")
        return 128 + stop.signal_number
    if result.stop_reason:
        return errors.report(PROGRAM, f"stopped early: {result.stop_reason}; saved it to {final_path}",
                             errors.EXIT_NON_FINITE)
    evaluations = f", {result.evaluations} cost evaluations" if result.evaluations != result.iterations_run else ""
    timing = f"{result.elapsed_seconds:.1f} s ({result.seconds_per_iteration:.3f} s/iteration{evaluations})"
    if result.ended_early and result.ended_at_limit:
        return errors.report(PROGRAM, f"{result.ended_early}; saved the image it reached, after {timing}, to "
                                      f"{final_path}", errors.EXIT_ENDED_EARLY)
    if result.ended_early:
        display.write(f"{result.ended_early}.")
    display.write(f"Done in {timing}: {final_path}")
    return errors.EXIT_OK


def _announce_clip(display, run):
    """A clip's first lines: the weights, the clip, how its frames are stylised, and where the files go."""
    from nst.video import transfer as clip_transfer

    config, clip = run.config, run.clip
    if run.prepared.loaded_weights.warning:
        print(f"Warning: {run.prepared.loaded_weights.warning}", file=sys.stderr)
    display.write(f"Weights: {run.prepared.loaded_weights.source}")
    sound = ", with sound" if clip.has_audio else ""
    width, height = run.stylised_size
    later = clip_transfer.frame_config(config, 1)
    start = "the previous frame, warped" if config.frame_init == "warped" else config.init
    temporal = f", temporal weight {config.temporal_weight:g}" if config.temporal_weight else ", no temporal cost"
    where = (f"resuming at frame {run.position.next_frame + 1}" if run.position.next_frame
             else f"frame 1: {config.total_iterations} iterations ({config.optimizer}) from {config.init}")
    display.write(f"Stylising {config.content_video} ({clip.frame_count} frames, {float(clip.frames_per_second):.4g} "
                  f"fps{sound}) at {width}×{height} in the style of {', '.join(config.style_image)}; {where}; later "
                  f"frames: {later.total_iterations} iterations from {start}{temporal}; files in {run.output_dir}/")


def _clip_exit_code(outcome, run, display, stop):
    """The process exit code of a clip's outcome, and the last line it prints."""
    record, result = outcome.record, outcome.result
    folder = run.output_dir
    if outcome.status == "interrupted":
        display.write(f"Interrupted at frame {result.frames_done + 1}: {result.frames_done} frame(s) saved in "
                      f"{folder}/; continue with --resume {folder}")
        return 128 + stop.signal_number
    if outcome.status == "stopped":
        return errors.report(PROGRAM, f"stopped early: {result.stop_reason}; the frames before it are saved in "
                                      f"{folder}/", errors.EXIT_NON_FINITE)
    timing = record["seconds_per_frame"]
    later = f", later frames {timing['later_median']:.1f} s (median)" if timing["later_median"] is not None else ""
    error = record["warping_error"]
    summary = (f"{record['frames_done']} frames in {record['wall_seconds']:.1f} s (first frame {timing['first']:.1f} s"
               f"{later}); warping error {'n/a (one frame)' if error is None else f'{error:.4g}'}")
    if outcome.status == "ended_early":
        frames = [str(entry["frame"]) for entry in record["frames"] if entry.get("ended_at_limit")]
        return errors.report(PROGRAM, f"L-BFGS ended early at a limit in frame(s) {', '.join(frames)} (run.json says "
                                      f"why); {summary}: {outcome.video_path}", errors.EXIT_ENDED_EARLY)
    display.write(f"Done: {summary}: {outcome.video_path}")
    return errors.EXIT_OK


def run_clip(flag_values, config=None):
    """Stylises the clip the flags (or the run to resume) describe; returns the exit code."""
    from nst.video import progress as clip_progress
    from nst.video import runs as clip_runs

    run = clip_runs.resumed_run(flag_values.resume) if config is None else clip_runs.new_run(
        config, flag_values.overwrite)
    display = clip_progress.ClipProgressDisplay(run, quiet=flag_values.quiet)
    _announce_clip(display, run)
    with interrupts.StopRequest() as stop:
        try:
            outcome = clip_runs.execute(run, display.callbacks(stop.requested))
        finally:
            display.close()
    return _clip_exit_code(outcome, run, display, stop)


def _resumes_a_clip(folder):
    from nst import outputs
    from nst.video import runs as clip_runs

    return clip_runs.is_clip_record(outputs.load_run_record(folder))


def run_from_flags(flag_values):
    """Runs the style transfer the parsed flags describe; returns the exit code (NSTErrors go to the boundary)."""
    quiet_tensorflow.import_tensorflow_quietly()
    from nst import progress
    from nst import runs

    clip = _resumes_a_clip(flag_values.resume) if flag_values.resume else flag_values.content_video is not None
    if flag_values.print_config:  # never touches a file
        if flag_values.resume:
            config = (_resumed_clip_config(flag_values.resume) if clip else runs.resumed_config(flag_values.resume)[0])
        else:
            config = config_from_flags(flag_values)
        print(json.dumps(config.to_dict(), indent=2))
        return errors.EXIT_OK
    if clip:
        return run_clip(flag_values, None if flag_values.resume else config_from_flags(flag_values))
    if flag_values.resume:
        run = runs.resumed_run(flag_values.resume)
    else:
        run = runs.new_run(config_from_flags(flag_values), flag_values.overwrite)
    first_iteration = run.resume.iteration if run.resume else 0
    display = progress.ProgressDisplay(run.config.total_iterations, first_iteration, quiet=flag_values.quiet)
    _announce(display, run)
    with interrupts.StopRequest() as stop:
        try:
            outcome = runs.execute(run, display.on_iteration, display.on_snapshot, stop.requested, display.on_tile)
        finally:
            display.close()
    return _exit_code(outcome, run, display, stop)


def _resumed_clip_config(folder):
    from nst.video import runs as clip_runs

    return clip_runs.resumed_config(folder)[0]


main = errors.absl_main(PROGRAM, run_from_flags, FLAGS)


if __name__ == "__main__":
    app.run(main)
