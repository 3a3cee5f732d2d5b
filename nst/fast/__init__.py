"""Fast (feed-forward) style transfer, Johnson et al. (2016): a network trained once per style stylises in one pass.

network.py holds the transformation network and kernels.py its inference-only layers; data.py the
training images, losses.py the perceptual loss, training.py and checkpoints.py training under
tf.distribute (distribution.py); stylize.py runs a trained network on images and videos, export.py
writes SavedModel and TFLite files; outputs.py the files a training folder holds; api.py the
Python API (nst.stylize_fast); registration.py lets Keras load the network's layers.
"""
