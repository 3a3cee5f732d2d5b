"""Shared fixtures: quiet TensorFlow, seeded untrained weights."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import pytest  # noqa: E402

from nst import weights  # noqa: E402


@pytest.fixture(scope="session")
def random_weights():
    """Seeded untrained VGG19 weights (the --weights random source)."""
    return weights.load_weights("random", seed=0)


@pytest.fixture
def umask_027():
    """The process umask set to 027 for one test: files must come out rw-r----- (0640), not the temporary 0600."""
    previous = os.umask(0o027)
    yield 0o640
    os.umask(previous)
