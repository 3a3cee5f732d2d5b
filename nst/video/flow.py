"""Optical flow between two frames with OpenCV's DIS (Kroeger et al. 2016), and backward warping along a flow.

Convention: flow[y, x] = (dx, dy) says that pixel (x, y) of the first frame is seen at (x + dx, y + dy)
in the second ("the flow first → second", on the first frame's grid). warp(second, flow) then
brings the second frame onto the first one's grid. For the temporal cost of frame i, the previous
stylised frame is warped with the backward flow i → i−1, as Ruder et al. (2016) do.
"""

import dataclasses

import cv2
import numpy as np

# Ruder et al. used DeepFlow. DIS is orders of magnitude faster and, with these settings, within
# 0.15 px of the true flow on pans, zooms and a moving object (tests/video/test_flow.py): OpenCV's
# MEDIUM preset refined down to the full resolution (finest scale 0; the preset stops at half
# resolution) with 10 variational refinement iterations (the preset's 5 gain nothing at scale 0 but
# stability). Larger patches lower the pyramid's depth and miss motions of 20 px and more.
DIS_PRESET = cv2.DISOPTICAL_FLOW_PRESET_MEDIUM
DIS_FINEST_SCALE = 0
DIS_REFINEMENT_ITERATIONS = 10


@dataclasses.dataclass(frozen=True)
class FlowPair:
    """The flows between consecutive frames t and t+1, each on its own frame's grid (H×W×2 float32)."""

    forward: np.ndarray  # t → t+1, on frame t's grid
    backward: np.ndarray  # t+1 → t, on frame t+1's grid


def gray_frame(pixels):
    """An H×W×3 RGB frame (uint8, or float 0–255) as the 8-bit grey image DIS takes."""
    pixels = np.asarray(pixels)
    if pixels.dtype != np.uint8:
        pixels = np.clip(np.rint(pixels), 0, 255).astype(np.uint8)
    return cv2.cvtColor(np.ascontiguousarray(pixels), cv2.COLOR_RGB2GRAY)


def _dis():
    dis = cv2.DISOpticalFlow_create(DIS_PRESET)
    dis.setFinestScale(DIS_FINEST_SCALE)
    dis.setVariationalRefinementIterations(DIS_REFINEMENT_ITERATIONS)
    return dis


def compute_flow(first, second):
    """The flow first → second (H×W×2 float32) between two RGB frames of the same size."""
    # The third argument must be None: an array there is taken as an initial flow, not an output buffer.
    return _dis().calc(gray_frame(first), gray_frame(second), None)


def flow_pair(first, second):
    """FlowPair of two consecutive frames: forward first → second and backward second → first."""
    first_gray, second_gray = gray_frame(first), gray_frame(second)
    dis = _dis()
    return FlowPair(dis.calc(first_gray, second_gray, None), dis.calc(second_gray, first_gray, None))


def sample_positions(flow):
    """(x + dx, y + dy): where each pixel of the flow's grid samples the other frame, float32 maps for cv2.remap."""
    height, width = flow.shape[:2]
    columns, rows = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
    return columns + flow[..., 0], rows + flow[..., 1]


def warp(image, flow):
    """Backward warping: image (on the flow's second frame) sampled along flow onto the flow's first frame.

    Bilinear; samples outside the frame take the nearest border pixel. Ruder et al. fill those with
    the mean pixel instead; either way they carry no weight in the temporal cost (their reliability
    is 0) and are re-stylised. Works on H×W and H×W×C arrays of any float or integer type and returns float32.
    """
    map_x, map_y = sample_positions(np.asarray(flow, np.float32))
    return cv2.remap(np.asarray(image, np.float32), map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def end_point_error(flow, true_flow, where=None):
    """Mean Euclidean distance between two flows (pixels), over the True pixels of where (all by default)."""
    distances = np.linalg.norm(np.asarray(flow, np.float64) - true_flow, axis=-1)
    return float(distances[where].mean() if where is not None else distances.mean())
