"""The same Coursera/Gatys pipeline written in PyTorch, as a reference to compare TensorFlow's numbers with."""

import math

import numpy as np

from nst import config as config_module
from nst import errors
from nst import optimize
from nst import weights as weights_module

# nst.optimize's Adam: Keras's, with TF1's ε of 1e-8 (Keras defaults to 1e-7, PyTorch to 1e-8,
# but PyTorch adds ε at another place in the formula: see keras_equivalent_epsilon).
ADAM_BETAS = (0.9, 0.999)
ADAM_EPSILON = 1e-8


TorchUnavailableError = errors.TorchUnavailableError


def import_torch():
    """The torch module, imported on first use: PyTorch is an optional extra (requirements-torch.txt)."""
    try:
        import torch
    except ImportError:
        raise TorchUnavailableError(
            f"the PyTorch reference needs PyTorch, which is not installed: {weights_module.TORCH_INSTALL_HINT}"
        ) from None
    return torch


# ---------------------------------------------------------------------------
# The network
# ---------------------------------------------------------------------------


def build_vgg19_features(deepest_layer, pooling="avg", pooling_border="drop"):
    """torchvision's vgg19().features, cut after deepest_layer's ReLU, as a torch.nn.Sequential.

    Module indices are torchvision's (conv, ReLU, …, pool), so a torchvision state dict's
    'features.N.*' entries load into it once the 'features.' prefix is taken off. Convolutions
    pad by 1 with zeros, which for 3×3 kernels at stride 1 is what Keras's padding='same' does.
    pooling_border 'keep' pools with ceil_mode: an odd last row or column is pooled by a
    window of what it covers, as Keras's padding='same' pooling does (both average only the
    values inside the image, since no padding is added).
    """
    torch = import_torch()
    if pooling not in config_module.POOLING_MODES:
        raise ValueError(f"pooling must be one of {config_module.POOLING_MODES}, got {pooling!r}")
    pooling_module = torch.nn.AvgPool2d if pooling == "avg" else torch.nn.MaxPool2d
    names = config_module.VGG19_LAYER_NAMES
    modules = []
    for name in names[: names.index(config_module.canonical_layer_name(deepest_layer)) + 1]:
        keras_name = config_module.keras_layer_name(name)
        if len(modules) < weights_module.TORCHVISION_FEATURE_INDICES[keras_name]:
            # the slot between two blocks
            modules.append(pooling_module(kernel_size=2, stride=2, ceil_mode=pooling_border == "keep"))
        _, _, in_channels, out_channels = weights_module.VGG19_KERNEL_SHAPES[keras_name]
        modules += [torch.nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1), torch.nn.ReLU()]
    return torch.nn.Sequential(*modules)


def load_torch_weights(features, loaded_weights):
    """Copies a LoadedWeights' kernels (HWIO → OIHW) and biases into build_vgg19_features' convolutions."""
    torch = import_torch()
    for keras_name, feature_index in weights_module.TORCHVISION_FEATURE_INDICES.items():
        if feature_index >= len(features):
            continue
        if keras_name not in loaded_weights.layers:
            raise weights_module.WeightsError(
                f"{loaded_weights.path or loaded_weights.source}: has no weights for {keras_name}, "
                "which the requested layers need"
            )
        kernel, bias = loaded_weights.layers[keras_name]
        convolution = features[feature_index]
        with torch.no_grad():
            convolution.weight.copy_(torch.from_numpy(
                np.ascontiguousarray(np.transpose(kernel, weights_module.HWIO_TO_OIHW), np.float32)))
            convolution.bias.copy_(torch.from_numpy(np.asarray(bias, np.float32).reshape(-1)))


class TorchFeatureExtractor:
    """nst.vgg.FeatureExtractor in PyTorch: RGB 0–255 images (batch×H×W×3) -> {layer name: activation}.

    Activations are batch×C×H×W, PyTorch's layout, taken after each convolution's ReLU
    (Keras's Conv2D includes the ReLU). The weights' input convention is applied first,
    in the same order as InputConvention.preprocess.
    """

    def __init__(self, layer_names, loaded_weights, pooling="avg", pooling_border="drop"):
        torch = import_torch()
        self.layer_names = tuple(config_module.canonical_layer_name(name) for name in layer_names)
        order = config_module.VGG19_LAYER_NAMES
        self.features = build_vgg19_features(max(self.layer_names, key=order.index), pooling, pooling_border)
        load_torch_weights(self.features, loaded_weights)
        self.features.requires_grad_(False)
        self.features.eval()
        convention = loaded_weights.convention
        self.convention = convention
        self._mean = torch.tensor(convention.mean, dtype=torch.float32)
        self._std = torch.tensor(convention.std, dtype=torch.float32)
        self._pixel_scale = convention.pixel_scale
        # The module whose output is a layer's activation: its ReLU, right after the convolution.
        self._relu_positions = {
            weights_module.TORCHVISION_FEATURE_INDICES[config_module.keras_layer_name(name)] + 1: name
            for name in self.layer_names
        }

    def __call__(self, rgb_pixels):
        torch = import_torch()
        scaled = torch.as_tensor(rgb_pixels, dtype=torch.float32)
        if self._pixel_scale != 1.0:
            scaled = scaled / self._pixel_scale
        network_input = (scaled - self._mean) / self._std
        if self.convention.channel_order == "bgr":
            network_input = network_input.flip(-1)
        tensor = network_input.permute(0, 3, 1, 2)
        activations = {}
        for position, module in enumerate(self.features):
            tensor = module(tensor)
            if position in self._relu_positions:
                activations[self._relu_positions[position]] = tensor
        return activations


def to_channels_last(activation):
    """A batch×C×H×W torch activation as a batch×H×W×C float32 NumPy array, TensorFlow's layout."""
    return activation.detach().permute(0, 2, 3, 1).numpy()


# ---------------------------------------------------------------------------
# The costs (nst.losses, for batch×C×H×W tensors)
# ---------------------------------------------------------------------------


def gram_matrix(activations):
    """Un-normalised Gram matrices: batch×C×H×W -> batch×C×C, G[c, d] = Σ_ij a[c, i, j]·a[d, i, j]."""
    return import_torch().einsum("bchw,bdhw->bcd", activations, activations)


def content_cost(content_activations, generated_activations):
    """J_content = Σ(a_C − a_G)² / (4·nH·nW·nC), nst.losses.content_cost."""
    _, channels, height, width = generated_activations.shape
    squared_error = ((content_activations - generated_activations) ** 2).sum()
    return squared_error / (4.0 * height * width * channels)


def gram_style_cost(style_gram, generated_activations):
    """J_style^[l] = Σ(G_S − G_G)² / (4·nC²·(nH·nW)²) from the style Gram, nst.losses.gram_style_cost."""
    _, channels, height, width = generated_activations.shape
    squared_error = ((style_gram - gram_matrix(generated_activations)) ** 2).sum()
    return squared_error / (4.0 * channels**2 * (height * width) ** 2)


def layer_style_cost(style_activations, generated_activations):
    """J_style^[l] from both images' activations, nst.losses.layer_style_cost."""
    return gram_style_cost(gram_matrix(style_activations), generated_activations)


def total_cost(content, style, content_weight=10, style_weight=40):
    """J = α·J_content + β·J_style, nst.losses.total_cost."""
    return content_weight * content + style_weight * style


class TorchCostFunction:
    """nst.optimize.CostFunction in PyTorch: targets computed once, then {'total', 'content', 'style'} per image."""

    def __init__(self, extractor, content_pixels, style_pixels, content_layer, style_layers, content_weight,
                 style_weight):
        torch = import_torch()
        self.extractor = extractor
        self.content_layer = content_layer
        self.style_layers = tuple(style_layers)  # ((name, weight), ...)
        self.content_weight = float(content_weight)
        self.style_weight = float(style_weight)
        with torch.no_grad():
            self.content_target = extractor(np.asarray(content_pixels, np.float32)[np.newaxis])[content_layer]
            style_activations = extractor(np.asarray(style_pixels, np.float32)[np.newaxis])
            self.style_grams = {name: gram_matrix(style_activations[name]) for name, _ in self.style_layers}

    def __call__(self, image_batch):
        activations = self.extractor(image_batch)
        content = content_cost(self.content_target, activations[self.content_layer])
        # Summed in the same order as tf.add_n over the same list in nst.optimize.
        style = sum(
            (weight * gram_style_cost(self.style_grams[name], activations[name]) for name, weight in self.style_layers),
            start=import_torch().zeros(()),
        )
        return {"total": total_cost(content, style, self.content_weight, self.style_weight), "content": content, "style": style}


# ---------------------------------------------------------------------------
# The Adam loop (nst.optimize.run_adam)
# ---------------------------------------------------------------------------


def _costs(tensors):
    return optimize.Costs(**{name: value.detach().item() for name, value in tensors.items()})


def keras_equivalent_epsilon(step, epsilon=ADAM_EPSILON, beta_2=ADAM_BETAS[1]):
    """The ε that makes torch.optim.Adam's update number `step` (1, 2, …) equal Keras's (and TF1's) with epsilon.

    Both divide the bias-corrected first moment by the square root of the second, but ε
    enters at different places: Keras's step is lr·√(1 − β₂ᵗ)/(1 − β₁ᵗ) · m / (√v + ε),
    PyTorch's lr/(1 − β₁ᵗ) · m / (√v / √(1 − β₂ᵗ) + ε). They agree when PyTorch's ε is
    Keras's divided by √(1 − β₂ᵗ): 31.6 times larger at the first step, about equal after
    a few thousand. The difference only shows where gradients come near ε, which they do
    with torchvision-normalised weights (pixel gradients around 1e-6), not with caffe ones.
    """
    return epsilon / math.sqrt(1.0 - beta_2**step)


def run_adam(cost_function, start_image, iterations, learning_rate, print_every, callbacks=optimize.Callbacks()):
    """nst.optimize.run_adam with torch.optim.Adam; same snapshots, same non-finite guard, an OptimizationResult.

    Adam's settings are nst.optimize's (β 0.9 and 0.999, ε 1e-8), and ε is set before each
    step to keras_equivalent_epsilon, so the two loops compute the same update.
    """
    torch = import_torch()
    image = torch.tensor(np.asarray(start_image, np.float32)[np.newaxis], requires_grad=True)
    optimizer = torch.optim.Adam([image], lr=learning_rate, betas=ADAM_BETAS, eps=ADAM_EPSILON)

    def step(iteration):
        optimizer.zero_grad(set_to_none=True)
        cost_tensors = cost_function(image)
        cost_tensors["total"].backward()
        applied = bool(torch.isfinite(cost_tensors["total"])) and bool(torch.isfinite(image.grad).all())
        if applied:
            optimizer.param_groups[0]["eps"] = keras_equivalent_epsilon(iteration + 1)
            optimizer.step()
        return _costs(cost_tensors), applied

    def final_costs():
        with torch.no_grad():
            return _costs(cost_function(image))

    return optimize.run_update_loop(step, lambda: image.detach().numpy()[0].copy(), tuple, final_costs, iterations,
                                    print_every, callbacks)
