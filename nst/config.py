"""The one frozen configuration of a style transfer run: defaults, layer names and validation."""

import dataclasses
import math
import re

# VGG19's convolutions per block; a layer is named conv<block>_<index> as in the
# Gatys et al. paper and the Coursera model, block<block>_conv<index> in Keras.
VGG19_BLOCK_SIZES = (2, 2, 4, 4, 4)
VGG19_LAYER_NAMES = tuple(
    f"conv{block}_{index}"
    for block, size in enumerate(VGG19_BLOCK_SIZES, start=1)
    for index in range(1, size + 1)
)

# The Coursera assignment's choices (../shared/seeds/004): conv4_2 for content,
# the first convolution of each block for style, equally weighted.
DEFAULT_CONTENT_LAYER = "conv4_2"
DEFAULT_STYLE_LAYERS = (
    ("conv1_1", 0.2),
    ("conv2_1", 0.2),
    ("conv3_1", 0.2),
    ("conv4_1", 0.2),
    ("conv5_1", 0.2),
)
POOLING_MODES = ("avg", "max")
OPTIMIZERS = ("adam", "lbfgs")
INIT_MODES = ("noise", "content", "style", "random")  # anything else is a path to an image
PRECISIONS = ("float32", "bfloat16")
WEIGHT_SOURCES = ("imagenet", "random")  # anything else is a path to a weights file
MIN_IMAGE_SIZE = 16  # VGG19 pools four times before conv5_1: 16 pixels become one

_LAYER_PATTERNS = (
    re.compile(r"^conv(\d)_(\d)$"),
    re.compile(r"^relu(\d)_(\d)$"),  # jcjohnson/neural-style's names: Keras convs include the ReLU
    re.compile(r"^block(\d)_conv(\d)$"),  # Keras's names
)


class ConfigError(ValueError):
    """A configuration value that cannot be used; the message names the setting."""


def canonical_layer_name(name):
    """Returns 'conv<b>_<i>' for 'conv4_2', 'relu4_2' or 'block4_conv2'; raises ConfigError otherwise."""
    cleaned = str(name).strip().lower()
    for pattern in _LAYER_PATTERNS:
        match = pattern.match(cleaned)
        if match:
            candidate = f"conv{match.group(1)}_{match.group(2)}"
            if candidate in VGG19_LAYER_NAMES:
                return candidate
    raise ConfigError(
        f"unknown VGG19 layer {name!r}: use conv1_1 … conv5_4 (or Keras names such as block4_conv2)"
    )


def keras_layer_name(name):
    """Returns the Keras name ('block4_conv2') of a VGG19 layer given in any accepted spelling."""
    block, index = canonical_layer_name(name)[len("conv"):].split("_")
    return f"block{block}_conv{index}"


def parse_layer_weights(text):
    """Parses 'conv1_1:0.2,conv2_1:0.2' into (('conv1_1', 0.2), ('conv2_1', 0.2)).

    A layer without ':weight' gets an equal share of 1.
    """
    items = [item.strip() for item in str(text).split(",") if item.strip()]
    if not items:
        raise ConfigError("--style_layers is empty: give at least one layer, e.g. conv1_1:0.2")
    parsed = []
    for item in items:
        name, separator, weight_text = item.partition(":")
        if separator:
            try:
                weight = float(weight_text)
            except ValueError:
                raise ConfigError(f"style layer weight {weight_text!r} of {name!r} is not a number") from None
        else:
            weight = 1.0 / len(items)
        parsed.append((name.strip(), weight))
    return tuple(parsed)


def _require_finite(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigError(f"{name} must be a finite number, got {value!r}")


def _require_at_least(name, value, minimum):
    _require_finite(name, value)
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value!r}")


def _require_choice(name, value, choices):
    if value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}, got {value!r}")


def _require_integer(name, value, minimum):
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{name} must be a whole number, got {value!r}")
    _require_at_least(name, value, minimum)


@dataclasses.dataclass(frozen=True)
class StyleTransferConfig:
    """Everything a run needs; defaults are the Coursera assignment's.

    Pixel-valued settings (learning_rate, the init noise) are in 0–255 units,
    as in the Coursera model, whatever input convention the weights use.
    """

    content_image: str
    style_image: str
    output_dir: str = "output"
    image_size: int = 400  # longest side of the generated image, in pixels
    epochs: int = 200
    print_every: int = 20
    learning_rate: float = 2.0
    alpha: float = 10.0
    beta: float = 40.0
    noise_ratio: float = 0.6
    seed: int = 0
    weights: str = "imagenet"
    pooling: str = "avg"
    content_layer: str = DEFAULT_CONTENT_LAYER
    style_layers: tuple = DEFAULT_STYLE_LAYERS
    allow_download: bool = True  # let Keras download ImageNet weights when none are found locally
    optimizer: str = "adam"
    init: str = "noise"  # noise (Coursera blend), content, style, random, or a path to an image
    tv_weight: float = 0.0  # total variation of the generated image, in pixel units
    scales: int = 1  # coarse-to-fine sizes growing by 2× up to image_size; epochs iterations at each
    precision: str = "float32"  # bfloat16: convolutions in bfloat16, image, Grams and costs in float32
    jit: bool = False  # XLA-compile the cost-and-gradient step
    deterministic: bool = True  # TensorFlow op determinism: same seed and inputs, same image

    def __post_init__(self):
        _require_integer("image_size", self.image_size, MIN_IMAGE_SIZE)
        _require_integer("epochs", self.epochs, 1)
        _require_integer("print_every", self.print_every, 1)
        _require_integer("seed", self.seed, 0)
        _require_finite("learning_rate", self.learning_rate)
        if self.learning_rate <= 0:
            raise ConfigError(f"learning_rate must be a positive finite number, got {self.learning_rate!r}")
        _require_at_least("alpha", self.alpha, 0)
        _require_at_least("beta", self.beta, 0)
        _require_finite("noise_ratio", self.noise_ratio)
        if not 0 <= self.noise_ratio <= 1:
            raise ConfigError(f"noise_ratio must be between 0 and 1, got {self.noise_ratio!r}")
        _require_choice("pooling", self.pooling, POOLING_MODES)
        _require_integer("scales", self.scales, 1)
        _require_at_least("tv_weight", self.tv_weight, 0)
        _require_choice("optimizer", self.optimizer, OPTIMIZERS)
        _require_choice("precision", self.precision, PRECISIONS)
        if not str(self.init).strip():
            raise ConfigError(f"init must be one of {', '.join(INIT_MODES)} or a path to an image")
        smallest_side = self.image_size / 2 ** (self.scales - 1)
        if smallest_side < MIN_IMAGE_SIZE:
            raise ConfigError(
                f"scales {self.scales} with image_size {self.image_size} would start at {smallest_side:g} pixels; "
                f"the smallest scale needs at least {MIN_IMAGE_SIZE}"
            )
        if not str(self.weights).strip():
            raise ConfigError("weights must be 'imagenet', 'random' or a path to a weights file")
        # Frozen dataclass: normalised values are stored once, here, so every reader sees one spelling.
        object.__setattr__(self, "content_layer", canonical_layer_name(self.content_layer))
        object.__setattr__(self, "style_layers", self._validated_style_layers())

    def _validated_style_layers(self):
        layers = self.style_layers
        if isinstance(layers, str):
            layers = parse_layer_weights(layers)
        elif isinstance(layers, dict):
            layers = tuple(layers.items())
        if not layers:
            raise ConfigError("style_layers is empty: give at least one layer")
        validated = []
        for name, weight in layers:
            _require_at_least(f"style layer weight of {name}", weight, 0)
            validated.append((canonical_layer_name(name), float(weight)))
        names = [name for name, _ in validated]
        if len(set(names)) != len(names):
            raise ConfigError(f"style_layers names a layer twice: {', '.join(names)}")
        return tuple(validated)

    @property
    def style_layer_names(self):
        return tuple(name for name, _ in self.style_layers)

    @property
    def style_layer_weights(self):
        return tuple(weight for _, weight in self.style_layers)

    def scale_sizes(self):
        """Longest sides of the coarse-to-fine scales, smallest first, ending at image_size."""
        return tuple(round(self.image_size / 2 ** (self.scales - 1 - index)) for index in range(self.scales))

    @property
    def total_iterations(self):
        return self.epochs * self.scales

    def replace(self, **changes):
        """Returns a validated copy with some fields changed."""
        return dataclasses.replace(self, **changes)

    def to_dict(self):
        """Plain JSON-ready values, layers as {name: weight}."""
        values = dataclasses.asdict(self)
        values["style_layers"] = dict(self.style_layers)
        return values
