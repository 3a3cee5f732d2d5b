"""nst.fast.config: the frozen configs of train, stylize and export check their values; the network's widths."""

import json
import pathlib

import pytest

from nst import errors
from nst.fast import config as fast_config


def tiny_config(tmp_path, **changes):
    fields = dict(style_image="style.png", train_dir=str(tmp_path / "train"), output_dir=str(tmp_path / "run"),
                  weights="random", width_multiplier=0.25, batch_size=2, image_size=32, learning_rate=3e-3)
    return fast_config.FastTrainingConfig(**{**fields, **changes})


# ---------------------------------------------------------------------------
# train
# ---------------------------------------------------------------------------


def test_defaults_are_the_documented_ones(tmp_path):
    config = fast_config.FastTrainingConfig(style_image="s.jpg", train_dir="coco", output_dir="models/s")
    assert (config.content_weight, config.style_weight, config.total_variation_weight) == (7.5, 100.0, 200.0)
    assert (config.batch_size, config.image_size, config.epochs, config.learning_rate) == (4, 256, 2, 1e-3)
    assert (config.content_layer, config.pooling, config.width_multiplier) == ("conv4_2", "max", 1.0)
    assert config.style_layer_names == ("conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1")
    assert config.checkpoint_directory == pathlib.Path("models/s/checkpoints")


def test_layers_are_normalised_and_steps_follow_epochs(tmp_path):
    config = tiny_config(tmp_path, content_layer="block2_conv2", style_layers="relu1_1:1,conv3_1:0.5", epochs=3)
    assert config.content_layer == "conv2_2"
    assert config.style_layers == (("conv1_1", 1.0), ("conv3_1", 0.5))
    assert config.total_steps(file_count=9) == 3 * 4  # 9 // 2 full batches a pass
    assert config.total_steps(file_count=1) == 3  # fewer images than a batch: one step a pass
    assert config.replace(steps=7).total_steps(file_count=9) == 7
    assert json.loads(json.dumps(config.to_dict()))["style_layers"] == {"conv1_1": 1.0, "conv3_1": 0.5}


@pytest.mark.parametrize("changes, message", [
    ({"batch_size": 0}, "batch_size must be at least 1"),
    ({"image_size": 8}, "image_size must be at least 16"),
    ({"style_size": 4}, "style_size must be 0"),
    ({"learning_rate": 0}, "learning_rate must be above 0"),
    ({"style_weight": -1}, "style_weight must be at least 0"),
    ({"content_weight": float("nan")}, "content_weight must be a finite number"),
    ({"width_multiplier": 8}, "width_multiplier must be between"),
    ({"steps": 2.5}, "steps must be a whole number"),
    ({"pooling": "min"}, "pooling must be one of"),
    ({"distribution": "tpu"}, "distribution must be one of"),
    ({"cpu_devices": 2, "distribution": "multi_worker"}, "cpu_devices 2 needs distribution mirrored"),
    ({"content_layer": "conv9_1"}, "unknown VGG19 layer"),
    ({"style_layers": "conv1_1:1,relu1_1:2"}, "names a layer twice"),
    ({"train_dir": " "}, "train_dir must not be empty"),
])
def test_bad_settings_are_config_errors(tmp_path, changes, message):
    with pytest.raises(errors.ConfigError, match=message):
        tiny_config(tmp_path, **changes)


# ---------------------------------------------------------------------------
# the transformation network's widths
# ---------------------------------------------------------------------------


def test_channel_counts_follow_johnson_times_the_multiplier():
    assert fast_config.channel_counts(1.0) == (32, 64, 128)
    assert fast_config.channel_counts(0.5) == (16, 32, 64)
    assert fast_config.channel_counts(0.25) == (8, 16, 32)
    assert fast_config.channel_counts(1 / 32) == (1, 2, 4)


@pytest.mark.parametrize("width", [0, -1, 0.01, 5, "wide", True, float("nan")])
def test_bad_width_multipliers_are_refused(width):
    with pytest.raises(errors.TransformNetError, match="width_multiplier"):
        fast_config.channel_counts(width)


# ---------------------------------------------------------------------------
# stylize and export
# ---------------------------------------------------------------------------


def test_the_stylize_config_checks_its_values():
    config = fast_config.StylizeConfig(model="m", input="i")
    assert (config.output_dir, config.max_size, config.precision) == ("output/fast", 0, "auto")
    with pytest.raises(errors.ConfigError, match="max_size must be a whole number"):
        fast_config.StylizeConfig(model="m", input="i", max_size=-1)
    with pytest.raises(errors.ConfigError, match="max_size must be 0"):
        fast_config.StylizeConfig(model="m", input="i", max_size=3)
    with pytest.raises(errors.ConfigError, match="precision must be one of"):
        fast_config.StylizeConfig(model="m", input="i", precision="float16")
    with pytest.raises(errors.ConfigError, match="input is required"):
        fast_config.StylizeConfig(model="m", input="")


def test_formats_are_parsed_in_a_fixed_order():
    assert fast_config.parse_formats("all") == fast_config.FORMATS
    assert fast_config.parse_formats("tflite_int8, saved_model") == ("saved_model", "tflite_int8")
    with pytest.raises(errors.ConfigError, match="formats must be 'all' or"):
        fast_config.parse_formats("onnx")
    with pytest.raises(errors.ConfigError, match="formats must be"):
        fast_config.parse_formats("")


def test_the_export_config_checks_its_values():
    config = fast_config.ExportConfig(model="m", output_dir="o", check_image="c.jpg", formats=("tflite_float32",))
    assert config.formats == ("tflite_float32",) and config.check_size == 512
    with pytest.raises(errors.ConfigError, match="check_size must be 0"):
        fast_config.ExportConfig(model="m", output_dir="o", check_image="c.jpg", check_size=2)
