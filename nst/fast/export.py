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

from nst import errors
from nst import files
from nst import images
from nst.fast import config as fast_config
from nst.fast import network

ExportError = errors.ExportError


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
    return network.rebuilt(model, dtype_policy="float32", fused_normalization=False)


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
    if format_name not in (fast_config.TFLITE_FLOAT32, fast_config.TFLITE_FLOAT16, fast_config.TFLITE_INT8):
        raise ExportError(f"unknown TFLite format {format_name!r}")
    converter = tf.lite.TFLiteConverter.from_saved_model(str(saved_model_path))
    if format_name != fast_config.TFLITE_FLOAT32:
        # Optimize.DEFAULT alone is dynamic-range quantisation; with float16 as the only
        # supported type it stores the weights as float16 instead.
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if format_name == fast_config.TFLITE_FLOAT16:
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
        outputs = serving(**{fast_config.SIGNATURE_INPUT: tf.constant(np.asarray(pixels, np.float32)[np.newaxis])})
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
                       fast_config.TOLERANCES[format_name], milliseconds)


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
        if fast_config.SAVED_MODEL in formats:
            saved_model_path = write_saved_model(model, output_dir / fast_config.FILENAMES[fast_config.SAVED_MODEL])
            checks.append(check_export(fast_config.SAVED_MODEL, saved_model_path, saved_model_runner(saved_model_path),
                                       check_pixels, reference))
            report(checks[-1])
        else:
            # TFLite is converted from a SavedModel; without one to keep, a temporary one serves.
            scratch = stack.enter_context(tempfile.TemporaryDirectory(dir=output_dir, prefix=".saved_model."))
            saved_model_path = write_saved_model(model, pathlib.Path(scratch) / fast_config.FILENAMES[fast_config.SAVED_MODEL])
        for format_name in (name for name in fast_config.FORMATS if name in formats and name != fast_config.SAVED_MODEL):
            content = tflite_bytes(saved_model_path, format_name)
            path = output_dir / fast_config.FILENAMES[format_name]
            _write_bytes_atomic(path, content)
            checks.append(check_export(format_name, path, TFLiteRunner(content), check_pixels, reference))
            report(checks[-1])
    return checks


def _write_bytes_atomic(path, content):
    with files.atomic_write(path, "wb") as handle:
        handle.write(content)


def read_check_pixels(config):
    """The image the exports are checked on, at config.check_size (0 keeps its size), as float32 pixels."""
    image = images.read_image(config.check_image)
    if config.check_size:
        image = images.resize_to_longest_side(image, config.check_size)
    return images.to_array(image)


