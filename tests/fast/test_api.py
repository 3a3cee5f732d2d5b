"""nst.stylize_fast and nst.fast.api.FastStylizer; transform_net.keras loads with Keras alone once nst is imported."""

import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import PIL.Image
import pytest

import nst
from fast_fixtures import perturbed
from fast_fixtures import smooth_picture
from nst.fast import api as fast_api
from nst.fast import network
from nst.fast import outputs as fast_outputs
from nst.fast import stylize as fast_stylize

PROJECT_DIR = pathlib.Path(nst.__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A small network with randomised weights, saved as a training run saves it; (model, its folder)."""
    model = perturbed(network.build_transform_net(0.25), seed=7)
    folder = tmp_path_factory.mktemp("model")
    fast_outputs.save_model(model, folder)
    return model, folder


def network_output(model, pixels):
    """The network's own output for pixels, rounded to 8 bits as a PIL image is."""
    return np.rint(np.clip(model(pixels[np.newaxis].astype(np.float32)).numpy()[0], 0, 255))


def test_an_array_a_pil_image_and_a_path_give_the_networks_picture(saved, tmp_path):
    model, folder = saved
    pixels = smooth_picture(2, (37, 26)).astype(np.float32)
    expected = network_output(model, pixels)
    path = tmp_path / "photo.png"
    PIL.Image.fromarray(pixels.astype(np.uint8)).save(path)
    stylizer = fast_api.FastStylizer(folder, precision="float32")
    results = [nst.stylize_fast(str(path), folder, precision="float32"),
               *(stylizer(image) for image in (pixels, PIL.Image.open(path), path))]
    for result in results:
        assert isinstance(result, PIL.Image.Image) and result.size == (37, 26) and result.mode == "RGB"
        # The stylising copy of the network sums in another order: a value may round the other way.
        assert np.abs(np.asarray(result, np.float32) - expected).max() <= 1


def test_a_loaded_stylizer_serves_many_pictures_and_scales_them_down(saved):
    _, folder = saved
    stylizer = fast_api.FastStylizer(folder / "transform_net.keras", precision="bfloat16")
    assert stylizer.description == "channels 8/16/32, precision bfloat16"
    assert stylizer(smooth_picture(0, (64, 32)), max_size=40).size == (40, 20)
    assert stylizer(smooth_picture(1, (20, 30))).size == (20, 30)


def test_bad_input_raises_the_documented_errors(saved, tmp_path):
    _, folder = saved
    with pytest.raises(nst.ConfigError, match="precision must be one of"):
        fast_api.FastStylizer(folder, precision="float16")
    with pytest.raises(network.TransformNetError, match="no such file or folder"):
        nst.stylize_fast(smooth_picture(0), tmp_path / "missing.keras")
    with pytest.raises(fast_stylize.StylizeError, match="4×30 pixels is too small"):
        nst.stylize_fast(np.zeros((30, 4, 3)), folder)


LOAD_WITH_KERAS = """
import sys
{imports}
tensorflow_after_nst = "tensorflow" in sys.modules if "nst" in sys.modules and "keras" not in sys.modules else None
{late_import}
import numpy as np
model = keras.saving.load_model(sys.argv[1])
output = model(np.full((1, 9, 11, 3), 100.0, np.float32)).numpy()
print(json.dumps({{"name": model.name, "mean": float(output.mean()), "tensorflow_after_nst": tensorflow_after_nst}}))
"""


@pytest.mark.parametrize("first, then", [("nst", "keras"), ("keras", "nst")])
def test_keras_loads_the_model_file_in_a_process_that_imported_nst(saved, first, then):
    model, folder = saved
    script = LOAD_WITH_KERAS.format(imports=f"import json\nimport {first}", late_import=f"import {then}")
    completed = subprocess.run([sys.executable, "-c", script, str(folder / "transform_net.keras")],
                               capture_output=True, text=True, timeout=120, cwd=PROJECT_DIR,
                               env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", PYTHONPATH=str(PROJECT_DIR)))
    assert completed.returncode == 0, completed.stderr[-2000:]
    report = json.loads(completed.stdout.strip().splitlines()[-1])
    expected = float(model(np.full((1, 9, 11, 3), 100.0, np.float32)).numpy().mean())
    assert report["name"] == "transform_net" and report["mean"] == pytest.approx(expected, abs=1e-4)
    if first == "nst":
        assert report["tensorflow_after_nst"] is False  # `import nst` stays light: no TensorFlow until Keras
