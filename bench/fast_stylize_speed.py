"""Milliseconds per image of the feed-forward network at 1024×680, per width multiplier and engine; a markdown table.

Usage: python bench/fast_stylize_speed.py [--size 1024x680] [--widths 1.0,0.5,0.25] [--runs 5]
                                          [--engines keras_float32,keras_bfloat16,tflite_float32,tflite_int8]

Speed does not depend on what the network learned, so untrained networks are timed. Each number is the
median of --runs forward passes (image in memory to image in memory) after two warm-up passes.
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

from nst import export  # noqa: E402
from nst import fast_stylize  # noqa: E402
from nst import outputs  # noqa: E402
from nst import transform_net  # noqa: E402

ENGINES = ("keras_float32", "keras_bfloat16", "tflite_float32", "tflite_int8")
WARM_UP_RUNS = 2


def median_milliseconds(run, pixels, runs):
    for _ in range(WARM_UP_RUNS):
        run(pixels)
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        run(pixels)
        times.append((time.perf_counter() - started) * 1000.0)
    return statistics.median(times)


def engine_runner(model, engine, scratch_folder):
    """A function pixels -> stylised pixels for one engine."""
    if engine.startswith("keras_"):
        stylizer = fast_stylize.Stylizer(model, engine.removeprefix("keras_"))
        return lambda pixels: stylizer(pixels).pixels
    saved_model = export.write_saved_model(model, os.path.join(scratch_folder, f"saved_model_{id(model)}"))
    return export.TFLiteRunner(export.tflite_bytes(saved_model, engine), threads=os.cpu_count())


def machine_description():
    cpu = outputs.device_description()["cpu"]
    native = ["bfloat16 in hardware"] if fast_stylize.cpu_supports_bfloat16() else []
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (f"{cpu} ({', '.join(native) or 'no native bfloat16'}), {os.cpu_count()} cores, "
            f"TensorFlow {tf.__version__}, Keras {keras.__version__}; load average {load:.1f} at the start")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="1024x680")
    parser.add_argument("--widths", default="1.0,0.5,0.25")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--engines", default=",".join(ENGINES))
    arguments = parser.parse_args()
    width, height = (int(value) for value in arguments.size.split("x"))
    engines = arguments.engines.split(",")
    pixels = np.random.default_rng(0).uniform(0, 255, (height, width, 3)).astype(np.float32)
    print(f"Machine: {machine_description()}")
    print(f"Milliseconds per {width}×{height} image, median of {arguments.runs} runs "
          f"after {WARM_UP_RUNS} warm-up runs")
    print()
    print("| width multiplier | channels | parameters | " + " | ".join(engines) + " |")
    print("| --- | --- | --- | " + " | ".join("---" for _ in engines) + " |")
    with tempfile.TemporaryDirectory() as scratch_folder:
        for multiplier in (float(value) for value in arguments.widths.split(",")):
            model = transform_net.build_transform_net(multiplier)
            cells = [f"{median_milliseconds(engine_runner(model, engine, scratch_folder), pixels, arguments.runs):.0f}"
                     for engine in engines]
            channels = "/".join(str(count) for count in transform_net.channel_counts(multiplier))
            print(f"| {multiplier:g} | {channels} | {model.count_params():,} | " + " | ".join(cells) + " |",
                  flush=True)


if __name__ == "__main__":
    main()
