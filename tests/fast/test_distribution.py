"""nst.fast.distribution: which strategy a setting picks, TF_CONFIG reading, and who is chief."""

import json

import pytest
import tensorflow as tf

from nst.fast import distribution


def test_tf_config_worker_count():
    assert distribution.cluster_worker_count("") == 0
    cluster = {"cluster": {"chief": ["a:1"], "worker": ["b:1", "c:1"], "ps": ["d:1"]}, "task": {"type": "worker"}}
    assert distribution.cluster_worker_count(json.dumps(cluster)) == 3
    assert distribution.cluster_worker_count('{"task": {}}') == 0


def test_a_damaged_tf_config_is_a_clear_error():
    with pytest.raises(distribution.DistributionError, match="TF_CONFIG is not a JSON object"):
        distribution.cluster_worker_count("{cluster")


@pytest.mark.parametrize("mode, gpus, workers, expected", [
    ("auto", 0, 0, "default"),
    ("auto", 1, 0, "default"),
    ("auto", 4, 0, "mirrored"),
    ("auto", 4, 2, "multi_worker"),
    ("auto", 0, 1, "default"),  # a one-machine "cluster" gains nothing from collectives
    ("mirrored", 0, 0, "mirrored"),
    ("default", 8, 3, "default"),
])
def test_auto_picks_from_the_machine(mode, gpus, workers, expected):
    assert distribution.resolve_mode(mode, gpus, workers) == expected


def test_unknown_modes_are_refused():
    with pytest.raises(distribution.DistributionError, match="distribution must be one of"):
        distribution.resolve_mode("parameter_server", 0, 0)


def test_one_device_without_gpus_or_cluster(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    strategy = distribution.make_strategy("auto")
    assert strategy.num_replicas_in_sync == 1
    assert distribution.is_chief(strategy) and distribution.worker_label(strategy) == ""
    assert distribution.describe(strategy) == "one device"


def test_multi_worker_without_a_cluster_is_refused(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(distribution.DistributionError, match="needs TF_CONFIG"):
        distribution.make_strategy("multi_worker")


def test_cpu_devices_need_mirroring_and_a_fresh_process():
    with pytest.raises(distribution.DistributionError, match="needs distribution mirrored"):
        distribution.make_strategy("default", cpu_devices=2)
    tf.constant(1.0)  # TensorFlow has started in this process
    with pytest.raises(distribution.DistributionError, match="once TensorFlow has started"):
        distribution.make_strategy("mirrored", cpu_devices=2)


class FakeResolver:
    def __init__(self, task_type, task_id, roles):
        self.task_type, self.task_id, self.roles = task_type, task_id, roles

    def cluster_spec(self):
        return tf.train.ClusterSpec({role: [f"{role}{index}:1" for index in range(2)] for role in self.roles})


class FakeStrategy:
    def __init__(self, resolver):
        self.cluster_resolver = resolver


@pytest.mark.parametrize("task_type, task_id, roles, chief", [
    ("chief", 0, ("chief", "worker"), True),
    ("worker", 0, ("chief", "worker"), False),
    ("worker", 0, ("worker",), True),  # without a chief, worker 0 is the chief
    ("worker", 1, ("worker",), False),
])
def test_the_chief_is_found_as_tensorflow_defines_it(task_type, task_id, roles, chief):
    strategy = FakeStrategy(FakeResolver(task_type, task_id, roles))
    assert distribution.is_chief(strategy) is chief
    assert distribution.worker_label(strategy) == f"{task_type}_{task_id}"
