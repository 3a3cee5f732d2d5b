"""The checkpoint a training run resumes from: the newest intact one, and what was wrong with any newer ones."""

import collections
import contextlib
import dataclasses
import gc
import logging
import pathlib
import re

import tensorflow as tf
from nst import errors

PREFIX = "step"  # checkpoints are <folder>/step-<N>.index and step-<N>.data-…
STATE_FILENAME = "checkpoint"  # tf.train.CheckpointManager's list of its checkpoints
_NAME = re.compile(rf"^{PREFIX}-(\d+)$")


CheckpointError = errors.CheckpointError


@dataclasses.dataclass(frozen=True)
class SkippedCheckpoint:
    """A checkpoint newer than the one resumed from that could not be used."""

    step: int
    path: str  # the file at fault
    problem: str


@dataclasses.dataclass(frozen=True)
class Restored:
    """The checkpoint restored (None: there was none to restore) and the newer ones that were skipped."""

    path: str | None
    skipped: tuple = ()


def prefix(folder, step):
    """<folder>/step-<step>: what tf.train.CheckpointManager calls the checkpoint of that step."""
    return pathlib.Path(folder) / f"{PREFIX}-{step}"


def _steps_named_by_state_file(folder):
    """Steps the manager's state file names; none when it is missing or unreadable (the files themselves count)."""
    try:
        text = (pathlib.Path(folder) / STATE_FILENAME).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return set()
    names = (pathlib.PurePath(quoted).name for quoted in re.findall(r'"([^"]*)"', text))
    return {int(match.group(1)) for match in map(_NAME.match, names) if match}


def checkpoint_steps(folder):
    """Steps of the checkpoints in folder, newest first: those with an index file and those the state file names."""
    folder = pathlib.Path(folder)
    on_disk = {int(match.group(1)) for match in (_NAME.match(path.stem) for path in folder.glob(f"{PREFIX}-*.index"))
               if match}
    return sorted(on_disk | _steps_named_by_state_file(folder), reverse=True)


def _short(error):
    return " ".join(str(error).split())[:200] or type(error).__name__


def damage(checkpoint_prefix):
    """None when every tensor of a checkpoint reads back; else (the file at fault, the problem in words)."""
    checkpoint_prefix = pathlib.Path(checkpoint_prefix)
    index = checkpoint_prefix.with_name(f"{checkpoint_prefix.name}.index")
    if not index.is_file():
        return index, "missing"
    data_files = sorted(checkpoint_prefix.parent.glob(f"{checkpoint_prefix.name}.data-*"))
    if not data_files:
        return checkpoint_prefix.with_name(f"{checkpoint_prefix.name}.data-00000-of-00001"), "missing"
    try:
        reader = tf.train.load_checkpoint(str(checkpoint_prefix))
    except Exception as error:  # noqa: BLE001  (a garbage index raises DataLossError, others other types)
        return index, f"damaged ({_short(error)})"
    try:
        # Reading every tensor checks the data file's length and checksums: a checkpoint is at
        # most a few tens of MB (the network and Adam's two moments).
        for name in reader.get_variable_to_shape_map():
            reader.get_tensor(name)
    except Exception as error:  # noqa: BLE001  (a truncated file raises IndexError, a bad checksum DataLossError)
        return data_files[0], f"damaged ({_short(error)})"
    return None


@contextlib.contextmanager
def _tensorflow_warnings_muted():
    logger = tf.get_logger()
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def make_manager(checkpoint, folder, max_to_keep):
    """A tf.train.CheckpointManager writing step-<N> checkpoints into folder.

    A state file it cannot parse makes it log warnings and start a new list; restore_newest
    does not depend on that file, so the warnings would only bury the run's own messages.
    """
    with _tensorflow_warnings_muted():
        return tf.train.CheckpointManager(checkpoint, str(folder), max_to_keep=max_to_keep, checkpoint_name=PREFIX)


def _shape_misfit(checkpoint_prefix, variables):
    """None when the checkpoint holds tensors of exactly the shapes of variables (scalars aside); else how it differs.

    Checked before restoring: a restore that fails half-way leaves objects behind that make
    TensorFlow log warnings when the process exits, after the run's own error message.
    """
    reader = tf.train.load_checkpoint(str(checkpoint_prefix))
    # Scalars (Adam's step counter and learning rate, the manager's save counter) say nothing about the network.
    saved = collections.Counter(tuple(shape) for shape in reader.get_variable_to_shape_map().values() if shape)
    expected = collections.Counter(tuple(variable.shape) for variable in variables if len(variable.shape))
    if saved == expected:
        return None
    unexpected = saved - expected
    example = next(iter(unexpected), None)
    return (f"{sum(unexpected.values())} of its {sum(saved.values())} tensors have shapes this network's variables "
            f"do not have" + (f", e.g. {example}" if example else ""))


def _restore_into(checkpoint, checkpoint_prefix):
    """Restores an intact checkpoint into checkpoint (a tf.train.Checkpoint); returns None, or why it does not fit."""
    problem = None
    with _tensorflow_warnings_muted():
        try:
            # A variable of another shape fails here already; a missing one in the assertion.
            status = checkpoint.restore(str(checkpoint_prefix))
            status.assert_existing_objects_matched()
            status.expect_partial()  # the file also holds the manager's save counter, which is not needed
        except (AssertionError, ValueError, tf.errors.OpError) as error:
            problem = _short(error)[:300]
        if problem:
            # The failed restore's leftovers log two warnings when they are deleted, which would
            # otherwise happen after the error message is printed: delete them now, muted.
            gc.collect()
    return problem


def restore_newest(checkpoint, folder, variables):
    """Restores the newest intact checkpoint in folder into checkpoint; returns a Restored.

    variables: every variable checkpoint tracks (each once). Newer checkpoints that are
    missing or damaged are skipped and listed. Raises CheckpointError when checkpoints exist
    but none is intact, or when the newest intact one does not fit the variables (a network
    of another width): an older one would not either.
    """
    unique_variables = list({id(variable): variable for variable in variables}.values())
    skipped = []
    for step in checkpoint_steps(folder):
        checkpoint_prefix = prefix(folder, step)
        found = damage(checkpoint_prefix)
        if found:
            path, problem = found
            skipped.append(SkippedCheckpoint(step, str(path), problem))
            continue
        misfit = _shape_misfit(checkpoint_prefix, unique_variables) or _restore_into(checkpoint, checkpoint_prefix)
        if misfit:
            raise CheckpointError(
                f"{checkpoint_prefix}: does not fit this network (was it trained with another --width_multiplier?): "
                f"{misfit}"
            )
        return Restored(str(checkpoint_prefix), tuple(skipped))
    if skipped:
        newest = skipped[0]
        older = "no older checkpoint is intact" if len(skipped) > 1 else "there is no older checkpoint"
        raise CheckpointError(f"{newest.path}: {newest.problem}, and {older} to resume from; "
                              f"choose another --output_dir")
    return Restored(None)
