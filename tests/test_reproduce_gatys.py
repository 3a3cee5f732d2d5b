"""The gatys preset against jcjohnson/neural-style (neural_style.lua), transcribed in PyTorch and NumPy.

Lua Torch cannot run here, so neural_style.lua's computation is transcribed from its source and that
of the libraries it calls: images loaded as bytes × 1/255 and resized by torch/image's image.scale
(longest side, the other truncated; rows then columns; linear with aligned ends when enlarging, exact
area averages when shrinking); the style keeping its own aspect ratio at ceil(style_scale·image_size);
preprocessing to BGR ×256 minus the mean pixel; loadcaffe's VGG19 (3×3 convolutions with padding 1,
in-place ReLUs, max pooling rounding up); the content loss 5·mse at relu4_2, the style losses
100·mse(Gram / (C·H·W)) at relu1_1 … relu5_1; TVLoss adding the gradient of 1e-3·½·Σ squared
neighbour differences (interior crop) and nothing to the loss; optim.lbfgs with maxIter N, its
tolerances at -1, 100 corrections, fixed steps. Torch's random numbers cannot be drawn here, so both
start from one given image. The network runs in float64 from the float32 preprocessed images on, as
in the other PyTorch transcriptions.
"""

import math

import numpy as np
import PIL.Image
import pytest

import reproduction_harness as harness
import weight_fixtures

torch = pytest.importorskip("torch", reason="the reference is transcribed with PyTorch (pip install -r requirements-torch.txt)")

MEAN_BGR = np.array([103.939, 116.779, 123.68])
IMAGE_SIZE = 45
CONTENT_WEIGHT, STYLE_WEIGHT, TV_WEIGHT = 5.0, 100.0, 1e-3
STYLE_LAYERS = ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"]


def image_load(path):
    """image.load(path, 3): 3×H×W doubles, bytes times 1/255."""
    return np.asarray(PIL.Image.open(path).convert("RGB"), np.float64).transpose(2, 0, 1) * (1.0 / 255)


def _scale_line(source, length):
    """torch/image's scaleLinear_rowcol along the first axis of source (float32 positions and sums)."""
    source_length = source.shape[0]
    if length == source_length:
        return source.copy()
    out = np.empty((length,) + source.shape[1:])
    if length > source_length:
        if source_length == 1:
            out[:] = source[0]
            return out
        scale = np.float32(source_length - 1) / np.float32(length - 1)
        for index in range(length - 1):
            position = np.float32(np.float32(index) * scale)
            whole = int(position)
            fraction = np.float32(position - whole)
            out[index] = (np.float32(1) - fraction) * source[whole] + fraction * source[whole + 1]
        out[length - 1] = source[source_length - 1]
        return out
    scale = np.float32(source_length) / np.float32(length)
    start, start_fraction = 0, np.float32(0)
    for index in range(length):
        end = np.float32(np.float32(index + 1) * scale)
        end_whole = int(end)
        end_fraction = np.float32(end - end_whole)
        total = np.float32(1 - start_fraction) * source[start]
        total = total.astype(np.float32)
        count = np.float32(1 - start_fraction)
        for inner in range(start + 1, end_whole):
            total = (total + source[inner]).astype(np.float32)
            count = np.float32(count + 1)
        if end_whole < source_length:
            total = (total + end_fraction * source[end_whole]).astype(np.float32)
            count = np.float32(count + end_fraction)
        out[index] = total / count
        start, start_fraction = end_whole, end_fraction
    return out


def image_scale(image, size):
    """image.scale(image, size, 'bilinear'): the longest side becomes size, the other is truncated."""
    _, height, width = image.shape
    longest = max(height, width)
    new_height, new_width = int(height * size / longest), int(width * size / longest)
    rows = _scale_line(image.transpose(2, 0, 1), new_width).transpose(1, 2, 0)  # width first
    return _scale_line(rows.transpose(1, 0, 2), new_height).transpose(1, 0, 2)


def preprocess(image):
    bgr = image[[2, 1, 0]] * 256.0 - MEAN_BGR[:, None, None]
    return bgr.astype(np.float32)


def loadcaffe_vgg19(layers):
    """VGG19 from the Caffe weights (Keras's file holds them, [h, w, in, out] with BGR input), cut after relu5_1."""
    modules, names = [], []
    for block, size in enumerate((2, 2, 4, 4, 1), start=1):
        for index in range(1, size + 1):
            kernel, bias = layers[f"block{block}_conv{index}"]
            convolution = torch.nn.Conv2d(kernel.shape[2], kernel.shape[3], 3, padding=1).double()
            with torch.no_grad():
                convolution.weight.copy_(torch.from_numpy(kernel.transpose(3, 2, 0, 1).astype(np.float64)))
                convolution.bias.copy_(torch.from_numpy(bias.astype(np.float64)))
            modules += [convolution, torch.nn.ReLU(inplace=True)]
            names += [f"conv{block}_{index}", f"relu{block}_{index}"]
        if block < 5:
            modules.append(torch.nn.MaxPool2d(2, 2, ceil_mode=True))
            names.append(f"pool{block}")
    return modules, names


def features(modules, names, image):
    out, x = {}, image
    for module, name in zip(modules, names):
        x = module(x)
        if name in STYLE_LAYERS or name == "relu4_2":
            out[name] = x.clone()
    return out


def gram(feature):
    channels = feature.shape[1]
    flat = feature.view(channels, -1)
    return flat @ flat.t()


def tv_gradient(image):
    """TVLoss:updateGradInput's gradient (before ×strength) of a 3×H×W image."""
    gradient = np.zeros_like(image)
    x_diff = image[:, :-1, :-1] - image[:, :-1, 1:]
    y_diff = image[:, :-1, :-1] - image[:, 1:, :-1]
    gradient[:, :-1, :-1] += x_diff + y_diff
    gradient[:, :-1, 1:] -= x_diff
    gradient[:, 1:, :-1] -= y_diff
    return gradient


def neural_style(layers, content_path, style_path, start_caffe, evaluations):
    """jcjohnson/neural-style's run; {eval k: (image in caffe space, content mse, style Σ mse, gradient)}."""
    modules, names = loadcaffe_vgg19(layers)
    content = preprocess(image_scale(image_load(content_path), IMAGE_SIZE))
    style = preprocess(image_scale(image_load(style_path), math.ceil(1.0 * IMAGE_SIZE)))
    with torch.no_grad():
        content_target = features(modules, names, torch.from_numpy(content).double()[None])["relu4_2"]
        style_features = features(modules, names, torch.from_numpy(style).double()[None])
        style_targets = {name: gram(style_features[name]) / style_features[name].numel() for name in STYLE_LAYERS}
    seen = {}

    def feval(x):
        image = torch.from_numpy(x.reshape(start_caffe.shape).astype(np.float64))[None].requires_grad_(True)
        out = features(modules, names, image)
        content_mse = torch.nn.functional.mse_loss(out["relu4_2"], content_target)
        style_mses = [torch.nn.functional.mse_loss(gram(out[name]) / out[name].numel(), style_targets[name])
                      for name in STYLE_LAYERS]
        loss = CONTENT_WEIGHT * content_mse + STYLE_WEIGHT * sum(style_mses)
        loss.backward()
        gradient = image.grad[0].numpy() + TV_WEIGHT * tv_gradient(x.reshape(start_caffe.shape).astype(np.float64))
        seen[len(seen) + 1] = (x.reshape(start_caffe.shape).copy(), float(content_mse.detach()),
                               float(sum(style_mses).detach()), gradient.copy())
        return float(loss.detach()), gradient.ravel().astype(np.float32)

    optim_lbfgs(feval, start_caffe.ravel().copy(), max_iter=evaluations)
    return seen


def optim_lbfgs(opfunc, x, max_iter, n_correction=100, learning_rate=1.0, tol_x=-1.0, tol_fun=-1.0):
    """Torch's optim.lbfgs without a line search, as lbfgs.lua computes it (float vectors, double scalars)."""
    max_eval = max_iter * 1.25
    f, g = opfunc(x)
    current_evals = 1
    if np.abs(g).sum() <= tol_fun:
        return x
    old_dirs, old_stps, hessian_diagonal, d, t, g_old = [], [], 1.0, None, None, None
    n_iter = 0
    while n_iter < max_iter:
        n_iter += 1
        if n_iter == 1:
            d = -g
        else:
            y = (g - g_old).astype(np.float32)
            s = (d * np.float32(t)).astype(np.float32)
            ys = float(np.dot(y, s))
            if ys > 1e-10:
                if len(old_dirs) == n_correction:
                    old_dirs.pop(0)
                    old_stps.pop(0)
                old_dirs.append(s)
                old_stps.append(y)
                hessian_diagonal = ys / float(np.dot(y, y))
            k = len(old_dirs)
            ro = [1.0 / float(np.dot(old_stps[i], old_dirs[i])) for i in range(k)]
            al = [0.0] * k
            q = -g
            for i in reversed(range(k)):
                al[i] = float(np.dot(old_dirs[i], q)) * ro[i]
                q = (q - np.float32(al[i]) * old_stps[i]).astype(np.float32)
            r = (q * np.float32(hessian_diagonal)).astype(np.float32)
            for i in range(k):
                be_i = float(np.dot(old_stps[i], r)) * ro[i]
                r = (r + np.float32(al[i] - be_i) * old_dirs[i]).astype(np.float32)
            d = r
        g_old, f_old = g.copy(), f
        gtd = float(np.dot(g, d))
        if gtd > -tol_x:
            break
        t = min(1.0, 1.0 / float(np.abs(g).sum())) * learning_rate if n_iter == 1 else learning_rate
        x += np.float32(t) * d
        if n_iter != max_iter:
            f, g = opfunc(x)
            current_evals += 1
        if n_iter == max_iter or current_evals >= max_eval:
            break
        if np.abs(g).sum() <= tol_fun or np.abs(d * t).sum() <= tol_x or abs(f - f_old) < tol_x:
            break
    return x


def test_gatys_preset_reproduces_jcjohnson_neural_style(tmp_path):
    layers = weight_fixtures.trained_like_vgg19_layers(seed=26, layer_count=13)
    h5_path = str(weight_fixtures.write_keras_h5(tmp_path / "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5",
                                                 layers))
    content_path = harness.write_picture(tmp_path / "tubingen.png", 1, (61, 40))  # shrunk: 45×29, rounding up
    style_path = harness.write_picture(tmp_path / "starry_night.png", 2, (30, 37))  # enlarged, its own aspect
    content_shape = (3, 29, 45)
    start_caffe = (np.random.default_rng(5).standard_normal(content_shape) * 0.001).astype(np.float32)
    # 40 iterations, not the 10: from jcjohnson's near-gray start the image moves slowly at first.
    iterations = 40
    seen = neural_style(layers, content_path, style_path, start_caffe, iterations + 1)

    # The same start in this project's pixels: RGB, (x + mean) · 255/256, in float64 so it is exact.
    start_pixels = (start_caffe[::-1].astype(np.float64) + MEAN_BGR[::-1, None, None]).transpose(1, 2, 0) * (255 / 256)
    run = harness.run_preset("gatys", content_path, style_path, h5_path, start_pixels=start_pixels,
                             image_size=IMAGE_SIZE, iterations=iterations)

    def pixels(caffe):
        return (caffe[::-1].astype(np.float64) + MEAN_BGR[::-1, None, None]).transpose(1, 2, 0) * (255 / 256)

    # Evaluation k + 1 sees the image after k updates; costs unweighted, as this project reports them.
    costs = {k: {"content": seen[k + 1][1], "style": seen[k + 1][2]} for k in range(iterations + 1)}
    gradient_rgb = seen[1][3][::-1].transpose(1, 2, 0)[np.newaxis]
    harness.assert_reproduces(run, pixels(seen[1][0]), costs[0], gradient_rgb, costs,
                              pixels(seen[iterations + 1][0]), iterations=iterations)
    assert np.abs(pixels(seen[iterations + 1][0]) - pixels(seen[1][0])).mean() > 0.5  # the image really moved
