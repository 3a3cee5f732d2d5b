"""nst.web.form: the page starts at the command line's defaults, presets fill it, and its values make the config."""

import dataclasses

import pytest

import nst_main
from nst import config as config_module
from nst import errors
from nst.web import form


def page_settings(**changes):
    return dataclasses.replace(form.DEFAULTS, **changes)


def test_the_pages_defaults_are_the_command_lines():
    defaults = config_module.StyleTransferConfig(content_image="c", style_image="s")
    for name in form.PAGE_FIELDS:
        if name != "style_blend_weights":
            assert getattr(form.DEFAULTS, name) == getattr(defaults, name), name
    assert form.DEFAULTS.preset == nst_main.FLAGS["preset"].default
    assert form.DEFAULT_CONTENT_SAMPLE == nst_main.FLAGS["content_image_filename"].default
    assert ",".join(form.DEFAULT_STYLE_SAMPLES) == nst_main.FLAGS["style_image_filename"].default


def test_a_preset_fills_the_settings_with_its_own_values():
    settings = form.preset_settings("coursera-tf2")
    assert (settings.iterations, settings.print_every, settings.image_size) == (2501, 250, 400)
    assert settings.content_weight == config_module.PRESETS.get("coursera-tf2").get("content_weight", 10.0)
    with pytest.raises(errors.ConfigError, match="unknown preset 'nope'"):
        form.preset_settings("nope")


def test_the_samples_are_the_images_folders_pictures():
    samples = form.list_samples()
    assert {"village.jpg", "swirls.jpg", "mosaic.jpg"} <= set(samples)
    assert all(path.parent == config_module.IMAGES_DIR for path in samples.values())
    assert "README.md" not in samples and "generate_samples.py" not in samples


def test_the_run_config_is_the_preset_with_the_pages_values(tmp_path):
    settings = page_settings(preset="tf-tutorial", content_weight=5.0, image_size=64.0, iterations=4.0,
                             print_every=1.0, optimizer="lbfgs", precision="bfloat16", preserve_colors="luminance",
                             style_blend_weights="0.7, 0.3")
    config = form.run_config(settings, "c.png", ["a.png", "b.png"], tmp_path / "runs", weights="random")
    assert config.content_weight == 5.0 and config.image_size == 64 and isinstance(config.image_size, int)
    assert (config.iterations, config.print_every, config.optimizer, config.precision, config.preserve_colors) == (
        4, 1, "lbfgs", "bfloat16", "luminance")
    assert config.style_blend_weights == pytest.approx((0.7, 0.3)) and config.style_image == ("a.png", "b.png")
    assert config.weights == "random" and config.output_dir == str(tmp_path / "runs")
    assert config.sizing == "tf_tutorial" and config.total_variation_weight == 30.0  # the rest is the preset's


def test_without_weights_a_preset_keeps_its_own():
    config = form.run_config(page_settings(preset="coursera-tf2"), "c.png", ["s.png"], "out")
    assert config.weights == "keras"


@pytest.mark.parametrize("changes, styles, message", [
    ({"image_size": 2000}, 1, "Image size 2000 is above this server's limit of 1024"),
    ({"iterations": 6000}, 1, "Iterations 6000 is above this server's limit of 5000"),
    ({"iterations": None}, 1, "Iterations is empty"),
    ({"image_size": 64.5}, 1, "image_size must be a whole number"),
    ({"content_weight": None}, 1, "Content weight is empty"),
    ({"style_weight": -1.0}, 1, r"beta must be at least 0, got -1.0 \(the config.s style_weight\)"),
    ({"style_blend_weights": "0.7"}, 2, "1 blend weights for 2 style images"),
    ({"style_blend_weights": "a, b"}, 2, "blend weights must be numbers"),
    ({"optimizer": "sgd"}, 1, "optimizer must be one of adam, lbfgs"),
])
def test_values_that_cannot_be_used_are_refused_by_name(changes, styles, message):
    with pytest.raises(errors.ConfigError, match=message):
        form.run_config(page_settings(**changes), "c.png", ["s.png"] * styles, "out", max_image_size=1024,
                        max_iterations=5000)
