"""nst.web.page: each tab uses only its own uploads and the listed samples; Stop, presets and the plot's data."""

import types

import gradio as gr
import numpy as np
import pytest
from gradio import processing_utils
from PIL import Image

from nst import errors
from nst.optimize import Costs
from nst.web import config as web_config
from nst.web import form
from nst.web import page as page_module


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    built = page_module.Page(web_config.WebConfig(weights="random", max_pixels=1_000_000),
                             tmp_path_factory.mktemp("sessions"))
    page_module.build(built)
    return built


def request(key):
    return types.SimpleNamespace(session_hash=key)


def upload(page, name, seed=0):
    """A picture as Gradio's upload route stores it."""
    path = page.upload_folder / f"upload-{seed}" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.random.default_rng(seed).integers(0, 256, (30, 40, 3), dtype=np.uint8)).save(path)
    return str(path)


def paint(page, key, content_file=None, style_files=None, content_sample="village.jpg", style_samples=("swirls.jpg",)):
    settings = [getattr(form.DEFAULTS, name) for name in
                ("preset", "content_weight", "style_weight", "image_size", "iterations", "print_every", "optimizer",
                 "precision", "preserve_colors", "style_blend_weights")]
    return list(page.paint(content_file, style_files, content_sample, list(style_samples), False, *settings,
                           request=request(key)))


def test_a_tab_cannot_use_another_tabs_upload(page):
    path = upload(page, "mine.png")
    page.on_upload(path, request("owner"))
    with pytest.raises(gr.Error, match="mine.png: not a file this page uploaded"):
        paint(page, "someone else", content_file=path)


def test_samples_are_chosen_by_name_from_the_listing_only(page):
    for name in ("../nst_main.py", "/etc/hostname", "missing.jpg"):
        with pytest.raises(gr.Error, match="no content image: upload one, or pick a sample"):
            paint(page, "sampler", content_sample=name)
    with pytest.raises(gr.Error, match="no style image"):
        paint(page, "sampler", style_samples=())


def test_a_bad_upload_is_reported_when_it_arrives(page):
    path = page.upload_folder / "upload-bad" / "notes.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("not an image")
    with pytest.raises(gr.Error, match="notes.png: not an image Pillow can read"):
        page.on_upload([str(path)], request("uploader"))
    assert str(path) in page.sessions.get("uploader").uploads  # still the tab's: removed when the tab closes


def test_stop_cancels_a_queued_run_and_asks_a_running_one_to_end(page):
    assert page.request_stop(request("stopper")) == (gr.skip(), gr.skip())  # nothing to stop yet
    assert page.prepare_start(request("stopper")) == "Waiting for its turn…"
    session = page.sessions.get("stopper")
    status, token = page.request_stop(request("stopper"))
    assert status == "Cancelled while waiting in the queue." and len(token) == 32 and session.stop.requested()
    assert paint(page, "stopper")[0][1] == "Stopped before it started."
    page.prepare_start(request("stopper"))
    first_stop = session.stop
    page.prepare_start(request("stopper"))  # Start again while the first waits: both share one stop request
    assert session.stop is first_stop and not first_stop.requested()
    session.running = True
    assert page.request_stop(request("stopper"))[0] == "Stopping after the current iteration…"
    session.running = False


def test_a_preset_fills_the_pages_settings(page):
    assert page.apply_preset("coursera-tf2")[:6] == [10.0, 40.0, 400, 2501, 250, "adam"]


def test_the_weights_note_says_untrained_weights_are_a_demo(page):
    assert page.weights_note().startswith("**Demo: untrained weights.**")


def test_files_sent_to_a_tab_are_noted_where_gradio_caches_them(page, tmp_path):
    source = tmp_path / "generated_image.png"
    Image.new("RGB", (8, 8), (1, 2, 3)).save(source)
    session = page.sessions.get("receiver")
    page._send(session, source)
    assert session.sent_files == {processing_utils.save_file_to_cache(source, str(page.upload_folder))}


def test_the_plot_shows_log10_costs_thinned_to_a_few_hundred_iterations():
    history = [(iteration, Costs(10.0 ** (iteration % 7), 1.0, 100.0)) for iteration in range(1, 1001)]
    table = page_module.loss_table(history)
    assert set(table["cost"]) == {"total", "content", "style"}
    totals = table[table["cost"] == "total"]
    assert len(totals) <= page_module.PLOT_POINTS + 1 and totals["iteration"].iloc[-1] == 1000
    assert totals["log10 cost"].iloc[0] == pytest.approx(1.0)
    assert set(table[table["cost"] == "style"]["log10 cost"]) == {2.0}
    assert page_module.loss_table([]).empty


def test_a_closed_tabs_late_run_does_nothing(page):
    page.prepare_start(request("closing"))
    page.on_unload(request("closing"))
    assert paint(page, "closing")[0][1] == "Stopped before it started."
    assert page.sessions.get("closing") is None


def test_without_imagenet_weights_the_page_says_so_and_offers_untrained_ones(tmp_path):
    missing = errors.WeightsError("no ImageNet VGG19 weights found (looked in /x)", hint="put … in pretrained-model/")
    page = page_module.Page(web_config.WebConfig(), tmp_path / "sessions", missing)
    assert page.weights_note().startswith("**No ImageNet weights.** no ImageNet VGG19 weights found (looked in /x)")
    assert "To fix it: put … in pretrained-model/" in page.weights_note()
    session = page.sessions.get("demo")
    for use_untrained, weights in ((True, "random"), (False, "imagenet")):
        _, _, config = page._run_inputs(session, None, None, "village.jpg", ["swirls.jpg"], use_untrained,
                                        form.DEFAULTS)
        assert config.weights == weights
