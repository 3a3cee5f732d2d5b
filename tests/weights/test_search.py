"""nst.weights.search: finding 'imagenet' (and the keras, matconvnet, torchvision keywords) on disk, or downloading it."""

import pathlib

import pytest

import weight_fixtures
from nst import weights
from nst.weights import search as weights_search


def _refuse_download(*args, **kwargs):
    raise AssertionError("no download expected")


def test_imagenet_missing_everywhere_explains_where_to_put_the_file(tmp_path, empty_keras_home):
    with pytest.raises(weights.WeightsError) as raised:
        weights.load_weights("imagenet", search_directories=[tmp_path / "pretrained-model"], allow_download=False)
    message, hint = str(raised.value), raised.value.hint
    assert "\n" not in message and "\n" not in hint  # one line of error, one of advice
    assert message.startswith("no ImageNet VGG19 weights found") and "downloading is turned off" in message
    assert str(empty_keras_home / "models") in message and str(tmp_path / "torch_home") in message
    for expected in ("pretrained-model/", weights.KERAS_NOTOP_FILENAME, weights.KERAS_NOTOP_URL,
                     weights.MATCONVNET_FILENAME, weights.MATCONVNET_PRETRAINED_PAGE, "--weights random"):
        assert expected in hint


@pytest.mark.parametrize("family, file_name", [("keras", weights.KERAS_NOTOP_FILENAME),
                                               ("matconvnet", weights.MATCONVNET_FILENAME),
                                               ("torchvision", weights.TORCHVISION_FILENAME)])
def test_a_publishers_keyword_names_only_its_file(tmp_path, empty_keras_home, family, file_name):
    with pytest.raises(weights.WeightsError) as raised:
        weights.load_weights(family, search_directories=[tmp_path], allow_download=False)
    assert f"no {family} VGG19 weights found" in str(raised.value) and file_name in raised.value.hint
    others = {weights.KERAS_NOTOP_FILENAME, weights.MATCONVNET_FILENAME, weights.TORCHVISION_FILENAME} - {file_name}
    assert not any(other in raised.value.hint for other in others)


def test_keras_keyword_skips_other_publishers_files(tmp_path, empty_keras_home, few_layers):
    weight_fixtures.write_weights_file("mat-old", tmp_path / weights.MATCONVNET_FILENAME, few_layers)
    weight_fixtures.write_weights_file("safetensors", tmp_path / weights.TORCHVISION_SAFETENSORS_FILENAME, few_layers)
    with pytest.raises(weights.WeightsError, match="no keras VGG19 weights found"):
        weights.load_weights("keras", search_directories=[tmp_path], allow_download=False)
    keras_file = weight_fixtures.write_weights_file("h5", tmp_path / weights.KERAS_FULL_FILENAME, few_layers)
    assert weights.load_weights("keras", search_directories=[tmp_path], allow_download=False).path == keras_file
    mat = weights.load_weights("matconvnet", search_directories=[tmp_path], allow_download=False)
    assert mat.path == str(tmp_path / weights.MATCONVNET_FILENAME)


def test_torchvision_keyword_finds_torch_hubs_cache(tmp_path, empty_keras_home, few_layers):
    pytest.importorskip("torch", reason="writing a .pth needs PyTorch (pip install -r requirements-torch.txt)")
    cache = tmp_path / "torch_home" / "hub" / "checkpoints"
    cache.mkdir(parents=True)
    path = weight_fixtures.write_weights_file("pth", cache / weights.TORCHVISION_FILENAME, few_layers)
    loaded = weights.load_weights("torchvision", search_directories=[tmp_path / "empty"], allow_download=False)
    assert loaded.path == path and loaded.convention == weights.TORCHVISION_CONVENTION


def test_torchvision_download_goes_through_torch_hub_with_its_hash(tmp_path, empty_keras_home, monkeypatch,
                                                                   few_layers):
    torch = pytest.importorskip("torch", reason="the torchvision download uses torch.hub")
    requests = []

    def download(url, destination, hash_prefix=None):
        requests.append((url, hash_prefix))
        weight_fixtures.write_weights_file("pth", destination, few_layers)

    monkeypatch.setattr(torch.hub, "download_url_to_file", download)
    loaded = weights.load_weights("torchvision", search_directories=[tmp_path / "empty"], allow_download=True)
    assert requests == [("https://download.pytorch.org/models/vgg19-dcbb9e9d.pth", "dcbb9e9d")]
    assert loaded.path == str(tmp_path / "torch_home" / "hub" / "checkpoints" / weights.TORCHVISION_FILENAME)


def test_imagenet_download_failure_gives_the_same_clean_error(tmp_path, empty_keras_home, monkeypatch):
    keras = pytest.importorskip("keras")
    requests = []

    def failing_get_file(*args, **kwargs):
        requests.append((args, kwargs))
        raise Exception("URL fetch failure on https://storage.googleapis.com/…: None -- no network")

    monkeypatch.setattr(keras.utils, "get_file", failing_get_file)
    with pytest.raises(weights.WeightsError) as raised:
        weights.load_weights("imagenet", search_directories=[tmp_path], allow_download=True)

    message, hint = str(raised.value), raised.value.hint
    assert "pretrained-model/" in hint and "--weights random" in hint and "URL fetch failure" in message
    assert requests == [((weights.KERAS_NOTOP_FILENAME, weights.KERAS_NOTOP_URL),
                         {"cache_subdir": "models", "file_hash": "253f8cb515780f3b799900260a226db6"})]


def test_imagenet_uses_what_keras_downloads(tmp_path, empty_keras_home, monkeypatch, few_layers):
    keras = pytest.importorskip("keras")
    downloaded = weight_fixtures.write_weights_file("h5", tmp_path / "downloaded.h5", few_layers)
    monkeypatch.setattr(keras.utils, "get_file", lambda *args, **kwargs: downloaded)

    loaded = weights.load_weights("imagenet", search_directories=[tmp_path / "empty"], allow_download=True)

    assert loaded.path == downloaded


def test_imagenet_found_in_a_search_directory(tmp_path, empty_keras_home, few_layers):
    folder = tmp_path / "pretrained-model"
    folder.mkdir()
    path = weight_fixtures.write_weights_file("h5", folder / weights.KERAS_NOTOP_FILENAME, few_layers)

    loaded = weights.load_weights("imagenet", search_directories=[tmp_path / "elsewhere", folder],
                                  allow_download=False)

    assert loaded.path == path and loaded.convention == weights.CAFFE_CONVENTION
    weight_fixtures.assert_layers_equal(loaded.layers, few_layers)


def test_imagenet_reads_the_coursera_mat_when_it_is_the_only_file(tmp_path, empty_keras_home, few_layers):
    path = weight_fixtures.write_weights_file("mat-old", tmp_path / weights.MATCONVNET_FILENAME, few_layers)
    loaded = weights.load_weights("imagenet", search_directories=[tmp_path], allow_download=False)
    assert loaded.path == path and loaded.convention.channel_order == "rgb"


def test_imagenet_prefers_keras_files_to_the_mat(tmp_path, empty_keras_home, few_layers):
    weight_fixtures.write_weights_file("mat-old", tmp_path / weights.MATCONVNET_FILENAME, few_layers)
    full = weight_fixtures.write_weights_file("h5", tmp_path / weights.KERAS_FULL_FILENAME, few_layers)
    assert weights.load_weights("imagenet", search_directories=[tmp_path], allow_download=False).path == full
    notop = weight_fixtures.write_weights_file("h5", tmp_path / weights.KERAS_NOTOP_FILENAME, few_layers)
    assert weights.load_weights("imagenet", search_directories=[tmp_path], allow_download=False).path == notop


def test_imagenet_takes_torchvisions_files_last_safetensors_first(tmp_path, empty_keras_home, few_layers):
    weight_fixtures.write_weights_file("safetensors", tmp_path / weights.TORCHVISION_FILENAME, few_layers)  # content, not name, decides
    safetensors_path = weight_fixtures.write_weights_file("safetensors", tmp_path / weights.TORCHVISION_SAFETENSORS_FILENAME, few_layers)
    found = weights.load_weights("imagenet", search_directories=[tmp_path], allow_download=False)
    assert found.path == safetensors_path and found.convention == weights.TORCHVISION_CONVENTION
    mat = weight_fixtures.write_weights_file("mat-old", tmp_path / weights.MATCONVNET_FILENAME, few_layers)
    assert weights.load_weights("imagenet", search_directories=[tmp_path], allow_download=False).path == mat


def test_imagenet_found_in_the_keras_cache(tmp_path, empty_keras_home, monkeypatch, few_layers):
    (empty_keras_home / "models").mkdir()
    path = weight_fixtures.write_weights_file("h5", empty_keras_home / "models" / weights.KERAS_NOTOP_FILENAME, few_layers)
    monkeypatch.setattr(weights_search, "_download_keras_notop_weights", _refuse_download)

    loaded = weights.load_weights("imagenet", search_directories=[tmp_path / "empty"], allow_download=True)

    assert loaded.path == path


def test_a_damaged_imagenet_file_is_reported_not_skipped(tmp_path, empty_keras_home):
    (tmp_path / weights.KERAS_NOTOP_FILENAME).write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 64)
    with pytest.raises(weights.WeightsError, match=weights.KERAS_NOTOP_FILENAME):
        weights.load_weights("imagenet", search_directories=[tmp_path], allow_download=False)


def test_default_search_directories_are_the_projects_and_the_working_folders(tmp_path, empty_keras_home,
                                                                            monkeypatch, few_layers):
    project_folder = pathlib.Path(__file__).resolve().parents[2] / "pretrained-model"
    assert weights.DEFAULT_SEARCH_DIRECTORIES[0] == project_folder
    # The second is relative, so it follows the working folder at call time.
    working_folder = weights.DEFAULT_SEARCH_DIRECTORIES[1]
    monkeypatch.setattr(weights_search, "DEFAULT_SEARCH_DIRECTORIES", (tmp_path / "empty", working_folder))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pretrained-model").mkdir()
    weight_fixtures.write_weights_file("h5", tmp_path / "pretrained-model" / weights.KERAS_NOTOP_FILENAME, few_layers)

    loaded = weights.load_weights("imagenet", allow_download=False)

    assert pathlib.Path(loaded.path).resolve() == tmp_path / "pretrained-model" / weights.KERAS_NOTOP_FILENAME
