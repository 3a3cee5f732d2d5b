"""The coursera-tf2 preset against the Coursera assignment's TensorFlow 2 version, transcribed.

Transcribed from the TF2 notebook ("Art_Generation_with_Neural_Style_Transfer.ipynb") and its
public_tests.py: images opened with PIL and resized to img_size × img_size (PIL's default resampling),
tf.keras.applications.VGG19(include_top=False) from the weights file, fed the 0–1 image as it is (no
preprocess_input), outputs block1_conv1 … block5_conv1 then block5_conv4; the generated image the
content plus tf.random.uniform(−0.25, 0.25) drawn after the tests' last tf.random.set_seed(1) and its
two normals, clipped; Adam(learning_rate=0.01); train_step returns J before its update and clips the
image to [0, 1] after it.
"""

import numpy as np
import PIL.Image
import tensorflow as tf

import reproduction_harness as harness
import weight_fixtures

STYLE_LAYERS = [("block1_conv1", 0.2), ("block2_conv1", 0.2), ("block3_conv1", 0.2), ("block4_conv1", 0.2),
                ("block5_conv1", 0.2)]
CONTENT_LAYER = [("block5_conv4", 1)]
IMG_SIZE = 45  # odd: Keras's pooling drops the last row and column (45 → 22 → 11 → 5 → 2)


def compute_content_cost(content_output, generated_output):
    a_C, a_G = content_output[-1], generated_output[-1]
    _, n_H, n_W, n_C = a_G.get_shape().as_list()
    a_C_unrolled = tf.reshape(a_C, shape=[1, n_H * n_W, n_C])
    a_G_unrolled = tf.reshape(a_G, shape=[1, n_H * n_W, n_C])
    return tf.reduce_sum(tf.square(a_C_unrolled - a_G_unrolled)) / (4.0 * n_H * n_W * n_C)


def compute_layer_style_cost(a_S, a_G):
    _, n_H, n_W, n_C = a_G.get_shape().as_list()
    a_S = tf.transpose(tf.reshape(a_S, shape=[n_H * n_W, n_C]))
    a_G = tf.transpose(tf.reshape(a_G, shape=[n_H * n_W, n_C]))
    GS, GG = tf.matmul(a_S, tf.transpose(a_S)), tf.matmul(a_G, tf.transpose(a_G))
    return tf.reduce_sum(tf.square(GS - GG)) / (4.0 * (n_C**2) * (n_H * n_W) ** 2)


def compute_style_cost(style_image_output, generated_image_output):
    J_style = 0
    for i, weight in zip(range(len(STYLE_LAYERS)), STYLE_LAYERS):
        J_style += weight[1] * compute_layer_style_cost(style_image_output[:-1][i], generated_image_output[:-1][i])
    return J_style


def coursera_tf2(h5_path, content_path, style_path, iterations):
    """The notebook's run in pixel units: (start, start costs, gradient, {i: costs after i updates}, final image)."""
    tf.random.set_seed(272)
    content_image = np.array(PIL.Image.open(content_path).resize((IMG_SIZE, IMG_SIZE)))
    content_image = tf.constant(np.reshape(content_image, ((1,) + content_image.shape)))
    style_image = np.array(PIL.Image.open(style_path).resize((IMG_SIZE, IMG_SIZE)))
    style_image = tf.constant(np.reshape(style_image, ((1,) + style_image.shape)))
    tf.random.set_seed(1)  # compute_layer_style_cost_test, the last test run before the noise
    tf.random.normal([1, 4, 4, 3], mean=1, stddev=4)
    tf.random.normal([1, 4, 4, 3], mean=1, stddev=4)
    generated_image = tf.Variable(tf.image.convert_image_dtype(content_image, tf.float32))
    noise = tf.random.uniform(tf.shape(generated_image), -0.25, 0.25)
    generated_image = tf.clip_by_value(tf.add(generated_image, noise), clip_value_min=0.0, clip_value_max=1.0)
    vgg = tf.keras.applications.VGG19(include_top=False, input_shape=(IMG_SIZE, IMG_SIZE, 3), weights=h5_path)
    vgg.trainable = False
    outputs = [vgg.get_layer(layer[0]).output for layer in STYLE_LAYERS + CONTENT_LAYER]
    vgg_model_outputs = tf.keras.Model([vgg.input], outputs)
    a_C = vgg_model_outputs(tf.Variable(tf.image.convert_image_dtype(content_image, tf.float32)))
    a_S = vgg_model_outputs(tf.Variable(tf.image.convert_image_dtype(style_image, tf.float32)))
    optimizer = tf.keras.optimizers.Adam(learning_rate=0.01)
    generated_image = tf.Variable(generated_image)
    start = generated_image.numpy()[0] * 255.0

    def costs_of(image):
        a_G = vgg_model_outputs(image)
        J_content = compute_content_cost(a_C, a_G)
        J_style = compute_style_cost(a_S, a_G)
        return {"total": 10 * J_content + 40 * J_style, "content": J_content, "style": J_style}

    with tf.GradientTape() as tape:
        start_costs = costs_of(generated_image)
    gradient = tape.gradient(start_costs["total"], generated_image).numpy()

    @tf.function()
    def train_step(generated_image):
        with tf.GradientTape() as tape:
            a_G = vgg_model_outputs(generated_image)
            J_style = compute_style_cost(a_S, a_G)
            J_content = compute_content_cost(a_C, a_G)
            J = 10 * J_content + 40 * J_style
        grad = tape.gradient(J, generated_image)
        optimizer.apply_gradients([(grad, generated_image)])
        generated_image.assign(tf.clip_by_value(generated_image, clip_value_min=0.0, clip_value_max=1.0))
        return J

    costs = {}
    for i in range(iterations):
        train_step(generated_image)
        costs[i + 1] = {name: float(value) for name, value in costs_of(generated_image).items()}
    return start, {name: float(value) for name, value in start_costs.items()}, gradient, costs, \
        generated_image.numpy()[0] * 255.0


def test_coursera_tf2_preset_reproduces_the_tf2_assignment(tmp_path):
    layers = weight_fixtures.trained_like_vgg19_layers(seed=22)  # all sixteen: keras.applications loads them all
    h5_path = str(weight_fixtures.write_keras_h5(tmp_path / "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5",
                                                 layers))
    content_path = harness.write_picture(tmp_path / "louvre_small.png", 1, (61, 45))  # 4:3, squashed to a square
    style_path = harness.write_picture(tmp_path / "monet.png", 2, (50, 47))

    reference = coursera_tf2(h5_path, content_path, style_path, harness.ITERATIONS)
    run = harness.run_preset("coursera-tf2", content_path, style_path, h5_path, image_size=IMG_SIZE)

    harness.assert_reproduces(run, *reference, cost_names=("total", "content", "style"))
