"""The temporal cost of a video frame (Ruder et al. 2016): masked squared difference to the previous frame, warped."""

import dataclasses

import numpy as np
import tensorflow as tf


def temporal_cost(image_batch, warped_batch, reliability_batch):
    """(1/D)·Σ c·(x − ω)² for 1×H×W×3 tensors x (the image) and ω (the warped previous frame), D = H·W·3.

    reliability_batch: c, 1×H×W×1 in [0, 1] (broadcast over the channels, so each pixel's weight
    counts once per channel). Ruder et al.'s code computes the same value (Torch's MSECriterion on
    √c·x and √c·ω); its gradient there is 2/D·√c·(x − ω), without the chain rule's second √c, which
    differs from the true gradient 2/D·c·(x − ω) on the soft edges of c. TensorFlow differentiates
    this formula, so the gradient is the true one. ω and c are constants: nothing flows back into
    the previous frame or the flow.
    """
    image_batch = tf.convert_to_tensor(image_batch, tf.float32)
    count = tf.cast(tf.size(image_batch), tf.float32)
    return tf.reduce_sum(reliability_batch * tf.square(image_batch - warped_batch)) / count


@dataclasses.dataclass(frozen=True)
class TemporalTarget:
    """What a frame's temporal cost compares it with: the previous stylised frame, warped, and where to trust it."""

    warped: np.ndarray  # H×W×3 RGB pixels 0–255: the previous frame's optimised image, warped along the flow
    reliability: np.ndarray  # H×W in [0, 1]: Ruder et al.'s weights c (nst.video.consistency.reliability)
    weight: float  # the cost's weight, in the optimisation variable's units (StyleTransferConfig.temporal_weight)

    def at_size(self, size):
        """This target at (width, height): area-averaged when smaller (a coarse scale), as it is when the same."""
        height, width = self.reliability.shape
        if (width, height) == tuple(size):
            return self
        resized = [tf.image.resize(values, (size[1], size[0]), method="area", antialias=True).numpy()
                   for values in (self.warped, self.reliability[..., np.newaxis])]
        return TemporalTarget(resized[0], resized[1][..., 0], self.weight)
