"""Stylising a clip frame by frame, each frame held to the one before (Ruder et al. 2016); reports through callbacks.

Frame 1 is stylised as an image is, from config.init, at every scale. Each later frame gets the
optical flow to the frame before it (computed on the content frames), and then, by
config.frame_init, starts from the previous stylised frame warped along that flow ('warped') or
from config.init like the first ('independent', the flickering baseline). With a temporal weight,
its cost adds the temporal cost: the squared difference to that warped frame, weighted by Ruder et
al.'s reliability c, which is 0 where the flow cannot be trusted (disocclusions, motion boundaries,
pixels come into view). Writes no files: nst.video.runs keeps the folder.
"""

import contextlib
import dataclasses
import logging
import time
from collections.abc import Callable

import numpy as np
import tensorflow as tf

from nst import images
from nst import optimize
from nst import sizing
from nst import temporal as temporal_module
from nst import transfer
from nst.video import consistency
from nst.video import flow as flow_module
from nst.video import metrics

RELIABLE = 0.5  # a pixel whose weight c reaches this counts as reliable in the record


@dataclasses.dataclass(frozen=True)
class FrameStart:
    """A frame about to be optimised: its 0-based index, how it starts and its iterations (all scales)."""

    index: int
    init: str  # 'warped', or the config's init
    iterations: int
    flow_seconds: float  # spent on its flow and weights, before the optimisation


@dataclasses.dataclass(frozen=True)
class FrameResult:
    """A stylised frame: the optimisation's result, the frame as saved, and its measurements."""

    index: int
    result: optimize.OptimizationResult  # image: presented (colours, mask); raw_image: what was optimised
    pixels: np.ndarray  # H×W×3 uint8: the frame as it is saved (the config's rounding)
    init: str
    flow_seconds: float
    seconds: float  # the whole frame: flow, set-up and optimisation
    warping_error: float | None = None  # of this frame and the one before it (None for the first)
    reliable_share: float | None = None  # share of pixels whose temporal weight c is at least RELIABLE


@dataclasses.dataclass(frozen=True)
class ClipCallbacks:
    """How the clip loop talks to its caller. on_frame may raise (a file that cannot be written) to stop."""

    on_frame_start: Callable | None = None  # (FrameStart)
    on_iteration: Callable | None = None  # (frame index, iteration, Costs)
    on_snapshot: Callable | None = None  # (frame index, optimize.Snapshot)
    on_frame: Callable | None = None  # (FrameResult), after each finished frame
    should_stop: Callable | None = None  # () -> bool

    def frame_callbacks(self, index):
        """optimize.Callbacks for the optimisation of frame index."""
        def on_iteration(iteration, costs):
            if self.on_iteration:
                self.on_iteration(index, iteration, costs)

        def on_snapshot(snapshot):
            if self.on_snapshot:
                self.on_snapshot(index, snapshot)

        return optimize.Callbacks(on_iteration, on_snapshot, self.should_stop)

    def stop_requested(self):
        return bool(self.should_stop and self.should_stop())


@dataclasses.dataclass(frozen=True)
class ClipPosition:
    """Where a clip (re)starts: the next frame's index and what it needs of the frame before (None at the start)."""

    next_frame: int = 0
    previous_raw: np.ndarray | None = None  # the optimised image (RGB pixels) of frame next_frame − 1
    previous_pixels: np.ndarray | None = None  # that frame as saved (H×W×3 uint8), for the warping error


@dataclasses.dataclass(frozen=True)
class ClipResult:
    """How the loop ended: the frames done (counting those done before a resume), and why it stopped, if it did."""

    frames_done: int
    interrupted: bool = False
    stop_reason: str | None = None  # a cost became non-finite in this frame (0-based index in the text + 1)


def frame_config(config, index):
    """The StyleTransferConfig that frame index (0-based) is optimised with.

    Frame 1 is the clip's config. Later frames make config.frame_iterations iterations; with
    frame_init 'warped' at the full size only (scales=1): the coarse scales exist to give the
    fine one a good start, and the warped previous frame is a better one, at full resolution.
    With 'independent' they run every scale from config.init, with the seed plus their index, so
    that each frame's noise is fresh.
    """
    if index == 0:
        return config
    if config.frame_init == "warped":
        return config.replace(scales=1, iterations=config.frame_iterations)
    return config.replace(iterations=config.frame_iterations, seed=config.seed + index)


def frame_content(config, frame):
    """A clip's frame (H×W×3 uint8) at the size it is stylised at (the config's sizing rule), float32 RGB pixels."""
    return sizing.content_pixels(images.to_pil(frame), config.sizing, config.image_size)


def temporal_inputs(config, previous_content, content, previous_raw):
    """(FlowPair, TemporalTarget, its start image) of a frame after the first, from the frame before it.

    The previous optimised image, clipped to the pixel range, is warped onto this frame along the
    backward flow (this frame → the previous); its reliability c comes from the forward–backward
    check of both flows and from their motion boundaries (nst.video.consistency.reliability).
    """
    flows = flow_module.flow_pair(previous_content, content)
    warped = flow_module.warp(np.clip(previous_raw, *optimize.PIXEL_RANGE), flows.backward)
    weights = consistency.reliability(flows.backward, flows.forward)
    return flows, temporal_module.TemporalTarget(warped, weights, config.temporal_weight)


def _saved_pixels(config, image):
    return np.asarray(images.to_pil(image, config.save_rounding))


def _stylise_frame(config, prepared, extractor, frame, previous, callbacks, index):
    """Optimises one frame; returns (FrameResult, its content pixels), or (OptimizationResult, None) when it stopped."""
    started = time.perf_counter()
    content = frame_content(config, frame)
    this_config, flows, target, start = frame_config(config, index), None, None, None
    if index > 0:
        flows, target = temporal_inputs(config, previous.content, content, previous.raw)
        start = target.warped if config.frame_init == "warped" else None
    init = "warped" if start is not None else this_config.init
    flow_seconds = time.perf_counter() - started
    if callbacks.on_frame_start:
        callbacks.on_frame_start(FrameStart(index, init, this_config.total_iterations, flow_seconds))
    frame_prepared = dataclasses.replace(prepared, content_image=images.to_pil(frame))
    temporal = target if target is not None and config.temporal_weight > 0 else None
    result = transfer.transfer_style(this_config, frame_prepared, callbacks.frame_callbacks(index), None, start,
                                     temporal, extractor)
    if result.interrupted or result.stop_reason:
        return result, None
    pixels = _saved_pixels(config, result.image)
    error = reliable = None
    if flows is not None:
        error = metrics.pair_warping_error(previous.pixels, pixels, flows)
        reliable = float(np.mean(target.reliability >= RELIABLE))
    frame_result = FrameResult(index, result, pixels, init, flow_seconds, time.perf_counter() - started, error,
                               reliable)
    return frame_result, content


@dataclasses.dataclass
class _Previous:
    content: np.ndarray | None = None
    raw: np.ndarray | None = None
    pixels: np.ndarray | None = None


class _NoRetracingWarning(logging.Filter):
    """Drops TensorFlow's warning that a tf.function was traced again.

    Each frame's cost holds that frame's own constants (its content, the warped frame before it),
    so each frame traces its step once: expected, and a second or so against the frame's many
    iterations. The warning would otherwise appear among the progress lines from frame 5 on.
    """

    def filter(self, record):
        return "triggered tf.function retracing" not in record.getMessage()


@contextlib.contextmanager
def _expected_retracing():
    logger, quiet = tf.get_logger(), _NoRetracingWarning()
    logger.addFilter(quiet)
    try:
        yield
    finally:
        logger.removeFilter(quiet)


def stylise_clip(config, prepared, clip, callbacks=ClipCallbacks(), position=ClipPosition()):
    """Stylises clip's frames from position.next_frame on; returns a ClipResult.

    prepared: the transfer.PreparedRun of the clip (its styles, masks and weights; any frame as
    the content). Each finished frame goes to callbacks.on_frame; a stop request ends the loop
    after the current iteration, and the unfinished frame is dropped (a resumed clip starts it
    again: frames are deterministic, so it comes out the same).
    """
    with _expected_retracing():
        return _stylise_frames(config, prepared, clip, callbacks, position)


def _stylise_frames(config, prepared, clip, callbacks, position):
    extractor = transfer.build_extractor(config, prepared)
    first = position.next_frame
    previous = _Previous(None, position.previous_raw, position.previous_pixels)
    for index, frame in enumerate(clip.frames(max(first - 1, 0)), start=max(first - 1, 0)):
        if index < first:  # the frame before a resumed one: only its content is needed, for the flow
            previous.content = frame_content(config, frame)
            continue
        outcome, content = _stylise_frame(config, prepared, extractor, frame, previous, callbacks, index)
        if content is None:
            return ClipResult(index, outcome.interrupted, outcome.stop_reason and f"frame {index + 1}: "
                                                                                  f"{outcome.stop_reason}")
        if callbacks.on_frame:
            callbacks.on_frame(outcome)
        previous = _Previous(content, outcome.result.resume_image, outcome.pixels)
        if callbacks.stop_requested() and index + 1 < clip.frame_count:
            return ClipResult(index + 1, interrupted=True)
    return ClipResult(clip.frame_count)
