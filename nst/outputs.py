"""What a run leaves in its output folder: snapshots, resume state, run.json, animation, loss plot and summary."""

import contextlib
import dataclasses
import hashlib
import io
import json
import os
import pathlib
import re
import time

import numpy as np
import PIL.Image

from nst import environment
from nst import errors
from nst import files
from nst import images
from nst import memory

FINAL_IMAGE_NAME = "generated_image.png"
RUN_RECORD_NAME = "run.json"
RESUME_STATE_NAME = "resume_state.npz"
ANIMATION_NAME = "progress.gif"
VIDEO_NAME = "progress.mp4"
LOSS_PLOT_NAME = "losses.png"
SUMMARY_NAME = "summary.png"
# A stylised clip's run (nst.video.runs): its frames, the video made of them and where to resume.
CLIP_VIDEO_NAME = "video.mp4"
CLIP_STATE_NAME = "clip_state.npz"
_SNAPSHOT_PATTERN = re.compile(r"^(iteration|frame)_\d+\.png$")
_RUN_FILE_NAMES = {FINAL_IMAGE_NAME, RUN_RECORD_NAME, RESUME_STATE_NAME, ANIMATION_NAME, VIDEO_NAME,
                   LOSS_PLOT_NAME, SUMMARY_NAME, CLIP_VIDEO_NAME, CLIP_STATE_NAME}
GIF_FRAME_MILLISECONDS = 250
# progress.gif, progress.mp4 and summary.png show the run at most this large: a 4K or 8K run's
# animation at full size would hold every snapshot in memory at once and weigh hundreds of MB.
PREVIEW_MAX_SIDE = 1024


@contextlib.contextmanager
def writing(path):
    """Turns an OSError while writing path (disk full, read-only, the folder gone) into a WriteError naming it."""
    try:
        yield
    except OSError as error:
        reason = error.strerror or str(error)
        raise errors.WriteError(str(path), f"cannot be written ({reason})") from error


def costs_record(costs):
    """Costs as JSON values: a non-finite cost becomes null (JSON has no Infinity or NaN); no temporal cost, no key."""
    values = dataclasses.asdict(costs)
    if not values["temporal"]:
        del values["temporal"]  # only video frames have one; image runs' records stay as they were
    return {name: (value if np.isfinite(value) else None) for name, value in values.items()}


def snapshot_path(output_dir, iteration):
    """<output_dir>/iteration_0020.png: zero-padded so a file listing sorts by iteration."""
    return pathlib.Path(output_dir) / f"iteration_{iteration:04d}.png"


def final_image_path(output_dir):
    return pathlib.Path(output_dir) / FINAL_IMAGE_NAME


def describe_costs(iteration, costs):
    """One line in the spirit of the Coursera app's printout."""
    line = (f"Iteration {iteration}: total cost = {costs.total:.6g}, "
            f"content cost = {costs.content:.6g}, style cost = {costs.style:.6g}")
    line += f", tv cost = {costs.tv:.6g}" if costs.tv else ""
    return line + (f", temporal cost = {costs.temporal:.6g}" if costs.temporal else "")


def _is_run_file(path):
    return path.name in _RUN_FILE_NAMES or bool(_SNAPSHOT_PATTERN.match(path.name))


def holds_previous_run(folder):
    """True when the folder has files of an earlier run (anything but hidden files and a README)."""
    folder = pathlib.Path(folder)
    if not folder.is_dir():
        return False
    return any(not entry.name.startswith(".") and entry.name != "README.md" for entry in folder.iterdir())


def choose_output_directory(requested, overwrite=False):
    """Where a new run writes: the requested folder, or a fresh numbered subfolder of it. Touches nothing.

    A new or empty folder is used as is. One that holds an earlier run is never silently
    overwritten: with overwrite the run writes there (its caller removes the earlier run's files
    with clear_previous_run, once every input is known good); without, the run goes to the first
    free <requested>/run_N (N ≥ 2). Returns a pathlib.Path (not yet created).
    """
    requested = pathlib.Path(requested)
    if overwrite or not holds_previous_run(requested):
        return requested
    number = 2
    while holds_previous_run(requested / f"run_{number}"):
        number += 1
    return requested / f"run_{number}"


def new_output_directory(requested):
    """The folder a stylize or export run writes into, created: requested, or its first free run_N subfolder.

    As for a style transfer run, a folder that holds earlier results is never written over. Called
    once every input has been read, so a refused run changes nothing on disk.
    """
    return files.prepare_output_directory(choose_output_directory(requested))


def clear_previous_run(folder):
    """Removes an earlier run's files (images, run.json, resume state, animation, plots) from folder; keeps the rest.

    Called by a run with --overwrite only when it has read every input and the weights and is about
    to write its first file, so a refused run never costs the earlier one.
    """
    folder = pathlib.Path(folder)
    if not folder.is_dir():
        return
    for entry in folder.iterdir():
        if entry.is_file() and _is_run_file(entry):
            try:
                entry.unlink()
            except OSError as error:
                raise files.OutputError(str(entry), f"cannot remove the earlier run's file ({error.strerror or error})")


def file_sha256(path):
    """Hex SHA-256 of a file, read in chunks (weight files are hundreds of MB)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _input_record(path):
    path = pathlib.Path(path)
    if not path.is_file():
        return {"path": str(path), "sha256": None}  # an in-memory image given to the Python API
    return {"path": str(path.resolve()), "sha256": file_sha256(path)}


def save_resume_state(output_dir, iteration, image, optimizer_state=()):
    """Writes the iteration, the optimised image and Adam's state atomically, for --resume."""
    arrays = {"iteration": np.asarray(iteration), "image": image}
    arrays.update({f"optimizer_{index}": value for index, value in enumerate(optimizer_state)})
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    with files.atomic_write(pathlib.Path(output_dir) / RESUME_STATE_NAME) as handle:
        handle.write(buffer.getvalue())


def load_resume_state(output_dir):
    """(iteration, image, optimizer_state) saved by save_resume_state; raises OutputError if unreadable."""
    path = pathlib.Path(output_dir) / RESUME_STATE_NAME
    try:
        with np.load(path) as stored:
            count = sum(1 for name in stored.files if name.startswith("optimizer_"))
            state = tuple(stored[f"optimizer_{index}"] for index in range(count))
            return int(stored["iteration"]), stored["image"].astype(np.float32), state
    except (OSError, KeyError, ValueError) as error:
        raise files.OutputError(str(path), f"cannot resume from it ({error})") from None


def load_run_record(output_dir):
    """The run.json of an earlier run as a dict; raises OutputError if missing or unreadable."""
    path = pathlib.Path(output_dir) / RUN_RECORD_NAME
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        reason = "no run.json: not the output folder of a run" if isinstance(error, FileNotFoundError) else error
        raise files.OutputError(str(output_dir), str(reason)) from None


@dataclasses.dataclass
class RunRecorder:
    """Keeps a run's folder current while it runs (snapshots, resume state, run.json) and finishes it at the end."""

    output_dir: pathlib.Path
    config: object  # StyleTransferConfig
    prepared: object  # transfer.PreparedRun
    history: list = dataclasses.field(default_factory=list)  # per-iteration costs
    snapshots: list = dataclasses.field(default_factory=list)  # [{"iteration", "costs", "elapsed_seconds"}]
    status: str = "running"
    started: float = dataclasses.field(default_factory=time.time)
    previous_wall_seconds: float = 0.0  # of the runs this one resumes
    tiling: dict | None = None  # whether the full size runs in tiles, and why (transfer.tiling_record)
    _static_record: dict = dataclasses.field(default_factory=dict, init=False)

    def __post_init__(self):
        self.output_dir = pathlib.Path(self.output_dir)
        weights = self.prepared.loaded_weights
        self._static_record = {
            "config": self.config.to_dict(),
            "inputs": {"content_image": _input_record(self.config.content_image),
                       "style_images": [_input_record(path) for path in self.config.style_image],
                       "content_mask": _input_record(self.config.content_mask) if self.config.content_mask else None,
                       "style_masks": [_input_record(path) for path in self.config.style_masks]},
            "weights": {"source": weights.source, "path": weights.path,
                        "sha256": file_sha256(weights.path) if weights.path else None},
            "seed": self.config.seed,
            "tiling": self.tiling,
            "versions": environment.library_versions(environment.RUN_LIBRARIES),
            "device": environment.device_description(),
        }

    def resume_from(self, record, iteration):
        """Carries the history of the interrupted run this one continues, up to the iteration it resumes at.

        The resume state and run.json are written one after the other; a run stopped between the
        two (a failed write, a kill) may have recorded a little more than it can resume from.
        """
        self.history = [entry for entry in record.get("history", []) if entry["iteration"] <= iteration]
        self.snapshots = [entry for entry in record.get("snapshots", []) if entry["iteration"] <= iteration]
        self.previous_wall_seconds = float(record.get("wall_seconds", 0.0))

    @property
    def last_snapshot_iteration(self):
        """The iteration of the last snapshot written in full (image, resume state and run.json), or None."""
        return self.snapshots[-1]["iteration"] if self.snapshots else None

    def on_iteration(self, iteration, costs):
        # wall_seconds: since the run started (earlier runs it resumes included), as wall_seconds below;
        # the time of each iteration is the difference, for benchmarks and for checking a run's speed.
        wall_seconds = self.previous_wall_seconds + time.time() - self.started
        self.history.append({"iteration": iteration, **costs_record(costs), "wall_seconds": round(wall_seconds, 3)})

    def on_snapshot(self, snapshot):
        """Writes the snapshot's image, the resume state and run.json; WriteError naming the file if one fails."""
        path = snapshot_path(self.output_dir, snapshot.iteration)
        with writing(path):
            images.save_image(snapshot.image, path, self.config.save_rounding)
        with writing(self.output_dir / RESUME_STATE_NAME):
            save_resume_state(self.output_dir, snapshot.iteration, snapshot.resume_image, snapshot.optimizer_state)
        entry = {"iteration": snapshot.iteration, "costs": costs_record(snapshot.costs),
                 "elapsed_seconds": round(snapshot.elapsed_seconds, 3)}
        snapshots = [old for old in self.snapshots if old["iteration"] != snapshot.iteration] + [entry]
        self.write_record(snapshots=snapshots)
        self.snapshots = snapshots

    def write_record(self, result=None, snapshots=None):
        """Rewrites run.json atomically; WriteError naming it if the write fails."""
        wall_seconds = self.previous_wall_seconds + time.time() - self.started
        # The peak so far, read as the record is written: at the end it counts the whole run, the
        # final image, animation, plot and summary included (child processes such as ffmpeg excluded).
        record = dict(self._static_record, status=self.status, wall_seconds=round(wall_seconds, 3),
                      peak_resident_bytes=memory.peak_resident_bytes(),
                      snapshots=self.snapshots if snapshots is None else snapshots, history=self.history)
        if result is not None:
            record.update(iterations=result.iterations, evaluations=result.evaluations,
                          optimisation_seconds=round(result.elapsed_seconds, 3),
                          seconds_per_iteration=round(result.seconds_per_iteration, 4),
                          final_costs=costs_record(result.costs), stop_reason=result.stop_reason,
                          ended_early=result.ended_early)
        with writing(self.output_dir / RUN_RECORD_NAME):
            files.write_json_atomic(self.output_dir / RUN_RECORD_NAME, record)

    def finish(self, result, status):
        """Saves the final image, resume state and run.json; for a finished run also the animation, plot, summary.

        Raises WriteError naming the file that could not be written.
        """
        with writing(final_image_path(self.output_dir)):
            images.save_image(result.image, final_image_path(self.output_dir), self.config.save_rounding)
        self.status = status
        if status == "interrupted":
            with writing(self.output_dir / RESUME_STATE_NAME):
                save_resume_state(self.output_dir, result.iterations, result.resume_image, result.optimizer_state)
        else:
            with writing(self.output_dir / ANIMATION_NAME):
                write_animation(self.output_dir, self.snapshots)
            with writing(self.output_dir / LOSS_PLOT_NAME):
                write_loss_plot(self.output_dir / LOSS_PLOT_NAME, self.history)
            with writing(self.output_dir / SUMMARY_NAME):
                write_summary(self.output_dir / SUMMARY_NAME, self.prepared, result.image, self.config.save_rounding)
        self.write_record(result)
        return final_image_path(self.output_dir)


def preview_size(size):
    """(width, height) scaled down so the longest side is at most PREVIEW_MAX_SIDE; unchanged when it is."""
    width, height = size
    if max(width, height) <= PREVIEW_MAX_SIDE:
        return width, height
    scale = PREVIEW_MAX_SIDE / max(width, height)
    return max(1, round(width * scale)), max(1, round(height * scale))


def _preview(image):
    size = preview_size(image.size)
    return image if size == image.size else image.resize(size, PIL.Image.LANCZOS)


def _snapshot_frames(output_dir, snapshots):
    paths = [snapshot_path(output_dir, entry["iteration"]) for entry in sorted(snapshots, key=lambda e: e["iteration"])]
    # Each frame is brought to preview size as it is read, so one full-size image is in memory at a time.
    frames = []
    for path in paths:
        if path.is_file():
            with PIL.Image.open(path) as image:
                frames.append(_preview(image.convert("RGB")))
    if not frames:
        return []
    final_size = frames[-1].size  # coarse-to-fine runs have smaller early frames
    return [frame if frame.size == final_size else frame.resize(final_size, PIL.Image.NEAREST) for frame in frames]


def write_animation(output_dir, snapshots):
    """progress.gif with one frame per snapshot (Pillow), and progress.mp4 where imageio has an ffmpeg encoder."""
    frames = _snapshot_frames(output_dir, snapshots)
    if not frames:
        return
    buffer = io.BytesIO()
    frames[0].save(buffer, format="GIF", save_all=True, append_images=frames[1:], duration=GIF_FRAME_MILLISECONDS,
                   loop=0)
    with files.atomic_write(pathlib.Path(output_dir) / ANIMATION_NAME) as handle:
        handle.write(buffer.getvalue())
    _write_video(pathlib.Path(output_dir) / VIDEO_NAME, frames)


def _write_video(path, frames):
    try:
        import imageio.v3 as imageio
        import imageio_ffmpeg  # noqa: F401  (the encoder; absent unless installed)
    except ImportError:
        return
    # Video codecs work on 16×16 macroblocks (ffmpeg would rescale otherwise); pad by repeating edges.
    arrays = [np.asarray(frame) for frame in frames]
    height, width = arrays[0].shape[:2]
    padding = ((0, -height % 16), (0, -width % 16), (0, 0))
    arrays = [np.pad(array, padding, mode="edge") for array in arrays]
    temporary = path.with_name(f".{path.name}.tmp.mp4")
    imageio.imwrite(temporary, np.stack(arrays), fps=1000 / GIF_FRAME_MILLISECONDS, extension=".mp4")
    os.replace(temporary, path)


def write_loss_plot(path, history):
    """losses.png: total, content, style (and tv when used) against iteration, log scale."""
    if not history:
        return
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    iterations = [entry["iteration"] for entry in history]
    figure, axes = pyplot.subplots(figsize=(7, 4.5), dpi=100)
    for name in ("total", "content", "style", "tv", "temporal"):
        values = [entry.get(name, 0.0) for entry in history]
        if name in ("tv", "temporal") and not any(values):
            continue
        axes.plot(iterations, np.maximum(values, 1e-30), label=name)
    axes.set_yscale("log")
    axes.set_xlabel("iteration")
    axes.set_ylabel("cost")
    axes.set_title("Costs during the run")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend()
    _save_figure(figure, path)


def write_summary(path, prepared, result_pixels, rounding="round"):
    """summary.png: content | style(s) | result, side by side at the result's size (at most preview size)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    result = _preview(images.to_pil(result_pixels, rounding))
    styles = prepared.style_images
    panels = [("content", prepared.content_image.resize(result.size, PIL.Image.LANCZOS))]
    panels += [(f"style {index + 1}" if len(styles) > 1 else "style", style.resize(result.size, PIL.Image.LANCZOS))
               for index, style in enumerate(styles)]
    panels.append(("result", result))
    width, height = result.size
    figure, axes = pyplot.subplots(1, len(panels), figsize=(3.2 * len(panels), 3.2 * height / width + 0.4), dpi=100)
    for axis, (title, image) in zip(axes, panels):
        axis.imshow(np.asarray(image))
        axis.set_title(title)
        axis.axis("off")
    _save_figure(figure, path)


def _save_figure(figure, path):
    from matplotlib import pyplot

    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    pyplot.close(figure)
    with files.atomic_write(path) as handle:
        handle.write(buffer.getvalue())
