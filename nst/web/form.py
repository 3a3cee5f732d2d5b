"""The page's settings and the StyleTransferConfig they make: defaults from the config and its presets, limits checked.

The page shows the settings people change most; everything else is the preset's, exactly as on
the command line, where a preset gives the defaults and explicit flags override them. The page's
fields start at the command line's defaults because they are read from StyleTransferConfig.
"""

import dataclasses
import math
import pathlib

from nst import config as config_module
from nst import errors

# The sample images in images/ (their README says where they come from); the page lists only these.
SAMPLE_SUFFIXES = (".jpg", ".jpeg", ".png")
# nst_main.py's --content_image_filename and --style_image_filename defaults (a test keeps them equal).
DEFAULT_CONTENT_SAMPLE = "village.jpg"
DEFAULT_STYLE_SAMPLES = ("swirls.jpg",)
UNTRAINED_WEIGHTS = "random"


@dataclasses.dataclass(frozen=True)
class PageSettings:
    """The values of the page's settings, as the browser sent them (numbers may come as floats, text as typed)."""

    preset: str
    content_weight: float
    style_weight: float
    image_size: float
    iterations: float
    print_every: float
    optimizer: str
    precision: str
    preserve_colors: str
    style_blend_weights: str = ""


# The config fields behind the page's settings (the rest come from the preset).
PAGE_FIELDS = tuple(field.name for field in dataclasses.fields(PageSettings) if field.name != "preset")
_WHOLE_NUMBER_FIELDS = ("image_size", "iterations", "print_every")
_LABELS = {"content_weight": "Content weight", "style_weight": "Style weight", "image_size": "Image size",
           "iterations": "Iterations", "print_every": "Snapshot every"}


def preset_settings(preset):
    """The page's settings a preset gives (its config's values: the command line's defaults for 'coursera')."""
    if preset not in config_module.PRESETS:
        raise errors.ConfigError(f"unknown preset {preset!r}: choose one of {', '.join(config_module.PRESETS)}")
    preset_config = config_module.StyleTransferConfig.from_preset(preset, content_image="-", style_image="-")
    values = {name: getattr(preset_config, name) for name in PAGE_FIELDS if name != "style_blend_weights"}
    return PageSettings(preset=preset, style_blend_weights="", **values)


DEFAULTS = preset_settings("coursera")  # the command line's defaults (nst_main.py's --preset default)


def list_samples(folder=config_module.IMAGES_DIR):
    """{name: path} of the sample images in folder, sorted by name; a page chooses among these names only."""
    folder = pathlib.Path(folder)
    if not folder.is_dir():
        return {}
    return {path.name: path for path in sorted(folder.iterdir())
            if path.is_file() and path.suffix.lower() in SAMPLE_SUFFIXES}


def _whole_number(name, value):
    """A number the browser sent as 400.0 becomes 400; None (an emptied box) is refused by name."""
    if value is None or (isinstance(value, str) and not value.strip()):
        raise errors.ConfigError(f"{_LABELS[name]} is empty: give a number")
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return int(value)
    return value


def _number(name, value):
    if value is None:
        raise errors.ConfigError(f"{_LABELS[name]} is empty: give a number")
    return value


def blend_weights(text, style_count):
    """'0.7, 0.3' or '0.7 0.3' as (0.7, 0.3) for style_count styles; () when blank (equal weights)."""
    items = str(text or "").replace(",", " ").split()
    if not items:
        return ()
    try:
        weights = tuple(float(item) for item in items)
    except ValueError:
        raise errors.ConfigError(f"blend weights must be numbers, one per style image, e.g. 0.7, 0.3; "
                                 f"got {text!r}") from None
    if len(weights) != style_count:
        raise errors.ConfigError(f"{len(weights)} blend weights for {style_count} style image"
                                 f"{'s' if style_count != 1 else ''}: give one per style image, or none for equal")
    return weights


def run_config(settings, content_image, style_images, output_dir, weights=None, allow_download=True,
               max_image_size=None, max_iterations=None):
    """The StyleTransferConfig of a run started from the page; ConfigError naming the setting that cannot be used.

    content_image and style_images are paths (the run reads nothing else). weights None keeps
    the preset's own weights. max_image_size and max_iterations are the server's limits.
    """
    fields = {
        "content_weight": _number("content_weight", settings.content_weight),
        "style_weight": _number("style_weight", settings.style_weight),
        "optimizer": settings.optimizer, "precision": settings.precision, "preserve_colors": settings.preserve_colors,
        "style_blend_weights": blend_weights(settings.style_blend_weights, len(style_images)),
        **{name: _whole_number(name, getattr(settings, name)) for name in _WHOLE_NUMBER_FIELDS},
    }
    if weights is not None:
        fields["weights"] = weights
    config = config_module.StyleTransferConfig.from_preset(
        settings.preset, content_image=str(content_image), style_image=tuple(str(path) for path in style_images),
        output_dir=str(output_dir), allow_download=allow_download, **fields)
    if max_image_size is not None and config.image_size > max_image_size:
        raise errors.ConfigError(f"Image size {config.image_size} is above this server's limit of {max_image_size}")
    if max_iterations is not None and config.iterations > max_iterations:
        raise errors.ConfigError(f"Iterations {config.iterations} is above this server's limit of {max_iterations}")
    return config
