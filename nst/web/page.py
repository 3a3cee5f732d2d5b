"""The page: a Gradio Blocks app with a tab that paints by optimisation and a tab for the feed-forward networks.

Import this module only after nst.web.server has set Gradio's environment (its cache folder,
telemetry off): Gradio reads some of it when it is imported.
"""

import math
import pathlib
import uuid

import gradio as gr
import pandas as pd
from gradio import processing_utils
from gradio import utils as gradio_utils

from nst import config as config_module
from nst import errors
from nst import interrupts
from nst.web import feedforward
from nst.web import form
from nst.web import painting
from nst.web import sessions
from nst.web import texts
from nst.web import uploads

# Every event is private: the page's own calls go through Gradio's queue, and /gradio_api/info
# lists no endpoint for a script to call around it.
PRIVATE = {"api_visibility": "private"}
# Gradio's default theme with the system's fonts: the stock fonts are served by the server itself, but a
# Google font in a theme would be fetched from fonts.googleapis.com, and the page works offline.
THEME = gr.themes.Default(font=["system-ui", "sans-serif"], font_mono=["ui-monospace", "monospace"])
UPLOAD_HEIGHT = 160  # pixels: the upload boxes stay small beside the settings
PREVIEW_HEIGHT = 340  # pixels: the preview keeps its place on the page whatever the image size
PLOT_POINTS = 300  # iterations shown per cost in the loss plot; longer runs are thinned evenly
CSS = """
#status { min-height: 4.5em; }
#weights_note { border-left: 4px solid var(--color-accent); padding-left: 0.8em; }
"""


class Page:
    """The server-side state every handler shares, and the handlers themselves."""

    def __init__(self, web_config, sessions_folder, weights_problem=None):
        self.config = web_config
        self.upload_folder = pathlib.Path(gradio_utils.get_upload_folder())
        self.limits = uploads.UploadLimits(web_config.max_upload_bytes, web_config.max_pixels)
        self.sessions = sessions.SessionRegistry(sessions_folder, self.upload_folder, self._forget_cache_files)
        self.painter = painting.Painter()
        self.samples = form.list_samples()
        self.feedforward = feedforward.FeedForwardTab(web_config.models_dir, self.upload_folder, self.limits)
        self.weights_problem = weights_problem  # the WeightsError of the start-up search, or None
        self.blocks = None

    # Sessions and uploads.

    def _session(self, request):
        return self.sessions.get(request.session_hash) if request is not None else None

    def on_load(self, request: gr.Request):
        self._session(request)
        return gr.update(choices=self.feedforward.model_names())

    def on_unload(self, request: gr.Request):
        self.sessions.end(request.session_hash)

    def on_upload(self, files, request: gr.Request):
        """Remembers the upload as this tab's and reads it now, so a bad file is reported at once."""
        session = self._session(request)
        paths = [str(path) for path in _as_list(files)]
        if session is not None:
            session.uploads.update(paths)
        try:
            for path in paths:
                uploads.read_upload(path, self.upload_folder, self.limits)
        except errors.NSTError as error:
            raise _page_error(error) from None

    def _send(self, session, path):
        """path, noted as sent to session: Gradio copies it into its cache, which the session's end cleans."""
        if path is not None and session is not None:
            session.sent_files.add(_cache_path(path, self.upload_folder))
        return None if path is None else str(path)

    def _forget_cache_files(self, paths):
        # Gradio's periodic cache cleaning keeps every path it ever cached in a set per component;
        # paths removed here are taken out too, so the sets do not grow with every run.
        if self.blocks is not None:
            for file_set in self.blocks.temp_file_sets:
                file_set.difference_update(paths)

    # The painting tab.

    def apply_preset(self, preset):
        settings = form.preset_settings(preset)
        return [getattr(settings, name) for name in form.PAGE_FIELDS if name != "style_blend_weights"]

    def prepare_start(self, request: gr.Request):
        """Before the run is queued: a stop request ready for it, so Stop works while the run waits its turn.

        A tab's runs share one stop request until it is used: Start pressed again while a run paints
        queues a second run, and Stop then stops both.
        """
        session = self._session(request)
        if session is not None:
            if session.stop is None or session.stop.requested():
                session.stop = interrupts.StopRequest()
            session.waiting += 1
        return "Waiting for its turn…"

    def request_stop(self, request: gr.Request):
        """Stop: a running run ends after its iteration and keeps its image; a queued one leaves the queue."""
        session = self._session(request)
        if session is None or session.stop is None or not (session.running or session.waiting):
            return gr.skip(), gr.skip()  # nothing to stop
        session.stop.request()
        if session.running:
            return "Stopping after the current iteration…", gr.skip()
        # The run is still queued: a new value in the hidden cancel box fires its .change, which cancels the job.
        session.waiting = 0
        return "Cancelled while waiting in the queue.", uuid.uuid4().hex

    def paint(self, content_file, style_files, content_sample, style_samples, use_untrained, preset, content_weight,
              style_weight, image_size, iterations, print_every, optimizer, precision, preserve_colors, blend,
              request: gr.Request):
        """The Start button's run: yields (preview, status, plot, downloads) at each snapshot and at the end."""
        session = self._session(request)
        if session is not None:
            session.waiting = max(0, session.waiting - 1)
        stop = session.stop if session is not None and session.stop is not None else interrupts.StopRequest()
        if stop.requested() or session is None or not self.sessions.begin_run(session):
            # Stopped while it waited, or the tab closed meanwhile (then nobody sees this).
            yield gr.skip(), "Stopped before it started.", gr.skip(), gr.skip()
            return
        try:
            settings = form.PageSettings(preset, content_weight, style_weight, image_size, iterations, print_every,
                                         optimizer, precision, preserve_colors, blend)
            content, styles, config = self._run_inputs(session, content_file, style_files, content_sample,
                                                       style_samples, use_untrained, settings)
            for event in self.painter.paint(config, content, styles, stop):
                yield self._page_update(session, event)
        except errors.NSTError as error:
            raise _page_error(error) from None
        finally:
            self.sessions.run_finished(session)

    def _run_inputs(self, session, content_file, style_files, content_sample, style_samples, use_untrained,
                    settings):
        """(content image, style images, config) of a run: uploads read here, samples by name from images/ only."""
        if content_file:
            content_path = self._kept_upload(session, content_file)
            content = uploads.read_upload(content_file, self.upload_folder, self.limits)
        else:  # a sample: nst.runs reads it from images/ as the command line does
            content_path, content = self._sample_path(content_sample, "content"), None
        style_list = _as_list(style_files)
        if style_list:  # uploads replace the samples, as --style_image replaces --style_image_filename
            style_paths = [self._kept_upload(session, path) for path in style_list]
            styles = [uploads.read_upload(path, self.upload_folder, self.limits) for path in style_list]
        else:
            if not style_samples:
                raise errors.ConfigError("no style image: upload one or more, or tick a sample")
            style_paths = [self._sample_path(name, "style") for name in style_samples]
            styles = None
        weights = form.UNTRAINED_WEIGHTS if use_untrained else self.config.weights
        config = form.run_config(settings, content_path, style_paths, session.runs_folder, weights,
                                 self.config.allow_download, self.config.max_image_size, self.config.max_iterations)
        return content, styles, config

    def _kept_upload(self, session, path):
        if str(path) not in session.uploads:
            raise errors.ImageError(uploads.shown_name(path), "not a file this page uploaded")
        return uploads.keep_copy(path, session.uploads_folder)

    def _sample_path(self, name, role):
        if name not in self.samples:  # a name from the listing, never a path the browser made up
            raise errors.ConfigError(f"no {role} image: upload one, or pick a sample from the list")
        return self.samples[name]

    def _page_update(self, session, event):
        if isinstance(event, painting.Started):
            return gr.skip(), texts.started(event.run), None, None
        if isinstance(event, painting.Progress):
            return self._send(session, event.image_path), texts.snapshot(event), loss_table(event.history), gr.skip()
        downloads = [self._send(session, path) for path in event.downloads]
        return (self._send(session, event.outcome.final_path), texts.finished(event), loss_table(event.history),
                downloads)

    # The feed-forward tab.

    def refresh_models(self):
        return gr.update(choices=self.feedforward.model_names())

    def stylize_fast(self, model_name, files, max_size, request: gr.Request):
        session = self._session(request)
        if session is None:
            return gr.skip(), gr.skip()
        paths = [str(path) for path in _as_list(files)]
        if any(path not in session.uploads for path in paths):
            raise gr.Error("Upload the pictures on this page.", print_exception=False)
        try:
            written = self.feedforward.stylize(model_name, paths, max_size,
                                               session.folder / "fast" / uuid.uuid4().hex[:8])
        except errors.NSTError as error:
            raise _page_error(error) from None
        sent = [self._send(session, path) for path in written]
        return sent, sent

    # The page.

    def weights_note(self):
        """The note above the tabs, or '' when the weights need none."""
        if self.config.weights is not None and self.config.weights.strip().lower() == form.UNTRAINED_WEIGHTS:
            return texts.UNTRAINED_NOTE
        if self.weights_problem is not None:
            return texts.weights_missing_note(self.weights_problem)
        return ""


def _as_list(files):
    if not files:
        return []
    return list(files) if isinstance(files, (list, tuple)) else [files]


def _cache_path(path, cache_folder):
    """Where Gradio copies a file it sends: <cache>/<seeded SHA-256 of its bytes>/<its name> (processing_utils)."""
    name = gr.utils.client_utils.strip_invalid_filename_characters(pathlib.Path(path).name)
    return str(gradio_utils.abspath(pathlib.Path(cache_folder) / processing_utils.hash_file(path) / name))


def _page_error(error):
    """An NSTError as Gradio's error box: its message and hint, no traceback in the server's log."""
    message = str(error) if not getattr(error, "hint", None) else f"{error}. {error.hint}"
    return gr.Error(message, duration=None, print_exception=False)


def loss_table(history):
    """The plot's data: log₁₀ of each cost against the iteration, at most PLOT_POINTS iterations per cost."""
    step = max(1, math.ceil(len(history) / PLOT_POINTS))
    shown = list(history[::step])
    if history and shown[-1] is not history[-1]:
        shown.append(history[-1])
    rows = []
    for iteration, costs in shown:
        named = {"total": costs.total, "content": costs.content, "style": costs.style}
        if costs.tv:
            named["total variation"] = costs.tv
        rows += [{"iteration": iteration, "log10 cost": math.log10(max(value, 1e-30)), "cost": name}
                 for name, value in named.items() if math.isfinite(value)]
    return pd.DataFrame(rows, columns=["iteration", "log10 cost", "cost"])


def build(page):
    """The gr.Blocks of the page, its events wired to page's handlers; also stored as page.blocks."""
    config = page.config
    defaults = form.DEFAULTS
    samples = list(page.samples)
    # Cached files older than an hour go, checked every ten minutes: longer than anyone keeps a finished page
    # open to download from it. A session that ends removes its own at once (SessionRegistry.end).
    with gr.Blocks(title="Neural style transfer", analytics_enabled=False, delete_cache=(600, 3600)) as blocks:
        gr.Markdown("# Neural style transfer\nPaint a photo in the manner of a painting: the optimisation of "
                    "Gatys et al. (2015), as the Coursera / deeplearning.ai assignment teaches it.")
        note = page.weights_note()
        gr.Markdown(note, elem_id="weights_note", visible=bool(note))
        with gr.Tab("Paint", elem_id="paint_tab"):
            with gr.Row():
                with gr.Column(scale=1):
                    content_file = gr.File(label="Content image (your photo)", file_types=["image"],
                                           height=UPLOAD_HEIGHT, elem_id="content")
                    content_sample = gr.Dropdown(
                        samples, value=form.DEFAULT_CONTENT_SAMPLE if form.DEFAULT_CONTENT_SAMPLE in samples else None,
                        label="…or a sample content image", elem_id="content_sample")
                    style_files = gr.File(label="Style images", file_count="multiple",
                                          file_types=["image"], height=UPLOAD_HEIGHT, elem_id="styles")
                    style_samples = gr.CheckboxGroup(
                        samples, value=[name for name in form.DEFAULT_STYLE_SAMPLES if name in samples],
                        label="…or sample style images (used when none is uploaded)", elem_id="style_samples")
                    blend = gr.Textbox(label="Blend weights, one per style (blank: equal)", placeholder="0.7, 0.3",
                                       elem_id="blend")
                    preset = gr.Dropdown(list(config_module.PRESETS), value=defaults.preset, label="Preset",
                                         info="Reproduces a system this project grew from; fills the settings below",
                                         elem_id="preset")
                    with gr.Row():
                        content_weight = gr.Number(defaults.content_weight, label="Content weight (α)",
                                                   elem_id="content_weight")
                        style_weight = gr.Number(defaults.style_weight, label="Style weight (β)",
                                                 elem_id="style_weight")
                    image_size = gr.Slider(config_module.MIN_IMAGE_SIZE, config.max_image_size,
                                           min(defaults.image_size, config.max_image_size), step=1,
                                           label="Image size (pixels, longest side)", elem_id="image_size")
                    with gr.Row():
                        iterations = gr.Number(defaults.iterations, label="Iterations", precision=0, minimum=1,
                                               maximum=config.max_iterations, elem_id="iterations")
                        print_every = gr.Number(defaults.print_every, label="Snapshot every", precision=0,
                                                minimum=1, elem_id="print_every")
                    with gr.Row():
                        optimizer = gr.Radio(list(config_module.OPTIMIZERS), value=defaults.optimizer,
                                             label="Optimiser", elem_id="optimizer")
                        precision = gr.Radio(list(config_module.PRECISIONS), value=defaults.precision,
                                             label="Precision", elem_id="precision")
                    preserve_colors = gr.Radio(list(config_module.COLOR_PRESERVATION_MODES),
                                               value=defaults.preserve_colors, label="Keep the photo's colours",
                                               elem_id="preserve_colors")
                    use_untrained = gr.Checkbox(False, label="Untrained weights (demo: the result is not art)",
                                                visible=page.weights_problem is not None and config.weights is None,
                                                elem_id="untrained")
                    with gr.Row():
                        start = gr.Button("Start", variant="primary", elem_id="start")
                        stop = gr.Button("Stop", variant="stop", elem_id="stop")
                with gr.Column(scale=1):
                    preview = gr.Image(label="Preview", type="filepath", format="png", interactive=False,
                                       buttons=[], height=PREVIEW_HEIGHT, elem_id="preview")
                    status = gr.Markdown(texts.IDLE, elem_id="status")
                    plot = gr.LinePlot(x="iteration", y="log10 cost", color="cost", label="Costs",
                                       y_title="log₁₀ cost", elem_id="plot")
                    downloads = gr.File(label="Downloads", file_count="multiple", interactive=False,
                                        elem_id="downloads")
        with gr.Tab("Fast (feed-forward)", elem_id="fast_tab"):
            gr.Markdown(f"Networks trained with `fast_main.py train` or written by `fast_main.py export`, from the "
                        f"server's models folder (`{config.models_dir}`). Each picture takes a second or less.")
            with gr.Row():
                model = gr.Dropdown(page.feedforward.model_names(), label="Network", elem_id="model", scale=4)
                refresh = gr.Button("Refresh", elem_id="refresh", scale=1)
            fast_files = gr.File(label="Pictures", file_count="multiple", file_types=["image"], elem_id="fast_files")
            max_size = gr.Slider(0, config.max_image_size, config.max_image_size, step=1,
                                 label="Longest side at most (0: as uploaded)", elem_id="max_size")
            fast_start = gr.Button("Stylise", variant="primary", elem_id="fast_start")
            gallery = gr.Gallery(label="Stylised", format="png", elem_id="gallery", interactive=False)
            fast_downloads = gr.File(label="Downloads", file_count="multiple", interactive=False,
                                     elem_id="fast_downloads")
        cancel_box = gr.Textbox(visible="hidden", elem_id="cancel_box")

        settings = [preset, content_weight, style_weight, image_size, iterations, print_every, optimizer, precision,
                    preserve_colors, blend]
        preset.change(page.apply_preset, preset,
                      [content_weight, style_weight, image_size, iterations, print_every, optimizer, precision,
                       preserve_colors], queue=False, **PRIVATE)
        # show_progress="minimal": the place in the queue and the elapsed time as text over the preview, without
        # Gradio's full overlay, whose animation kept the browser drawing on the cores the run uses (chromium's
        # CPU time during a 30-iteration run fell from 6.4 s to 2.5 s, the run's iterations about 8 % faster).
        run = start.click(page.prepare_start, None, status, queue=False, **PRIVATE).then(
            page.paint, [content_file, style_files, content_sample, style_samples, use_untrained, *settings],
            [preview, status, plot, downloads], concurrency_limit=1, concurrency_id="paint", show_progress="minimal",
            **PRIVATE)
        # Gradio files cancels= given to a .then() under an event that never fires (6.26), so Stop changes a
        # hidden box whose own .change cancels the queued run.
        stop.click(page.request_stop, None, [status, cancel_box], queue=False, **PRIVATE)
        cancel_box.change(None, None, None, cancels=[run], **PRIVATE)
        # Queued, unlike the other quick events: Gradio shows an unqueued event's error nowhere on the page. Its own
        # concurrency group lets uploads be checked while a run paints.
        for upload_box in (content_file, style_files, fast_files):
            upload_box.upload(page.on_upload, upload_box, None, concurrency_id="uploads", concurrency_limit=4,
                              show_progress="hidden", **PRIVATE)
        refresh.click(page.refresh_models, None, model, queue=False, **PRIVATE)
        fast_start.click(page.stylize_fast, [model, fast_files, max_size], [gallery, fast_downloads],
                         concurrency_limit=1, concurrency_id="feedforward", **PRIVATE)
        blocks.load(page.on_load, None, model, queue=False, **PRIVATE)
        blocks.unload(page.on_unload)
    # api_open=False: the REST routes cannot skip the queue; max_size bounds the runs waiting.
    blocks.queue(default_concurrency_limit=1, max_size=config.queue_size, api_open=False)
    page.blocks = blocks
    return blocks
