"""fast_main.py: flags become the right configs, the three commands run end to end, bad input is one clean line."""

import json
import pathlib

import pytest
from PIL import Image

import fast_main
from fast_fixtures import perturbed
from fast_fixtures import write_picture
from fast_fixtures import write_training_folder
from nst import export
from nst import fast_stylize
from nst import fast_training

PROJECT_DIR = pathlib.Path(fast_main.__file__).resolve().parent
TINY_TRAINING = ["--weights", "random", "--width_multiplier", "0.25", "--batch_size", "2", "--image_size", "32",
                 "--learning_rate", "0.003"]


@pytest.fixture
def run_cli(capsys):
    """Parses the arguments as fast_main would and runs the command in this process; returns (code, stdout, stderr)."""

    def run(command, *arguments):
        fast_main.FLAGS.unparse_flags()
        fast_main.FLAGS(["fast_main.py", command, *arguments])
        code = fast_main.run(command, fast_main.FLAGS)
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    yield run
    fast_main.FLAGS.unparse_flags()


def parsed(function, *arguments):
    fast_main.FLAGS.unparse_flags()
    try:
        fast_main.FLAGS(["fast_main.py", *arguments])
        return function(fast_main.FLAGS)
    finally:
        fast_main.FLAGS.unparse_flags()


def assert_clean_refusal(code, out, err, *expected_words):
    assert code == fast_main.EXIT_BAD_INPUT
    assert err.startswith("fast_main.py: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err + out
    for word in expected_words:
        assert word in err, (word, err)


def test_default_flags_give_the_default_configs():
    train = parsed(fast_main.train_config_from_flags, "--style_image", "art/starry.jpg", "--train_dir", "coco")
    assert train == fast_training.FastTrainingConfig(style_image="art/starry.jpg", train_dir="coco",
                                                     output_dir="models/starry")
    stylize = parsed(fast_main.stylize_config_from_flags, "--model", "models/starry", "--input", "cat.jpg")
    assert stylize == fast_stylize.StylizeConfig(model="models/starry", input="cat.jpg")
    exported = parsed(fast_main.export_config_from_flags, "--model", "models/starry/transform_net.keras")
    assert exported == export.ExportConfig(model="models/starry/transform_net.keras",
                                           output_dir="models/starry/export",
                                           check_image=str(PROJECT_DIR / "images" / "village.jpg"))


def test_every_training_flag_reaches_the_config():
    config = parsed(
        fast_main.train_config_from_flags, "--style_image", "s.png", "--train_dir", "d", "--output_dir", "o",
        "--weights", "random", "--nodownload", "--pooling", "avg", "--content_layer", "relu2_2",
        "--style_layers", "conv1_2:2,conv2_2", "--content_weight", "1", "--style_weight", "2", "--tv_weight", "3",
        "--width_multiplier", "0.5", "--batch_size", "8", "--image_size", "128", "--style_size", "0",
        "--epochs", "3", "--steps", "50", "--learning_rate", "0.01", "--checkpoint_every", "10",
        "--keep_checkpoints", "2", "--seed", "4", "--distribution", "mirrored", "--cpu_devices", "2", "--noresume",
    )
    assert config == fast_training.FastTrainingConfig(
        style_image="s.png", train_dir="d", output_dir="o", weights="random", allow_download=False, pooling="avg",
        content_layer="conv2_2", style_layers=(("conv1_2", 2.0), ("conv2_2", 0.5)), content_weight=1.0,
        style_weight=2.0, total_variation_weight=3.0, width_multiplier=0.5, batch_size=8, image_size=128,
        style_size=0, epochs=3, steps=50, learning_rate=0.01, checkpoint_every=10, keep_checkpoints=2, seed=4,
        distribution="mirrored", cpu_devices=2, resume=False,
    )


def test_train_then_resume_then_stylize_then_export(run_cli, tmp_path):
    train_dir = write_training_folder(tmp_path / "train", count=4, broken=1)
    style = write_picture(tmp_path / "style.png", size=(40, 40), seed=9)
    model_dir = tmp_path / "model"
    common = [*TINY_TRAINING, "--style_image", style, "--train_dir", str(train_dir), "--output_dir", str(model_dir)]

    code, out, err = run_cli("train", *common, "--steps", "4", "--checkpoint_every", "2")
    assert code == 0, err
    assert "untrained" in err and "skipped 1 unreadable file(s) of 5" in err and "broken_0.jpg: not an image" in err
    assert "Training on 4 images" in out and "Step 4: loss" in out and "Done: 4 steps" in out
    assert {path.name for path in model_dir.iterdir()} == {"checkpoints", "losses.csv", "losses.png",
                                                           "training_config.json", "transform_net.keras"}
    record = json.loads((model_dir / "training_config.json").read_text())
    assert (record["final_step"], record["training_images"], record["skipped_files"]) == (4, 4, 1)
    assert record["channels"] == [8, 16, 32] and record["config"]["steps"] == 4

    code, out, err = run_cli("train", *common, "--steps", "6", "--checkpoint_every", "2")
    assert code == 0, err
    assert "Resuming from" in out and "(step 4 of 6)" in out and "Done: 2 steps" in out
    steps = [int(line.split(",")[0]) for line in (model_dir / "losses.csv").read_text().splitlines()[1:]]
    assert steps == [1, 2, 3, 4, 5, 6]

    photo = write_picture(tmp_path / "photo.png", size=(53, 37), seed=3)
    code, out, err = run_cli("stylize", "--model", str(model_dir), "--input", photo, "--output_dir",
                             str(tmp_path / "styled"))
    assert code == 0, err
    assert "channels 8/16/32" in out and "photo.png ->" in out and " ms)" in out
    with Image.open(tmp_path / "styled" / "photo.png") as result:
        assert result.size == (53, 37)

    code, out, err = run_cli("export", "--model", str(model_dir), "--formats", "tflite_float32",
                             "--check_image", photo, "--check_size", "0")
    assert code == 0, err
    assert "tflite_float32" in out and ": ok," in out
    assert (model_dir / "export" / "transform_net_float32.tflite").is_file()


@pytest.fixture
def tiny_model_dir(tmp_path):
    """A training folder holding only a tiny network's transform_net.keras."""
    from nst import fast_outputs
    from nst import transform_net

    folder = tmp_path / "model"
    folder.mkdir()
    fast_outputs.save_model(perturbed(transform_net.build_transform_net(1 / 32)), folder)
    return folder


def test_stylize_never_writes_over_earlier_results(run_cli, tmp_path, tiny_model_dir):
    photo = write_picture(tmp_path / "photo.png", size=(30, 20))
    output_dir = tmp_path / "out"
    output_dir.mkdir()
    (output_dir / "photo.png").write_bytes(b"an earlier result")
    # A refused run (the model is missing) touches nothing, not even a new subfolder.
    code, out, err = run_cli("stylize", "--model", str(tmp_path / "missing.keras"), "--input", photo,
                             "--output_dir", str(output_dir))
    assert_clean_refusal(code, out, err, "missing.keras")
    assert sorted(path.name for path in output_dir.iterdir()) == ["photo.png"]

    for expected_folder in (output_dir / "run_2", output_dir / "run_3"):
        code, out, err = run_cli("stylize", "--model", str(tiny_model_dir), "--input", photo,
                                 "--output_dir", str(output_dir))
        assert code == 0, err
        assert f"results in {expected_folder}/" in out
        with Image.open(expected_folder / "photo.png") as result:
            assert result.size == (30, 20)
    assert (output_dir / "photo.png").read_bytes() == b"an earlier result"


def test_export_never_writes_over_an_earlier_export(run_cli, tmp_path, tiny_model_dir):
    earlier = tiny_model_dir / "export" / "transform_net_float32.tflite"
    earlier.parent.mkdir()
    earlier.write_bytes(b"an earlier export")
    code, out, err = run_cli("export", "--model", str(tiny_model_dir), "--formats", "tflite_float32",
                             "--check_image", write_picture(tmp_path / "check.png"))
    assert code == 0, err
    assert earlier.read_bytes() == b"an earlier export"
    assert f"to {earlier.parent / 'run_2'}/" in out
    assert (earlier.parent / "run_2" / "transform_net_float32.tflite").stat().st_size > 1000


@pytest.mark.parametrize("case, expected", [
    ("empty", "no image files"),
    ("unreadable", "none of its 2 image files can be read"),
    ("missing", "no such folder"),
])
def test_unusable_training_folders_are_one_clean_line(run_cli, tmp_path, case, expected):
    folder = tmp_path / "train"
    if case != "missing":
        folder.mkdir()
    if case == "unreadable":
        (folder / "a.jpg").write_text("x")
        (folder / "b.png").write_bytes(b"")
    style = write_picture(tmp_path / "style.png")
    code, out, err = run_cli("train", *TINY_TRAINING, "--style_image", style, "--train_dir", str(folder),
                             "--output_dir", str(tmp_path / "run"))
    assert_clean_refusal(code, out, err, str(folder), expected)


@pytest.mark.parametrize("command, arguments, expected", [
    ("train", ["--train_dir", "d"], "train needs --style_image"),
    ("train", ["--style_image", "s.png", "--train_dir", "d", "--batch_size", "0"], "batch_size must be at least 1"),
    ("train", ["--style_image", "missing.png", "--train_dir", "d", "--weights", "random"], "missing.png: no such file"),
    ("stylize", ["--input", "x.jpg"], "stylize needs --model"),
    ("stylize", ["--model", "nowhere", "--input", "photo.png"], "nowhere: no such file or folder"),
    ("stylize", ["--model", "m", "--input", "nothing.jpg"], "nothing.jpg: no such file or folder"),
    ("stylize", ["--model", "m", "--input", "x", "--batch_size", "2"], "--batch_size not used by stylize"),
    ("export", ["--model", "m", "--formats", "onnx"], "formats must be 'all' or"),
    ("export", [], "export needs --model"),
    ("paint", [], "unknown command 'paint'"),
])
def test_bad_arguments_are_refused(run_cli, tmp_path, monkeypatch, command, arguments, expected):
    monkeypatch.chdir(tmp_path)
    write_picture(tmp_path / "photo.png")
    code, out, err = run_cli(command, *arguments)
    assert code == fast_main.EXIT_BAD_INPUT
    assert err.startswith("fast_main.py: error: ") and expected in err.splitlines()[0], err
    assert "Traceback" not in err + out


def test_splitting_the_cpu_after_tensorflow_started_is_explained(run_cli, tmp_path):
    train_dir = write_training_folder(tmp_path / "train", count=2)
    style = write_picture(tmp_path / "style.png")
    code, out, err = run_cli("train", *TINY_TRAINING, "--style_image", style, "--train_dir", str(train_dir),
                             "--output_dir", str(tmp_path / "run"), "--cpu_devices", "2")
    assert_clean_refusal(code, out, err, "once TensorFlow has started")


def test_an_export_outside_its_tolerance_exits_with_its_own_code(run_cli, tmp_path, monkeypatch):
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    from nst import fast_outputs
    from nst import transform_net

    fast_outputs.save_model(transform_net.build_transform_net(1 / 32), model_dir)
    monkeypatch.setitem(export.TOLERANCES, "tflite_float32", -1.0)  # nothing can pass
    code, out, err = run_cli("export", "--model", str(model_dir), "--formats", "tflite_float32", "--check_image",
                             write_picture(tmp_path / "check.png"))
    assert code == fast_main.EXIT_EXPORT_MISMATCH
    assert "TOO DIFFERENT" in out and "tflite_float32" in err and err.count("\n") == 1


def test_the_command_line_parser_reports_unknown_flags_in_one_line(capsys):
    with pytest.raises(SystemExit) as exited:
        fast_main.parse_command_line(["fast_main.py", "train", "--no_such_flag", "3"])
    assert exited.value.code == fast_main.EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert err.startswith("fast_main.py: error: ") and "no_such_flag" in err and err.count("\n") == 1
    fast_main.FLAGS.unparse_flags()


def test_help_lists_the_commands_and_this_scripts_flags(capsys):
    with pytest.raises(SystemExit) as exited:
        fast_main.parse_command_line(["fast_main.py", "--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert "train     train a transformation network" in out and "--width_multiplier" in out and "--precision" in out
