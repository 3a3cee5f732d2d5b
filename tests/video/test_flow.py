"""nst.video.flow: DIS optical flow within half a pixel of the truth on clips made from a photo; backward warping."""

import numpy as np
import pytest

from nst.config import IMAGES_DIR
from nst.video import flow
from nst.video import synthetic

PHOTO = IMAGES_DIR / "village.jpg"
SIZE = (320, 240)
MOTIONS = {
    "pan": {"pan": (2.37, 1.61)},
    "fast pan": {"pan": (11.3, -4.2)},
    "zoom in": {"zoom": 1.02},
    "zoom out": {"zoom": 1 / 1.02},
    "square over a pan": {"pan": (1.7, -0.8), "square_velocity": (-6.6, 3.4), "square_start": (200.0, 60.0)},
}


@pytest.mark.parametrize("motion", MOTIONS)
def test_end_point_error_is_under_half_a_pixel_where_the_truth_is_known(motion):
    clip = synthetic.make_clip(PHOTO, SIZE, 3, **MOTIONS[motion])
    for t in range(2):
        pair = flow.flow_pair(clip.frames[t], clip.frames[t + 1])
        forward_known = clip.visible_forward[t] & ~clip.mixed_forward[t]
        backward_known = clip.visible_backward[t] & ~clip.mixed_backward[t]
        assert flow.end_point_error(pair.forward, clip.forward[t], forward_known) < 0.5
        assert flow.end_point_error(pair.backward, clip.backward[t], backward_known) < 0.5
        # Measured: 0.02–0.07 px; the bound is 0.5.
        assert flow.end_point_error(pair.forward, clip.forward[t], forward_known) < 0.15


def test_flow_points_from_the_first_frame_to_the_second():
    first = np.zeros((60, 80, 3), np.uint8)
    first[20:40, 20:40] = 255
    second = np.roll(first, (3, 5), axis=(0, 1))  # the square moves 5 right, 3 down
    forward = flow.compute_flow(first, second)
    assert np.allclose(forward[30, 30], (5, 3), atol=0.3)
    assert np.allclose(flow.warp(second, forward)[22:38, 22:38], first[22:38, 22:38], atol=1)


def test_warp_samples_along_the_flow_and_replicates_the_border():
    image = np.arange(12, dtype=np.float32).reshape(3, 4)
    shift = np.zeros((3, 4, 2), np.float32)
    shift[..., 0] = 1.5  # each pixel samples 1.5 to its right
    warped = flow.warp(image, shift)
    assert warped[0].tolist() == [1.5, 2.5, 3.0, 3.0]  # bilinear, then the last column repeated
    assert warped.dtype == np.float32
    assert flow.gray_frame(np.full((2, 2, 3), 100.4, np.float32)).tolist() == [[100, 100], [100, 100]]
