"""The browser tests' harness: a web_main.py server in a subprocess on a free port, Debian's chromium via Playwright.

Playwright's own browser download is not used: the browser is the system's chromium, found by its
path (NST_CHROMIUM overrides it), started without the sandbox (CI containers run as root) and
without /dev/shm (small in containers). Without chromium or Playwright the browser tests skip and
say why; every wait has a deadline, so nothing hangs.
"""

import os
import pathlib
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from importlib import metadata

PROJECT_DIR = pathlib.Path(__file__).resolve().parents[2]
CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/lib/chromium/chromium")
CHROMIUM_ARGUMENTS = ("--no-sandbox", "--disable-dev-shm-usage", "--disable-background-networking",
                      "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-gpu")
SERVER_START_SECONDS = 180  # TensorFlow and Gradio import in about 20 s on two busy cores
AUDITED_SERVER = pathlib.Path(__file__).with_name("audited_server.py")


def chromium_path():
    """The system chromium's path, or None."""
    candidates = [os.environ["NST_CHROMIUM"]] if os.environ.get("NST_CHROMIUM") else CHROMIUM_CANDIDATES
    return next((path for path in candidates if os.path.isfile(path) and os.access(path, os.X_OK)), None)


def playwright_version():
    try:
        return metadata.version("playwright")
    except metadata.PackageNotFoundError:
        return None


def skip_reason():
    """Why the browser tests cannot run here, or None."""
    if playwright_version() is None:
        return "Playwright is not installed (pip install -r requirements-dev.txt)"
    if chromium_path() is None:
        return ("no chromium found (apt-get install chromium, as .ci/run does; or set NST_CHROMIUM to a "
                "Chromium binary)")
    return None


def versions_line():
    reason = skip_reason()
    if reason:
        return f"browser tests: skipped, {reason}"
    return f"browser tests: Playwright {playwright_version()}, chromium at {chromium_path()}"


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Server:
    """python web_main.py … in a subprocess, its temporary files under temporary_folder (TMPDIR), its output in a log.

    It runs through audited_server.py, which reports any connection the server opens to another machine,
    unless audited is False (bench/web_overhead.py times the plain web_main.py a user runs).
    """

    def __init__(self, temporary_folder, *arguments, environment=None, audited=True):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.temporary_folder = pathlib.Path(temporary_folder)
        self.temporary_folder.mkdir(parents=True, exist_ok=True)
        self.log_path = self.temporary_folder / "server.log"
        self.arguments = ["--port", str(self.port), *arguments]
        env = dict(os.environ, TMPDIR=str(self.temporary_folder), PYTHONUNBUFFERED="1", **(environment or {}))
        with open(self.log_path, "w") as log:
            script = AUDITED_SERVER if audited else PROJECT_DIR / "web_main.py"
            self.process = subprocess.Popen([sys.executable, str(script), *self.arguments], cwd=PROJECT_DIR,
                                            stdout=log, stderr=subprocess.STDOUT, env=env)
        self._wait_until_serving()

    def _wait_until_serving(self):
        deadline = time.monotonic() + SERVER_START_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"web_main.py exited with {self.process.returncode}:\n{self.log()}")
            if "Serving the style transfer page on" in self.log():
                return
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"web_main.py did not start within {SERVER_START_SECONDS} s:\n{self.log()}")

    def log(self):
        return self.log_path.read_text(errors="replace")

    def root(self):
        """The server's own temporary folder (nst-web-…) inside temporary_folder, or None once removed."""
        roots = list(self.temporary_folder.glob("nst-web-*"))
        return roots[0] if roots else None

    def resident_megabytes(self):
        with open(f"/proc/{self.process.pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        return None

    def wait_for_log(self, pattern, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            match = re.search(pattern, self.log())
            if match:
                return match
            time.sleep(0.1)
        raise AssertionError(f"{pattern!r} never appeared in the server's log:\n{self.log()}")

    def stop(self, signal_number=signal.SIGTERM, timeout=30):
        """Sends signal_number and waits; returns the exit code."""
        if self.process.poll() is None:
            self.process.send_signal(signal_number)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def launch_chromium(playwright):
    """Debian's chromium, headless, as the harness's docstring says."""
    return playwright.chromium.launch(executable_path=chromium_path(), headless=True, args=list(CHROMIUM_ARGUMENTS))


# Watches the page's status line from before a click: after a run, the status still shows its "Done" until the
# next run's first update arrives, so a wait that only matches the text could end on the earlier run's.
_WATCH_STATUS = """() => {
    const status = document.querySelector('#status');
    if (window.nstStatusObserver) window.nstStatusObserver.disconnect();
    window.nstStatusChanged = false;
    window.nstStatusObserver = new MutationObserver(() => { window.nstStatusChanged = true; });
    window.nstStatusObserver.observe(status, {subtree: true, childList: true, characterData: true});
}"""
_STATUS_CHANGED_AND_MATCHES = """pattern => window.nstStatusChanged
    && new RegExp(pattern).test(document.querySelector('#status').innerText)"""


def click_and_wait_for_status(page, selector, pattern, timeout_seconds=60):
    """Clicks selector, then waits until the status line has changed and matches pattern (a regular expression
    that JavaScript reads as Python does, such as ^Done); returns the status text."""
    page.evaluate(_WATCH_STATUS)
    page.click(selector)
    page.wait_for_function(_STATUS_CHANGED_AND_MATCHES, arg=pattern, timeout=timeout_seconds * 1000)
    return page.locator("#status").inner_text()


def remove(path):
    shutil.rmtree(path, ignore_errors=True)
