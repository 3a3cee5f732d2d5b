"""nst.masks against hand-made mask files and hand-known blends."""

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from nst import masks
from nst.images import ImageError


def write_mask(path, image):
    image.save(path)
    return path


def random_array(seed, shape):
    return np.random.default_rng(seed).uniform(0.0, 255.0, size=shape).astype(np.float32)


@pytest.mark.parametrize(("gray", "expected"), [(255, 1.0), (0, 0.0), (128, 128 / 255)])
def test_read_mask_maps_gray_levels_to_weights(tmp_path, gray, expected):
    path = write_mask(tmp_path / "mask.png", Image.new("L", (6, 4), gray))
    mask = masks.read_mask(path, (6, 4))
    assert mask.shape == (4, 6) and mask.dtype == np.float32
    np.testing.assert_allclose(mask, expected, atol=1e-6)


def test_read_mask_of_an_rgb_file_uses_its_luminance(tmp_path):
    path = write_mask(tmp_path / "mask.png", Image.new("RGB", (4, 4), (255, 0, 0)))
    np.testing.assert_allclose(masks.read_mask(path, (4, 4)), 0.299, atol=1e-6)


def test_read_mask_keeps_soft_edges_and_orientation(tmp_path):
    ramp = np.tile(np.array([0, 64, 191, 255], dtype=np.uint8), (3, 1))  # left dark, right light
    path = write_mask(tmp_path / "ramp.png", Image.fromarray(ramp))
    mask = masks.read_mask(path, (4, 3))
    np.testing.assert_allclose(mask, ramp / 255.0, atol=1e-6)


def test_read_mask_resizes_to_the_requested_size(tmp_path):
    left_half_white = np.zeros((10, 20), dtype=np.uint8)
    left_half_white[:, :10] = 255
    path = write_mask(tmp_path / "mask.png", Image.fromarray(left_half_white))
    mask = masks.read_mask(path, (40, 30))
    assert mask.shape == (30, 40)
    assert 0.0 <= mask.min() and mask.max() <= 1.0
    np.testing.assert_allclose(mask[:, :15], 1.0, atol=1e-6)
    np.testing.assert_allclose(mask[:, 25:], 0.0, atol=1e-6)


def test_read_mask_refuses_a_text_file_naming_its_path(tmp_path):
    path = tmp_path / "mask.png"
    path.write_text("not an image\n")
    with pytest.raises(ImageError, match="mask.png") as caught:
        masks.read_mask(path, (4, 4))
    assert caught.value.path == str(path)


def test_read_mask_refuses_a_missing_file(tmp_path):
    with pytest.raises(ImageError, match="no such file"):
        masks.read_mask(tmp_path / "absent.png", (4, 4))


def test_blend_keeps_content_where_mask_is_zero_and_generated_where_one():
    generated, content = random_array(0, (3, 4, 3)), random_array(1, (3, 4, 3))
    mask = np.zeros((3, 4), dtype=np.float32)
    mask[:, 2:] = 1.0
    blended = masks.blend_with_content(generated, content, mask)
    np.testing.assert_array_equal(blended[:, :2], content[:, :2])
    np.testing.assert_array_equal(blended[:, 2:], generated[:, 2:])


def test_blend_mixes_in_proportion_to_soft_mask():
    generated = np.full((2, 2, 3), 200.0, dtype=np.float32)
    content = np.full((2, 2, 3), 100.0, dtype=np.float32)
    blended = masks.blend_with_content(generated, content, np.full((2, 2), 0.25))
    np.testing.assert_allclose(blended, 125.0)


def test_blend_works_on_a_batched_tensor():
    generated, content = random_array(2, (1, 3, 4, 3)), random_array(3, (1, 3, 4, 3))
    mask = np.zeros((3, 4), dtype=np.float32)
    blended = masks.blend_with_content(tf.constant(generated), tf.constant(content), mask)
    assert tf.is_tensor(blended)
    np.testing.assert_array_equal(blended.numpy(), content)


def test_blend_refuses_a_mask_of_another_size():
    with pytest.raises(ValueError, match="does not fit"):
        masks.blend_with_content(np.zeros((3, 4, 3)), np.zeros((3, 4, 3)), np.zeros((4, 3)))


def test_mask_at_resolution_averages_blocks():
    mask = np.array([[1, 1, 0, 0], [1, 0, 0, 0], [1, 1, 1, 1], [1, 1, 1, 1]], dtype=np.float32)
    resized = masks.mask_at_resolution(mask, 2, 2)
    np.testing.assert_allclose(resized.numpy(), [[0.75, 0.0], [1.0, 1.0]])


def test_mask_at_resolution_gives_the_requested_shape():
    resized = masks.mask_at_resolution(np.ones((30, 40)), 7, 10)
    assert tuple(resized.shape) == (7, 10)
    np.testing.assert_allclose(resized.numpy(), 1.0, atol=1e-6)


def test_normalise_style_masks_sums_to_one_where_covered():
    first = np.array([[1.0, 0.2, 0.0], [0.0, 0.5, 0.0]])
    second = np.array([[1.0, 0.6, 0.0], [0.3, 0.5, 0.0]])
    normalised = masks.normalise_style_masks([first, second])
    total = normalised[0] + normalised[1]
    np.testing.assert_allclose(total, [[1.0, 1.0, 0.0], [1.0, 1.0, 0.0]], rtol=1e-6)
    np.testing.assert_allclose(normalised[0], [[0.5, 0.25, 0.0], [0.0, 0.5, 0.0]], rtol=1e-6)
    assert all(mask.dtype == np.float32 for mask in normalised)


def test_normalise_one_mask_makes_it_binary():
    normalised = masks.normalise_style_masks([np.array([[0.0, 0.1, 0.9]])])
    np.testing.assert_allclose(normalised[0], [[0.0, 1.0, 1.0]])


@pytest.mark.parametrize(
    ("style_masks", "problem"),
    [
        ([], "at least one"),
        ([np.ones((2, 2)), np.ones((2, 3))], "one shape"),
        ([np.full((2, 2), -0.5)], "negative"),
    ],
)
def test_normalise_style_masks_refuses_bad_masks(style_masks, problem):
    with pytest.raises(ValueError, match=problem):
        masks.normalise_style_masks(style_masks)
