"""nst.web.painting: a page's run is nst.runs' run (the same files and image), streamed, stoppable, leaving nothing."""

import json
import queue

import numpy as np
import pytest
from PIL import Image

from nst import config as config_module
from nst import errors
from nst import interrupts
from nst import optimize
from nst import runs
from nst.web import memory
from nst.web import painting


@pytest.fixture(scope="module")
def painter():
    return painting.Painter()


@pytest.fixture
def config(tmp_path):
    for name, seed in (("content.png", 0), ("style.png", 1)):
        pixels = np.random.default_rng(seed).integers(0, 256, (24, 32, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(tmp_path / name)
    return config_module.StyleTransferConfig(
        content_image=str(tmp_path / "content.png"), style_image=str(tmp_path / "style.png"),
        output_dir=str(tmp_path / "page"), weights="random", image_size=32, iterations=4, print_every=1)


def test_a_page_run_writes_what_the_command_line_writes(painter, config, tmp_path):
    events = list(painter.paint(config, None, None, interrupts.StopRequest()))
    assert isinstance(events[0], painting.Started) and isinstance(events[-1], painting.Finished)
    progress = [event for event in events if isinstance(event, painting.Progress)]
    assert [event.iteration for event in progress] == [0, 1, 2, 3, 4]
    assert all(event.image_path.is_file() and event.total_iterations == 4 for event in progress)
    assert [iteration for iteration, _ in progress[-1].history] == [1, 2, 3, 4]
    assert progress[2].seconds_left == pytest.approx(progress[2].seconds_per_iteration * 2)

    finished = events[-1]
    assert finished.outcome.status == "finished"
    assert [path.name for path in finished.downloads] == ["generated_image.png", "progress.gif", "run.json"]
    assert Image.open(finished.outcome.final_path).size == (32, 24)

    command_line = runs.new_run(config.replace(output_dir=str(tmp_path / "command_line")))
    runs.execute(command_line)
    assert sorted(path.name for path in finished.output_dir.iterdir()) == sorted(
        path.name for path in command_line.output_dir.iterdir())
    assert (finished.output_dir / "generated_image.png").read_bytes() == (
        command_line.output_dir / "generated_image.png").read_bytes()  # deterministic: the same image


def test_stop_ends_the_run_after_its_iteration_keeps_the_image_and_writes_the_animation(painter, config):
    stop = interrupts.StopRequest()
    events = []
    for event in painter.paint(config.replace(iterations=50), None, None, stop):
        events.append(event)
        if isinstance(event, painting.Progress) and event.iteration == 2:
            stop.request()
    finished = events[-1]
    stopped_at = finished.outcome.result.iterations  # the worker may have gone on while the event travelled
    assert finished.outcome.status == "interrupted" and 3 <= stopped_at < 10
    assert [path.name for path in finished.downloads] == ["generated_image.png", "progress.gif", "run.json"]
    record = json.loads((finished.output_dir / "run.json").read_text())
    assert record["status"] == "interrupted" and record["iterations"] == stopped_at
    assert Image.open(finished.downloads[1]).n_frames == len(record["snapshots"]) == stopped_at + 1  # 0 … stopped_at


def test_a_run_that_cannot_start_raises_its_error_and_the_next_one_runs(painter, config, tmp_path):
    with pytest.raises(errors.WeightsError, match="missing.h5"):
        list(painter.paint(config.replace(weights=str(tmp_path / "missing.h5")), None, None,
                           interrupts.StopRequest()))
    assert isinstance(list(painter.paint(config, None, None, interrupts.StopRequest()))[-1], painting.Finished)


def test_closing_the_stream_early_stops_the_run(painter, config):
    stream = painter.paint(config.replace(iterations=10_000), None, None, interrupts.StopRequest())
    for event in stream:
        if isinstance(event, painting.Progress) and event.iteration >= 1:
            break
    stream.close()  # the page went away: the run stops after its iteration, the painter is free again
    assert painter._lock.acquire(timeout=5)
    painter._lock.release()


def test_runs_leave_no_custom_gradients_behind(painter, config):
    before = memory.custom_gradients()
    for _ in range(2):
        list(painter.paint(config, None, None, interrupts.StopRequest()))
    assert memory.custom_gradients() == before


def test_weights_are_read_once_for_runs_that_name_the_same_ones(config):
    cache = painting.WeightsCache()
    first = cache.get(config)
    assert cache.get(config.replace(iterations=9)) is first
    assert cache.get(config.replace(seed=4)) is not first  # untrained weights depend on the seed


def test_a_slow_page_gets_the_newest_snapshot_and_every_other_event():
    events = queue.Queue()
    snapshots = [painting.Progress(index, 9, 0, optimize.Costs(1.0, 1.0, 1.0), 1.0, None, ()) for index in range(3)]
    for event in ("started", *snapshots, "finished", None):
        events.put(event)
    assert list(painting._relay(events)) == ["started", snapshots[-1], "finished"]
