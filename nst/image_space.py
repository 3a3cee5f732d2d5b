"""The coordinates the optimiser moves the generated image in: 0–255 pixels, 0–1 values, or the network's input."""

import dataclasses

import numpy as np

from nst import config as config_module

PIXEL_RANGE = (0.0, 255.0)


@dataclasses.dataclass(frozen=True)
class ImageSpace:
    """value = (rgb_pixels / pixel_scale − offset) / scale, per RGB channel (offset and scale in rgb / pixel_scale units).

    The systems this project reproduces run their optimisers on different variables: the Coursera
    TF1 assignment on mean-subtracted pixels (a shift of the pixels: Adam moves them alike), the
    TensorFlow tutorial and the Coursera TF2 assignment on 0–1 images, the Udacity notebook on the
    ImageNet-normalised tensor and jcjohnson/neural-style on its ×256 caffe input. Learning rates,
    Adam's epsilon, L-BFGS's first step, total variation and clipping are all in the variable's
    units, so the variable itself is part of reproducing a system. Channels stay in RGB order
    whatever the network's order: the optimisers treat every value alike, so the order changes
    nothing but the order of sums.
    """

    name: str
    offset: tuple = (0.0, 0.0, 0.0)
    scale: tuple = (1.0, 1.0, 1.0)
    pixel_scale: float = 1.0

    def from_pixels(self, rgb_pixels):
        """RGB 0–255 pixels (…×3, an array or a tensor) in this space's coordinates.

        float64 arrays are converted in float64: a start image made in float64 (the Coursera
        noise blend is) then becomes exactly the float32 values its original system starts from.
        The operations are the input conventions' (nst.weights.InputConvention.preprocess), in
        their order, so the network space gives the network's input to the bit.
        """
        dtype = _arithmetic_dtype(rgb_pixels)
        scaled = rgb_pixels if self.pixel_scale == 1.0 else rgb_pixels / dtype(self.pixel_scale)
        return (scaled - np.asarray(self.offset, dtype)) / np.asarray(self.scale, dtype)

    def to_pixels(self, values):
        """This space's coordinates (…×3) back to RGB pixel units."""
        dtype = _arithmetic_dtype(values)
        scaled = values * np.asarray(self.scale, dtype) + np.asarray(self.offset, dtype)
        return scaled if self.pixel_scale == 1.0 else scaled * dtype(self.pixel_scale)

    @property
    def coordinates(self):
        """What defines the space's values, its name aside."""
        return self.pixel_scale, self.offset, self.scale

    def bounds(self):
        """(low, high) per RGB channel, float32 arrays of shape (3,): the 0–255 pixel range in this space."""
        low, high = (self.from_pixels(np.full(3, value, np.float32)) for value in PIXEL_RANGE)
        return np.minimum(low, high), np.maximum(low, high)


def _arithmetic_dtype(values):
    return np.float64 if isinstance(values, np.ndarray) and values.dtype == np.float64 else np.float32


def image_space(name, convention=None):
    """The ImageSpace called name ('pixels', 'unit' or 'network'); 'network' needs the network's InputConvention."""
    if name == "pixels":
        return ImageSpace("pixels")
    if name == "unit":
        return ImageSpace("unit", pixel_scale=255.0)
    if name == "network":
        if convention is None:
            raise ValueError("the 'network' space needs the network's input convention")
        return ImageSpace("network", offset=tuple(convention.mean), scale=tuple(convention.std),
                          pixel_scale=convention.pixel_scale)
    raise ValueError(f"optimization_space must be one of {', '.join(config_module.OPTIMIZATION_SPACES)}, "
                     f"got {name!r}")
