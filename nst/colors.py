"""Colour preservation for style transfer (Gatys et al. 2016, "Preserving Color in Neural Artistic Style Transfer")."""

import numpy as np
import tensorflow as tf

# The NTSC (FCC 1953) RGB -> YIQ matrix. Each chrominance row sums to zero, so
# every gray (R = G = B) has I = Q = 0, and the luminance row sums to one, so
# white 255 has Y = 255.
RGB_TO_YIQ = np.array(
    [
        [0.299, 0.587, 0.114],
        [0.595716, -0.274453, -0.321263],
        [0.211456, -0.522591, 0.311135],
    ],
    dtype=np.float64,
)
# Inverted rather than taken from a table, so the round trip is exact to float precision.
YIQ_TO_RGB = np.linalg.inv(RGB_TO_YIQ)

# Picking channels of a YIQ image by a matrix keeps one code path for arrays and tensors.
_KEEP_LUMINANCE = np.diag([1.0, 0.0, 0.0])
_KEEP_CHROMINANCE = np.diag([0.0, 1.0, 1.0])
# Every output channel is Y: RGB -> (Y, Y, Y).
_RGB_TO_REPLICATED_LUMINANCE = np.tile(RGB_TO_YIQ[:1], (3, 1))

# Added to the style image's variances (in squared 0..255 pixel units, so a
# standard deviation of 0.1 gray level) before they are inverted: a flat or
# gray style image has zero variance in some direction, and dividing by it
# would give inf or NaN. Real images have variances in the hundreds.
VARIANCE_EPSILON = 1e-2


def rgb_to_yiq(pixels):
    """Convert RGB pixels (…×3, 0..255) to YIQ in the same units: Y in 0..255, I and Q signed.

    Takes a NumPy array (returns float32) or a TensorFlow tensor (returns a
    tensor of its dtype, so it can sit inside a tf.function).
    """
    return _apply_color_matrix(pixels, RGB_TO_YIQ, "pixels")


def yiq_to_rgb(yiq):
    """Convert YIQ (…×3) back to RGB, the exact inverse of rgb_to_yiq; values are not clipped."""
    return _apply_color_matrix(yiq, YIQ_TO_RGB, "yiq")


def luminance_image(pixels):
    """Return the luminance Y of RGB pixels (…×3) repeated in all three channels.

    This gray image is what the network sees in luminance-only transfer
    (paper section 2.2): VGG needs three channels, and R = G = B = Y has
    luminance Y and no chrominance. Arrays give float32, tensors give tensors.
    """
    return _apply_color_matrix(pixels, _RGB_TO_REPLICATED_LUMINANCE, "pixels")


def transfer_luminance(styled_pixels, content_pixels):
    """Combine the luminance Y of `styled_pixels` with the chrominance I, Q of `content_pixels`.

    Both are RGB …×3 in 0..255 and of the same shape; `styled_pixels` may be a
    luminance_image. Returns RGB of that shape (float32 for arrays) whose I and
    Q equal the content's and whose Y equals the styled image's (paper
    section 2.2). The result is not clipped: where a styled Y is extreme for
    the content's colour (bright Y over a saturated blue, say) some channel
    leaves 0..255, and the clipping done when saving shifts I and Q there slightly.
    """
    _check_same_shape(styled_pixels, content_pixels, "styled_pixels", "content_pixels")
    styled_yiq = rgb_to_yiq(styled_pixels)
    content_yiq = rgb_to_yiq(content_pixels)
    luminance = _apply_color_matrix(styled_yiq, _KEEP_LUMINANCE, "styled_pixels")
    chrominance = _apply_color_matrix(content_yiq, _KEEP_CHROMINANCE, "content_pixels")
    return yiq_to_rgb(luminance + chrominance)


def match_luminance_statistics(style_luminance, content_luminance):
    """Return the style luminance shifted and scaled to the content's mean and standard deviation.

    Y_s' = σ_c / σ_s · (Y_s − μ_s) + μ_c, the paper's luminance matching
    before luminance-only transfer (section 2.2). Takes NumPy arrays of any
    shape (a Y channel, or a luminance_image) and returns float32 of the style's
    shape. Not clipped to 0..255: it is only what the network sees of the style,
    never saved as a picture, and clipping would undo the statistics it matches.
    A flat style image becomes the content's mean everywhere.
    """
    style = np.asarray(style_luminance, dtype=np.float64)
    content = np.asarray(content_luminance, dtype=np.float64)
    scale = content.std() / np.sqrt(style.var() + VARIANCE_EPSILON)
    return (scale * (style - style.mean()) + content.mean()).astype(np.float32)


def match_color_histogram(style_pixels, content_pixels):
    """Recolour the style image so its colour mean and covariance match the content image's.

    The paper's colour histogram matching (section 2.1): x' = A·x + b for each
    style pixel x, with b = μ_c − A·μ_s. Takes two NumPy RGB arrays H×W×3 in
    0..255 (sizes may differ) and returns the style image as float32 H×W×3.

    The paper offers two choices of A, a Cholesky one and the "Image Analogies"
    one, A = Σ_c^½ · Σ_s^-½ with symmetric square roots; this uses the second,
    because the Cholesky factor depends on the order of the colour channels
    (it treats R specially) while the symmetric roots treat R, G and B alike.
    Either way A·Σ_s·Aᵀ = Σ_c.

    The result is clipped to 0..255: it stands in for the style image, so it is
    fed to VGG and may be saved like any picture, and the linear map can push
    the tails of the style's colours outside what an 8-bit image can hold.
    Clipping touches only those tails, so the match is then close, not exact.
    A style image with no variance in some colour direction (flat, or gray)
    keeps none there: no linear map can create it.
    """
    style = _pixel_rows(style_pixels, "style_pixels")
    content = _pixel_rows(content_pixels, "content_pixels")
    style_mean, style_covariance = style.mean(axis=0), np.cov(style, rowvar=False, bias=True)
    content_mean, content_covariance = content.mean(axis=0), np.cov(content, rowvar=False, bias=True)
    regularised_style_covariance = style_covariance + VARIANCE_EPSILON * np.eye(3)
    transform = _symmetric_power(content_covariance, 0.5) @ _symmetric_power(regularised_style_covariance, -0.5)
    matched = (style - style_mean) @ transform.T + content_mean
    shape = np.shape(style_pixels)
    return np.clip(matched, 0.0, 255.0).reshape(shape).astype(np.float32)


def _apply_color_matrix(values, matrix, name):
    """Return values @ matrix.T over the last axis: float32 for arrays (computed in float64), a tensor for tensors."""
    _check_channels(values, name)
    if tf.is_tensor(values):
        return tf.tensordot(values, tf.constant(matrix.T, dtype=values.dtype), axes=1)
    return (np.asarray(values, dtype=np.float64) @ matrix.T).astype(np.float32)


def _pixel_rows(pixels, name):
    """Return an H×W×3 array as float64 rows of one pixel each (H·W×3)."""
    _check_channels(pixels, name)
    array = np.asarray(pixels, dtype=np.float64)
    if array.ndim != 3 or array.size == 0:
        raise ValueError(f"{name} must be a non-empty H×W×3 image, got shape {array.shape}")
    return array.reshape(-1, 3)


def _symmetric_power(matrix, power):
    """Return a symmetric positive semi-definite matrix raised to `power` through its eigen-decomposition."""
    eigenvalues, eigenvectors = np.linalg.eigh(matrix)
    # Rounding can leave tiny negative eigenvalues where the true ones are zero.
    eigenvalues = np.maximum(eigenvalues, 0.0)
    return (eigenvectors * eigenvalues**power) @ eigenvectors.T


def _check_channels(values, name):
    """Raise ValueError unless the last axis of `values` holds 3 colour channels."""
    shape = tuple(values.shape) if tf.is_tensor(values) else np.shape(values)
    # Inside a tf.function the channel count may be unknown (None); trust it then.
    if len(shape) == 0 or shape[-1] not in (3, None):
        raise ValueError(f"{name} must have 3 colour channels in its last axis, got shape {shape}")


def _check_same_shape(first, second, first_name, second_name):
    """Raise ValueError unless two images have the same (known) shape."""
    first_shape = tuple(first.shape) if tf.is_tensor(first) else np.shape(first)
    second_shape = tuple(second.shape) if tf.is_tensor(second) else np.shape(second)
    if None in first_shape or None in second_shape:
        return
    if first_shape != second_shape:
        raise ValueError(
            f"{first_name} and {second_name} must have the same shape, got {first_shape} and {second_shape}"
        )
