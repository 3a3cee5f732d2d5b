"""nst.progress: plain lines when not on a terminal, nothing when quiet, durations a person reads at a glance."""

import io

import numpy as np

from nst import optimize
from nst import progress


def snapshot(iteration):
    return optimize.Snapshot(iteration, np.zeros((2, 2, 3), np.float32), optimize.Costs(100.0, 1.0, 2.0), 1.0)


def test_plain_lines_with_rate_and_eta_when_not_a_terminal():
    stream = io.StringIO()
    display = progress.ProgressDisplay(total_iterations=40, stream=stream)
    assert display.bar is None  # pytest's stderr is not a terminal
    display.on_snapshot(snapshot(0))
    display.on_iteration(20, optimize.Costs(50.0, 1.0, 1.0))
    display.on_snapshot(snapshot(20))
    lines = stream.getvalue().splitlines()
    assert lines[0] == "Iteration 0: total cost = 100, content cost = 1, style cost = 2"
    assert lines[1].startswith("Iteration 20: total cost = 100") and "s/iteration, ETA" in lines[1]


def test_quiet_prints_nothing():
    stream = io.StringIO()
    display = progress.ProgressDisplay(total_iterations=10, quiet=True, stream=stream)
    display.on_snapshot(snapshot(5))
    display.write("hello")
    assert stream.getvalue() == ""


def test_durations_are_written_in_their_two_largest_units():
    assert progress.duration(42) == "42 s"
    assert progress.duration(99_900 * 2.5) == "69 h 22 min"


def test_a_slow_tiled_evaluation_says_where_it_is_in_logs():
    from nst import tiling

    stream = io.StringIO()
    display = progress.ProgressDisplay(total_iterations=10, first_iteration=4, stream=stream)
    display.on_tile(tiling.TileProgress(1, 0, 24))
    assert stream.getvalue() == ""  # nothing printed yet only because a line was printed recently
    display.last_line -= display.TILE_LINE_SECONDS
    display.on_tile(tiling.TileProgress(2, 6, 24))
    display.on_tile(tiling.TileProgress(2, 7, 24))  # the next line waits another TILE_LINE_SECONDS
    assert stream.getvalue().splitlines() == ["Iteration 5: pass 2 of 2, tiles 7/24"]
