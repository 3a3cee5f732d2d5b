"""Checks this tool against the Coursera TF2 assignment's public test: python coursera_check.py [--weights …] [--content_image …] [--style_image …].

Runs the coursera-tf2 preset on the course's images with Keras's ImageNet VGG19 file and compares the
cost at the first two train_step calls with the values the assignment's tests expect (within 5 %).
Exit codes: 0 both within 5 %, 1 bad input (one line on stderr), 4 a cost outside the 5 %.
"""

import os
import pathlib
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app  # noqa: E402
from absl import flags  # noqa: E402

from nst import quiet_tensorflow  # noqa: E402

PROJECT_DIR = pathlib.Path(__file__).resolve().parent
EXIT_BAD_INPUT = 1
EXIT_MISMATCH = 4

flags.DEFINE_string("weights", str(PROJECT_DIR / "pretrained-model" / "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5"),
                    "Keras's VGG19 notop weights file, as the assignment loads it.")
flags.DEFINE_string("content_image", str(PROJECT_DIR / "images" / "louvre_small.jpg"), "The course's content image.")
flags.DEFINE_string("style_image", str(PROJECT_DIR / "images" / "monet.jpg"), "The course's style image.")
FLAGS = flags.FLAGS


def _fail(message, exit_code=EXIT_BAD_INPUT):
    print(f"coursera_check.py: error: {message}", file=sys.stderr)
    hint = getattr(message, "hint", None)
    if hint:
        print(f"coursera_check.py: hint: {hint}", file=sys.stderr)
    return exit_code


def main(argv):
    if len(argv) > 1:
        return _fail(f"unexpected arguments: {' '.join(argv[1:])} (flags start with --)")
    quiet_tensorflow.import_tensorflow_quietly()
    from nst import config as config_module
    from nst import coursework
    from nst import images
    from nst import weights

    print(f"Coursera TF2 check: {FLAGS.content_image} in the style of {FLAGS.style_image}, weights {FLAGS.weights}",
          flush=True)
    try:
        check = coursework.check_coursera_tf2(FLAGS.weights, FLAGS.content_image, FLAGS.style_image)
    except (config_module.ConfigError, images.ImageError, weights.WeightsError) as error:
        return _fail(error)
    for label, value, expected, difference in (
            ("first train_step ", check.first_cost, coursework.EXPECTED_FIRST_COST, check.first_relative_difference),
            ("second train_step", check.second_cost, coursework.EXPECTED_SECOND_COST,
             check.second_relative_difference)):
        verdict = "ok" if difference <= coursework.RELATIVE_TOLERANCE else "OUTSIDE 5 %"
        print(f"J at the {label}: {value:.3f} (the assignment's test expects {expected:.3f}, "
              f"{100 * difference:.2f} % apart): {verdict}")
    if not check.passed:
        return _fail("the costs are not within 5 % of the assignment's; see above", EXIT_MISMATCH)
    print("Both costs are within 5 % of the assignment's public test.")
    return 0


if __name__ == "__main__":
    app.run(main)
