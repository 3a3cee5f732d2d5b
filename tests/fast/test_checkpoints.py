"""nst.fast.checkpoints: the newest intact checkpoint is restored; damaged ones are skipped and named, never ignored."""

import numpy as np
import pytest
import tensorflow as tf

from nst.fast import checkpoints


def tracked(values):
    """A tf.train.Checkpoint of one variable holding values: a stand-in for the network and its optimiser."""
    return tf.train.Checkpoint(weights=tf.Variable(np.asarray(values, np.float32)))


@pytest.fixture
def folder(tmp_path):
    """step-2 (weights all 2) and step-4 (weights all 4), written by the manager as training writes them."""
    state = tracked(np.zeros(3))
    manager = checkpoints.make_manager(state, tmp_path, max_to_keep=3)
    for step in (2, 4):
        state.weights.assign(np.full(3, step, np.float32))
        manager.save(checkpoint_number=step)
    return tmp_path


def restored(folder):
    """(what restore_newest returns, the weights it restored)."""
    state = tracked(np.zeros(3))
    result = checkpoints.restore_newest(state, folder, [state.weights])
    return result, state.weights.numpy()


def test_the_newest_checkpoint_is_restored(folder):
    result, weights = restored(folder)
    assert result == checkpoints.Restored(str(folder / "step-4"))
    np.testing.assert_array_equal(weights, [4, 4, 4])
    assert checkpoints.checkpoint_steps(folder) == [4, 2]


def test_an_empty_folder_has_nothing_to_restore(tmp_path):
    assert restored(tmp_path / "none")[0] == checkpoints.Restored(None)


def truncate(path):
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


@pytest.mark.parametrize("damage, file_at_fault, problem", [
    (lambda folder: truncate(folder / "step-4.data-00000-of-00001"), "step-4.data-00000-of-00001",
     "damaged (Read less bytes than requested)"),
    (lambda folder: (folder / "step-4.index").write_bytes(b"not a table" * 20), "step-4.index", "damaged ("),
    (lambda folder: (folder / "step-4.data-00000-of-00001").unlink(), "step-4.data-00000-of-00001", "missing"),
    (lambda folder: (folder / "step-4.index").unlink(), "step-4.index", "missing"),
])
def test_a_damaged_newest_checkpoint_is_skipped_for_the_newest_intact_one(folder, damage, file_at_fault, problem):
    damage(folder)
    result, weights = restored(folder)
    assert result.path == str(folder / "step-2")
    np.testing.assert_array_equal(weights, [2, 2, 2])
    [skipped] = result.skipped
    assert (skipped.step, skipped.path) == (4, str(folder / file_at_fault))
    assert skipped.problem.startswith(problem)


def test_a_step_the_state_file_names_without_files_is_skipped(folder):
    state = folder / "checkpoint"
    state.write_text(state.read_text().replace('model_checkpoint_path: "step-4"', 'model_checkpoint_path: "step-6"'))
    result, weights = restored(folder)
    assert result.path == str(folder / "step-4") and [skipped.step for skipped in result.skipped] == [6]
    assert result.skipped[0].path == str(folder / "step-6.index") and result.skipped[0].problem == "missing"
    np.testing.assert_array_equal(weights, [4, 4, 4])


def test_an_unreadable_state_file_does_not_hide_the_checkpoints(folder):
    (folder / "checkpoint").write_text("{{ not a checkpoint list")
    assert restored(folder)[0].path == str(folder / "step-4")


def test_without_any_intact_checkpoint_the_error_names_the_newest_file(folder):
    truncate(folder / "step-4.data-00000-of-00001")
    truncate(folder / "step-2.data-00000-of-00001")
    with pytest.raises(checkpoints.CheckpointError) as raised:
        restored(folder)
    assert str(raised.value).startswith(f"{folder / 'step-4.data-00000-of-00001'}: damaged (")
    assert "no older checkpoint is intact" in str(raised.value) and "\n" not in str(raised.value)


def test_a_checkpoint_of_another_shape_is_refused_not_skipped(folder):
    other = tracked(np.zeros(5))
    with pytest.raises(checkpoints.CheckpointError,
                       match=r"step-4: does not fit this network .*: 1 of its 1 tensors have shapes .*, e.g. \(3,\)"):
        checkpoints.restore_newest(other, folder, [other.weights])
    np.testing.assert_array_equal(other.weights.numpy(), np.zeros(5))  # nothing restored
