"""The Coursera TF2 assignment's own check: the cost at its first two train_step calls, with the real weights and images."""

import dataclasses

from nst import config as config_module
from nst import optimize
from nst import transfer

# public_tests.py's train_step_test: np.isclose(J1, 25629.055, rtol=0.05), np.isclose(J2, 17812.627, rtol=0.05).
EXPECTED_FIRST_COST = 25629.055
EXPECTED_SECOND_COST = 17812.627
RELATIVE_TOLERANCE = 0.05
COURSE_CONTENT = "louvre_small.jpg"
COURSE_STYLE = "monet.jpg"


@dataclasses.dataclass(frozen=True)
class CourseraCheck:
    """J at the assignment's first and second train_step (each the cost before its update)."""

    first_cost: float
    second_cost: float

    @property
    def first_relative_difference(self):
        return abs(self.first_cost - EXPECTED_FIRST_COST) / EXPECTED_FIRST_COST

    @property
    def second_relative_difference(self):
        return abs(self.second_cost - EXPECTED_SECOND_COST) / EXPECTED_SECOND_COST

    @property
    def passed(self):
        return max(self.first_relative_difference, self.second_relative_difference) <= RELATIVE_TOLERANCE


def check_coursera_tf2(weights, content_image, style_image, allow_download=False, image_size=None):
    """Runs the coursera-tf2 preset for one Adam step; returns a CourseraCheck.

    The first cost is that of the noisy start image, the second that of the image after one
    update and the clip, as the assignment's train_step returns them. image_size replaces the
    assignment's 400 (for tests: the expected values hold at 400 only). Raises ConfigError,
    nst.images.ImageError or nst.weights.WeightsError on bad input.
    """
    sizes = {} if image_size is None else {"image_size": image_size}
    config = config_module.StyleTransferConfig.from_preset(
        "coursera-tf2", content_image=content_image, style_image=style_image, weights=weights, epochs=1,
        print_every=1, allow_download=allow_download, **sizes)
    snapshots = {}
    result = transfer.transfer_style(config, transfer.prepare(config),
                          optimize.Callbacks(on_snapshot=lambda snapshot: snapshots.setdefault(snapshot.iteration,
                                                                                              snapshot)))
    return CourseraCheck(first_cost=snapshots[0].costs.total, second_cost=result.costs.total)
