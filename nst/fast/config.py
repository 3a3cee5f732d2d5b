"""The frozen configurations of the feed-forward system (training, stylising, export): defaults and validation.

Like nst.config for the optimisation, this module imports no TensorFlow: fast_main.py builds its
configs from flags before TensorFlow starts, and --help answers at once.
"""

import dataclasses
import pathlib

from nst import config as config_module
from nst import errors

# Johnson et al.'s supplementary material: 32, 64 and 128 channels at full, half and quarter resolution.
BASE_CHANNELS = (32, 64, 128)
RESIDUAL_BLOCKS = 5
# The smallest side the network takes: its reflection padding needs more pixels than it pads.
MIN_INPUT_SIDE = 5
MIN_WIDTH_MULTIPLIER = 1 / 32  # 1, 2 and 4 channels: the narrowest network that still has every layer




def channel_counts(width_multiplier):
    """(full, half, quarter)-resolution channel counts for a width multiplier: (32, 64, 128) at 1.0."""
    if isinstance(width_multiplier, bool) or not isinstance(width_multiplier, (int, float)):
        raise errors.TransformNetError(f"width_multiplier must be a number, got {width_multiplier!r}")
    if not MIN_WIDTH_MULTIPLIER <= width_multiplier <= 4:
        raise errors.TransformNetError(
            f"width_multiplier must be between {MIN_WIDTH_MULTIPLIER} and 4, got {width_multiplier!r}"
        )
    return tuple(max(1, round(channels * width_multiplier)) for channels in BASE_CHANNELS)




# The layers and weights below are the ones long used with the caffe-convention VGG19
# (RGB 0–255 minus the ImageNet mean) and the per-value normalisations of nst.fast.losses.
# Johnson et al. took content from relu2_2 of VGG16; a deeper content layer leaves the
# network freer to repaint shapes. The relative weights depend on these layers.
DEFAULT_CONTENT_LAYER = "conv4_2"
DEFAULT_STYLE_LAYERS = (("conv1_1", 1.0), ("conv2_1", 1.0), ("conv3_1", 1.0), ("conv4_1", 1.0), ("conv5_1", 1.0))
CHECKPOINT_FOLDER_NAME = "checkpoints"


DISTRIBUTION_MODES = ("auto", "default", "mirrored", "multi_worker")  # see nst.fast.distribution
STYLIZE_PRECISIONS = ("auto", *config_module.PRECISIONS)
DEFAULT_STYLIZE_OUTPUT_DIR = "output/fast"

SAVED_MODEL = "saved_model"
TFLITE_FLOAT32 = "tflite_float32"
TFLITE_FLOAT16 = "tflite_float16"
TFLITE_INT8 = "tflite_int8"  # dynamic-range: int8 weights, float activations quantised on the fly
FORMATS = (SAVED_MODEL, TFLITE_FLOAT32, TFLITE_FLOAT16, TFLITE_INT8)
FILENAMES = {
    SAVED_MODEL: "saved_model",
    TFLITE_FLOAT32: "transform_net_float32.tflite",
    TFLITE_FLOAT16: "transform_net_float16.tflite",
    TFLITE_INT8: "transform_net_int8.tflite",
}
# Largest mean absolute difference from the Keras model's output, in gray levels (0–255), that
# an export may show. SavedModel and float32 differ only by rounding order; float16 rounds the
# weights to 11 significant bits. Dynamic-range int8 rounds weights to 8 bits and activations
# per tensor at run time, which costs several gray levels on average through 16 convolutions
# and 15 normalisations: its bound catches a broken export (wrong channels, garbage: 60+),
# not a lossy one, so look at its pictures before shipping it.
TOLERANCES = {SAVED_MODEL: 0.05, TFLITE_FLOAT32: 1.0, TFLITE_FLOAT16: 2.0, TFLITE_INT8: 20.0}
SIGNATURE_INPUT = "pixels"
DEFAULT_CHECK_SIZE = 512  # longest side of the check image: big enough to be typical, quick to run four times
EXPORT_FOLDER_NAME = "export"




@dataclasses.dataclass(frozen=True)
class FastTrainingConfig:
    """Everything a training run needs. Loss weights multiply nst.fast.losses's per-image means."""

    style_image: str
    train_dir: str
    output_dir: str
    weights: str = "imagenet"
    allow_download: bool = True
    pooling: str = "max"  # the loss network as VGG was trained, as Johnson et al. used it
    content_layer: str = DEFAULT_CONTENT_LAYER
    style_layers: tuple = DEFAULT_STYLE_LAYERS
    content_weight: float = 7.5
    style_weight: float = 100.0
    total_variation_weight: float = 200.0
    width_multiplier: float = 1.0
    batch_size: int = 4  # the global batch, split over all replicas
    image_size: int = 256  # side of the square training crops (Johnson et al.: 256)
    style_size: int = 512  # longest side the style image is resized to; 0 keeps its size
    epochs: int = 2  # Johnson et al.: two epochs of COCO
    steps: int = 0  # when above 0, the number of steps to train for, overriding epochs
    learning_rate: float = 1e-3
    checkpoint_every: int = 1000
    keep_checkpoints: int = 3
    seed: int = 0
    distribution: str = "auto"
    cpu_devices: int = 0  # above 1: mirror over that many logical CPU devices (see nst.fast.distribution)
    resume: bool = True

    def __post_init__(self):
        for name in ("batch_size", "epochs", "checkpoint_every", "keep_checkpoints"):
            config_module.require_number(name, getattr(self, name), 1, whole=True)
        for name in ("steps", "seed", "cpu_devices"):
            config_module.require_number(name, getattr(self, name), 0, whole=True)
        config_module.require_number("image_size", self.image_size, config_module.MIN_IMAGE_SIZE, whole=True)
        config_module.require_number("style_size", self.style_size, 0, whole=True)
        if 0 < self.style_size < config_module.MIN_IMAGE_SIZE:
            raise config_module.ConfigError(
                f"style_size must be 0 (keep the image's size) or at least {config_module.MIN_IMAGE_SIZE}, "
                f"got {self.style_size}"
            )
        for name in ("content_weight", "style_weight", "total_variation_weight"):
            config_module.require_number(name, getattr(self, name), 0)
        config_module.require_number("learning_rate", self.learning_rate, 0, strictly_above=True)
        try:
            channel_counts(self.width_multiplier)
        except errors.TransformNetError as error:
            raise config_module.ConfigError(str(error)) from None
        if self.pooling not in config_module.POOLING_MODES:
            raise config_module.ConfigError(
                f"pooling must be one of {', '.join(config_module.POOLING_MODES)}, got {self.pooling!r}"
            )
        if self.distribution not in DISTRIBUTION_MODES:
            raise config_module.ConfigError(
                f"distribution must be one of {', '.join(DISTRIBUTION_MODES)}, got {self.distribution!r}"
            )
        if self.cpu_devices > 1 and self.distribution not in ("auto", "mirrored"):
            raise config_module.ConfigError(
                f"cpu_devices {self.cpu_devices} needs distribution mirrored (or auto), not {self.distribution}"
            )
        for name in ("style_image", "train_dir", "output_dir", "weights"):
            if not str(getattr(self, name)).strip():
                raise config_module.ConfigError(f"{name} must not be empty")
        # Frozen dataclass: normalised values are stored once, here, as nst.config does.
        object.__setattr__(self, "content_layer", config_module.canonical_layer_name(self.content_layer))
        object.__setattr__(self, "style_layers", config_module.validated_style_layers(self.style_layers))

    @property
    def style_layer_names(self):
        return tuple(name for name, _ in self.style_layers)

    @property
    def checkpoint_directory(self):
        return pathlib.Path(self.output_dir) / CHECKPOINT_FOLDER_NAME

    def total_steps(self, file_count):
        """steps if set, else epochs passes over file_count images (the last partial batch of each dropped)."""
        if self.steps:
            return self.steps
        return self.epochs * max(1, file_count // self.batch_size)

    def replace(self, **changes):
        """Returns a validated copy with some fields changed."""
        return dataclasses.replace(self, **changes)

    def to_dict(self):
        """Plain JSON-ready values, layers as {name: weight}."""
        return {**dataclasses.asdict(self), "style_layers": dict(self.style_layers)}




@dataclasses.dataclass(frozen=True)
class StylizeConfig:
    """A stylise run: which network, which inputs (an image, a video or a folder), where the results go."""

    model: str  # a .keras file, a training folder holding transform_net.keras, a SavedModel folder or a .tflite file
    input: str
    output_dir: str = DEFAULT_STYLIZE_OUTPUT_DIR
    max_size: int = 0  # longest side inputs are scaled down to; 0 keeps their size
    precision: str = "auto"

    def __post_init__(self):
        for name in ("model", "input", "output_dir"):
            if not str(getattr(self, name) or "").strip():
                raise config_module.ConfigError(f"{name} is required")
        if isinstance(self.max_size, bool) or not isinstance(self.max_size, int) or self.max_size < 0:
            raise config_module.ConfigError(f"max_size must be a whole number, at least 0, got {self.max_size!r}")
        if 0 < self.max_size < MIN_INPUT_SIDE:
            raise config_module.ConfigError(
                f"max_size must be 0 (keep the size) or at least {MIN_INPUT_SIDE}, got {self.max_size}"
            )
        config_module.require_choice("precision", self.precision, STYLIZE_PRECISIONS)




def parse_formats(text):
    """'saved_model,tflite_float16' -> ('saved_model', 'tflite_float16'); 'all' -> FORMATS, in FORMATS order."""
    names = [name.strip().lower() for name in str(text).split(",") if name.strip()]
    if names == ["all"]:
        return FORMATS
    unknown = [name for name in names if name not in FORMATS]
    if unknown or not names:
        raise config_module.ConfigError(
            f"formats must be 'all' or a comma-separated list of {', '.join(FORMATS)}; got {text!r}"
        )
    return tuple(name for name in FORMATS if name in names)




@dataclasses.dataclass(frozen=True)
class ExportConfig:
    """An export run: which network, which formats, where, and the image the exports are checked on."""

    model: str  # a .keras file, or a training folder holding transform_net.keras
    output_dir: str
    check_image: str
    formats: tuple = FORMATS
    check_size: int = DEFAULT_CHECK_SIZE  # 0 keeps the check image's size

    def __post_init__(self):
        for name in ("model", "output_dir", "check_image"):
            if not str(getattr(self, name) or "").strip():
                raise config_module.ConfigError(f"{name} is required")
        object.__setattr__(self, "formats", parse_formats(",".join(self.formats)))
        size = self.check_size
        if isinstance(size, bool) or not isinstance(size, int) or (size != 0 and size < MIN_INPUT_SIDE):
            raise config_module.ConfigError(
                f"check_size must be 0 (keep the size) or at least {MIN_INPUT_SIDE}, got {size!r}"
            )


