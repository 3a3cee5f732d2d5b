"""nst.tiling: tiles cover the image once at every layer, and the tiled cost and gradient are the untiled ones."""

import numpy as np
import pytest
import tensorflow as tf

from nst import loss_conventions
from nst import optimize
from nst import tiling
from nst import vgg

STYLE_LAYERS = (("conv1_1", 0.2), ("conv2_1", 0.2), ("conv3_1", 0.2), ("conv4_1", 0.2), ("conv5_1", 0.2))
LAYERS = ("conv4_2", *(name for name, _ in STYLE_LAYERS))


# ---------------------------------------------------------------------------
# Geometry
# ---------------------------------------------------------------------------


def test_the_halo_is_the_receptive_extent_rounded_up_to_the_pooling_grid():
    assert vgg.receptive_extent("conv5_1") == 70  # a 156-pixel receptive field over a 16-pixel cell
    assert vgg.receptive_extent("conv5_4") == 118
    assert tiling.TilePlan.for_image(400, 600, 256, "conv5_1").halo == 80
    assert tiling.TilePlan.for_image(400, 600, 256, "conv5_4").halo == 128
    assert tiling.TilePlan.for_image(400, 600, 256, "conv3_1").halo == 16


def test_tiles_of_600_by_400_at_256():
    plan = tiling.TilePlan.for_image(400, 600, 256, "conv5_1")
    assert [(tile.top, tile.bottom, tile.left, tile.right) for tile in plan.tiles] == [
        (0, 256, 0, 256), (0, 256, 256, 512), (0, 256, 512, 600),
        (256, 400, 0, 256), (256, 400, 256, 512), (256, 400, 512, 600)]
    middle = plan.tiles[1]
    assert (middle.crop_top, middle.crop_bottom, middle.crop_left, middle.crop_right) == (0, 336, 176, 592)
    assert plan.tiles[5].crop_shape == (400 - 176, 600 - 432)


@pytest.mark.parametrize("height, width", [(400, 600), (401, 601), (33, 47), (16, 16)])
@pytest.mark.parametrize("border", ["keep", "drop"])
def test_tile_interiors_cover_every_layer_exactly_once(height, width, border):
    plan = tiling.TilePlan.for_image(height, width, 256 if height > 100 else 16, "conv5_1", border)
    for stride in (1, 2, 4, 8, 16):
        layer_height, layer_width = plan.layer_size(stride)
        rounding = np.ceil if border == "keep" else np.floor
        assert (layer_height, layer_width) == (int(rounding(height / stride)), int(rounding(width / stride)))
        covered = np.zeros((layer_height, layer_width), int)
        for tile in plan.tiles:
            (rows, columns), (own_rows, own_columns) = plan.interior(tile, stride)
            covered[rows, columns] += 1
            # The tile's own activations hold its interior: its crop starts on the grid.
            assert tile.crop_top % 16 == 0 and tile.crop_left % 16 == 0
            own_height, own_width = (np.array(tile.crop_shape) + (stride - 1 if border == "keep" else 0)) // stride
            assert 0 <= own_rows.start < own_rows.stop <= own_height
            assert 0 <= own_columns.start < own_columns.stop <= own_width
        assert (covered == 1).all()


def test_a_thin_last_strip_joins_the_tile_before_it():
    plan = tiling.TilePlan.for_image(260, 100, 128, "conv5_1")
    assert [(tile.top, tile.bottom) for tile in plan.tiles] == [(0, 128), (128, 260)]


# ---------------------------------------------------------------------------
# Exactness
# ---------------------------------------------------------------------------


def smooth_image(height, width, seed):
    """A picture with structure at several scales (random values are too easy: every tile looks alike)."""
    random = np.random.default_rng(seed)
    coarse = random.uniform(0, 255, (height // 16 + 2, width // 16 + 2, 3)).astype(np.float32)
    image = tf.image.resize(coarse[np.newaxis], (height, width), method="bicubic")[0].numpy()
    return np.clip(image + random.normal(0, 12, image.shape), 0, 255).astype(np.float32)


def costs_and_gradient(cost_function, image, tile_size=None):
    compute = optimize.make_cost_and_gradient(cost_function)
    costs, gradient = compute(tf.constant(image[np.newaxis]))
    return {name: float(value) for name, value in costs.items()}, gradient.numpy()[0]


def assert_tiled_equals_untiled(extractor, content, style, image, tile_size=256, cost_tolerance=1e-5,
                                gradient_tolerance=1e-4, **settings):
    untiled = optimize.CostFunction(extractor, content, style, "conv4_2", STYLE_LAYERS, 10.0, 40.0, **settings)
    tiled = optimize.CostFunction(extractor, content, style, "conv4_2", STYLE_LAYERS, 10.0, 40.0,
                                  tile_size=tile_size, **settings)
    expected_costs, expected_gradient = costs_and_gradient(untiled, image)
    costs, gradient = costs_and_gradient(tiled, image)
    for name in expected_costs:
        assert costs[name] == pytest.approx(expected_costs[name], rel=cost_tolerance, abs=1e-30), name
    difference = np.abs(gradient - expected_gradient).max() / np.abs(expected_gradient).max()
    assert difference <= gradient_tolerance, difference
    return difference


@pytest.fixture(scope="module")
def extractors(random_weights):
    return {}


def extractor_for(cache, random_weights, pooling="avg", border="keep", precision="float32"):
    key = (pooling, border, precision)
    if key not in cache:
        cache[key] = vgg.FeatureExtractor(LAYERS, random_weights, pooling, precision, pooling_border=border)
    return cache[key]


# Each pooling rule with each border rule, each loss convention and both sizes, paired up rather
# than multiplied out: the tiles' geometry depends on the size and the border rule, the global
# normalisers on the convention, so every pair meets at least once.
@pytest.mark.parametrize("height, width, pooling, border, convention", [
    (400, 600, "avg", "keep", "coursera"),
    (401, 601, "max", "drop", "tf_tutorial"),
    (401, 601, "avg", "drop", "pytorch"),
    (400, 600, "max", "keep", "jcjohnson"),
    (401, 601, "max", "keep", "coursera"),
])
def test_tiled_cost_and_gradient_equal_the_untiled_ones(extractors, random_weights, height, width, pooling, border,
                                                        convention):
    extractor = extractor_for(extractors, random_weights, pooling, border)
    content, style, image = (smooth_image(height, width, seed) for seed in (1, 2, 3))
    assert_tiled_equals_untiled(extractor, content, style[:300, :380], image, total_variation_weight=0.5,
                                convention=loss_conventions.get_loss_convention(convention))


def test_masks_and_two_styles_tile_exactly(extractors, random_weights):
    extractor = extractor_for(extractors, random_weights, border="keep")
    content, first_style, second_style, image = (smooth_image(401, 601, seed) for seed in (7, 8, 9, 10))
    left = np.zeros((401, 601), np.float32)
    left[:, :250] = 1.0
    left[:, 250:330] = np.linspace(1, 0, 80)  # a soft edge across a tile border
    styles = [optimize.StyleTarget(first_style, 0.5, left), optimize.StyleTarget(second_style[:200, :300], 0.5,
                                                                                 1.0 - left)]
    assert_tiled_equals_untiled(extractor, content, styles, image)


def test_a_video_frames_temporal_cost_tiles_exactly(extractors, random_weights):
    """The temporal term (nst.temporal) is measured on the whole image, so tiling leaves it exact."""
    from nst import temporal

    extractor = extractor_for(extractors, random_weights, border="keep")
    content, style, image, previous = (smooth_image(401, 601, seed) for seed in (14, 15, 16, 17))
    reliability = np.ones((401, 601), np.float32)
    reliability[100:200, 250:400] = 0.0  # an occluded region across a tile border
    target = temporal.TemporalTarget(previous, reliability, 50.0)
    assert_tiled_equals_untiled(extractor, content, style, image, temporal=target, total_variation_weight=0.5)


def test_bfloat16_tiles_within_its_rounding(extractors, random_weights):
    """bfloat16 keeps 8 significant bits: tiles and the whole image round a few values differently."""
    extractor = extractor_for(extractors, random_weights, precision="bfloat16")
    content, style, image = (smooth_image(400, 600, seed) for seed in (11, 12, 13))
    assert_tiled_equals_untiled(extractor, content, style, image, cost_tolerance=1e-3, gradient_tolerance=2e-2)


# ---------------------------------------------------------------------------
# Whole runs
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pictures(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pictures")
    for name, seed in (("content.png", 21), ("style.png", 22)):
        tf.keras.utils.save_img(folder / name, smooth_image(150, 200, seed))
    return folder


def final_image(pictures, **settings):
    from nst import config as config_module
    from nst import transfer

    config = config_module.StyleTransferConfig(
        content_image=str(pictures / "content.png"), style_image=str(pictures / "style.png"), weights="random",
        image_size=200, print_every=100, **settings)
    return transfer.transfer_style(config, transfer.prepare(config)).image


# The gradients agree to about 1e-6 relative, but a run amplifies the last bits in a few pixels: Adam's
# first steps are nearly sign(gradient) × learning rate, so a gradient entry within rounding of zero can
# step either way, and L-BFGS's line search branches on cost comparisons. The whole-image computation
# does the same to itself: compiled with XLA (other kernels, other summation order) the untiled 10-step
# Adam run of this test moves 25 of its 90,000 values by more than half a gray level (at most 2.2), the
# 5-iteration L-BFGS run 1,829 values (at most 10.3). So the bound is on nearly every value, not on the
# few the arithmetic itself cannot settle: tiled runs move 7 values (Adam) and 82 (L-BFGS) past 0.5.
@pytest.mark.parametrize("optimizer, iterations", [("adam", 10), ("lbfgs", 5)])
def test_tiled_and_untiled_runs_paint_the_same_image(pictures, optimizer, iterations):
    untiled = final_image(pictures, optimizer=optimizer, iterations=iterations)
    tiled = final_image(pictures, optimizer=optimizer, iterations=iterations, tile_size=64)
    difference = np.abs(tiled - untiled)
    assert np.percentile(difference, 99.5) <= 0.5
    assert difference.mean() <= 0.01
    assert (difference > 0.5).mean() <= 0.002


def test_a_run_reports_each_tile(pictures):
    from nst import config as config_module
    from nst import transfer

    config = config_module.StyleTransferConfig(
        content_image=str(pictures / "content.png"), style_image=str(pictures / "style.png"), weights="random",
        image_size=200, iterations=1, print_every=100, tile_size=128)
    reported = []
    transfer.transfer_style(config, transfer.prepare(config), optimize.Callbacks(on_tile=reported.append))
    # 200×150 in tiles of 128: 2×2 tiles, each pass of each evaluation (the step and the final costs).
    assert [(progress.pass_number, progress.tile_index) for progress in reported[:8]] == [
        (1, 0), (1, 1), (1, 2), (1, 3), (2, 0), (2, 1), (2, 2), (2, 3)]
    assert {progress.tile_count for progress in reported} == {4}
