"""compare.json and compare.png: a TensorFlow-versus-PyTorch Comparison as data and as a figure, written atomically."""

import io
import pathlib

import numpy as np

from nst import environment
from nst import files
from nst.compare import comparison as comparison_module

JSON_NAME = "compare.json"
FIGURE_NAME = "compare.png"
FRAMEWORK_LABELS = {"tensorflow": "TensorFlow", "torch": "PyTorch"}
# The difference image is scaled so its largest value is white, but never by more than this:
# a difference of a few 1e-4 pixels amplified to full brightness would look like a real one.
MAX_DIFFERENCE_GAIN = 1000.0


def cost_rows(framework_run):
    """[[iteration, total, content, style], ...] of one run, for JSON."""
    return [[iteration, costs.total, costs.content, costs.style] for iteration, costs in framework_run.costs]


def _json_number(value):
    """value, or None where JSON has no number for it: an infinite relative difference."""
    return value if np.isfinite(value) else None


def comparison_record(comparison, config):
    """The JSON-ready record of a Comparison; config is the StyleTransferConfig both runs used."""
    height, width = comparison.image_shape
    runs = {"tensorflow": comparison.tensorflow, "torch": comparison.torch}
    return {
        "content_image": str(config.content_image),
        "style_image": ", ".join(comparison_module.style_image_paths(config)),
        "image_size": {"height": height, "width": width},
        "steps": config.iterations,
        "weights_source": comparison.weights_source,
        "relative_difference": comparison_module.RELATIVE_DIFFERENCE_DEFINITION,
        "per_layer_max_relative_difference": {
            name: _json_number(value) for name, value in comparison.layer_differences.items()
        },
        "costs_tensorflow": cost_rows(comparison.tensorflow),
        "costs_torch": cost_rows(comparison.torch),
        "max_relative_cost_difference": _json_number(comparison.max_relative_cost_difference),
        "targets": {
            "activation_relative_difference": comparison_module.ACTIVATION_TARGET,
            "cost_relative_difference": comparison_module.COST_TARGET,
            "activations_within_target": comparison.activations_within_target,
            "costs_within_target": comparison.costs_within_target,
        },
        "psnr_db": comparison.psnr_db,  # null when the two images are identical
        "ssim": comparison.ssim,
        "seconds_per_iteration": {name: run.seconds_per_iteration for name, run in runs.items()},
        "first_iteration_seconds": {name: run.first_iteration_seconds for name, run in runs.items()},
        "stop_reasons": {name: run.stop_reason for name, run in runs.items()},
        "settings": config.to_dict(),
        "versions": environment.library_versions(environment.COMPARISON_LIBRARIES),
        "machine": environment.machine_description(),
    }


def difference_image(first_image, second_image):
    """(|first − second| of the clipped images scaled to show, the gain used): H×W×3 uint8 and a float."""
    difference = np.abs(np.clip(first_image, 0, 255) - np.clip(second_image, 0, 255))
    largest = float(difference.max())
    gain = min(255.0 / largest, MAX_DIFFERENCE_GAIN) if largest > 0 else 1.0
    return np.clip(difference * gain, 0, 255).astype(np.uint8), gain


LINE_STYLES = {"tensorflow": {"linestyle": "-", "marker": "o"}, "torch": {"linestyle": "--", "marker": "x"}}


MARKED_POINTS = 30  # more points than this and the markers hide the lines: a marker every n-th point


def _plot_costs(axes, comparison, cost_index, title):
    for name, style in LINE_STYLES.items():
        rows = cost_rows(getattr(comparison, name))
        axes.plot([row[0] for row in rows], [row[cost_index] for row in rows], label=FRAMEWORK_LABELS[name],
                  markersize=4, markevery=max(1, len(rows) // MARKED_POINTS), **style)
    axes.set_title(title)
    axes.set_xlabel("iteration")
    axes.set_yscale("log")
    axes.legend()


def _show_image(axes, pixels, title):
    axes.imshow(np.clip(pixels, 0, 255).astype(np.uint8), interpolation="nearest")
    axes.set_title(title)
    axes.axis("off")


def comparison_figure_png(comparison):
    """compare.png's bytes (comparison_figure at 80 dpi)."""
    buffer = io.BytesIO()
    comparison_figure(comparison).savefig(buffer, format="png", dpi=80)
    return buffer.getvalue()


def comparison_figure(comparison):
    """A matplotlib Figure: the three cost curves of both runs overlaid, the two final images and their difference."""
    from matplotlib.backends import backend_agg
    from matplotlib import figure as figure_module  # the object API: no pyplot state, no GUI backend

    figure = figure_module.Figure(figsize=(13, 8), layout="constrained")
    backend_agg.FigureCanvasAgg(figure)
    axes = figure.subplots(2, 3)
    for column, (cost_index, title) in enumerate(((1, "total cost"), (2, "content cost"), (3, "style cost"))):
        _plot_costs(axes[0, column], comparison, cost_index, title)
    _show_image(axes[1, 0], comparison.tensorflow.final_image, "TensorFlow result")
    _show_image(axes[1, 1], comparison.torch.final_image, "PyTorch result")
    difference, gain = difference_image(comparison.tensorflow.final_image, comparison.torch.final_image)
    _show_image(axes[1, 2], difference, f"|difference| × {gain:.3g}")
    psnr = "identical" if comparison.psnr_db is None else f"PSNR {comparison.psnr_db:.1f} dB"
    worst_layer = max(comparison.layer_differences, key=comparison.layer_differences.get)
    figure.suptitle(
        f"{len(comparison.tensorflow.costs) - 1} Adam steps: {psnr}, SSIM {comparison.ssim:.5f}; largest relative "
        f"difference: costs {comparison.max_relative_cost_difference:.2e}, activations "
        f"{comparison.layer_differences[worst_layer]:.2e} ({worst_layer})"
    )
    return figure


def summary(comparison, json_path, figure_path):
    """The lines the command prints at the end: the headline numbers and where the files are."""
    worst_layer = max(comparison.layer_differences, key=comparison.layer_differences.get)
    psnr = "identical images" if comparison.psnr_db is None else f"PSNR {comparison.psnr_db:.1f} dB"
    return "\n".join([
        f"Largest relative activation difference: {comparison.layer_differences[worst_layer]:.2e} ({worst_layer}); "
        f"largest relative cost difference: {comparison.max_relative_cost_difference:.2e}",
        f"Final images: {psnr}, SSIM {comparison.ssim:.5f}",
        f"Seconds per iteration: TensorFlow {comparison.tensorflow.seconds_per_iteration:.3f}, "
        f"PyTorch {comparison.torch.seconds_per_iteration:.3f}",
        f"Wrote {json_path} and {figure_path}",
    ])


def write_comparison(output_dir, comparison, config):
    """Writes compare.json and compare.png into output_dir, each atomically; returns their paths."""
    json_path = pathlib.Path(output_dir) / JSON_NAME
    figure_path = pathlib.Path(output_dir) / FIGURE_NAME
    figure_bytes = comparison_figure_png(comparison)  # drawn first: a plotting failure leaves no half report
    files.write_json_atomic(json_path, comparison_record(comparison, config))
    with files.atomic_write(figure_path, "wb") as handle:
        handle.write(figure_bytes)
    return json_path, figure_path
