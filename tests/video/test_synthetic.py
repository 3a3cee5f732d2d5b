"""nst.video.synthetic: the clips' stated flow and visibility are the truth the flow and mask tests rely on."""

import numpy as np

from nst.config import IMAGES_DIR
from nst.video import flow
from nst.video import synthetic

PHOTO = IMAGES_DIR / "village.jpg"


def warped_back_difference(clip, t):
    """|frame t − frame t+1 warped along the true flow| on frame t's visible, unmixed pixels (gray levels)."""
    warped = flow.warp(clip.frames[t + 1], clip.forward[t])
    kept = clip.visible_forward[t] & ~clip.mixed_forward[t]
    return np.abs(warped - clip.frames[t].astype(np.float32))[kept]


def test_a_whole_pixel_pan_and_square_warp_back_exactly():
    clip = synthetic.make_clip(PHOTO, (160, 120), 3, pan=(3, -2), square_velocity=(4, 1), square_size=30,
                               square_start=(60, 40))
    for t in range(2):
        assert warped_back_difference(clip, t).max() <= 1  # rounding to 8 bits only
        assert np.all(clip.forward[t][~clip.visible_forward[t] & ~clip.mixed_forward[t]] == (-3, 2))  # covered


def test_sub_pixel_motion_warps_back_within_interpolation_error():
    clip = synthetic.make_clip(PHOTO, (160, 120), 3, pan=(1.37, 0.61), zoom=1.02, square_velocity=(-2.3, 1.7),
                               square_size=30, square_start=(60, 40))
    assert warped_back_difference(clip, 1).mean() < 4  # bilinear against the exact bicubic positions


def test_pans_reveal_the_edge_they_move_towards_and_squares_what_they_leave():
    clip = synthetic.make_clip(PHOTO, (160, 120), 2, pan=(4, 0), square_velocity=(5, 0), square_size=30,
                               square_start=(60, 40))
    revealed = ~clip.visible_backward[0]
    assert revealed[:, -4:][60:].all() and not revealed[:, :-5][:35].any()  # the right edge comes into view
    # The background moved 4 left and the square 5 right: what it hid, frame 2's x = 56…64, is revealed.
    assert revealed[50, 56:65].all() and not revealed[50, 52:55].any() and not revealed[50, 66:90].any()
