"""What a fast style transfer training run leaves in its folder: the model, the loss log and plot, the run record."""

import csv
import io
import math
import os
import pathlib

import numpy as np
from matplotlib.figure import Figure

from nst import files
from nst.fast import network

MODEL_FILENAME = "transform_net.keras"
LOSS_LOG_FILENAME = "losses.csv"
LOSS_PLOT_FILENAME = "losses.png"
RECORD_FILENAME = "training_config.json"
LOSS_NAMES = ("total", "content", "style", "total_variation")
SMOOTHING_WINDOW = 50  # steps averaged in the plot's smoothed curves: single batches are noisy


def model_path(folder):
    """Where a training run keeps its model: <folder>/transform_net.keras."""
    return pathlib.Path(folder) / MODEL_FILENAME


def loss_log_path(folder):
    return pathlib.Path(folder) / LOSS_LOG_FILENAME


def earlier_run_files(folder):
    """The names of the model and loss log an earlier training run left in folder (none, one or both)."""
    return [name for name in (MODEL_FILENAME, LOSS_LOG_FILENAME) if (pathlib.Path(folder) / name).is_file()]


def find_model_file(path):
    """The .keras file that path names: path itself, or transform_net.keras inside a training folder.

    Raises nst.fast.network.TransformNetError when there is none.
    """
    candidate = pathlib.Path(os.path.expanduser(str(path)))
    if candidate.is_dir():
        candidate = model_path(candidate)
        if not candidate.is_file():
            raise network.TransformNetError(
                f"{path}: no {MODEL_FILENAME} in this folder (it is written at each checkpoint of a training run)"
            )
    elif not candidate.is_file():
        raise network.TransformNetError(f"{path}: no such file or folder")
    return candidate


def save_model(model, folder):
    """Writes the model as <folder>/transform_net.keras atomically; returns the path.

    Keras insists on the .keras suffix, which files.atomic_path keeps for the temporary file.
    """
    target = model_path(folder)
    with files.atomic_path(target) as temporary:
        model.save(str(temporary))
    return target


def write_record(folder, record):
    """Writes the run record (config and facts about the data) as <folder>/training_config.json; returns the path."""
    path = pathlib.Path(folder) / RECORD_FILENAME
    files.write_json_atomic(path, record)
    return path


class LossLog:
    """The losses of every step, kept across resumed runs, written as losses.csv and plotted as losses.png."""

    def __init__(self, folder, start_step=0):
        """Reads the log an earlier run left, keeping steps up to start_step (later ones were not checkpointed)."""
        self.folder = pathlib.Path(folder)
        self.rows = [row for row in read_loss_log(self.folder / LOSS_LOG_FILENAME) if row["step"] <= start_step]

    def add(self, step, losses):
        self.rows.append({"step": int(step), **{name: float(losses[name]) for name in LOSS_NAMES}})

    def write(self):
        """Writes losses.csv and losses.png atomically; returns their paths."""
        csv_path = self.folder / LOSS_LOG_FILENAME
        files.write_text_atomic(csv_path, loss_log_text(self.rows))
        plot_path = self.folder / LOSS_PLOT_FILENAME
        with files.atomic_write(plot_path, "wb") as handle:
            handle.write(loss_plot_png(self.rows))
        return csv_path, plot_path


def loss_log_text(rows):
    """CSV text with a header: step, then the losses."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=("step", *LOSS_NAMES), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def read_loss_log(path):
    """Rows of a losses.csv as dicts of numbers; [] when the file is missing or is not such a log."""
    try:
        with open(path, encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
    except OSError:
        return []
    try:
        return [{"step": int(row["step"]), **{name: float(row[name]) for name in LOSS_NAMES}} for row in rows]
    except (KeyError, TypeError, ValueError):
        return []  # a damaged log is started afresh rather than stopping the run


def _moving_average(values, window):
    window = max(1, min(window, len(values)))
    kernel = np.ones(window) / window
    # 'valid' mode: every point averages a full window, so the curve has no edge dip.
    return np.convolve(values, kernel, mode="valid"), window


def loss_plot_png(rows):
    """PNG bytes of the losses against the step, log scale: each step faint, a moving average on top."""
    figure = Figure(figsize=(8, 5), dpi=100)
    axes = figure.add_subplot()
    steps = np.array([row["step"] for row in rows])
    for name in LOSS_NAMES:
        values = np.array([row[name] for row in rows])
        positive = values > 0
        if not positive.any():
            continue  # a loss with weight 0 has nothing to show on a log scale
        line, = axes.plot(steps[positive], values[positive], alpha=0.25, linewidth=0.8)
        smoothed, window = _moving_average(values[positive], SMOOTHING_WINDOW)
        axes.plot(steps[positive][window - 1:], smoothed, color=line.get_color(), label=name.replace("_", " "))
    axes.set_yscale("log")
    axes.set_xlabel("step")
    axes.set_ylabel("weighted loss (batch mean)")
    if rows:
        axes.legend()
        axes.set_xlim(left=0, right=max(1, math.ceil(steps.max())))
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
