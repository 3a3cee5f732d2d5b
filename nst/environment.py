"""The machine and library versions a result was produced with, for run records, comparisons and benchmark tables."""

import importlib
import importlib.metadata
import os
import platform

# {label in records: module name}; run.json and compare.json each list the libraries their numbers depend on.
RUN_LIBRARIES = {"tensorflow": "tensorflow", "keras": "keras", "numpy": "numpy", "pillow": "PIL", "scipy": "scipy",
                 "absl": "absl"}
COMPARISON_LIBRARIES = {"numpy": "numpy", "tensorflow": "tensorflow", "keras": "keras", "torch": "torch",
                        "safetensors": "safetensors"}
_DISTRIBUTIONS = {"absl": "absl-py", "PIL": "pillow"}  # where the module carries no __version__


def library_versions(libraries=RUN_LIBRARIES):
    """{'python': …, label: version} for {label: module name}; None for a library that is not installed."""
    versions = {"python": platform.python_version()}
    for label, module_name in libraries.items():
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            versions[label] = None
            continue
        version = getattr(module, "__version__", None)
        if version is None:
            try:
                version = importlib.metadata.version(_DISTRIBUTIONS.get(module_name, module_name))
            except importlib.metadata.PackageNotFoundError:
                version = "unknown"
        versions[label] = version
    return versions


def processor_name():
    """The CPU's model name (from /proc/cpuinfo on Linux), else what the platform module says."""
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            return next(line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or platform.machine()


def device_description():
    """The processor, its core count and any accelerators TensorFlow sees, for run records and benchmarks."""
    import tensorflow as tf

    accelerators = [device.name for device in tf.config.list_physical_devices() if device.device_type != "CPU"]
    return {"cpu": processor_name(), "cpu_count": os.cpu_count(), "accelerators": accelerators}


def machine_description():
    """The processor, core count and platform a timing was measured on, for JSON records."""
    return {"processor": processor_name(), "cpu_count": os.cpu_count(), "platform": platform.platform()}


def machine_summary():
    """One line for benchmark tables: processor, cores, accelerators, TensorFlow version."""
    import tensorflow as tf

    device = device_description()
    accelerators = f", {', '.join(device['accelerators'])}" if device["accelerators"] else ""
    return f"{device['cpu']}, {device['cpu_count']} cores{accelerators}, TensorFlow {tf.__version__}"
