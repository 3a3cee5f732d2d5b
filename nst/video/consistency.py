"""Where a flow can be trusted: Ruder et al.'s per-pixel weights for the temporal cost, Lai et al.'s occlusion mask.

Both mark a pixel as occluded when the forward and the backward flow disagree (the forward–backward
check) or when it lies on a motion boundary, with the same thresholds (Sundaram et al. 2010, as Ruder
et al. 2016 use them). They differ in their details, which each keeps here as its authors' code has
them: Ruder's weights are for the cost and are soft and eroded; Lai's mask is for the warping error
metric and is binary.
"""

import cv2
import numpy as np

from nst.video import flow as flow_module

# |w + ŵ|² > CHECK_RELATIVE·(|w|² + |ŵ|²) + CHECK_ABSOLUTE: the two flows disagree.
CHECK_RELATIVE = 0.01
CHECK_ABSOLUTE = 0.5
# |∇u|² + |∇v|² > BOUNDARY_RELATIVE·|w|² + BOUNDARY_ABSOLUTE: a motion boundary.
BOUNDARY_RELATIVE = 0.01
BOUNDARY_ABSOLUTE = 0.002
# Ruder's consistencyChecker smooths its 0/255 image with CSmooth(0.8, 2.0): a Gaussian of σ 0.8 pixels
# cut at 2σ (5 taps).
SMOOTHING_SIGMA = 0.8
SMOOTHING_RADIUS = 2


def _bilinear(values, x, y):
    """values (H×W×C) sampled bilinearly at float positions (x, y), indices clamped to the frame."""
    height, width = values.shape[:2]
    left, top = np.floor(x).astype(np.int64), np.floor(y).astype(np.int64)
    across, down = (x - left)[..., None], (y - top)[..., None]
    left0, right = np.clip(left, 0, width - 1), np.clip(left + 1, 0, width - 1)
    top0, bottom = np.clip(top, 0, height - 1), np.clip(top + 1, 0, height - 1)
    upper = (1 - across) * values[top0, left0] + across * values[top0, right]
    lower = (1 - across) * values[bottom, left0] + across * values[bottom, right]
    return (1 - down) * upper + down * lower


def _squared_norm(flow):
    return (flow**2).sum(axis=-1)


def _disagree(flow, returned):
    """The forward–backward check: flow there and the opposite flow back do not cancel."""
    return _squared_norm(flow + returned) > CHECK_RELATIVE * (_squared_norm(flow) + _squared_norm(returned)) \
        + CHECK_ABSOLUTE


def reliability(backward, forward):
    """Ruder et al.'s weights c (H×W float32 in [0, 1]) of the temporal cost of frame i, on frame i's grid.

    backward: the flow i → i−1 (the one the previous stylised frame is warped with); forward: i−1 → i.
    As Ruder's consistencyChecker.cpp computes them: with w = backward(x) and ŵ = forward(x + w)
    (bilinear), a pixel whose sample point leaves the frame gets 0; one that fails the
    forward–backward check (|w + ŵ|² ≥ 0.01(|w|² + |ŵ|²) + 0.5: disoccluded) gets −255; one on a
    motion boundary of w (central differences) gets 0; the rest 255. The image is smoothed by a
    Gaussian (σ 0.8) and clipped to [0, 255]: the −255 erodes the reliable region by about a pixel
    around occlusions and c is soft at edges. Departure from the C++ code: its bounds test also
    counts sample points in the last row and column as outside (x + 1 ≥ W), which zeroes the right
    and bottom borders of a still scene; here only points beyond the frame's last pixel are outside.
    """
    backward, forward = np.asarray(backward, np.float64), np.asarray(forward, np.float64)
    height, width = backward.shape[:2]
    columns, rows = np.meshgrid(np.arange(width, dtype=np.float64), np.arange(height, dtype=np.float64))
    x, y = columns + backward[..., 0], rows + backward[..., 1]
    outside = (x < 0) | (x > width - 1) | (y < 0) | (y > height - 1)
    returned = _bilinear(forward, x, y)
    # ≥ here, as in the C++ code (Lai et al.'s code has >).
    disoccluded = _squared_norm(backward + returned) >= CHECK_RELATIVE * (
        _squared_norm(backward) + _squared_norm(returned)) + CHECK_ABSOLUTE
    values = np.full((height, width), 255.0)
    values[motion_boundaries(backward, "central")] = 0.0
    values[disoccluded] = -255.0
    values[outside] = 0.0
    return (np.clip(_smoothed(values), 0.0, 255.0) / 255.0).astype(np.float32)


def _smoothed(values):
    taps = np.arange(-SMOOTHING_RADIUS, SMOOTHING_RADIUS + 1)
    kernel = np.exp(-(taps**2) / (2 * SMOOTHING_SIGMA**2))
    kernel /= kernel.sum()
    return cv2.sepFilter2D(values, cv2.CV_64F, kernel, kernel, borderType=cv2.BORDER_REFLECT)


def motion_boundaries(flow, differences="central"):
    """True where |∇u|² + |∇v|² > 0.01·|w|² + 0.002 (H×W bool).

    differences: 'central' ([−½, 0, ½], Ruder's CDerivative(3), borders mirrored) or 'forward'
    (a pixel minus its right and lower neighbours, 0 in the last column and row: Lai et al.'s code).
    """
    flow = np.asarray(flow, np.float64)
    gradients = []
    for channel in (flow[..., 0], flow[..., 1]):
        if differences == "central":
            kernel = np.array([[-0.5, 0.0, 0.5]])
            gradients += [cv2.filter2D(channel, cv2.CV_64F, kernel, borderType=cv2.BORDER_REFLECT),
                          cv2.filter2D(channel, cv2.CV_64F, kernel.T, borderType=cv2.BORDER_REFLECT)]
        else:
            across, down = np.zeros_like(channel), np.zeros_like(channel)
            across[:, :-1] = channel[:, :-1] - channel[:, 1:]
            down[:-1, :] = channel[:-1, :] - channel[1:, :]
            gradients += [across, down]
    squared_gradient = sum(gradient**2 for gradient in gradients)
    return squared_gradient > BOUNDARY_RELATIVE * _squared_norm(flow) + BOUNDARY_ABSOLUTE


def occlusion(forward, backward):
    """Lai et al.'s (2018) occlusion mask (H×W bool, True = occluded) on frame t's grid, for the warping error.

    forward: the flow t → t+1; backward: t+1 → t. As their compute_flow_occlusion.py computes it: the
    forward–backward check with the backward flow warped onto frame t (sample points clamped to the
    frame, so pixels that leave the frame are not marked), or a motion boundary of the forward flow
    by forward differences. Binary, neither smoothed nor eroded.
    """
    forward = np.asarray(forward, np.float32)
    returned = flow_module.warp(backward, forward).astype(np.float64)
    return _disagree(forward.astype(np.float64), returned) | motion_boundaries(forward, "forward")
