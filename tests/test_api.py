"""nst.stylize, the Python API for notebooks: inputs of every kind, size, callback, errors."""

import numpy as np
import PIL.Image
import pytest

import nst
from nst import images


@pytest.fixture
def content_array():
    return np.random.default_rng(0).uniform(0, 255, (30, 40, 3)).astype(np.float32)


def test_stylize_returns_a_pil_image_of_the_requested_size(content_array):
    style = PIL.Image.new("RGB", (25, 25), (20, 40, 200))
    result = nst.stylize(content_array, style, weights="random", image_size=32, epochs=3)
    assert isinstance(result, PIL.Image.Image) and result.size == (32, 24) and result.mode == "RGB"


def test_stylize_accepts_paths_and_reports_snapshots(tmp_path, content_array):
    images.save_image(content_array, tmp_path / "content.png")
    images.save_image(content_array[::-1], tmp_path / "style.png")
    progress = []
    result = nst.stylize(str(tmp_path / "content.png"), tmp_path / "style.png", callback=progress.append,
                         weights="random", image_size=40, epochs=4, print_every=2, optimizer="lbfgs")
    assert [item.iteration for item in progress] == [0, 2, 4]
    assert all(isinstance(item.image, PIL.Image.Image) and item.image.size == result.size for item in progress)
    assert progress[-1].costs.total < progress[0].costs.total


def test_same_seed_same_image(content_array):
    first, second = (nst.stylize(content_array, content_array[::-1], weights="random", image_size=24, epochs=3,
                                 seed=3) for _ in range(2))
    np.testing.assert_array_equal(np.asarray(first), np.asarray(second))


def test_bad_settings_and_inputs_raise_clear_errors(tmp_path, content_array):
    with pytest.raises(nst.ConfigError, match="epochs must be at least 1"):
        nst.stylize(content_array, content_array, weights="random", epochs=0)
    with pytest.raises(images.ImageError, match="missing.png: no such file"):
        nst.stylize(str(tmp_path / "missing.png"), content_array, weights="random")


def test_config_defaults_are_shared_with_the_command_line():
    import nst_main

    assert nst_main.FLAGS["epochs"].default == nst.StyleTransferConfig.__dataclass_fields__["iterations"].default
    assert nst_main.FLAGS["learning_rate"].default == nst.StyleTransferConfig.__dataclass_fields__[
        "learning_rate"].default
