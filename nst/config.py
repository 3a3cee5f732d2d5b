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
COLOR_PRESERVATION_MODES = ("none", "luminance", "histogram")
LOSS_CONVENTIONS = ("coursera", "tf_tutorial", "pytorch", "jcjohnson")
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


def _as_path_tuple(value, name):
    """'a.jpg,b.jpg', a path or a sequence of paths -> ('a.jpg', 'b.jpg')."""
    if value is None:
        return ()
    if isinstance(value, str):
        value = value.split(",")
    elif hasattr(value, "__fspath__"):  # one pathlib.Path
        value = [value]
    paths = tuple(str(item).strip() for item in value if str(item).strip())
    if name == "style_image" and not paths:
        raise ConfigError("style_image is empty: give at least one style image")
    return paths


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
    # Artistic control.
    style_blend_weights: tuple = ()  # one per style image, normalised to sum 1; empty: equal
    style_scale: float = 1.0  # style image size relative to the content's, before its Grams are taken
    preserve_colors: str = "none"  # none, luminance (style only the luminance) or histogram (recolour the style)
    content_mask: str | None = None  # white = stylise, black = keep the content
    style_masks: tuple = ()  # one mask per style image: where each style goes
    style_layer_weight_exp: float = 1.0  # layer l's weight is multiplied by exp**l: >1 tilts toward deep layers
    loss_convention: str = "coursera"
    adam_beta_1: float = 0.9
    adam_epsilon: float = 1e-8  # TF1's default, which the Coursera assignment used (Keras 3's is 1e-7)

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
        object.__setattr__(self, "style_image", _as_path_tuple(self.style_image, "style_image"))
        object.__setattr__(self, "style_masks", _as_path_tuple(self.style_masks, "style_masks"))
        if self.style_masks and len(self.style_masks) != len(self.style_image):
            raise ConfigError(f"style_masks: {len(self.style_masks)} masks for {len(self.style_image)} style images; "
                              "give one mask per style image")
        object.__setattr__(self, "style_blend_weights", self._normalised_blend_weights())
        _require_at_least("style_layer_weight_exp", self.style_layer_weight_exp, 0)
        _require_finite("style_scale", self.style_scale)
        if self.style_scale <= 0:
            raise ConfigError(f"style_scale must be a positive finite number, got {self.style_scale!r}")
        _require_choice("preserve_colors", self.preserve_colors, COLOR_PRESERVATION_MODES)
        _require_choice("loss_convention", self.loss_convention, LOSS_CONVENTIONS)
        _require_finite("adam_beta_1", self.adam_beta_1)
        if not 0 <= self.adam_beta_1 < 1:
            raise ConfigError(f"adam_beta_1 must be in [0, 1), got {self.adam_beta_1!r}")
        _require_finite("adam_epsilon", self.adam_epsilon)
        if self.adam_epsilon <= 0:
            raise ConfigError(f"adam_epsilon must be positive, got {self.adam_epsilon!r}")
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

    def _normalised_blend_weights(self):
        weights = self.style_blend_weights
        if isinstance(weights, str):
            weights = [item for item in weights.split(",") if item.strip()]
        if not weights:
            return tuple(1.0 / len(self.style_image) for _ in self.style_image)
        try:
            weights = [float(weight) for weight in weights]
        except (TypeError, ValueError):
            raise ConfigError(f"style_blend_weights must be numbers, got {self.style_blend_weights!r}") from None
        if len(weights) != len(self.style_image):
            raise ConfigError(f"style_blend_weights: {len(weights)} weights for {len(self.style_image)} style images")
        for weight in weights:
            _require_at_least("style blend weight", weight, 0)
        if sum(weights) == 0:
            raise ConfigError("style_blend_weights are all zero: at least one style needs a positive weight")
        return tuple(weight / sum(weights) for weight in weights)

    @property
    def effective_style_layers(self):
        """style_layers with style_layer_weight_exp applied (layer l times exp**l), rescaled to the same sum.

        As in anishathalye/neural-style's --style-layer-weight-exp: 1 leaves the weights as
        given, larger values move weight toward deeper layers (larger features), smaller
        toward shallow ones (finer texture).
        """
        tilted = [weight * self.style_layer_weight_exp**index for index, (_, weight) in enumerate(self.style_layers)]
        scale = sum(self.style_layer_weights) / sum(tilted) if sum(tilted) else 0.0
        return tuple((name, weight * scale) for (name, _), weight in zip(self.style_layers, tilted))

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
        for name in ("style_image", "style_masks", "style_blend_weights"):
            values[name] = list(values[name])
        return values

    @classmethod
    def from_preset(cls, preset, **fields):
        """A config from a named preset's values, with `fields` overriding them."""
        if preset not in PRESETS:
            raise ConfigError(f"unknown preset {preset!r}: choose one of {', '.join(PRESETS)}")
        return cls(**(PRESETS[preset] | fields))


# Each preset is a coherent bundle of the settings of one system this project grew from.
# Pixel-valued settings are converted to this project's 0–255 units where the original
# worked on 0–1 images (learning rates ×255; total variation weights ÷255, since
# tf.image.total_variation grows ×255; Adam's epsilon ÷255, since gradients shrink ×255).
PRESETS = {
    # ../shared/seeds/004: the Coursera / deeplearning.ai assignment (the defaults above).
    "coursera": {},
    # ../shared/seeds/000 and 003: the Udacity-style PyTorch notebook. torchvision's VGG19 pools by max.
    "pytorch-udacity": {
        "init": "content", "learning_rate": 0.003 * 255, "alpha": 1.0, "beta": 1e6,
        "style_layers": (("conv1_1", 1.0), ("conv2_1", 0.75), ("conv3_1", 0.2), ("conv4_1", 0.2), ("conv5_1", 0.2)),
        "content_layer": "conv4_2", "image_size": 400, "loss_convention": "pytorch", "pooling": "max",
        "epochs": 300, "print_every": 300,
    },
    # ../shared/seeds/002: L-BFGS from the content image, normalised losses added directly, 500 steps at 512.
    # The PyTorch tutorial it follows names convolutions in order: its conv_4 is conv2_2, conv_1…conv_5
    # are conv1_1, conv1_2, conv2_1, conv2_2, conv3_1. Its images were squashed to 512×512; here the
    # longest side is 512 and the aspect is kept.
    "lbfgs-report": {
        "optimizer": "lbfgs", "init": "content", "alpha": 1.0, "beta": 1.0, "loss_convention": "pytorch",
        "image_size": 512, "epochs": 500, "print_every": 50, "pooling": "max", "content_layer": "conv2_2",
        "style_layers": (("conv1_1", 0.2), ("conv1_2", 0.2), ("conv2_1", 0.2), ("conv2_2", 0.2), ("conv3_1", 0.2)),
    },
    # The TensorFlow "Neural style transfer" tutorial (0–1 images, Adam(0.02, β1 0.99, ε 0.1), TV 30).
    "tf-tutorial": {
        "content_layer": "conv5_2", "alpha": 1e4, "beta": 1e-2, "tv_weight": 30 / 255,
        "learning_rate": 0.02 * 255, "adam_beta_1": 0.99, "adam_epsilon": 0.1 / 255, "image_size": 512,
        "init": "content", "loss_convention": "tf_tutorial", "pooling": "max", "epochs": 1000, "print_every": 100,
        "style_layers": tuple((f"conv{block}_1", 1 / 5) for block in range(1, 6)),
    },
    # jcjohnson/neural-style's defaults (its TV weight is for 0–255 images already).
    "gatys": {
        "content_layer": "conv4_2", "style_layers": tuple((f"conv{block}_1", 1.0) for block in range(1, 6)),
        "alpha": 5.0, "beta": 100.0, "tv_weight": 1e-3, "image_size": 512, "pooling": "max",
        "optimizer": "lbfgs", "init": "random", "epochs": 1000, "print_every": 100, "loss_convention": "jcjohnson",
    },
}
