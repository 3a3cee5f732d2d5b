"""Neural style transfer in TensorFlow 2 / Keras: the public Python API."""

import dataclasses
import pathlib

from nst.config import StyleTransferConfig
from nst.errors import ConfigError, NSTError
from nst.fast import registration

__all__ = ["ConfigError", "NSTError", "StyleTransferConfig", "Progress", "stylize", "stylize_fast"]

# keras.saving.load_model can then read a transform_net.keras in any process that imported nst.
registration.register_layers_with_keras()


def __getattr__(name):
    """nst.stylize_fast, imported on first use: it needs TensorFlow, which `import nst` does not load."""
    if name == "stylize_fast":
        from nst.fast import api as fast_api

        return fast_api.stylize_fast
    raise AttributeError(f"module 'nst' has no attribute {name!r}")


@dataclasses.dataclass(frozen=True)
class Progress:
    """What stylize's callback receives at each snapshot."""

    iteration: int
    image: object  # PIL.Image.Image
    costs: object  # nst.optimize.Costs: total, content, style, tv


def _describe(image_or_path):
    """The config's record of an input: its path, or a placeholder for an in-memory image."""
    if isinstance(image_or_path, (str, pathlib.Path)):
        return str(image_or_path)
    return f"<in-memory {type(image_or_path).__name__}>"


def _live_preview():
    """A callback that shows each snapshot in place in Jupyter, or None outside a notebook."""
    try:
        from IPython import display as ipython_display
        from IPython import get_ipython
    except ImportError:
        return None
    if get_ipython() is None:
        return None
    handle = ipython_display.display(None, display_id=True)
    return lambda progress: handle.update(progress.image)


def stylize(content, style, callback=None, preview=False, **config_fields):
    """Paints `content` in the manner of `style`; returns a PIL.Image.Image.

    content, style: paths, PIL images or H×W×3 arrays (0–255). config_fields are
    StyleTransferConfig fields (iterations=, image_size=, weights=, optimizer=, …; the
    command line's names alpha=, beta=, tv_weight= and epochs= work too) with the same
    defaults as the command line. callback(Progress) is called at every snapshot
    (every print_every iterations and at the end); preview=True shows the image updating
    in a Jupyter notebook. Writes no files. Raises an NSTError (ConfigError,
    nst.errors.ImageError, nst.errors.WeightsError) on bad input.
    """
    from nst import images
    from nst import optimize
    from nst import transfer

    config = StyleTransferConfig(content_image=_describe(content), style_image=_describe(style), **config_fields)
    prepared = transfer.prepare(config, content=content, style=style)
    listeners = [listener for listener in (callback, _live_preview() if preview else None) if listener]

    def on_snapshot(snapshot):
        progress = Progress(snapshot.iteration, images.to_pil(snapshot.image, config.save_rounding), snapshot.costs)
        for listener in listeners:
            listener(progress)

    callbacks = optimize.Callbacks(on_snapshot=on_snapshot if listeners else None)
    result = transfer.transfer_style(config, prepared, callbacks)
    return images.to_pil(result.image, config.save_rounding)
