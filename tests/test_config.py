"""nst.config: Coursera defaults, layer names, validation of every field."""

import dataclasses
import math

import pytest

from nst import config as config_module
from nst.config import ConfigError, StyleTransferConfig


def make_config(**changes):
    return StyleTransferConfig(content_image="content.png", style_image="style.png", **changes)


def test_defaults_are_the_coursera_assignment():
    config = make_config()
    assert (config.content_weight, config.style_weight, config.learning_rate) == (10.0, 40.0, 2.0)
    assert (config.iterations, config.noise_ratio, config.image_size) == (200, 0.6, 400)
    assert config.content_layer == "conv4_2"
    assert config.style_layers == tuple((f"conv{block}_1", 0.2) for block in range(1, 6))
    assert config.pooling == "avg"
    assert config.weights == "imagenet"
    assert config.seed == 3


def test_config_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        make_config().content_weight = 1.0


@pytest.mark.parametrize("name", ["conv4_2", "relu4_2", "block4_conv2", " Block4_Conv2 "])
def test_layer_spellings_become_canonical(name):
    assert config_module.canonical_layer_name(name) == "conv4_2"
    assert config_module.keras_layer_name(name) == "block4_conv2"


@pytest.mark.parametrize("name", ["conv6_1", "conv1_3", "block2_conv3", "fc1", "", "pool1"])
def test_unknown_layers_are_refused(name):
    with pytest.raises(ConfigError, match="unknown VGG19 layer"):
        config_module.canonical_layer_name(name)


def test_vgg19_has_sixteen_convolutions():
    names = config_module.VGG19_LAYER_NAMES
    assert len(names) == 16 and names[0] == "conv1_1" and names[-1] == "conv5_4"


def test_style_layers_parse_from_text_with_keras_names():
    config = make_config(style_layers="block1_conv1:0.5, conv3_1:1.5")
    assert config.style_layers == (("conv1_1", 0.5), ("conv3_1", 1.5))
    assert config.style_layer_names == ("conv1_1", "conv3_1")
    assert config.style_layer_weights == (0.5, 1.5)


def test_style_layers_without_weights_share_equally():
    parsed = config_module.parse_layer_weights("conv1_1,conv2_1,conv3_1,conv4_1")
    assert [weight for _, weight in parsed] == [0.25] * 4


def test_style_layers_from_a_dict():
    assert make_config(style_layers={"conv2_1": 1.0}).style_layers == (("conv2_1", 1.0),)


def test_content_layer_accepts_keras_name():
    assert make_config(content_layer="block5_conv2").content_layer == "conv5_2"


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"epochs": 0}, "epochs must be at least 1"),
        ({"epochs": -5}, "epochs must be at least 1"),
        ({"epochs": 2.5}, "epochs must be a whole number"),
        ({"print_every": 0}, "print_every"),
        ({"image_size": 0}, "image_size must be at least 16"),
        ({"image_size": -400}, "image_size"),
        ({"learning_rate": 0.0}, "learning_rate must be a positive"),
        ({"learning_rate": math.nan}, "learning_rate must be a finite"),
        ({"alpha": -1.0}, "alpha must be at least 0"),
        ({"beta": math.inf}, "beta must be a finite number"),
        ({"alpha": math.nan}, "alpha must be a finite number"),
        ({"noise_ratio": 1.5}, "noise_ratio must be between 0 and 1"),
        ({"noise_ratio": -0.1}, "noise_ratio must be between 0 and 1"),
        ({"noise_ratio": math.nan}, "noise_ratio must be a finite number"),
        ({"pooling": "min"}, "pooling must be one of avg, max"),
        ({"weights": " "}, "weights must be"),
        ({"seed": -1}, "seed must be at least 0"),
        ({"content_layer": "conv9_9"}, "unknown VGG19 layer"),
        ({"style_layers": "conv1_1:-0.2"}, "style layer weight of conv1_1 must be at least 0"),
        ({"style_layers": "conv1_1:nan"}, "must be a finite number"),
        ({"style_layers": "conv1_1:abc"}, "is not a number"),
        ({"style_layers": "conv1_1:0.5,block1_conv1:0.5"}, "names a layer twice"),
        ({"style_layers": ""}, "empty"),
    ],
)
def test_bad_values_are_refused_with_the_setting_named(changes, message):
    with pytest.raises(ConfigError, match=message):
        make_config(**changes)


def test_replace_validates_again():
    config = make_config()
    assert config.replace(epochs=3).iterations == 3
    with pytest.raises(ConfigError):
        config.replace(epochs=0)


def test_to_dict_survives_json_and_builds_the_same_config():
    """run.json holds to_dict(); --resume builds the config back from it, so the round trip must be exact."""
    import json

    config = StyleTransferConfig(content_image="c.png", style_image="a.png,b.png", style_blend_weights="3,1",
                                 style_layers="conv1_1:0.5,conv3_1:1.5", content_mask="m.png")
    values = json.loads(json.dumps(config.to_dict()))
    assert values["style_layers"] == {"conv1_1": 0.5, "conv3_1": 1.5}
    assert values["style_image"] == ["a.png", "b.png"] and values["style_blend_weights"] == [0.75, 0.25]
    assert StyleTransferConfig(**values) == config


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"optimizer": "sgd"}, "optimizer must be one of adam, lbfgs"),
        ({"scales": 0}, "scales must be at least 1"),
        ({"tv_weight": -1.0}, "tv_weight must be at least 0"),
        ({"precision": "float16"}, "precision must be one of float32, bfloat16"),
        ({"init": ""}, "init must be one of"),
        ({"image_size": 64, "scales": 4}, "would start at 8 pixels"),
    ],
)
def test_bad_speed_settings_are_refused(changes, message):
    with pytest.raises(ConfigError, match=message):
        make_config(**changes)


def test_scales_grow_by_two_up_to_the_image_size():
    assert make_config(image_size=400, scales=3).scale_sizes() == (100, 200, 400)
    assert make_config(image_size=400).scale_sizes() == (400,)
    assert make_config(scales=3, epochs=50).total_iterations == 150


def test_presets_resolve_to_their_documented_values():
    udacity = StyleTransferConfig.from_preset("pytorch-udacity", content_image="c", style_image="s")
    assert (udacity.init, udacity.content_weight, udacity.style_weight, udacity.loss_convention) == ("content", 1.0, 1e6, "pytorch")
    assert (udacity.learning_rate, udacity.optimization_space, udacity.adam_epsilon_placement) == (
        0.003, "network", "pytorch")
    assert (udacity.weights, udacity.sizing, udacity.iterations, udacity.pooling_border) == (
        "torchvision", "udacity", 2000, "drop")
    assert dict(udacity.style_layers) == {"conv1_1": 1.0, "conv2_1": 0.75, "conv3_1": 0.2, "conv4_1": 0.2,
                                          "conv5_1": 0.2}
    report = StyleTransferConfig.from_preset("lbfgs-report", content_image="c", style_image="s")
    assert (report.optimizer, report.lbfgs_variant, report.init, report.content_weight, report.style_weight) == (
        "lbfgs", "torch", "content", 1.0, 1e6)
    assert (report.image_size, report.iterations, report.sizing, report.features_before_relu) == (512, 500, "shorter", True)
    assert report.content_layer == "conv2_2" and report.loss_convention == "jcjohnson"
    assert report.total_iterations == 520  # the tutorial's loop: 26 step() calls of 20 updates for 500 steps
    tutorial = StyleTransferConfig.from_preset("tf-tutorial", content_image="c", style_image="s")
    assert (tutorial.content_layer, tutorial.content_weight, tutorial.style_weight) == ("conv5_2", 1e4, 1e-2)
    assert (tutorial.learning_rate, tutorial.adam_beta_1, tutorial.adam_epsilon) == (0.02, 0.99, 0.1)
    assert (tutorial.total_variation_weight, tutorial.optimization_space, tutorial.clip_each_step) == (30.0, "unit", True)
    assert (tutorial.image_size, tutorial.sizing, tutorial.weights) == (512, "tf_tutorial", "keras")
    gatys = StyleTransferConfig.from_preset("gatys", content_image="c", style_image="s")
    assert (gatys.content_layer, gatys.content_weight, gatys.style_weight, gatys.total_variation_weight) == ("conv4_2", 5.0, 100.0, 1e-3)
    assert (gatys.image_size, gatys.pooling, gatys.pooling_border) == (512, "max", "keep")
    assert (gatys.lbfgs_variant, gatys.tv_form, gatys.init, gatys.input_normalization) == (
        "lua", "squared", "randn", "weights_x256")
    assert gatys.style_layer_names == ("conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv5_1")
    students = StyleTransferConfig.from_preset("coursera-tf2", content_image="c", style_image="s")
    assert (students.weights, students.input_normalization, students.optimization_space) == (
        "keras", "unit_rgb", "unit")
    assert (students.content_layer, students.learning_rate, students.adam_epsilon, students.clip_each_step) == (
        "conv5_4", 0.01, 1e-7, True)
    assert (students.sizing, students.image_size, students.init, students.iterations, students.print_every) == (
        "square", 400, "noisy_content", 2501, 250)
    assert (students.pooling, students.pooling_border, students.content_weight, students.style_weight) == ("max", "drop", 10.0, 40.0)


def test_coursera_defaults_reproduce_the_tf1_assignment():
    config = make_config()
    assert (config.pooling_border, config.optimization_space, config.input_normalization) == (
        "keep", "network", "weights")
    assert (config.save_rounding, config.seed, config.adam_epsilon, config.sizing) == ("truncate", 3, 1e-8, "longest")


@pytest.mark.parametrize("name", ["pooling_border", "lbfgs_variant", "adam_epsilon_placement", "input_normalization",
                                  "optimization_space", "sizing", "tv_form", "save_rounding"])
def test_reproduction_settings_are_validated(name):
    with pytest.raises(ConfigError, match=f"{name} must be one of"):
        make_config(**{name: "bogus"})


def test_coursera_preset_is_the_defaults():
    assert StyleTransferConfig.from_preset("coursera", content_image="content.png", style_image="style.png") == \
        make_config()


def test_explicit_fields_override_a_preset():
    config = StyleTransferConfig.from_preset("gatys", content_image="c", style_image="s", image_size=256)
    assert config.image_size == 256 and config.style_weight == 100.0


def test_unknown_preset_is_refused():
    with pytest.raises(ConfigError, match="unknown preset 'picasso'"):
        StyleTransferConfig.from_preset("picasso", content_image="c", style_image="s")


def test_config_knows_every_loss_convention():
    from nst import loss_conventions

    assert set(config_module.LOSS_CONVENTIONS) == set(loss_conventions.LOSS_CONVENTIONS)
