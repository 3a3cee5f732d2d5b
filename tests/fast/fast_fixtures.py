"""Tiny synthetic training folders and pictures for the fast style transfer tests, made at run time."""

import numpy as np
from PIL import Image


def smooth_picture(seed, size=(48, 40)):
    """A smooth H×W×3 uint8 picture of waves, different for every seed (photo-like: mostly low frequencies)."""
    width, height = size
    rows, columns = np.mgrid[0:height, 0:width].astype(np.float32)
    generator = np.random.default_rng(seed)
    periods = generator.uniform(3, 12, 3)
    channels = [np.sin(columns / periods[0]), np.cos(rows / periods[1]), np.sin((rows + columns) / periods[2])]
    return (np.stack(channels, axis=-1) * 110 + 128).astype(np.uint8)


def write_training_folder(folder, count=4, size=(48, 40), broken=0):
    """count smooth PNGs (and `broken` files that are not images) in folder; returns the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    for index in range(count):
        Image.fromarray(smooth_picture(index, size)).save(folder / f"photo_{index}.png")
    for index in range(broken):
        (folder / f"broken_{index}.jpg").write_text("not an image")
    return folder


def style_pixels(size=32, seed=100):
    """A noisy H×W×3 float32 style image: strong texture, quite unlike the smooth training pictures."""
    return np.random.default_rng(seed).uniform(0, 255, (size, size, 3)).astype(np.float32)


def write_picture(path, size=(48, 40), seed=0):
    Image.fromarray(smooth_picture(seed, size)).save(path)
    return str(path)


def perturbed(model, seed=1, scale=0.1):
    """model with seeded noise on every weight, so normalisation scales and offsets are not all 1 and 0."""
    generator = np.random.default_rng(seed)
    model.set_weights([w + generator.normal(0, scale, w.shape).astype(np.float32) for w in model.get_weights()])
    return model
