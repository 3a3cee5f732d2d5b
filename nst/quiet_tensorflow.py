"""Importing TensorFlow without its start-up chatter on stderr, so an entry script's one-line errors stay readable."""

import contextlib
import os
import sys


def _user_wants_logs():
    # Entry scripts set TF_CPP_MIN_LOG_LEVEL=2 by default; a user who sets it to 0 sees everything.
    return os.environ.get("TF_CPP_MIN_LOG_LEVEL", "0") == "0"


@contextlib.contextmanager
def c_stderr_muted():
    """Sends what C++ code writes to stderr (TensorFlow's logs, the TFLite converter's dumps) to /dev/null.

    Python exceptions still carry their messages; nothing is muted when the user asked for logs.
    """
    if _user_wants_logs():
        yield
        return
    sys.stderr.flush()
    saved_stderr = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        sys.stderr.flush()
        os.dup2(saved_stderr, 2)
        os.close(saved_stderr)


def import_tensorflow_quietly():
    """Imports TensorFlow with the C-level stderr muted, unless the user asked for its logs.

    TensorFlow 2.21 logs through absl's C++ logging while it loads (the oneDNN notice),
    ignoring TF_CPP_MIN_LOG_LEVEL; those lines would bury a one-line error message.
    """
    if "tensorflow" in sys.modules:
        return
    with c_stderr_muted():
        import tensorflow  # noqa: F401
