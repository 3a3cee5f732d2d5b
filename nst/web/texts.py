"""What the page says: a run's status at each snapshot and at its end, and the note about the weights."""

from nst import outputs
from nst import progress

UNTRAINED_NOTE = ("**Demo: untrained weights.** Every step of the pipeline runs, but the network has not learnt "
                  "to see, so the result is not art.")
IDLE = "Upload a content image and one or more style images (or keep the samples), then **Start**."


def weights_missing_note(error):
    """The command line's message and hint (nst.weights.search) when no ImageNet weights were found, and the
    page's offer.

    error is the WeightsError the search raised; its message and hint are shown as they are.
    """
    lines = [f"**No ImageNet weights.** {error}"]
    if getattr(error, "hint", None):
        lines.append(f"To fix it: {error.hint}")
    lines.append("On this page: tick **Untrained weights (demo)** to run every step without them; the result is "
                 "not art. Weights put in place are found by the next run.")
    return "\n\n".join(lines)


def describe_weights(source):
    """'untrained weights (demo)' for --weights random's source text, else the source as nst.weights names it."""
    return "untrained weights (demo: the result is not art)" if source.startswith("random") else source


def started(run):
    """The line shown once the inputs are read: what is painted at which size, with which weights."""
    config, prepared = run.config, run.prepared
    width, height = prepared.content_size(config.image_size)
    return (f"Painting {width}×{height}, {config.total_iterations} iterations ({config.optimizer}, "
            f"{config.precision}) with {describe_weights(prepared.loaded_weights.source)}…")


def snapshot(progress_event):
    """Iteration, costs, elapsed time and time left, as nst_main.py prints them at each snapshot."""
    event = progress_event
    lines = [f"**Iteration {event.iteration} of {event.total_iterations}**"]
    rate = event.seconds_per_iteration
    if rate is not None:
        lines[0] += (f" · {_elapsed(event.elapsed_seconds)} elapsed · {rate:.2f} s/iteration · "
                     f"ETA {progress.duration(event.seconds_left)}")
    lines.append(_costs_text(event.iteration, event.costs))
    return "\n\n".join(lines)


def _elapsed(seconds):
    """'15.6 s' as nst_main.py prints it under a minute, then progress.duration's '7 min 30 s'."""
    return f"{seconds:.1f} s" if seconds < 60 else progress.duration(seconds)


def _costs_text(iteration, costs):
    # outputs.describe_costs is the command line's line: "Iteration 20: total cost = …, content cost = …".
    return outputs.describe_costs(iteration, costs).split(": ", 1)[1]


def finished(event):
    """The last line: done, stopped (the image is kept) or ended early, with the time taken and the files."""
    outcome = event.outcome
    result = outcome.result
    width, height = _image_size(outcome.final_path)
    timing = f"{_elapsed(result.elapsed_seconds)} ({result.seconds_per_iteration:.2f} s/iteration)"
    files = ", ".join(path.name for path in event.downloads)
    if outcome.status == "interrupted":
        head = f"**Stopped at iteration {result.iterations}.** The image of that iteration is kept"
    elif outcome.status == "stopped":
        head = f"**Stopped early:** {result.stop_reason}"
    elif result.ended_early:
        head = f"**Ended early at iteration {result.iterations}:** {result.ended_early}"
    else:
        head = f"**Done: {result.iterations} iterations** in {timing}"
    return f"{head}.\n\n{width}×{height} · {_costs_text(result.iterations, result.costs)}\n\nDownloads: {files}"


def _image_size(path):
    from PIL import Image

    with Image.open(path) as image:
        return image.size
