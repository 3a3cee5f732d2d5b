"""Video: clips in and out (nst.video.clips), optical flow, consistency weights, warping error, stylising a clip.

The clip functions are importable from the package itself, as they were from the module nst.video
that this package grew from. The modules that need OpenCV (flow, consistency, warping, synthetic,
transfer, runs) are imported by name, so `from nst import video` stays light.
"""

from nst.video.clips import DEFAULT_FRAMES_PER_SECOND
from nst.video.clips import FFMPEG_SUFFIXES
from nst.video.clips import FRAME_SUFFIXES
from nst.video.clips import GIF_SUFFIX
from nst.video.clips import VIDEO_SUFFIXES
from nst.video.clips import Clip
from nst.video.clips import VideoError
from nst.video.clips import ffmpeg_available
from nst.video.clips import frames_per_second
from nst.video.clips import has_audio
from nst.video.clips import is_video_path
from nst.video.clips import open_clip
from nst.video.clips import read_frames
from nst.video.clips import snap_frame_rate
from nst.video.clips import write_frames

__all__ = [
    "DEFAULT_FRAMES_PER_SECOND",
    "FFMPEG_SUFFIXES",
    "FRAME_SUFFIXES",
    "GIF_SUFFIX",
    "VIDEO_SUFFIXES",
    "Clip",
    "VideoError",
    "ffmpeg_available",
    "frames_per_second",
    "has_audio",
    "is_video_path",
    "open_clip",
    "read_frames",
    "snap_frame_rate",
    "write_frames",
]
