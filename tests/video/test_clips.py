"""nst.video.clips: frames in and out of GIFs, MP4s and folders of frames, frame rates, sound, and clear errors."""

import stat
import subprocess
from fractions import Fraction

import imageio_ffmpeg
import numpy as np
import pytest
from PIL import Image

from nst import video

needs_ffmpeg = pytest.mark.skipif(not video.ffmpeg_available(), reason="needs ffmpeg (pip install imageio-ffmpeg)")


def frames(count=3, size=(21, 17)):
    width, height = size
    return [np.full((height, width, 3), 40 * index + 20, np.uint8) for index in range(count)]


def test_a_gif_round_trips_with_its_frame_rate(tmp_path):
    path = tmp_path / "clip.gif"
    assert video.write_frames(path, iter(frames()), frames_per_second=10) == 3
    assert video.frames_per_second(str(path)) == pytest.approx(10.0)
    read = list(video.read_frames(str(path)))
    assert [frame.shape for frame in read] == [(17, 21, 3)] * 3
    assert [int(frame[0, 0, 0]) for frame in read] == [20, 60, 100]
    assert [item.name for item in tmp_path.iterdir()] == ["clip.gif"]  # written via a temporary file


@needs_ffmpeg
def test_an_mp4_round_trips_and_odd_sides_gain_one_edge_row(tmp_path):
    path = tmp_path / "clip.mp4"
    assert video.write_frames(path, iter(frames(count=4)), frames_per_second=12) == 4
    assert video.frames_per_second(str(path)) == pytest.approx(12.0)
    read = list(video.read_frames(str(path)))
    assert len(read) == 4
    assert read[0].shape == (18, 22, 3)  # H.264 needs even sides: 17×21 gains a repeated row and column
    assert abs(int(read[2][5, 5, 0]) - 100) <= 3  # lossy, but close


def test_writing_nothing_leaves_nothing(tmp_path):
    with pytest.raises(video.VideoError, match="no frames to write"):
        video.write_frames(tmp_path / "empty.gif", iter([]), 10)
    assert list(tmp_path.iterdir()) == []


def test_unknown_suffixes_and_missing_files_are_clear_errors(tmp_path):
    assert video.is_video_path("a.MP4") and video.is_video_path("b.gif") and not video.is_video_path("c.png")
    with pytest.raises(video.VideoError, match="not a video suffix"):
        video.frames_per_second(str(tmp_path / "clip.flv"))
    with pytest.raises(video.VideoError, match="no such file"):
        list(video.read_frames(str(tmp_path / "missing.gif")))
    (tmp_path / "fake.gif").write_text("not a gif")
    with pytest.raises(video.VideoError, match="fake.gif: cannot be read as a video"):
        list(video.read_frames(str(tmp_path / "fake.gif")))


@pytest.mark.parametrize("name", ["clip.gif", pytest.param("clip.mp4", marks=needs_ffmpeg)])
def test_videos_get_the_permissions_the_umask_gives(tmp_path, umask_027, name):
    path = tmp_path / name
    video.write_frames(path, iter(frames(size=(16, 16))), frames_per_second=10)
    assert stat.S_IMODE(path.stat().st_mode) == umask_027


def write_folder(folder, sizes, names=None):
    folder.mkdir()
    names = names or [f"f{index + 1}.png" for index in range(len(sizes))]
    for index, (name, size) in enumerate(zip(names, sizes)):
        Image.fromarray(np.full((size[1], size[0], 3), 30 * index, np.uint8)).save(folder / name)
    return folder


def test_a_folder_of_frames_is_a_clip_in_natural_order(tmp_path):
    folder = write_folder(tmp_path / "frames", [(20, 10)] * 3, ["f10.png", "f2.png", "f1.png"])
    (folder / "notes.txt").write_text("not a frame")
    clip = video.open_clip(str(folder))
    assert (clip.frame_count, clip.size, clip.frames_per_second) == (3, (20, 10), video.DEFAULT_FRAMES_PER_SECOND)
    assert [int(frame[0, 0, 0]) for frame in clip.frames()] == [60, 30, 0]  # f1, f2, f10
    assert [int(frame[0, 0, 0]) for frame in clip.frames(start=2)] == [0]


@needs_ffmpeg
def test_a_video_file_is_a_clip_with_its_frame_rate(tmp_path):
    path = tmp_path / "clip.mp4"
    video.write_frames(path, iter(frames(count=5, size=(32, 24))), frames_per_second=12)
    clip = video.open_clip(str(path))
    assert (clip.frame_count, clip.size, clip.has_audio) == (5, (32, 24), False)
    assert float(clip.frames_per_second) == pytest.approx(12.0)
    assert len(list(clip.frames(start=3))) == 2


@pytest.mark.parametrize("case, problem", [
    ("missing", "no such file or folder"),
    ("image", "not a video"),
    ("garbage", "cannot be read as a video"),
    ("empty folder", "no frames"),
    ("sizes", "frames change size: frame 2 is 24×10, the first 20×10"),
    ("broken frame", "frame 2 cannot be used"),
])
def test_unusable_clips_are_one_line_errors(tmp_path, case, problem):
    path = tmp_path / "input"
    if case == "image":
        path = tmp_path / "still.png"
        Image.new("RGB", (20, 20)).save(path)
    elif case == "garbage":
        path = tmp_path / "clip.mp4"
        path.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 8)
    elif case == "empty folder":
        path.mkdir()
    elif case == "sizes":
        write_folder(path, [(20, 10), (24, 10), (20, 10)])
    elif case == "broken frame":
        write_folder(path, [(20, 10)] * 2)
        (path / "f2.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    if case == "garbage" and not video.ffmpeg_available():
        pytest.skip("needs ffmpeg")
    with pytest.raises(video.VideoError, match=problem) as caught:
        video.open_clip(str(path))
    assert str(path) in str(caught.value) and "\n" not in str(caught.value)


def test_ntsc_rates_are_snapped_to_their_fractions():
    assert video.snap_frame_rate(29.97) == Fraction(30000, 1001)
    assert video.snap_frame_rate(23.98) == Fraction(24000, 1001)
    assert video.snap_frame_rate(25.0) == 25 and video.snap_frame_rate(12.5) == Fraction(25, 2)


def make_video_with_sound(path, seconds=1, rate="30000/1001"):
    """A test clip with a 440 Hz tone, made by ffmpeg's own sources (lavfi)."""
    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-v", "error", "-f", "lavfi", "-i",
               f"testsrc2=size=64x48:rate={rate}:duration={seconds}", "-f", "lavfi", "-i",
               f"sine=frequency=440:sample_rate=44100:duration={seconds}", "-c:v", "libx264", "-pix_fmt", "yuv420p",
               "-c:a", "aac", "-shortest", str(path)]
    subprocess.run(command, check=True, capture_output=True)
    return path


@needs_ffmpeg
def test_the_sound_is_kept_and_cut_to_the_frames(tmp_path):
    source = make_video_with_sound(tmp_path / "source.mp4")
    clip = video.open_clip(str(source))
    assert clip.has_audio and clip.frames_per_second == Fraction(30000, 1001)
    output = tmp_path / "out.mp4"
    stylised = (255 - frame for frame in clip.frames())
    assert video.write_frames(output, stylised, clip.frames_per_second, sound_from=source) == clip.frame_count
    assert video.has_audio(str(output)) and video.open_clip(str(output)).frame_count == clip.frame_count
    silent = tmp_path / "silent.mp4"
    video.write_frames(silent, iter(frames(count=3, size=(16, 16))), 10)
    video.write_frames(tmp_path / "from_silent.mp4", iter(frames(count=3, size=(16, 16))), 10, sound_from=silent)
    assert not video.has_audio(str(tmp_path / "from_silent.mp4"))
    assert sorted(item.name for item in tmp_path.iterdir()) == ["from_silent.mp4", "out.mp4", "silent.mp4",
                                                                "source.mp4"]  # no temporary files left
