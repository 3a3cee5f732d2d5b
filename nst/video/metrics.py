"""How much a stylised clip flickers: the warping error of Lai et al. (2018)."""

import numpy as np

from nst.video import consistency
from nst.video import flow as flow_module


def pair_warping_error(stylised, next_stylised, flows):
    """The warping error of one pair of consecutive stylised frames (H×W×3, uint8 or 0–255 floats).

    flows: the FlowPair of the *content* frames t → t+1 (the stylised frames' own flow would
    follow the flicker). Frame t+1 is warped onto frame t along the forward flow, the squared
    differences of the [0, 1] RGB values are summed over the channels at each pixel and averaged
    over the pixels Lai et al.'s occlusion mask keeps. Lai et al.'s released code divides by the
    channel count as well (a mean over pixels and channels), which gives a third of this number;
    the paper's formula, which this follows, sums the channels. Returns None when every pixel is
    occluded.
    """
    kept = ~consistency.occlusion(flows.forward, flows.backward)
    if not kept.any():
        return None
    current = np.asarray(stylised, np.float64) / 255.0
    warped_next = flow_module.warp(next_stylised, flows.forward).astype(np.float64) / 255.0
    squared = ((warped_next - current) ** 2).sum(axis=-1)
    return float(squared[kept].mean())


def clip_warping_error(pair_errors):
    """The clip's warping error: the mean of its pairs' (None for a clip of one frame)."""
    values = [value for value in pair_errors if value is not None]
    return float(np.mean(values)) if values else None


def warping_error(stylised_frames, content_frames):
    """The warping error of a whole clip, from its stylised and its content frames (same count and size)."""
    pairs = []
    for index in range(len(stylised_frames) - 1):
        flows = flow_module.flow_pair(content_frames[index], content_frames[index + 1])
        pairs.append(pair_warping_error(stylised_frames[index], stylised_frames[index + 1], flows))
    return clip_warping_error(pairs)
