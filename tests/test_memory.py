"""nst.memory: sizes parse, the cgroup limit is read, tiles are chosen to fit, and the model matches measured peaks."""

import json
import math
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from nst import errors
from nst import memory

PROJECT_DIR = pathlib.Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("text, expected", [("8G", 8 * 2**30), ("8GiB", 8 * 2**30), ("1500M", 1500 * 2**20),
                                            ("2.5g", int(2.5 * 2**30)), ("4096", 4096), ("64 KiB", 64 * 1024)])
def test_memory_sizes_parse_in_binary_units(text, expected):
    assert memory.parse_memory_size(text) == expected


@pytest.mark.parametrize("text", ["lots", "8X", "-1G", ""])
def test_bad_memory_sizes_are_config_errors(text):
    with pytest.raises(errors.ConfigError, match="memory_limit must be 'auto' or a size"):
        memory.parse_memory_size(text)


def test_the_cgroup_v2_limit_minus_usage_is_the_room(tmp_path):
    (tmp_path / "memory.max").write_text("8589934592\n")
    (tmp_path / "memory.current").write_text("2147483648\n")
    assert memory.cgroup_room(tmp_path) == 6 * 2**30
    (tmp_path / "memory.max").write_text("max\n")  # no limit
    assert memory.cgroup_room(tmp_path) is None


def test_the_cgroup_v1_limit_is_read_and_its_no_limit_value_ignored(tmp_path):
    (tmp_path / "memory").mkdir()
    (tmp_path / "memory" / "memory.limit_in_bytes").write_text(str(4 * 2**30))
    (tmp_path / "memory" / "memory.usage_in_bytes").write_text(str(2**30))
    assert memory.cgroup_room(tmp_path) == 3 * 2**30
    (tmp_path / "memory" / "memory.limit_in_bytes").write_text("9223372036854771712")
    assert memory.cgroup_room(tmp_path) is None


def test_available_memory_takes_the_tighter_of_the_cgroup_and_the_system(monkeypatch):
    monkeypatch.setattr(memory, "cgroup_room", lambda: 3 * 2**30)
    monkeypatch.setattr(memory, "_meminfo_available", lambda: 20 * 2**30)
    assert memory.available_memory() == memory.Available(3 * 2**30, "the cgroup's limit")
    monkeypatch.setattr(memory, "cgroup_room", lambda: None)
    assert memory.available_memory() == memory.Available(20 * 2**30, "MemAvailable")


def test_a_small_image_is_not_tiled_and_a_large_one_gets_the_fewest_tiles_that_fit_shared_evenly():
    budget = memory.Budget(8 * 2**30, "test")
    small = memory.choose_tiling(400, 300, 0, budget)
    assert small.tile_size is None and small.estimated_bytes < budget.bytes
    large = memory.choose_tiling(3840, 2160, 0, budget)
    assert large.tile_size and large.tile_size % 16 == 0 and large.estimated_bytes <= budget.bytes
    largest = max(side for side in range(16, 3840, 16)
                  if memory.estimated_peak(3840, 2160, tile=(side + 160, side + 160)) <= budget.bytes)
    assert largest > large.tile_size == 1280  # 3 × 2 tiles either way; 1280 needs less memory

    def tile_counts(side):
        return math.ceil(3840 / side), math.ceil(2160 / side)

    assert tile_counts(large.tile_size) == tile_counts(largest) != tile_counts(large.tile_size - 16)
    tighter = memory.choose_tiling(3840, 2160, 0, memory.Budget(5 * 2**30, "test"))
    assert tighter.tile_size < large.tile_size
    given = memory.choose_tiling(3840, 2160, 384, budget)
    assert given.tile_size == 384 and given.budget_bytes is None


def test_l_bfgs_plans_for_its_image_sized_history():
    budget = memory.Budget(10 * 2**30, "test")
    adam, lbfgs = (memory.choose_tiling(3840, 2160, 0, budget, optimizer=name) for name in ("adam", "lbfgs"))
    assert lbfgs.tile_size < adam.tile_size


def measured_peak(tmp_path, *arguments):
    """Peak resident bytes of one nst_main.py run (the peak its run.json records) and its run.json."""
    content = tmp_path / "content.png"
    if not content.exists():
        pixels = np.random.default_rng(0).integers(0, 256, (384, 512, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(content)
    output = tmp_path / f"run{len(list(tmp_path.iterdir()))}"
    finished = subprocess.run(
        [sys.executable, str(PROJECT_DIR / "nst_main.py"), "--weights", "random", "--quiet", "--epochs", "2",
         "--print_every", "2", "--content_image", str(content), "--style_image", str(content),
         "--output_dir", str(output), *arguments],
        cwd=PROJECT_DIR, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"), capture_output=True, text=True)
    assert finished.returncode == 0, finished.stderr
    record = json.loads((output / "run.json").read_text())
    return record["peak_resident_bytes"], record


def test_the_model_is_within_a_quarter_of_measured_peaks(tmp_path):
    """The budget's half of what is available leaves room for this much error."""
    for arguments, width, height, crop in ((["--image_size", "512", "--memory_limit", "1000G"], 512, 384, None),
                                           (["--image_size", "512", "--tile_size", "256"], 512, 384, (416, 384))):
        peak, record = measured_peak(tmp_path, *arguments)
        model = memory.estimated_peak(width, height, tile=crop)
        assert record["tiling"]["estimated_peak_bytes"] == model
        assert abs(peak - model) <= 0.25 * peak, (arguments, peak / 2**30, model / 2**30)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="VmHWM is Linux's")
def test_the_peak_is_this_process_s_own_high_water_mark(tmp_path):
    status = tmp_path / "status"
    status.write_text("Name:\tpython\nVmPeak:\t 9000000 kB\nVmHWM:\t  123456 kB\nVmRSS:\t   99999 kB\n")
    assert memory.peak_resident_bytes(status) == 123456 * 1024
    # A child started from this test process, made large, reports its own peak, not this process's resident
    # memory at the start (which getrusage's ru_maxrss in the child would include); 300 MiB more raise it.
    ballast = np.ones(512 * 2**20 // 8)  # 512 MiB resident here
    code = ("import numpy as np; from nst import memory; before = memory.peak_resident_bytes(); "
            "more = np.ones(300 * 2**20 // 8); print(before, memory.peak_resident_bytes())")
    child = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_DIR, check=True, capture_output=True, text=True)
    before, after = (int(value) for value in child.stdout.split())
    assert before < 256 * 2**20 < ballast.nbytes
    assert after - before >= 0.95 * 300 * 2**20


def test_a_zero_memory_limit_is_refused():
    from nst import config as config_module

    with pytest.raises(errors.ConfigError, match="memory_limit must be 'auto' or a size above 0, got '0'"):
        config_module.StyleTransferConfig(content_image="a.png", style_image="b.png", memory_limit="0")
