"""How much memory a step needs, how much the process may use, and the tile size that fits (nst.tiling).

The model is peak = base + per_pixel · pixels: what the process holds whatever the size (the
TensorFlow runtime, VGG19's weights, compiled functions), plus what grows with the image that
one evaluation runs on (the activations kept for the gradient, the gradient's buffers, the
optimiser's image-sized arrays). Its numbers were measured, not derived: peak resident memory of
`nst_main.py` runs at several sizes on the development machine (bench/high_resolution.py
measures them again; tests/test_memory.py checks the model against fresh measurements).
"""

import dataclasses
import math
import os
import pathlib
import re
import shutil
import subprocess
import sys

from nst import errors

GIB = 2**30
# The share of the available memory a run plans to use by default: the rest is left to the
# system and other programs, and covers the model's error (tests/test_memory.py bounds it).
DEFAULT_BUDGET_SHARE = 0.5
# Tiles are chosen no smaller than this interior side: smaller ones are mostly halo.
MIN_AUTOMATIC_TILE = 256

# Measured (see the module docstring): untiled float32 Adam runs peaked at 1.2, 2.6 and 4.6 GiB at
# 400×300, 800×600 and 1200×900 (bfloat16: 1.2, 2.1, 3.9 GiB) on the development machine.
BASE_BYTES = int(0.85 * GIB)
# Bytes per pixel of the image one evaluation runs on: the activations kept for the gradient, the
# gradient's own buffers and oneDNN's workspace, in the compiled step that also updates the image.
PER_PIXEL_BYTES = {"float32": 3700, "bfloat16": 2900}
# The same per pixel of a tile's crop (halo included), in nst.tiling's lighter per-tile function:
# 1200×900 runs in tiles of 512 (672×672 crops) and 1024 (1184×900) peaked at 2.05 and 3.48 GiB
# in float32, 1.94 GiB in bfloat16 (tiles of 512).
TILE_PIXEL_BYTES = {"float32": 2600, "bfloat16": 2300}
# What stays image-sized whatever the tiles, per pixel of the whole image: the image, its
# gradient, Adam's two moments, the snapshot being written (float32 each); L-BFGS-B (SciPy)
# keeps float64 copies, its bounds and its history of 10 steps and gradient changes
# (2·10 + 5 float64 values per value, three values a pixel).
WHOLE_IMAGE_BYTES = {"adam": 120, "lbfgs": 750}

_SIZE_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b?)\s*$", re.IGNORECASE)
_UNITS = {"": 1, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40}


def parse_memory_size(text):
    """'8G', '8GiB', '1500M', '2.5g' or a number of bytes -> bytes (binary units); ConfigError otherwise."""
    match = _SIZE_PATTERN.match(str(text))
    if not match:
        raise errors.ConfigError(
            f"memory_limit must be 'auto' or a size such as 8G, 1500M or 12GiB, got {text!r}")
    return int(float(match.group(1)) * _UNITS[match.group(2).lower()])


def describe_bytes(size):
    return f"{size / GIB:.1f} GiB"


def _read_number(path):
    try:
        text = pathlib.Path(path).read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None  # cgroup v2 writes 'max' for no limit


def cgroup_room(root="/sys/fs/cgroup"):
    """Bytes this process's cgroup still allows (limit − usage), or None where there is no limit.

    cgroup v2 (memory.max, memory.current) first, then v1 (memory/memory.limit_in_bytes, …).
    """
    root = pathlib.Path(root)
    for limit_file, usage_file in ((root / "memory.max", root / "memory.current"),
                                   (root / "memory" / "memory.limit_in_bytes",
                                    root / "memory" / "memory.usage_in_bytes")):
        limit, usage = _read_number(limit_file), _read_number(usage_file)
        # cgroup v1 reports 'no limit' as a number near 2**63.
        if limit is not None and usage is not None and limit < 2**60:
            return max(0, limit - usage)
    return None


def _meminfo_available():
    try:
        for line in pathlib.Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def peak_resident_bytes(status_path="/proc/self/status"):
    """This process's peak resident memory so far, in bytes (None where the system does not say).

    Linux's VmHWM (the high-water mark of this process's own address space) where there is one.
    getrusage's ru_maxrss is only the fallback because on Linux it also counts the parent's
    resident memory at the moment the process was started (fork or vfork, then exec, carries the
    parent's high-water mark over), so a run started from a large process (a test suite, a
    benchmark that already ran models) read as if it had used the parent's memory too.
    """
    try:
        match = re.search(r"^VmHWM:\s*(\d+)\s*kB", pathlib.Path(status_path).read_text(), re.MULTILINE)
        if match:
            return int(match.group(1)) * 1024
    except OSError:
        pass
    try:
        import resource  # Unix only
    except ImportError:
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024  # bytes on macOS, KiB elsewhere


def _gpu_free_bytes():
    """Free memory of the first NVIDIA GPU (nvidia-smi), or None."""
    if shutil.which("nvidia-smi") is None:
        return None
    try:
        output = subprocess.run(["nvidia-smi", "--query-gpu=memory.free", "--format=csv,noheader,nounits"],
                                capture_output=True, text=True, timeout=10, check=True).stdout
        return int(output.splitlines()[0]) * 2**20
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        return None


@dataclasses.dataclass(frozen=True)
class Available:
    """Memory the run may plan with: bytes, and where the number came from."""

    bytes: int
    source: str


def available_memory(on_gpu=False):
    """What the process can still use: the GPU's free memory on a GPU; otherwise the tighter of the
    cgroup's room (containers, CI) and the system's MemAvailable."""
    if on_gpu:
        free = _gpu_free_bytes()
        if free is not None:
            return Available(free, "free GPU memory")
    candidates = [(room, "the cgroup's limit") for room in (cgroup_room(),) if room is not None]
    candidates += [(free, "MemAvailable") for free in (_meminfo_available(),) if free is not None]
    if not candidates:
        return Available(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"), "physical memory")
    room, source = min(candidates)
    return Available(room, source)


def estimated_peak(width, height, precision="float32", optimizer="adam", tile=None):
    """Peak bytes of a run whose network sees width×height at once, or tile (crop width, crop height) at a time."""
    evaluated = PER_PIXEL_BYTES[precision] * width * height if tile is None else (
        TILE_PIXEL_BYTES[precision] * tile[0] * tile[1])
    return int(BASE_BYTES + evaluated + WHOLE_IMAGE_BYTES[optimizer] * width * height)


@dataclasses.dataclass(frozen=True)
class TilingChoice:
    """Whether a scale is tiled, at which tile size, and why: for the run's announcement and run.json."""

    tile_size: int | None  # None: the network sees the whole image
    estimated_bytes: int
    budget_bytes: int | None  # None: the tile size was given (--tile_size), no budget consulted
    untiled_bytes: int
    reason: str

    def describe(self, width, height):
        if self.tile_size is None:
            return f"{width}×{height} untiled (~{describe_bytes(self.estimated_bytes)}, {self.reason})"
        return (f"{width}×{height} in tiles of {self.tile_size} px (~{describe_bytes(self.estimated_bytes)}; "
                f"{self.reason})")


def _tile_crop(tile_size, width, height, halo):
    return min(width, tile_size + 2 * halo), min(height, tile_size + 2 * halo)


@dataclasses.dataclass(frozen=True)
class Budget:
    """The bytes automatic tiling plans for, and in words where the number comes from."""

    bytes: int
    words: str


def resolve_budget(memory_limit="auto", on_gpu=False):
    """memory_limit ('auto': DEFAULT_BUDGET_SHARE of the memory available now, or a size such as '8G') as a Budget."""
    if memory_limit == "auto":
        available = available_memory(on_gpu)
        return Budget(int(DEFAULT_BUDGET_SHARE * available.bytes),
                      f"the budget is {DEFAULT_BUDGET_SHARE:.0%} of {describe_bytes(available.bytes)} "
                      f"({available.source})")
    return Budget(parse_memory_size(memory_limit), f"--memory_limit {memory_limit}")


def choose_tiling(width, height, tile_size, budget, precision="float32", optimizer="adam", halo=80):
    """The TilingChoice for a width×height scale: tile_size when given (> 0), else no tiles when the
    whole image fits budget (a Budget), else the largest tile whose estimated peak fits it."""
    untiled = estimated_peak(width, height, precision, optimizer)
    if tile_size:
        crop = _tile_crop(tile_size, width, height, halo)
        return TilingChoice(tile_size, estimated_peak(width, height, precision, optimizer, crop), None, untiled,
                            "--tile_size")
    if untiled <= budget.bytes:
        return TilingChoice(None, untiled, budget.bytes, untiled, f"within {budget.words}")
    # The largest interior (on the 16-pixel grid) whose crop fits what is left after the whole-image arrays.
    room = budget.bytes - BASE_BYTES - WHOLE_IMAGE_BYTES[optimizer] * width * height
    side = math.sqrt(max(room, 0) / TILE_PIXEL_BYTES[precision]) - 2 * halo
    largest = max(MIN_AUTOMATIC_TILE, int(side) // 16 * 16)
    # The same number of tiles, shared out evenly: a 3840-pixel side in tiles of at most 1648 needs
    # three, and three of 1280 cost no more arithmetic but take a third less memory than 1648, 1648, 544.
    columns, rows = math.ceil(width / largest), math.ceil(height / largest)
    even = max(math.ceil(width / columns), math.ceil(height / rows))
    chosen = max(MIN_AUTOMATIC_TILE, min(largest, -(-even // 16) * 16))
    crop = _tile_crop(chosen, width, height, halo)
    estimate = estimated_peak(width, height, precision, optimizer, crop)
    note = "" if estimate <= budget.bytes else "; even the smallest tiles allowed may need more"
    return TilingChoice(chosen, estimate, budget.bytes, untiled,
                        f"untiled would need ~{describe_bytes(untiled)}; {budget.words}{note}")
