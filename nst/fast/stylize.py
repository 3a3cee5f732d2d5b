"""Stylising images, folders and video frames with a trained transformation network: one forward pass each, timed."""

import dataclasses
import os
import pathlib
import statistics
import time

import numpy as np
import tensorflow as tf
from PIL import Image

from nst import errors
from nst import images
from nst import video
from nst.video import flow as video_flow
from nst.video import metrics as video_metrics
from nst.fast import config as fast_config
from nst.fast import export
from nst.fast import network
from nst.fast import outputs as fast_outputs

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff")
KEPT_OUTPUT_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp")  # other inputs are written as .png
SAVED_MODEL_FILENAME = "saved_model.pb"  # what marks a folder as a SavedModel
TFLITE_SUFFIX = ".tflite"


StylizeError = errors.StylizeError


def cpu_supports_bfloat16(cpuinfo_path="/proc/cpuinfo"):
    """True when the CPU has native bfloat16 arithmetic (AVX-512 BF16 or AMX), which oneDNN uses."""
    try:
        with open(cpuinfo_path, encoding="utf-8", errors="replace") as cpuinfo:
            flags = next((line.split(":", 1)[1].split() for line in cpuinfo if line.startswith("flags")), [])
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def resolve_precision(precision, gpu_count=None, bfloat16_cpu=None):
    """The precision 'auto' stands for: bfloat16 on a CPU-only machine whose CPU computes it natively, else float32.

    Elsewhere bfloat16 is emulated and slower than float32; GPUs run float32 fast enough.
    """
    if precision not in fast_config.STYLIZE_PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(fast_config.STYLIZE_PRECISIONS)}, got {precision!r}")
    if precision != "auto":
        return precision
    gpu_count = len(tf.config.list_physical_devices("GPU")) if gpu_count is None else gpu_count
    bfloat16_cpu = cpu_supports_bfloat16() if bfloat16_cpu is None else bfloat16_cpu
    return "bfloat16" if gpu_count == 0 and bfloat16_cpu else "float32"


@dataclasses.dataclass(frozen=True)
class StylizedImage:
    pixels: np.ndarray  # H×W×3 float32 RGB, 0–255
    milliseconds: float  # the forward pass, from pixels in memory to pixels in memory


class Stylizer:
    """A trained transformation network compiled once for single images of any size."""

    def __init__(self, model, precision="auto"):
        self.precision = resolve_precision(precision)
        policy = "mixed_bfloat16" if self.precision == "bfloat16" else "float32"
        self.model = network.rebuilt(model, dtype_policy=policy, for_inference=True)
        # One trace serves every image size; without the signature each new size would retrace.
        self._forward = tf.function(
            lambda pixels: self.model(pixels, training=False),
            input_signature=[tf.TensorSpec([None, None, None, 3], tf.float32)],
        )
        channels = "/".join(map(str, network.channel_counts_of(model)))
        self.description = f"channels {channels}, precision {self.precision}"

    def warm_up(self):
        """Traces and runs the network once on a small image, so later timings measure the forward pass."""
        self(np.zeros((32, 32, 3), np.float32))

    def __call__(self, pixels):
        """Stylises one H×W×3 RGB array (0–255); returns a StylizedImage of the same size."""
        batch = tf.convert_to_tensor(np.asarray(pixels, np.float32)[np.newaxis])
        started = time.perf_counter()
        stylised = self._forward(batch).numpy()[0]
        return StylizedImage(stylised, (time.perf_counter() - started) * 1000.0)


class ExportStylizer:
    """An export that fast_main.py export wrote (a SavedModel folder or a .tflite file), run like a Stylizer.

    It computes as it was exported: float32 arithmetic, with float16 or int8 weights for
    those TFLite files.
    """

    def __init__(self, run, description):
        self._run = run  # H×W×3 float32 pixels -> H×W×3 stylised pixels
        self.description = description

    def warm_up(self):
        self(np.zeros((32, 32, 3), np.float32))

    def __call__(self, pixels):
        pixels = np.asarray(pixels, np.float32)
        started = time.perf_counter()
        stylised = np.asarray(self._run(pixels), np.float32)
        return StylizedImage(stylised, (time.perf_counter() - started) * 1000.0)


def _load_export(path):
    """An ExportStylizer for a SavedModel folder or a .tflite file; StylizeError when it cannot be run."""
    try:
        if path.is_dir():
            return ExportStylizer(export.saved_model_runner(path), "SavedModel export")
        # Every core: TFLite's default is one thread, and stylising is the only work of this process.
        return ExportStylizer(export.TFLiteRunner(path.read_bytes(), threads=os.cpu_count()), "TFLite export")
    except (OSError, ValueError, RuntimeError, KeyError, tf.errors.OpError) as error:
        detail = " ".join(str(error).split())[:200] or type(error).__name__
        raise StylizeError(str(path), f"cannot be loaded as an export of a transformation network ({detail})") from None


def load_stylizer(path, precision="auto"):
    """A Stylizer or ExportStylizer for what path names, ready to call on H×W×3 pixels.

    path: a training folder or a .keras file (a Keras network, run at precision), a
    SavedModel folder or a .tflite file written by fast_main.py export (run as exported;
    precision must then be auto or float32). Raises StylizeError or TransformNetError.
    """
    candidate = pathlib.Path(os.path.expanduser(str(path)))
    if _is_export(candidate):
        if precision == "bfloat16":
            raise StylizeError(str(path), "an export computes as it was exported; --precision bfloat16 needs a "
                                          ".keras model")
        return _load_export(candidate)
    return Stylizer(network.load_transform_net(fast_outputs.find_model_file(candidate)), precision)


def _is_export(path):
    return (path.is_dir() and (path / SAVED_MODEL_FILENAME).is_file()) or (
        path.is_file() and path.suffix.lower() == TFLITE_SUFFIX)


@dataclasses.dataclass(frozen=True)
class ItemResult:
    """One stylised image or video, or one that failed (error set, output None)."""

    source: str
    output: str | None
    frames: int  # 1 for an image, 0 when it failed
    milliseconds: tuple  # per frame
    error: str | None = None
    warping_error: float | None = None  # a video's flicker (nst.video.metrics), None for images and single frames


@dataclasses.dataclass(frozen=True)
class StylizeSummary:
    items: tuple  # ItemResult, in input order

    @property
    def failures(self):
        return tuple(item for item in self.items if item.error)

    @property
    def frame_count(self):
        return sum(item.frames for item in self.items)

    @property
    def frame_milliseconds(self):
        """Per-frame times, without the very first frame (unless it is alone): a new size costs set-up time."""
        times = [value for item in self.items for value in item.milliseconds]
        return times[1:] if len(times) > 1 else times

    @property
    def median_milliseconds(self):
        times = self.frame_milliseconds
        return statistics.median(times) if times else float("nan")


def output_path_for(source, output_dir):
    """<output_dir>/<name>: the input's name, with .png for suffixes that are not kept."""
    source = pathlib.Path(source)
    suffix = source.suffix.lower()
    keep = suffix in KEPT_OUTPUT_SUFFIXES or video.is_video_path(source)
    return pathlib.Path(output_dir) / (source.name if keep else f"{source.stem}.png")


def _limit_size(image, max_size):
    """The PIL image scaled down so its longest side is at most max_size (0: as it is)."""
    if max_size and max(image.size) > max_size:
        return images.resize_to_longest_side(image, max_size)
    return image


def check_side(path, width, height):
    """StylizeError when a side is below what the network takes (fast_config.MIN_INPUT_SIDE)."""
    minimum = fast_config.MIN_INPUT_SIDE
    if min(width, height) < minimum:
        raise StylizeError(path, f"{width}×{height} pixels is too small; each side needs at least {minimum}")


def stylize_image_file(stylizer, source, output, max_size=0):
    """Reads source, stylises it, writes output atomically; returns an ItemResult. Raises ImageError, StylizeError."""
    image = _limit_size(images.read_image(source), max_size)
    check_side(source, *image.size)
    result = stylizer(images.to_array(image))
    images.save_image(result.pixels, output)
    return ItemResult(str(source), str(output), 1, (result.milliseconds,))


def stylize_video_file(stylizer, source, output, max_size=0, on_frame=None):
    """Stylises every frame of a video (GIF, or any ffmpeg format) as it is read; returns an ItemResult.

    on_frame(index, milliseconds) is called after each frame. The result has the warping error
    (Lai et al. 2018, as nst_main.py's clips report it: nst.video.metrics), measured along the
    optical flow of the frames as they went into the network; it takes two flow computations per
    frame (about 0.15 s at 400×300 on two cores), outside the timings. Sound is not carried over.
    """
    timings, pair_errors = [], []
    report = on_frame or (lambda index, milliseconds: None)

    def stylised_frames():
        previous = None  # (content, stylised) of the frame before
        for index, frame in enumerate(video.read_frames(str(source))):
            image = _limit_size(Image.fromarray(frame), max_size)
            check_side(source, *image.size)
            content = images.to_array(image)
            result = stylizer(content)
            timings.append(result.milliseconds)
            report(index, result.milliseconds)
            stylised = np.rint(np.clip(result.pixels, 0, 255)).astype(np.uint8)
            if previous is not None:
                flows = video_flow.flow_pair(previous[0], content)
                pair_errors.append(video_metrics.pair_warping_error(previous[1], stylised, flows))
            previous = (content, stylised)
            yield stylised

    rate = video.frames_per_second(str(source))
    count = video.write_frames(str(output), stylised_frames(), rate)
    return ItemResult(str(source), str(output), count, tuple(timings),
                      warping_error=video_metrics.clip_warping_error(pair_errors))


def list_inputs(path):
    """The files a stylise run reads: the file itself, or the images and videos directly inside a folder, sorted."""
    path = pathlib.Path(os.path.expanduser(str(path)))
    if path.is_dir():
        found = sorted(
            child for child in path.iterdir()
            if child.is_file() and (child.suffix.lower() in IMAGE_SUFFIXES or video.is_video_path(child))
        )
        if not found:
            raise StylizeError(str(path), "no images or videos in this folder")
        return found
    if not path.exists():
        raise StylizeError(str(path), "no such file or folder")
    return [path]


def stylize_inputs(stylizer, sources, output_dir, max_size=0, on_item=None, on_frame=None):
    """Stylises each source (image or video) into output_dir; returns a StylizeSummary.

    A source that cannot be read is recorded as a failure and the others go on;
    on_item(ItemResult) is called after each one.
    """
    report = on_item or (lambda item: None)
    results = []
    for source in sources:
        output = output_path_for(source, output_dir)
        try:
            if video.is_video_path(source) and not _is_still_gif(source):
                item = stylize_video_file(stylizer, source, output, max_size, on_frame)
            else:
                item = stylize_image_file(stylizer, source, output, max_size)
        except (images.ImageError, video.VideoError, StylizeError) as error:
            item = ItemResult(str(source), None, 0, (), str(error))
        results.append(item)
        report(item)
    return StylizeSummary(tuple(results))


def _is_still_gif(path):
    """True for a one-frame GIF, which is an image, not an animation."""
    if pathlib.Path(path).suffix.lower() != video.GIF_SUFFIX:
        return False
    try:
        with Image.open(path) as image:
            return getattr(image, "n_frames", 1) == 1
    except (OSError, ValueError):
        return True  # let the image reader give its precise error
