"""Fixtures of the nst.weights tests: a few random layers, and caches that never answer from the real home folder."""

import pytest

import weight_fixtures


@pytest.fixture(scope="module")
def few_layers():
    return weight_fixtures.random_vgg19_layers(seed=11, layer_count=weight_fixtures.FEW_LAYERS)


@pytest.fixture
def empty_keras_home(tmp_path, monkeypatch):
    """Points Keras's and torch.hub's caches at empty folders, so a real ~/.keras or ~/.cache never answers a test."""
    keras_home = tmp_path / "keras_home"
    keras_home.mkdir()
    monkeypatch.setenv("KERAS_HOME", str(keras_home))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    return keras_home
