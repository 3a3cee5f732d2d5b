"""How close each preset comes to its original system: the table in README.md's "Presets".

Runs each tests/test_reproduce_*.py transcription of an original system and this project's preset on the
same small weights fixture and inputs (as the tests do), and prints a Markdown table of the differences:
start costs and gradient (relative), the largest relative cost difference over the iterations, and the
mean image difference after them, in gray levels. For the TensorFlow tutorial it also prints how far the
tutorial ends from itself when its content image changes by 1e-7 (see that test's docstring).

    python bench/reproduce_presets.py
"""

import pathlib
import sys
import tempfile

PROJECT_DIR = pathlib.Path(__file__).resolve().parent.parent
sys.path[:0] = [str(PROJECT_DIR), str(PROJECT_DIR / "tests")]

import numpy as np  # noqa: E402

import reproduction_harness as harness  # noqa: E402
import weight_fixtures  # noqa: E402
from nst import environment  # noqa: E402


def _row(preset, run, reference, names, iterations=harness.ITERATIONS):
    start_cost = max(harness.relative(run.start_costs[name], reference[1][name]) for name in names)
    gradient = harness.relative_array(run.start_gradient, reference[2])
    costs = max(harness.relative(getattr(run.snapshots[i].costs, name), reference[3][i][name])
                for i in range(1, iterations + 1) for name in names)
    image = float(np.abs(run.snapshots[iterations].image - reference[4]).mean())
    return f"| `{preset}` | {start_cost:.1e} | {gradient:.1e} | {iterations} | {costs:.1e} | {image:.4f} |"


def coursera(folder):
    import test_reproduce_coursera as t

    layers = weight_fixtures.reverse_first_layer_channels(weight_fixtures.trained_like_vgg19_layers(21, 13))
    mat = str(weight_fixtures.write_matconvnet_mat(folder / "w.mat", layers, version="new"))
    content, style = (harness.write_picture(folder / f"{name}.png", seed, t.SIZE) for name, seed in (("c", 1), ("s", 2)))
    reference = t.coursera_tf1(mat, np.asarray(harness.smooth_picture(1, t.SIZE), np.float64),
                               np.asarray(harness.smooth_picture(2, t.SIZE), np.float64), harness.ITERATIONS)
    run = harness.run_preset("coursera", content, style, mat, image_size=max(t.SIZE))
    return _row("coursera", run, reference, ("total", "content", "style"))


def coursera_tf2(folder):
    import test_reproduce_coursera_tf2 as t

    h5 = str(weight_fixtures.write_keras_h5(folder / "w.h5", weight_fixtures.trained_like_vgg19_layers(22)))
    content, style = harness.write_picture(folder / "c.png", 1, (61, 45)), harness.write_picture(folder / "s.png", 2, (50, 47))
    reference = t.coursera_tf2(h5, content, style, harness.ITERATIONS)
    run = harness.run_preset("coursera-tf2", content, style, h5, image_size=t.IMG_SIZE)
    return _row("coursera-tf2", run, reference, ("total", "content", "style"))


def udacity(folder):
    import test_reproduce_pytorch_udacity as t

    pth, content, style = t._inputs(folder)
    reference = t.udacity(pth, content, style, harness.ITERATIONS)
    run = harness.run_preset("pytorch-udacity", content, style, pth, image_size=t.MAX_SIZE)
    return _row("pytorch-udacity", run, reference, ("total", "content", "style"))


def lbfgs_report(folder):
    import test_reproduce_lbfgs_report as t

    pth = str(weight_fixtures.write_torchvision_pth(folder / "r.pth", weight_fixtures.trained_like_vgg19_layers(24, 5)))
    content, style = (harness.write_picture(folder / f"r{name}.png", seed, t.SIZE) for name, seed in (("c", 1), ("s", 2)))
    start, start_costs, gradient, costs, images, _ = t.tutorial(pth, content, style, harness.ITERATIONS)
    run = harness.run_preset("lbfgs-report", content, style, pth, image_size=t.IMSIZE)
    return _row("lbfgs-report", run, (start, start_costs, gradient, costs, images[harness.ITERATIONS]),
                ("total", "content", "style"))


def tf_tutorial(folder):
    import test_reproduce_tf_tutorial as t

    h5 = str(weight_fixtures.write_keras_h5(folder / "t.h5", weight_fixtures.trained_like_vgg19_layers(25)))
    content, style = harness.write_picture(folder / "tc.png", 1, (61, 40)), harness.write_picture(folder / "ts.png", 2, (50, 70))
    reference = t.tf_tutorial(h5, content, style, harness.ITERATIONS)
    perturbed = t.tf_tutorial(h5, content, style, harness.ITERATIONS, content_change=1e-7)
    run = harness.run_preset("tf-tutorial", content, style, h5, image_size=t.MAX_DIM)
    names = ("total", "content", "style")
    spread_costs, spread_image = harness.own_spread(reference, perturbed, names)
    return _row("tf-tutorial", run, reference, names) + (
        f" (the tutorial against itself, content changed by 1e-7: costs {max(spread_costs.values()):.1e}, "
        f"image {spread_image:.4f})")


def gatys(folder):
    import test_reproduce_gatys as t

    layers = weight_fixtures.trained_like_vgg19_layers(26, 13)
    h5 = str(weight_fixtures.write_keras_h5(folder / "g.h5", layers))
    content, style = harness.write_picture(folder / "gc.png", 1, (61, 40)), harness.write_picture(folder / "gs.png", 2, (30, 37))
    start = (np.random.default_rng(5).standard_normal((3, 29, 45)) * 0.001).astype(np.float32)
    iterations = 40
    seen = t.neural_style(layers, content, style, start, iterations + 1)

    def pixels(caffe):
        return (caffe[::-1].astype(np.float64) + t.MEAN_BGR[::-1, None, None]).transpose(1, 2, 0) * (255 / 256)

    run = harness.run_preset("gatys", content, style, h5, start_pixels=pixels(start), image_size=t.IMAGE_SIZE,
                             iterations=iterations)
    costs = {k: {"content": seen[k + 1][1], "style": seen[k + 1][2]} for k in range(iterations + 1)}
    reference = (None, costs[0], seen[1][3][::-1].transpose(1, 2, 0)[np.newaxis], costs, pixels(seen[iterations + 1][0]))
    return _row("gatys", run, reference, ("content", "style"), iterations)


def main():
    print(f"Machine: {environment.machine_summary()}")
    print("| preset | start costs | start gradient | iterations | costs, largest over them | image after them (gray levels, mean) |")
    print("| --- | --- | --- | --- | --- | --- |")
    with tempfile.TemporaryDirectory() as folder:
        for measure in (coursera, coursera_tf2, udacity, lbfgs_report, tf_tutorial, gatys):
            print(measure(pathlib.Path(folder)), flush=True)


if __name__ == "__main__":
    main()
