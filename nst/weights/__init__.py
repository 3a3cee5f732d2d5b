"""VGG19 weights: where they come from (Keras, MatConvNet, torchvision, random), their input conventions, and the export.

load_weights is the one entry point. One module per source: keras_h5.py, matconvnet.py,
torchvision.py (which also writes torchvision's layout), untrained.py; formats.py tells them
apart by a file's first bytes, search.py finds ImageNet weights, conventions.py holds the input
conventions and layers.py what every reader returns. The names below are the package's public ones.
"""

import os

from nst.errors import WeightsError
from nst.weights import formats
from nst.weights import search
from nst.weights import untrained
from nst.weights.conventions import (CAFFE_CONVENTION, HALF_CONVENTION, TORCHVISION_CONVENTION, TORCHVISION_MEAN,
                                     TORCHVISION_STD, UNIT_RGB_CONVENTION, InputConvention, network_convention)
from nst.weights.formats import read_weights_file
from nst.weights.keras_h5 import (KERAS_FULL_FILENAME, KERAS_FULL_MD5, KERAS_FULL_URL, KERAS_NOTOP_FILENAME,
                                  KERAS_NOTOP_MD5, KERAS_NOTOP_URL, read_keras_h5)
from nst.weights.layers import VGG19_BLOCK_CHANNELS, VGG19_KERNEL_SHAPES, LoadedWeights
from nst.weights.matconvnet import (MATCONVNET_FILENAME, MATCONVNET_NEW_MD5, MATCONVNET_OLD_MD5,
                                    MATCONVNET_PRETRAINED_PAGE, read_matconvnet_mat)
from nst.weights.search import (DEFAULT_SEARCH_DIRECTORIES, IMAGENET_FILENAMES, PRETRAINED_FOLDER_NAME,
                                WEIGHT_FAMILIES, find_imagenet_weights, keras_cache_directory,
                                torch_hub_checkpoint_directory)
from nst.weights.torchvision import (HWIO_TO_OIHW, INPUT_CONVENTION_METADATA_KEY, OIHW_TO_HWIO,
                                     TORCH_INSTALL_HINT, TORCHVISION_FEATURE_INDICES, TORCHVISION_FILENAME,
                                     TORCHVISION_SAFETENSORS_FILENAME, TORCHVISION_URL,
                                     export_torchvision_safetensors, read_safetensors, read_torchvision_pth)
from nst.weights.untrained import random_weights

__all__ = [
    "CAFFE_CONVENTION", "DEFAULT_SEARCH_DIRECTORIES", "HALF_CONVENTION", "HWIO_TO_OIHW", "IMAGENET_FILENAMES",
    "INPUT_CONVENTION_METADATA_KEY", "KERAS_FULL_FILENAME", "KERAS_FULL_MD5", "KERAS_FULL_URL", "KERAS_NOTOP_FILENAME",
    "KERAS_NOTOP_MD5", "KERAS_NOTOP_URL", "MATCONVNET_FILENAME", "MATCONVNET_NEW_MD5", "MATCONVNET_OLD_MD5",
    "MATCONVNET_PRETRAINED_PAGE", "OIHW_TO_HWIO", "PRETRAINED_FOLDER_NAME", "TORCH_INSTALL_HINT",
    "TORCHVISION_CONVENTION", "TORCHVISION_FEATURE_INDICES", "TORCHVISION_FILENAME", "TORCHVISION_MEAN",
    "TORCHVISION_SAFETENSORS_FILENAME", "TORCHVISION_STD", "TORCHVISION_URL", "UNIT_RGB_CONVENTION",
    "VGG19_BLOCK_CHANNELS", "VGG19_KERNEL_SHAPES", "WEIGHT_FAMILIES", "InputConvention", "LoadedWeights",
    "WeightsError", "export_torchvision_safetensors", "find_imagenet_weights", "keras_cache_directory",
    "load_weights", "network_convention", "random_weights", "read_keras_h5", "read_matconvnet_mat",
    "read_safetensors", "read_torchvision_pth", "read_weights_file", "torch_hub_checkpoint_directory",
]


def load_weights(spec, seed=0, search_directories=None, allow_download=True):
    """Returns the LoadedWeights that spec names; raises WeightsError naming the file and the problem.

    spec is 'imagenet' (the first ImageNet file found, see search.find_imagenet_weights), 'keras',
    'matconvnet' or 'torchvision' (only that publisher's file), 'random' (untrained.random_weights(seed)),
    or the path of a Keras .h5, MatConvNet .mat, torchvision .pth or .safetensors file,
    recognised by its content, not its name. search_directories (default:
    search.DEFAULT_SEARCH_DIRECTORIES) and allow_download only matter for the keywords.
    """
    keyword = str(spec).strip()
    if keyword.lower() == "random":
        return untrained.random_weights(seed)
    if keyword.lower() in search.WEIGHT_FAMILIES:
        return formats.read_weights_file(search.find_imagenet_weights(search_directories, allow_download, keyword.lower()))
    return formats.read_weights_file(os.path.expanduser(keyword))
