"""nst.web.config: the server's settings are checked, and a wildcard address is refused with the reason."""

import pytest

from nst import errors
from nst.web import config as web_config


def test_the_defaults_serve_this_machine_only_on_gradios_usual_port():
    config = web_config.WebConfig()
    assert (config.host, config.port, config.url) == ("127.0.0.1", 7860, "http://127.0.0.1:7860")
    assert config.is_loopback and config.weights is None and config.password is None
    assert config.max_upload_bytes == 20 * 1024 * 1024


@pytest.mark.parametrize("changes, message", [
    ({"host": "0.0.0.0"}, "listens on every interface"),
    ({"host": "::"}, "listens on every interface"),
    ({"port": 0}, "--port must be at least 1"),
    ({"port": 70000}, "--port must be at most 65535"),
    ({"max_upload_megabytes": 0}, "--max_upload_mb must be above 0"),
    ({"max_pixels": 100}, "--max_pixels must be at least 256"),
    ({"max_pixels": 200_000_000}, "at most 100,000,000"),
    ({"max_image_size": 8}, "--max_image_size must be at least 16"),
    ({"queue_size": 0}, "--queue_size must be at least 1"),
    ({"weights": " "}, "--weights must not be empty"),
    ({"password": ""}, "the password is empty"),
])
def test_settings_that_cannot_be_used_are_refused_by_name(changes, message):
    with pytest.raises(errors.ConfigError, match=message):
        web_config.WebConfig(**changes)


@pytest.mark.parametrize("host, loopback, url", [
    ("localhost", True, "http://localhost:7860"), ("127.0.0.2", True, "http://127.0.0.2:7860"),
    ("::1", True, "http://[::1]:7860"), ("192.168.1.5", False, "http://192.168.1.5:7860"),
    ("studio.example", False, "http://studio.example:7860"),
])
def test_loopback_addresses_and_urls(host, loopback, url):
    config = web_config.WebConfig(host=host)
    assert config.is_loopback is loopback and config.url == url


def test_the_password_never_shows_in_the_configs_repr():
    assert "secret" not in repr(web_config.WebConfig(password="secret"))
