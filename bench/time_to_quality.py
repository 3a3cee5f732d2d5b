"""Time to quality: wall time until each optimiser setting reaches the cost that 200 Adam iterations reach.

Usage: python bench/time_to_quality.py [--parts quality,inits,flops,jit,determinism,closeness,memory] [--size 400x300]

Runs on images/village.jpg and images/swirls.jpg with seeded random VGG19 weights written to a
Keras h5 file (the real format; speed and convergence need no ImageNet training). Prints markdown
tables with the machine description. Each setting starts from the same initial image.
"""

import argparse
import dataclasses
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


def trajectory(config, target=None, max_seconds=None, judge=None):
    """[(seconds, total cost)] for each image of the last scale, stopping early once the cost is at or
    below target. judge(pixels) -> cost, when given, measures each image's cost instead of the run's
    own; its time is left out of the clock."""
    prepared = transfer.prepare(config)
    points, clock = [], {"started": None, "judging": 0.0}
    final_scale_first_iteration = (config.scales - 1) * config.iterations
    final_width, final_height = prepared.content_size(config.image_size)

    # The snapshot of iteration k pairs the image before update k with its cost; it arrives after
    # that update, so each point is timed one update late (slightly against every setting alike).
    def on_snapshot(snapshot):
        # Coarse scales' costs are not comparable (the last coarse snapshot shares its number with
        # the first fine one, hence the size check too).
        if snapshot.iteration < final_scale_first_iteration or snapshot.image.shape[:2] != (final_height,
                                                                                           final_width):
            return
        seconds = time.perf_counter() - clock["started"] - clock["judging"]
        cost = snapshot.costs.total
        if judge is not None:
            judging_started = time.perf_counter()
            cost = judge(snapshot.image)
            clock["judging"] += time.perf_counter() - judging_started
        points.append((seconds, cost))

    def should_stop():
        reached = target is not None and points and points[-1][1] <= target
        too_long = max_seconds is not None and points and points[-1][0] > max_seconds
        return bool(reached or too_long)

    # Tracing and the first step are timed too: a user waits for them as well.
    clock["started"] = time.perf_counter()
    config = dataclasses.replace(config, print_every=1)
    transfer.transfer_style(config, prepared, optimize.Callbacks(on_snapshot=on_snapshot, should_stop=should_stop))
    return points


def float32_judge(config):
    """pixels -> the float32 total cost of that image at the config's full size: a bfloat16 run's own
    costs carry bfloat16's rounding and are not comparable with the float32 baseline's."""
    reference = dataclasses.replace(config, precision="float32", scales=1)
    prepared = transfer.prepare(reference)
    inputs = transfer.scale_inputs(reference, prepared, reference.image_size)
    cost_function = transfer.build_cost_function(reference, transfer.build_extractor(reference, prepared), inputs)
    evaluate = tf.function(cost_function)

    def judge(pixels):
        values = np.asarray(cost_function.space.from_pixels(np.asarray(pixels, np.float32)), np.float32)
        return float(evaluate(tf.constant(values[np.newaxis]))["total"])

    return judge


def time_to_reach(points, target):
    return next((seconds for seconds, cost in points if cost <= target), None)


def quality_table(weights, size, rounds=3, only=""):
    """Seconds until each setting's image has a float32 cost at or below what 200 Adam float32
    iterations reach; rounds alternate the settings and the table gives medians."""
    settings = [
        ("Adam float32 (baseline)", {}),
        ("Adam bfloat16", {"precision": "bfloat16"}),
        ("Adam, 2 scales", {"scales": 2, "iterations": BASELINE_ITERATIONS}),
        ("L-BFGS float32", {"optimizer": "lbfgs"}),
        ("L-BFGS bfloat16", {"optimizer": "lbfgs", "precision": "bfloat16"}),
        ("L-BFGS bfloat16, 2 scales", {"optimizer": "lbfgs", "precision": "bfloat16", "scales": 2, "iterations": 100}),
    ]
    settings = [(name, changes) for name, changes in settings if not changes or only in name]
    samples = {name: [] for name, _ in settings}
    iterations_needed = {name: [] for name, _ in settings}
    target = baseline_seconds = None
    for _ in range(rounds):
        for name, changes in settings:
            if not changes:  # the baseline: its 200th image's cost is the target (from the first round)
                points = trajectory(make_config(weights, size))
                target = target if target is not None else points[-1][1]
            else:
                # Up to 5× the baseline's iterations, ended by the target or by 3× the baseline's time;
                # two scales run their iterations at each scale, the coarse one all of them.
                config = make_config(weights, size, **(dict(iterations=5 * BASELINE_ITERATIONS) | changes))
                judge = float32_judge(config) if config.precision == "bfloat16" else None
                points = trajectory(config, target, 3 * baseline_seconds, judge)
            # The baseline's time is to its own 200th image: oneDNN's threads may leave later rounds a
            # rounding above the first round's cost.
            reached = target if changes else points[-1][1]
            seconds = time_to_reach(points, reached)
            baseline_seconds = baseline_seconds or seconds
            samples[name].append(seconds)
            iterations_needed[name].append(next((index for index, (_, cost) in enumerate(points)
                                                 if cost <= reached), None))
    baseline_median = statistics.median(samples[settings[0][0]])
    print(f"\nTarget: total cost {target:.4g} (float32), reached by Adam float32 after {BASELINE_ITERATIONS} "
          f"iterations ({size[0]}×{size[1]}, noise init). Medians of {rounds} alternating rounds; bfloat16 "
          "images judged by their float32 cost (not timed).\n")
    print("| setting | seconds to target (median) | all rounds | speed-up | iterations to target (full size) |")
    print("| --- | --- | --- | --- | --- |")
    for name, _ in settings:
        rounds_cell = ", ".join("—" if seconds is None else f"{seconds:.1f}" for seconds in samples[name])
        if None in samples[name]:
            print(f"| {name} | not reached in every round | {rounds_cell} | — | — |", flush=True)
            continue
        median = statistics.median(samples[name])
        counts = sorted(set(iterations_needed[name]))  # all reached, so no None among them
        print(f"| {name} | {median:.1f} | {rounds_cell} | {baseline_median / median:.1f}× | "
              f"{'–'.join(str(count) for count in (counts[0], counts[-1])) if len(counts) > 1 else counts[0]} |",
              flush=True)


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
    points = trajectory(config)[:-1]  # the last point is the end of the run, not an update
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
            code = (f"import sys; sys.argv=['x']; import bench.time_to_quality as b; from nst import memory; "
                    f"s=b.seconds_per_iteration({weights!r}, {size!r}, iterations=2, precision={precision!r}); "
                    f"print(s, memory.peak_resident_bytes())")  # its own peak, not ru_maxrss (see nst.memory)
            seconds, peak = _subprocess_measure(code).split()
            print(f"| {size[0]}×{size[1]} | {precision} | {int(peak) / 2**30:.2f} GiB | {float(seconds):.2f} |",
                  flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--parts", default="quality,inits,flops,jit,determinism,closeness,memory")
    parser.add_argument("--size", default="400x300")
    parser.add_argument("--only", default="", help="quality: the settings whose name contains this (and the baseline)")
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
            elif part == "quality":
                quality_table(weights, size, only=arguments.only)
            else:
                parts[part](weights, size)


if __name__ == "__main__":
    main()
