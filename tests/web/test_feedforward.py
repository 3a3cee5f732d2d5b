"""nst.web.feedforward: the models folder's networks by name, and uploads stylised with one of them."""

import numpy as np
import pytest
from PIL import Image

from fast_fixtures import perturbed
from nst import errors
from nst.fast import network
from nst.fast import outputs as fast_outputs
from nst.web import feedforward
from nst.web import uploads


def touch(path):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")
    return path


def test_the_listing_names_every_network_fast_main_writes_and_nothing_else(tmp_path):
    touch(tmp_path / "swirls" / "transform_net.keras")
    touch(tmp_path / "swirls" / "checkpoints" / "ckpt-1.index")
    touch(tmp_path / "swirls" / "export" / "saved_model" / "saved_model.pb")
    touch(tmp_path / "swirls" / "export" / "saved_model" / "variables" / "variables.index")
    touch(tmp_path / "swirls" / "export" / "transform_net_int8.tflite")
    touch(tmp_path / "mosaic.keras")
    touch(tmp_path / "notes.txt")
    touch(tmp_path / ".hidden" / "transform_net.keras")
    models = feedforward.list_models(tmp_path)
    assert list(models) == ["mosaic.keras", "swirls", "swirls/export/saved_model",
                            "swirls/export/transform_net_int8.tflite"]
    assert models["swirls"] == tmp_path / "swirls"
    assert feedforward.list_models(tmp_path / "missing") == {}


@pytest.fixture(scope="module")
def tab(tmp_path_factory):
    models = tmp_path_factory.mktemp("models")
    (models / "tiny").mkdir()
    fast_outputs.save_model(perturbed(network.build_transform_net(0.25), seed=7), models / "tiny")
    upload_folder = tmp_path_factory.mktemp("cache")
    return feedforward.FeedForwardTab(models, upload_folder, uploads.UploadLimits(10_000_000, 1_000_000))


def upload(tab, name, size, seed=0):
    path = tab.upload_folder / f"{seed:04d}" / name
    path.parent.mkdir(exist_ok=True)
    pixels = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    Image.fromarray(pixels).save(path)
    return str(path)


def test_uploads_are_stylised_at_their_size_or_scaled_down(tab, tmp_path):
    pictures = [upload(tab, "photo.png", (40, 30)), upload(tab, "photo.png", (64, 32), seed=1)]
    written = tab.stylize("tiny", pictures, 0, tmp_path / "out")
    assert [path.name for path in written] == ["photo.png", "photo_2.png"]
    assert [Image.open(path).size for path in written] == [(40, 30), (64, 32)]
    assert Image.open(tab.stylize("tiny", pictures[1:], 32, tmp_path / "small")[0]).size == (32, 16)


def test_only_listed_networks_and_uploaded_pictures_are_used(tab, tmp_path):
    picture = upload(tab, "photo.png", (40, 30))
    for name in ("../tiny", "/etc", str(tab.models_dir / "tiny"), "missing"):
        with pytest.raises(errors.ConfigError, match="no network"):
            tab.stylize(name, [picture], 0, tmp_path / "out")
    with pytest.raises(errors.ImageError, match="not a file uploaded to this page"):
        tab.stylize("tiny", [str(tab.models_dir / "tiny" / "transform_net.keras")], 0, tmp_path / "out")
    with pytest.raises(errors.ConfigError, match="upload one or more pictures"):
        tab.stylize("tiny", [], 0, tmp_path / "out")
