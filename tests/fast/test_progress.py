"""nst.fast.progress: a training log line gives the losses, the speed, the time per step and the time left."""

import types

from nst.fast import progress
from nst.fast import training


def test_log_lines_give_the_time_per_step_and_the_time_left(tmp_path, capsys):
    """A resumed run (from step 200) that took 50 s for 100 steps: 0.5 s a step, 900 steps left."""
    run = types.SimpleNamespace(is_chief=True, start_step=200, total_steps=1200)
    display = progress.TrainingDisplay(run, tmp_path)
    losses = {"total": 12.5, "content": 2.5, "style": 6.0, "total_variation": 4.0}
    for step in (299, 300):
        display.on_progress(training.TrainingProgress(step, 1200, losses, elapsed_seconds=(step - 200) / 2,
                                                  images_per_second=8.0))
    assert capsys.readouterr().out == ("Step 300/1200: loss 12.5 (content 2.5, style 6, total variation 4), "
                                       "8.0 images/s [50 s, 0.50 s/step, ETA 7 min 30 s]\n")
