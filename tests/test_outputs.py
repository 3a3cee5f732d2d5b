"""nst.outputs: output folder reuse, resume state, run record, animation, plot and summary."""

import json

import numpy as np
import PIL.Image
import pytest

from nst import config as config_module
from nst import files
from nst import optimize
from nst import outputs
from nst import transfer


def test_new_or_empty_folder_is_used_directly(tmp_path):
    assert outputs.choose_output_directory(tmp_path / "new") == tmp_path / "new"
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "README.md").write_text("kept in git")
    assert outputs.choose_output_directory(tmp_path / "empty") == tmp_path / "empty"


def test_a_previous_run_is_never_overwritten_silently(tmp_path):
    (tmp_path / "generated_image.png").write_bytes(b"earlier")
    assert outputs.choose_output_directory(tmp_path) == tmp_path / "run_2"
    (tmp_path / "run_2").mkdir()
    (tmp_path / "run_2" / "run.json").write_text("{}")
    assert outputs.choose_output_directory(tmp_path) == tmp_path / "run_3"
    assert (tmp_path / "generated_image.png").read_bytes() == b"earlier"


def test_overwrite_chooses_the_folder_and_clearing_removes_only_run_files(tmp_path):
    names = ("generated_image.png", "iteration_0020.png", "run.json", "resume_state.npz", "notes.txt")
    for name in names:
        (tmp_path / name).write_text("x")
    assert outputs.choose_output_directory(tmp_path, overwrite=True) == tmp_path
    assert sorted(path.name for path in tmp_path.iterdir()) == sorted(names)  # choosing touches nothing
    outputs.clear_previous_run(tmp_path)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["notes.txt"]


def test_resume_state_round_trip(tmp_path):
    image = np.random.default_rng(0).uniform(0, 255, (4, 5, 3)).astype(np.float32)
    state = (np.asarray(7), np.asarray(2.0), np.ones((1, 4, 5, 3), np.float32))
    outputs.save_resume_state(tmp_path, 7, image, state)
    iteration, loaded_image, loaded_state = outputs.load_resume_state(tmp_path)
    assert iteration == 7
    np.testing.assert_array_equal(loaded_image, image)
    assert len(loaded_state) == 3 and int(loaded_state[0]) == 7
    np.testing.assert_array_equal(loaded_state[2], state[2])


def test_missing_resume_files_are_clean_errors(tmp_path):
    with pytest.raises(files.OutputError, match="no run.json"):
        outputs.load_run_record(tmp_path)
    with pytest.raises(files.OutputError, match="cannot resume"):
        outputs.load_resume_state(tmp_path)


def test_sha256_of_a_known_file(tmp_path):
    (tmp_path / "abc.txt").write_bytes(b"abc")
    assert outputs.file_sha256(tmp_path / "abc.txt") == (
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")


@pytest.fixture
def recorder(tmp_path, random_weights):
    content = PIL.Image.new("RGB", (8, 6), (200, 30, 30))
    style = PIL.Image.new("RGB", (8, 6), (30, 30, 200))
    config = config_module.StyleTransferConfig(content_image="content.png", style_image="style.png",
                                               weights="random", image_size=16)
    prepared = transfer.PreparedRun(content, (style,), None, random_weights)
    return outputs.RunRecorder(tmp_path, config, prepared)


def test_recorder_writes_a_complete_run(recorder, tmp_path):
    for iteration, total in [(0, 30.0), (2, 20.0), (4, 10.0)]:
        image = np.full((6, 8, 3), 40.0 * iteration, np.float32)
        recorder.on_iteration(iteration + 1, optimize.Costs(total, 1.0, 2.0))
        recorder.on_snapshot(optimize.Snapshot(iteration, image, optimize.Costs(total, 1.0, 2.0), 0.1 * iteration))
        assert json.loads((tmp_path / "run.json").read_text())["status"] == "running"
    result = optimize.OptimizationResult(np.full((6, 8, 3), 160.0, np.float32), optimize.Costs(10.0, 1.0, 2.0),
                                         4, 4, 0.4, None, 4)
    recorder.finish(result, "finished")
    record = json.loads((tmp_path / "run.json").read_text())
    assert record["status"] == "finished" and record["iterations"] == 4
    assert [entry["costs"]["total"] for entry in record["snapshots"]] == [30.0, 20.0, 10.0]
    assert record["config"]["content_image"] == "content.png" and record["seed"] == 3
    assert set(record["versions"]) >= {"tensorflow", "keras", "numpy", "pillow"}
    assert record["weights"]["source"].startswith("random")
    with PIL.Image.open(tmp_path / "progress.gif") as animation:
        assert animation.n_frames == 3
        animation.seek(2)
        assert animation.convert("RGB").getpixel((0, 0)) == (160, 160, 160)
    with PIL.Image.open(tmp_path / "losses.png") as plot, PIL.Image.open(tmp_path / "summary.png") as summary:
        assert plot.size[0] > 300 and summary.size[0] > summary.size[1]
    with PIL.Image.open(tmp_path / "generated_image.png") as final:
        assert final.size == (8, 6)


def test_previews_of_a_large_run_are_capped_and_the_history_is_timed(tmp_path, random_weights):
    content = PIL.Image.new("RGB", (2400, 1350), (200, 30, 30))
    config = config_module.StyleTransferConfig(content_image="content.png", style_image="style.png",
                                               weights="random", image_size=2400)
    prepared = transfer.PreparedRun(content, (content,), None, random_weights)
    recorder = outputs.RunRecorder(tmp_path, config, prepared, tiling={"tile_size": 512, "tile_count": 15})
    image = np.full((1350, 2400, 3), 90.0, np.float32)
    for iteration in (0, 1):
        recorder.on_iteration(iteration + 1, optimize.Costs(5.0, 1.0, 2.0))
        recorder.on_snapshot(optimize.Snapshot(iteration, image, optimize.Costs(5.0, 1.0, 2.0), 0.1))
    recorder.finish(optimize.OptimizationResult(image, optimize.Costs(5.0, 1.0, 2.0), 2, 2, 0.2, None, 2), "finished")
    assert outputs.preview_size((2400, 1350)) == (1024, 576) and outputs.preview_size((640, 480)) == (640, 480)
    with PIL.Image.open(tmp_path / "progress.gif") as animation:
        assert animation.size == (1024, 576)
    with PIL.Image.open(tmp_path / "summary.png") as summary, PIL.Image.open(tmp_path / "generated_image.png") as final:
        assert final.size == (2400, 1350) and max(summary.size) <= 1024
    record = json.loads((tmp_path / "run.json").read_text())
    assert record["tiling"] == {"tile_size": 512, "tile_count": 15}
    seconds = [entry["wall_seconds"] for entry in record["history"]]
    assert len(seconds) == 2 and 0 <= seconds[0] <= seconds[1]
