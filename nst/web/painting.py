"""The bridge from the page to nst.runs: one style transfer at a time, in a worker thread, its progress as a generator.

nst.runs reports through callbacks from inside its loop; a web page wants values it can send as
they come. The run goes to a worker thread, its snapshots come back through a queue, and
Painter.paint yields them. The run writes the command line's files (iteration_NNNN.png,
generated_image.png, progress.gif, run.json, …) into its folder, because it is nst.runs that
writes them.
"""

import dataclasses
import logging
import pathlib
import queue
import threading

from nst import errors
from nst import outputs
from nst import runs
from nst.web import memory

log = logging.getLogger(__name__)

# The files a finished (or stopped) run offers for download, in this order.
DOWNLOAD_NAMES = (outputs.FINAL_IMAGE_NAME, outputs.ANIMATION_NAME, outputs.RUN_RECORD_NAME)
_INTERNAL_ERROR = "the run failed inside the server (its log has the details); the page and other runs are unaffected"


@dataclasses.dataclass(frozen=True)
class Started:
    """The inputs and weights are read and the run's folder made; the optimisation begins."""

    run: runs.FolderRun


@dataclasses.dataclass(frozen=True)
class Progress:
    """A snapshot: its image file, costs and timing, and every iteration's costs so far (for the plot)."""

    iteration: int
    total_iterations: int
    first_iteration: int
    costs: object  # nst.optimize.Costs
    elapsed_seconds: float  # of optimisation, as Snapshot.elapsed_seconds
    image_path: pathlib.Path  # the snapshot nst.runs wrote, iteration_NNNN.png
    history: tuple  # ((iteration, Costs), …)

    @property
    def seconds_per_iteration(self):
        done = self.iteration - self.first_iteration
        return self.elapsed_seconds / done if done > 0 else None

    @property
    def seconds_left(self):
        rate = self.seconds_per_iteration
        return None if rate is None else rate * (self.total_iterations - self.iteration)


@dataclasses.dataclass(frozen=True)
class Finished:
    """How the run ended (nst.runs.Outcome), and the files to offer for download."""

    outcome: runs.Outcome
    output_dir: pathlib.Path
    downloads: tuple  # paths, DOWNLOAD_NAMES that exist
    history: tuple


class WeightsCache:
    """The weights of the last run, kept for the next: reading a 510 MB MatConvNet file for every run is slow.

    Used under Painter's lock only. Weights are keyed by what names them: the config's weights
    and, for untrained ones, its seed.
    """

    def __init__(self):
        self._key = None
        self._weights = None

    def get(self, config):
        from nst import weights as weights_module

        key = (config.weights, config.seed if str(config.weights).strip().lower() == "random" else None)
        if key != self._key:
            self._key, self._weights = None, None  # the old ones are released before the new ones are read
            self._weights = weights_module.load_weights(config.weights, seed=config.seed,
                                                        allow_download=config.allow_download)
            self._key = key
        return self._weights


class Painter:
    """Runs style transfers one at a time in this process (the queue in front of it holds the others)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._weights = WeightsCache()

    def paint(self, config, content, styles, stop):
        """Runs config's style transfer on content and styles (PIL images); yields Started, Progress…, Finished.

        stop is the run's nst.interrupts.StopRequest: asked, the run ends after its current
        iteration and keeps that image, as Ctrl-C does on the command line. Raises the NSTError
        that refused the run (bad input, weights not found, a write that failed). Closing the
        generator early (the page went away) stops the run and waits for it.
        """
        events = queue.Queue()
        worker = threading.Thread(target=self._work, args=(config, content, styles, stop, events),
                                  name="nst-web-run", daemon=True)
        worker.start()
        try:
            yield from _relay(events)
        finally:
            if worker.is_alive():
                stop.request()
                worker.join()

    def _work(self, config, content, styles, stop, events):
        history = []

        def on_iteration(iteration, costs):
            history.append((iteration, costs))

        with self._lock:
            gradients_before = memory.custom_gradients()
            try:
                run = runs.new_run(config, content=content, style=styles, loaded_weights=self._weights.get(config))
                events.put(Started(run))
                first = run.resume.iteration if run.resume else 0

                def on_snapshot(snapshot):
                    events.put(Progress(snapshot.iteration, config.total_iterations, first, snapshot.costs,
                                        snapshot.elapsed_seconds,
                                        outputs.snapshot_path(run.output_dir, snapshot.iteration), tuple(history)))

                outcome = runs.execute(run, on_iteration, on_snapshot, stop.requested)
                if outcome.status == "interrupted":
                    _write_animation_so_far(run.output_dir)
                downloads = tuple(run.output_dir / name for name in DOWNLOAD_NAMES
                                  if (run.output_dir / name).is_file())
                events.put(Finished(outcome, run.output_dir, downloads, tuple(history)))
            except errors.NSTError as error:
                events.put(error)
            except Exception:  # noqa: BLE001 - the server must outlive any failure of one run
                log.exception("a run failed")
                events.put(errors.NSTError(_INTERNAL_ERROR))
            finally:
                removed = memory.release_run(gradients_before)
                log.debug("released %d custom gradients after the run", removed)
                events.put(None)


def _relay(events):
    """Yields the worker's events until it is done; the latest snapshot only, when several wait (a slow page)."""
    while True:
        event = events.get()
        pending = [event]
        while not events.empty():
            pending.append(events.get_nowait())
        # Snapshots the page has not shown yet are superseded by the newest one; every other event is kept.
        progress = [item for item in pending if isinstance(item, Progress)]
        for item in pending:
            if isinstance(item, Progress) and item is not progress[-1]:
                continue
            if item is None:
                return
            if isinstance(item, errors.NSTError):
                raise item
            yield item


def _write_animation_so_far(output_dir):
    """progress.gif of the snapshots a stopped run wrote (the command line writes it only for finished runs).

    The page's Stop keeps the image and offers the animation too; a failure here costs only the GIF.
    """
    try:
        outputs.write_animation(output_dir, outputs.load_run_record(output_dir).get("snapshots", []))
    except (OSError, ValueError, errors.NSTError) as error:
        log.warning("no progress.gif for the stopped run in %s: %s", output_dir, error)
