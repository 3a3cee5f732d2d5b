"""Seconds per Adam iteration of nst's loop against a minimal hand-written loop, alternately; peak memory per size.

Usage: python bench/iteration_speed.py [--sizes 400x300,800x600] [--rounds 3] [--iterations 12]

Speed does not depend on what the weights learned, so seeded random weights are used.
Each size's peak memory is measured in a fresh subprocess (its own VmHWM, not ru_maxrss, which on Linux
also counts this process's memory at the start: nst.memory.peak_resident_bytes), so sizes do not mask each other.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from nst import config as config_module  # noqa: E402
from nst import environment  # noqa: E402
from nst import losses  # noqa: E402
from nst import optimize  # noqa: E402
from nst import vgg  # noqa: E402
from nst import weights  # noqa: E402

WARMUP_ITERATIONS = 3
STYLE_LAYERS = ["block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1", "block5_conv1"]


def random_images(width, height):
    random = np.random.default_rng(0)
    return [random.uniform(0, 255, (height, width, 3)).astype(np.float32) for _ in range(2)]


def time_nst_loop(loaded_weights, content, style, iterations):
    """Seconds per iteration of nst.optimize.run_adam after warm-up (tracing excluded).

    The clock is read as each update completes (on_iteration), so the difference between
    updates WARMUP_ITERATIONS and WARMUP_ITERATIONS + iterations is exactly `iterations`
    updates. (Snapshots would not do: the snapshot of iteration k is taken after update k + 1,
    and the last one also includes the final costs' extra forward pass.)
    """
    config = config_module.StyleTransferConfig(content_image="-", style_image="-")
    extractor = vgg.FeatureExtractor((config.content_layer, *config.style_layer_names), loaded_weights)
    cost = optimize.CostFunction(
        extractor, content, style, config.content_layer, config.style_layers, config.content_weight, config.style_weight
    )
    start = optimize.initial_image(content, 0.6, 0, loaded_weights.convention.mean_pixel)
    times = {}
    record_time = optimize.Callbacks(on_iteration=lambda done, costs: times.setdefault(done, time.perf_counter()))
    optimize.run_adam(cost, start, WARMUP_ITERATIONS + iterations, 2.0, WARMUP_ITERATIONS + iterations, record_time)
    return (times[WARMUP_ITERATIONS + iterations] - times[WARMUP_ITERATIONS]) / iterations


def time_minimal_loop(loaded_weights, content, style, iterations):
    """The shortest correct tf.function Adam loop over keras.applications.VGG19, for comparison."""
    base = keras.applications.VGG19(include_top=False, weights=None, input_shape=(None, None, 3))
    for layer in base.layers:
        if layer.name in loaded_weights.layers:
            layer.set_weights(list(loaded_weights.layers[layer.name]))
    model = keras.Model(base.input, [base.get_layer(name).output for name in ["block4_conv2", *STYLE_LAYERS]])
    preprocess = keras.applications.vgg19.preprocess_input
    content_target = model(preprocess(content[np.newaxis].copy()))[0]
    style_grams = [losses.gram_matrix(a) for a in model(preprocess(style[np.newaxis].copy()))[1:]]
    image = tf.Variable(content[np.newaxis])
    optimizer = keras.optimizers.Adam(2.0, epsilon=1e-8)

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            activations = model(preprocess(image))
            content_cost = losses.content_cost(content_target, activations[0])
            style_cost = tf.add_n([0.2 * losses.gram_style_cost(gram, layer)
                                   for gram, layer in zip(style_grams, activations[1:])])
            total = 10 * content_cost + 40 * style_cost
        optimizer.apply_gradients([(tape.gradient(total, image), image)])
        return total

    for _ in range(WARMUP_ITERATIONS):
        step().numpy()
    started = time.perf_counter()
    for _ in range(iterations):
        step().numpy()
    return (time.perf_counter() - started) / iterations


def compare_speed(width, height, rounds, iterations):
    loaded_weights = weights.load_weights("random", seed=0)
    content, style = random_images(width, height)
    samples = {"nst": [], "minimal": []}
    for _ in range(rounds):  # alternate, so drifts of a shared machine hit both alike
        samples["nst"].append(time_nst_loop(loaded_weights, content, style, iterations))
        samples["minimal"].append(time_minimal_loop(loaded_weights, content, style, iterations))
    return {name: statistics.median(values) for name, values in samples.items()} | {"samples": samples}


def peak_memory_mib(width, height):
    """Peak resident memory of a fresh process running a few nst iterations at this size."""
    code = (
        "import sys; sys.argv=['x']; import bench.iteration_speed as b; from nst import memory; "
        f"w=b.weights.load_weights('random', seed=0); c,s=b.random_images({width},{height}); "
        "b.time_nst_loop(w,c,s,2); print(memory.peak_resident_bytes())"
    )
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    output = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True)
    return int(output.stdout.strip().splitlines()[-1]) / 2**20


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="400x300,800x600")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--iterations", type=int, default=12)
    arguments = parser.parse_args()
    print(f"Machine: {environment.machine_summary()}")
    print("| size | nst loop s/iteration | minimal loop s/iteration | nst / minimal | peak memory |")
    print("| --- | --- | --- | --- | --- |")
    rows = []
    for size in arguments.sizes.split(","):
        width, height = (int(value) for value in size.split("x"))
        speed = compare_speed(width, height, arguments.rounds, arguments.iterations)
        memory = peak_memory_mib(width, height)
        ratio = speed["nst"] / speed["minimal"]
        print(f"| {width}×{height} | {speed['nst']:.3f} | {speed['minimal']:.3f} | {ratio:.3f} | {memory:.0f} MiB |",
              flush=True)
        rows.append({"size": size, **speed, "ratio": ratio, "peak_memory_mib": memory})
    print(json.dumps(rows))


if __name__ == "__main__":
    main()
