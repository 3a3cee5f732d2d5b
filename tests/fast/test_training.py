"""nst.fast.training: the config, steps that lower the loss, checkpoints and resume, MirroredStrategy on two CPUs."""

import json
import os
import pathlib
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import tensorflow as tf

from fast_fixtures import smooth_picture
from fast_fixtures import style_pixels
from fast_fixtures import write_training_folder
from nst.fast import config as fast_config
from nst.fast import data as training_data
from nst.fast import training

PROJECT_DIR = pathlib.Path(__file__).resolve().parent.parent.parent
TINY = dict(weights="random", width_multiplier=0.25, batch_size=2, image_size=32, learning_rate=3e-3)


def tiny_config(tmp_path, **changes):
    fields = dict(style_image="style.png", train_dir=str(tmp_path / "train"), output_dir=str(tmp_path / "run"),
                  **TINY)
    return fast_config.FastTrainingConfig(**{**fields, **changes})


@pytest.fixture(scope="module")
def training_files(tmp_path_factory):
    return training_data.find_training_files(write_training_folder(tmp_path_factory.mktemp("data") / "train"))


def new_run(config, training_files, random_weights, style=None):
    style = style_pixels() if style is None else style
    return training.TrainingRun(config, training_files, style, random_weights, tf.distribute.get_strategy())


def evaluation_losses(trainer, images):
    """Mean weighted losses of the network's current output on fixed images."""
    per_image = trainer.loss(images, trainer.model(images, training=False))
    return {name: float(tf.reduce_mean(values)) for name, values in per_image.items()}


# ---------------------------------------------------------------------------
# the config
# ---------------------------------------------------------------------------


# ---------------------------------------------------------------------------
# training
# ---------------------------------------------------------------------------


def test_a_few_steps_lower_the_loss(tmp_path, training_files, random_weights):
    run = new_run(tiny_config(tmp_path, steps=8, checkpoint_every=100), training_files, random_weights)
    images = np.stack([smooth_picture(seed)[:32, :32] for seed in range(4)]).astype(np.float32)
    before = evaluation_losses(run.trainer, images)
    reported = []
    result = run.train(on_progress=reported.append)
    after = evaluation_losses(run.trainer, images)
    assert after["total"] < 0.8 * before["total"], (before, after)
    assert [progress.step for progress in reported] == list(range(1, 9))
    assert all(progress.total_steps == 8 and progress.images_per_second > 0 for progress in reported)
    first = reported[0].losses
    assert first["total"] == pytest.approx(first["content"] + first["style"] + first["total_variation"], rel=1e-5)
    assert (result.start_step, result.final_step, result.stop_reason) == (0, 8, None)


def test_checkpoints_resume_where_they_left_off(tmp_path, training_files, random_weights):
    config = tiny_config(tmp_path, steps=4, checkpoint_every=2, keep_checkpoints=1)
    first_run = new_run(config, training_files, random_weights)
    saved = []
    first_run.train(on_checkpoint=saved.append)
    assert [checkpoint.step for checkpoint in saved] == [2, 4]
    assert saved[-1].path.endswith("step-4")
    # keep_checkpoints=1: only the latest is kept.
    assert sorted(path.name for path in config.checkpoint_directory.glob("*.index")) == ["step-4.index"]
    weights_at_4 = [weight.numpy() for weight in first_run.trainer.model.weights]
    moments_at_4 = [variable.numpy() for variable in first_run.trainer.optimizer.variables]

    second_run = new_run(config.replace(steps=6), training_files, random_weights)
    assert second_run.resumed_from.endswith("step-4")
    assert (second_run.start_step, second_run.total_steps) == (4, 6)
    for saved_weight, restored in zip(weights_at_4, second_run.trainer.model.weights):
        np.testing.assert_array_equal(saved_weight, restored.numpy())
    for saved_moment, restored in zip(moments_at_4, second_run.trainer.optimizer.variables):
        np.testing.assert_array_equal(saved_moment, restored.numpy())
    steps = []
    result = second_run.train(on_progress=lambda progress: steps.append(progress.step))
    assert steps == [5, 6] and result.final_step == 6 and second_run.trainer.step == 6


def test_existing_checkpoints_are_not_silently_restarted(tmp_path, training_files, random_weights):
    config = tiny_config(tmp_path, steps=1)
    new_run(config, training_files, random_weights).train()
    with pytest.raises(training.FastTrainingError, match="holds checkpoints of an earlier run"):
        new_run(config.replace(resume=False), training_files, random_weights)
    wider = config.replace(width_multiplier=0.5)
    with pytest.raises(training.FastTrainingError, match="does not fit this network"):
        new_run(wider, training_files, random_weights)


def test_a_non_finite_loss_stops_without_saving(tmp_path, training_files, random_weights):
    style = style_pixels()
    style[0, 0, 0] = np.nan  # poisons the style Gram matrices, so the very first loss is NaN
    run = new_run(tiny_config(tmp_path, steps=3, checkpoint_every=1), training_files, random_weights, style)
    saved = []
    result = run.train(on_checkpoint=saved.append)
    assert result.final_step == 1 and "non-finite at step 1" in result.stop_reason
    assert saved == [] and not tmp_path.joinpath("run", "checkpoints").exists()


def test_a_batch_that_does_not_split_over_the_replicas_is_refused(tmp_path, random_weights):
    class TwoReplicas:
        num_replicas_in_sync = 2

    with pytest.raises(training.FastTrainingError, match="batch_size 3 cannot be split evenly over 2"):
        training.FastTrainer(tiny_config(tmp_path, batch_size=3), random_weights, style_pixels(), TwoReplicas())


# ---------------------------------------------------------------------------
# MirroredStrategy over two logical CPU devices (a fresh process: devices are fixed once TF starts)
# ---------------------------------------------------------------------------

MIRRORED_SCRIPT = textwrap.dedent("""
    import json, sys
    import numpy as np
    from nst.fast import distribution
    strategy = distribution.make_strategy("mirrored", cpu_devices=2)  # before anything else touches TensorFlow
    import tensorflow as tf
    from nst import weights
    from nst.fast import config as fast_config, data as training_data, training
    from fast_fixtures import style_pixels, smooth_picture
    train_dir, output_dir = sys.argv[1], sys.argv[2]
    config = fast_config.FastTrainingConfig(
        style_image="s", train_dir=train_dir, output_dir=output_dir, weights="random", width_multiplier=0.25,
        batch_size=2, image_size=32, steps=3, checkpoint_every=3, learning_rate=3e-3)
    random_weights = weights.load_weights("random")
    # The same batch on one device and split over two replicas must give the same losses and updates.
    batch = np.stack([smooth_picture(seed)[:32, :32] for seed in range(2)]).astype(np.float32)
    single = training.FastTrainer(config, random_weights, style_pixels(), tf.distribute.get_strategy())
    mirrored = training.FastTrainer(config, random_weights, style_pixels(), strategy)
    split_batch = next(iter(strategy.experimental_distribute_dataset(tf.data.Dataset.from_tensors(batch))))
    single_losses = [single.train_step(tf.constant(batch))["total"] for _ in range(2)]
    mirrored_losses = [mirrored.train_step(split_batch)["total"] for _ in range(2)]
    weight_difference = max(float(np.abs(a.numpy() - b.numpy()).max())
                            for a, b in zip(single.model.weights, mirrored.model.weights))
    # And a whole run through the distributed tf.data pipeline, with a checkpoint.
    files = training_data.find_training_files(train_dir)
    run = training.TrainingRun(config, files, style_pixels(), random_weights, strategy)
    result = run.train()
    print(json.dumps({
        "replicas": strategy.num_replicas_in_sync, "described": distribution.describe(strategy),
        "devices": list(strategy.extended.worker_devices),
        "per_replica_shape": list(split_batch.values[0].shape),
        "single_losses": single_losses, "mirrored_losses": mirrored_losses,
        "weight_difference": weight_difference,
        "final_step": result.final_step, "stop_reason": result.stop_reason,
        "checkpoint": run.manager.latest_checkpoint,
    }))
""")


def test_two_logical_cpu_devices_train_under_mirrored_strategy(tmp_path):
    train_dir = write_training_folder(tmp_path / "train", count=4)
    environment = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2",
                       PYTHONPATH=os.pathsep.join([str(PROJECT_DIR), str(PROJECT_DIR / "tests" / "fast")]))
    completed = subprocess.run([sys.executable, "-c", MIRRORED_SCRIPT, str(train_dir), str(tmp_path / "run")],
                               capture_output=True, text=True, env=environment, cwd=PROJECT_DIR, timeout=300)
    assert completed.returncode == 0, completed.stderr[-3000:]
    report = json.loads(completed.stdout.strip().splitlines()[-1])
    assert report["replicas"] == 2 and report["described"] == "MirroredStrategy, 2 replicas"
    assert [device.rsplit("/", 1)[-1].lower() for device in report["devices"]] == ["device:cpu:0", "device:cpu:1"]
    assert report["per_replica_shape"] == [1, 32, 32, 3]  # the global batch of 2, one image per replica
    np.testing.assert_allclose(report["mirrored_losses"], report["single_losses"], rtol=1e-4)
    # Adam's first steps move each weight by about ±learning rate; summing gradients in another
    # order can flip the sign of a near-zero one, so allow two such flips' worth.
    assert report["weight_difference"] < 2 * 2 * 3e-3
    assert report["final_step"] == 3 and report["stop_reason"] is None
    assert report["checkpoint"].endswith("step-3")
