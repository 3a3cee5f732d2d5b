"""nst_main.py: flags become the right config, runs end to end, and every bad input is one clean line."""

import json
import os
import pathlib
import signal
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

import nst_main
from image_fixtures import png_claiming_size
from nst import config as config_module
from nst import errors
from nst import video

PROJECT_DIR = pathlib.Path(nst_main.__file__).resolve().parent
QUICK_RUN = ["--weights", "random", "--image_size", "32", "--epochs", "4", "--print_every", "2"]


def write_picture(path, size=(48, 32), seed=0):
    pixels = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path)
    return str(path)


@pytest.fixture
def pictures(tmp_path):
    return {"content": write_picture(tmp_path / "content.png"), "style": write_picture(tmp_path / "style.png", seed=1)}


@pytest.fixture
def run_cli(capsys):
    """Parses the arguments as absl would and runs nst_main in this process; returns (code, stdout, stderr)."""

    def run(*arguments):
        nst_main.FLAGS.unparse_flags()
        nst_main.FLAGS(["nst_main.py", *arguments])
        code = nst_main.main(["nst_main.py"])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    yield run
    nst_main.FLAGS.unparse_flags()


def parsed_config(*arguments):
    nst_main.FLAGS.unparse_flags()
    try:
        nst_main.FLAGS(["nst_main.py", *arguments])
        return nst_main.config_from_flags(nst_main.FLAGS)
    finally:
        nst_main.FLAGS.unparse_flags()


def test_default_flags_hand_the_coursera_config_to_the_core():
    config = parsed_config()
    assert config == config_module.StyleTransferConfig(
        content_image=str(PROJECT_DIR / "images" / "village.jpg"),
        style_image=str(PROJECT_DIR / "images" / "swirls.jpg"),
    )


def test_original_app_flags_resolve_inside_images():
    config = parsed_config(
        "--content_image_filename", "mine.jpg", "--style_image_filename", "theirs.png",
        "--epochs", "7", "--print_every", "3", "--learning_rate", "1.5", "--alpha", "5", "--beta", "50",
    )
    assert config.content_image == str(PROJECT_DIR / "images" / "mine.jpg")
    assert config.style_image == (str(PROJECT_DIR / "images" / "theirs.png"),)
    assert (config.iterations, config.print_every, config.learning_rate, config.content_weight, config.style_weight) == (7, 3, 1.5, 5, 50)


def test_speed_flags_reach_the_config():
    config = parsed_config("--optimizer", "lbfgs", "--init", "content", "--tv_weight", "2.5", "--scales", "2",
                           "--precision", "bfloat16", "--jit", "--nodeterministic")
    assert (config.optimizer, config.init, config.total_variation_weight, config.scales) == ("lbfgs", "content", 2.5, 2)
    assert (config.precision, config.jit, config.deterministic) == ("bfloat16", True, False)


def test_added_flags_reach_the_config():
    config = parsed_config(
        "--content_image", "/photos/c.jpg", "--style_image", "s.jpg", "--output_dir", "out", "--image_size", "256",
        "--noise_ratio", "0.2", "--seed", "9", "--weights", "random", "--pooling", "max",
        "--content_layer", "block5_conv2", "--style_layers", "conv1_1:1,block2_conv1:0.5", "--nodownload",
    )
    assert (config.content_image, config.style_image, config.output_dir) == ("/photos/c.jpg", ("s.jpg",), "out")
    assert (config.image_size, config.noise_ratio, config.seed, config.weights) == (256, 0.2, 9, "random")
    assert (config.pooling, config.content_layer) == ("max", "conv5_2")
    assert config.style_layers == (("conv1_1", 1.0), ("conv2_1", 0.5))
    assert config.allow_download is False


def test_a_run_writes_snapshots_and_the_final_image(run_cli, pictures, tmp_path):
    output_dir = tmp_path / "out"
    code, out, err = run_cli(*QUICK_RUN, "--content_image", pictures["content"], "--style_image",
                             pictures["style"], "--output_dir", str(output_dir))
    assert code == 0, err
    assert [line.split(":")[0] for line in out.splitlines() if line.startswith("Iteration")] == [
        "Iteration 0", "Iteration 2", "Iteration 4"
    ]
    assert "total cost = " in out and "content cost = " in out and "style cost = " in out
    assert "untrained" in err  # --weights random is announced
    names = {path.name for path in output_dir.iterdir()}
    assert names >= {"generated_image.png", "iteration_0000.png", "iteration_0002.png", "iteration_0004.png",
                     "run.json", "progress.gif", "losses.png", "summary.png", "resume_state.npz"}
    assert not any(name.startswith("iteration_0001") or name.startswith("iteration_0003") for name in names)
    with Image.open(output_dir / "generated_image.png") as result:
        assert result.size == (32, 21)  # longest side 32, the content's 3:2 aspect kept
    with Image.open(output_dir / "iteration_0004.png") as last_snapshot, \
            Image.open(output_dir / "generated_image.png") as result:
        np.testing.assert_array_equal(np.asarray(last_snapshot), np.asarray(result))


def test_style_image_is_resized_to_the_content(run_cli, tmp_path):
    content = write_picture(tmp_path / "wide.png", size=(64, 16))
    style = write_picture(tmp_path / "tall.png", size=(20, 90))
    code, _, err = run_cli("--weights", "random", "--image_size", "64", "--epochs", "1", "--content_image",
                           content, "--style_image", style, "--output_dir", str(tmp_path / "out"))
    assert code == 0, err
    with Image.open(tmp_path / "out" / "generated_image.png") as result:
        assert result.size == (64, 16)


def bad_image_files(tmp_path):
    """name -> (path, words the error must contain)."""
    directory = tmp_path / "a_folder"
    directory.mkdir()
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "notes.png").write_text("not a picture at all\n")
    (tmp_path / "drawing.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>')
    (tmp_path / "bomb.png").write_bytes(png_claiming_size(30000, 30000))
    whole = pathlib.Path(write_picture(tmp_path / "whole.jpg", size=(64, 64))).read_bytes()
    (tmp_path / "truncated.jpg").write_bytes(whole[: len(whole) // 2])
    write_picture(tmp_path / "thin.png", size=(400, 3))
    return {
        "missing": (tmp_path / "missing.png", "no such file"),
        "directory": (directory, "directory"),
        "empty": (tmp_path / "empty.png", "empty"),
        "not an image": (tmp_path / "notes.png", "not an image"),
        "svg": (tmp_path / "drawing.svg", "SVG"),
        "decompression bomb": (tmp_path / "bomb.png", "too large"),
        "truncated": (tmp_path / "truncated.jpg", "truncated"),
        "too thin": (tmp_path / "thin.png", "too thin"),
    }


def assert_clean_refusal(code, out, err, *expected_words):
    assert code == errors.EXIT_BAD_INPUT
    assert err.startswith("nst_main.py: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err + out
    for word in expected_words:
        assert word in err, (word, err)


@pytest.mark.parametrize("case", ["missing", "directory", "empty", "not an image", "svg", "decompression bomb",
                                  "truncated", "too thin"])
@pytest.mark.parametrize("role", ["content", "style"])
def test_bad_images_are_refused_and_nothing_is_overwritten(run_cli, pictures, tmp_path, case, role):
    path, problem = bad_image_files(tmp_path)[case]
    output_dir = tmp_path / "out"
    output_dir.mkdir()
    (output_dir / "generated_image.png").write_bytes(b"an earlier result")
    images = dict(pictures, **{role: str(path)})
    code, out, err = run_cli(*QUICK_RUN, "--image_size", "400", "--content_image", images["content"],
                             "--style_image", images["style"], "--output_dir", str(output_dir))
    assert_clean_refusal(code, out, err, str(path), problem)
    assert (output_dir / "generated_image.png").read_bytes() == b"an earlier result"
    assert sorted(path.name for path in output_dir.iterdir()) == ["generated_image.png"]


@pytest.mark.parametrize(
    "arguments, expected",
    [
        (["--epochs", "0"], "epochs must be at least 1"),
        (["--epochs", "-3"], "epochs must be at least 1"),
        (["--alpha", "-1"], "alpha must be at least 0"),
        (["--beta", "nan"], "beta must be a finite number"),
        (["--alpha", "inf"], "alpha must be a finite number"),
        (["--noise_ratio", "1.5"], "noise_ratio must be between 0 and 1"),
        (["--image_size", "0"], "image_size must be at least 16"),
        (["--learning_rate", "-2"], "learning_rate must be a positive"),
        (["--style_layers", "conv1_1:-1"], "must be at least 0"),
        (["--content_layer", "conv7_1"], "unknown VGG19 layer"),
        (["--scales", "0"], "scales must be at least 1"),
        (["--tv_weight", "-1"], "tv_weight must be at least 0"),
    ],
)
def test_bad_numbers_are_refused(run_cli, pictures, tmp_path, arguments, expected):
    code, out, err = run_cli(*QUICK_RUN, "--content_image", pictures["content"], "--style_image",
                             pictures["style"], "--output_dir", str(tmp_path / "out"), *arguments)
    assert_clean_refusal(code, out, err, expected)
    assert not (tmp_path / "out").exists()


def test_init_path_that_is_not_an_image_is_refused(run_cli, pictures, tmp_path):
    not_an_image = tmp_path / "start.png"
    not_an_image.write_text("hello")
    code, out, err = run_cli(*QUICK_RUN, "--content_image", pictures["content"], "--style_image",
                             pictures["style"], "--output_dir", str(tmp_path / "out"), "--init", str(not_an_image))
    assert_clean_refusal(code, out, err, str(not_an_image), "not an image")


def test_unwritable_output_dir_is_refused_before_the_run(run_cli, pictures, tmp_path):
    blocker = tmp_path / "a_file.txt"
    blocker.write_text("in the way")
    code, out, err = run_cli(*QUICK_RUN, "--content_image", pictures["content"], "--style_image",
                             pictures["style"], "--output_dir", str(blocker / "out"))
    assert_clean_refusal(code, out, err, str(blocker / "out"))
    assert "Iteration" not in out


@pytest.mark.parametrize("content", [b"just some text\n", b"\x89HDF\r\n\x1a\n" + b"\x00" * 64])
def test_weights_file_that_is_not_what_it_claims(run_cli, pictures, tmp_path, content):
    fake = tmp_path / "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5"
    fake.write_bytes(content)
    code, out, err = run_cli(*QUICK_RUN, "--weights", str(fake), "--content_image", pictures["content"],
                             "--style_image", pictures["style"], "--output_dir", str(tmp_path / "out"))
    assert_clean_refusal(code, out, err, str(fake))


def test_no_weights_anywhere_names_the_folder_and_the_demo(run_cli, pictures, tmp_path, monkeypatch):
    from nst.weights import search as weights_search

    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "empty_keras_home"))
    monkeypatch.setattr(weights_search, "DEFAULT_SEARCH_DIRECTORIES", (tmp_path / "no_weights_here",))
    code, out, err = run_cli("--weights", "imagenet", "--nodownload", "--content_image", pictures["content"],
                             "--style_image", pictures["style"], "--output_dir", str(tmp_path / "out"))
    assert code == errors.EXIT_BAD_INPUT
    assert "Traceback" not in err
    assert "pretrained-model" in err and "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5" in err
    assert "--weights random" in err


def run_script(*arguments, cwd=PROJECT_DIR):
    environment = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    return subprocess.run([sys.executable, str(PROJECT_DIR / "nst_main.py"), *arguments], cwd=cwd,
                          capture_output=True, text=True, timeout=300, env=environment)


def test_script_end_to_end_on_the_shipped_sample_images(tmp_path):
    completed = run_script("--weights", "random", "--image_size", "40", "--epochs", "2", "--print_every", "1",
                           "--output_dir", str(tmp_path / "out"))
    assert completed.returncode == 0, completed.stderr
    assert "Iteration 2: total cost = " in completed.stdout
    with Image.open(tmp_path / "out" / "generated_image.png") as result:
        assert result.size == (40, 30)  # images/village.jpg is 400×300


def test_script_bad_input_exits_non_zero_without_traceback(tmp_path):
    completed = run_script("--weights", "random", "--content_image", str(tmp_path / "nope.jpg"),
                           "--output_dir", str(tmp_path / "out"))
    assert completed.returncode == errors.EXIT_BAD_INPUT
    assert completed.stderr.strip() == f"nst_main.py: error: {tmp_path / 'nope.jpg'}: no such file"


def test_script_absl_conventions(tmp_path):
    helpfull = run_script("--helpfull")  # absl exits 1 after printing help
    assert "--style_layers" in helpfull.stdout and "--noise_ratio" in helpfull.stdout
    flagfile = tmp_path / "flags.txt"
    flagfile.write_text("--epochs=0\n")
    from_file = run_script("--flagfile", str(flagfile), "--weights", "random")
    assert from_file.returncode == errors.EXIT_BAD_INPUT and "epochs must be at least 1" in from_file.stderr


def quick_run_arguments(pictures, output_dir, *extra):
    return [*QUICK_RUN, "--content_image", pictures["content"], "--style_image", pictures["style"],
            "--output_dir", str(output_dir), *extra]


@pytest.mark.parametrize("init", ["noise", "content", "style", "random", "picture"])
@pytest.mark.parametrize("optimizer", ["adam", "lbfgs"])
def test_every_optimizer_and_init_lowers_the_cost(run_cli, pictures, tmp_path, optimizer, init):
    init = write_picture(tmp_path / "start.png", seed=2) if init == "picture" else init
    # With untrained weights the style term is ~1e4 times the content term at alpha 10, beta 40;
    # then init=style already minimises nearly all of the cost and Adam's first fixed-size
    # steps can only raise it. alpha 1e4, beta 1 balances the terms, so every start has work to do.
    code, out, err = run_cli(*quick_run_arguments(pictures, tmp_path / "out", "--optimizer", optimizer,
                                                  "--init", init, "--epochs", "6", "--print_every", "6",
                                                  "--alpha", "10000", "--beta", "1"))
    assert code == 0, err
    record = json.loads((tmp_path / "out" / "run.json").read_text())
    totals = [entry["costs"]["total"] for entry in record["snapshots"]]
    assert totals[-1] < totals[0]
    if optimizer == "lbfgs":
        assert "cost evaluations" in out and record["evaluations"] >= record["iterations"]
        with Image.open(tmp_path / "out" / "generated_image.png") as result:
            pixels = np.asarray(result)
        assert pixels.min() >= 0 and pixels.max() <= 255


def test_multi_scale_produces_the_requested_final_size(run_cli, pictures, tmp_path):
    code, out, err = run_cli(*quick_run_arguments(pictures, tmp_path / "out", "--image_size", "48", "--scales", "2",
                                                  "--epochs", "2"))
    assert code == 0, err
    with Image.open(tmp_path / "out" / "iteration_0000.png") as first, \
            Image.open(tmp_path / "out" / "generated_image.png") as last:
        assert first.size == (24, 16) and last.size == (48, 32)


def test_a_second_run_goes_to_a_new_subfolder(run_cli, pictures, tmp_path):
    assert run_cli(*quick_run_arguments(pictures, tmp_path / "out"))[0] == 0
    first = (tmp_path / "out" / "generated_image.png").read_bytes()
    code, out, err = run_cli(*quick_run_arguments(pictures, tmp_path / "out", "--seed", "5"))
    assert code == 0 and str(tmp_path / "out" / "run_2") in out
    assert (tmp_path / "out" / "generated_image.png").read_bytes() == first
    assert (tmp_path / "out" / "run_2" / "generated_image.png").exists()
    code, out, err = run_cli(*quick_run_arguments(pictures, tmp_path / "out", "--seed", "5", "--overwrite"))
    assert code == 0 and (tmp_path / "out" / "generated_image.png").read_bytes() != first


def test_same_seed_gives_the_same_image(run_cli, pictures, tmp_path):
    for name in ("a", "b"):
        assert run_cli(*quick_run_arguments(pictures, tmp_path / name))[0] == 0
    assert (tmp_path / "a" / "generated_image.png").read_bytes() == (tmp_path / "b" / "generated_image.png").read_bytes()


def test_resume_refuses_a_folder_without_a_run(run_cli, tmp_path):
    code, out, err = run_cli("--resume", str(tmp_path))
    assert_clean_refusal(code, out, err, str(tmp_path), "no run.json")


INTERRUPTIBLE_RUN = ["--weights", "random", "--image_size", "64", "--epochs", "60", "--print_every", "5"]


def test_sigint_saves_the_image_and_resume_finishes_like_an_uninterrupted_run(tmp_path):
    environment = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONUNBUFFERED="1")
    command = [sys.executable, str(PROJECT_DIR / "nst_main.py"), *INTERRUPTIBLE_RUN]
    interrupted_dir, whole_dir = tmp_path / "interrupted", tmp_path / "whole"
    process = subprocess.Popen([*command, "--output_dir", str(interrupted_dir)], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=environment)
    for line in process.stdout:
        if line.startswith("Iteration 10:"):
            process.send_signal(signal.SIGINT)
            break
    output, _ = process.communicate(timeout=120)
    assert process.returncode == 130, output
    record = json.loads((interrupted_dir / "run.json").read_text())
    assert record["status"] == "interrupted" and 10 <= record["iterations"] < 60
    with Image.open(interrupted_dir / "generated_image.png") as saved:
        assert saved.size == (64, 48)  # images/village.jpg is 400×300
    resumed = subprocess.run([sys.executable, str(PROJECT_DIR / "nst_main.py"), "--resume", str(interrupted_dir)],
                             capture_output=True, text=True, env=environment, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    assert f"resuming at iteration {record['iterations']}" in resumed.stdout
    whole = subprocess.run([*command, "--output_dir", str(whole_dir)], capture_output=True, text=True,
                           env=environment, timeout=300)
    assert whole.returncode == 0, whole.stderr
    with Image.open(interrupted_dir / "generated_image.png") as first, Image.open(whole_dir / "generated_image.png") as second:
        difference = np.abs(np.asarray(first, np.int16) - np.asarray(second, np.int16))
    # Same machine, same seed, Adam's state restored: identical up to rounding to 8 bits.
    assert difference.max() <= 1
    assert json.loads((interrupted_dir / "run.json").read_text())["status"] == "finished"


def test_every_flag_default_is_the_config_default():
    fields = config_module.StyleTransferConfig.__dataclass_fields__
    for flag in nst_main.CONFIG_FLAGS:
        default = fields[nst_main.RENAMED_CONFIG_FLAGS.get(flag, flag)].default
        flag_default = nst_main.FLAGS[flag].default
        if flag == "style_layers":
            flag_default = config_module.parse_layer_weights(flag_default)
        if default in ((), None) and flag_default is None:
            continue
        assert flag_default == default, flag
    assert nst_main.FLAGS["download"].default == fields["allow_download"].default


def test_print_config_shows_what_a_preset_and_flags_add_up_to(run_cli):
    code, out, err = run_cli("--preset", "gatys", "--image_size", "300", "--print_config")
    assert code == 0, err
    resolved = json.loads(out)
    assert resolved["image_size"] == 300 and resolved["style_weight"] == 100.0 and resolved["pooling"] == "max"
    assert resolved["style_image"] == [str(PROJECT_DIR / "images" / "swirls.jpg")]


@pytest.mark.parametrize("preset, border, space, sizing", [
    ("coursera", "keep", "network", "longest"), ("coursera-tf2", "drop", "unit", "square"),
    ("pytorch-udacity", "drop", "network", "udacity"), ("lbfgs-report", "drop", "unit", "shorter"),
    ("tf-tutorial", "drop", "unit", "tf_tutorial"), ("gatys", "keep", "network", "torch_image")])
def test_print_config_shows_each_presets_border_space_and_sizing_rules(run_cli, preset, border, space, sizing):
    code, out, err = run_cli("--preset", preset, "--print_config")
    assert code == 0, err
    resolved = json.loads(out)
    assert (resolved["pooling_border"], resolved["optimization_space"], resolved["sizing"]) == (border, space, sizing)


def test_reproduction_flags_override_a_preset(run_cli):
    code, out, err = run_cli("--preset", "gatys", "--pooling_border", "drop", "--optimization_space", "pixels",
                             "--sizing", "longest", "--lbfgs_variant", "scipy", "--save_rounding", "round",
                             "--print_config")
    assert code == 0, err
    resolved = json.loads(out)
    assert (resolved["pooling_border"], resolved["optimization_space"], resolved["sizing"]) == ("drop", "pixels",
                                                                                                "longest")
    assert (resolved["lbfgs_variant"], resolved["save_rounding"], resolved["tv_form"]) == ("scipy", "round", "squared")


def test_several_styles_masks_and_colours_from_the_command_line(run_cli, tmp_path):
    """The flags reach the run: the masked-out half is exactly the content, the rest keeps the content's colours."""
    from nst import colors

    write_picture(tmp_path / "content.png", (48, 32), seed=0)
    Image.fromarray(np.random.default_rng(1).integers(90, 170, (32, 48, 3), dtype=np.uint8)).save(
        tmp_path / "mild.png")  # mid-range colours: clipping to 0–255 cannot move the chrominance
    left_white = np.zeros((32, 48), np.uint8)
    left_white[:, :24] = 255
    Image.fromarray(left_white).save(tmp_path / "left.png")
    Image.fromarray(255 - left_white).save(tmp_path / "right.png")
    code, out, err = run_cli(*QUICK_RUN, "--content_image", str(tmp_path / "mild.png"),
                             "--output_dir", str(tmp_path / "out"),
                             "--style_image", f"{tmp_path / 'content.png'},{tmp_path / 'mild.png'}",
                             "--style_blend_weights", "0.7,0.3", "--preserve_colors", "luminance",
                             "--style_masks", f"{tmp_path / 'left.png'},{tmp_path / 'right.png'}",
                             "--content_mask", str(tmp_path / "left.png"), "--style_scale", "0.5")
    assert code == 0, err
    record = json.loads((tmp_path / "out" / "run.json").read_text())
    assert record["config"]["style_blend_weights"] == [0.7, 0.3] and record["config"]["style_scale"] == 0.5
    with Image.open(tmp_path / "out" / "generated_image.png") as result, Image.open(tmp_path / "mild.png") as content:
        output = np.asarray(result, np.float64)
        content = np.asarray(content.resize(result.size, Image.LANCZOS), np.float64)
    # 32×21 pixels; the mask's edge (column 16) is softened by resizing: compare away from it.
    np.testing.assert_array_equal(output[:, 20:], content[:, 20:])  # black in the content mask: the content
    stylised = colors.rgb_to_yiq(output[:, :12])
    np.testing.assert_allclose(stylised[..., 1:], colors.rgb_to_yiq(content[:, :12])[..., 1:], atol=1.5)
    assert np.abs(stylised[..., 0] - colors.rgb_to_yiq(content[:, :12])[..., 0]).max() > 1.0  # but restyled


@pytest.mark.parametrize("flag, value", [("--preset", "picasso"), ("--optimizer", "sgd"),
                                         ("--precision", "float8")])
def test_unknown_choices_on_the_command_line_are_clean_errors(flag, value):
    completed = run_script(flag, value)
    assert completed.returncode != 0 and "Traceback" not in completed.stderr
    assert value in completed.stderr


def test_a_non_finite_cost_stops_the_run_and_keeps_the_last_finite_image(run_cli, pictures, tmp_path):
    # alpha 1e38 overflows float32: the first cost is infinite, so no update is applied.
    code, out, err = run_cli(*quick_run_arguments(pictures, tmp_path / "out", "--alpha", "1e38"))
    assert code == errors.EXIT_NON_FINITE
    assert "non-finite" in err and "Traceback" not in err
    with Image.open(tmp_path / "out" / "generated_image.png") as kept, \
            Image.open(tmp_path / "out" / "iteration_0000.png") as start:
        kept_pixels, start_pixels = np.asarray(kept), np.asarray(start)
    np.testing.assert_array_equal(kept_pixels, start_pixels)  # the start image, untouched
    assert kept_pixels.std() > 10  # a real picture, not NaN turned to black
    text = (tmp_path / "out" / "run.json").read_text()
    assert "Infinity" not in text and "NaN" not in text  # strict JSON: non-finite costs are null
    record = json.loads(text)
    assert record["status"] == "stopped" and record["final_costs"]["total"] is None


def test_sigterm_saves_and_exits_143(tmp_path):
    environment = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONUNBUFFERED="1")
    process = subprocess.Popen([sys.executable, str(PROJECT_DIR / "nst_main.py"), *INTERRUPTIBLE_RUN,
                                "--output_dir", str(tmp_path / "out")], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=environment)
    for line in process.stdout:
        if line.startswith("Iteration 5:"):
            process.send_signal(signal.SIGTERM)
            break
    process.communicate(timeout=120)
    assert process.returncode == 143
    assert json.loads((tmp_path / "out" / "run.json").read_text())["status"] == "interrupted"
    assert (tmp_path / "out" / "generated_image.png").is_file()


# ---------------------------------------------------------------------------
# Nothing already written is lost
# ---------------------------------------------------------------------------


def _earlier_run(folder):
    """A folder holding an earlier run's files; returns {name: bytes} to compare with afterwards."""
    folder.mkdir(parents=True, exist_ok=True)
    contents = {"generated_image.png": b"earlier image", "run.json": b'{"status": "finished"}',
                "resume_state.npz": b"earlier state", "iteration_0020.png": b"earlier snapshot"}
    for name, data in contents.items():
        (folder / name).write_bytes(data)
    return contents


def _unchanged(folder, contents):
    return {path.name: path.read_bytes() for path in folder.iterdir()} == contents


@pytest.mark.parametrize("bad_input", [["--content_image", "/nonexistent.jpg"], ["--weights", "/nonexistent.h5"],
                                       ["--print_config"]])
def test_overwrite_touches_nothing_until_every_input_is_good(run_cli, pictures, tmp_path, bad_input):
    earlier = _earlier_run(tmp_path / "out")
    code, _, err = run_cli(*quick_run_arguments(pictures, tmp_path / "out"), "--overwrite", *bad_input)
    assert code == (0 if bad_input == ["--print_config"] else 1), err
    assert _unchanged(tmp_path / "out", earlier)


def test_overwrite_replaces_the_earlier_run_once_the_run_starts(run_cli, pictures, tmp_path):
    _earlier_run(tmp_path / "out")
    code, _, err = run_cli(*quick_run_arguments(pictures, tmp_path / "out"), "--overwrite")
    assert code == 0, err
    names = {path.name for path in (tmp_path / "out").iterdir()}
    assert "iteration_0020.png" not in names and {"iteration_0000.png", "iteration_0004.png"} <= names
    assert json.loads((tmp_path / "out" / "run.json").read_text())["status"] == "finished"


def _failing_writes(monkeypatch, fails, error_number, message):
    """Makes files.atomic_write raise OSError(error_number) for the paths fails(path) accepts."""
    from nst import files
    from nst import images

    original = files.atomic_write

    def atomic_write(path, mode="wb"):
        if fails(pathlib.Path(path)):
            raise OSError(error_number, message)
        return original(path, mode)

    monkeypatch.setattr(files, "atomic_write", atomic_write)
    monkeypatch.setattr(images, "atomic_write", atomic_write)


def _errors(stderr):
    """The lines nst_main.py prints as errors (not warnings such as the one for random weights)."""
    return [line for line in stderr.strip().splitlines() if line.startswith("nst_main.py: ")]


@pytest.mark.parametrize("failing_name, error_number, message", [
    ("iteration_0004.png", 28, "No space left on device"),  # ENOSPC
    ("run.json", 30, "Read-only file system"),  # EROFS
])
def test_a_failed_write_stops_cleanly_keeps_the_last_snapshot_and_resumes(run_cli, pictures, tmp_path, monkeypatch,
                                                                          failing_name, error_number, message):
    output_dir = tmp_path / "out"
    written = {"run.json": 0}

    def fails(path):
        if path.name != failing_name:
            return False
        written["run.json"] += 1
        return failing_name != "run.json" or written["run.json"] >= 3  # run.json: its third write fails

    _failing_writes(monkeypatch, fails, error_number, message)
    code, out, err = run_cli(*quick_run_arguments(pictures, output_dir), "--epochs", "6")
    assert code == 5, err
    lines = _errors(err)
    assert lines[0] == f"nst_main.py: error: {output_dir / failing_name}: cannot be written ({message})"
    assert lines[1].startswith("nst_main.py: hint: run.json and the snapshot of iteration 2 are kept")
    assert lines[1].endswith(f"continue with --resume {output_dir}") and len(lines) == 2
    record = json.loads((output_dir / "run.json").read_text())
    assert record["status"] == "running" and record["snapshots"][-1]["iteration"] == 2
    with np.load(output_dir / "resume_state.npz") as state:
        assert int(state["iteration"]) in (2, 4)  # run.json's third write fails after the state of iteration 4

    monkeypatch.undo()
    code, out, err = run_cli("--resume", str(output_dir))
    assert code == 0, err
    record = json.loads((output_dir / "run.json").read_text())
    assert record["status"] == "finished" and record["iterations"] == 6
    iterations = [entry["iteration"] for entry in record["history"]]
    assert iterations == sorted(set(iterations)) and iterations[-1] == 6  # no gap, no repeat


@pytest.mark.parametrize("replacement", ["removed", "a file"])
def test_an_output_folder_that_disappears_mid_run_ends_in_one_line(run_cli, pictures, tmp_path, monkeypatch,
                                                                   replacement):
    import shutil

    from nst import outputs

    output_dir = tmp_path / "out"
    original = outputs.RunRecorder.on_snapshot

    def on_snapshot(self, snapshot):
        if snapshot.iteration == 2:
            shutil.rmtree(output_dir)
            if replacement == "a file":
                output_dir.write_text("not a folder")
        return original(self, snapshot)

    monkeypatch.setattr(outputs.RunRecorder, "on_snapshot", on_snapshot)
    code, _, err = run_cli(*quick_run_arguments(pictures, output_dir))
    assert code == 5
    first = _errors(err)[0]
    assert first.startswith(f"nst_main.py: error: {output_dir / 'iteration_0002.png'}: cannot be written (")
    assert "Traceback" not in err


def test_lbfgs_stopping_at_its_evaluation_limit_says_so_and_exits_6(run_cli, pictures, tmp_path, monkeypatch):
    from nst import lbfgs

    original = lbfgs.minimize_lbfgsb

    def starved(function, start, low, high, max_iterations, max_evaluations, after_iteration):
        return original(function, start, low, high, max_iterations, 2, after_iteration)

    monkeypatch.setattr(lbfgs, "minimize_lbfgsb", starved)
    code, out, err = run_cli(*quick_run_arguments(pictures, tmp_path / "out"), "--optimizer", "lbfgs",
                             "--epochs", "8")
    assert code == 6
    assert "limit of cost evaluations" in err and "saved the image it reached" in err
    record = json.loads((tmp_path / "out" / "run.json").read_text())
    assert record["status"] == "ended_early" and "limit of cost evaluations" in record["ended_early"]
    assert record["iterations"] < 8 and (tmp_path / "out" / "generated_image.png").is_file()


# --- Video (--content_video) -------------------------------------------------------------------------------------

CLIP_RUN = ["--weights", "random", "--image_size", "32", "--epochs", "4", "--epochs_per_frame", "2"]


def write_clip_with_sound(path, frame_count=4):
    """A small MP4 of a panning photo with a tone, so the run has motion to follow and sound to keep."""
    import imageio_ffmpeg

    from nst.config import IMAGES_DIR
    from nst.video import clips
    from nst.video import synthetic

    made = synthetic.make_clip(IMAGES_DIR / "village.jpg", (64, 48), frame_count, pan=(2.0, 1.0))
    silent = path.with_name("silent_" + path.name)
    clips.write_frames(silent, made.frames, 10)
    command = [imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-v", "error", "-i", str(silent), "-f", "lavfi", "-i",
               "sine=frequency=440:duration=1", "-map", "0:v", "-map", "1:a", "-c:v", "copy", "-c:a", "aac",
               str(path)]
    subprocess.run(command, check=True, capture_output=True)
    silent.unlink()
    return path


def test_video_flags_reach_the_config():
    config = parsed_config("--content_video", "clip.mp4", "--temporal_weight", "7", "--epochs_per_frame", "3",
                           "--frame_init", "independent")
    assert (config.content_video, config.content_image, config.temporal_weight) == ("clip.mp4", "clip.mp4", 7.0)
    assert (config.iterations_per_frame, config.frame_init) == (3, "independent")
    assert parsed_config().content_video is None and parsed_config().temporal_weight == 500.0
    assert parsed_config("--preset", "gatys").temporal_weight == 1e3  # Ruder et al.'s own, for jcjohnson's system


def test_a_clip_and_an_image_as_content_are_refused(run_cli, tmp_path):
    code, out, err = run_cli("--content_video", "clip.mp4", "--content_image", "a.jpg")
    assert_clean_refusal(code, out, err, "--content_video and --content_image both name the content")
    code, out, err = run_cli("--content_video", "clip.mp4", "--epochs_per_frame", "0")
    assert_clean_refusal(code, out, err, "epochs_per_frame must be at least 1")


@pytest.mark.skipif(not video.ffmpeg_available(), reason="needs ffmpeg (pip install imageio-ffmpeg)")
def test_script_stylises_a_clip_keeping_its_sound(tmp_path):
    source = write_clip_with_sound(tmp_path / "clip.mp4", frame_count=6)
    completed = run_script("--content_video", str(source), *CLIP_RUN, "--output_dir", str(tmp_path / "out"))
    assert completed.returncode == 0, completed.stderr
    assert "Frame 6/6 done" in completed.stdout and "clip ETA" in completed.stdout
    assert "retracing" not in completed.stderr  # each frame's own trace is expected (nst.video.transfer)
    last = completed.stdout.strip().splitlines()[-1]
    assert last.startswith("Done: 6 frames in ") and "warping error" in last and last.endswith("video.mp4")
    video_path = tmp_path / "out" / "video.mp4"
    written = video.open_clip(str(video_path))
    assert (written.frame_count, written.size, written.has_audio) == (6, (32, 24), True)
    record = json.loads((tmp_path / "out" / "run.json").read_text())
    assert record["clip"]["sound"] and record["warping_error"] > 0 and len(record["frames"]) == 6


@pytest.mark.parametrize("case", ["garbage", "empty folder", "still image"])
def test_an_unusable_clip_is_refused_in_one_line_and_nothing_is_written(run_cli, tmp_path, case):
    source = tmp_path / {"garbage": "clip.mp4", "empty folder": "frames", "still image": "still.png"}[case]
    if case == "garbage":
        source.write_bytes(b"\x00" * 100)
    elif case == "empty folder":
        source.mkdir()
    else:
        write_picture(source)
    code, out, err = run_cli("--content_video", str(source), *CLIP_RUN, "--output_dir", str(tmp_path / "out"))
    assert_clean_refusal(code, out, err, f"nst_main.py: error: {source}: ")
    assert not (tmp_path / "out").exists()


def test_sigint_during_a_clip_saves_its_frames_and_resume_finishes_it_the_same(run_cli, tmp_path):
    frames_folder = tmp_path / "frames"
    frames_folder.mkdir()
    from nst.config import IMAGES_DIR
    from nst.video import synthetic

    made = synthetic.make_clip(IMAGES_DIR / "village.jpg", (64, 48), 4, pan=(2.0, 1.0))
    for index, frame in enumerate(made.frames):
        Image.fromarray(frame).save(frames_folder / f"{index}.png")
    arguments = ["--content_video", str(frames_folder), *CLIP_RUN, "--epochs_per_frame", "16", "--print_every", "5"]
    environment = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONUNBUFFERED="1")
    interrupted = tmp_path / "interrupted"
    process = subprocess.Popen([sys.executable, str(PROJECT_DIR / "nst_main.py"), *arguments, "--output_dir",
                                str(interrupted)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=environment)
    for line in process.stdout:
        if line.startswith("Frame 2/4, iteration 10:"):
            process.send_signal(signal.SIGINT)
            break
    output, _ = process.communicate(timeout=120)
    assert process.returncode == 130, output
    # Frame 2 is dropped and started again on resuming (or, if the signal came as it ended, frame 3).
    saved = len(list(interrupted.glob("frame_*.png")))
    assert saved in (1, 2) and f"Interrupted at frame {saved + 1}: {saved} frame(s) saved in {interrupted}/" in output
    code, out, err = run_cli("--resume", str(interrupted))
    assert code == 0, err
    assert f"resuming at frame {saved + 1}" in out
    code, _, err = run_cli(*arguments, "--output_dir", str(tmp_path / "whole"))
    assert code == 0, err
    for index in range(1, 5):
        name = f"frame_{index:04d}.png"
        assert (interrupted / name).read_bytes() == (tmp_path / "whole" / name).read_bytes(), name
