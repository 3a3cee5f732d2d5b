"""Peak memory and seconds per iteration at large sizes, untiled and tiled: python bench/high_resolution.py.

Each configuration is one `nst_main.py` run in its own process (--weights random, a few
iterations), so its peak resident memory (the peak its run.json records: Linux's VmHWM)
counts everything a large run keeps: TensorFlow, the tiles, the optimiser's arrays, the
snapshots, progress.gif and summary.png. Seconds per iteration are the median over the
iterations after the first two (which include tracing), from run.json's history. The
1600×1200 untiled and 3840×2160 automatically tiled Adam runs are repeated alternately
(--rounds) for the seconds-per-megapixel ratio. Options: --quick (smaller sizes, to try the
script), --only SUBSTRING (rows whose label contains it), --calibrate (the memory model's
points: untiled peaks at three sizes).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from nst import environment  # noqa: E402
from nst import memory  # noqa: E402
from nst import tiling  # noqa: E402
from nst import vgg  # noqa: E402

NO_TILES = "1000G"  # a --memory_limit no run reaches: the network sees the whole image
CONTENT = os.path.join(ROOT, "images", "village.jpg")
WIDE, STANDARD = (16, 9), (4, 3)


def content_with_aspect(folder, aspect):
    """The sample content cropped (centred) to width:height = aspect, so --image_size W gives exactly
    the 16:9 sizes of the issue (3840×2160, 7680×4320) as well as 4:3 ones (1600×1200)."""
    from PIL import Image

    path = os.path.join(folder, f"content_{aspect[0]}x{aspect[1]}.png")
    if not os.path.exists(path):
        with Image.open(CONTENT) as image:
            width, height = image.size
            kept_height = min(height, width * aspect[1] // aspect[0])
            kept_width = kept_height * aspect[0] // aspect[1]
            left, top = (width - kept_width) // 2, (height - kept_height) // 2
            image.convert("RGB").crop((left, top, left + kept_width, top + kept_height)).save(path)
    return path


def run_once(width, precision="float32", optimizer="adam", tile_size=0, memory_limit="auto", iterations=4,
             aspect=STANDARD, extra=()):
    """One nst_main.py run at image_size width; returns {peak_bytes, seconds_per_iteration, tiling, …}."""
    with tempfile.TemporaryDirectory() as folder:
        command = [sys.executable, os.path.join(ROOT, "nst_main.py"), "--weights", "random", "--quiet",
                   "--content_image", content_with_aspect(folder, aspect),
                   "--image_size", str(width), "--epochs", str(iterations), "--print_every", str(iterations),
                   "--precision", precision, "--optimizer", optimizer, "--tile_size", str(tile_size),
                   "--memory_limit", memory_limit, "--output_dir", os.path.join(folder, "run"), *extra]
        environment_variables = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=environment_variables)
        status = process.wait()
        wall = time.perf_counter() - started
        stdout, stderr = process.stdout.read().decode(), process.stderr.read().decode()
        if status != 0:
            raise RuntimeError(f"{' '.join(command)} failed: {stderr.strip()[-500:]}")
        record = json.load(open(os.path.join(folder, "run", "run.json")))
    times = [entry["wall_seconds"] for entry in record["history"]]
    steps = [later - earlier for earlier, later in zip(times, times[1:])]
    steady = steps[1:] if len(steps) > 2 else steps
    # run.json's peak, not wait4's ru_maxrss: on Linux that also counts this process's memory when it
    # started the child (see nst.memory.peak_resident_bytes).
    return {"peak_bytes": record["peak_resident_bytes"], "seconds_per_iteration": statistics.median(steady),
            "wall_seconds": wall, "tiling": record.get("tiling"), "output": stdout + stderr}


def gflop_per_iteration(width, height, tile_size=None, deepest="conv5_1", border="keep"):
    """Convolution GFLOP of one cost-and-gradient evaluation: untiled, a forward pass and an input
    gradient of about the same cost; tiled, pass 1's forward plus pass 2's forward and gradient over
    every tile's crop (interior and halo)."""
    if not tile_size:
        return 2 * vgg.convolution_gflop(width, height, deepest, border)
    plan = tiling.TilePlan.for_image(height, width, tile_size, deepest, border)
    return sum(3 * vgg.convolution_gflop(tile.crop_shape[1], tile.crop_shape[0], deepest, border)
               for tile in plan.tiles)


def gib(value):
    return f"{value / memory.GIB:.1f}"


def calibrate(sizes=(400, 800, 1200)):
    """Untiled peaks at three sizes for each precision: the points nst.memory's model was fitted to."""
    print("| precision | image | pixels | peak GiB | model GiB |")
    print("| --- | --- | --- | --- | --- |")
    for precision in ("float32", "bfloat16"):
        for width in sizes:
            height = width * 3 // 4
            result = run_once(width, precision, memory_limit=NO_TILES, iterations=3)
            model = memory.estimated_peak(width, height, precision)
            print(f"| {precision} | {width}×{height} | {width * height} | {gib(result['peak_bytes'])} | "
                  f"{gib(model)} |", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, to try the script")
    parser.add_argument("--only", default="", help="rows whose label contains this")
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds of the speed comparison")
    parser.add_argument("--calibrate", action="store_true", help="untiled peaks for the memory model")
    arguments = parser.parse_args()
    print(f"Machine: {environment.machine_summary()}; available: "
          f"{gib(memory.available_memory().bytes)} GiB ({memory.available_memory().source})\n", flush=True)
    if arguments.calibrate:
        calibrate()
        return
    scale = 4 if arguments.quick else 1
    medium, large, huge = 1600 // scale, 3840 // scale, 7680 // scale
    rows = []
    for precision in ("float32", "bfloat16"):
        rows += [
            (f"{precision} adam untiled", medium, STANDARD, precision, "adam", 0, NO_TILES, 4),
            (f"{precision} adam tiled 512", medium, STANDARD, precision, "adam", 512 // scale, "auto", 4),
            (f"{precision} adam tiled auto", large, WIDE, precision, "adam", 0, "auto", 3),
            (f"{precision} lbfgs tiled auto", large, WIDE, precision, "lbfgs", 0, "auto", 3),
        ]
    rows.append(("bfloat16 adam tiled auto 8K", huge, WIDE, "bfloat16", "adam", 0, "auto", 3))
    print("| run | image | tiles | GFLOP/evaluation | peak GiB | s/iteration | s per megapixel |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for label, width, aspect, precision, optimizer, tile_size, limit, iterations in rows:
        if arguments.only not in label:
            continue
        height = width * aspect[1] // aspect[0]
        result = run_once(width, precision, optimizer, tile_size, limit, iterations, aspect)
        chosen = result["tiling"] or {}
        tiles = f"{chosen.get('tile_count')} of {chosen.get('tile_size')} px" if chosen.get("tile_size") else "none"
        megapixels = width * height / 1e6
        gflop = gflop_per_iteration(width, height, chosen.get("tile_size"))
        print(f"| {label} | {width}×{height} | {tiles} | {gflop:.0f} | {gib(result['peak_bytes'])} | "
              f"{result['seconds_per_iteration']:.1f} | {result['seconds_per_iteration'] / megapixels:.2f} |",
              flush=True)
    if arguments.only:
        return
    print(f"\nSeconds per megapixel, alternating ({arguments.rounds} rounds, float32 Adam):")
    untiled, tiled = [], []
    for _ in range(arguments.rounds):
        untiled.append(run_once(medium, memory_limit=NO_TILES)["seconds_per_iteration"] / (medium * medium * 3 / 4e6))
        tiled.append(run_once(large, iterations=3, aspect=WIDE)["seconds_per_iteration"] / (large * large * 9 / 16e6))
    print(f"untiled {medium}×{medium * 3 // 4}: {statistics.median(untiled):.2f} s/MP (runs {untiled}); "
          f"tiled {large}×{large * 9 // 16}: {statistics.median(tiled):.2f} s/MP (runs {tiled}); "
          f"ratio {statistics.median(tiled) / statistics.median(untiled):.2f}")


if __name__ == "__main__":
    main()
