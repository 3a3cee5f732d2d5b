"""Shared set-up of the web tests: Gradio's environment before it is imported, the browser's versions in the header."""

import os
import shutil
import tempfile

# nst.web.server sets these before it imports Gradio; tests that import nst.web.page do the same here
# (pytest imports this file before the test modules beside it).
_GRADIO_ROOT = tempfile.mkdtemp(prefix="nst-web-tests-")
os.environ["GRADIO_TEMP_DIR"] = os.path.join(_GRADIO_ROOT, "gradio-cache")
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"

import browser_harness  # noqa: E402  (tests/web is on the path: pyproject.toml)


def pytest_report_header(config):
    """The browser and Playwright the browser tests use (or why they skip), at the top of the test run."""
    return browser_harness.versions_line()


def pytest_unconfigure(config):
    shutil.rmtree(_GRADIO_ROOT, ignore_errors=True)
