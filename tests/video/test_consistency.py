"""nst.video.consistency: Ruder et al.'s weights mark occluded pixels, Lai et al.'s mask marks occlusions by objects."""

import numpy as np
import pytest

from nst.config import IMAGES_DIR
from nst.video import consistency
from nst.video import flow
from nst.video import synthetic

PHOTO = IMAGES_DIR / "village.jpg"


@pytest.fixture(scope="module")
def square_over_pan():
    return synthetic.make_clip(PHOTO, (320, 240), 2, pan=(2.5, 0.8), square_velocity=(-6.0, 3.0), square_size=64,
                               square_start=(180.0, 60.0))


def occluded_and_visible(clip):
    """Pixels of frame 2 unseen in frame 1, and pixels seen there, both away from the square's mixed edges."""
    known = ~clip.mixed_backward[0]
    return ~clip.visible_backward[0] & known, clip.visible_backward[0] & known


def test_with_the_true_flow_every_occluded_pixel_gets_no_weight(square_over_pan):
    clip = square_over_pan
    weights = consistency.reliability(clip.backward[0], clip.forward[0])
    occluded, visible = occluded_and_visible(clip)
    assert occluded.sum() > 1000  # revealed behind the square and come into view at two edges
    assert weights[occluded].max() < 0.5
    assert np.mean(weights[visible] == 1.0) > 0.95  # the rest is trusted, but a pixel or two around occlusions


def test_with_dis_flow_the_occluded_pixels_are_marked(square_over_pan):
    clip = square_over_pan
    pair = flow.flow_pair(clip.frames[0], clip.frames[1])
    weights = consistency.reliability(pair.backward, pair.forward)
    occluded, visible = occluded_and_visible(clip)
    assert np.mean(weights[occluded] < 0.5) > 0.95  # measured 1.000
    assert np.mean(weights[visible] < 0.5) < 0.05  # a band where DIS smears the square's motion (measured 1.5 %)
    assert weights.dtype == np.float32 and weights.min() >= 0 and weights.max() <= 1


def test_weights_are_soft_and_eroded_around_a_disocclusion():
    backward = np.zeros((40, 40, 2), np.float32)
    forward = np.zeros((40, 40, 2), np.float32)
    forward[:, 20:24, 0] = 30.0  # these pixels claim to go far away: the check fails where they are sampled
    weights = consistency.reliability(backward, forward)
    assert weights[20, 21:23].max() == 0.0  # failed the check (−255 before smoothing)
    assert 0 < weights[20, 19] < 1 and weights[20, 16] == 1.0  # the smoothing's edge, then trusted
    assert weights[10, 39] == 1.0 and weights[39, 10] == 1.0  # a still last row and column stay in the frame


def test_motion_boundaries_are_where_the_flow_jumps():
    step = np.zeros((10, 10, 2), np.float32)
    step[:, 5:, 0] = 3.0
    central = consistency.motion_boundaries(step, "central")
    forward = consistency.motion_boundaries(step, "forward")
    assert central[:, 4:6].all() and not central[:, :4].any() and not central[:, 6:].any()
    assert forward[:, 4].all() and not forward[:, 5:].any() and not forward[:, :4].any()


def test_lai_mask_marks_pixels_the_square_covers_but_not_those_leaving_the_frame():
    clip = synthetic.make_clip(PHOTO, (320, 240), 2, pan=(3.0, 0.0), square_velocity=(-12.0, 7.0), square_size=64,
                               square_start=(180.0, 60.0))
    pair = flow.flow_pair(clip.frames[0], clip.frames[1])
    occluded = consistency.occlusion(pair.forward, pair.backward)
    height, width = occluded.shape
    rows, columns = np.mgrid[0:height, 0:width]
    leaving = ((columns + clip.forward[0][..., 0] < 0) | (rows + clip.forward[0][..., 1] < 0))
    covered = ~clip.visible_forward[0] & ~clip.mixed_forward[0] & ~leaving
    assert covered.sum() > 300
    assert np.mean(occluded[covered]) > 0.9
    assert np.mean(occluded[leaving & ~clip.mixed_forward[0]]) < 0.05  # Lai et al. compare them with the border
