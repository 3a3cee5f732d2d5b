"""Pure tensor cost functions of the Coursera formulation of Gatys et al. (2015)."""

import tensorflow as tf


def _spatial_sizes(activations):
    """Returns (nH·nW, nC) of a batch×H×W×C tensor as float32 scalars, static where known."""
    shape = tf.shape(activations)
    locations = tf.cast(shape[1] * shape[2], tf.float32)
    channels = tf.cast(shape[3], tf.float32)
    return locations, channels


def gram_matrix(activations):
    """Un-normalised Gram matrices: batch×H×W×C -> batch×C×C, G[c, d] = Σ_ij a[i, j, c]·a[i, j, d]."""
    return tf.einsum("bijc,bijd->bcd", activations, activations)


def content_cost(content_activations, generated_activations):
    """J_content = Σ(a_C − a_G)² / (4·nH·nW·nC), the Coursera normalisation.

    Gatys et al. use ½·Σ(a_C − a_G)²; the Coursera assignment divides by
    4·nH·nW·nC instead so the value does not grow with the image size.
    """
    locations, channels = _spatial_sizes(generated_activations)
    squared_error = tf.reduce_sum(tf.square(content_activations - generated_activations))
    return squared_error / (4.0 * locations * channels)


def layer_style_cost(style_activations, generated_activations):
    """J_style^[l] = Σ(G_S − G_G)² / (4·nC²·(nH·nW)²), as in Gatys et al. and the Coursera assignment."""
    return gram_style_cost(gram_matrix(style_activations), generated_activations)


def gram_style_cost(style_gram, generated_activations):
    """layer_style_cost with the style image's Gram matrix computed once beforehand.

    The optimisation loop uses this form: the style image never changes, so its
    Gram matrices are constants and need not be recomputed at every step.
    """
    locations, channels = _spatial_sizes(generated_activations)
    squared_error = tf.reduce_sum(tf.square(style_gram - gram_matrix(generated_activations)))
    return squared_error / (4.0 * tf.square(channels) * tf.square(locations))


def style_cost(style_activations, generated_activations, layer_weights):
    """J_style = Σ_l λ_l·J_style^[l].

    The three arguments are sequences in the same layer order, or dicts keyed by layer name.
    """
    if isinstance(layer_weights, dict):
        names = list(layer_weights)
        style_activations = [style_activations[name] for name in names]
        generated_activations = [generated_activations[name] for name in names]
        layer_weights = [layer_weights[name] for name in names]
    if not (len(style_activations) == len(generated_activations) == len(layer_weights)):
        raise ValueError(
            f"style_cost needs one weight per layer: got {len(style_activations)} style, "
            f"{len(generated_activations)} generated activations and {len(layer_weights)} weights"
        )
    costs = [
        weight * layer_style_cost(style, generated)
        for style, generated, weight in zip(style_activations, generated_activations, layer_weights)
    ]
    return tf.add_n(costs)


def total_cost(content_cost, style_cost, content_weight=10, style_weight=40):
    """J = α·J_content + β·J_style: the Coursera assignment's total, α the content weight and β the style weight."""
    return content_weight * content_cost + style_weight * style_cost


def total_variation_cost(images):
    """Σ over the batch of tf.image.total_variation: absolute differences of neighbouring pixels, in pixel units.

    Added by this project (not in the Coursera assignment) to smooth high-frequency
    noise, as Johnson et al. and jcjohnson/neural-style do.
    """
    return tf.reduce_sum(tf.image.total_variation(tf.convert_to_tensor(images, tf.float32)))


def squared_total_variation_cost(images):
    """½·Σ of squared right and down neighbour differences over the image minus its last row and column.

    jcjohnson/neural-style's TVLoss (used by the gatys preset) adds exactly this cost's gradient
    to the image's and reports no value: the horizontal differences of the last row and the
    vertical ones of the last column are left out, as there.
    """
    images = tf.convert_to_tensor(images, tf.float32)
    interior = images[:, :-1, :-1, :]
    across = interior - images[:, :-1, 1:, :]
    down = interior - images[:, 1:, :-1, :]
    return 0.5 * (tf.reduce_sum(tf.square(across)) + tf.reduce_sum(tf.square(down)))
