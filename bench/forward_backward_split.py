"""Forward and input-gradient halves of one iteration timed apart, in GFLOP/s (float32, 400×300, random weights).

Usage: python bench/forward_backward_split.py
"""

import os
import statistics
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from nst import vgg  # noqa: E402
from nst import weights  # noqa: E402

LAYERS = ["conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv4_2", "conv5_1"]
# The extractor pools with its default border ('drop'), so the GFLOP count does too.
FORWARD_GFLOP = vgg.convolution_gflop(400, 300, "conv5_1", pooling_border="drop")


def median_seconds(function, image, repeats=6):
    function(image).numpy()  # trace and warm up
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        function(image).numpy()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def main():
    extractor = vgg.FeatureExtractor(LAYERS, weights.random_weights(0))
    image = tf.constant(np.random.default_rng(0).uniform(0, 255, (1, 300, 400, 3)).astype(np.float32))
    forward = tf.function(lambda batch: tf.add_n([tf.reduce_sum(value) for value in extractor(batch).values()]))

    @tf.function
    def forward_and_gradient(batch):
        with tf.GradientTape() as tape:
            tape.watch(batch)
            total = tf.add_n([tf.reduce_sum(tf.square(value)) for value in extractor(batch).values()])
        return tape.gradient(total, batch)

    forward_seconds = median_seconds(forward, image)
    both_seconds = median_seconds(forward_and_gradient, image)
    backward_seconds = both_seconds - forward_seconds
    print(f"forward {forward_seconds:.3f} s ({FORWARD_GFLOP / forward_seconds:.0f} GFLOP/s); "
          f"forward and input gradient {both_seconds:.3f} s ({2 * FORWARD_GFLOP / both_seconds:.0f} GFLOP/s); "
          f"input gradient alone {backward_seconds:.3f} s ({FORWARD_GFLOP / backward_seconds:.0f} GFLOP/s)")


if __name__ == "__main__":
    main()
