"""nst.fast.stylize: outputs the size of their inputs, for images, folders and video frames; precision choice."""

import numpy as np
import pytest
from PIL import Image

from fast_fixtures import perturbed
from fast_fixtures import smooth_picture
from nst import video
from nst.fast import network
from nst.fast import progress as fast_progress
from nst.fast import stylize as fast_stylize
from nst.video import metrics


@pytest.fixture(scope="module")
def model():
    return perturbed(network.build_transform_net(0.25))


@pytest.fixture(scope="module")
def stylizer(model):
    return fast_stylize.Stylizer(model, "float32")


def test_one_pass_gives_the_models_output_at_the_input_size(model, stylizer):
    pixels = smooth_picture(0, (45, 31)).astype(np.float32)
    result = stylizer(pixels)
    assert result.pixels.shape == (31, 45, 3)
    np.testing.assert_allclose(result.pixels, model(pixels[np.newaxis]).numpy()[0], atol=1e-3)
    assert result.milliseconds > 0


def test_bfloat16_is_close_to_float32_and_really_bfloat16(model, stylizer):
    pixels = smooth_picture(1, (40, 36)).astype(np.float32)
    fast = fast_stylize.Stylizer(model, "bfloat16")
    assert fast.precision == "bfloat16"
    difference = np.abs(fast(pixels).pixels - stylizer(pixels).pixels)
    # Close (bfloat16 keeps 8 significant bits) but not equal: a silent float32 fallback would give 0.
    assert 0.01 < difference.mean() < 3.0


@pytest.mark.parametrize("gpus, native, expected", [(0, True, "bfloat16"), (0, False, "float32"), (1, True, "float32")])
def test_auto_precision(gpus, native, expected):
    assert fast_stylize.resolve_precision("auto", gpu_count=gpus, bfloat16_cpu=native) == expected
    assert fast_stylize.resolve_precision("float32", gpu_count=gpus, bfloat16_cpu=native) == "float32"


def test_native_bfloat16_is_read_from_the_cpu_flags(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu sse2 avx512f avx512_bf16\n")
    assert fast_stylize.cpu_supports_bfloat16(cpuinfo)
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu sse2 avx2\n")
    assert not fast_stylize.cpu_supports_bfloat16(cpuinfo)
    assert not fast_stylize.cpu_supports_bfloat16(tmp_path / "missing")


def write(path, size, seed=0):
    Image.fromarray(smooth_picture(seed, size)).save(path)
    return path


def test_a_folder_of_images_and_an_animation_keep_their_sizes(stylizer, tmp_path):
    inputs = tmp_path / "in"
    inputs.mkdir()
    write(inputs / "a.png", (48, 40))
    write(inputs / "b.jpg", (33, 57), seed=1)
    write(inputs / "c.bmp", (20, 20), seed=2)
    animation = [Image.fromarray(smooth_picture(seed, (26, 18))) for seed in range(3)]
    animation[0].save(inputs / "d.gif", save_all=True, append_images=animation[1:], duration=80, loop=0)
    (inputs / "e.png").write_text("not an image")
    write(inputs / "f.png", (4, 30))  # too thin for the network
    (inputs / "notes.txt").write_text("ignored")
    reported = []
    (tmp_path / "out").mkdir()
    summary = fast_stylize.stylize_inputs(stylizer, fast_stylize.list_inputs(inputs), tmp_path / "out",
                                          on_item=reported.append)
    assert [item.source.rsplit("/", 1)[-1] for item in reported] == ["a.png", "b.jpg", "c.bmp", "d.gif", "e.png",
                                                                      "f.png"]
    outputs = tmp_path / "out"
    assert sorted(path.name for path in outputs.iterdir()) == ["a.png", "b.jpg", "c.png", "d.gif"]
    for name, size in [("a.png", (48, 40)), ("b.jpg", (33, 57)), ("c.png", (20, 20))]:
        with Image.open(outputs / name) as result:
            assert result.size == size
    frames = list(video.read_frames(str(outputs / "d.gif")))
    assert [frame.shape for frame in frames] == [(18, 26, 3)] * 3
    assert video.frames_per_second(str(outputs / "d.gif")) == pytest.approx(12.5)
    failures = {item.source.rsplit("/", 1)[-1]: item.error for item in summary.failures}
    assert "not an image" in failures["e.png"] and "too small" in failures["f.png"]
    assert summary.frame_count == 6  # three images and three frames
    assert len(summary.frame_milliseconds) == 5 and summary.median_milliseconds > 0


def test_max_size_scales_inputs_down(stylizer, tmp_path):
    source = write(tmp_path / "big.png", (64, 32))
    item = fast_stylize.stylize_image_file(stylizer, source, tmp_path / "small.png", max_size=40)
    with Image.open(item.output) as result:
        assert result.size == (40, 20)


@pytest.mark.skipif(not video.ffmpeg_available(), reason="needs ffmpeg (pip install imageio-ffmpeg)")
def test_an_mp4_video_is_stylised_frame_by_frame(stylizer, tmp_path):
    source = tmp_path / "clip.mp4"
    video.write_frames(source, (smooth_picture(seed, (32, 24)) for seed in range(5)), frames_per_second=10)
    frames_seen = []
    item = fast_stylize.stylize_video_file(stylizer, source, tmp_path / "out.mp4",
                                           on_frame=lambda index, milliseconds: frames_seen.append(index))
    assert item.frames == 5 and frames_seen == [0, 1, 2, 3, 4] and len(item.milliseconds) == 5
    result = list(video.read_frames(item.output))
    assert len(result) == 5 and result[0].shape == (24, 32, 3)
    assert video.frames_per_second(item.output) == pytest.approx(10.0)
    # The flicker measure nst_main.py reports for clips, along the flow of the frames the network was given.
    content = [frame.astype(np.float32) for frame in video.read_frames(str(source))]
    stylised = [np.rint(np.clip(stylizer(frame).pixels, 0, 255)).astype(np.uint8) for frame in content]
    assert item.warping_error == pytest.approx(metrics.warping_error(stylised, content), rel=1e-6)
    assert f"warping error {item.warping_error:.4g}" in fast_progress.describe_item(item)


def test_missing_inputs_and_empty_folders_are_clear_errors(tmp_path):
    with pytest.raises(fast_stylize.StylizeError, match="no such file or folder"):
        fast_stylize.list_inputs(tmp_path / "missing.jpg")
    with pytest.raises(fast_stylize.StylizeError, match="no images or videos in this folder"):
        fast_stylize.list_inputs(tmp_path)


def test_exports_refuse_bfloat16_and_damaged_ones_are_clear_errors(tmp_path):
    damaged = tmp_path / "transform_net_float32.tflite"
    damaged.write_bytes(b"not a flatbuffer" * 10)
    with pytest.raises(fast_stylize.StylizeError, match="--precision bfloat16 needs a .keras model"):
        fast_stylize.load_stylizer(damaged, "bfloat16")
    with pytest.raises(fast_stylize.StylizeError, match="transform_net_float32.tflite: cannot be loaded as an export"):
        fast_stylize.load_stylizer(damaged)
    (tmp_path / "saved_model").mkdir()
    (tmp_path / "saved_model" / "saved_model.pb").write_bytes(b"garbage")
    with pytest.raises(fast_stylize.StylizeError, match="saved_model: cannot be loaded as an export"):
        fast_stylize.load_stylizer(tmp_path / "saved_model")
