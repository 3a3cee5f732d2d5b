"""nst.video: frames in and out of GIFs and (with ffmpeg) MP4s, frame rates, and clear errors."""

import stat

import numpy as np
import pytest

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
