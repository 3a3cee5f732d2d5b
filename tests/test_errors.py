"""nst.errors: one hierarchy, one line per error (and a hint), each error's exit code, one boundary."""

import io

import pytest

from nst import errors

EVERY_ERROR = [errors.ConfigError, errors.WeightsError, errors.FastTrainingError, errors.CheckpointError,
               errors.DistributionError, errors.TransformNetError, errors.ExportError, errors.TorchUnavailableError]
EVERY_PATH_ERROR = [errors.ImageError, errors.OutputError, errors.WriteError, errors.TrainingDataError,
                    errors.StylizeError, errors.VideoError]


def test_the_exit_codes_are_distinct_and_follow_the_shells_conventions():
    codes = [errors.EXIT_OK, errors.EXIT_BAD_INPUT, errors.EXIT_NON_FINITE, errors.EXIT_CHECK_FAILED,
             errors.EXIT_WRITE_FAILED, errors.EXIT_ENDED_EARLY, errors.EXIT_INTERRUPTED]
    assert codes == [0, 1, 3, 4, 5, 6, 130]


@pytest.mark.parametrize("error_class", EVERY_ERROR + EVERY_PATH_ERROR)
def test_every_error_is_an_nst_error_with_its_exit_code(error_class):
    error = error_class("x.png", "bad") if error_class in EVERY_PATH_ERROR else error_class("bad")
    assert isinstance(error, errors.NSTError)
    assert error.exit_code == (errors.EXIT_WRITE_FAILED if error_class is errors.WriteError else errors.EXIT_BAD_INPUT)


def test_messages_are_one_line_and_path_errors_name_the_path_first():
    error = errors.ImageError("art/starry.jpg", "cannot be read:\n  truncated file")
    assert str(error) == "art/starry.jpg: cannot be read: truncated file"
    assert (error.path, error.problem) == ("art/starry.jpg", "cannot be read: truncated file")
    assert str(errors.ConfigError("image_size\nmust be at least 16")) == "image_size must be at least 16"


def test_report_prints_the_error_and_its_hint_and_returns_the_code():
    stream = io.StringIO()
    code = errors.report("nst_main.py", errors.WriteError("output/run", "disk full", hint="free some space"),
                         stream=stream)
    assert code == 5
    assert stream.getvalue() == "nst_main.py: error: output/run: disk full\nnst_main.py: hint: free some space\n"
    stream = io.StringIO()
    assert errors.report("fast_main.py", "stopped early: the loss is nan", errors.EXIT_NON_FINITE, stream) == 3
    assert stream.getvalue() == "fast_main.py: error: stopped early: the loss is nan\n"


def test_the_boundary_turns_errors_and_ctrl_c_into_one_line_and_a_code(capsys):
    def refuse(name):
        raise errors.ConfigError(f"{name} must be at least 1, got 0")

    def interrupted():
        raise KeyboardInterrupt

    assert errors.run_entry_point("tool", lambda: 0) == 0
    assert errors.run_entry_point("tool", refuse, "epochs") == 1
    assert capsys.readouterr().err == "tool: error: epochs must be at least 1, got 0\n"
    assert errors.run_entry_point("tool", interrupted) == 130
    assert capsys.readouterr().err == "tool: interrupted\n"
    with pytest.raises(ZeroDivisionError):  # a bug is not the user's error: it keeps its traceback
        errors.run_entry_point("tool", lambda: 1 / 0)
