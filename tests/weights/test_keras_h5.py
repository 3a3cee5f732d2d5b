"""nst.weights.keras_h5: Keras's VGG19 .h5 files (notop and whole models), read in the Caffe convention."""

import h5py
import pytest

import weight_fixtures
from nst import weights


@pytest.mark.parametrize("weight_name_style", ["keras1", "keras2"])
def test_keras_own_vgg19_loads_the_fixture_h5(tmp_path, weight_name_style):
    """keras.applications.VGG19 reads the fixture exactly: it is in Keras's real weights format."""
    keras = pytest.importorskip("keras")
    layers = weight_fixtures.random_vgg19_layers(seed=3)
    path = str(weight_fixtures.write_keras_h5(
        tmp_path / weights.KERAS_NOTOP_FILENAME, layers, weight_name_style=weight_name_style))

    model = keras.applications.VGG19(include_top=False, weights=path)

    keras_layers = {name: tuple(model.get_layer(name).get_weights()) for name in layers}
    weight_fixtures.assert_layers_equal(keras_layers, layers)
    weight_fixtures.assert_layers_equal(weights.load_weights(path).layers, layers)


@pytest.mark.parametrize("kind", ["h5", "h5-keras2"])
def test_keras_h5_uses_the_caffe_convention(tmp_path, few_layers, kind):
    path = weight_fixtures.write_weights_file(kind, tmp_path / "weights.h5", few_layers)
    loaded = weights.load_weights(path)
    assert loaded.convention == weights.CAFFE_CONVENTION
    assert loaded.path == path and path in loaded.source and loaded.warning is None


def test_a_whole_model_h5_is_read_from_its_model_weights_group(tmp_path, few_layers):
    """model.save(... .h5) nests the same layout under 'model_weights'."""
    weights_path = weight_fixtures.write_keras_h5(tmp_path / "weights.h5", few_layers)
    with h5py.File(weights_path, "r") as source, h5py.File(tmp_path / "model.h5", "w") as model_file:
        model_file.attrs["model_config"] = b"{}"
        group = model_file.create_group("model_weights")
        group.attrs.update(source.attrs)
        for name in source:
            source.copy(source[name], group)

    weight_fixtures.assert_layers_equal(weights.load_weights(str(tmp_path / "model.h5")).layers, few_layers)
