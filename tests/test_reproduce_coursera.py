"""The coursera preset against the Coursera TF1 assignment, transcribed with TF1 graph ops (tf.compat.v1).

Transcribed from the assignment's nst_utils.py and notebook ("Art Generation with Neural Style
Transfer", deeplearning.ai Convolutional Neural Networks, week 4): the MatConvNet file's layers read
by position (name in field 0, the {W, b} cell in field 2) and used as stored; tf.nn.conv2d with
padding 'SAME' plus the bias, ReLU, tf.nn.avg_pool with padding 'SAME'; images minus the RGB mean
[123.68, 116.779, 103.939]; the noise drawn after np.random.seed(3) and two np.random.randn(); the
content cost at conv4_2 and the style costs as the notebook defines them; tf.train.AdamOptimizer(2.0)
minimising 10·J_content + 40·J_style.
"""

import numpy as np
import pytest
import scipy.io
import tensorflow as tf

import reproduction_harness as harness
import weight_fixtures

MEANS = np.array([123.68, 116.779, 103.939]).reshape((1, 1, 1, 3))
STYLE_LAYERS = [("conv1_1", 0.2), ("conv2_1", 0.2), ("conv3_1", 0.2), ("conv4_1", 0.2), ("conv5_1", 0.2)]
# The assignment's layer indices in the .mat's layer list (conv, relu, …, pool).
LAYER_INDICES = {"conv1_1": 0, "conv1_2": 2, "conv2_1": 5, "conv2_2": 7, "conv3_1": 10, "conv3_2": 12,
                 "conv3_3": 14, "conv3_4": 16, "conv4_1": 19, "conv4_2": 21, "conv4_3": 23, "conv4_4": 25,
                 "conv5_1": 28}
SIZE = (45, 35)  # odd: 'SAME' pooling keeps the last row or column (35 → 18 → 9 → 5 → 3)


def _load_vgg_model(path, height, width, v1):
    """The assignment's load_vgg_model: a graph from an input variable to every layer up to conv5_1."""
    vgg_layers = scipy.io.loadmat(path)["layers"]

    def weights(layer, expected_name):
        wb = vgg_layers[0][layer][0][0][2]
        kernel, bias = wb[0][0], wb[0][1]
        assert vgg_layers[0][layer][0][0][0][0] == expected_name
        return kernel, bias

    def conv2d_relu(previous, name):
        kernel, bias = weights(LAYER_INDICES[name], name)
        convolved = v1.nn.conv2d(previous, filter=v1.constant(kernel), strides=[1, 1, 1, 1], padding="SAME")
        return v1.nn.relu(convolved + v1.constant(np.reshape(bias, bias.size)))

    def avgpool(previous):
        return v1.nn.avg_pool(previous, ksize=[1, 2, 2, 1], strides=[1, 2, 2, 1], padding="SAME")

    graph = {"input": v1.Variable(np.zeros((1, height, width, 3)), dtype="float32")}
    previous = graph["input"]
    for block, size in enumerate((2, 2, 4, 4, 1), start=1):
        for index in range(1, size + 1):
            name = f"conv{block}_{index}"
            graph[name] = previous = conv2d_relu(previous, name)
        if block < 5:
            previous = avgpool(previous)
    return graph


def _content_cost(a_C, a_G):
    _, n_H, n_W, n_C = a_G.get_shape().as_list()
    return tf.reduce_sum(tf.square(tf.reshape(a_C, [-1]) - tf.reshape(a_G, [-1]))) / (4 * n_H * n_W * n_C)


def _layer_style_cost(a_S, a_G):
    _, n_H, n_W, n_C = a_G.get_shape().as_list()
    a_S = tf.transpose(tf.reshape(a_S, [n_H * n_W, n_C]))
    a_G = tf.transpose(tf.reshape(a_G, [n_H * n_W, n_C]))
    GS, GG = tf.matmul(a_S, tf.transpose(a_S)), tf.matmul(a_G, tf.transpose(a_G))
    return tf.reduce_sum(tf.square(GS - GG)) / (4 * n_C**2 * (n_H * n_W) ** 2)


def coursera_tf1(mat_path, content_uint8, style_uint8, iterations):
    """The notebook's run: (start image, start costs, gradient, {i: costs after i updates}, image after all), pixels."""
    v1 = tf.compat.v1
    content = content_uint8[np.newaxis] - MEANS
    style = style_uint8[np.newaxis] - MEANS
    np.random.seed(3)  # the total_cost test cell, which then draws two normals
    np.random.randn()
    np.random.randn()
    noise = np.random.uniform(-20, 20, content.shape).astype("float32")
    generated = noise * 0.6 + content * (1 - 0.6)
    with tf.Graph().as_default(), v1.Session() as session:
        model = _load_vgg_model(mat_path, *content.shape[1:3], v1)
        session.run(model["input"].assign(content))
        J_content = _content_cost(session.run(model["conv4_2"]), model["conv4_2"])
        session.run(model["input"].assign(style))
        J_style = 0
        for name, coefficient in STYLE_LAYERS:
            J_style += coefficient * _layer_style_cost(session.run(model[name]), model[name])
        J = 10 * J_content + 40 * J_style
        gradient = v1.gradients(J, model["input"])[0]
        train_step = v1.train.AdamOptimizer(2.0).minimize(J)
        session.run(v1.global_variables_initializer())
        session.run(model["input"].assign(generated))
        start_costs = dict(zip(("total", "content", "style"), session.run([J, J_content, J_style])))
        start_gradient = session.run(gradient)
        costs = {}
        for i in range(iterations):
            session.run(train_step)
            costs[i + 1] = dict(zip(("total", "content", "style"), session.run([J, J_content, J_style])))
        image = session.run(model["input"])[0] + MEANS[0]
    return generated[0] + MEANS[0], start_costs, start_gradient, costs, image


def test_coursera_preset_reproduces_the_tf1_assignment(tmp_path):
    layers = weight_fixtures.reverse_first_layer_channels(weight_fixtures.trained_like_vgg19_layers(seed=21, layer_count=13))
    mat_path = str(weight_fixtures.write_matconvnet_mat(tmp_path / "imagenet-vgg-verydeep-19.mat", layers,
                                                        version="new"))
    content_path = harness.write_picture(tmp_path / "content.png", 1, SIZE)
    style_path = harness.write_picture(tmp_path / "style.png", 2, SIZE)  # the assignment's images share a size
    content = np.asarray(harness.smooth_picture(1, SIZE), np.float64)
    style = np.asarray(harness.smooth_picture(2, SIZE), np.float64)

    reference = coursera_tf1(mat_path, content, style, harness.ITERATIONS)
    run = harness.run_preset("coursera", content_path, style_path, mat_path, image_size=max(SIZE))
    # The preset's own start (its noise drawn as the notebook draws it), not a given image.
    ours = harness.run_preset("coursera", content_path, style_path, mat_path, image_size=max(SIZE), iterations=1)
    np.testing.assert_allclose(ours.start_pixels, reference[0], rtol=0, atol=1e-3)

    harness.assert_reproduces(run, *reference, cost_names=("total", "content", "style"))


def test_the_pooling_border_is_what_makes_odd_sizes_agree(tmp_path):
    """Guard: the same run with Keras's border rule (drop) is far from the assignment's numbers."""
    layers = weight_fixtures.reverse_first_layer_channels(weight_fixtures.trained_like_vgg19_layers(seed=21, layer_count=13))
    mat_path = str(weight_fixtures.write_matconvnet_mat(tmp_path / "w.mat", layers, version="new"))
    content_path = harness.write_picture(tmp_path / "content.png", 1, SIZE)
    style_path = harness.write_picture(tmp_path / "style.png", 2, SIZE)
    reference = coursera_tf1(mat_path, np.asarray(harness.smooth_picture(1, SIZE), np.float64),
                             np.asarray(harness.smooth_picture(2, SIZE), np.float64), 1)
    dropped = harness.run_preset("coursera", content_path, style_path, mat_path, image_size=max(SIZE), iterations=1,
                                 pooling_border="drop")
    assert harness.relative(dropped.start_costs["style"], reference[1]["style"]) > 100 * harness.START_TOLERANCE
    with pytest.raises(AssertionError):
        harness.assert_reproduces(dropped, *reference, iterations=1)


def test_keras_and_matconvnet_files_of_one_caffe_network_paint_the_same_image(tmp_path):
    """Both files hold the Caffe VGG19, each in its real layout: the coursera preset paints the same with either."""
    keras_layers = weight_fixtures.trained_like_vgg19_layers(seed=27, layer_count=13)
    blobs = {name: kernel.transpose(3, 2, 0, 1) for name, (kernel, _) in keras_layers.items()}  # Caffe's [out, in, h, w]
    mat_layers = {name: (weight_fixtures.matconvnet_kernel_from_caffe(blobs[name], name == "block1_conv1"), bias)
                  for name, (_, bias) in keras_layers.items()}
    keras_from_blobs = {name: (weight_fixtures.keras_kernel_from_caffe(blobs[name]), bias)
                        for name, (_, bias) in keras_layers.items()}
    h5_path = str(weight_fixtures.write_keras_h5(tmp_path / "vgg19_notop.h5", keras_from_blobs))
    mat_path = str(weight_fixtures.write_matconvnet_mat(tmp_path / "vgg19.mat", mat_layers, version="old"))
    content_path = harness.write_picture(tmp_path / "content.png", 3, SIZE)
    style_path = harness.write_picture(tmp_path / "style.png", 4, SIZE)

    images = [harness.run_preset("coursera", content_path, style_path, path, image_size=max(SIZE)).result.image
              for path in (h5_path, mat_path)]
    assert np.abs(images[0] - images[1]).mean() < 0.5
    assert np.abs(images[0] - images[1]).max() < 0.5
