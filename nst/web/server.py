"""Serving the page: a private temporary folder, Gradio set up safely, its app mounted behind the checks, uvicorn.

Gradio is imported here, inside the functions, after its environment is set: its cache goes into
this server's own temporary folder (removed when the server stops), its telemetry is off, and
the Hugging Face hub it can talk to stays offline.
"""

import contextlib
import errno
import os
import pathlib
import shutil
import signal
import socket
import sys
import tempfile

from nst import errors
from nst.web import memory

PROGRAM = "web_main.py"
LOGIN_MESSAGE = "This page is password-protected. Any user name; the password the server was started with."
_GRACEFUL_SHUTDOWN_SECONDS = 3  # a run stops after its iteration; open event streams are cut after this


class Terminated(Exception):
    """SIGTERM arrived: the server stops as after Ctrl-C, and the process exits 143."""


def set_gradio_environment(temporary_root):
    """Points Gradio's cache into temporary_root and turns its and Hugging Face's telemetry off.

    Call it before importing gradio.
    """
    os.environ["GRADIO_TEMP_DIR"] = str(temporary_root / "gradio-cache")
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"  # Blocks also gets analytics_enabled=False
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
    os.environ["GRADIO_SSR_MODE"] = "False"  # server-side rendering would start a Node server
    os.environ.pop("GRADIO_ALLOWED_PATHS", None)  # no folder beyond the cache and this server's own is served


def check_weights(web_config):
    """The WeightsError of a failed search for the weights runs will use, or None; raises it for explicit weights.

    Without --weights the page's runs use each preset's weights, ImageNet's for the default
    preset: when none are found, the page says so (the command line's message and hint) and
    offers untrained weights. Weights given explicitly that cannot be read are a bad flag, as on
    the command line.
    """
    from nst import weights as weights_module

    if web_config.weights is not None:
        if web_config.weights.strip().lower() != "random":
            weights_module.load_weights(web_config.weights, allow_download=web_config.allow_download)
        return None
    try:
        weights_module.find_imagenet_weights(allow_download=web_config.allow_download)
    except errors.WeightsError as error:
        return error
    return None


def check_port_free(host, port):
    """ConfigError naming the address when something already listens on it (or it cannot be bound)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        # uvicorn binds with SO_REUSEADDR; the probe does too, so a port in TIME_WAIT is not refused here.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as error:
            if error.errno == errno.EADDRINUSE:
                raise errors.ConfigError(f"port {port} on {host} is in use (another server, or this one running "
                                         "already)",
                                         hint=f"stop that one, or choose another: --port {port + 1}") from None
            raise errors.ConfigError(f"cannot listen on {host}:{port} ({(error.strerror or str(error)).lower()})",
                                     hint="--host takes an address of this machine, e.g. 127.0.0.1") from None


def build_app(page):
    """The ASGI app: Gradio's page mounted at /, behind the Host/Origin guard and the security headers."""
    import fastapi
    import gradio as gr

    from nst.web import page as page_module
    from nst.web import security

    config = page.config
    blocks = page_module.build(page)
    app = fastapi.FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    app = gr.mount_gradio_app(
        app, blocks, path="/", server_name=config.host, server_port=config.port,
        auth=security.password_check(config.password), auth_message=LOGIN_MESSAGE if config.password else None,
        max_file_size=config.max_upload_bytes, allowed_paths=[], footer_links=[],
        # run_history keeps every run's inputs and outputs in the browser's storage: not on a shared machine.
        run_history=False, ssr_mode=False, mcp_server=False, enable_monitoring=False, pwa=False,
        theme=page_module.THEME, css=page_module.CSS, show_error=True)
    # Gradio checks that the files an event receives were uploaded (processing_utils._check_allowed) only
    # once launch() has set has_launched; a mounted app never sets it, and a crafted request could then hand
    # the page any file of the server. It is set here, and nst.web.uploads checks the folder again.
    blocks.has_launched = True
    app.add_middleware(security.SecurityHeaders)
    # Added last, so it runs first: a refused request reaches nothing else.
    app.add_middleware(security.HostOriginGuard, hosts=security.allowed_hosts(config.host, config.port))
    return app


def _raise_terminated(signal_number, frame):
    raise Terminated


def serve(web_config, announce=print):
    """Serves the page until Ctrl-C (KeyboardInterrupt) or SIGTERM; returns the exit code (143 for SIGTERM).

    Raises ConfigError for a port in use and the WeightsError of unreadable --weights, before
    anything is served. Everything the server wrote is removed when it stops.
    """
    check_port_free(web_config.host, web_config.port)
    weights_problem = check_weights(web_config)
    temporary_root = pathlib.Path(tempfile.mkdtemp(prefix="nst-web-"))
    previous_sigterm = signal.getsignal(signal.SIGTERM)
    try:
        set_gradio_environment(temporary_root)
        memory.tune_allocator()
        from nst.web import page as page_module

        page = page_module.Page(web_config, temporary_root / "sessions", weights_problem)
        app = build_app(page)
        if weights_problem is not None:
            _warn(f"{weights_problem}; the page says so and offers untrained weights (a demo)")
            if weights_problem.hint:
                print(f"{PROGRAM}: hint: {weights_problem.hint}", file=sys.stderr, flush=True)
        if not web_config.is_loopback:
            _warn(f"serving on {web_config.host}, which other machines can reach"
                  f"{'' if web_config.password else '; consider a password (--password_file)'}")
        # uvicorn re-raises the signal that stopped it once it has shut down, with the handler it found: SIGTERM
        # then raises Terminated here (its default action would end the process before this folder is removed).
        signal.signal(signal.SIGTERM, _raise_terminated)
        try:
            _run_uvicorn(app, web_config, announce)
        except Terminated:
            return 128 + signal.SIGTERM
        finally:
            page.sessions.end_all()
        return errors.EXIT_OK
    finally:
        signal.signal(signal.SIGTERM, previous_sigterm)
        shutil.rmtree(temporary_root, ignore_errors=True)


def _run_uvicorn(app, web_config, announce):
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host=web_config.host, port=web_config.port, log_level="warning",
                                           timeout_graceful_shutdown=_GRACEFUL_SHUTDOWN_SECONDS, access_log=False))
    original_startup = server.startup

    async def startup_then_announce(*arguments, **keywords):
        await original_startup(*arguments, **keywords)
        if server.started:
            announce(f"Serving the style transfer page on {web_config.url} (Ctrl-C stops it)")

    server.startup = startup_then_announce
    with contextlib.suppress(SystemExit):  # uvicorn exits 1 when it cannot bind; check_port_free said why first
        server.run()
    if not server.started:
        raise errors.ConfigError(f"could not serve on {web_config.host}:{web_config.port}",
                                 hint=f"try another port: --port {web_config.port + 1}")


def _warn(message):
    print(f"{PROGRAM}: warning: {message}", file=sys.stderr, flush=True)
