"""nst.web.server: the app behind its checks (Gradio's upload check on, no API listed, the password), ports, weights."""

import os
import socket
import warnings

import pytest

from nst import errors
from nst.web import config as web_config
from nst.web import page as page_module
from nst.web import server
from nst.weights import search

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from starlette.testclient import TestClient


def client_for(tmp_path, **settings):
    config = web_config.WebConfig(weights="random", **settings)
    page = page_module.Page(config, tmp_path / "sessions")
    app = server.build_app(page)
    return TestClient(app, base_url=config.url), page


def test_the_page_is_served_with_gradios_upload_check_on_and_no_api_listed(tmp_path):
    client, page = client_for(tmp_path)
    with client:
        assert client.get("/").status_code == 200
        assert page.blocks.has_launched  # processing_utils._check_allowed refuses files that were not uploaded
        assert client.get("/gradio_api/info").json() == {"named_endpoints": {}, "unnamed_endpoints": {}}
        config = client.get("/config").json()
        assert config["footer_links"] == [] and config["run_history"] is False
        assert client.get("/", headers={"Host": "evil.example:7860"}).status_code == 403
        assert client.get("/gradio_api/file=/etc/hostname").status_code == 403


def test_a_password_keeps_everything_behind_the_login(tmp_path):
    client, _ = client_for(tmp_path, password="correct horse")
    with client:
        assert client.get("/config").status_code == 401
        assert client.get("/gradio_api/info").status_code == 401
        assert client.post("/login", data={"username": "anyone", "password": "wrong"}).status_code == 400
        assert client.post("/login", data={"username": "anyone", "password": "correct horse"}).status_code == 200
        assert client.get("/config").status_code == 200


def test_a_busy_port_is_named_with_a_hint():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(errors.ConfigError, match=f"port {port} on 127.0.0.1 is in use") as refused:
            server.check_port_free("127.0.0.1", port)
    assert refused.value.hint == f"stop that one, or choose another: --port {port + 1}"
    server.check_port_free("127.0.0.1", port)  # free again


def test_missing_imagenet_weights_are_reported_to_the_page_and_bad_explicit_weights_refuse_to_start(
        tmp_path, monkeypatch):
    monkeypatch.setattr(search, "DEFAULT_SEARCH_DIRECTORIES", (tmp_path,))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    problem = server.check_weights(web_config.WebConfig(allow_download=False))
    assert isinstance(problem, errors.WeightsError) and "no ImageNet VGG19 weights found" in str(problem)
    assert problem.hint.endswith("--weights random")
    assert server.check_weights(web_config.WebConfig(weights="random")) is None
    with pytest.raises(errors.WeightsError, match="missing.h5"):
        server.check_weights(web_config.WebConfig(weights=str(tmp_path / "missing.h5")))


def test_gradios_environment_keeps_its_files_here_and_its_telemetry_off(tmp_path, monkeypatch):
    for name in ("GRADIO_TEMP_DIR", "GRADIO_ANALYTICS_ENABLED", "HF_HUB_OFFLINE", "HF_HUB_DISABLE_TELEMETRY",
                 "GRADIO_SSR_MODE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GRADIO_ALLOWED_PATHS", "/")
    server.set_gradio_environment(tmp_path)
    assert os.environ["GRADIO_TEMP_DIR"] == str(tmp_path / "gradio-cache")
    assert os.environ["GRADIO_ANALYTICS_ENABLED"] == "False" and os.environ["HF_HUB_OFFLINE"] == "1"
    assert "GRADIO_ALLOWED_PATHS" not in os.environ
