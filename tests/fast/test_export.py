"""nst.fast.export: every export runs, at any size, and matches the Keras model within its tolerance."""

import numpy as np
import pytest
import tensorflow as tf

from fast_fixtures import perturbed
from fast_fixtures import smooth_picture
from nst.fast import config as fast_config
from nst.fast import export
from nst.fast import network
from nst.fast import stylize as fast_stylize


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """A small network, exported in every format and checked on a 56×44 picture."""
    model = perturbed(network.build_transform_net(0.25), seed=5)
    folder = tmp_path_factory.mktemp("export")
    reported = []
    checks = export.export_all(model, folder, fast_config.FORMATS, smooth_picture(3, (56, 44)).astype(np.float32),
                               on_export=reported.append)
    return model, folder, {check.format: check for check in checks}, reported


def test_every_format_is_written_checked_and_reported(exported):
    _, folder, checks, reported = exported
    assert list(checks) == list(fast_config.FORMATS) and [check.format for check in reported] == list(fast_config.FORMATS)
    assert sorted(path.name for path in folder.iterdir()) == [
        "saved_model", "transform_net_float16.tflite", "transform_net_float32.tflite", "transform_net_int8.tflite"
    ]
    for check in checks.values():
        assert check.passed and check.milliseconds > 0 and check.size_bytes > 0
    # Each variant is smaller than the last: float32 weights, then float16, then int8.
    sizes = [checks[name].size_bytes for name in ("tflite_float32", "tflite_float16", "tflite_int8")]
    assert sizes[0] > sizes[1] > sizes[2]


def test_the_exports_match_the_keras_model(exported):
    _, _, checks, _ = exported
    assert checks["saved_model"].mean_difference < 0.01
    assert checks["tflite_float32"].mean_difference < 0.1  # the target is under 1 gray level
    assert checks["tflite_float16"].mean_difference < 2.0
    assert checks["tflite_int8"].mean_difference < 10.0
    assert checks["tflite_float32"].max_difference < 1.0


def test_exports_take_other_sizes(exported):
    model, folder, _, _ = exported
    pixels = smooth_picture(4, (37, 23)).astype(np.float32)
    reference = model(pixels[np.newaxis]).numpy()[0]
    runner = export.TFLiteRunner((folder / "transform_net_float32.tflite").read_bytes())
    np.testing.assert_allclose(runner(pixels), reference, atol=0.1)
    serving = tf.saved_model.load(str(folder / "saved_model")).signatures["serving_default"]
    output = next(iter(serving(pixels=tf.constant(pixels[np.newaxis])).values())).numpy()[0]
    np.testing.assert_allclose(output, reference, atol=0.1)


@pytest.mark.parametrize("format_name", fast_config.FORMATS)
def test_stylize_runs_every_export_within_its_tolerance(exported, format_name):
    """What fast_main.py stylize --model <export> computes: another picture and size than the check's."""
    model, folder, _, _ = exported
    pixels = smooth_picture(6, (41, 29)).astype(np.float32)
    reference = model(pixels[np.newaxis]).numpy()[0]
    stylizer = fast_stylize.load_stylizer(folder / fast_config.FILENAMES[format_name])
    stylised = stylizer(pixels)
    assert stylised.pixels.shape == (29, 41, 3) and stylised.milliseconds > 0
    assert np.abs(stylised.pixels - reference).mean() <= fast_config.TOLERANCES[format_name]


def test_a_check_outside_its_tolerance_does_not_pass():
    check = export.ExportCheck("tflite_int8", "x.tflite", 1, mean_difference=12.0, max_difference=40.0,
                               tolerance=10.0, milliseconds=1.0)
    assert not check.passed


def test_unknown_tflite_formats_are_refused(tmp_path):
    with pytest.raises(export.ExportError, match="unknown TFLite format"):
        export.tflite_bytes(tmp_path, "tflite_int4")
