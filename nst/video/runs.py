"""A stylised clip's run in its folder: new or resumed at a frame, its frames, video and run.json kept current.

The command line drives it as it drives an image's run (nst.runs): every input is read and the
whole clip decoded before the folder is chosen, so a refused clip writes nothing; each finished
frame is saved with what a resume needs; at the end the frames become video.mp4, at the clip's
frame rate, with its sound. Prints nothing.
"""

import dataclasses
import io
import pathlib
import statistics
import time

import numpy as np
import PIL.Image

from nst import config as config_module
from nst import environment
from nst import errors
from nst import files
from nst import images
from nst import outputs
from nst import transfer
from nst.video import clips
from nst.video import metrics
from nst.video import transfer as clip_transfer

VIDEO_NAME = outputs.CLIP_VIDEO_NAME
STATE_NAME = outputs.CLIP_STATE_NAME
RECORD_KIND = "clip"  # run.json's "kind": a clip's record, not an image's
CLIP_LIBRARIES = {**environment.RUN_LIBRARIES, "opencv": "cv2", "imageio": "imageio"}


def frame_name(index):
    """frame_0001.png for the first frame (index 0): numbered from 1, zero-padded to sort."""
    return f"frame_{index + 1:04d}.png"


@dataclasses.dataclass(frozen=True)
class ClipRun:
    """A clip ready to be stylised: its config, inputs, folder and where it resumes."""

    config: config_module.StyleTransferConfig
    prepared: transfer.PreparedRun  # styles, masks and weights, with the clip's first frame as the content
    clip: clips.Clip
    output_dir: pathlib.Path
    position: clip_transfer.ClipPosition = clip_transfer.ClipPosition()
    record: dict | None = None  # the run.json of the run this one resumes

    @property
    def stylised_size(self):
        """(width, height) of the stylised frames."""
        return self.prepared.content_size(self.config.image_size)

    @property
    def total_iterations(self):
        """Iterations of the whole clip: the first frame's (every scale), then frame_iterations per later frame."""
        first = self.config.total_iterations
        later = clip_transfer.frame_config(self.config, 1).total_iterations
        return first + later * (self.clip.frame_count - 1)

    def iterations_before(self, index):
        """Iterations of the frames before frame index (0-based)."""
        if index == 0:
            return 0
        return self.config.total_iterations + clip_transfer.frame_config(self.config, 1).total_iterations * (index - 1)


@dataclasses.dataclass(frozen=True)
class ClipOutcome:
    """How a clip's run ended: the loop's result, the record written, the video's path (None unless finished)."""

    result: clip_transfer.ClipResult
    record: dict
    status: str  # finished, ended_early, stopped (non-finite), interrupted
    video_path: pathlib.Path | None


def _first_frame(clip):
    return next(clip.frames())


def _check_writable_video(output_dir):
    """VideoError before any work when video.mp4 could not be written (no ffmpeg)."""
    clips._plugin(str(pathlib.Path(output_dir) / VIDEO_NAME))


def new_run(config, overwrite=False):
    """Reads the clip (every frame), the styles, masks and weights, then picks and creates the folder; a ClipRun.

    As nst.runs.new_run: the folder is the config's or its first free run_N; with overwrite the
    earlier run's files are removed, but only once every input is known good. Raises NSTErrors.
    """
    if not config.content_video:
        raise errors.ConfigError("content_video is not set: a clip's run needs a video file or a folder of frames")
    output_dir = outputs.choose_output_directory(config.output_dir, overwrite)
    _check_writable_video(output_dir)
    clip = clips.open_clip(config.content_video)
    prepared = transfer.prepare(config, content=_first_frame(clip))
    output_dir = files.prepare_output_directory(output_dir)
    if overwrite:
        outputs.clear_previous_run(output_dir)
    return ClipRun(config, prepared, clip, output_dir)


def is_clip_record(record):
    """True when a run.json is a clip's."""
    return record.get("kind") == RECORD_KIND


def resumed_config(folder):
    """(config, record) of the clip's run in folder; OutputError when it holds none."""
    folder = pathlib.Path(folder)
    record = outputs.load_run_record(folder)
    try:
        return config_module.StyleTransferConfig(**record["config"]), record
    except (KeyError, TypeError) as error:
        raise errors.OutputError(str(folder), f"run.json has no usable config ({error})") from None


def resumed_run(folder):
    """The interrupted clip in folder, its inputs read again: a ClipRun that continues at the first unfinished frame.

    OutputError when the folder holds no clip's run, the run finished, or the clip changed.
    """
    folder = pathlib.Path(folder)
    config, record = resumed_config(folder)
    next_frame, previous_raw = _load_state(folder)
    clip = clips.open_clip(config.content_video)
    if clip.frame_count != record["clip"]["frames"] or list(clip.size) != record["clip"]["size"]:
        raise errors.OutputError(str(folder), f"{config.content_video} has changed since this run started "
                                              f"({clip.frame_count} frames of {clip.size[0]}×{clip.size[1]}, "
                                              f"recorded {record['clip']['frames']} of "
                                              f"{record['clip']['size'][0]}×{record['clip']['size'][1]})")
    if next_frame >= clip.frame_count:
        raise errors.OutputError(str(folder), f"this run already stylised all {clip.frame_count} frames")
    previous_pixels = None
    if next_frame > 0:
        previous_pixels = np.asarray(images.read_image(folder / frame_name(next_frame - 1)), np.uint8)
    prepared = transfer.prepare(config, content=_first_frame(clip))
    position = clip_transfer.ClipPosition(next_frame, previous_raw, previous_pixels)
    return ClipRun(config, prepared, clip, folder, position, record)


def _save_state(folder, next_frame, previous_raw):
    buffer = io.BytesIO()
    np.savez(buffer, next_frame=np.asarray(next_frame), previous_raw=np.asarray(previous_raw, np.float32))
    with files.atomic_write(pathlib.Path(folder) / STATE_NAME) as handle:
        handle.write(buffer.getvalue())


def _load_state(folder):
    """(next frame's index, the previous frame's optimised image or None) of an interrupted clip."""
    path = pathlib.Path(folder) / STATE_NAME
    if not path.exists():
        return 0, None  # stopped during the first frame
    try:
        with np.load(path) as stored:
            return int(stored["next_frame"]), stored["previous_raw"].astype(np.float32)
    except (OSError, KeyError, ValueError) as error:
        raise errors.OutputError(str(path), f"cannot resume from it ({error})") from None


def _input_record(path):
    path = pathlib.Path(path)
    if path.is_file():
        return {"path": str(path.resolve()), "sha256": outputs.file_sha256(path)}
    return {"path": str(path.resolve()) if path.exists() else str(path), "sha256": None}  # a folder of frames


def _rate_record(rate):
    return str(rate) if not isinstance(rate, float) else rate  # a Fraction as "30000/1001"


def _frame_entry(frame):
    result = frame.result
    return {
        "frame": frame.index + 1, "file": frame_name(frame.index), "init": frame.init,
        "iterations": result.iterations_run, "evaluations": result.evaluations,
        "seconds": round(frame.seconds, 3), "flow_seconds": round(frame.flow_seconds, 3),
        "optimisation_seconds": round(result.elapsed_seconds, 3),
        "seconds_per_iteration": round(result.seconds_per_iteration, 4),
        "costs": outputs.costs_record(result.costs), "warping_error": frame.warping_error,
        "reliable_share": None if frame.reliable_share is None else round(frame.reliable_share, 4),
        "ended_early": result.ended_early, "ended_at_limit": result.ended_at_limit,
    }


def seconds_per_frame(frame_entries):
    """{'first', 'later_median', 'later_mean'}: the first frame's seconds and the later frames' (None when absent)."""
    first = next((entry["seconds"] for entry in frame_entries if entry["frame"] == 1), None)
    later = [entry["seconds"] for entry in frame_entries if entry["frame"] > 1]
    return {"first": first, "later_median": statistics.median(later) if later else None,
            "later_mean": round(statistics.mean(later), 3) if later else None}


class ClipRecorder:
    """Keeps a clip's folder current: each finished frame's PNG, the resume state and run.json."""

    def __init__(self, run):
        self.run = run
        self.started = time.time()
        record = run.record or {}
        self.frames = [entry for entry in record.get("frames", []) if entry["frame"] <= run.position.next_frame]
        self.previous_wall_seconds = float(record.get("wall_seconds", 0.0))
        config, prepared, clip = run.config, run.prepared, run.clip
        weights = prepared.loaded_weights
        self._static = {
            "kind": RECORD_KIND,
            "config": config.to_dict(),
            "inputs": {"content_video": _input_record(config.content_video),
                       "style_images": [_input_record(path) for path in config.style_image],
                       "content_mask": _input_record(config.content_mask) if config.content_mask else None,
                       "style_masks": [_input_record(path) for path in config.style_masks]},
            "weights": {"source": weights.source, "path": weights.path,
                        "sha256": outputs.file_sha256(weights.path) if weights.path else None},
            "seed": config.seed,
            "versions": environment.library_versions(CLIP_LIBRARIES),
            "device": environment.device_description(),
            "clip": {"frames": clip.frame_count, "size": list(clip.size), "stylised_size": list(run.stylised_size),
                     "frames_per_second": _rate_record(clip.frames_per_second), "sound": clip.has_audio},
        }

    def on_frame(self, frame):
        """Saves the frame, the resume state and run.json; WriteError naming the file that could not be written."""
        folder = self.run.output_dir
        path = folder / frame_name(frame.index)
        with outputs.writing(path):
            images.save_image(PIL.Image.fromarray(frame.pixels), path)
        with outputs.writing(folder / STATE_NAME):
            _save_state(folder, frame.index + 1, frame.result.resume_image)
        self.frames = [entry for entry in self.frames if entry["frame"] != frame.index + 1] + [_frame_entry(frame)]
        self.write_record("running")

    @property
    def frames_saved(self):
        return len(self.frames)

    def write_record(self, status, **extra):
        """Rewrites run.json atomically; WriteError naming it if the write fails. Returns the record."""
        pairs = [entry["warping_error"] for entry in self.frames]
        record = dict(self._static, status=status,
                      wall_seconds=round(self.previous_wall_seconds + time.time() - self.started, 3),
                      frames_done=len(self.frames), warping_error=metrics.clip_warping_error(pairs),
                      seconds_per_frame=seconds_per_frame(self.frames), **extra, frames=self.frames)
        path = self.run.output_dir / outputs.RUN_RECORD_NAME
        with outputs.writing(path):
            files.write_json_atomic(path, record)
        return record

    def write_video(self):
        """video.mp4 of the saved frames, at the clip's frame rate, with its sound (if any). Returns its path."""
        folder, clip = self.run.output_dir, self.run.clip
        path = folder / VIDEO_NAME

        def frames():
            for index in range(clip.frame_count):
                yield np.asarray(images.read_image(folder / frame_name(index)), np.uint8)

        with outputs.writing(path):
            clips.write_frames(path, frames(), clip.frames_per_second,
                               sound_from=clip.path if clip.has_audio else None)
        return path


def _status(result, frames):
    if result.interrupted:
        return "interrupted"
    if result.stop_reason:
        return "stopped"
    return "ended_early" if any(entry.get("ended_at_limit") for entry in frames) else "finished"


def execute(run, callbacks=clip_transfer.ClipCallbacks()):
    """Stylises a ClipRun's frames, keeping its folder current; returns a ClipOutcome.

    callbacks are the caller's (progress); the folder's recorder hears each finished frame
    first. A file that cannot be written stops the run with a WriteError whose hint says what is
    kept and how to continue.
    """
    recorder = ClipRecorder(run)

    def frame_done(frame):
        recorder.on_frame(frame)
        if callbacks.on_frame:
            callbacks.on_frame(frame)

    listening = dataclasses.replace(callbacks, on_frame=frame_done)
    try:
        recorder.write_record("running")
        result = clip_transfer.stylise_clip(run.config, run.prepared, run.clip, listening, run.position)
        status = _status(result, recorder.frames)
        video_path = recorder.write_video() if status in ("finished", "ended_early") else None
        record = recorder.write_record(status, stop_reason=result.stop_reason,
                                       video=video_path.name if video_path else None)
        return ClipOutcome(result, record, status, video_path)
    except errors.WriteError as error:
        saved = recorder.frames_saved
        kept = f"the {saved} frame(s) stylised so far are kept" if saved else "no frame was finished"
        error.hint = f"{kept}; once the cause is fixed, continue with --resume {run.output_dir}"
        raise
