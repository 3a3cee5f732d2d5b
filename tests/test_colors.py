"""nst.colors against hand-known colours and the statistics each method promises."""

import numpy as np
import pytest
import tensorflow as tf

from nst import colors


def random_pixels(seed, shape=(6, 7, 3)):
    return np.random.default_rng(seed).uniform(0.0, 255.0, size=shape).astype(np.float32)


def mean_and_covariance(pixels):
    rows = np.asarray(pixels, dtype=np.float64).reshape(-1, 3)
    return rows.mean(axis=0), np.cov(rows, rowvar=False, bias=True)


def test_yiq_round_trip_is_exact():
    pixels = random_pixels(0)
    np.testing.assert_allclose(colors.yiq_to_rgb(colors.rgb_to_yiq(pixels)), pixels, rtol=0, atol=1e-4)


def test_matrices_are_an_inverse_pair():
    np.testing.assert_allclose(colors.YIQ_TO_RGB @ colors.RGB_TO_YIQ, np.eye(3), atol=1e-12)


def test_white_has_full_luminance_and_no_chrominance():
    yiq = colors.rgb_to_yiq(np.full((1, 1, 3), 255.0, dtype=np.float32))
    np.testing.assert_allclose(yiq[0, 0], [255.0, 0.0, 0.0], atol=1e-4)


@pytest.mark.parametrize("gray", [0.0, 17.0, 128.0, 254.5])
def test_grays_have_no_chrominance(gray):
    yiq = colors.rgb_to_yiq(np.full((2, 2, 3), gray, dtype=np.float32))
    np.testing.assert_allclose(yiq[..., 0], gray, atol=1e-4)
    np.testing.assert_allclose(yiq[..., 1:], 0.0, atol=1e-4)


def test_pure_red_has_the_ntsc_values():
    yiq = colors.rgb_to_yiq(np.array([[[255.0, 0.0, 0.0]]], dtype=np.float32))
    np.testing.assert_allclose(yiq[0, 0], [0.299 * 255, 0.595716 * 255, 0.211456 * 255], rtol=1e-6)


def test_arrays_give_float32_and_tensors_give_tensors():
    pixels = random_pixels(1)
    from_array = colors.rgb_to_yiq(pixels)
    from_tensor = colors.rgb_to_yiq(tf.constant(pixels))
    assert from_array.dtype == np.float32
    assert tf.is_tensor(from_tensor)
    np.testing.assert_allclose(from_tensor.numpy(), from_array, atol=1e-3)


def test_wrong_channel_count_is_refused():
    with pytest.raises(ValueError, match="3 colour channels"):
        colors.rgb_to_yiq(np.zeros((2, 2, 4), dtype=np.float32))


def test_luminance_image_repeats_y_in_every_channel():
    pixels = random_pixels(2)
    luminance = colors.luminance_image(pixels)
    expected_y = colors.rgb_to_yiq(pixels)[..., 0]
    assert luminance.shape == pixels.shape
    for channel in range(3):
        np.testing.assert_allclose(luminance[..., channel], expected_y, atol=1e-4)
    # A gray image has no chrominance, and its luminance is its own.
    np.testing.assert_allclose(colors.rgb_to_yiq(luminance)[..., 1:], 0.0, atol=1e-3)
    np.testing.assert_allclose(colors.luminance_image(luminance), luminance, atol=1e-3)


def test_transfer_luminance_takes_y_from_styled_and_chrominance_from_content():
    styled, content = random_pixels(3), random_pixels(4)
    result = colors.transfer_luminance(styled, content)
    result_yiq = colors.rgb_to_yiq(result)
    np.testing.assert_allclose(result_yiq[..., 0], colors.rgb_to_yiq(styled)[..., 0], atol=1e-3)
    np.testing.assert_allclose(result_yiq[..., 1:], colors.rgb_to_yiq(content)[..., 1:], atol=1e-3)


def test_transfer_luminance_of_a_luminance_image_keeps_its_y():
    styled, content = colors.luminance_image(random_pixels(5)), random_pixels(6)
    result = colors.transfer_luminance(styled, content)
    np.testing.assert_allclose(colors.rgb_to_yiq(result)[..., 0], styled[..., 0], atol=1e-3)


def test_transfer_luminance_gray_content_gives_the_styled_luminance():
    styled = random_pixels(7)
    gray_content = np.full(styled.shape, 90.0, dtype=np.float32)
    np.testing.assert_allclose(
        colors.transfer_luminance(styled, gray_content), colors.luminance_image(styled), atol=1e-3
    )


def test_transfer_luminance_works_on_tensors():
    styled, content = random_pixels(8), random_pixels(9)
    result = colors.transfer_luminance(tf.constant(styled), tf.constant(content))
    assert tf.is_tensor(result)
    np.testing.assert_allclose(result.numpy(), colors.transfer_luminance(styled, content), atol=1e-2)


def test_transfer_luminance_refuses_different_shapes():
    with pytest.raises(ValueError, match="same shape"):
        colors.transfer_luminance(random_pixels(0, (4, 4, 3)), random_pixels(1, (4, 5, 3)))


def test_match_luminance_statistics_known_value():
    # Style 0, 200 (mean 100, std 100) onto content 10, 14 (mean 12, std 2): 0 -> 10, 200 -> 14.
    matched = colors.match_luminance_statistics(np.array([0.0, 200.0]), np.array([10.0, 14.0]))
    np.testing.assert_allclose(matched, [10.0, 14.0], rtol=1e-4)


def test_match_luminance_statistics_matches_mean_and_std():
    style = colors.luminance_image(random_pixels(10, (8, 9, 3)))[..., 0] * 0.3 + 40.0
    content = colors.luminance_image(random_pixels(11, (5, 6, 3)))[..., 0]
    matched = colors.match_luminance_statistics(style, content)
    assert matched.shape == style.shape and matched.dtype == np.float32
    assert matched.mean() == pytest.approx(content.mean(), rel=1e-4)
    assert matched.std() == pytest.approx(content.std(), rel=1e-4)


def test_match_luminance_statistics_of_flat_style_is_the_content_mean():
    content = random_pixels(12, (5, 5))
    matched = colors.match_luminance_statistics(np.full((4, 4), 77.0), content)
    assert np.all(np.isfinite(matched))
    np.testing.assert_allclose(matched, content.mean(), rtol=1e-5)


def test_match_color_histogram_matches_mean_and_covariance():
    random = np.random.default_rng(13)
    # Correlated content colours, kept mid-range so that the match needs no clipping.
    mixing = np.array([[1.0, 0.4, 0.1], [0.3, 0.8, 0.2], [0.0, 0.5, 0.6]])
    content = (random.normal(size=(20, 30, 3)) * 15.0) @ mixing.T + [120.0, 110.0, 100.0]
    style = random.uniform(30.0, 90.0, size=(25, 16, 3)) * [1.0, 0.5, 0.8]
    matched = colors.match_color_histogram(style.astype(np.float32), content.astype(np.float32))
    assert matched.shape == style.shape and matched.dtype == np.float32
    assert 0.0 < matched.min() and matched.max() < 255.0  # so clipping played no part
    content_mean, content_covariance = mean_and_covariance(content)
    matched_mean, matched_covariance = mean_and_covariance(matched)
    np.testing.assert_allclose(matched_mean, content_mean, rtol=1e-4)
    np.testing.assert_allclose(matched_covariance, content_covariance, rtol=1e-2, atol=1e-2)


def test_match_color_histogram_of_content_onto_itself_changes_little():
    content = random_pixels(14)
    np.testing.assert_allclose(colors.match_color_histogram(content, content), content, atol=1e-2)


def test_match_color_histogram_scales_independent_channels_without_mixing():
    # Pixels at the corners of a box have a diagonal covariance. The symmetric
    # transform between two diagonal covariances is diagonal, σ_c / σ_s per
    # channel, so each style corner lands on the matching content corner.
    corners = np.array(np.meshgrid([-1, 1], [-1, 1], [-1, 1], indexing="ij")).reshape(3, -1).T
    style = (corners * [10.0, 20.0, 30.0] + 50.0).reshape(2, 4, 3).astype(np.float32)
    content = (corners * [5.0, 3.0, 1.5] + [105.0, 103.0, 101.5]).reshape(2, 4, 3).astype(np.float32)
    np.testing.assert_allclose(colors.match_color_histogram(style, content), content, atol=1e-2)


def test_match_color_histogram_uses_symmetric_square_roots_not_cholesky():
    # With a white style (covariance k²·I) the transform is Σ_c^½ / k: symmetric,
    # where the Cholesky choice would give a lower-triangular matrix instead.
    corners = np.array(np.meshgrid([-1, 1], [-1, 1], [-1, 1], indexing="ij")).reshape(3, -1).T
    style = (corners * 20.0 + 60.0).reshape(2, 4, 3).astype(np.float32)
    content = random_pixels(20, (10, 10, 3)) @ np.array([[0.5, 0.3, 0.0], [0.2, 0.4, 0.1], [0.0, 0.2, 0.6]]).T
    matched = colors.match_color_histogram(style, content.astype(np.float32)).reshape(-1, 3)
    centred_style = corners * 20.0
    transform = np.linalg.lstsq(centred_style, matched - matched.mean(axis=0), rcond=None)[0].T
    _, content_covariance = mean_and_covariance(content)
    eigenvalues, eigenvectors = np.linalg.eigh(content_covariance)
    expected = (eigenvectors * np.sqrt(eigenvalues)) @ eigenvectors.T / 20.0
    np.testing.assert_allclose(transform, transform.T, atol=1e-4)
    np.testing.assert_allclose(transform, expected, rtol=1e-3, atol=1e-4)


def test_match_color_histogram_of_flat_style_gives_the_content_mean():
    content = random_pixels(15)
    matched = colors.match_color_histogram(np.full((4, 4, 3), 200.0, dtype=np.float32), content)
    assert np.all(np.isfinite(matched))
    np.testing.assert_allclose(matched, np.broadcast_to(content.reshape(-1, 3).mean(axis=0), (4, 4, 3)), atol=1e-3)


def test_match_color_histogram_of_gray_style_has_no_nan():
    gray = random_pixels(16, (6, 6, 1)).repeat(3, axis=2)
    matched = colors.match_color_histogram(gray, random_pixels(17))
    assert np.all(np.isfinite(matched))


def test_match_color_histogram_clips_to_pixel_range():
    # A low-contrast style onto a content of extreme colours pushes the tails out of range.
    style = random_pixels(18) * 0.1 + 100.0
    content = np.where(random_pixels(19) > 127.5, 255.0, 0.0).astype(np.float32)
    matched = colors.match_color_histogram(style, content)
    assert matched.min() == 0.0 and matched.max() == 255.0
