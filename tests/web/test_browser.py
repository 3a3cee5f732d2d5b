"""End to end, in a real browser: web_main.py --weights random on a free port, Debian's chromium driven by Playwright.

One server serves every test but the password's, in file order; the last tests check that no request
left the machine, that the page's own requests were all served, and that SIGTERM cleans up.
"""

import json
import os
import pathlib
import re
import signal
import time
import urllib.error
import urllib.request

import numpy as np
import pytest
from PIL import Image

import browser_harness

pytestmark = pytest.mark.skipif(browser_harness.skip_reason() is not None,
                                reason=browser_harness.skip_reason() or "")

IMAGE_SIZE = 64  # the runs' longest side: the 160×120 upload becomes 64×48
MAX_UPLOAD_MB = 1
MAX_PIXELS = 1_000_000
EXTERNAL_REQUESTS = []  # every request a page made to anywhere but its server
REFUSED_RESPONSES = []  # every 4xx/5xx the server gave a page, but the ones a test provokes on purpose
EXPECTED_REFUSALS = []  # URL patterns a test provokes (an over-size upload)


@pytest.fixture(scope="module")
def pictures(tmp_path_factory):
    """Uploads: good ones, and a non-image, a truncated PNG, a decompression bomb and an over-size file."""
    folder = tmp_path_factory.mktemp("pictures")
    rng = np.random.default_rng(0)
    paths = {}
    for name, (height, width) in (("content.png", (120, 160)), ("style1.jpg", (100, 100)), ("style2.png", (90, 130))):
        Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8)).save(folder / name)
        paths[name] = folder / name
    (folder / "notes.png").write_text("not an image\n")
    whole = (folder / "content.png").read_bytes()
    (folder / "truncated.png").write_bytes(whole[: len(whole) // 2])
    Image.new("L", (2000, 2000)).save(folder / "bomb.png", optimize=True)  # 4 MP, a few KB, over MAX_PIXELS
    Image.fromarray(rng.integers(0, 256, (820, 820, 3), dtype=np.uint8)).save(folder / "huge.png")  # 2 MB
    paths.update({name: folder / name for name in ("notes.png", "truncated.png", "bomb.png", "huge.png")})
    return paths


@pytest.fixture(scope="module")
def models_folder(tmp_path_factory):
    """A models folder holding one small feed-forward network, saved as fast_main.py train saves it."""
    from fast_fixtures import perturbed
    from nst.fast import network
    from nst.fast import outputs as fast_outputs

    folder = tmp_path_factory.mktemp("models")
    (folder / "tiny").mkdir()
    fast_outputs.save_model(perturbed(network.build_transform_net(0.25), seed=7), folder / "tiny")
    return folder


@pytest.fixture(scope="module")
def server(tmp_path_factory, models_folder):
    running = browser_harness.Server(
        tmp_path_factory.mktemp("server"), "--weights", "random", "--max_upload_mb", str(MAX_UPLOAD_MB),
        "--max_pixels", str(MAX_PIXELS), "--models_dir", str(models_folder), "--max_image_size", "512")
    yield running
    running.stop()


@pytest.fixture(scope="module")
def browser(request):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = browser_harness.launch_chromium(playwright)
        reporter = request.config.pluginmanager.get_plugin("terminalreporter")
        line = f"browser tests: chromium {chromium.version}, Playwright {browser_harness.playwright_version()}"
        if reporter is not None:
            reporter.write_line(line)
        yield chromium
        chromium.close()


@pytest.fixture
def open_page(browser, server):
    """Opens the page in a new browser context (its own cookies: its own session); returns the Playwright page."""
    contexts = []

    def watch(page):
        page.on("request", lambda request: None if request.url.startswith((server.url + "/", "data:", "blob:"))
                else EXTERNAL_REQUESTS.append(request.url))
        page.on("response", lambda response: None if response.status < 400 or any(
            re.search(pattern, response.url) for pattern in EXPECTED_REFUSALS)
            else REFUSED_RESPONSES.append(f"{response.status} {response.url}"))

    def open_one(url=None):
        context = browser.new_context(accept_downloads=True, viewport={"width": 1280, "height": 1000})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(30_000)
        watch(page)
        page.goto(url or server.url + "/")
        page.wait_for_selector("#start")
        return page

    yield open_one
    for context in contexts:
        context.close()


# What a user does on the page.

def upload(page, box, *paths):
    page.set_input_files(f"#{box} input[type=file]", [str(path) for path in paths])
    for path in paths:  # the file's name appears in the box's table once the upload is done
        page.locator(f'#{box} td.filename[aria-label="{pathlib.Path(path).name}"]').wait_for()


def set_number(page, box, value):
    field = page.locator(f"#{box} input[type=number]").first
    field.fill(str(value))
    field.press("Enter")


def settings(page, iterations, print_every, image_size=IMAGE_SIZE):
    set_number(page, "image_size", image_size)
    set_number(page, "iterations", iterations)
    set_number(page, "print_every", print_every)


def status(page):
    return page.locator("#status").inner_text()


def wait_for_status(page, pattern, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = status(page)
        if re.search(pattern, text):
            return text
        time.sleep(0.05)
    raise AssertionError(f"the status never matched {pattern!r}; it says {status(page)!r}")


def preview_source(page):
    image = page.locator("#preview img")
    return image.first.get_attribute("src") if image.count() else None


def watch_run(page, until, timeout=90):
    """(distinct preview sources, distinct statuses) seen until the status matches until."""
    previews, statuses = [], []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        source, text = preview_source(page), status(page)
        if source and (not previews or previews[-1] != source):
            previews.append(source)
        if not statuses or statuses[-1] != text:
            statuses.append(text)
        if re.search(until, text):
            return previews, statuses
        time.sleep(0.02)
    raise AssertionError(f"the run did not end; last statuses: {statuses[-3:]}")


def download(page, box, name, folder):
    link = page.locator(f'#{box} tr:has(td.filename[aria-label="{name}"]) a').first
    link.wait_for()
    with page.expect_download() as started:
        link.click()
    target = pathlib.Path(folder) / name
    started.value.save_as(target)
    return target


def toast_text(page):
    toast = page.locator(".toast-body").first
    toast.wait_for(timeout=20_000)
    text = toast.inner_text()
    for close in page.locator(".toast-body .toast-close, .toast-body button").all():
        if close.is_visible():
            close.click()
    page.locator(".toast-body").first.wait_for(state="detached", timeout=10_000)
    return text


def clear_upload(page, box):
    page.locator(f"#{box} button[aria-label='Clear']").first.click()


# The tests.

def test_a_run_shows_each_snapshot_and_downloads_the_command_lines_files(open_page, pictures, tmp_path):
    page = open_page()
    upload(page, "content", pictures["content.png"])
    upload(page, "styles", pictures["style1.jpg"], pictures["style2.png"])
    page.locator("#blend textarea, #blend input").first.fill("0.7, 0.3")
    settings(page, iterations=4, print_every=1)
    page.click("#start")
    previews, statuses = watch_run(page, r"^Done")
    assert len(previews) >= 3, f"the preview changed {len(previews) - 1} times"
    assert any(re.search(r"Iteration [1-4] of 4 · [\d.]+ s elapsed · [\d.]+ s/iteration · ETA \d+ s", text)
               for text in statuses), statuses
    assert any("total cost = " in text and "style cost = " in text for text in statuses)
    assert page.locator("#plot canvas, #plot svg").count() > 0

    final = download(page, "downloads", "generated_image.png", tmp_path)
    assert Image.open(final).size == (64, 48)
    record = json.loads(download(page, "downloads", "run.json", tmp_path).read_text())
    assert record["status"] == "finished" and record["iterations"] == 4
    assert record["config"]["iterations"] == 4 and record["config"]["print_every"] == 1
    assert record["config"]["weights"] == "random" and record["weights"]["source"].startswith("random")
    assert [pathlib.Path(path).name for path in record["config"]["style_image"]] == ["style1.jpg", "style2.png"]
    assert record["config"]["style_blend_weights"] == pytest.approx([0.7, 0.3])
    assert [entry["iteration"] for entry in record["snapshots"]] == [0, 1, 2, 3, 4]
    assert Image.open(download(page, "downloads", "progress.gif", tmp_path)).n_frames == 5


def test_stop_ends_the_run_after_its_iteration_and_keeps_the_image(open_page, tmp_path):
    page = open_page()  # the sample images, as the command line's defaults
    settings(page, iterations=400, print_every=5)
    page.click("#start")
    wait_for_status(page, r"Iteration [1-9]\d* of 400")
    page.click("#stop")
    stopped_at = int(re.search(r"Stopped at iteration (\d+)", wait_for_status(page, r"^Stopped at")).group(1))
    assert 0 < stopped_at < 400
    record = json.loads(download(page, "downloads", "run.json", tmp_path).read_text())
    assert record["status"] == "interrupted" and record["iterations"] == stopped_at
    assert Image.open(download(page, "downloads", "generated_image.png", tmp_path)).size == (64, 48)
    assert Image.open(download(page, "downloads", "progress.gif", tmp_path)).n_frames >= 1


@pytest.mark.parametrize("name, message", [
    ("notes.png", "notes.png: not an image Pillow can read"),
    ("truncated.png", "truncated.png: file is truncated or corrupt"),
    ("bomb.png", f"bomb.png: image is too large (2000×2000 = 4,000,000 pixels; the limit is {MAX_PIXELS:,} pixels)"),
])
def test_a_bad_upload_is_reported_and_the_next_run_works(open_page, pictures, server, name, message):
    page = open_page()
    page.set_input_files("#content input[type=file]", str(pictures[name]))
    assert message in toast_text(page)
    settings(page, iterations=2, print_every=1)
    page.click("#start")  # the bad file is still there: the run is refused with the same message
    assert message in toast_text(page)
    clear_upload(page, "content")
    upload(page, "content", pictures["content.png"])
    page.click("#start")
    wait_for_status(page, r"^Done")


def test_an_upload_over_the_size_limit_is_refused_and_the_server_keeps_serving(open_page, pictures, server):
    EXPECTED_REFUSALS.append(r"/gradio_api/upload")
    page = open_page()
    page.set_input_files("#content input[type=file]", str(pictures["huge.png"]))
    assert re.search(rf"exceed the maximum allowed size of {MAX_UPLOAD_MB}", toast_text(page), re.IGNORECASE)
    assert urllib.request.urlopen(server.url + "/", timeout=10).status == 200


def test_two_pages_at_once_both_finish_and_the_second_shows_its_place_in_the_queue(open_page, pictures, tmp_path):
    first, second = open_page(), open_page()
    # Different pictures: the same bytes would give the same cached file (Gradio names files by their content).
    for page, content, style in ((first, "content.png", "style1.jpg"), (second, "style1.jpg", "style2.png")):
        upload(page, "content", pictures[content])
        upload(page, "styles", pictures[style])
    settings(first, iterations=60, print_every=10)
    settings(second, iterations=4, print_every=1)
    first.click("#start")
    wait_for_status(first, r"Iteration \d+ of 60")
    second.click("#start")
    second.locator("#preview").get_by_text(re.compile(r"queue: 1/1")).wait_for(timeout=20_000)
    first_previews, _ = watch_run(first, r"^Done")
    second_previews, _ = watch_run(second, r"^Done")
    assert not set(first_previews) & set(second_previews)  # each page sees its own images only
    record = json.loads(download(second, "downloads", "run.json", tmp_path).read_text())
    assert [pathlib.Path(path).name for path in record["config"]["style_image"]] == ["style2.png"]


def test_stop_while_queued_takes_the_run_out_of_the_queue(open_page):
    first, second = open_page(), open_page()
    settings(first, iterations=300, print_every=10)
    settings(second, iterations=2, print_every=1)
    first.click("#start")
    wait_for_status(first, r"Iteration \d+ of 300")
    second.click("#start")
    second.locator("#preview").get_by_text(re.compile(r"queue: 1/1")).wait_for(timeout=20_000)
    second.click("#stop")
    wait_for_status(second, r"Cancelled while waiting in the queue")
    assert re.search(r"Iteration \d+ of 300", status(first))  # the running one goes on
    first.click("#stop")
    wait_for_status(first, r"^Stopped at")
    time.sleep(1)
    assert "Cancelled while waiting" in status(second) and second.locator("#downloads td.filename").count() == 0
    second.screenshot(path="/tmp/pw/cancelled.png")


def test_a_closed_tab_stops_its_run_and_frees_the_queue(open_page, server):
    leaving = open_page()
    settings(leaving, iterations=5000, print_every=50)
    leaving.click("#start")
    wait_for_status(leaving, r"Iteration \d+ of 5000")
    sessions_folder = server.root() / "sessions"
    running = [folder for folder in sessions_folder.iterdir() if any(folder.glob("runs/**/run.json"))
               and json.loads(max(folder.glob("runs/**/run.json"), key=os.path.getmtime).read_text())["status"]
               == "running"]
    assert len(running) == 1
    leaving.context.close()
    staying = open_page()
    settings(staying, iterations=2, print_every=1)
    started = time.monotonic()
    staying.click("#start")
    wait_for_status(staying, r"^Done", timeout=60)
    assert time.monotonic() - started < 30  # 5000 iterations would take minutes
    deadline = time.monotonic() + 20
    while running[0].exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not running[0].exists(), "the closed tab's folder is still there"


def test_the_fast_tab_stylises_uploads_with_a_network_from_the_models_folder(open_page, pictures, tmp_path):
    page = open_page()
    page.get_by_role("tab", name="Fast (feed-forward)").click()
    page.locator("#model input").click()
    page.get_by_role("option", name="tiny").click()
    upload(page, "fast_files", pictures["content.png"], pictures["style2.png"])
    page.click("#fast_start")
    page.locator("#gallery img").nth(1).wait_for()
    assert Image.open(download(page, "fast_downloads", "content.png", tmp_path)).size == (160, 120)
    assert Image.open(download(page, "fast_downloads", "style2.png", tmp_path)).size == (130, 90)


def test_memory_stays_flat_over_many_runs(open_page, server):
    page = open_page()
    settings(page, iterations=2, print_every=1, image_size=32)
    resident = []
    for _ in range(6):
        browser_harness.click_and_wait_for_status(page, "#start", "^Done")
        resident.append(server.resident_megabytes())
    print(f"server memory after each run (MB): {[round(value) for value in resident]}")
    assert resident[-1] - resident[1] < 40, resident


def test_the_readme_screenshot(open_page, tmp_path):
    """Writes the page's screenshot into a temporary folder, or docs/images/ with NST_WEB_SCREENSHOTS=docs/images."""
    folder = pathlib.Path(os.environ.get("NST_WEB_SCREENSHOTS") or tmp_path)
    page = open_page()
    page.set_viewport_size({"width": 1200, "height": 900})
    settings(page, iterations=9, print_every=3, image_size=200)
    page.click("#start")
    wait_for_status(page, r"^Done", timeout=120)
    page.locator("#plot canvas, #plot svg").first.wait_for()
    time.sleep(0.5)  # the plot's last points
    raw = tmp_path / "page.png"
    page.screenshot(path=str(raw), full_page=True)
    target = folder / "web_app.png"
    _small_png(raw, target)
    assert target.stat().st_size < 300_000


def _small_png(source, target, width=960):
    """A README-sized copy: 960 pixels wide, 256 colours (a few hundred KB at most)."""
    image = Image.open(source).convert("RGB")
    image = image.resize((width, round(image.height * width / image.width)), Image.Resampling.LANCZOS)
    pathlib.Path(target).parent.mkdir(parents=True, exist_ok=True)
    image.quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(target, optimize=True)


def _status_of(url, headers=None, method="GET", data=None):
    request = urllib.request.Request(url, headers=headers or {}, method=method, data=data)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode(errors="replace"), response.headers
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode(errors="replace"), error.headers


def test_requests_for_another_host_or_from_another_site_are_refused(server):
    host = f"127.0.0.1:{server.port}"
    status_code, body, _ = _status_of(server.url + "/", {"Host": f"attacker.example:{server.port}"})
    assert status_code == 403 and "own address" in body
    status_code, _, _ = _status_of(server.url + "/gradio_api/upload",
                                   {"Host": host, "Origin": "http://attacker.example"},
                                   method="POST", data=b"")
    assert status_code == 403
    for path in ("/gradio_api/file=/etc/passwd", "/gradio_api/file=../../etc/passwd",
                 f"/gradio_api/file={browser_harness.PROJECT_DIR / 'web_main.py'}",
                 "/gradio_api/proxy=http://example.com/", "/gradio_api/file=http://example.com/x.png",
                 "/monitoring", "/gradio_api/vibe-code"):
        assert _status_of(server.url + path)[0] in (403, 404), path
    assert json.loads(_status_of(server.url + "/gradio_api/info")[1]) == {"named_endpoints": {},
                                                                        "unnamed_endpoints": {}}
    status_code, _, headers = _status_of(server.url + "/")
    assert status_code == 200 and "default-src 'self'" in headers["Content-Security-Policy"]


def test_zz_nothing_left_the_machine_and_every_request_of_the_pages_was_served(server):
    # Kept last in the file (pytest keeps file order): every page above has been watched.
    assert EXTERNAL_REQUESTS == []
    assert REFUSED_RESPONSES == []
    assert "OUTBOUND" not in server.log(), server.log()


def test_zz_sigterm_stops_the_server_with_143_and_removes_its_files(server):
    root = server.root()
    assert root is not None and (root / "gradio-cache").is_dir()
    assert server.stop(signal.SIGTERM) == 143
    assert not root.exists()
    assert "Traceback" not in server.log(), server.log()


def test_a_password_protects_the_page_and_ctrl_c_stops_the_server_with_130(browser, tmp_path):
    server = browser_harness.Server(tmp_path / "server", "--weights", "random",
                                    environment={"NST_WEB_PASSWORD": "correct horse"})
    try:
        assert _status_of(server.url + "/config")[0] == 401
        context = browser.new_context()
        page = context.new_page()
        page.goto(server.url + "/")
        for password, expected in (("wrong", "Incorrect Credentials"), ("correct horse", None)):
            page.get_by_label("username").fill("anyone")
            page.get_by_label("password").fill(password)
            page.get_by_role("button", name="Login").click()
            if expected:
                page.get_by_text(expected).wait_for()
        page.wait_for_selector("#start")
        context.close()
        root = server.root()
        assert server.stop(signal.SIGINT) == 130
        assert not root.exists()
        assert "web_main.py: interrupted" in server.log()
    finally:
        server.stop(signal.SIGKILL)
