"""Exports of a transformation network (SavedModel; TFLite float32, float16, int8), each checked by running it."""

import contextlib
import dataclasses
import os
import pathlib
import shutil
import tempfile
import time
import warnings

import numpy as np
import tensorflow as tf

from nst import config as config_module
from nst import files
from nst import transform_net

SAVED_MODEL = "saved_model"
TFLITE_FLOAT32 = "tflite_float32"
TFLITE_FLOAT16 = "tflite_float16"
TFLITE_INT8 = "tflite_int8"  # dynamic-range: int8 weights, float activations quantised on the fly
FORMATS = (SAVED_MODEL, TFLITE_FLOAT32, TFLITE_FLOAT16, TFLITE_INT8)
FILENAMES = {
    SAVED_MODEL: "saved_model",
    TFLITE_FLOAT32: "transform_net_float32.tflite",
    TFLITE_FLOAT16: "transform_net_float16.tflite",
    TFLITE_INT8: "transform_net_int8.tflite",
}
# Largest mean absolute difference from the Keras model's output, in gray levels (0–255), that
# an export may show. SavedModel and float32 differ only by rounding order; float16 rounds the
# weights to 11 significant bits. Dynamic-range int8 rounds weights to 8 bits and activations
# per tensor at run time, which costs several gray levels on average through 16 convolutions
# and 15 normalisations: its bound catches a broken export (wrong channels, garbage: 60+),
# not a lossy one, so look at its pictures before shipping it.
TOLERANCES = {SAVED_MODEL: 0.05, TFLITE_FLOAT32: 1.0, TFLITE_FLOAT16: 2.0, TFLITE_INT8: 20.0}
SIGNATURE_INPUT = "pixels"
DEFAULT_CHECK_SIZE = 512  # longest side of the check image: big enough to be typical, quick to run four times
EXPORT_FOLDER_NAME = "export"


class ExportError(ValueError):
    """An export that could not be written or does not match the Keras model; the message says which."""


def parse_formats(text):
    """'saved_model,tflite_float16' -> ('saved_model', 'tflite_float16'); 'all' -> FORMATS, in FORMATS order."""
    names = [name.strip().lower() for name in str(text).split(",") if name.strip()]
    if names == ["all"]:
        return FORMATS
    unknown = [name for name in names if name not in FORMATS]
    if unknown or not names:
        raise config_module.ConfigError(
            f"formats must be 'all' or a comma-separated list of {', '.join(FORMATS)}; got {text!r}"
        )
    return tuple(name for name in FORMATS if name in names)


@dataclasses.dataclass(frozen=True)
class ExportConfig:
    """An export run: which network, which formats, where, and the image the exports are checked on."""

    model: str  # a .keras file, or a training folder holding transform_net.keras
    output_dir: str
    check_image: str
    formats: tuple = FORMATS
    check_size: int = DEFAULT_CHECK_SIZE  # 0 keeps the check image's size

    def __post_init__(self):
        for name in ("model", "output_dir", "check_image"):
            if not str(getattr(self, name) or "").strip():
                raise config_module.ConfigError(f"{name} is required")
        object.__setattr__(self, "formats", parse_formats(",".join(self.formats)))
        size = self.check_size
        if isinstance(size, bool) or not isinstance(size, int) or (size != 0 and size < transform_net.MIN_INPUT_SIDE):
            raise config_module.ConfigError(
                f"check_size must be 0 (keep the size) or at least {transform_net.MIN_INPUT_SIDE}, got {size!r}"
            )


@dataclasses.dataclass(frozen=True)
class ExportCheck:
    """One export, run on the check image and compared with the Keras model's output."""

    format: str
    path: str
    size_bytes: int
    mean_difference: float  # mean absolute difference, gray levels
    max_difference: float
    tolerance: float
    milliseconds: float  # one run on the check image, after a warm-up run

    @property
    def passed(self):
        return self.mean_difference <= self.tolerance


def portable_model(model):
    """The same network with plain-op instance normalisation (TFLite cannot convert the fused kernel)."""
    return transform_net.rebuilt(model, dtype_policy="float32", fused_normalization=False)


def write_saved_model(model, path):
    """Writes a SavedModel whose 'serving_default' signature maps 'pixels' (batch×H×W×3, 0–255) to stylised pixels.

    The folder is written beside path and moved into place when complete.
    """
    target = pathlib.Path(path)
    staging = pathlib.Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}."))
    try:
        portable_model(model).export(str(staging), format="tf_saved_model", verbose=False)
        # mkdtemp makes the folder private to its owner; give it an ordinary folder's permissions.
        os.chmod(staging, 0o777 & ~_current_umask())
        if target.exists():
            shutil.rmtree(target)
        os.replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return target


def _current_umask():
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def tflite_bytes(saved_model_path, format_name):
    """Converts a SavedModel (as write_saved_model writes it) to a TFLite flatbuffer in format_name."""
    if format_name not in (TFLITE_FLOAT32, TFLITE_FLOAT16, TFLITE_INT8):
        raise ExportError(f"unknown TFLite format {format_name!r}")
    converter = tf.lite.TFLiteConverter.from_saved_model(str(saved_model_path))
    if format_name != TFLITE_FLOAT32:
        # Optimize.DEFAULT alone is dynamic-range quantisation; with float16 as the only
        # supported type it stores the weights as float16 instead.
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if format_name == TFLITE_FLOAT16:
        converter.target_spec.supported_types = [tf.float16]
    try:
        return converter.convert()
    except Exception as error:  # the converter raises its own ConverterError and others
        raise ExportError(f"TFLite conversion to {format_name} failed: {' '.join(str(error).split())[:300]}") from None


def _tflite_interpreter_class():
    """LiteRT's interpreter (package ai-edge-litert) when installed, else TensorFlow's deprecated tf.lite one."""
    try:
        from ai_edge_litert import interpreter as litert_interpreter

        return litert_interpreter.Interpreter
    except ImportError:
        return tf.lite.Interpreter


class TFLiteRunner:
    """Runs a TFLite flatbuffer on single images of any size (the input is resized to each image)."""

    def __init__(self, model_content, threads=None):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # tf.lite.Interpreter's deprecation notice
            self.interpreter = _tflite_interpreter_class()(model_content=model_content, num_threads=threads)
        self.input_index = self.interpreter.get_input_details()[0]["index"]
        self.output_index = self.interpreter.get_output_details()[0]["index"]
        self._shape = None

    def __call__(self, pixels):
        """H×W×3 RGB 0–255 -> H×W×3 float32 stylised pixels."""
        batch = np.asarray(pixels, np.float32)[np.newaxis]
        if batch.shape != self._shape:
            self.interpreter.resize_tensor_input(self.input_index, batch.shape)
            self.interpreter.allocate_tensors()
            self._shape = batch.shape
        self.interpreter.set_tensor(self.input_index, batch)
        self.interpreter.invoke()
        return self.interpreter.get_tensor(self.output_index)[0]


def saved_model_runner(path):
    """A function H×W×3 pixels -> H×W×3 stylised pixels that runs a SavedModel as write_saved_model writes it."""
    serving = tf.saved_model.load(str(path)).signatures["serving_default"]

    def run(pixels):
        outputs = serving(**{SIGNATURE_INPUT: tf.constant(np.asarray(pixels, np.float32)[np.newaxis])})
        return next(iter(outputs.values())).numpy()[0]

    return run


def _timed_twice(run, pixels):
    """The output of run(pixels) and the milliseconds of a second run (the first includes set-up)."""
    run(pixels)
    started = time.perf_counter()
    output = run(pixels)
    return output, (time.perf_counter() - started) * 1000.0


def _folder_size(path):
    path = pathlib.Path(path)
    if path.is_file():
        return path.stat().st_size
    return sum(child.stat().st_size for child in path.rglob("*") if child.is_file())


def check_export(format_name, path, runner, check_pixels, reference):
    """Runs an export on check_pixels and compares with reference (the Keras model's output); returns an ExportCheck."""
    output, milliseconds = _timed_twice(runner, check_pixels)
    if output.shape != reference.shape:
        raise ExportError(f"{path}: returned {output.shape[1]}×{output.shape[0]} pixels for a "
                          f"{reference.shape[1]}×{reference.shape[0]} image")
    difference = np.abs(np.asarray(output, np.float64) - reference)
    return ExportCheck(format_name, str(path), _folder_size(path), float(difference.mean()), float(difference.max()),
                       TOLERANCES[format_name], milliseconds)


def export_all(model, output_dir, formats, check_pixels, on_export=None):
    """Writes each of formats into output_dir, runs it on check_pixels (H×W×3, 0–255) and compares with model.

    Returns the ExportChecks in order; on_export(ExportCheck) is called after each. The
    caller decides what to do with a check that did not pass.
    """
    report = on_export or (lambda check: None)
    output_dir = pathlib.Path(output_dir)
    reference = model(np.asarray(check_pixels, np.float32)[np.newaxis], training=False).numpy()[0]
    checks = []
    with contextlib.ExitStack() as stack:
        if SAVED_MODEL in formats:
            saved_model_path = write_saved_model(model, output_dir / FILENAMES[SAVED_MODEL])
            checks.append(check_export(SAVED_MODEL, saved_model_path, saved_model_runner(saved_model_path),
                                       check_pixels, reference))
            report(checks[-1])
        else:
            # TFLite is converted from a SavedModel; without one to keep, a temporary one serves.
            scratch = stack.enter_context(tempfile.TemporaryDirectory(dir=output_dir, prefix=".saved_model."))
            saved_model_path = write_saved_model(model, pathlib.Path(scratch) / FILENAMES[SAVED_MODEL])
        for format_name in (name for name in FORMATS if name in formats and name != SAVED_MODEL):
            content = tflite_bytes(saved_model_path, format_name)
            path = output_dir / FILENAMES[format_name]
            _write_bytes_atomic(path, content)
            checks.append(check_export(format_name, path, TFLiteRunner(content), check_pixels, reference))
            report(checks[-1])
    return checks


def _write_bytes_atomic(path, content):
    with files.atomic_write(path, "wb") as handle:
        handle.write(content)
