"""The one frozen configuration of a style transfer run: defaults, layer names and validation."""

import dataclasses
import functools
import math
import pathlib
import re

from nst import errors
from nst import memory

# The repository's folders: sample images, and where the weights are looked for first.
PROJECT_DIR = pathlib.Path(__file__).resolve().parent.parent
IMAGES_DIR = PROJECT_DIR / "images"
PRETRAINED_DIR = PROJECT_DIR / "pretrained-model"

# VGG19's convolutions per block; a layer is named conv<block>_<index> as in the
# Gatys et al. paper and the Coursera model, block<block>_conv<index> in Keras.
VGG19_BLOCK_SIZES = (2, 2, 4, 4, 4)
VGG19_LAYER_NAMES = tuple(
    f"conv{block}_{index}"
    for block, size in enumerate(VGG19_BLOCK_SIZES, start=1)
    for index in range(1, size + 1)
)

# The Coursera (deeplearning.ai) assignment's choices: conv4_2 for content,
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
# What pooling does with an odd last row or column: 'drop' it (Keras's and torchvision's 'valid'
# pooling) or 'keep' it, pooled by a partial window (TF1's padding='SAME', as in the Coursera
# assignment, and Caffe's rounding up, as in jcjohnson/neural-style through loadcaffe).
POOLING_BORDERS = ("drop", "keep")
OPTIMIZERS = ("adam", "lbfgs")
# scipy: SciPy's L-BFGS-B with bounds and a line search; torch: torch.optim.LBFGS as the PyTorch
# tutorial drives it (fixed steps, 20 iterations per step() call, the image clamped before every
# evaluation); lua: Torch's optim.lbfgs as jcjohnson/neural-style calls it (fixed steps, one call).
LBFGS_VARIANTS = ("scipy", "torch", "lua")
ADAM_EPSILON_PLACEMENTS = ("keras", "pytorch")  # see nst.optimize.make_adam
# noise: the Coursera TF1 blend; noisy_content: the Coursera TF2 start (content plus uniform noise,
# clipped); randn: jcjohnson/neural-style's -init random (0.001·N(0, 1) in the network's input space).
INIT_MODES = ("noise", "noisy_content", "content", "style", "random", "randn")  # anything else: an image path
PRECISIONS = ("float32", "bfloat16")
COLOR_PRESERVATION_MODES = ("none", "luminance", "histogram")
LOSS_CONVENTIONS = ("coursera", "tf_tutorial", "pytorch", "jcjohnson")
# imagenet: the first ImageNet file found (Keras's, MatConvNet's, torchvision's); keras, matconvnet,
# torchvision: only that publisher's file; random: untrained. Anything else is a path to a weights file.
WEIGHT_SOURCES = ("imagenet", "keras", "matconvnet", "torchvision", "random")
# How the network's input is formed from the RGB 0–255 image (see nst.weights.network_convention).
INPUT_NORMALIZATIONS = ("weights", "weights_x256", "unit_rgb", "half")
# The coordinates the optimiser moves the image in (see nst.image_space): pixels 0–255, unit 0–1,
# or the network's own input (normalised as input_normalization says). Learning rates, Adam's
# epsilon, total variation and clipping are in these units.
OPTIMIZATION_SPACES = ("pixels", "unit", "network")
# How content and style images are brought to size (see nst.sizing).
SIZING_RULES = ("longest", "square", "udacity", "shorter", "tf_tutorial", "torch_image")
SAVE_ROUNDINGS = ("round", "truncate")  # 8-bit output: round to nearest, or truncate as astype(uint8) does
TV_FORMS = ("absolute", "squared")  # Σ|neighbour differences|, or ½Σ(differences²) as jcjohnson/neural-style
MIN_IMAGE_SIZE = 16  # VGG19 pools four times before conv5_1: 16 pixels become one
# How each frame of a clip after the first starts: 'warped', the previous stylised frame warped along the
# optical flow (Ruder et al. 2016); 'independent', from init like the first (the flickering baseline).
FRAME_INITS = ("warped", "independent")
# The temporal cost's weight keeps Ruder et al.'s ratio to the content cost: their 1e3 against a content
# weight of 5 on the mean squared error of relu4_2 (jcjohnson/neural-style's conventions, the gatys preset)
# is 200 per unit of content weight. The Coursera content cost is a quarter of that mean (α 10: 2.5), on the
# same Caffe network fed the same pixels (×255 instead of ×256), and its variable is in pixels: 200·2.5.
# The presets' values are converted likewise (README, "Video").
DEFAULT_TEMPORAL_WEIGHT = 500.0

_LAYER_PATTERNS = (
    re.compile(r"^conv(\d)_(\d)$"),
    re.compile(r"^relu(\d)_(\d)$"),  # jcjohnson/neural-style's names: Keras convs include the ReLU
    re.compile(r"^block(\d)_conv(\d)$"),  # Keras's names
)


# Fields renamed to one vocabulary across the project; the old names (the Coursera app's flags) still work.
RENAMED_FIELDS = {"alpha": "content_weight", "beta": "style_weight", "tv_weight": "total_variation_weight",
                  "epochs": "iterations", "epochs_per_frame": "iterations_per_frame"}

# The flags keep the old names, so messages about these fields name the flag a user typed.
_FLAG_NAMES = {new: old for old, new in RENAMED_FIELDS.items()}


def with_current_names(fields):
    """fields with old names (alpha, beta, tv_weight, epochs) renamed; ConfigError if both names differ."""
    renamed = dict(fields)
    for old_name, new_name in RENAMED_FIELDS.items():
        if old_name in renamed:
            value = renamed.pop(old_name)
            if new_name in renamed and renamed[new_name] != value:
                raise ConfigError(f"{old_name} is {new_name}'s old name: give one of them, not {value!r} and "
                                  f"{renamed[new_name]!r}")
            renamed[new_name] = value
    return renamed


def _require_renamed_number(field, value, minimum=None, whole=False):
    """require_number for a renamed field: the message names the flag first, then the field."""
    try:
        require_number(_FLAG_NAMES[field], value, minimum, whole)
    except ConfigError as error:
        raise ConfigError(f"{error} (the config's {field})") from None


# torch.optim.LBFGS's max_iter: updates per step() call.
TORCH_LBFGS_UPDATES_PER_CALL = 20


def tutorial_lbfgs_updates(num_steps):
    """Updates the PyTorch tutorial's L-BFGS loop makes for num_steps (when nothing stops it early).

    Its `while run[0] <= num_steps` calls optimizer.step() until the count of closure calls
    exceeds num_steps, and each call makes 20 updates (and 20 closure calls): 300 gives 16 calls,
    320 updates.
    """
    return TORCH_LBFGS_UPDATES_PER_CALL * (num_steps // TORCH_LBFGS_UPDATES_PER_CALL + 1)


ConfigError = errors.ConfigError  # one home: nst/errors.py


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


def layer_weights_text(layers):
    """(('conv1_1', 0.2), …) as 'conv1_1:0.2,…', the text parse_layer_weights reads (flags' defaults)."""
    return ",".join(f"{name}:{weight:g}" for name, weight in layers)


def require_number(name, value, minimum=None, whole=False, strictly_above=False):
    """ConfigError unless value is a finite number (a whole one if whole) at least (or above) minimum."""
    if isinstance(value, bool) or not isinstance(value, int if whole else (int, float)):
        raise ConfigError(f"{name} must be {'a whole number' if whole else 'a finite number'}, got {value!r}")
    if not math.isfinite(value):
        raise ConfigError(f"{name} must be a finite number, got {value!r}")
    if minimum is not None and (value < minimum or (strictly_above and value == minimum)):
        relation = "above" if strictly_above else "at least"
        raise ConfigError(f"{name} must be {relation} {minimum}, got {value!r}")


def require_choice(name, value, choices):
    """ConfigError unless value is one of choices."""
    if value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}, got {value!r}")


def require_text(name, value):
    """ConfigError unless value is a non-empty string (after stripping)."""
    if not str(value or "").strip():
        raise ConfigError(f"{name} must not be empty")


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


def validated_style_layers(layers):
    """Style layers given as 'name:weight,…' text, a dict or pairs -> ((canonical name, float weight), …); ConfigError."""
    if isinstance(layers, str):
        layers = parse_layer_weights(layers)
    elif isinstance(layers, dict):
        layers = tuple(layers.items())
    if not layers:
        raise ConfigError("style_layers is empty: give at least one layer")
    validated = []
    for name, weight in layers:
        require_number(f"style layer weight of {name}", weight, 0)
        validated.append((canonical_layer_name(name), float(weight)))
    names = [name for name, _ in validated]
    if len(set(names)) != len(names):
        raise ConfigError(f"style_layers names a layer twice: {', '.join(names)}")
    return tuple(validated)


@dataclasses.dataclass(frozen=True)
class StyleTransferConfig:
    """Everything a run needs; defaults are the Coursera assignment's.

    Pixel-valued settings (learning_rate, the init noise) are in 0–255 units,
    as in the Coursera model, whatever input convention the weights use.
    """

    content_image: str
    style_image: str
    output_dir: str = "output"
    image_size: int = 400  # size of the generated image in pixels, by the sizing rule (its longest side by default)
    iterations: int = 200  # per scale (--epochs on the command line, as in the Coursera app)
    print_every: int = 20
    learning_rate: float = 2.0
    content_weight: float = 10.0  # α (--alpha)
    style_weight: float = 40.0  # β (--beta)
    noise_ratio: float = 0.6
    seed: int = 3  # the Coursera notebook draws its noise after np.random.seed(3) (see optimize.initial_image)
    weights: str = "imagenet"
    pooling: str = "avg"
    pooling_border: str = "keep"  # Coursera's tf.nn.avg_pool(padding='SAME') keeps an odd last row/column
    content_layer: str = DEFAULT_CONTENT_LAYER
    style_layers: tuple = DEFAULT_STYLE_LAYERS
    allow_download: bool = True  # let Keras download ImageNet weights when none are found locally
    optimizer: str = "adam"
    init: str = "noise"  # noise (Coursera blend), content, style, random, or a path to an image
    total_variation_weight: float = 0.0  # in the optimisation variable's units (--tv_weight)
    scales: int = 1  # coarse-to-fine sizes growing by 2× up to image_size; `iterations` at each
    precision: str = "float32"  # bfloat16: convolutions in bfloat16, image, Grams and costs in float32
    jit: bool = False  # XLA-compile the cost-and-gradient step
    tile_size: int = 0  # run the network tile by tile (nst.tiling) with interiors this large; 0: when memory asks
    memory_limit: str = "auto"  # what automatic tiling plans for: 'auto' (a share of what is available) or '8G'
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
    adam_epsilon_placement: str = "keras"  # pytorch: ε added after the bias correction, as torch.optim.Adam
    lbfgs_variant: str = "scipy"
    # Reproducing a system exactly: how its network input, optimisation variable, image sizes,
    # clipping and saving worked. The defaults are the Coursera TF1 assignment's.
    input_normalization: str = "weights"
    optimization_space: str = "network"  # Coursera's variable is the mean-subtracted image it feeds VGG19
    clip_each_step: bool = False  # clip the image to its valid range after every Adam update
    sizing: str = "longest"
    features_before_relu: bool = False  # read the convolutions' outputs before the ReLU (the PyTorch tutorial)
    tv_form: str = "absolute"
    save_rounding: str = "truncate"  # Coursera's save_image: np.clip(...).astype('uint8')
    # Video (Ruder et al. 2016; nst.video): a clip instead of one content image.
    content_video: str | None = None  # a video file or a folder of frames (content_image then names it too)
    temporal_weight: float = DEFAULT_TEMPORAL_WEIGHT  # in the optimisation variable's squared units (README, "Video")
    iterations_per_frame: int | None = None  # frames after the first (--epochs_per_frame); None: half of iterations
    frame_init: str = "warped"  # one of FRAME_INITS

    def __post_init__(self):
        require_number("image_size", self.image_size, MIN_IMAGE_SIZE, whole=True)
        _require_renamed_number("iterations", self.iterations, 1, whole=True)
        require_number("print_every", self.print_every, 1, whole=True)
        require_number("seed", self.seed, 0, whole=True)
        require_number("learning_rate", self.learning_rate)
        if self.learning_rate <= 0:
            raise ConfigError(f"learning_rate must be a positive finite number, got {self.learning_rate!r}")
        _require_renamed_number("content_weight", self.content_weight, 0)
        _require_renamed_number("style_weight", self.style_weight, 0)
        require_number("noise_ratio", self.noise_ratio)
        if not 0 <= self.noise_ratio <= 1:
            raise ConfigError(f"noise_ratio must be between 0 and 1, got {self.noise_ratio!r}")
        require_choice("pooling", self.pooling, POOLING_MODES)
        for name, choices in (("pooling_border", POOLING_BORDERS), ("lbfgs_variant", LBFGS_VARIANTS),
                              ("adam_epsilon_placement", ADAM_EPSILON_PLACEMENTS),
                              ("input_normalization", INPUT_NORMALIZATIONS),
                              ("optimization_space", OPTIMIZATION_SPACES), ("sizing", SIZING_RULES),
                              ("tv_form", TV_FORMS), ("save_rounding", SAVE_ROUNDINGS)):
            require_choice(name, getattr(self, name), choices)
        object.__setattr__(self, "style_image", _as_path_tuple(self.style_image, "style_image"))
        object.__setattr__(self, "style_masks", _as_path_tuple(self.style_masks, "style_masks"))
        if self.style_masks and len(self.style_masks) != len(self.style_image):
            raise ConfigError(f"style_masks: {len(self.style_masks)} masks for {len(self.style_image)} style images; "
                              "give one mask per style image")
        object.__setattr__(self, "style_blend_weights", self._normalised_blend_weights())
        require_number("style_layer_weight_exp", self.style_layer_weight_exp, 0)
        require_number("style_scale", self.style_scale)
        if self.style_scale <= 0:
            raise ConfigError(f"style_scale must be a positive finite number, got {self.style_scale!r}")
        require_choice("preserve_colors", self.preserve_colors, COLOR_PRESERVATION_MODES)
        require_choice("loss_convention", self.loss_convention, LOSS_CONVENTIONS)
        require_number("adam_beta_1", self.adam_beta_1)
        if not 0 <= self.adam_beta_1 < 1:
            raise ConfigError(f"adam_beta_1 must be in [0, 1), got {self.adam_beta_1!r}")
        require_number("adam_epsilon", self.adam_epsilon)
        if self.adam_epsilon <= 0:
            raise ConfigError(f"adam_epsilon must be positive, got {self.adam_epsilon!r}")
        require_number("scales", self.scales, 1, whole=True)
        require_number("tile_size", self.tile_size, 0, whole=True)
        if 0 < self.tile_size < MIN_IMAGE_SIZE:
            raise ConfigError(f"tile_size must be 0 (tile when memory asks) or at least {MIN_IMAGE_SIZE}, "
                              f"got {self.tile_size}")
        if self.memory_limit != "auto" and memory.parse_memory_size(self.memory_limit) <= 0:
            raise ConfigError(f"memory_limit must be 'auto' or a size above 0, got {self.memory_limit!r}")
        self._check_video_fields()
        _require_renamed_number("total_variation_weight", self.total_variation_weight, 0)
        require_choice("optimizer", self.optimizer, OPTIMIZERS)
        require_choice("precision", self.precision, PRECISIONS)
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
        object.__setattr__(self, "style_layers", validated_style_layers(self.style_layers))

    def _check_video_fields(self):
        if self.content_video is not None:
            require_text("content_video", self.content_video)
        require_number("temporal_weight", self.temporal_weight, 0)
        if self.iterations_per_frame is not None:
            _require_renamed_number("iterations_per_frame", self.iterations_per_frame, 1, whole=True)
        require_choice("frame_init", self.frame_init, FRAME_INITS)

    @property
    def frame_iterations(self):
        """Iterations of each frame after a clip's first: iterations_per_frame, by default half of iterations.

        Ruder et al. run 2000 on the first frame and 1000 on later ones, which start close to their
        result (the previous frame, warped).
        """
        if self.iterations_per_frame is not None:
            return self.iterations_per_frame
        return max(1, math.ceil(self.iterations / 2))

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
            require_number("style blend weight", weight, 0)
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
    def iterations_per_scale(self):
        """Updates each scale makes: iterations, except for the PyTorch tutorial's L-BFGS loop (tutorial_lbfgs_updates)."""
        if self.optimizer == "lbfgs" and self.lbfgs_variant == "torch":
            return tutorial_lbfgs_updates(self.iterations)
        return self.iterations

    @property
    def total_iterations(self):
        return self.iterations_per_scale * self.scales

    def replace(self, **changes):
        """Returns a validated copy with some fields changed (old field names accepted)."""
        return dataclasses.replace(self, **with_current_names(changes))

    # The old names, read-only, for code written against them.
    alpha = property(lambda self: self.content_weight, doc="content_weight's old name (--alpha)")
    beta = property(lambda self: self.style_weight, doc="style_weight's old name (--beta)")
    tv_weight = property(lambda self: self.total_variation_weight, doc="total_variation_weight's old name")
    epochs = property(lambda self: self.iterations, doc="iterations' old name (--epochs)")
    epochs_per_frame = property(lambda self: self.iterations_per_frame,
                                doc="iterations_per_frame's name on the command line (--epochs_per_frame)")

    def to_dict(self):
        """Plain JSON-ready values, layers as {name: weight}."""
        values = dataclasses.asdict(self)
        values["style_layers"] = dict(self.style_layers)
        for name in ("style_image", "style_masks", "style_blend_weights"):
            values[name] = list(values[name])
        return values

    @classmethod
    def from_preset(cls, preset, **fields):
        """A config from a named preset's values, with `fields` overriding them (old field names accepted)."""
        if preset not in PRESETS:
            raise ConfigError(f"unknown preset {preset!r}: choose one of {', '.join(PRESETS)}")
        return cls(**(PRESETS[preset] | with_current_names(fields)))


# The config is made with the old field names too (run.json files of earlier runs, nst.stylize(alpha=…),
# StyleTransferConfig(epochs=…) in users' scripts): the generated __init__ is wrapped rather than
# given InitVars, because dataclasses.replace reads every InitVar back with getattr.
_generated_init = StyleTransferConfig.__init__


@functools.wraps(_generated_init)
def _init_accepting_old_names(self, *arguments, **fields):
    _generated_init(self, *arguments, **with_current_names(fields))


StyleTransferConfig.__init__ = _init_accepting_old_names


# Each preset reproduces one system this project grew from: its network input, optimisation
# variable, optimiser, sizes and saving (see README.md, "Presets", for what is and is not exact).
# Learning rates, Adam's epsilon and total variation weights are the originals' own numbers, in
# the units of the variable each optimised (optimization_space).
PRESETS = {
    # The Coursera / deeplearning.ai TF1 assignment and the app built on it (the defaults above):
    # MatConvNet's (or Keras's: the same Caffe network) VGG19, mean-subtracted pixels, average
    # pooling with padding='SAME', Adam(2.0) with TF1's ε, np.random.seed(3) noise, truncating saves.
    "coursera": {},  # the field defaults
    # The same assignment rewritten for TensorFlow 2, the version students take today: Keras's
    # VGG19 fed the 0–1 RGB image directly (the assignment skips the caffe preprocessing),
    # 400×400 images, block5_conv4 for content, Adam(0.01) with Keras's defaults on the 0–1 image,
    # clipped after every step; `for i in range(2501)` updates.
    "coursera-tf2": {
        "weights": "keras", "input_normalization": "unit_rgb", "optimization_space": "unit",
        "pooling": "max", "pooling_border": "drop", "sizing": "square", "image_size": 400,
        "content_layer": "conv5_4", "init": "noisy_content", "seed": 1, "learning_rate": 0.01,
        "adam_epsilon": 1e-7, "clip_each_step": True, "iterations": 2501, "print_every": 250,
        "temporal_weight": 500.0,  # as coursera's: network input and variable both in 0–1 units (approximately)
    },
    # udacity/deep-learning-v2-pytorch, Style_Transfer_Solution.ipynb: torchvision's VGG19, Adam(0.003)
    # on the ImageNet-normalised tensor with PyTorch's ε placement, the shorter side set to
    # min(longest side, 400), the style stretched to the content, 2000 steps.
    "pytorch-udacity": {
        "weights": "torchvision", "optimization_space": "network", "adam_epsilon_placement": "pytorch",
        "init": "content", "learning_rate": 0.003, "adam_epsilon": 1e-8, "content_weight": 1.0, "style_weight": 1e6,
        "style_layers": (("conv1_1", 1.0), ("conv2_1", 0.75), ("conv3_1", 0.2), ("conv4_1", 0.2), ("conv5_1", 0.2)),
        "content_layer": "conv4_2", "image_size": 400, "sizing": "udacity", "loss_convention": "pytorch",
        "pooling": "max", "pooling_border": "drop", "iterations": 2000, "print_every": 400, "save_rounding": "round",
        "temporal_weight": 200.0,  # 200·α in the normalised input's units (approximately: another network)
    },
    # The L-BFGS report, which follows the PyTorch tutorial "Neural Transfer Using PyTorch":
    # torch.optim.LBFGS driven as the tutorial drives it (evaluations counted, the 0–1 image clamped
    # in the closure), losses on the convolutions' outputs before the ReLU, the Gram divided by C·H·W,
    # the tutorial's conv_1…conv_5 (conv1_1, conv1_2, conv2_1, conv2_2, conv3_1) and conv_4 (conv2_2),
    # its weights (content 1, style 1e6: the report's printed losses are on that scale), 512 pixels,
    # 500 steps. The report's "losses added directly" is the tutorial's style_score + content_score.
    "lbfgs-report": {
        "weights": "torchvision", "optimizer": "lbfgs", "lbfgs_variant": "torch", "optimization_space": "unit",
        "init": "content", "content_weight": 1.0, "style_weight": 1e6, "loss_convention": "jcjohnson", "features_before_relu": True,
        "image_size": 512, "sizing": "shorter", "iterations": 500, "print_every": 50, "pooling": "max",
        "pooling_border": "drop", "content_layer": "conv2_2",
        "style_layers": (("conv1_1", 1.0), ("conv1_2", 1.0), ("conv2_1", 1.0), ("conv2_2", 1.0), ("conv3_1", 1.0)),
        # 200·α with the variable in 0–1 units and the network fed (x − mean)/0.226, about 4.4 of its units per
        # 0–1 unit: 200·4.4² (approximately: another network, and content at conv2_2).
        "temporal_weight": 4e3,
    },
    # The TensorFlow tutorial "Neural style transfer": Keras's VGG19 with caffe preprocessing of
    # the ×255 image, Adam(0.02, β1 0.99, ε 0.1) on the 0–1 image clipped after every step, TV 30
    # (Σ|differences| of the 0–1 image), images loaded at a longest side of 512 (float32, truncated),
    # the style keeping its own aspect ratio, 10×100 steps.
    "tf-tutorial": {
        "weights": "keras", "optimization_space": "unit", "clip_each_step": True, "content_layer": "conv5_2",
        "content_weight": 1e4, "style_weight": 1e-2, "total_variation_weight": 30.0, "learning_rate": 0.02, "adam_beta_1": 0.99,
        "adam_epsilon": 0.1, "image_size": 512, "sizing": "tf_tutorial", "init": "content",
        "loss_convention": "tf_tutorial", "pooling": "max", "pooling_border": "drop", "iterations": 1000,
        "print_every": 100, "style_layers": tuple((f"conv{block}_1", 1 / 5) for block in range(1, 6)),
        "temporal_weight": 1.3e11,  # 200·α (1e4) on the same Caffe input, the variable in 0–1 units: ×255²
    },
    # jcjohnson/neural-style's defaults: the Caffe VGG19 (Keras's or MatConvNet's file) fed the
    # ×256 caffe input, max pooling rounding up (loadcaffe), Torch's optim.lbfgs on that input
    # (100 corrections, fixed steps, tolerances off), squared TV on the gradient only, randn·0.001
    # start, Torch's image.scale, the style keeping its own aspect ratio.
    "gatys": {
        "content_layer": "conv4_2", "style_layers": tuple((f"conv{block}_1", 1.0) for block in range(1, 6)),
        "content_weight": 5.0, "style_weight": 100.0, "total_variation_weight": 1e-3, "tv_form": "squared", "image_size": 512, "pooling": "max",
        "pooling_border": "keep", "optimizer": "lbfgs", "lbfgs_variant": "lua", "init": "randn", "iterations": 1000,
        "print_every": 100, "loss_convention": "jcjohnson", "input_normalization": "weights_x256",
        "optimization_space": "network", "sizing": "torch_image",
        "temporal_weight": 1e3,  # Ruder et al.'s own, for this very system (artistic-videos builds on it)
    },
}
