"""Time to quality: wall time until each optimiser setting reaches the cost that 200 Adam iterations reach.

Usage: python bench/time_to_quality.py [--parts quality,inits,flops,jit,determinism,closeness,memory] [--size 400x300]

Runs on images/village.jpg and images/swirls.jpg with seeded random VGG19 weights written to a
Keras h5 file (the real format; speed and convergence need no ImageNet training). Prints markdown
tables with the machine description. Each setting starts from the same initial image.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [ROOT, os.path.join(ROOT, "tests")]

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import weight_fixtures  # noqa: E402  (writes the Keras h5 format the loader reads)
from nst import config as config_module  # noqa: E402
from nst import environment  # noqa: E402
from nst import optimize  # noqa: E402
from nst import transfer  # noqa: E402
from nst import vgg  # noqa: E402
from nst import weights as weights_module  # noqa: E402

BASELINE_ITERATIONS = 200


def weights_file(directory):
    path = os.path.join(directory, "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5")
    if not os.path.exists(path):
        # He-initialised kernels with zero biases (--weights random's), so activations keep VGG's scale.
        weight_fixtures.write_keras_h5(path, weights_module.random_weights(seed=0).layers)
    return path


def make_config(weights, size, **changes):
    width, height = size
    fields = dict(content_image=os.path.join(ROOT, "images", "village.jpg"),
                  style_image=os.path.join(ROOT, "images", "swirls.jpg"), weights=weights,
                  image_size=max(width, height), iterations=BASELINE_ITERATIONS, print_every=10_000)
    return config_module.StyleTransferConfig(**(fields | changes))


def trajectory(config, target=None, max_seconds=None):
    """[(seconds, total cost)] after each iteration, stopping early once the cost is below target."""
    prepared = transfer.prepare(config)
    points, started = [], [None]
    final_scale_first_iteration = (config.scales - 1) * config.iterations

    def on_iteration(iteration, costs):
        if iteration > final_scale_first_iteration:  # coarse scales' costs are not comparable
            points.append((time.perf_counter() - started[0], costs.total))

    def should_stop():
        reached = target is not None and points and points[-1][1] <= target
        too_long = max_seconds is not None and points and points[-1][0] > max_seconds
        return bool(reached or too_long)

    # Tracing and the first step are timed too: a user waits for them as well.
    started[0] = time.perf_counter()
    transfer.transfer_style(config, prepared, optimize.Callbacks(on_iteration=on_iteration, should_stop=should_stop))
    return points


def time_to_reach(points, target):
    return next((seconds for seconds, cost in points if cost <= target), None)


def quality_table(weights, size):
    baseline = trajectory(make_config(weights, size))
    target = baseline[-1][1]
    baseline_seconds = time_to_reach(baseline, target)
    settings = [
        ("Adam float32 (baseline)", {}),
        ("Adam bfloat16", {"precision": "bfloat16"}),
        ("Adam, 2 scales", {"scales": 2}),
        ("L-BFGS float32", {"optimizer": "lbfgs"}),
        ("L-BFGS bfloat16", {"optimizer": "lbfgs", "precision": "bfloat16"}),
        ("L-BFGS bfloat16, 2 scales", {"optimizer": "lbfgs", "precision": "bfloat16", "scales": 2, "iterations": 100}),
    ]
    print(f"\nTarget: total cost {target:.4g}, reached by Adam float32 after {BASELINE_ITERATIONS} iterations "
          f"in {baseline_seconds:.1f} s ({size[0]}×{size[1]}, noise init).\n")
    print("| setting | seconds to target | speed-up | iterations to target |")
    print("| --- | --- | --- | --- |")
    for name, changes in settings:
        points = baseline if not changes else trajectory(make_config(weights, size, **changes), target,
                                                         max_seconds=3 * baseline_seconds)
        seconds = time_to_reach(points, target)
        iterations = next((index + 1 for index, (_, cost) in enumerate(points) if cost <= target), None)
        cell = f"{seconds:.1f}" if seconds is not None else f"not reached ({points[-1][1]:.4g} at {points[-1][0]:.0f} s)"
        ratio = f"{baseline_seconds / seconds:.1f}×" if seconds else "—"
        print(f"| {name} | {cell} | {ratio} | {iterations or '—'} |", flush=True)


def inits_table(weights, size):
    print("\n| init | cost at start | cost after 50 Adam iterations |")
    print("| --- | --- | --- |")
    for init in ("noise", "content", "style", "random"):
        config = make_config(weights, size, init=init, iterations=50, print_every=50)
        snapshots = []
        transfer.transfer_style(config, transfer.prepare(config), optimize.Callbacks(on_snapshot=snapshots.append))
        print(f"| {init} | {snapshots[0].costs.total:.4g} | {snapshots[-1].costs.total:.4g} |", flush=True)


def matmul_gflops(dtype, size=4096, repeats=10):
    # NumPy, not tf.random: op determinism (enabled by the runs above) refuses unseeded TF random ops.
    left = tf.cast(np.random.default_rng(0).normal(size=(size, size)).astype(np.float32), dtype)
    product = tf.function(lambda: tf.matmul(left, left))
    product().numpy()
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        product().numpy()
        samples.append(time.perf_counter() - started)
    return 2 * size**3 / statistics.median(samples) / 1e9


def seconds_per_iteration(weights, size, iterations=8, **changes):
    config = make_config(weights, size, iterations=iterations + 2, **changes)
    points = trajectory(config)
    return (points[-1][0] - points[1][0]) / (len(points) - 2)  # the first two iterations include tracing


def flops_table(weights, size, rounds=3):
    samples = {"float32": [], "bfloat16": []}
    for _ in range(rounds):  # alternate, so a busy neighbour slows both alike
        for precision in samples:
            samples[precision].append(seconds_per_iteration(weights, size, precision=precision))
    seconds = {precision: statistics.median(values) for precision, values in samples.items()}
    # The forward pass to conv5_1 and the input gradient, which costs about as much again.
    gflop = 2 * vgg.convolution_gflop(*size, "conv5_1", config_module.StyleTransferConfig.pooling_border)
    rates = {"float32": matmul_gflops(tf.float32), "bfloat16": matmul_gflops(tf.bfloat16)}
    print(f"\nOne iteration at {size[0]}×{size[1]}: {gflop:.0f} GFLOP (forward to conv5_1 and the input gradient).\n")
    print("| precision | s/iteration (median) | GFLOP/s achieved | matmul GFLOP/s (4096²) | share of matmul rate |")
    print("| --- | --- | --- | --- | --- |")
    for precision in samples:
        achieved = gflop / seconds[precision]
        print(f"| {precision} | {seconds[precision]:.3f} | {achieved:.0f} | {rates[precision]:.0f} | "
              f"{achieved / rates[precision]:.0%} |")
    print(f"\nbfloat16 / float32 time: {seconds['bfloat16'] / seconds['float32']:.2f}")


def jit_table(weights, size, rounds=3):
    samples = {False: [], True: []}
    for _ in range(rounds):
        for jit in samples:
            samples[jit].append(seconds_per_iteration(weights, size, jit=jit))
    plain, compiled = (statistics.median(samples[jit]) for jit in (False, True))
    print(f"\n--jit: {compiled:.3f} s/iteration against {plain:.3f} without (ratio {compiled / plain:.2f}), "
          f"median of {rounds}, {size[0]}×{size[1]}")


def _subprocess_measure(code):
    output = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    return output.stdout.strip().splitlines()[-1]


def determinism_table(weights, size, rounds=3):
    """Op determinism is process-wide and cannot be switched off again: each sample is a fresh process."""
    samples = {True: [], False: []}
    for _ in range(rounds):
        for deterministic in samples:
            code = (f"import sys; sys.argv=['x']; import bench.time_to_quality as b; "
                    f"print(b.seconds_per_iteration({weights!r}, {size!r}, deterministic={deterministic}))")
            samples[deterministic].append(float(_subprocess_measure(code)))
    on, off = (statistics.median(samples[flag]) for flag in (True, False))
    print(f"\nOp determinism: {on:.3f} s/iteration on, {off:.3f} off (ratio {on / off:.3f}), median of {rounds} "
          f"fresh processes, {size[0]}×{size[1]}")


def closeness_table(weights, size, iterations=100):
    """How far bfloat16 results are from float32 ones after the same Adam iterations from the same start."""
    results = {}
    for precision in ("float32", "bfloat16"):
        config = make_config(weights, size, precision=precision, iterations=iterations, print_every=iterations)
        results[precision] = transfer.transfer_style(config, transfer.prepare(config))
    difference = np.abs(np.clip(results["bfloat16"].image, 0, 255) - np.clip(results["float32"].image, 0, 255))
    cost_ratio = results["bfloat16"].costs.total / results["float32"].costs.total
    print(f"\nbfloat16 against float32 after {iterations} Adam iterations at {size[0]}×{size[1]}: mean "
          f"|difference| {difference.mean():.2f} gray levels, 99th percentile {np.percentile(difference, 99):.1f}, "
          f"max {difference.max():.1f}; final total cost ratio {cost_ratio:.3f} (costs measured in each precision)")


def memory_table(weights, sizes=((400, 300), (1024, 768), (1600, 1200))):
    print("\n| size | precision | peak resident memory | s/iteration |")
    print("| --- | --- | --- | --- |")
    for size in sizes:
        for precision in ("float32", "bfloat16"):
            code = (f"import sys, resource; sys.argv=['x']; import bench.time_to_quality as b; "
                    f"s=b.seconds_per_iteration({weights!r}, {size!r}, iterations=2, precision={precision!r}); "
                    f"print(s, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)")
            seconds, kilobytes = _subprocess_measure(code).split()
            print(f"| {size[0]}×{size[1]} | {precision} | {int(kilobytes) / 1024**2:.2f} GiB | {float(seconds):.2f} |",
                  flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", default="quality,inits,flops,jit,determinism,closeness,memory")
    parser.add_argument("--size", default="400x300")
    arguments = parser.parse_args()
    size = tuple(int(value) for value in arguments.size.split("x"))
    print(f"Machine: {environment.machine_summary()}")
    with tempfile.TemporaryDirectory() as directory:
        weights = weights_file(directory)
        parts = {"quality": quality_table, "inits": inits_table, "flops": flops_table, "jit": jit_table,
                 "determinism": determinism_table, "closeness": closeness_table}
        for part in arguments.parts.split(","):
            if part == "memory":
                memory_table(weights)
            else:
                parts[part](weights, size)


if __name__ == "__main__":
    main()
