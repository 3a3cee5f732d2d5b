"""The feed-forward network's Python API: a picture stylised by a trained network in one pass, as a PIL image.

nst.stylize paints one picture by optimisation (minutes); this runs a network that
fast_main.py train made (a fraction of a second). nst.stylize_fast is stylize_fast below.
"""

import numpy as np
import PIL.Image

from nst import config as config_module
from nst import images
from nst.fast import config as fast_config
from nst.fast import stylize as fast_stylize


class FastStylizer:
    """A trained network loaded once; call it on each picture (path, PIL image or H×W×3 array) for a PIL image."""

    def __init__(self, model, precision="auto"):
        """model: a training folder, a .keras file, a SavedModel folder or a .tflite file (what export writes).

        precision: 'auto', 'float32' or 'bfloat16' (Keras models only), as for fast_main.py stylize.
        """
        if precision not in fast_config.STYLIZE_PRECISIONS:
            raise config_module.ConfigError(
                f"precision must be one of {', '.join(fast_config.STYLIZE_PRECISIONS)}, got {precision!r}")
        self._stylizer = fast_stylize.load_stylizer(model, precision)
        self.description = self._stylizer.description

    def __call__(self, image, max_size=0):
        """The stylised picture, the size of image (scaled down first so its longest side is at most max_size)."""
        pixels = _pixels(image, max_size)
        return images.to_pil(self._stylizer(pixels).pixels)


def _pixels(image, max_size):
    """H×W×3 float32 pixels (0–255) of a path, a PIL image or an array; StylizeError when too small."""
    if isinstance(image, np.ndarray):
        pixels = np.asarray(image, np.float32)
        if pixels.ndim != 3 or pixels.shape[2] != 3:
            raise ValueError(f"expected an H×W×3 array of pixels 0–255, got shape {pixels.shape}")
        source = "<in-memory array>"
        if max_size and max(pixels.shape[:2]) > max_size:
            pixels = images.to_array(images.resize_to_longest_side(images.to_pil(pixels), max_size))
    else:
        source = "<in-memory image>" if isinstance(image, PIL.Image.Image) else str(image)
        picture = image if isinstance(image, PIL.Image.Image) else images.read_image(image)
        if max_size and max(picture.size) > max_size:
            picture = images.resize_to_longest_side(picture, max_size)
        pixels = images.to_array(picture)
    fast_stylize.check_side(source, pixels.shape[1], pixels.shape[0])
    return pixels


def stylize_fast(image, model, precision="auto", max_size=0):
    """Stylises image with a trained feed-forward network; returns a PIL.Image.Image of the same size.

    image: a path, a PIL image or an H×W×3 array (0–255). model: a training folder, a .keras
    file, or an export (SavedModel folder, .tflite file). max_size: scale image down first so
    its longest side is at most this; 0 keeps its size. Writes no files. Loads the network
    at every call: for many pictures, make one FastStylizer(model) and call it. Raises
    nst.ConfigError, nst.images.ImageError, nst.fast.network.TransformNetError,
    nst.fast.stylize.StylizeError on bad input.
    """
    return FastStylizer(model, precision)(image, max_size)
