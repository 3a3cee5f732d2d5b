"""nst.runs: a run picks a free folder, records itself, stops on request, and resumes, from old run.json files too."""

import json

import numpy as np
import pytest
from PIL import Image

from nst import config as config_module
from nst import errors
from nst import runs


@pytest.fixture
def config(tmp_path):
    for name, seed in (("content.png", 0), ("style.png", 1)):
        pixels = np.random.default_rng(seed).integers(0, 256, (24, 32, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(tmp_path / name)
    return config_module.StyleTransferConfig(
        content_image=str(tmp_path / "content.png"), style_image=str(tmp_path / "style.png"),
        output_dir=str(tmp_path / "out"), weights="random", image_size=32, iterations=6, print_every=2)


def test_a_finished_run_is_recorded_and_the_next_one_gets_a_new_folder(config):
    first = runs.new_run(config)
    outcome = runs.execute(first)
    assert outcome.status == "finished" and outcome.result.iterations == 6
    assert outcome.final_path == first.output_dir / "generated_image.png" and outcome.final_path.exists()
    assert json.loads((first.output_dir / "run.json").read_text())["status"] == "finished"
    second = runs.new_run(config)
    assert second.output_dir == first.output_dir / "run_2"  # the first run is the folder itself
    with pytest.raises(errors.OutputError, match="already finished its 6 iterations"):
        runs.resumed_config(first.output_dir)


def test_a_stopped_run_resumes_where_it_stopped_from_a_run_json_with_the_old_field_names(config):
    iterations_seen = []

    def stop_after_three():
        return len(iterations_seen) >= 3

    run = runs.new_run(config)
    outcome = runs.execute(run, on_iteration=lambda iteration, costs: iterations_seen.append(iteration),
                           should_stop=stop_after_three)
    assert outcome.status == "interrupted" and outcome.result.iterations == 3
    # Runs written before the fields were renamed stored alpha, beta, tv_weight and epochs.
    record_path = run.output_dir / "run.json"
    record = json.loads(record_path.read_text())
    for old_name, new_name in config_module.RENAMED_FIELDS.items():
        record["config"][old_name] = record["config"].pop(new_name)
    record_path.write_text(json.dumps(record))

    resumed_config, _, resume = runs.resumed_config(run.output_dir)
    assert resumed_config == config and resume.iteration == 3
    finished = runs.execute(runs.resumed_run(run.output_dir))
    assert finished.status == "finished" and finished.result.iterations == 6


def test_a_folder_without_a_usable_run_json_cannot_be_resumed(config, tmp_path):
    folder = tmp_path / "not_a_run"
    folder.mkdir()
    with pytest.raises(errors.OutputError, match="not_a_run"):
        runs.resumed_config(folder)
    (folder / "run.json").write_text(json.dumps({"config": {"no_such_field": 1}, "status": "interrupted"}))
    with pytest.raises(errors.OutputError, match="run.json has no usable config"):
        runs.resumed_config(folder)


def test_weights_read_once_serve_a_new_run_without_being_read_again(config, monkeypatch, random_weights):
    from nst import weights as weights_module

    def no_reading(*arguments, **keywords):
        raise AssertionError("the run read the weights again")

    monkeypatch.setattr(weights_module, "load_weights", no_reading)
    run = runs.new_run(config, loaded_weights=random_weights)
    assert run.prepared.loaded_weights is random_weights
