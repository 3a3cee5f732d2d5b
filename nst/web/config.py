"""The web server's one frozen configuration: address, weights, limits, models folder and password."""

import dataclasses
import ipaddress

from nst import config as config_module
from nst import errors
from nst import images

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7860  # Gradio's usual port, so a student's bookmark of another demo's address still works
DEFAULT_MODELS_DIR = "models"  # where fast_main.py train puts its networks (models/<style>)
DEFAULT_MAX_UPLOAD_MEGABYTES = 20.0
# 25 megapixels covers a 6000×4000 camera photo; nst.images' own 100-megapixel ceiling is for one
# person's command line, not for a server that several people share on two cores.
DEFAULT_MAX_PIXELS = 25_000_000
DEFAULT_MAX_IMAGE_SIZE = 1024  # the largest image_size the page offers (1024×768 takes 4.5 s/iteration here)
DEFAULT_MAX_ITERATIONS = 5000
DEFAULT_QUEUE_SIZE = 16  # runs waiting; one more is refused with Gradio's "queue is full" message
# Addresses that would accept connections from every interface: the Host check below needs a name.
_WILDCARD_HOSTS = ("0.0.0.0", "::", "")


@dataclasses.dataclass(frozen=True)
class WebConfig:
    """Everything web_main.py hands the server.

    weights None lets each preset use its own weights, as nst_main.py does without --weights;
    a value (imagenet, keras, random, a path, …) is used by every run the page starts.
    """

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    weights: str | None = None
    allow_download: bool = True
    models_dir: str = DEFAULT_MODELS_DIR
    max_upload_megabytes: float = DEFAULT_MAX_UPLOAD_MEGABYTES
    max_pixels: int = DEFAULT_MAX_PIXELS
    max_image_size: int = DEFAULT_MAX_IMAGE_SIZE
    max_iterations: int = DEFAULT_MAX_ITERATIONS
    queue_size: int = DEFAULT_QUEUE_SIZE
    password: str | None = dataclasses.field(default=None, repr=False)

    def __post_init__(self):
        host = str(self.host).strip()
        if host in _WILDCARD_HOSTS:
            raise errors.ConfigError(
                f"--host {self.host!r} listens on every interface, and the page refuses requests whose Host "
                "header is not the address it serves (DNS rebinding): give that address, e.g. --host 192.168.1.5")
        object.__setattr__(self, "host", host)
        config_module.require_number("--port", self.port, 1, whole=True)
        if self.port > 65535:
            raise errors.ConfigError(f"--port must be at most 65535, got {self.port}")
        config_module.require_number("--max_upload_mb", self.max_upload_megabytes, 0, strictly_above=True)
        config_module.require_number("--max_pixels", self.max_pixels, config_module.MIN_IMAGE_SIZE ** 2, whole=True)
        if self.max_pixels > images.MAX_PIXELS:
            raise errors.ConfigError(f"--max_pixels must be at most {images.MAX_PIXELS:,} (nst.images' own limit), "
                                     f"got {self.max_pixels:,}")
        config_module.require_number("--max_image_size", self.max_image_size, config_module.MIN_IMAGE_SIZE, whole=True)
        config_module.require_number("--max_iterations", self.max_iterations, 1, whole=True)
        config_module.require_number("--queue_size", self.queue_size, 1, whole=True)
        if self.weights is not None:
            config_module.require_text("--weights", self.weights)
        config_module.require_text("--models_dir", self.models_dir)
        if self.password is not None and not self.password:
            raise errors.ConfigError("the password is empty: give one, or none for no login")

    @property
    def max_upload_bytes(self):
        return int(self.max_upload_megabytes * 1024 * 1024)

    @property
    def is_loopback(self):
        """Whether only this machine can reach the server (127.0.0.0/8, ::1, localhost)."""
        if self.host.lower() == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host.strip("[]")).is_loopback
        except ValueError:
            return False  # a host name: it may resolve to any interface

    @property
    def url(self):
        """The address a browser opens: http://127.0.0.1:7860 (IPv6 addresses in brackets)."""
        shown = f"[{self.host}]" if ":" in self.host and not self.host.startswith("[") else self.host
        return f"http://{shown}:{self.port}"
