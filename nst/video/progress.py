"""Showing a clip's progress: frames and iterations, with the time left for the whole clip."""

import sys
import time

from nst import outputs
from nst import progress
from nst.video import transfer as clip_transfer


class ClipProgressDisplay:
    """Receives the clip loop's callbacks and shows them.

    On a terminal a tqdm bar counts the clip's iterations (all frames) with its ETA, the lines
    printed above it; in logs one line per snapshot and per frame, each with the time left for
    the clip, estimated from the seconds per iteration so far (flow and set-up included); with
    quiet, nothing.
    """

    def __init__(self, run, quiet=False, stream=None):
        self.run = run
        self.quiet = quiet
        self.stream = stream or sys.stdout
        self.first_iteration = run.iterations_before(run.position.next_frame)
        self.frame_base = self.first_iteration
        self.started = time.perf_counter()
        self.bar = None
        if not quiet and sys.stderr.isatty():
            import tqdm

            self.bar = tqdm.tqdm(total=run.total_iterations, initial=self.first_iteration, unit="it",
                                 dynamic_ncols=True, file=sys.stderr)

    def callbacks(self, should_stop=None):
        """nst.video.transfer.ClipCallbacks that report here."""
        return clip_transfer.ClipCallbacks(self.on_frame_start, self.on_iteration, self.on_snapshot, self.on_frame,
                                           should_stop)

    def _frame_label(self, index):
        return f"Frame {index + 1}/{self.run.clip.frame_count}"

    def _time_left(self, iterations_done):
        """' [elapsed, s/iteration, clip ETA]' once something has been done, else ''."""
        done = iterations_done - self.first_iteration
        if done <= 0:
            return ""
        elapsed = time.perf_counter() - self.started
        rate = elapsed / done
        remaining = rate * (self.run.total_iterations - iterations_done)
        return f" [{progress.duration(elapsed)}, {rate:.2f} s/iteration, clip ETA {progress.duration(remaining)}]"

    def on_frame_start(self, start):
        self.frame_base = self.run.iterations_before(start.index)
        how = "from the previous frame, warped" if start.init == "warped" else f"from {start.init}"
        flow = f" (flow and weights {start.flow_seconds:.2f} s)" if start.index else ""
        self.write(f"{self._frame_label(start.index)}: {start.iterations} iterations {how}{flow}")

    def on_iteration(self, index, iteration, costs):
        if self.bar is not None:
            self.bar.update(self.frame_base + iteration - self.bar.n)
            self.bar.set_postfix(frame=f"{index + 1}/{self.run.clip.frame_count}", total=f"{costs.total:.3g}",
                                 refresh=False)

    def on_snapshot(self, index, snapshot):
        costs = outputs.describe_costs(snapshot.iteration, snapshot.costs)  # "Iteration 20: total cost = …"
        line = f"{self._frame_label(index)}, {costs[:1].lower()}{costs[1:]}"
        self.write(line + self._time_left(self.frame_base + snapshot.iteration))

    def on_frame(self, frame):
        error = "" if frame.warping_error is None else (
            f", warping error with the frame before {frame.warping_error:.4g}")
        done = self.run.iterations_before(frame.index + 1)
        self.write(f"{self._frame_label(frame.index)} done in {frame.seconds:.1f} s{error}" + self._time_left(done))

    def write(self, line):
        if self.quiet:
            return
        if self.bar is not None:
            self.bar.write(line, file=self.stream)
        else:
            print(line, file=self.stream, flush=True)

    def close(self):
        if self.bar is not None:
            self.bar.close()
            self.bar = None
