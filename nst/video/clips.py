"""Video frames in and out with imageio (GIF through Pillow, other formats through ffmpeg), folders of frames, sound."""

import dataclasses
import fractions
import os
import pathlib
import re
import subprocess

import imageio
import imageio.v3 as iio
import numpy as np

from nst import errors
from nst import files
from nst import images

GIF_SUFFIX = ".gif"
FFMPEG_SUFFIXES = (".mp4", ".mov", ".m4v", ".mkv", ".avi", ".webm")
VIDEO_SUFFIXES = (GIF_SUFFIX, *FFMPEG_SUFFIXES)
FRAME_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff")  # a folder of frames
DEFAULT_FRAMES_PER_SECOND = 25.0  # when a file does not say, and for folders of frames
# ffmpeg states NTSC rates rounded to two decimals (23.98 for 24000/1001); written back as such, the
# picture drifts from the sound by 10 ms a minute. These are snapped back to the exact fraction.
_NTSC_BASES = (24, 30, 48, 60, 120)


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


def snap_frame_rate(rate):
    """rate as an exact Fraction: 29.97 becomes 30000/1001 (and 23.98, 59.94, … likewise), others as given."""
    for base in _NTSC_BASES:
        ntsc = fractions.Fraction(base * 1000, 1001)
        if abs(rate - float(ntsc)) < 0.01:
            return ntsc
    return fractions.Fraction(rate).limit_denominator(1001)


def frames_per_second(path):
    """The frame rate a video file states (NTSC rates exact, see snap_frame_rate), or DEFAULT_FRAMES_PER_SECOND."""
    plugin = _plugin(path)
    try:
        metadata = iio.immeta(path, plugin=plugin)
    except Exception as error:  # imageio and its plugins raise many types for a bad file
        raise VideoError(path, f"cannot be read as a video ({_short(error)})") from None
    if plugin == "pillow":
        milliseconds = metadata.get("duration") or 0
        return 1000.0 / milliseconds if milliseconds > 0 else DEFAULT_FRAMES_PER_SECOND
    rate = metadata.get("fps") or 0
    return snap_frame_rate(float(rate)) if rate > 0 else DEFAULT_FRAMES_PER_SECOND


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


def has_audio(path):
    """True when an ffmpeg-read video file has a sound track (GIFs never do)."""
    if _plugin(path) != "FFMPEG":
        return False
    import imageio_ffmpeg

    reader = imageio_ffmpeg.read_frames(str(path))  # its first item is the header, before any frame is decoded
    try:
        return "audio_codec" in next(reader)
    except (RuntimeError, OSError, StopIteration):
        return False
    finally:
        reader.close()


def _even_sized(frame):
    # H.264 with 4:2:0 colour needs even sides; repeating the last row or column keeps
    # every original pixel, where ffmpeg's own fix would rescale the whole frame.
    height, width = frame.shape[:2]
    return np.pad(frame, ((0, height % 2), (0, width % 2), (0, 0)), mode="edge")


def write_frames(path, frames, frames_per_second, sound_from=None):
    """Writes an iterable of H×W×3 uint8 RGB frames as a video (format from the suffix), atomically.

    ffmpeg formats are written as the frames come; GIFs are collected first (Pillow writes
    them in one go). sound_from: a video whose sound track (if it has one) the result gets,
    cut to the frames' length. Returns the number of frames written.
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
        if sound_from is not None and has_audio(sound_from):
            _add_sound(temporary, sound_from, path)
    return count


def _add_sound(silent_video, source, shown_path):
    """Puts source's first sound track into silent_video (in place), copied as it is or else re-encoded as AAC.

    The picture is copied, not re-encoded; `-shortest` cuts the sound to the picture's length.
    imageio's own audio_path option is not used: it fails on a source without sound, and it
    keeps the sound's whole length.
    """
    import imageio_ffmpeg

    with files.atomic_path(silent_video) as muxed:
        for sound_codec in ("copy", "aac"):  # some containers refuse some codecs (PCM or Vorbis in .mp4)
            command = [imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-v", "error", "-i", str(silent_video), "-i",
                       str(source), "-map", "0:v:0", "-map", "1:a:0?", "-c:v", "copy", "-c:a", sound_codec,
                       "-shortest", str(muxed)]
            finished = subprocess.run(command, capture_output=True, text=True, check=False)
            if finished.returncode == 0:
                break
        else:
            raise VideoError(shown_path, f"the sound of {source} could not be added "
                                         f"({_ffmpeg_problem(finished.stderr) or 'ffmpeg failed'})")


@dataclasses.dataclass(frozen=True)
class Clip:
    """A video file or a folder of frames, read through once and found usable: its frames' count, size and rate."""

    path: str
    frame_count: int
    size: tuple  # (width, height) of every frame
    frames_per_second: object  # a Fraction for ffmpeg files (exact NTSC rates), else a float
    has_audio: bool = False
    frame_paths: tuple = ()  # a folder's frames in order; empty for a video file

    def frames(self, start=0):
        """Yields the frames from index start on, as H×W×3 uint8 RGB arrays."""
        if self.frame_paths:
            for path in self.frame_paths[start:]:
                yield np.asarray(images.read_image(path), np.uint8)
            return
        for index, frame in enumerate(read_frames(self.path)):
            if index >= start:
                yield frame


def _natural_key(path):
    """frame_2 before frame_10: digit runs compare as numbers."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", path.name)]


def _frame_paths(folder):
    paths = sorted((child for child in folder.iterdir()
                    if child.is_file() and child.suffix.lower() in FRAME_SUFFIXES), key=_natural_key)
    if not paths:
        raise VideoError(str(folder), f"no frames: a folder of frames holds images ({', '.join(FRAME_SUFFIXES)})")
    return tuple(str(path) for path in paths)


def _check_same_size(shown_path, index, frame_size, size):
    if size is not None and frame_size != size:
        raise VideoError(shown_path, f"frames change size: frame {index + 1} is {frame_size[0]}×{frame_size[1]}, "
                                     f"the first {size[0]}×{size[1]}")
    return frame_size


def open_clip(path):
    """The Clip at path (a video file or a folder of frames), every frame decoded once to check it; VideoError if not.

    Refused: a missing path, a file that is not a video (by its suffix, or because it cannot be
    decoded), a clip without frames, frames whose sizes differ. Nothing is kept in memory.
    """
    shown_path = str(path)
    candidate = pathlib.Path(os.path.expanduser(shown_path))
    if candidate.is_dir():
        frame_paths, size = _frame_paths(candidate), None
        for index, frame_path in enumerate(frame_paths):
            try:
                frame_size = images.read_image(frame_path).size
            except errors.ImageError as error:
                raise VideoError(shown_path, f"frame {index + 1} cannot be used ({error})") from None
            size = _check_same_size(shown_path, index, frame_size, size)
        return Clip(shown_path, len(frame_paths), size, DEFAULT_FRAMES_PER_SECOND, False, frame_paths)
    if not candidate.exists():
        raise VideoError(shown_path, "no such file or folder")
    if not is_video_path(candidate):
        raise VideoError(shown_path, f"not a video: give a video file ({', '.join(VIDEO_SUFFIXES)}) or a folder "
                                     f"of frames")
    count, size = 0, None
    for count, frame in enumerate(read_frames(str(candidate)), start=1):
        size = _check_same_size(shown_path, count - 1, (frame.shape[1], frame.shape[0]), size)
    if not count:
        raise VideoError(shown_path, "has no frames")
    return Clip(str(candidate), count, size, frames_per_second(str(candidate)), has_audio(str(candidate)))


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
