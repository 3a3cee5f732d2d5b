"""How a network's first layer expects its pixels: the input conventions of the weight files, and the systems' departures from them."""

import dataclasses

import numpy as np

@dataclasses.dataclass(frozen=True)
class InputConvention:
    """How a network's first layer expects pixels: RGB 0–255 becomes ((rgb / pixel_scale − mean) / std) in channel_order.

    mean and std are in the units of rgb / pixel_scale and in RGB order whatever channel_order is,
    so one formula serves caffe-style (pixels, BGR, mean only) and torchvision-style (pixels / 255,
    RGB, mean and std) weights, in the order of operations each publisher uses: torchvision's
    ToTensor divides by 255 before Normalize, and a network fed by the reproduced systems must get
    their values to the last bit (a ReLU input that lands on the other side of 0 changes the gradient).
    """

    channel_order: str  # "rgb" or "bgr"
    mean: tuple  # per RGB channel, in units of rgb / pixel_scale
    std: tuple = (1.0, 1.0, 1.0)  # likewise
    pixel_scale: float = 1.0

    def preprocess(self, rgb_pixels):
        """Maps an RGB 0–255 tensor or array (…×3) to the network's input."""
        return self.preprocess_scaled(rgb_pixels if self.pixel_scale == 1.0 else rgb_pixels / np.float32(self.pixel_scale))

    def preprocess_scaled(self, scaled_rgb):
        """preprocess for RGB already divided by pixel_scale (the 0–1 image a torchvision user holds)."""
        centred = (scaled_rgb - np.asarray(self.mean, np.float32)) / np.asarray(self.std, np.float32)
        return centred[..., ::-1] if self.channel_order == "bgr" else centred

    def to_pixels(self, network_input):
        """The inverse of preprocess: the network's input (…×3) back to RGB 0–255 pixels."""
        rgb = network_input[..., ::-1] if self.channel_order == "bgr" else network_input
        scaled = rgb * np.asarray(self.std, np.float32) + np.asarray(self.mean, np.float32)
        return scaled if self.pixel_scale == 1.0 else scaled * np.float32(self.pixel_scale)

    @property
    def mean_pixel(self):
        """The RGB pixel (0–255 units) the network sees as 0."""
        return tuple(value * self.pixel_scale for value in self.mean)

    @property
    def pixel_std(self):
        """std in 0–255 pixel units."""
        return tuple(value * self.pixel_scale for value in self.std)


# Keras's VGG19 files were converted from the caffe model: BGR input, ImageNet mean subtracted.
CAFFE_CONVENTION = InputConvention(channel_order="bgr", mean=(123.68, 116.779, 103.939))

# torchvision's models expect ToTensor (pixels / 255) then Normalize(mean, std) with these
# ImageNet statistics in 0–1 units; InputConvention keeps pixel units, hence the factor 255.
TORCHVISION_MEAN = (0.485, 0.456, 0.406)
TORCHVISION_STD = (0.229, 0.224, 0.225)
TORCHVISION_CONVENTION = InputConvention(
    channel_order="rgb", mean=TORCHVISION_MEAN, std=TORCHVISION_STD, pixel_scale=255.0)


# The Coursera TF2 assignment feeds its 0–1 RGB image straight into Keras's VGG19, skipping the caffe
# preprocessing the weights were trained with; the Colab derivative of the Udacity notebook normalises
# with mean 0.5 and std 0.5 instead of ImageNet's statistics.
UNIT_RGB_CONVENTION = InputConvention(channel_order="rgb", mean=(0.0, 0.0, 0.0), pixel_scale=255.0)
HALF_CONVENTION = InputConvention(channel_order="rgb", mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5), pixel_scale=255.0)


def network_convention(weights_convention, input_normalization="weights"):
    """The InputConvention the network is fed with: the weights' own, or a system's departure from it.

    'weights': the file's convention; 'weights_x256': the same after scaling 0–1 images by 256
    instead of 255, as jcjohnson/neural-style does (pixels·256/255 = pixels / (255/256));
    'unit_rgb': RGB in 0–1 as it is (the Coursera TF2 assignment); 'half': (x/255 − 0.5) / 0.5.
    """
    if input_normalization == "weights":
        return weights_convention
    if input_normalization == "weights_x256":
        return dataclasses.replace(weights_convention, pixel_scale=weights_convention.pixel_scale * 255.0 / 256.0)
    if input_normalization == "unit_rgb":
        return UNIT_RGB_CONVENTION
    if input_normalization == "half":
        return HALF_CONVENTION
    raise ValueError(f"unknown input normalisation {input_normalization!r}")
