"""nst.compare.report: compare.json's fields and values, compare.png, the amplified difference."""

import json
import math

import numpy as np
import pytest
from PIL import Image

from nst import config as config_module
from nst import optimize
from nst.compare import comparison
from nst.compare import report as comparison_report


def _run(costs, image, seconds_per_iteration):
    return comparison.FrameworkRun(
        costs=tuple((iteration, optimize.Costs(*values)) for iteration, values in enumerate(costs)),
        final_image=image, seconds_per_iteration=seconds_per_iteration, first_iteration_seconds=1.5)


@pytest.fixture
def known_comparison():
    image = np.full((20, 30, 3), 100.0, np.float32)
    changed = image.copy()
    changed[5, 7] = [104.0, 100.0, 98.0]
    return comparison.Comparison(
        layer_differences={"conv1_1": 0.0, "conv4_2": 2e-6, "conv5_1": math.inf},
        tensorflow=_run([(300.0, 20.0, 2.5), (200.0, 10.0, 2.5)], image, 0.25),
        torch=_run([(300.0, 20.0, 2.5), (200.2, 10.0, 2.505)], changed, 0.5),
        max_relative_cost_difference=0.002,
        psnr_db=71.5,
        ssim=0.9999,
        image_shape=(20, 30),
        weights_source="random untrained VGG19 (seed 0)",
    )


def test_json_has_every_field_the_issue_lists(tmp_path, known_comparison):
    config = config_module.StyleTransferConfig(content_image="c.png", style_image="s.png", epochs=1, weights="random")

    json_path, figure_path = comparison_report.write_comparison(tmp_path, known_comparison, config)

    record = json.loads(json_path.read_text(encoding="utf-8"))
    assert (json_path.name, figure_path.name) == ("compare.json", "compare.png")
    assert record["per_layer_max_relative_difference"] == {"conv1_1": 0.0, "conv4_2": 2e-6, "conv5_1": None}
    assert record["costs_tensorflow"] == [[0, 300.0, 20.0, 2.5], [1, 200.0, 10.0, 2.5]]
    assert record["costs_torch"] == [[0, 300.0, 20.0, 2.5], [1, 200.2, 10.0, 2.505]]
    assert record["max_relative_cost_difference"] == 0.002
    assert (record["psnr_db"], record["ssim"]) == (71.5, 0.9999)
    assert record["seconds_per_iteration"] == {"tensorflow": 0.25, "torch": 0.5}
    assert record["first_iteration_seconds"] == {"tensorflow": 1.5, "torch": 1.5}
    assert record["image_size"] == {"height": 20, "width": 30} and record["steps"] == 1
    assert record["weights_source"] == "random untrained VGG19 (seed 0)"
    assert record["targets"] == {"activation_relative_difference": 1e-4, "cost_relative_difference": 1e-3,
                                 "activations_within_target": False, "costs_within_target": False}
    assert "max|tensorflow - torch| / max|tensorflow|" in record["relative_difference"]
    assert {"python", "numpy", "tensorflow", "keras", "torch", "safetensors"} <= set(record["versions"])
    assert record["machine"]["cpu_count"] >= 1 and record["machine"]["processor"]
    assert record["settings"]["weights"] == "random"


def test_figure_shows_both_runs_curves_and_images(known_comparison):
    figure = comparison_report.comparison_figure(known_comparison)
    curves, images = figure.axes[:3], figure.axes[3:6]
    for axes, index, title in zip(curves, (1, 2, 3), ("total cost", "content cost", "style cost")):
        assert axes.get_title() == title and axes.get_yscale() == "log"
        lines = {line.get_label(): line for line in axes.get_lines()}
        for name, label in (("tensorflow", "TensorFlow"), ("torch", "PyTorch")):
            rows = comparison_report.cost_rows(getattr(known_comparison, name))
            np.testing.assert_array_equal(lines[label].get_xdata(), [row[0] for row in rows])
            np.testing.assert_array_equal(lines[label].get_ydata(), [row[index] for row in rows])
    shown = [axes.get_images()[0].get_array() for axes in images]
    np.testing.assert_array_equal(shown[0], known_comparison.tensorflow.final_image.astype(np.uint8))
    np.testing.assert_array_equal(shown[1], known_comparison.torch.final_image.astype(np.uint8))
    # The one changed pixel differs by 4 at most: shown ×63.75 so that 4 is white (255).
    assert shown[2][5, 7].tolist() == [255, 0, 127] and shown[2].sum() == 255 + 127
    assert images[2].get_title() == "|difference| × 63.8"
    assert "PSNR 71.5 dB" in figure.get_suptitle() and "conv5_1" in figure.get_suptitle()


def test_figure_is_written_as_a_png_beside_the_json(tmp_path, known_comparison):
    config = config_module.StyleTransferConfig(content_image="c.png", style_image="s.png")
    _, figure_path = comparison_report.write_comparison(tmp_path, known_comparison, config)
    with Image.open(figure_path) as figure:
        assert figure.format == "PNG" and figure.size == (13 * 80, 8 * 80)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["compare.json", "compare.png"]  # no temporary left


def test_difference_is_amplified_until_the_largest_is_white_within_a_limit():
    image = np.zeros((2, 2, 3), np.float32)
    other = image.copy()
    other[0, 0, 0] = 5.0
    shown, gain = comparison_report.difference_image(image, other)
    assert gain == pytest.approx(51.0) and shown[0, 0, 0] == 255 and shown.sum() == 255
    other[0, 0, 0] = 1e-6  # rounding noise stays dark
    assert comparison_report.difference_image(image, other)[1] == comparison_report.MAX_DIFFERENCE_GAIN
    shown, gain = comparison_report.difference_image(image, image)
    assert gain == 1.0 and not shown.any()
