"""The tf.distribute strategy a training run uses: one device, several GPUs, or several machines via TF_CONFIG."""

import json
import os

import tensorflow as tf
from nst import errors
from nst.fast import config as fast_config

# 'auto' picks from the machine: TF_CONFIG naming several workers -> multi_worker,
# several GPUs -> mirrored, otherwise one device ('default').
DISTRIBUTION_MODES = fast_config.DISTRIBUTION_MODES


DistributionError = errors.DistributionError


def cluster_worker_count(tf_config_text=None):
    """Number of workers (chief included) that TF_CONFIG describes; 0 when it is unset or names no cluster."""
    text = os.environ.get("TF_CONFIG", "") if tf_config_text is None else tf_config_text
    if not text.strip():
        return 0
    try:
        cluster = json.loads(text).get("cluster", {})
    except (ValueError, AttributeError) as error:
        raise DistributionError(f"TF_CONFIG is not a JSON object with a 'cluster' ({error})") from None
    return sum(len(cluster.get(role, [])) for role in ("chief", "worker"))


def resolve_mode(mode, gpu_count, worker_count):
    """The concrete mode for 'auto' (see DISTRIBUTION_MODES); other modes are returned as they are."""
    if mode not in DISTRIBUTION_MODES:
        raise DistributionError(f"distribution must be one of {', '.join(DISTRIBUTION_MODES)}, got {mode!r}")
    if mode != "auto":
        return mode
    if worker_count > 1:
        return "multi_worker"
    return "mirrored" if gpu_count > 1 else "default"


def split_cpu(device_count):
    """Makes the CPU appear as device_count logical devices, so MirroredStrategy can be tried without GPUs.

    Must run before TensorFlow initialises its devices (before the first op or strategy).
    """
    cpus = tf.config.list_physical_devices("CPU")
    try:
        tf.config.set_logical_device_configuration(
            cpus[0], [tf.config.LogicalDeviceConfiguration() for _ in range(device_count)]
        )
    except RuntimeError as error:
        raise DistributionError(
            f"cannot split the CPU into {device_count} devices once TensorFlow has started ({error})"
        ) from None


def make_strategy(mode="auto", cpu_devices=0):
    """The tf.distribute.Strategy for mode.

    cpu_devices > 1 splits the CPU into that many logical devices (split_cpu) and mirrors
    over them: a way to try synchronous data-parallel training on a machine without GPUs.
    """
    if cpu_devices > 1:
        if mode not in ("auto", "mirrored"):
            raise DistributionError(f"cpu_devices {cpu_devices} needs distribution mirrored (or auto), not {mode}")
        split_cpu(cpu_devices)
        return tf.distribute.MirroredStrategy([f"/cpu:{index}" for index in range(cpu_devices)])
    resolved = resolve_mode(mode, len(tf.config.list_physical_devices("GPU")), cluster_worker_count())
    if resolved == "multi_worker":
        if cluster_worker_count() < 1:
            raise DistributionError("distribution multi_worker needs TF_CONFIG describing the cluster")
        return tf.distribute.MultiWorkerMirroredStrategy()
    if resolved == "mirrored":
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()


def is_chief(strategy):
    """True on the one worker that writes logs and models: always, except on non-chief workers of a cluster."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return True
    if resolver.task_type == "chief":
        return True
    # Without a 'chief' entry, worker 0 plays the chief (TensorFlow's own convention).
    has_chief = "chief" in resolver.cluster_spec().as_dict()
    return resolver.task_type == "worker" and resolver.task_id == 0 and not has_chief


def describe(strategy):
    """A short human description: 'MirroredStrategy, 2 replicas', 'one device'."""
    replicas = strategy.num_replicas_in_sync
    # Public names: MultiWorkerMirroredStrategy's class is called CollectiveAllReduceStrategy.
    kinds = (("MultiWorkerMirroredStrategy", tf.distribute.MultiWorkerMirroredStrategy),
             ("MirroredStrategy", tf.distribute.MirroredStrategy))
    for name, kind in kinds:
        if isinstance(strategy, kind):
            return f"{name}, {replicas} replica{'s' if replicas > 1 else ''}"
    return "one device" if replicas == 1 else f"{type(strategy).__name__}, {replicas} replicas"


def worker_label(strategy):
    """'worker_1' style name of this task in a cluster, '' outside one."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return ""
    return f"{resolver.task_type}_{resolver.task_id}"
