"""Showing a run's progress: a tqdm bar on a terminal, plain periodic lines in logs, nothing when quiet."""

import sys
import time

from nst import outputs


class ProgressDisplay:
    """Receives the loop's callbacks and shows them.

    On a terminal, a tqdm bar (iteration, it/s, ETA, current costs) with the snapshot lines
    printed above it; otherwise (CI, logs, notebooks' captured output) one line per
    snapshot with the elapsed time, rate and ETA; with quiet, nothing.

    A tiled image (nst.tiling) takes two passes over its tiles per evaluation, which at 8K is
    minutes: on a terminal a second bar follows the tiles, in logs a line says where the
    evaluation is whenever nothing has been printed for TILE_LINE_SECONDS.
    """

    TILE_LINE_SECONDS = 30.0

    def __init__(self, total_iterations, first_iteration=0, quiet=False, stream=None):
        self.total_iterations = total_iterations
        self.first_iteration = first_iteration
        self.quiet = quiet
        self.stream = stream or sys.stdout
        self.started = time.perf_counter()
        self.bar = None
        self.tile_bar = None
        self.last_line = self.started
        self.iteration = first_iteration
        if not quiet and sys.stderr.isatty():
            import tqdm

            self.bar = tqdm.tqdm(total=total_iterations, initial=first_iteration, unit="it", dynamic_ncols=True,
                                 file=sys.stderr)

    def on_iteration(self, iteration, costs):
        self.iteration = iteration
        if self.bar is not None:
            self.bar.update(iteration - self.bar.n)
            self.bar.set_postfix(total=f"{costs.total:.3g}", content=f"{costs.content:.3g}",
                                 style=f"{costs.style:.3g}", refresh=False)

    def on_snapshot(self, snapshot):
        if self.quiet:
            return
        line = outputs.describe_costs(snapshot.iteration, snapshot.costs)
        done = snapshot.iteration - self.first_iteration
        if done > 0:
            elapsed = time.perf_counter() - self.started
            rate = elapsed / done
            remaining = rate * (self.total_iterations - snapshot.iteration)
            line += f" [{elapsed:.1f} s, {rate:.2f} s/iteration, ETA {remaining:.0f} s]"
        self.write(line)

    def on_tile(self, tile_progress):
        if self.quiet:
            return
        description = f"pass {tile_progress.pass_number} of 2, tiles"
        if self.bar is not None:
            import tqdm

            if self.tile_bar is None:
                self.tile_bar = tqdm.tqdm(total=tile_progress.tile_count, unit="tile", position=1, leave=False,
                                          dynamic_ncols=True, file=sys.stderr)
            if tile_progress.tile_index == 0:
                self.tile_bar.reset(total=tile_progress.tile_count)
                self.tile_bar.set_description(description, refresh=False)
            self.tile_bar.update(tile_progress.tile_index + 1 - self.tile_bar.n)
        elif time.perf_counter() - self.last_line >= self.TILE_LINE_SECONDS:
            self.write(f"Iteration {self.iteration + 1}: {description} {tile_progress.tile_index + 1}"
                       f"/{tile_progress.tile_count}")

    def write(self, line):
        if self.quiet:
            return
        self.last_line = time.perf_counter()
        if self.bar is not None:
            self.bar.write(line, file=self.stream)
        else:
            print(line, file=self.stream, flush=True)

    def close(self):
        for bar in (self.tile_bar, self.bar):
            if bar is not None:
                bar.close()
        self.bar = self.tile_bar = None


def duration(seconds):
    """'42 s', '7 min 30 s', '5 h 20 min': readable for a step and for a day of training."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60} min"


