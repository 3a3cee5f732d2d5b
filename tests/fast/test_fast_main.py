"""fast_main.py: flags become the right configs, the three commands run end to end, bad input is one clean line."""

import json
import os
import pathlib
import signal
import subprocess
import sys
import threading

import pytest
import tensorflow as tf
from PIL import Image

import fast_main
from fast_fixtures import perturbed
from fast_fixtures import write_picture
from fast_fixtures import write_training_folder
from nst import errors
from nst import video
from nst.fast import config as fast_config
from nst.fast import outputs as fast_outputs

PROJECT_DIR = pathlib.Path(fast_main.__file__).resolve().parent
TINY_TRAINING = ["--weights", "random", "--width_multiplier", "0.25", "--batch_size", "2", "--image_size", "32",
                 "--learning_rate", "0.003"]


@pytest.fixture
def run_cli(capsys):
    """Parses the arguments as fast_main would and runs the command in this process; returns (code, stdout, stderr)."""

    def run(command, *arguments):
        fast_main.FLAGS.unparse_flags()
        fast_main.FLAGS(["fast_main.py", command, *arguments])
        code = fast_main.main(["fast_main.py", command])
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
    assert code == errors.EXIT_BAD_INPUT
    assert err.startswith("fast_main.py: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err + out
    for word in expected_words:
        assert word in err, (word, err)


def test_default_flags_give_the_default_configs():
    train = parsed(fast_main.train_config_from_flags, "--style_image", "art/starry.jpg", "--train_dir", "coco")
    assert train == fast_config.FastTrainingConfig(style_image="art/starry.jpg", train_dir="coco",
                                                     output_dir="models/starry")
    stylize = parsed(fast_main.stylize_config_from_flags, "--model", "models/starry", "--input", "cat.jpg")
    assert stylize == fast_config.StylizeConfig(model="models/starry", input="cat.jpg")
    exported = parsed(fast_main.export_config_from_flags, "--model", "models/starry/transform_net.keras")
    assert exported == fast_config.ExportConfig(model="models/starry/transform_net.keras",
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
    assert config == fast_config.FastTrainingConfig(
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
    exported = model_dir / "export" / "transform_net_float32.tflite"
    assert exported.is_file()

    code, out, err = run_cli("stylize", "--model", str(exported), "--input", photo, "--output_dir",
                             str(tmp_path / "styled_by_tflite"))
    assert code == 0, err
    assert "(TFLite export)" in out and err == ""
    with Image.open(tmp_path / "styled_by_tflite" / "photo.png") as result:
        assert result.size == (53, 37)


@pytest.fixture
def tiny_model_dir(tmp_path):
    """A training folder holding only a tiny network's transform_net.keras."""
    from nst.fast import network
    from nst.fast import outputs as fast_outputs

    folder = tmp_path / "model"
    folder.mkdir()
    fast_outputs.save_model(perturbed(network.build_transform_net(1 / 32)), folder)
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
    assert code == errors.EXIT_BAD_INPUT
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
    from nst.fast import network
    from nst.fast import outputs as fast_outputs

    fast_outputs.save_model(network.build_transform_net(1 / 32), model_dir)
    monkeypatch.setitem(fast_config.TOLERANCES, "tflite_float32", -1.0)  # nothing can pass
    code, out, err = run_cli("export", "--model", str(model_dir), "--formats", "tflite_float32", "--check_image",
                             write_picture(tmp_path / "check.png"))
    assert code == errors.EXIT_CHECK_FAILED
    assert "TOO DIFFERENT" in out and "tflite_float32" in err and err.count("\n") == 1


def test_the_command_line_parser_reports_unknown_flags_in_one_line(capsys):
    with pytest.raises(SystemExit) as exited:
        fast_main.parse_command_line(["fast_main.py", "train", "--no_such_flag", "3"])
    assert exited.value.code == errors.EXIT_BAD_INPUT
    err = capsys.readouterr().err
    assert err.startswith("fast_main.py: error: ") and "no_such_flag" in err and err.count("\n") == 1
    fast_main.FLAGS.unparse_flags()


def test_help_lists_the_commands_and_this_scripts_flags(capsys):
    with pytest.raises(SystemExit) as exited:
        fast_main.parse_command_line(["fast_main.py", "--help"])
    assert exited.value.code == 0
    out = capsys.readouterr().out
    assert "train     train a transformation network" in out and "--width_multiplier" in out and "--precision" in out


# ---------------------------------------------------------------------------
# training that is interrupted, killed, or finds damaged checkpoints
# ---------------------------------------------------------------------------


def logged_steps(model_dir):
    return [row["step"] for row in fast_outputs.read_loss_log(model_dir / "losses.csv")]


@pytest.fixture
def training_arguments(tmp_path):
    """A tiny training command's flags: four synthetic photos, a random VGG19 read only up to conv1_2, 16-pixel crops.

    The shallow loss network halves the time each run takes; these tests are about files, not losses.
    """
    train_dir = write_training_folder(tmp_path / "train", count=4)
    style = write_picture(tmp_path / "style.png", size=(40, 40), seed=9)
    return ["--weights", "random", "--width_multiplier", "0.25", "--batch_size", "2", "--image_size", "16",
            "--content_layer", "conv1_2", "--style_layers", "conv1_1:1", "--style_image", style,
            "--train_dir", str(train_dir), "--output_dir", str(tmp_path / "model")]


def start_training(arguments):
    environment = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", PYTHONUNBUFFERED="1")
    return subprocess.Popen([sys.executable, str(PROJECT_DIR / "fast_main.py"), "train", *arguments],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment)


def interrupt_once_training(process, signal_number):
    """Sends the signal once the loop runs (the line that says Ctrl-C is safe); returns (stdout, stderr).

    A run that never says so is killed after two minutes rather than left training forever.
    """
    watchdog = threading.Timer(120, process.kill)
    watchdog.start()
    seen = []
    try:
        for line in process.stdout:
            seen.append(line)
            if line.startswith("Steps "):
                process.send_signal(signal_number)
                break
        out, err = process.communicate(timeout=120)
    finally:
        watchdog.cancel()
    return "".join(seen) + out, err


def test_ctrl_c_and_sigterm_save_a_checkpoint_the_model_and_the_log_and_say_how_to_resume(training_arguments,
                                                                                        tmp_path):
    model_dir = tmp_path / "model"
    arguments = [*training_arguments, "--steps", "100000", "--checkpoint_every", "100000"]
    process = start_training(arguments)
    out, err = interrupt_once_training(process, signal.SIGINT)
    assert process.returncode == 130 and "Traceback" not in err, err
    first_stop = int(out.split("Interrupted at step ")[1].split()[0])
    assert first_stop >= 1 and "run the same command again to resume" in out
    assert (model_dir / "checkpoints" / f"step-{first_stop}.index").is_file()
    assert (model_dir / "transform_net.keras").is_file()
    assert logged_steps(model_dir) == list(range(1, first_stop + 1))

    process = start_training(arguments)
    out, err = interrupt_once_training(process, signal.SIGTERM)
    assert process.returncode == 143 and "Traceback" not in err, err
    assert f"Resuming from {model_dir / 'checkpoints' / f'step-{first_stop}'}" in out
    second_stop = int(out.split("Interrupted at step ")[1].split()[0])
    assert second_stop > first_stop
    assert logged_steps(model_dir) == list(range(1, second_stop + 1))
    record = json.loads((model_dir / "training_config.json").read_text())
    assert (record["started_from_step"], record["final_step"]) == (first_stop, second_stop)


def test_a_first_ctrl_c_exit_code_is_130_and_outside_the_loop_it_is_one_line(monkeypatch, capsys):
    def interrupted(command, flag_values):
        raise KeyboardInterrupt

    monkeypatch.setattr(fast_main, "run_command", interrupted)
    try:
        code = fast_main.main(["fast_main.py", "stylize"])
    except KeyboardInterrupt:
        pytest.fail("the KeyboardInterrupt escaped main(): Python prints a traceback")
    assert code == 130
    assert capsys.readouterr().err == "fast_main.py: interrupted\n"


class Killed(BaseException):
    """Stands for the process being killed in the middle of a write."""


@pytest.mark.parametrize("killed_while_writing", ["loss log", "checkpoint"])
def test_a_kill_between_the_writes_of_a_checkpoint_leaves_a_consistent_set(run_cli, training_arguments, tmp_path,
                                                                           monkeypatch, killed_while_writing):
    """Killed during the second checkpoint (step 4): the resumed run starts at step 2 and the log has every step."""
    model_dir = tmp_path / "model"
    owner, name = {"loss log": (fast_outputs.LossLog, "write"),
                   "checkpoint": (tf.train.CheckpointManager, "save")}[killed_while_writing]
    real = getattr(owner, name)
    calls = []

    def killed_at_the_second_checkpoint(*arguments, **keywords):
        calls.append(1)
        if len(calls) == 2:
            raise Killed()
        return real(*arguments, **keywords)

    monkeypatch.setattr(owner, name, killed_at_the_second_checkpoint)
    with pytest.raises(Killed):
        run_cli("train", *training_arguments, "--steps", "4", "--checkpoint_every", "2")
    monkeypatch.setattr(owner, name, real)

    code, out, err = run_cli("train", *training_arguments, "--steps", "6", "--checkpoint_every", "2")
    assert code == 0, err
    assert f"Resuming from {model_dir / 'checkpoints' / 'step-2'} (step 2 of 6)" in out
    assert logged_steps(model_dir) == [1, 2, 3, 4, 5, 6]


def test_a_damaged_newest_checkpoint_is_skipped_with_a_warning(run_cli, training_arguments, tmp_path):
    model_dir = tmp_path / "model"
    assert run_cli("train", *training_arguments, "--steps", "4", "--checkpoint_every", "2")[0] == 0
    data = model_dir / "checkpoints" / "step-4.data-00000-of-00001"
    data.write_bytes(data.read_bytes()[: data.stat().st_size // 2])
    code, out, err = run_cli("train", *training_arguments, "--steps", "6", "--checkpoint_every", "2")
    assert code == 0, err
    assert f"Warning: {data}: damaged (Read less bytes than requested); the checkpoint of step 4 is skipped" in err
    assert f"Resuming from {model_dir / 'checkpoints' / 'step-2'} (step 2 of 6)" in out
    assert logged_steps(model_dir) == [1, 2, 3, 4, 5, 6]


def test_no_intact_checkpoint_is_one_line_naming_the_file(run_cli, training_arguments, tmp_path):
    checkpoints = tmp_path / "model" / "checkpoints"
    checkpoints.mkdir(parents=True)
    (checkpoints / "step-10.index").write_bytes(b"not a table" * 20)
    (checkpoints / "step-10.data-00000-of-00001").write_bytes(b"")
    code, out, err = run_cli("train", *training_arguments, "--steps", "20")
    assert_clean_refusal(code, out, err, f"{checkpoints / 'step-10.index'}: damaged (",
                         "there is no older checkpoint to resume from")
    assert sorted(path.name for path in tmp_path.joinpath("model").iterdir()) == ["checkpoints"]


def test_a_model_without_checkpoints_is_not_trained_over(run_cli, training_arguments, tmp_path):
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    (model_dir / "transform_net.keras").write_bytes(b"an earlier run's network")
    (model_dir / "losses.csv").write_text("step,total,content,style,total_variation\n1,5,1,2,2\n")
    code, out, err = run_cli("train", *training_arguments, "--steps", "2")
    assert_clean_refusal(code, out, err, str(model_dir), "transform_net.keras and losses.csv", "no checkpoint")
    assert (model_dir / "transform_net.keras").read_bytes() == b"an earlier run's network"


def test_a_checkpoint_of_another_width_is_refused_and_the_refusal_is_the_last_line(run_cli, training_arguments):
    """In a process of its own: TensorFlow's warnings about a failed restore come when its objects are deleted."""
    assert run_cli("train", *training_arguments, "--steps", "1")[0] == 0
    refused = subprocess.run([sys.executable, str(PROJECT_DIR / "fast_main.py"), "train", *training_arguments,
                              "--steps", "2", "--width_multiplier", "0.5"], capture_output=True, text=True,
                             env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"), timeout=300)
    assert refused.returncode == errors.EXIT_BAD_INPUT
    last_line = refused.stderr.splitlines()[-1]
    assert last_line.startswith("fast_main.py: error: ") and "does not fit this network" in last_line, refused.stderr
    assert refused.stderr.count("\n") == 1, refused.stderr  # nothing before it, nothing after it


def parsed_flags(command, *arguments):
    fast_main.FLAGS.unparse_flags()
    fast_main.FLAGS(["fast_main.py", command, *arguments])
    return fast_main.FLAGS


@pytest.mark.skipif(not video.ffmpeg_available(), reason="needs ffmpeg (pip install imageio-ffmpeg)")
def test_a_damaged_video_is_reported_in_one_clean_line(run_cli, tmp_path, tiny_model_dir):
    from fast_fixtures import smooth_picture

    inputs = tmp_path / "in"
    inputs.mkdir()
    good = tmp_path / "good.mp4"
    video.write_frames(good, (smooth_picture(seed, (32, 24)) for seed in range(5)), frames_per_second=10)
    (inputs / "clip.mp4").write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    write_picture(inputs / "photo.png", size=(30, 20))
    code, out, err = run_cli("stylize", "--model", str(tiny_model_dir), "--input", str(inputs), "--output_dir",
                             str(tmp_path / "out"))
    assert code == 0 and "photo.png ->" in out
    assert err.startswith(f"Skipped {inputs / 'clip.mp4'}: cannot be read as a video (") and err.count("\n") == 1
    assert "moov atom not found" in err and "ffmpeg version" not in err and "configuration" not in err
