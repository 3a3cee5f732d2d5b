"""Milliseconds per image of the feed-forward network at 1024×680, per width multiplier and engine; a Markdown table.

Usage: python bench/fast_stylize_speed.py [--size 1024x680] [--widths 1.0,0.5,0.25] [--rounds 3] [--runs 5]
                                          [--engines keras_float32,keras_float32_plain,...]

Speed does not depend on what the network learned, so untrained networks are timed. The
engines are what fast_main.py stylize runs: keras_float32 and keras_bfloat16 (a .keras
model at each --precision), saved_model and tflite_* (the files fast_main.py export writes,
loaded as stylize loads them); keras_float32_plain is the network's layers as trained,
without nst.fast.kernels, to show what those save. Each engine is timed in --rounds rounds
that alternate between the engines (so that a machine whose load changes slows them
alike); a round is the median of --runs forward passes, image in memory to image in
memory, after two warm-up passes; the table gives the median of the rounds. The load
average before and after says whether other work shared the machine.
"""

import argparse
import os
import statistics
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from nst import environment  # noqa: E402
from nst import quiet_tensorflow  # noqa: E402
from nst.fast import config as fast_config  # noqa: E402
from nst.fast import export  # noqa: E402
from nst.fast import network  # noqa: E402
from nst.fast import stylize as fast_stylize  # noqa: E402

ENGINES = ("keras_float32", "keras_float32_plain", "keras_bfloat16", "saved_model", "tflite_float32",
           "tflite_float16", "tflite_int8")
WARM_UP_RUNS = 2


def round_milliseconds(run, pixels, runs):
    """The median of runs timed passes of run(pixels)."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        run(pixels)
        times.append((time.perf_counter() - started) * 1000.0)
    return statistics.median(times)


def plain_float32_runner(model):
    """The network as trained (nst.fast.network's layers, fused normalisation), compiled as Stylizer compiles it."""
    plain = network.rebuilt(model)
    forward = tf.function(lambda pixels: plain(pixels, training=False),
                          input_signature=[tf.TensorSpec([None, None, None, 3], tf.float32)])
    return lambda pixels: forward(tf.constant(pixels[np.newaxis])).numpy()[0]


def engine_runner(model, engine, folder):
    """A function pixels -> stylised pixels for one engine; exports are written into folder and loaded from there."""
    if engine == "keras_float32_plain":
        return plain_float32_runner(model)
    if engine.startswith("keras_"):
        stylizer = fast_stylize.Stylizer(model, engine.removeprefix("keras_"))
        return lambda pixels: stylizer(pixels).pixels
    saved_model = os.path.join(folder, fast_config.FILENAMES[fast_config.SAVED_MODEL])
    if not os.path.isdir(saved_model):
        with quiet_tensorflow.c_stderr_muted():
            export.write_saved_model(model, saved_model)
    path = saved_model
    if engine != fast_config.SAVED_MODEL:
        path = os.path.join(folder, fast_config.FILENAMES[engine])
        with quiet_tensorflow.c_stderr_muted(), open(path, "wb") as handle:
            handle.write(export.tflite_bytes(saved_model, engine))
    stylizer = fast_stylize.load_stylizer(path)
    return lambda pixels: stylizer(pixels).pixels


def load_average():
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")


def machine_description():
    cpu = environment.device_description()["cpu"]
    native = "bfloat16 in hardware" if fast_stylize.cpu_supports_bfloat16() else "no native bfloat16"
    return f"{cpu} ({native}), {os.cpu_count()} cores, TensorFlow {tf.__version__}, Keras {keras.__version__}"


def time_width(multiplier, engines, pixels, rounds, runs, folder):
    """{engine: median over rounds of each round's median milliseconds} for one width multiplier."""
    model = network.build_transform_net(multiplier)
    runners = {engine: engine_runner(model, engine, folder) for engine in engines}
    for run in runners.values():
        for _ in range(WARM_UP_RUNS):
            run(pixels)
    rounds_by_engine = {engine: [] for engine in engines}
    for _ in range(rounds):
        for engine, run in runners.items():
            rounds_by_engine[engine].append(round_milliseconds(run, pixels, runs))
    return model, {engine: statistics.median(values) for engine, values in rounds_by_engine.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="1024x680")
    parser.add_argument("--widths", default="1.0,0.5,0.25")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--engines", default=",".join(ENGINES))
    arguments = parser.parse_args()
    width, height = (int(value) for value in arguments.size.split("x"))
    engines = arguments.engines.split(",")
    unknown = [engine for engine in engines if engine not in ENGINES]
    if unknown:
        parser.error(f"unknown engines {', '.join(unknown)}; choose from {', '.join(ENGINES)}")
    pixels = np.random.default_rng(0).uniform(0, 255, (height, width, 3)).astype(np.float32)
    load_before = load_average()
    print(f"Machine: {machine_description()}")
    print(f"Milliseconds per {width}×{height} image: median of {arguments.rounds} alternating rounds, each the median "
          f"of {arguments.runs} runs after {WARM_UP_RUNS} warm-up runs")
    print()
    print("| width multiplier | channels | parameters | " + " | ".join(engines) + " |")
    print("| --- | --- | --- | " + " | ".join("---" for _ in engines) + " |")
    for multiplier in (float(value) for value in arguments.widths.split(",")):
        with tempfile.TemporaryDirectory() as folder:
            model, milliseconds = time_width(multiplier, engines, pixels, arguments.rounds, arguments.runs, folder)
        channels = "/".join(str(count) for count in fast_config.channel_counts(multiplier))
        cells = [f"{milliseconds[engine]:.0f}" for engine in engines]
        print(f"| {multiplier:g} | {channels} | {model.count_params():,} | " + " | ".join(cells) + " |", flush=True)
    print()
    print(f"Load average (1 min): {load_before:.1f} before, {load_average():.1f} after "
          f"(on {os.cpu_count()} cores; above 0.5 means other work shared the machine)")


if __name__ == "__main__":
    main()
