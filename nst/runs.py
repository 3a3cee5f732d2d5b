"""Style transfer runs that keep a folder: new or resumed, recorded as they go, then finished, interrupted or failed.

The command line and the web page drive a run through here: they bring the config and how to show
progress and ask for a stop; this module reads the inputs, picks the folder, runs nst.transfer with
an nst.outputs.RunRecorder listening, and returns what happened. It prints nothing.
"""

import dataclasses
import pathlib

from nst import config as config_module
from nst import errors
from nst import files
from nst import optimize
from nst import outputs
from nst import transfer


@dataclasses.dataclass(frozen=True)
class FolderRun:
    """A run ready to start: its config, its read inputs, its folder, and where it resumes (None: from the start)."""

    config: config_module.StyleTransferConfig
    prepared: transfer.PreparedRun
    output_dir: pathlib.Path
    resume: transfer.ResumeState | None = None
    record: dict | None = None  # the run.json of the run this one resumes
    budget: object = None  # the memory.Budget automatic tiling plans for (read when the run is made)

    @property
    def tiling(self):
        """run.json's tiling record: whether the full size is tiled, at which tile size, and why."""
        return transfer.tiling_record(self.config, self.prepared, self.budget)


@dataclasses.dataclass(frozen=True)
class Outcome:
    """How a run ended: its result, the final image's path and the status run.json records."""

    result: optimize.OptimizationResult
    final_path: pathlib.Path
    status: str  # finished, ended_early, stopped (non-finite), interrupted


def new_run(config, overwrite=False, content=None, style=None, loaded_weights=None):
    """Reads every input and the weights, then picks and creates the folder; returns a FolderRun.

    The folder is the config's, or its first free run_N subfolder when it holds an earlier run;
    with overwrite it is the config's, and the earlier run's files are removed, but only now that
    every input is known good: a refused run costs nothing. content and style may be given as
    images instead of the config's paths, and the weights as already read LoadedWeights (see
    transfer.prepare). Raises NSTErrors.
    """
    output_dir = outputs.choose_output_directory(config.output_dir, overwrite)
    prepared = transfer.prepare(config, content, style, loaded_weights)
    output_dir = files.prepare_output_directory(output_dir)
    if overwrite:
        outputs.clear_previous_run(output_dir)
    return FolderRun(config, prepared, output_dir, budget=transfer.memory_budget(config))


def resumed_config(folder):
    """(config, record, resume state) of the interrupted run in folder; OutputError when it cannot be resumed."""
    folder = pathlib.Path(folder)
    record = outputs.load_run_record(folder)
    try:
        config = config_module.StyleTransferConfig(**record["config"])
    except (KeyError, TypeError) as error:
        raise errors.OutputError(str(folder), f"run.json has no usable config ({error})") from None
    iteration, image, optimizer_state = outputs.load_resume_state(folder)
    if iteration >= config.total_iterations:
        raise errors.OutputError(str(folder), f"this run already finished its {iteration} iterations")
    return config, record, transfer.ResumeState(iteration, image, optimizer_state)


def resumed_run(folder):
    """The interrupted run in folder, its inputs read again; a FolderRun that continues where it stopped."""
    config, record, resume = resumed_config(folder)
    return FolderRun(config, transfer.prepare(config), pathlib.Path(folder), resume, record,
                     transfer.memory_budget(config))


def _status(result):
    if result.interrupted:
        return "interrupted"
    if result.stop_reason:
        return "stopped"
    return "ended_early" if result.ended_at_limit else "finished"


def execute(run, on_iteration=None, on_snapshot=None, should_stop=None, on_tile=None):
    """Runs a FolderRun, keeping its folder current; returns an Outcome.

    on_iteration, on_snapshot, should_stop and on_tile are the caller's (nst.optimize.Callbacks); the
    folder's recorder hears every event first. A file that cannot be written stops the run with a
    WriteError whose hint says what is kept and how to continue.
    """
    recorder = outputs.RunRecorder(run.output_dir, run.config, run.prepared, tiling=run.tiling)
    if run.record is not None:
        recorder.resume_from(run.record, run.resume.iteration)

    def iteration_done(iteration, costs):
        recorder.on_iteration(iteration, costs)
        if on_iteration:
            on_iteration(iteration, costs)

    def snapshot_taken(snapshot):
        recorder.on_snapshot(snapshot)
        if on_snapshot:
            on_snapshot(snapshot)

    callbacks = optimize.Callbacks(on_iteration=iteration_done, on_snapshot=snapshot_taken, should_stop=should_stop,
                                   on_tile=on_tile)
    try:
        result = transfer.transfer_style(run.config, run.prepared, callbacks, run.resume, budget=run.budget)
        status = _status(result)
        return Outcome(result, recorder.finish(result, status), status)
    except errors.WriteError as error:
        last = recorder.last_snapshot_iteration
        kept = (f"{outputs.RUN_RECORD_NAME} and the snapshot of iteration {last} are kept"
                if last is not None else "nothing of this run was written")
        error.hint = f"{kept}; once the cause is fixed, continue with --resume {run.output_dir}"
        raise
