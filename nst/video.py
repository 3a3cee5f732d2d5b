"""Video frames in and out with imageio: GIF through Pillow, other formats through ffmpeg (imageio-ffmpeg)."""

import os
import pathlib
import re

import imageio
import imageio.v3 as iio
import numpy as np

from nst import errors
from nst import files

GIF_SUFFIX = ".gif"
FFMPEG_SUFFIXES = (".mp4", ".mov", ".m4v", ".mkv", ".avi", ".webm")
VIDEO_SUFFIXES = (GIF_SUFFIX, *FFMPEG_SUFFIXES)
DEFAULT_FRAMES_PER_SECOND = 25.0  # when a file does not say


VideoError = errors.VideoError


def is_video_path(path):
    return pathlib.Path(path).suffix.lower() in VIDEO_SUFFIXES


def ffmpeg_available():
    """True when imageio can find an ffmpeg binary (the imageio-ffmpeg package ships one)."""
    try:
        import imageio_ffmpeg

        imageio_ffmpeg.get_ffmpeg_exe()
    except (ImportError, RuntimeError):
        return False
    return True


def _plugin(path):
    """imageio's plugin for a path's suffix; VideoError when that needs ffmpeg and there is none."""
    suffix = pathlib.Path(path).suffix.lower()
    if suffix == GIF_SUFFIX:
        return "pillow"
    if suffix not in FFMPEG_SUFFIXES:
        raise VideoError(path, f"not a video suffix this tool knows ({', '.join(VIDEO_SUFFIXES)})")
    if not ffmpeg_available():
        raise VideoError(path, "reading and writing this format needs ffmpeg: pip install imageio-ffmpeg "
                               "(or use an animated .gif)")
    return "FFMPEG"


def frames_per_second(path):
    """The frame rate a video file states, or DEFAULT_FRAMES_PER_SECOND."""
    plugin = _plugin(path)
    try:
        metadata = iio.immeta(path, plugin=plugin)
    except Exception as error:  # imageio and its plugins raise many types for a bad file
        raise VideoError(path, f"cannot be read as a video ({_short(error)})") from None
    if plugin == "pillow":
        milliseconds = metadata.get("duration") or 0
        return 1000.0 / milliseconds if milliseconds > 0 else DEFAULT_FRAMES_PER_SECOND
    rate = metadata.get("fps") or 0
    return float(rate) if rate > 0 else DEFAULT_FRAMES_PER_SECOND


def read_frames(path):
    """Yields the frames of a video file one by one, as H×W×3 uint8 RGB arrays, without loading the whole video."""
    if not os.path.isfile(path):
        raise VideoError(path, "no such file")
    plugin = _plugin(path)
    options = {"mode": "RGB"} if plugin == "pillow" else {}
    try:
        for frame in iio.imiter(path, plugin=plugin, **options):
            yield np.asarray(frame)[..., :3]
    except VideoError:
        raise
    except Exception as error:  # see frames_per_second
        raise VideoError(path, f"cannot be read as a video ({_short(error)})") from None


def _even_sized(frame):
    # H.264 with 4:2:0 colour needs even sides; repeating the last row or column keeps
    # every original pixel, where ffmpeg's own fix would rescale the whole frame.
    height, width = frame.shape[:2]
    return np.pad(frame, ((0, height % 2), (0, width % 2), (0, 0)), mode="edge")


def write_frames(path, frames, frames_per_second):
    """Writes an iterable of H×W×3 uint8 RGB frames as a video (format from the suffix), atomically.

    ffmpeg formats are written as the frames come; GIFs are collected first (Pillow writes
    them in one go). Returns the number of frames written.
    """
    plugin = _plugin(path)
    count = 0
    # The writers pick the format from the suffix, which files.atomic_path keeps.
    with files.atomic_path(path) as temporary:
        if plugin == "pillow":
            collected = [np.asarray(frame, np.uint8) for frame in frames]
            if not collected:
                raise VideoError(path, "no frames to write")
            duration = max(1, round(1000.0 / frames_per_second))
            iio.imwrite(str(temporary), np.stack(collected), plugin="pillow", duration=duration, loop=0)
            return len(collected)
        # imageio's v3 API writes a video in one call; the v2 writer appends frame by frame.
        writer = imageio.v2.get_writer(str(temporary), format="FFMPEG", fps=frames_per_second, macro_block_size=1)
        with writer:
            for frame in frames:
                writer.append_data(_even_sized(np.asarray(frame, np.uint8)))
                count += 1
        if not count:
            raise VideoError(path, "no frames to write")
    return count


_FFMPEG_BANNER_STARTS = ("ffmpeg version", "built with", "configuration:", "lib")
_FFMPEG_COMPONENT = re.compile(r"^\[[^\]]*\]\s*")  # "[in#0 @ 0x55d3f8d7b040] moov atom not found"


def _ffmpeg_problem(stderr_text):
    """What ffmpeg said was wrong, without its banner: its component messages, or else its last line."""
    lines = [line.strip() for line in stderr_text.splitlines() if line.strip()]
    lines = [line for line in lines if not line.startswith(_FFMPEG_BANNER_STARTS)]
    messages = [_FFMPEG_COMPONENT.sub("", line) for line in lines if _FFMPEG_COMPONENT.match(line)]
    return "; ".join(dict.fromkeys(messages)) or (lines[-1] if lines else "")


def _short(error):
    """One line on what went wrong. imageio's ffmpeg errors carry ffmpeg's whole stderr, banner first."""
    text = str(error)
    if "=== stderr ===" in text:
        text = _ffmpeg_problem(text.split("=== stderr ===", 1)[1]) or text
    return " ".join(text.split())[:200] or type(error).__name__
