"""The tf-tutorial preset against TensorFlow's "Neural style transfer" tutorial, transcribed.

Transcribed from tensorflow/docs' style_transfer.ipynb: load_img decodes, converts to float (×1/255),
scales the longest side to max_dim in float32 and truncates both sides, and resizes with
tf.image.resize's bilinear (no antialiasing); the style keeps its own aspect ratio. Keras's VGG19 (max
pooling, 'valid') fed preprocess_input(image·255); Grams divided by the number of locations; the style
loss Σ mean((G − A)²)·style_weight/5, the content loss mean((F − P)²)·content_weight; total variation
weight 30 on the 0–1 image; Adam(0.02, β1 0.99, ε 0.1) on the image, clipped to [0, 1] after every step.

The tutorial's run is chaotic at float32's scale: started from its content image changed by 1e-7, it
ends 0.07–0.4 gray levels (mean) from itself after 10 steps, its small content cost up to 4e-2 apart
(measured on six fixtures; Adam's 5-gray-level steps through max pooling, whose gradient jumps when
two values of a window trade places). The start checks are exact; after 10 steps the tolerances are
the issue's or twice the tutorial's own spread on the same inputs, whichever is larger.
"""

import numpy as np
import tensorflow as tf

import reproduction_harness as harness
import weight_fixtures

MAX_DIM = 45
CONTENT_LAYERS = ["block5_conv2"]
STYLE_LAYERS = ["block1_conv1", "block2_conv1", "block3_conv1", "block4_conv1", "block5_conv1"]
STYLE_WEIGHT, CONTENT_WEIGHT, TOTAL_VARIATION_WEIGHT = 1e-2, 1e4, 30


def load_img(path_to_img):
    img = tf.io.read_file(path_to_img)
    img = tf.image.decode_image(img, channels=3)
    img = tf.image.convert_image_dtype(img, tf.float32)
    shape = tf.cast(tf.shape(img)[:-1], tf.float32)
    long_dim = max(shape)
    scale = MAX_DIM / long_dim
    new_shape = tf.cast(shape * scale, tf.int32)
    img = tf.image.resize(img, new_shape)
    return img[tf.newaxis, :]


def gram_matrix(input_tensor):
    result = tf.linalg.einsum("bijc,bijd->bcd", input_tensor, input_tensor)
    input_shape = tf.shape(input_tensor)
    num_locations = tf.cast(input_shape[1] * input_shape[2], tf.float32)
    return result / num_locations


class StyleContentModel(tf.keras.models.Model):
    def __init__(self, h5_path):
        super().__init__()
        vgg = tf.keras.applications.VGG19(include_top=False, weights=h5_path)
        vgg.trainable = False
        outputs = [vgg.get_layer(name).output for name in STYLE_LAYERS + CONTENT_LAYERS]
        self.vgg = tf.keras.Model([vgg.input], outputs)

    def call(self, inputs):
        inputs = inputs * 255.0
        preprocessed_input = tf.keras.applications.vgg19.preprocess_input(inputs)
        outputs = self.vgg(preprocessed_input)
        style_outputs = [gram_matrix(output) for output in outputs[:len(STYLE_LAYERS)]]
        return {"content": dict(zip(CONTENT_LAYERS, outputs[len(STYLE_LAYERS):])),
                "style": dict(zip(STYLE_LAYERS, style_outputs))}


def tf_tutorial(h5_path, content_path, style_path, iterations, content_change=0.0):
    """The tutorial's run in pixel units: (start, start costs, gradient, {i: costs after i updates}, final).

    content_change multiplies the content image by 1 + content_change (for own_spread).
    """
    content_image, style_image = load_img(content_path) * (1.0 + content_change), load_img(style_path)
    extractor = StyleContentModel(h5_path)
    style_targets = extractor(style_image)["style"]
    content_targets = extractor(content_image)["content"]
    image = tf.Variable(content_image)
    opt = tf.keras.optimizers.Adam(learning_rate=0.02, beta_1=0.99, epsilon=1e-1)

    def losses(image):
        outputs = extractor(image)
        style = tf.add_n([tf.reduce_mean((outputs["style"][name] - style_targets[name]) ** 2) for name in STYLE_LAYERS])
        content = tf.add_n([tf.reduce_mean((outputs["content"][name] - content_targets[name]) ** 2)
                            for name in CONTENT_LAYERS])
        loss = style * STYLE_WEIGHT / len(STYLE_LAYERS) + content * CONTENT_WEIGHT / len(CONTENT_LAYERS)
        loss += TOTAL_VARIATION_WEIGHT * tf.image.total_variation(image)
        # In this project's units: the unweighted content cost, the style costs with the 1/5 layer weights.
        return {"total": loss[0], "content": content, "style": style / len(STYLE_LAYERS)}

    @tf.function()
    def train_step(image):
        with tf.GradientTape() as tape:
            loss = losses(image)["total"]
        grad = tape.gradient(loss, image)
        opt.apply_gradients([(grad, image)])
        image.assign(tf.clip_by_value(image, clip_value_min=0.0, clip_value_max=1.0))

    with tf.GradientTape() as tape:
        start_costs = losses(image)
    gradient = tape.gradient(start_costs["total"], image).numpy()
    start = image.numpy()[0].astype(np.float64) * 255.0
    costs = {}
    for i in range(iterations):
        train_step(image)
        costs[i + 1] = {name: float(value) for name, value in losses(image).items()}
    return start, {name: float(value) for name, value in start_costs.items()}, gradient, costs, \
        image.numpy()[0].astype(np.float64) * 255.0


def test_tf_tutorial_preset_reproduces_the_tensorflow_tutorial(tmp_path):
    layers = weight_fixtures.trained_like_vgg19_layers(seed=25)  # keras.applications loads all sixteen
    h5_path = str(weight_fixtures.write_keras_h5(tmp_path / "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5",
                                                 layers))
    content_path = harness.write_picture(tmp_path / "YellowLabradorLooking_new.png", 1, (61, 40))
    style_path = harness.write_picture(tmp_path / "Vassily_Kandinsky.png", 2, (50, 70))  # keeps its own aspect

    reference = tf_tutorial(h5_path, content_path, style_path, harness.ITERATIONS)
    perturbed = tf_tutorial(h5_path, content_path, style_path, harness.ITERATIONS, content_change=1e-7)
    run = harness.run_preset("tf-tutorial", content_path, style_path, h5_path, image_size=MAX_DIM)

    names = ("total", "content", "style")
    spread_costs, spread_image = harness.own_spread(reference, perturbed, names)
    assert run.start_pixels.shape == reference[0].shape
    harness.assert_reproduces(
        run, *reference, cost_names=names,
        cost_tolerance={name: max(harness.COST_TOLERANCE, 2 * spread_costs[name]) for name in names},
        image_tolerance=max(harness.IMAGE_TOLERANCE_GRAY_LEVELS, 2 * spread_image))
