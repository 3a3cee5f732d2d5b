"""nst.video.runs: a clip's folder (frames, video.mp4, run.json), refusals that write nothing, resuming at a frame."""

import json

import numpy as np
import pytest
from PIL import Image

from nst import config as config_module
from nst import errors
from nst.config import IMAGES_DIR
from nst.video import clips
from nst.video import runs as clip_runs
from nst.video import synthetic
from nst.video import transfer as clip_transfer

needs_ffmpeg = pytest.mark.skipif(not clips.ffmpeg_available(), reason="needs ffmpeg (pip install imageio-ffmpeg)")


@pytest.fixture(scope="module")
def clip_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("frames")
    made = synthetic.make_clip(IMAGES_DIR / "village.jpg", (64, 48), 4, pan=(1.5, 0.5), square_velocity=(-2, 1),
                               square_size=16, square_start=(30, 10))
    for index, frame in enumerate(made.frames):
        Image.fromarray(frame).save(folder / f"frame_{index}.png")
    return folder


def clip_config(source, output_dir, **fields):
    values = dict(content_image=str(source), content_video=str(source), style_image=str(IMAGES_DIR / "swirls.jpg"),
                  weights="random", image_size=48, iterations=4, iterations_per_frame=2, print_every=100,
                  output_dir=str(output_dir))
    return config_module.StyleTransferConfig(**{**values, **fields})


def frame_bytes(folder):
    return {path.name: path.read_bytes() for path in sorted(folder.glob("frame_*.png"))}


@needs_ffmpeg
def test_a_clip_run_leaves_its_frames_video_and_record(clip_folder, tmp_path):
    run = clip_runs.new_run(clip_config(clip_folder, tmp_path / "out"))
    outcome = clip_runs.execute(run)
    assert outcome.status == "finished" and outcome.video_path == tmp_path / "out" / "video.mp4"
    assert list(frame_bytes(tmp_path / "out")) == [f"frame_000{index}.png" for index in range(1, 5)]
    written = clips.open_clip(str(outcome.video_path))
    assert written.frame_count == 4 and written.size == (48, 36) and float(written.frames_per_second) == 25.0
    record = json.loads((tmp_path / "out" / "run.json").read_text())
    assert record["kind"] == "clip" and record["status"] == "finished" and record["frames_done"] == 4
    assert record["clip"] == {"frames": 4, "size": [64, 48], "stylised_size": [48, 36], "frames_per_second": 25.0,
                              "sound": False}
    frames = record["frames"]
    assert [entry["init"] for entry in frames] == ["noise", "warped", "warped", "warped"]
    assert [entry["iterations"] for entry in frames] == [4, 2, 2, 2]
    assert frames[0]["warping_error"] is None and all(entry["warping_error"] > 0 for entry in frames[1:])
    assert record["warping_error"] == pytest.approx(np.mean([entry["warping_error"] for entry in frames[1:]]))
    assert "temporal" not in frames[0]["costs"] and all(entry["costs"]["temporal"] > 0 for entry in frames[1:])
    assert record["seconds_per_frame"]["first"] == frames[0]["seconds"] and record["versions"]["opencv"]
    assert record["config"]["iterations_per_frame"] == 2 and record["video"] == "video.mp4"


def test_an_interrupted_clip_resumes_at_its_frame_and_ends_with_the_same_frames(clip_folder, tmp_path):
    whole = clip_runs.new_run(clip_config(clip_folder, tmp_path / "whole"))
    clip_runs.execute(whole)
    interrupted = clip_runs.new_run(clip_config(clip_folder, tmp_path / "interrupted"))
    finished = []

    def stop_after_two(frame):
        finished.append(frame.index)

    outcome = clip_runs.execute(interrupted, clip_transfer.ClipCallbacks(
        on_frame=stop_after_two, should_stop=lambda: len(finished) >= 2))
    assert outcome.status == "interrupted" and outcome.result.frames_done == 2 and outcome.video_path is None
    assert json.loads((tmp_path / "interrupted" / "run.json").read_text())["frames_done"] == 2
    resumed = clip_runs.resumed_run(tmp_path / "interrupted")
    assert resumed.position.next_frame == 2 and resumed.position.previous_pixels.shape == (36, 48, 3)
    assert clip_runs.execute(resumed).status == "finished"
    # Same machine, same seed, frame 3 started again from frame 2's saved optimised image: identical frames.
    assert frame_bytes(tmp_path / "interrupted") == frame_bytes(tmp_path / "whole")
    record = json.loads((tmp_path / "interrupted" / "run.json").read_text())
    assert [entry["frame"] for entry in record["frames"]] == [1, 2, 3, 4] and record["status"] == "finished"
    whole_record = json.loads((tmp_path / "whole" / "run.json").read_text())
    assert record["warping_error"] == pytest.approx(whole_record["warping_error"], rel=1e-9)
    with pytest.raises(errors.OutputError, match="already stylised all 4 frames"):
        clip_runs.resumed_run(tmp_path / "interrupted")


def test_a_refused_clip_writes_nothing_and_overwrite_keeps_the_earlier_run(tmp_path):
    earlier = tmp_path / "out"
    earlier.mkdir()
    (earlier / "frame_0001.png").write_bytes(b"an earlier run's frame")
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video at all")
    for source, overwrite in ((bad, True), (tmp_path / "missing", False)):
        with pytest.raises(errors.VideoError):
            clip_runs.new_run(clip_config(source, earlier), overwrite=overwrite)
    assert [path.name for path in earlier.iterdir()] == ["frame_0001.png"]
    assert (earlier / "frame_0001.png").read_bytes() == b"an earlier run's frame"


def test_resuming_a_clip_that_changed_is_refused(clip_folder, tmp_path):
    folder = tmp_path / "frames"
    folder.mkdir()
    for path in sorted(clip_folder.iterdir())[:3]:
        (folder / path.name).write_bytes(path.read_bytes())
    run = clip_runs.new_run(clip_config(folder, tmp_path / "out", iterations=2, iterations_per_frame=1))
    clip_runs.execute(run, clip_transfer.ClipCallbacks(should_stop=lambda: True))
    (folder / "frame_2.png").unlink()
    with pytest.raises(errors.OutputError, match="has changed since this run started"):
        clip_runs.resumed_run(tmp_path / "out")
