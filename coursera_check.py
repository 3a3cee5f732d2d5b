"""Checks this tool against the Coursera TF2 assignment's public test: python coursera_check.py [--weights …] [--content_image …] [--style_image …].

Runs the coursera-tf2 preset on the course's images with Keras's ImageNet VGG19 file and compares the
cost at the first two train_step calls with the values the assignment's tests expect (within 5 %).
Exit codes: 0 both within 5 %, 1 bad input (one line on stderr), 4 a cost outside the 5 %.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app  # noqa: E402
from absl import flags  # noqa: E402

from nst import config as config_module  # noqa: E402  (imports no TensorFlow: --help answers at once)
from nst import errors  # noqa: E402
from nst import quiet_tensorflow  # noqa: E402

PROGRAM = "coursera_check.py"

flags.DEFINE_string("weights", str(config_module.PRETRAINED_DIR / "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5"),
                    "Keras's VGG19 notop weights file, as the assignment loads it.")
flags.DEFINE_string("content_image", str(config_module.IMAGES_DIR / "louvre_small.jpg"), "The course's content image.")
flags.DEFINE_string("style_image", str(config_module.IMAGES_DIR / "monet.jpg"), "The course's style image.")
FLAGS = flags.FLAGS


def check(flag_values):
    """Runs the check and prints both costs; returns the exit code (NSTErrors go to the boundary)."""
    quiet_tensorflow.import_tensorflow_quietly()
    from nst import coursework

    print(f"Coursera TF2 check: {flag_values.content_image} in the style of {flag_values.style_image}, "
          f"weights {flag_values.weights}", flush=True)
    result = coursework.check_coursera_tf2(flag_values.weights, flag_values.content_image, flag_values.style_image)
    for label, value, expected, difference in (
            ("first train_step ", result.first_cost, coursework.EXPECTED_FIRST_COST,
             result.first_relative_difference),
            ("second train_step", result.second_cost, coursework.EXPECTED_SECOND_COST,
             result.second_relative_difference)):
        verdict = "ok" if difference <= coursework.RELATIVE_TOLERANCE else "OUTSIDE 5 %"
        print(f"J at the {label}: {value:.3f} (the assignment's test expects {expected:.3f}, "
              f"{100 * difference:.2f} % apart): {verdict}")
    if not result.passed:
        return errors.report(PROGRAM, "the costs are not within 5 % of the assignment's; see above",
                             errors.EXIT_CHECK_FAILED)
    print("Both costs are within 5 % of the assignment's public test.")
    return errors.EXIT_OK


main = errors.absl_main(PROGRAM, check, FLAGS)


if __name__ == "__main__":
    app.run(main)
