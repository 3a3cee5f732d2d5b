"""nst.coursework and coursera_check.py: the Coursera TF2 assignment's first two costs, and its public test."""

import os
import pathlib
import subprocess
import sys

import pytest

import reproduction_harness as harness
import test_reproduce_coursera_tf2 as tf2_transcription
import weight_fixtures
from nst import coursework
from nst import weights

PROJECT_DIR = pathlib.Path(__file__).resolve().parent.parent
REAL_WEIGHTS = PROJECT_DIR / "pretrained-model" / weights.KERAS_NOTOP_FILENAME
# Where a student keeps the course's images: the project's images/ folder, or the folder this names.
COURSE_IMAGES = pathlib.Path(os.environ.get("NST_COURSERA_IMAGES", PROJECT_DIR / "images"))


@pytest.fixture(scope="module")
def fixture_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("coursework")
    h5_path = str(weight_fixtures.write_keras_h5(folder / weights.KERAS_NOTOP_FILENAME,
                                                 weight_fixtures.trained_like_vgg19_layers(seed=22)))
    return (h5_path, harness.write_picture(folder / "louvre_small.png", 1, (61, 45)),
            harness.write_picture(folder / "monet.png", 2, (50, 47)))


def test_the_check_gives_the_assignments_first_two_train_step_costs(fixture_files):
    """Its J1 and J2 are the transcribed notebook's cost before the first and the second update."""
    h5_path, content_path, style_path = fixture_files
    check = coursework.check_coursera_tf2(h5_path, content_path, style_path, image_size=tf2_transcription.IMG_SIZE)
    _, first_costs, _, costs, _ = tf2_transcription.coursera_tf2(h5_path, content_path, style_path, 1)
    assert harness.relative(check.first_cost, first_costs["total"]) < 1e-5
    assert harness.relative(check.second_cost, costs[1]["total"]) < 1e-5


def test_pass_and_fail_follow_the_public_tests_five_percent():
    assert coursework.CourseraCheck(25629.055 * 1.049, 17812.627 * 0.951).passed
    assert not coursework.CourseraCheck(25629.055 * 1.051, 17812.627).passed
    assert not coursework.CourseraCheck(25629.055, 17812.627 * 0.949).passed


def _run_check(*arguments):
    return subprocess.run([sys.executable, str(PROJECT_DIR / "coursera_check.py"), *arguments], cwd=PROJECT_DIR,
                          capture_output=True, text=True, timeout=600)


def test_the_command_reports_each_cost_and_exits_4_when_they_are_off(fixture_files):
    """Untrained weights cannot give the course's numbers: the command says so per cost and exits 4."""
    h5_path, content_path, style_path = fixture_files
    completed = _run_check("--weights", h5_path, "--content_image", content_path, "--style_image", style_path)
    assert completed.returncode == 4, completed.stderr
    lines = completed.stdout.splitlines()
    assert lines[1].startswith("J at the first train_step : ") and "expects 25629.055" in lines[1]
    assert lines[2].startswith("J at the second train_step: ") and "expects 17812.627" in lines[2]
    assert completed.stderr.strip().splitlines() == [
        "coursera_check.py: error: the costs are not within 5 % of the assignment's; see above"]


def test_the_command_names_a_missing_weights_file_in_one_line(tmp_path, fixture_files):
    _, content_path, style_path = fixture_files
    completed = _run_check("--weights", str(tmp_path / "missing.h5"), "--content_image", content_path,
                           "--style_image", style_path)
    assert completed.returncode == 1
    assert completed.stderr.strip() == f"coursera_check.py: error: {tmp_path / 'missing.h5'}: no such file"


@pytest.mark.skipif(
    not (REAL_WEIGHTS.is_file() and (COURSE_IMAGES / "louvre_small.jpg").is_file()
         and (COURSE_IMAGES / "monet.jpg").is_file()),
    reason=f"needs Keras's ImageNet weights at {REAL_WEIGHTS} and the course's louvre_small.jpg and monet.jpg in "
           f"{COURSE_IMAGES} (or the folder NST_COURSERA_IMAGES names); neither is in the repository")
def test_the_real_weights_and_course_images_pass_the_assignments_public_test():
    completed = _run_check("--weights", str(REAL_WEIGHTS), "--content_image", str(COURSE_IMAGES / "louvre_small.jpg"),
                           "--style_image", str(COURSE_IMAGES / "monet.jpg"))
    assert completed.returncode == 0, completed.stdout + completed.stderr
