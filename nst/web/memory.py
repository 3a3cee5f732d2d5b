"""Keeping a long-lived server's memory flat: what each run leaves behind in TensorFlow and in glibc, given back.

A command-line run ends with its process; the server runs one style transfer after another in
one process, and two things made its memory grow by about 70 MB per run (64-pixel runs,
measured): TensorFlow's gradient registry, and glibc's allocator.

- Keras's Adam, applied inside a tf.function, all-reduces its gradients under the default replica
  context, which wraps them in tf.custom_gradient. In graph mode every such call registers a new
  gradient function ("CustomGradient-N") in TensorFlow's process-wide gradient registry and never
  removes it; the function's closure holds the traced graph, and through it the run's network
  weights, image and Adam moments. Nothing of a finished run needs those gradients again (the
  optimiser's update is never differentiated), so the entries a run added are removed after it.
- glibc keeps freed image-sized buffers in per-thread arenas above a threshold that grows as
  large blocks are freed. A fixed mmap threshold and two arenas return them to the system, and
  malloc_trim after each run hands back what is left.
"""

import ctypes
import gc

_CUSTOM_GRADIENT_PREFIX = "CustomGradient-"
_M_MMAP_THRESHOLD = -3  # mallopt parameters, from glibc's malloc.h
_M_ARENA_MAX = -8
_MMAP_THRESHOLD_BYTES = 128 * 1024  # glibc's own starting value, kept instead of growing


def _libc():
    try:
        return ctypes.CDLL("libc.so.6")
    except OSError:
        return None  # not glibc (macOS, musl): nothing to tune


def tune_allocator():
    """Fixes glibc's mmap threshold and caps its arenas at two; returns whether it could (glibc only)."""
    libc = _libc()
    if libc is None or not hasattr(libc, "mallopt"):
        return False
    return bool(libc.mallopt(_M_MMAP_THRESHOLD, _MMAP_THRESHOLD_BYTES)) and bool(libc.mallopt(_M_ARENA_MAX, 2))


def _gradient_registry():
    from tensorflow.python.framework import ops  # TensorFlow's own registry: there is no public API for it

    return ops._gradient_registry._registry


def custom_gradients():
    """The names of the custom gradients registered so far (take before a run, give to release_run)."""
    return frozenset(name for name in _gradient_registry() if name.startswith(_CUSTOM_GRADIENT_PREFIX))


def release_run(custom_gradients_before):
    """After a run: removes the custom gradients it registered, collects garbage, trims the heap.

    Returns the count of gradients removed.
    """
    registry = _gradient_registry()
    added = [name for name in list(registry) if name.startswith(_CUSTOM_GRADIENT_PREFIX)
             and name not in custom_gradients_before]
    for name in added:
        registry.pop(name, None)
    gc.collect()
    libc = _libc()
    if libc is not None and hasattr(libc, "malloc_trim"):
        libc.malloc_trim(0)
    return len(added)


def resident_megabytes():
    """This process's resident memory in MB (Linux), or None."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None
