"""nst.fast.data: which training files are used or skipped, and what the tf.data pipeline yields."""

import io

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from nst.fast import data as training_data


def write_image(path, size=(40, 30), color=None, seed=0, image_format=None):
    width, height = size
    if color is None:
        pixels = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    else:
        pixels = np.full((height, width, 3), color, np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(path, format=image_format)
    return path


def test_images_are_found_recursively_and_bad_files_skipped_with_reasons(tmp_path):
    good = [write_image(tmp_path / "a.jpg"), write_image(tmp_path / "sub" / "b.PNG"),
            write_image(tmp_path / "c.bmp"), write_image(tmp_path / "d.gif")]
    (tmp_path / "notes.txt").write_text("not looked at: wrong suffix")
    (tmp_path / "broken.jpg").write_text("not an image")
    (tmp_path / "empty.png").write_bytes(b"")
    write_image(tmp_path / "scan.jpg", image_format="TIFF")  # a TIFF behind a .jpg name
    found = training_data.find_training_files(tmp_path)
    assert found.paths == tuple(sorted(str(path) for path in good))
    assert dict(found.skipped) == {
        str(tmp_path / "broken.jpg"): "not an image",
        str(tmp_path / "empty.png"): "file is empty",
        str(tmp_path / "scan.jpg"): "TIFF images are not supported for training (use JPEG or PNG)",
    }
    summary = found.skipped_summary()
    assert summary.startswith(f"skipped 3 unreadable file(s) of 7 in {tmp_path}: ")
    assert "broken.jpg: not an image" in summary


def test_the_skipped_summary_names_a_few_then_counts(tmp_path):
    write_image(tmp_path / "good.png")
    for index in range(8):
        (tmp_path / f"bad{index}.png").write_text("x")
    summary = training_data.find_training_files(tmp_path).skipped_summary()
    assert summary.count("not an image") == training_data.MAX_SKIPPED_SHOWN
    assert summary.endswith("; and 3 more")


@pytest.mark.parametrize("case, problem", [
    ("missing", "no such folder"),
    ("a file", "is a file"),
    ("empty", "no image files (.jpg, .jpeg, .png, .bmp, .gif) in this folder or below it"),
    ("only other files", "no image files"),
    ("nothing readable", "none of its 2 image files can be read (e.g. "),
])
def test_unusable_folders_are_clear_errors(tmp_path, case, problem):
    folder = tmp_path / "train"
    if case == "a file":
        folder.write_text("x")
    elif case != "missing":
        folder.mkdir()
    if case == "only other files":
        (folder / "readme.txt").write_text("x")
    if case == "nothing readable":
        (folder / "a.jpg").write_text("x")
        (folder / "b.png").write_bytes(b"")
    with pytest.raises(training_data.TrainingDataError) as raised:
        training_data.find_training_files(folder)
    assert str(raised.value).startswith(f"{folder}: ")
    assert problem in str(raised.value)


def test_a_training_image_is_resized_by_its_short_side_and_cropped_square(tmp_path):
    # 80×40, black left half, white right half: resized to 40×20, then a 20×20 window.
    pixels = np.zeros((40, 80, 3), np.uint8)
    pixels[:, 40:] = 255
    path = tmp_path / "halves.png"
    Image.fromarray(pixels).save(path)
    crops = [training_data.load_training_image(str(path), 20, tf.constant([seed, 7], tf.int64)).numpy()
             for seed in range(8)]
    for crop in crops:
        assert crop.shape == (20, 20, 3) and crop.dtype == np.float32
        assert 0 <= crop.min() and crop.max() <= 255
        np.testing.assert_allclose(crop, np.broadcast_to(crop[:1], crop.shape))  # every row alike, as in the image
        assert np.all(np.diff(crop[0, :, 0]) >= -1e-3)  # dark to light: one window of the halves, not squashed
    # Different seeds put the window at different places: some crops hold more white than others.
    assert len({round(float(crop.mean())) for crop in crops}) > 1


def test_a_constant_image_gives_a_constant_crop(tmp_path):
    path = write_image(tmp_path / "gray.png", size=(50, 34), color=(10, 120, 200))
    crop = training_data.load_training_image(str(path), 16, tf.constant([0, 0], tf.int64)).numpy()
    np.testing.assert_allclose(crop.reshape(-1, 3), np.tile([10, 120, 200], (256, 1)), atol=0.5)


def test_the_pipeline_yields_full_batches_forever_and_drops_damaged_files(tmp_path):
    paths = [str(write_image(tmp_path / f"{index}.png", seed=index)) for index in range(3)]
    whole = io.BytesIO()
    Image.new("RGB", (64, 64), (1, 2, 3)).save(whole, "JPEG")
    truncated = tmp_path / "truncated.jpg"
    truncated.write_bytes(whole.getvalue()[:200])  # header intact, data cut off
    dataset = training_data.make_dataset([*paths, str(truncated)], batch_size=2, image_size=16, seed=0)
    batches = [batch.numpy() for batch in dataset.take(6)]  # 12 images: several passes over 3 good files
    assert all(batch.shape == (2, 16, 16, 3) for batch in batches)
    # The truncated file is a flat (1, 2, 3) image; none of the random images has such a crop.
    assert not any(np.allclose(image, [1, 2, 3], atol=2) for batch in batches for image in batch)
