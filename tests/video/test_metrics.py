"""nst.video.metrics: the warping error of Lai et al. (2018), checked against noise of known variance."""

import numpy as np
import pytest

from nst.config import IMAGES_DIR
from nst.video import flow
from nst.video import metrics
from nst.video import synthetic


def still_clip(count=4, size=(96, 72)):
    rng = np.random.default_rng(0)
    base = rng.uniform(60, 190, (size[1], size[0], 3))
    return [np.rint(base).astype(np.uint8)] * count


def test_independent_noise_of_each_frame_gives_six_sigma_squared():
    # Frames that differ by independent Gaussian noise (σ in [0, 1] units) on a still scene: each channel's
    # difference has variance 2σ², and the error sums three channels: 6σ².
    content = still_clip()
    sigma = 6.0 / 255
    rng = np.random.default_rng(1)
    stylised = [np.clip(np.rint(frame + rng.normal(0, sigma * 255, frame.shape)), 0, 255).astype(np.uint8)
                for frame in content]
    assert metrics.warping_error(stylised, content) == pytest.approx(6 * sigma**2, rel=0.05)


def test_a_clip_that_follows_its_content_has_almost_no_warping_error():
    # A square moving over a still photo by whole pixels: the warp is exact but for DIS's flow at the square's
    # edges. (Pixels leaving the frame would count: Lai et al.'s mask keeps them, compared with the border.)
    clip = synthetic.make_clip(IMAGES_DIR / "village.jpg", (160, 120), 3, square_velocity=(4, -3), square_size=40,
                               square_start=(50, 50))
    stylised = [255 - frame for frame in clip.frames]  # any per-pixel style of consistent content stays consistent
    assert metrics.warping_error(stylised, clip.frames) < 3e-4  # measured 1.2e-4: noise of σ ≈ 1 gray level
    flicker = [np.clip(frame.astype(int) + (index % 2) * 40, 0, 255).astype(np.uint8)
               for index, frame in enumerate(stylised)]
    assert metrics.warping_error(flicker, clip.frames) > 100 * metrics.warping_error(stylised, clip.frames) + 0.01


def test_pairs_average_into_the_clip_and_one_frame_has_none():
    assert metrics.clip_warping_error([0.1, 0.3, None]) == pytest.approx(0.2)
    assert metrics.clip_warping_error([]) is None and metrics.warping_error(still_clip(1), still_clip(1)) is None


def test_a_pair_sums_the_channels_of_the_kept_pixels():
    content = still_clip(2, (40, 30))
    stylised = [np.zeros((30, 40, 3), np.uint8), np.full((30, 40, 3), 51, np.uint8)]  # 0.2 apart in each channel
    pair = flow.flow_pair(*content)
    assert metrics.pair_warping_error(*stylised, pair) == pytest.approx(3 * 0.2**2, rel=1e-6)
