"""Masks for content-aware transfer: reading them, bringing them to a layer's size, normalising and blending with them."""

import numpy as np
import tensorflow as tf

from nst import colors, images


def read_mask(path, size):
    """Read the mask image at `path` as a float32 height×width array in [0, 1].

    White is 1 (styled), black is 0 (left as content) and grays in between
    keep soft edges. `size` is the (width, height) of the content image; a
    mask of another size is resized to it with Lanczos resampling rather than
    refused. The file goes through images.read_image, so anything that is not
    a usable image raises images.ImageError naming `path`.
    """
    image = images.resize_to_size(images.read_image(path), size)
    luminance = colors.rgb_to_yiq(images.to_array(image))[..., 0] / 255.0
    # Y of 0..255 pixels lies in 0..255 up to rounding; clipping makes white exactly 1.
    return np.clip(luminance, 0.0, 1.0).astype(np.float32)


def blend_with_content(generated_pixels, content_pixels, mask):
    """Return mask·generated + (1 − mask)·content.

    The pixels are H×W×3 (or 1×H×W×3) arrays or tensors, the mask H×W; it is
    broadcast over the colour channels. Where the mask is 0 the result is the
    content exactly, where it is 1 the generated image exactly.
    """
    mask, generated, content = (_as_float32(values) for values in (mask, generated_pixels, content_pixels))
    _check_mask_matches(mask, generated, "generated_pixels")
    _check_mask_matches(mask, content, "content_pixels")
    mask = mask[..., None]  # H×W×1, broadcast over channels (and a leading batch axis).
    return mask * generated + (1.0 - mask) * content


def mask_at_resolution(mask, height, width):
    """Return the H×W `mask` resized to height×width as a float32 tensor, by area averaging.

    Area averaging is what a layer's pooling does to the image, so a region
    keeps its share of each smaller feature map. The result is kept in [0, 1].
    """
    mask = tf.convert_to_tensor(mask, dtype=tf.float32)
    if mask.shape.rank != 2:
        raise ValueError(f"mask must be a height×width array, got shape {tuple(mask.shape)}")
    resized = tf.image.resize(mask[..., None], (height, width), method="area")[..., 0]
    # Averaging can round a hair past 1 (or below 0); weights must stay in range.
    return tf.clip_by_value(resized, 0.0, 1.0)


def normalise_style_masks(masks):
    """Scale K masks (one H×W array per style) so that at every pixel they sum to 1.

    Returns a list of K float32 H×W arrays. Each pixel's weights keep their
    proportions (0.2 and 0.6 become 0.25 and 0.75); a pixel no mask covers
    stays 0 in all of them, so no style is asked for there. Raises ValueError
    for no masks, masks of different shapes, or negative values.
    """
    arrays = [np.asarray(mask, dtype=np.float64) for mask in masks]
    if not arrays:
        raise ValueError("normalise_style_masks needs at least one mask")
    shapes = {array.shape for array in arrays}
    if len(shapes) != 1 or arrays[0].ndim != 2:
        raise ValueError(f"style masks must be height×width arrays of one shape, got shapes {sorted(shapes)}")
    if any((array < 0).any() for array in arrays):
        raise ValueError("style masks must not be negative")
    total = np.sum(arrays, axis=0)
    covered = total > 0
    return [
        np.divide(array, total, out=np.zeros_like(array), where=covered).astype(np.float32)
        for array in arrays
    ]


def _as_float32(values):
    """Return a tensor cast to float32, or anything else as a float32 NumPy array."""
    if tf.is_tensor(values):
        return tf.cast(values, tf.float32)
    return np.asarray(values, dtype=np.float32)


def _check_mask_matches(mask, pixels, name):
    """Raise ValueError unless the H×W mask has the height and width of H×W×3 (or 1×H×W×3) pixels."""
    pixel_shape = tuple(pixels.shape)
    mask_shape = tuple(mask.shape)
    if None in pixel_shape or None in mask_shape:
        return  # Unknown while tracing a tf.function; broadcasting checks it at run time.
    if len(mask_shape) != 2 or len(pixel_shape) < 3 or pixel_shape[-3:-1] != mask_shape:
        raise ValueError(f"mask of shape {mask_shape} does not fit {name} of shape {pixel_shape}")
