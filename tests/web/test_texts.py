"""nst.web.texts: the status lines say the iteration, costs, time and ETA; the weights note is the command line's."""

import pathlib

import pytest
from PIL import Image

from nst import errors
from nst import optimize
from nst.web import painting
from nst.web import texts
from nst.weights import search

COSTS = optimize.Costs(total=4.37875e7, content=91.3044, style=1.09466e6)


def test_a_snapshot_says_iteration_costs_elapsed_time_and_eta():
    event = painting.Progress(20, 200, 0, COSTS, 15.6, pathlib.Path("iteration_0020.png"), ())
    assert texts.snapshot(event) == (
        "**Iteration 20 of 200** · 15.6 s elapsed · 0.78 s/iteration · ETA 2 min 20 s\n\n"
        "total cost = 4.37875e+07, content cost = 91.3044, style cost = 1.09466e+06")
    first = painting.Progress(0, 200, 0, COSTS, 0.0, pathlib.Path("iteration_0000.png"), ())
    assert texts.snapshot(first).startswith("**Iteration 0 of 200**\n\n")


def test_the_weights_note_repeats_the_command_lines_message_and_hint(tmp_path):
    with pytest.raises(errors.WeightsError) as missing:
        search.find_imagenet_weights([tmp_path], allow_download=False)
    note = texts.weights_missing_note(missing.value)
    assert str(missing.value) in note and missing.value.hint in note and "--weights random" in note
    assert "Untrained weights (demo)" in note


@pytest.mark.parametrize("status, expected", [
    ("finished", "**Done: 4 iterations** in 2.0 s (0.50 s/iteration)."),
    ("interrupted", "**Stopped at iteration 4.** The image of that iteration is kept."),
])
def test_the_last_line_says_how_the_run_ended(tmp_path, status, expected):
    final = tmp_path / "generated_image.png"
    Image.new("RGB", (64, 48)).save(final)
    result = optimize.OptimizationResult(None, COSTS, 4, 4, 2.0, interrupted=status == "interrupted")
    from nst import runs

    event = painting.Finished(runs.Outcome(result, final, status), tmp_path, (final,), ())
    text = texts.finished(event)
    assert text.startswith(expected) and "64×48" in text and "Downloads: generated_image.png" in text
