"""Johnson et al.'s (2016) perceptual losses, one value per image: feature, style and total variation."""

import tensorflow as tf

from nst import loss_conventions

# Gram matrices divided by C·H·W (Johnson et al., eq. 3), batch×H×W×C -> batch×C×C: an
# average, so the style image and the training crops may differ in size.
normalised_gram_matrix = loss_conventions.jcjohnson_gram_matrix


def feature_loss(target_activations, generated_activations):
    """Johnson et al.'s feature reconstruction loss per image: mean over H, W, C of (φ(y) − φ(ŷ))²; [batch]."""
    return tf.reduce_mean(tf.square(target_activations - generated_activations), axis=[1, 2, 3])


def style_loss(style_gram, generated_activations):
    """Squared Frobenius distance of normalised Gram matrices per image, averaged over the C² entries; shape [batch].

    style_gram is the style image's normalised_gram_matrix, 1×C×C (or batch×C×C).
    Johnson et al. use the plain squared Frobenius norm; averaging over the C² entries
    instead keeps layers of 64 and 512 channels on comparable scales, so equal layer
    weights mean roughly equal influence.
    """
    difference = normalised_gram_matrix(generated_activations) - style_gram
    return tf.reduce_mean(tf.square(difference), axis=[1, 2])


def total_variation_loss(images):
    """Mean squared difference between vertical and between horizontal neighbours, per image; shape [batch].

    In pixel units (0–255) for images in pixels: a flat image scores 0, a one-pixel
    black-and-white checkerboard 2·255².
    """
    vertical = tf.reduce_mean(tf.square(images[:, 1:, :, :] - images[:, :-1, :, :]), axis=[1, 2, 3])
    horizontal = tf.reduce_mean(tf.square(images[:, :, 1:, :] - images[:, :, :-1, :]), axis=[1, 2, 3])
    return vertical + horizontal


class PerceptualLoss:
    """The weighted training loss of a transformation network for one style, per image.

    Calling it with content images and the network's outputs (both RGB 0–255) returns
    {'content', 'style', 'total_variation', 'total'}, each a [batch] tensor already
    multiplied by its weight, so 'total' is their sum.
    """

    def __init__(self, extractor, style_pixels, content_layer, style_layers, weights):
        """extractor: an nst.vgg.FeatureExtractor covering content_layer and the style layers;
        style_pixels: H×W×3 RGB 0–255; style_layers: ((name, weight), ...);
        weights: (content_weight, style_weight, total_variation_weight)."""
        self.extractor = extractor
        self.content_layer = content_layer
        self.style_layers = tuple(style_layers)
        self.content_weight, self.style_weight, self.total_variation_weight = (float(w) for w in weights)
        style_activations = extractor(tf.convert_to_tensor(style_pixels, tf.float32)[tf.newaxis])
        # The style image never changes: its Gram matrices are constants of the training.
        self.style_grams = {
            name: normalised_gram_matrix(style_activations[name]) for name, _ in self.style_layers
        }

    def __call__(self, content_images, generated_images):
        content_target = tf.stop_gradient(self.extractor(content_images)[self.content_layer])
        generated = self.extractor(generated_images)
        content = self.content_weight * feature_loss(content_target, generated[self.content_layer])
        style = self.style_weight * tf.add_n(
            [weight * style_loss(self.style_grams[name], generated[name]) for name, weight in self.style_layers]
        )
        smoothness = self.total_variation_weight * total_variation_loss(generated_images)
        return {"content": content, "style": style, "total_variation": smoothness,
                "total": content + style + smoothness}
