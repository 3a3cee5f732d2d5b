"""How content and style images are brought to the sizes a run works at, by each reproduced system's rule.

Every rule returns float32 H×W×3 RGB pixels in 0–255. Rules that resize 8-bit images with Pillow
(as the originals did through PIL or torchvision) give whole numbers; the TensorFlow tutorial's and
Torch's resize 0–1 floats, so theirs are not rounded to 8 bits.
"""

import math

import numpy as np
import PIL.Image
import tensorflow as tf

from nst import config as config_module
from nst import images


def content_size(image_size, rule, target):
    """(width, height) the content image of (width, height) image_size gets under rule at target pixels.

    longest: the longest side is target, the other rounded (this project's rule); square: target ×
    target (the Coursera TF2 assignment); udacity: the shorter side becomes min(longest side, target)
    and the longer one is truncated (the Udacity notebook's transforms.Resize(size)); shorter: the
    shorter side is target, the longer truncated (the PyTorch tutorial's transforms.Resize(imsize));
    tf_tutorial: the longest side is scaled to target in float32 and both sides truncated (the
    TensorFlow tutorial's load_img); torch_image: Torch's image.scale(image, target) (jcjohnson/neural-style).
    """
    width, height = image_size
    if rule == "longest":
        longest = max(width, height)
        return tuple(max(1, (2 * side * target + longest) // (2 * longest)) for side in (width, height))
    if rule == "square":
        return target, target
    if rule in ("udacity", "shorter"):
        requested = min(max(width, height), target) if rule == "udacity" else target
        return _shorter_side_size(width, height, requested)
    if rule == "tf_tutorial":
        return _tf_tutorial_size(width, height, target)
    if rule == "torch_image":
        return _torch_image_size(width, height, target)
    raise ValueError(f"sizing must be one of {', '.join(config_module.SIZING_RULES)}, got {rule!r}")


def _shorter_side_size(width, height, requested):
    """torchvision's Resize(int): the shorter side becomes requested, the longer int(requested·long/short)."""
    short, long = (width, height) if width <= height else (height, width)
    new_short, new_long = requested, int(requested * long / short)
    return (new_short, new_long) if width <= height else (new_long, new_short)


def _tf_tutorial_size(width, height, target):
    """The TensorFlow tutorial's new_shape = tf.cast(shape · (max_dim / long_dim), tf.int32), all in float32."""
    shape = tf.constant([height, width], tf.float32)
    scale = target / tf.reduce_max(shape)
    new_height, new_width = tf.cast(shape * scale, tf.int32).numpy()
    return int(new_width), int(new_height)


def _torch_image_size(width, height, target):
    """Torch's image.scale(image, size): the longest side becomes size, the other scaled and truncated."""
    if width > height:
        return target, int(height * target / width)
    return int(width * target / height), target


def resize(image, rule, size):
    """A PIL image resized to (width, height) by rule's resampling, as float32 RGB 0–255 pixels."""
    if rule == "longest":
        return images.to_array(images.resize_to_size(image, size))
    if rule == "square":
        # PIL's resize without a resample argument, as the Coursera TF2 assignment calls it (bicubic for RGB).
        return images.to_array(image.resize(size))
    if rule in ("udacity", "shorter"):
        # torchvision's Resize on a PIL image calls PIL's resize with bilinear resampling (antialiased).
        return images.to_array(image.resize(size, PIL.Image.Resampling.BILINEAR))
    # The two float rules return float64 pixels: value·255 is exact there, so a 0–1 space gets back
    # exactly the float32 values the original resized.
    if rule == "tf_tutorial":
        unit = images.to_array(image) * np.float32(1.0 / 255.0)  # tf.image.convert_image_dtype multiplies
        resized = tf.image.resize(unit[np.newaxis], (size[1], size[0])).numpy()[0]  # bilinear, no antialiasing
        return resized.astype(np.float64) * 255.0
    if rule == "torch_image":
        unit = np.asarray(image, np.float64) * (1.0 / 255.0)  # Torch's image.load: bytes times 1/255, doubles
        return torch_bilinear_scale(unit, size).astype(np.float64) * 255.0
    raise ValueError(f"sizing must be one of {', '.join(config_module.SIZING_RULES)}, got {rule!r}")


def content_pixels(image, rule, target):
    """The content image at a run's (or a scale's) target size, as float32 pixels."""
    return resize(image, rule, content_size(image.size, rule, target))


def style_pixels(image, rule, content_shape_size, target, style_scale=1.0):
    """A style image at the size its rule gives: the content's size, or its own aspect at target.

    content_shape_size is the content's (width, height) at this scale. The Coursera, Udacity and
    PyTorch-tutorial rules stretch the style to the content's size (scaled by style_scale, never below
    VGG19's 16 pixels); the TensorFlow tutorial and jcjohnson/neural-style keep the style's own aspect
    ratio and size its longest side (target·style_scale, rounded up as jcjohnson's style_size is).
    """
    if rule in ("tf_tutorial", "torch_image"):
        own_target = math.ceil(style_scale * target) if rule == "torch_image" else round(style_scale * target)
        size = content_size(image.size, rule, max(config_module.MIN_IMAGE_SIZE, own_target))
    else:
        size = tuple(max(config_module.MIN_IMAGE_SIZE, round(side * style_scale)) for side in content_shape_size)
    return resize(image, rule, size)


def torch_bilinear_scale(unit_pixels, size):
    """Torch's image.scale(src, width, height, 'bilinear') of an H×W×3 float image, as torch/image computes it.

    Separable: rows (the width) first, then columns. Along each axis, enlarging interpolates
    linearly with the end samples aligned (align-corners); shrinking averages the exact area each
    output sample covers. The positions, weights and (when shrinking) the running sums are 32-bit
    floats as in torch/image's C code, the samples float64 as jcjohnson/neural-style loads them;
    returns float64.
    """
    width, height = size
    values = np.asarray(unit_pixels, np.float64)
    values = _torch_scale_axis(values, width, axis=1)
    return _torch_scale_axis(values, height, axis=0)


def _torch_scale_axis(values, destination_length, axis):
    """One axis of torch_bilinear_scale."""
    source = np.moveaxis(values, axis, 0)
    source_length = source.shape[0]
    if destination_length == source_length:
        return values.copy()
    if destination_length > source_length:
        result = _torch_enlarge(source, destination_length)
    else:
        result = _torch_shrink(source, destination_length)
    return np.moveaxis(result, 0, axis)


def _torch_enlarge(source, destination_length):
    source_length = source.shape[0]
    result = np.empty((destination_length, *source.shape[1:]), np.float64)
    result[-1] = source[-1]
    if source_length == 1:
        result[:] = source[0]
        return result
    step = np.float32(source_length - 1) / np.float32(destination_length - 1)
    for index in range(destination_length - 1):
        position = np.float32(index) * step
        whole = int(position)
        fraction = np.float32(position - np.float32(whole))
        result[index] = (np.float32(1) - fraction) * source[whole] + fraction * source[whole + 1]
    return result


def _torch_shrink(source, destination_length):
    source_length = source.shape[0]
    result = np.empty((destination_length, *source.shape[1:]), np.float64)
    step = np.float32(source_length) / np.float32(destination_length)
    start_index, start_fraction = 0, np.float32(0)
    for index in range(destination_length):
        end = np.float32(index + 1) * step
        end_index = int(end)
        end_fraction = np.float32(end - np.float32(end_index))
        total = ((np.float32(1) - start_fraction) * source[start_index]).astype(np.float32)
        weight = np.float32(1) - start_fraction
        for inner in range(start_index + 1, end_index):
            total = (total + source[inner]).astype(np.float32)
            weight = np.float32(weight + np.float32(1))
        if end_index < source_length:
            total = (total + end_fraction * source[end_index]).astype(np.float32)
            weight = np.float32(weight + end_fraction)
        result[index] = total / weight
        start_index, start_fraction = end_index, end_fraction
    return result
