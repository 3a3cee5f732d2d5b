"""nst.web.memory: what a run registers in TensorFlow's gradient registry is removed after it, nothing else."""

from tensorflow.python.framework import ops

from nst.web import memory


def test_release_run_removes_only_the_custom_gradients_registered_since():
    registry = ops._gradient_registry._registry
    before = memory.custom_gradients()
    registry["CustomGradient-test-new"] = {"type": None, "location": None}
    registry["NotCustom-test"] = {"type": None, "location": None}
    try:
        assert "CustomGradient-test-new" in memory.custom_gradients()
        assert memory.release_run(before) == 1
        assert "CustomGradient-test-new" not in registry and "NotCustom-test" in registry
        assert memory.custom_gradients() == before
    finally:
        registry.pop("NotCustom-test", None)


def test_the_allocator_is_tuned_on_glibc_and_memory_is_reported():
    assert memory.tune_allocator() in (True, False)
    assert memory.resident_megabytes() > 10
