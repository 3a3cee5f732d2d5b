"""The style transfer web page: absl flags -> one WebConfig -> nst.web.server -> an exit code.

python web_main.py serves the page on http://127.0.0.1:7860 and opens nothing else; a bad flag
(or a port in use) is one line on stderr and exit code 1, Ctrl-C stops it with 130, SIGTERM with 143.
"""

import functools
import os

# TensorFlow prints start-up chatter on stderr unless told otherwise; keep the user's own setting if there is one.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from absl import app  # noqa: E402
from absl import flags  # noqa: E402

from nst import errors  # noqa: E402  (these import neither TensorFlow nor Gradio: --help answers at once)
from nst.web import config as web_config_module  # noqa: E402

PROGRAM = "web_main.py"
PASSWORD_VARIABLE = "NST_WEB_PASSWORD"

USAGE = f"""usage: python {PROGRAM} [--flags]

Serves the style transfer page on this machine; open the address it prints in a browser.
e.g. python {PROGRAM}                      (ImageNet weights, as nst_main.py finds them)
     python {PROGRAM} --weights random     (a demo with untrained weights: the result is not art)
(python {PROGRAM} --help lists every flag)"""

# This script's flags live apart from absl's global ones: nst_main.py defines some of the same names
# (--weights, --download), and the test run imports both scripts.
FLAGS = flags.FlagValues()
_string = functools.partial(flags.DEFINE_string, flag_values=FLAGS)
_integer = functools.partial(flags.DEFINE_integer, flag_values=FLAGS)
_float = functools.partial(flags.DEFINE_float, flag_values=FLAGS)
_bool = functools.partial(flags.DEFINE_bool, flag_values=FLAGS)

_string("host", web_config_module.DEFAULT_HOST,
        "Address to serve on; the default is reachable from this machine only. Requests naming another address "
        "in their Host header are refused.")
_integer("port", web_config_module.DEFAULT_PORT, "Port to serve on.")
_string("weights", "imagenet",
        "VGG19 weights for every run, as nst_main.py's --weights: imagenet, keras, matconvnet, torchvision, random "
        "(a demo: untrained), or a weights file. Not given: each preset's own, ImageNet's for the default.")
_bool("download", True, "Let Keras download the ImageNet weights when none are found locally.")
_string("models_dir", web_config_module.DEFAULT_MODELS_DIR,
        "Folder of feed-forward networks (fast_main.py train and export) the Fast tab lists; nothing else is loaded.")
_float("max_upload_mb", web_config_module.DEFAULT_MAX_UPLOAD_MEGABYTES, "Largest file a page may upload, in MB.")
_integer("max_pixels", web_config_module.DEFAULT_MAX_PIXELS,
         "Largest image (width × height) the server decodes; larger uploads are refused before decoding.")
_integer("max_image_size", web_config_module.DEFAULT_MAX_IMAGE_SIZE,
         "Largest image size (longest side, pixels) the page offers, for painting and for the Fast tab.")
_integer("max_iterations", web_config_module.DEFAULT_MAX_ITERATIONS, "Most iterations one run may ask for.")
_integer("queue_size", web_config_module.DEFAULT_QUEUE_SIZE,
         "Runs that may wait for their turn (one runs at a time); more are refused with a message.")
_string("password_file", None,
        f"A file whose first line is the page's password (any user name). ${PASSWORD_VARIABLE} works too; a "
        "password on the command line would show in the process list.")


def _password(flag_values):
    """The password from --password_file (its first line) or $NST_WEB_PASSWORD; None for no login."""
    if flag_values.password_file:
        try:
            with open(os.path.expanduser(flag_values.password_file), encoding="utf-8") as handle:
                return handle.readline().rstrip("\r\n")
        except OSError as error:
            raise errors.ConfigError(f"--password_file {flag_values.password_file}: cannot read it "
                                     f"({(error.strerror or str(error)).lower()})") from None
    return os.environ.get(PASSWORD_VARIABLE) or None


def config_from_flags(flag_values):
    """The WebConfig the parsed flags describe; ConfigError for a value that cannot be used."""
    return web_config_module.WebConfig(
        host=flag_values.host, port=flag_values.port,
        weights=flag_values.weights if flag_values["weights"].present else None,
        allow_download=flag_values.download, models_dir=flag_values.models_dir,
        max_upload_megabytes=flag_values.max_upload_mb, max_pixels=flag_values.max_pixels,
        max_image_size=flag_values.max_image_size, max_iterations=flag_values.max_iterations,
        queue_size=flag_values.queue_size, password=_password(flag_values))


def serve_from_flags(flag_values):
    """Serves the page the flags describe until it is stopped; returns the exit code (NSTErrors go to the boundary)."""
    from nst import quiet_tensorflow
    from nst.web import server

    config = config_from_flags(flag_values)
    server.check_port_free(config.host, config.port)  # before TensorFlow's import: a busy port is said at once
    quiet_tensorflow.import_tensorflow_quietly()
    return server.serve(config)


def parse_command_line(argv):
    """absl's flags, then this script's (nst.errors.parse_own_flags): a bad flag is one line and exit code 1."""
    return errors.parse_own_flags(PROGRAM, USAGE, FLAGS, argv)


main = errors.absl_main(PROGRAM, serve_from_flags, FLAGS)


if __name__ == "__main__":
    app.run(main, flags_parser=parse_command_line)
