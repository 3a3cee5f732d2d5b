"""python -m nst.compare: arguments become the right config, a tiny run writes both files, bad input is one line."""

import json
import os
import pathlib
import subprocess
import sys

import pytest
from PIL import Image

import weight_fixtures
from nst import config as config_module
from nst.compare import __main__ as compare_command
from nst.compare import comparison

PROJECT_DIR = pathlib.Path(__file__).resolve().parent.parent.parent
NEEDS_TORCH = "the comparison needs PyTorch: pip install -r requirements-torch.txt"


def parsed_config(*arguments):
    return compare_command.config_from_arguments(compare_command.build_parser().parse_args(list(arguments)))


@pytest.fixture
def run_cli(capsys):
    """Runs nst.compare's main in this process; returns (code, stdout, stderr)."""

    def run(*arguments):
        code = compare_command.main(list(arguments))
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


def run_module(*arguments):
    """`python -m nst.compare …` in a fresh process, as a user types it."""
    environment = dict(os.environ, PYTHONPATH=str(PROJECT_DIR))
    return subprocess.run([sys.executable, "-m", "nst.compare", *arguments], capture_output=True, text=True,
                          cwd=PROJECT_DIR, env=environment, timeout=120)


def test_defaults_hand_a_ten_step_64_pixel_config_to_the_core():
    assert parsed_config() == config_module.StyleTransferConfig(
        content_image=str(PROJECT_DIR / "images" / "village.jpg"),
        style_image=str(PROJECT_DIR / "images" / "swirls.jpg"),
        output_dir="output/compare", image_size=64, iterations=10, print_every=1,
    )


def test_arguments_reach_the_config():
    config = parsed_config(
        "--content_image", "c.png", "--style_image", "s.png", "--weights", "vgg19-dcbb9e9d.pth", "--steps", "3",
        "--image_size", "48", "--output_dir", "out", "--learning_rate", "1.5", "--alpha", "5", "--beta", "50",
        "--noise_ratio", "0.2", "--seed", "4", "--pooling", "max", "--content_layer", "block5_conv2",
        "--style_layers", "conv1_1:1,conv2_1:0.5", "--nodownload",
    )
    assert (config.content_image, config.weights) == ("c.png", "vgg19-dcbb9e9d.pth")
    assert comparison.style_image_paths(config) == ("s.png",)
    assert (config.iterations, config.image_size, config.output_dir, config.learning_rate) == (3, 48, "out", 1.5)
    assert (config.content_weight, config.style_weight, config.noise_ratio, config.seed, config.pooling) == (5, 50, 0.2, 4, "max")
    assert config.content_layer == "conv5_2" and config.style_layers == (("conv1_1", 1.0), ("conv2_1", 0.5))
    assert config.allow_download is False


def test_tiny_comparison_writes_both_files_with_every_field(tmp_path, run_cli, random_weights):
    """Torchvision-format weights: their normalisation makes pixel gradients small enough for Adam's ε to matter."""
    pytest.importorskip("torch", reason=NEEDS_TORCH)
    up_to_conv5_1 = dict(list(random_weights.layers.items())[:13])
    weights_path = weight_fixtures.write_torchvision_safetensors(tmp_path / "vgg19.safetensors", up_to_conv5_1)
    output_dir = tmp_path / "out"

    code, out, err = run_cli("--weights", str(weights_path), "--steps", "4", "--image_size", "32",
                             "--output_dir", str(output_dir))

    assert code == 0, err
    record = json.loads((output_dir / "compare.json").read_text(encoding="utf-8"))
    for field in ("per_layer_max_relative_difference", "costs_tensorflow", "costs_torch",
                  "max_relative_cost_difference", "psnr_db", "ssim", "seconds_per_iteration", "image_size",
                  "weights_source", "versions"):
        assert field in record, field
    assert list(record["per_layer_max_relative_difference"]) == [
        "conv1_1", "conv2_1", "conv3_1", "conv4_1", "conv4_2", "conv5_1"]
    assert all(value <= 1e-4 for value in record["per_layer_max_relative_difference"].values())
    assert [row[0] for row in record["costs_tensorflow"]] == [0, 1, 2, 3, 4]
    assert [row[0] for row in record["costs_torch"]] == [0, 1, 2, 3, 4]
    assert record["max_relative_cost_difference"] <= 1e-3
    assert set(record["seconds_per_iteration"]) == {"tensorflow", "torch"}
    assert record["image_size"] == {"height": 24, "width": 32}
    assert record["weights_source"] == f"torchvision VGG19 weights ({weights_path})"
    with Image.open(output_dir / "compare.png") as figure:
        assert figure.format == "PNG"
    assert out.count("tensorflow: Iteration") == 5 and out.count("torch: Iteration") == 5
    assert "Seconds per iteration: TensorFlow" in out and err == ""


def test_a_missing_image_is_one_line_and_writes_nothing(tmp_path, run_cli):
    output_dir = tmp_path / "out"
    code, _, err = run_cli("--content_image", str(tmp_path / "nowhere.png"), "--weights", "random",
                           "--output_dir", str(output_dir))
    assert code == 1
    assert err.startswith("python -m nst.compare: error: ") and "nowhere.png" in err and err.count("\n") == 1
    assert not output_dir.exists()  # the folder is chosen, and created, only once the inputs are known good


def test_an_earlier_comparison_is_never_written_over(tmp_path, run_cli):
    pytest.importorskip("torch", reason=NEEDS_TORCH)
    output_dir = tmp_path / "out"
    output_dir.mkdir()
    (output_dir / "compare.json").write_text("an earlier comparison")
    code, out, err = run_cli("--weights", "random", "--steps", "1", "--image_size", "24",
                             "--output_dir", str(output_dir))
    assert code == 0, err
    assert (output_dir / "compare.json").read_text() == "an earlier comparison"
    assert f"Wrote {output_dir / 'run_2' / 'compare.json'}" in out
    assert json.loads((output_dir / "run_2" / "compare.json").read_text())["steps"] == 1


def test_without_torch_the_command_says_how_to_install_it(tmp_path, run_cli, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)
    code, _, err = run_cli("--weights", "random", "--output_dir", str(tmp_path / "out"))
    assert code == 1 and "pip install -r requirements-torch.txt" in err and err.count("\n") == 1


@pytest.mark.parametrize("arguments, problem", [
    (["--steps", "0"], "--steps must be at least 1, got 0"),
    (["--steps", "many"], "argument --steps: invalid int value: 'many'"),
    (["--pooling", "median"], "argument --pooling: invalid choice: 'median'"),
    (["--image_size", "8"], "image_size must be at least 16"),
])
def test_bad_arguments_are_one_line_and_exit_1(arguments, problem):
    finished = run_module(*arguments)
    assert finished.returncode == 1
    assert finished.stderr.startswith("python -m nst.compare: error: ") and problem in finished.stderr
    assert finished.stderr.count("\n") == 1 and finished.stdout == ""
