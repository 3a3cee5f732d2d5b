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
- glibc keeps freed buffers in per-thread arenas. Two arenas (one per core of the machine it was
  built on) bound how many, and malloc_trim after each run hands back what is free.

glibc's mmap threshold is left to grow as it does by itself. Fixing it at 128 KiB (as an earlier
version did) returned image-sized buffers at once, but then every buffer of each step above
128 KiB was mapped and zeroed by the kernel anew: about 3 % slower iterations at 400×300, for a
resident memory that stayed as flat without it (eight runs of 256 to 500 pixels through the page,
measured either way: both level once the largest size has run).
"""

import ctypes
import gc

_CUSTOM_GRADIENT_PREFIX = "CustomGradient-"
_M_ARENA_MAX = -8  # a mallopt parameter, from glibc's malloc.h


def _libc():
    try:
        return ctypes.CDLL("libc.so.6")
    except OSError:
        return None  # not glibc (macOS, musl): nothing to tune


def tune_allocator():
    """Caps glibc's arenas at two; returns whether it could (glibc only)."""
    libc = _libc()
    if libc is None or not hasattr(libc, "mallopt"):
        return False
    return bool(libc.mallopt(_M_ARENA_MAX, 2))


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
