"""The pytorch-udacity preset against udacity/deep-learning-v2-pytorch's Style_Transfer_Solution.ipynb, transcribed.

Transcribed from the notebook and torchvision's transforms: load_image picks size = max_size when the
longest side is larger, else the longest side, and transforms.Resize(size) sets the shorter side to it
(the longer one int(size·long/short)) with PIL's bilinear resampling; the style is resized to the
content's height and width; ToTensor divides by 255, Normalize subtracts ImageNet's mean and divides by
its std. vgg19().features with in-place ReLUs (the features recorded after conv1_1 … conv5_1 and
conv4_2 are therefore post-ReLU), the content cost mean((T − C)²) at conv4_2, the style cost
Σ w_l·mean((G_T − G_S)²)/(d·h·w) with un-normalised Grams, 1·content + 1e6·style, and
torch.optim.Adam(lr=0.003) on the normalised tensor, started from the content.

The transcription runs in float64 from the float32 images on: PyTorch's own float32 gradient of this
cost is 2e-2 (max-relative) away from the float64 one on these inputs, where this project's float32
gradient is 3e-5 away, so float32 PyTorch would measure PyTorch's rounding, not the preset.
"""

import numpy as np
import PIL.Image
import pytest

import reproduction_harness as harness
import weight_fixtures

torch = pytest.importorskip("torch", reason="the reference is PyTorch code (pip install -r requirements-torch.txt)")

LAYERS = {"0": "conv1_1", "5": "conv2_1", "10": "conv3_1", "19": "conv4_1", "21": "conv4_2", "28": "conv5_1"}
STYLE_WEIGHTS = {"conv1_1": 1.0, "conv2_1": 0.75, "conv3_1": 0.2, "conv4_1": 0.2, "conv5_1": 0.2}
MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
MAX_SIZE = 41


def vgg19_features(state_dict):
    """torchvision's vgg19().features: 3×3 convolutions with padding 1, in-place ReLUs, 2×2 max pooling."""
    modules, in_channels = [], 3
    for block, (size, channels) in enumerate(zip((2, 2, 4, 4, 4), (64, 128, 256, 512, 512))):
        for _ in range(size):
            modules += [torch.nn.Conv2d(in_channels, channels, kernel_size=3, padding=1), torch.nn.ReLU(inplace=True)]
            in_channels = channels
        modules.append(torch.nn.MaxPool2d(kernel_size=2, stride=2))
    features = torch.nn.Sequential(*modules).double()
    features.load_state_dict({key[len("features."):]: value.double() for key, value in state_dict.items()})
    for parameter in features.parameters():
        parameter.requires_grad_(False)
    return features


def load_image(path, max_size=MAX_SIZE, shape=None):
    image = PIL.Image.open(path).convert("RGB")
    size = max_size if max(image.size) > max_size else max(image.size)
    if shape is not None:
        size = shape
    if isinstance(size, int):  # transforms.Resize(int): the shorter side
        width, height = image.size
        short, long = (width, height) if width <= height else (height, width)
        new_short, new_long = size, int(size * long / short)
        new_width, new_height = (new_short, new_long) if width <= height else (new_long, new_short)
    else:
        new_height, new_width = size
    image = image.resize((new_width, new_height), PIL.Image.BILINEAR)
    tensor = torch.from_numpy(np.array(image)).permute(2, 0, 1).contiguous().float().div(255)
    tensor = (tensor - torch.tensor(MEAN)[:, None, None]) / torch.tensor(STD)[:, None, None]
    return tensor[:3, :, :].unsqueeze(0).double()  # the float32 values the notebook gets, then in float64


def get_features(image, model):
    features, x = {}, image
    for name, layer in model._modules.items():
        x = layer(x)
        if name in LAYERS:
            features[LAYERS[name]] = x
    return features


def gram_matrix(tensor):
    _, d, h, w = tensor.size()
    tensor = tensor.view(d, h * w)
    return torch.mm(tensor, tensor.t())


def udacity(pth_path, content_path, style_path, iterations, normalization=(MEAN, STD)):
    """The notebook's run in pixel units: (start, start costs, gradient NHWC, {i: costs after i updates}, final)."""
    vgg = vgg19_features(torch.load(pth_path, weights_only=True))
    content = load_image(content_path)
    style = load_image(style_path, shape=content.shape[-2:])
    content_features, style_features = get_features(content, vgg), get_features(style, vgg)
    style_grams = {layer: gram_matrix(style_features[layer]) for layer in style_features}
    target = content.clone().requires_grad_(True)
    optimizer = torch.optim.Adam([target], lr=0.003)

    def losses():
        target_features = get_features(target, vgg)
        content_loss = torch.mean((target_features["conv4_2"] - content_features["conv4_2"]) ** 2)
        style_loss = 0
        for layer in STYLE_WEIGHTS:
            target_feature = target_features[layer]
            _, d, h, w = target_feature.shape
            layer_style_loss = STYLE_WEIGHTS[layer] * torch.mean((gram_matrix(target_feature) - style_grams[layer]) ** 2)
            style_loss += layer_style_loss / (d * h * w)
        return {"total": 1 * content_loss + 1e6 * style_loss, "content": content_loss, "style": style_loss}

    def pixels(tensor):
        unit = tensor.detach()[0].permute(1, 2, 0).numpy() * np.float64(STD) + np.float64(MEAN)
        return unit * 255.0

    start = pixels(target)
    costs, history = None, {}
    for step in range(iterations + 1):
        step_costs = losses()
        optimizer.zero_grad()
        step_costs["total"].backward()
        if step == 0:
            costs, gradient = step_costs, target.grad.permute(0, 2, 3, 1).numpy().copy()
        else:
            history[step] = {name: float(value.detach()) for name, value in step_costs.items()}
        if step < iterations:
            optimizer.step()
    final = pixels(target)
    return start, {name: float(value.detach()) for name, value in costs.items()}, gradient, history, final


def _inputs(tmp_path):
    layers = weight_fixtures.trained_like_vgg19_layers(seed=23)  # vgg19().features needs all sixteen
    pth_path = str(weight_fixtures.write_torchvision_pth(tmp_path / "vgg19-dcbb9e9d.pth", layers))
    content_path = harness.write_picture(tmp_path / "octopus.png", 1, (61, 45))  # shorter side 45 → 41: 55×41
    style_path = harness.write_picture(tmp_path / "hockney.png", 2, (33, 47))  # stretched to the content's 55×41
    return pth_path, content_path, style_path


def test_pytorch_udacity_preset_reproduces_the_udacity_notebook(tmp_path):
    pth_path, content_path, style_path = _inputs(tmp_path)
    reference = udacity(pth_path, content_path, style_path, harness.ITERATIONS)
    run = harness.run_preset("pytorch-udacity", content_path, style_path, pth_path, image_size=MAX_SIZE)
    assert run.start_pixels.shape == (41, 55, 3)
    # The notebook starts from the content: no random numbers, so the preset's own start is compared.
    harness.assert_reproduces(run, *reference, cost_names=("total", "content", "style"))


def test_the_old_pixel_learning_rate_would_not(tmp_path):
    """Guard: Adam at 0.003·255 on 0–255 pixels (the preset before) ends far from the notebook's image."""
    pth_path, content_path, style_path = _inputs(tmp_path)
    reference = udacity(pth_path, content_path, style_path, harness.ITERATIONS)
    pixels = harness.run_preset("pytorch-udacity", content_path, style_path, pth_path, image_size=MAX_SIZE,
                                optimization_space="pixels", learning_rate=0.003 * 255)
    assert np.abs(pixels.snapshots[harness.ITERATIONS].image - reference[4]).mean() > 1.0
