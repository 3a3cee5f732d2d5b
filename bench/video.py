"""Benchmark: flicker (warping error), style cost and speed of a stylised clip, four ways (README, "Video").

A 24-frame 400×300 clip is made from a photo (a camera pan plus a moving square that hides and
reveals the background; nst.video.synthetic) and stylised four ways, with the same iterations
(--epochs for frame 1, --epochs_per_frame for each later frame):

  a  independent frames, each from fresh noise (the seed plus the frame's index)
  b  independent frames, each from the content
  c  the previous stylised frame, warped along the flow, as the start (frame 1 from the content)
  d  as c, plus the temporal cost (--temporal_weight)

and checks the issue's floors: d's warping error at most half of a's and below b's, d's style cost
no more than 10 % above b's, and later frames of c and d at most half of frame 1's time. The
defaults (100 iterations for frame 1, 20 for each later one, Adam, bfloat16) keep the four runs
within 30 minutes on two CPU cores. Runs in process,
one clip after the other; writes the frames, runs and a table (results.md, results.json) under
--output_dir.

    python bench/video.py                         # the project's sample photo, untrained weights
    python bench/video.py --photo ~/photos/street.jpg --weights imagenet
"""

import argparse
import json
import os
import pathlib
import platform
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
PROJECT_DIR = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT_DIR))

from nst import config as config_module  # noqa: E402
from nst import environment  # noqa: E402
from nst import images  # noqa: E402
from nst.video import runs as clip_runs  # noqa: E402
from nst.video import synthetic  # noqa: E402

MODES = {
    "a": ("independent, each frame from fresh noise", {"frame_init": "independent", "init": "noise",
                                                        "temporal_weight": 0.0}),
    "b": ("independent, each frame from the content", {"frame_init": "independent", "init": "content",
                                                       "temporal_weight": 0.0}),
    "c": ("warped start only", {"frame_init": "warped", "init": "content", "temporal_weight": 0.0}),
    "d": ("warped start + temporal cost", {"frame_init": "warped", "init": "content"}),
}


def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--photo", default=str(PROJECT_DIR / "images" / "village.jpg"))
    parser.add_argument("--style", default=str(PROJECT_DIR / "images" / "swirls.jpg"))
    parser.add_argument("--weights", default="random")
    parser.add_argument("--preset", default="coursera")
    parser.add_argument("--frames", type=int, default=24)
    parser.add_argument("--width", type=int, default=400)
    parser.add_argument("--height", type=int, default=300)
    parser.add_argument("--pan", type=float, nargs=2, default=(2.5, 0.8), help="camera pan, pixels per frame")
    parser.add_argument("--square_velocity", type=float, nargs=2, default=(-4.0, 2.0),
                        help="the moving square's motion, pixels per frame")
    parser.add_argument("--epochs", type=int, default=100, help="iterations of frame 1")
    parser.add_argument("--epochs_per_frame", type=int, default=20, help="iterations of each later frame")
    parser.add_argument("--optimizer", default="adam")
    parser.add_argument("--temporal_weight", type=float, default=None, help="mode d's (default: the preset's)")
    parser.add_argument("--precision", default="bfloat16")
    parser.add_argument("--modes", default="abcd")
    parser.add_argument("--output_dir", default=str(PROJECT_DIR / "bench" / "results" / "video"))
    return parser.parse_args()


def write_clip(arguments, folder):
    """The synthetic clip's frames as PNGs in folder (lossless, so the flow sees exactly the frames made)."""
    clip = synthetic.make_clip(arguments.photo, (arguments.width, arguments.height), arguments.frames,
                               pan=arguments.pan, square_velocity=arguments.square_velocity, square_size=80,
                               square_start=(arguments.width * 0.55, arguments.height * 0.2))
    folder.mkdir(parents=True, exist_ok=True)
    for index, frame in enumerate(clip.frames):
        images.save_image(frame, folder / f"frame_{index + 1:03d}.png")
    return folder


def run_mode(arguments, mode, frames_folder, output_dir):
    """Stylises the clip one way; returns its run.json record and the wall time."""
    fields = dict(MODES[mode][1])
    if mode == "d" and arguments.temporal_weight is not None:
        fields["temporal_weight"] = arguments.temporal_weight
    config = config_module.StyleTransferConfig.from_preset(
        arguments.preset, content_image=str(frames_folder), content_video=str(frames_folder),
        style_image=arguments.style, weights=arguments.weights, image_size=max(arguments.width, arguments.height),
        iterations=arguments.epochs, iterations_per_frame=arguments.epochs_per_frame,
        optimizer=arguments.optimizer, precision=arguments.precision, print_every=10**6,
        output_dir=str(output_dir / mode), **fields)
    started = time.perf_counter()
    run = clip_runs.new_run(config, overwrite=True)
    outcome = clip_runs.execute(run)
    return outcome.record, time.perf_counter() - started


def summary(mode, record, wall_seconds):
    frames = record["frames"]
    later = [entry["seconds"] for entry in frames if entry["frame"] > 1]
    return {
        "mode": mode, "description": MODES[mode][0], "status": record["status"],
        "temporal_weight": record["config"]["temporal_weight"],
        "warping_error": record["warping_error"],
        "style_cost": statistics.mean(entry["costs"]["style"] for entry in frames),
        "content_cost": statistics.mean(entry["costs"]["content"] for entry in frames),
        "first_frame_seconds": frames[0]["seconds"],
        "later_frame_seconds": statistics.median(later) if later else None,
        "wall_seconds": round(wall_seconds, 1),
    }


def floors(rows):
    """The issue's floors, each (text, passed or None when a mode it needs was not run)."""
    checks = []
    if {"a", "b", "d"} <= rows.keys():
        a, b, d = rows["a"], rows["b"], rows["d"]
        checks.append(("d's warping error ≤ ½ a's", d["warping_error"] <= a["warping_error"] / 2))
        checks.append(("d's warping error < b's", d["warping_error"] < b["warping_error"]))
        # One-sided: a lower style cost is a stronger style, so d only fails when it is more than 10 % above b's.
        checks.append((f"d's style cost at most 10 % above b's (d/b = {d['style_cost'] / b['style_cost']:.3g})",
                       d["style_cost"] <= 1.1 * b["style_cost"]))
    for mode in "cd":
        if mode in rows:
            row = rows[mode]
            checks.append((f"{mode}'s later frames ≤ ½ frame 1's time",
                           row["later_frame_seconds"] <= row["first_frame_seconds"] / 2))
    return checks


def table(rows, arguments):
    lines = ["| mode | warping error | style cost (mean) | content cost (mean) | frame 1 s | later frames s (median) "
             "| wall s |", "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for mode, row in rows.items():
        weight = f", γ = {row['temporal_weight']:g}" if mode == "d" else ""
        lines.append(f"| ({mode}) {row['description']}{weight} | {row['warping_error']:.4f} | {row['style_cost']:.4g} "
                     f"| {row['content_cost']:.4g} | {row['first_frame_seconds']:.1f} "
                     f"| {row['later_frame_seconds']:.1f} | {row['wall_seconds']:.0f} |")
    settings = (f"{arguments.frames} frames at {arguments.width}×{arguments.height}, preset {arguments.preset}, "
                f"{arguments.optimizer}, {arguments.precision}, weights {arguments.weights}, frame 1 "
                f"{arguments.epochs} iterations, later frames {arguments.epochs_per_frame} each")
    return "\n".join([settings, "", *lines])


def main():
    arguments = parse_arguments()
    output_dir = pathlib.Path(arguments.output_dir)
    frames_folder = write_clip(arguments, output_dir / "clip")
    rows, started = {}, time.perf_counter()
    for mode in arguments.modes:
        record, wall_seconds = run_mode(arguments, mode, frames_folder, output_dir)
        rows[mode] = summary(mode, record, wall_seconds)
        print(json.dumps(rows[mode]), flush=True)
    text = table(rows, arguments)
    checks = floors(rows)
    text += "\n\n" + "\n".join(f"- {name}: {'met' if passed else 'NOT met'}" for name, passed in checks)
    total = time.perf_counter() - started
    text += (f"\n\nWhole benchmark {total / 60:.1f} min on {environment.processor_name()} "
             f"({os.cpu_count()} cores), Python {platform.python_version()}")
    print(text)
    (output_dir / "results.md").write_text(text + "\n", encoding="utf-8")
    (output_dir / "results.json").write_text(json.dumps({"rows": rows, "floors": dict(checks),
                                                         "settings": vars(arguments), "minutes": total / 60},
                                                        indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
