"""nst.transfer: several styles, colour preservation, masks, style scale, layer tilt, conventions."""

import numpy as np
import PIL.Image
import pytest

from nst import colors
from nst import config as config_module
from nst import images
from nst import transfer

SIZE = (40, 32)


def picture(seed, size=SIZE, low=0, high=256):
    pixels = np.random.default_rng(seed).integers(low, high, (size[1], size[0], 3), dtype=np.uint8)
    return PIL.Image.fromarray(pixels)


@pytest.fixture
def paths(tmp_path):
    names = {}
    for name, seed in [("content", 0), ("style", 1), ("other_style", 2)]:
        names[name] = str(tmp_path / f"{name}.png")
        picture(seed).save(names[name])
    return names


def stylized(paths, **changes):
    fields = dict(content_image=paths["content"], style_image=paths["style"], weights="random", image_size=40,
                  epochs=4, print_every=4) | changes
    config = config_module.StyleTransferConfig(**fields)
    return transfer.transfer_style(config, transfer.prepare(config)).image


def test_blend_one_zero_equals_the_first_style_alone(paths):
    alone = stylized(paths)
    blended = stylized(paths, style_image=f"{paths['style']},{paths['other_style']}", style_blend_weights="1,0")
    np.testing.assert_array_equal(alone, blended)


def _start_costs(paths, **changes):
    """The costs of one fixed image (the content) under the config's cost function."""
    fields = dict(content_image=paths["content"], style_image=paths["style"], weights="random", image_size=40) | changes
    config = config_module.StyleTransferConfig(**fields)
    prepared = transfer.prepare(config)
    extractor = transfer.build_extractor(config, prepared)
    inputs = transfer.scale_inputs(config, prepared, config.image_size)
    cost_function = transfer.build_cost_function(config, extractor, inputs)
    values = cost_function.space.from_pixels(inputs.network_content)[np.newaxis]
    return {name: float(value) for name, value in cost_function(values.astype(np.float32)).items()}


def test_blend_weights_mix_the_styles_costs_linearly(paths):
    """Known value: the style cost of a 0.7/0.3 blend is 0.7·(first's) + 0.3·(second's)."""
    first = _start_costs(paths)["style"]
    second = _start_costs(paths, style_image=paths["other_style"])["style"]
    mixed = _start_costs(paths, style_image=f"{paths['style']},{paths['other_style']}", style_blend_weights="0.7,0.3")
    assert first != pytest.approx(second, rel=1e-2)  # two different styles, or the check below proves nothing
    assert mixed["style"] == pytest.approx(0.7 * first + 0.3 * second, rel=1e-5)


def test_blend_weights_are_normalised():
    config = config_module.StyleTransferConfig(content_image="c", style_image="a.jpg,b.jpg,c.jpg",
                                               style_blend_weights=(2, 1, 1))
    assert config.style_blend_weights == (0.5, 0.25, 0.25)
    assert config_module.StyleTransferConfig(content_image="c", style_image="a,b").style_blend_weights == (0.5, 0.5)


def test_luminance_mode_keeps_the_contents_chrominance(tmp_path, paths):
    # Mid-range colours, so that clipping to 0–255 at the end cannot move the chrominance.
    picture(3, low=90, high=170).save(tmp_path / "mild.png")
    result = stylized(paths, content_image=str(tmp_path / "mild.png"), preserve_colors="luminance")
    content = images.to_array(images.resize_to_size(images.read_image(tmp_path / "mild.png"), SIZE))
    output = images.to_array(images.to_pil(result))  # what is saved: clipped and rounded to 8 bits
    chrominance = colors.rgb_to_yiq(output)[..., 1:]
    np.testing.assert_allclose(chrominance, colors.rgb_to_yiq(content)[..., 1:], atol=1.0)
    assert np.abs(colors.rgb_to_yiq(output)[..., 0] - colors.rgb_to_yiq(content)[..., 0]).max() > 1.0


def test_histogram_mode_gives_the_style_the_contents_colour_statistics(tmp_path):
    """What the network is asked to match: a style whose RGB mean and covariance are the content's."""
    # Mild colours, so the linear colour map keeps every pixel inside 0–255 and nothing is clipped.
    picture(4, low=100, high=200).save(tmp_path / "content.png")
    picture(5, low=20, high=120).save(tmp_path / "style.png")
    config = config_module.StyleTransferConfig(content_image=str(tmp_path / "content.png"),
                                               style_image=str(tmp_path / "style.png"), weights="random",
                                               image_size=40, preserve_colors="histogram")
    inputs = transfer.scale_inputs(config, transfer.prepare(config), config.image_size)
    style = inputs.style_targets[0].pixels.reshape(-1, 3).astype(np.float64)
    content = inputs.content_pixels.reshape(-1, 3).astype(np.float64)
    assert style.min() > 0 and style.max() < 255  # nothing clipped
    np.testing.assert_allclose(style.mean(axis=0), content.mean(axis=0), atol=1e-3)
    np.testing.assert_allclose(np.cov(style.T), np.cov(content.T), rtol=1e-4, atol=2e-2)
    plain = transfer.scale_inputs(config.replace(preserve_colors="none"), transfer.prepare(config), 40)
    assert np.abs(plain.style_targets[0].pixels.mean(axis=(0, 1)) - content.mean(axis=0)).max() > 5  # it did change


def test_masked_out_region_stays_the_content(tmp_path, paths):
    mask = np.zeros((SIZE[1], SIZE[0]), np.uint8)
    mask[:, SIZE[0] // 2:] = 255  # stylise the right half only
    PIL.Image.fromarray(mask).resize((80, 64)).save(tmp_path / "mask.png")  # wrong size: resized
    result = stylized(paths, content_mask=str(tmp_path / "mask.png"))
    content = images.to_array(images.read_image(paths["content"]))
    # Resizing the mask rings over a few pixels (Lanczos): compare away from the edge.
    np.testing.assert_allclose(result[:, : SIZE[0] // 2 - 3], content[:, : SIZE[0] // 2 - 3], atol=1e-3)
    assert np.abs(result[:, SIZE[0] // 2 + 1:] - content[:, SIZE[0] // 2 + 1:]).max() > 1.0


def test_style_masks_put_each_style_in_its_region(tmp_path, paths):
    PIL.Image.new("L", SIZE, 255).save(tmp_path / "everywhere.png")
    PIL.Image.new("L", SIZE, 0).save(tmp_path / "nowhere.png")
    only_first = stylized(paths, style_image=f"{paths['style']},{paths['other_style']}",
                          style_masks=f"{tmp_path / 'everywhere.png'},{tmp_path / 'nowhere.png'}")
    # A mask resized to an odd layer size is 1 only to float precision: Adam's sign-like first steps can
    # amplify that in a few pixels, by thousandths of a gray level.
    np.testing.assert_allclose(only_first, stylized(paths), rtol=1e-5, atol=1e-2)


def test_style_scale_sizes_the_style_image(paths):
    config = config_module.StyleTransferConfig(content_image=paths["content"], style_image=paths["style"],
                                               weights="random", image_size=40, style_scale=0.5)
    inputs = transfer.scale_inputs(config, transfer.prepare(config), config.image_size)
    assert inputs.content_pixels.shape == (32, 40, 3) and inputs.style_targets[0].pixels.shape == (16, 20, 3)


def test_layer_tilt_weights_each_layers_style_cost(paths):
    """The tilted style cost is Σ w_l·J_l with the tilted weights, J_l computed here from the activations."""
    from nst import loss_conventions

    layers = "conv1_1:1,conv2_1:1,conv3_1:1"
    config = config_module.StyleTransferConfig(content_image=paths["content"], style_image=paths["style"],
                                               weights="random", image_size=40, style_layers=layers,
                                               style_layer_weight_exp=3.0)
    prepared = transfer.prepare(config)
    inputs = transfer.scale_inputs(config, prepared, config.image_size)
    extractor = transfer.build_extractor(config, prepared)
    generated = extractor(inputs.content_pixels[np.newaxis])
    style = extractor(inputs.style_targets[0].pixels[np.newaxis])
    per_layer = [float(loss_conventions.COURSERA.layer_style_cost(style[name], generated[name]))
                 for name in ("conv1_1", "conv2_1", "conv3_1")]
    tilted = [3 / 13, 9 / 13, 27 / 13]  # 1, 3, 9 rescaled to the sum 3
    assert _start_costs(paths, style_layers=layers, style_layer_weight_exp=3.0)["style"] == pytest.approx(
        sum(weight * cost for weight, cost in zip(tilted, per_layer)), rel=1e-5)


def test_layer_weight_exp_tilts_and_keeps_the_sum():
    config = config_module.StyleTransferConfig(content_image="c", style_image="s", style_layer_weight_exp=2.0,
                                               style_layers="conv1_1:1,conv2_1:1,conv3_1:1")
    weights = [weight for _, weight in config.effective_style_layers]
    assert weights == pytest.approx([3 / 7, 6 / 7, 12 / 7])
    assert sum(weights) == pytest.approx(3.0)


def _gram(activations):
    flat = activations.reshape(-1, activations.shape[-1]).astype(np.float64)
    return flat.T @ flat


def _numpy_content_cost(convention, content, generated):
    """Each convention's content cost, written from its definition in NumPy."""
    squared = (content.astype(np.float64) - generated) ** 2
    return squared.sum() / (4 * squared.size) if convention == "coursera" else squared.mean()


def _numpy_style_cost(convention, style, generated):
    """Each convention's style cost of one layer (same-size images), written from its definition in NumPy."""
    locations, channels = generated.shape[1] * generated.shape[2], generated.shape[3]
    difference = _gram(generated) - _gram(style)
    if convention == "coursera":
        return (difference**2).sum() / (4 * channels**2 * locations**2)
    if convention == "tf_tutorial":
        return ((difference / locations) ** 2).mean()
    if convention == "pytorch":
        return (difference**2).mean() / (channels * locations)
    return ((difference / (channels * locations)) ** 2).mean()  # jcjohnson


@pytest.mark.parametrize("convention", ["coursera", "tf_tutorial", "pytorch", "jcjohnson"])
def test_every_loss_convention_is_the_one_computed_and_lowered(paths, convention):
    config = config_module.StyleTransferConfig(content_image=paths["content"], style_image=paths["style"],
                                               weights="random", image_size=40, epochs=5, print_every=5,
                                               loss_convention=convention, optimizer="lbfgs", init="random",
                                               content_layer="conv2_1", style_layers="conv1_1:1")
    snapshots = []
    from nst import optimize

    prepared = transfer.prepare(config)
    transfer.transfer_style(config, prepared, optimize.Callbacks(on_snapshot=snapshots.append))
    inputs = transfer.scale_inputs(config, prepared, config.image_size)
    extractor = transfer.build_extractor(config, prepared)
    start = extractor(snapshots[0].image[np.newaxis])
    content = extractor(inputs.content_pixels[np.newaxis])["conv2_1"].numpy()
    style = extractor(inputs.style_targets[0].pixels[np.newaxis])["conv1_1"].numpy()
    assert snapshots[0].costs.content == pytest.approx(
        _numpy_content_cost(convention, content, start["conv2_1"].numpy()), rel=1e-4)
    assert snapshots[0].costs.style == pytest.approx(
        _numpy_style_cost(convention, style, start["conv1_1"].numpy()), rel=1e-4)
    assert snapshots[-1].costs.total < snapshots[0].costs.total


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"style_image": "a,b", "style_blend_weights": "1,2,3"}, "3 weights for 2 style images"),
        ({"style_image": "a,b", "style_blend_weights": "1,-1"}, "style blend weight must be at least 0"),
        ({"style_image": "a,b", "style_blend_weights": "0,0"}, "all zero"),
        ({"style_image": "a,b", "style_masks": "m.png"}, "1 masks for 2 style images"),
        ({"style_scale": 0}, "style_scale must be a positive"),
        ({"preserve_colors": "sepia"}, "preserve_colors must be one of"),
        ({"loss_convention": "keras"}, "loss_convention must be one of"),
        ({"style_layer_weight_exp": -1}, "style_layer_weight_exp must be at least 0"),
    ],
)
def test_bad_artistic_settings_are_refused(changes, message):
    with pytest.raises(config_module.ConfigError, match=message):
        config_module.StyleTransferConfig(**({"content_image": "c", "style_image": "s"} | changes))


def test_a_mask_that_is_not_an_image_is_refused(tmp_path, paths):
    (tmp_path / "mask.png").write_text("not a mask")
    config = config_module.StyleTransferConfig(content_image=paths["content"], style_image=paths["style"],
                                               weights="random", content_mask=str(tmp_path / "mask.png"))
    with pytest.raises(images.ImageError, match="mask.png: not an image"):
        transfer.prepare(config)


def test_bfloat16_gives_an_image_close_to_float32(paths):
    full = stylized(paths, epochs=6, init="content")
    half = stylized(paths, epochs=6, init="content", precision="bfloat16")
    difference = np.abs(full - half)
    assert 0 < difference.mean() < 2.0  # gray levels, after 6 Adam steps of 2 levels each
    assert difference.max() < 12.0
