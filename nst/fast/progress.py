"""What the feed-forward commands show: the training progress (a tqdm bar, or lines in a log) and result lines."""

import sys

from nst import progress as core_progress
from nst.fast import outputs as fast_outputs

def describe_losses(losses):
    return (f"loss {losses['total']:.4g} (content {losses['content']:.3g}, style {losses['style']:.3g}, "
            f"total variation {losses['total_variation']:.3g})")



class TrainingDisplay:
    """The training callbacks of the command line: progress, checkpoint lines, and the files of each checkpoint.

    On a terminal a tqdm bar shows every step; in a log, a line every PROGRESS_LINE_EVERY steps
    with the time so far, the time per step and the time left. Only the chief of a cluster
    shows anything or writes files.
    """

    PROGRESS_LINE_EVERY = 100

    def __init__(self, run, output_dir):
        import tqdm


        self.output_dir = output_dir
        self.is_chief = run.is_chief
        self.start_step = run.start_step
        self.loss_log = fast_outputs.LossLog(output_dir, run.start_step)
        self.model_path = None
        self.bar = None
        if run.is_chief and sys.stderr.isatty():
            self.bar = tqdm.tqdm(total=run.total_steps, initial=run.start_step, unit="step", dynamic_ncols=True,
                                 file=sys.stderr)

    def on_progress(self, progress):
        self.loss_log.add(progress.step, progress.losses)
        if self.bar is not None:
            losses = progress.losses
            self.bar.set_postfix(total=f"{losses['total']:.4g}", content=f"{losses['content']:.3g}",
                                 style=f"{losses['style']:.3g}", tv=f"{losses['total_variation']:.3g}",
                                 refresh=False)
            self.bar.update(progress.step - self.bar.n)
        elif self.is_chief and progress.step % self.PROGRESS_LINE_EVERY == 0:
            self._write(self.progress_line(progress))

    def progress_line(self, progress):
        """'Step 100/1000: loss …, 8.0 images/s [50 s, 0.50 s/step, ETA 7 min 30 s]', as nst_main.py's lines end."""
        seconds_per_step = progress.elapsed_seconds / max(1, progress.step - self.start_step)
        remaining = seconds_per_step * (progress.total_steps - progress.step)
        return (f"Step {progress.step}/{progress.total_steps}: {describe_losses(progress.losses)}, "
                f"{progress.images_per_second:.1f} images/s [{core_progress.duration(progress.elapsed_seconds)}, "
                f"{seconds_per_step:.2f} s/step, ETA {core_progress.duration(remaining)}]")

    def on_checkpoint_due(self, due):
        """Writes the model and the loss log before the checkpoint, so that a checkpoint always has both."""

        if self.is_chief:
            self.model_path = fast_outputs.save_model(due.model, self.output_dir)
            self.loss_log.write()

    def on_checkpoint(self, saved):
        if not self.is_chief:
            return
        losses = self.loss_log.rows[-1] if self.loss_log.rows else None
        self._write(f"Step {saved.step}: {describe_losses(losses) + '; ' if losses else ''}"
                    f"checkpoint {saved.path}, model {self.model_path}")

    def _write(self, line):
        if self.bar is not None:
            self.bar.write(line, file=sys.stdout)
        else:
            print(line, flush=True)

    def close(self):
        if self.bar is not None:
            self.bar.close()
            self.bar = None



def describe_start(config, loaded_weights, run):
    from nst.fast import distribution  # imports TensorFlow

    if loaded_weights.warning:
        print(f"Warning: {loaded_weights.warning}", file=sys.stderr)
    if run.training_files.skipped:
        print(f"Warning: {run.training_files.skipped_summary()}", file=sys.stderr)
    for skipped in run.skipped_checkpoints:
        print(f"Warning: {skipped.path}: {skipped.problem}; the checkpoint of step {skipped.step} is skipped",
              file=sys.stderr)
    logged = fast_outputs.read_loss_log(fast_outputs.loss_log_path(config.output_dir))
    if run.start_step and (not logged or logged[-1]["step"] < run.start_step):
        last = logged[-1]["step"] if logged else 0
        print(f"Warning: {fast_outputs.loss_log_path(config.output_dir)} ends at step {last}, before the checkpoint's "
              f"step {run.start_step}: steps {last + 1}–{run.start_step} are missing from it", file=sys.stderr)
    print(f"Weights: {loaded_weights.source}")
    print(f"Training on {len(run.training_files.paths)} images from {config.train_dir} "
          f"({distribution.describe(run.strategy)}), batch {config.batch_size}, "
          f"{config.image_size}×{config.image_size} crops")
    if run.resumed_from:
        print(f"Resuming from {run.resumed_from} (step {run.start_step} of {run.total_steps})")
    print(f"Output: {config.output_dir}/", flush=True)



def describe_item(item):
    if item.error:
        return f"Skipped {item.error}"
    if item.frames == 1:
        return f"{item.source} -> {item.output} ({item.milliseconds[0]:.0f} ms)"
    times = sorted(item.milliseconds)
    flicker = "" if item.warping_error is None else f", warping error {item.warping_error:.4g}"
    return (f"{item.source} -> {item.output} ({item.frames} frames, median {times[len(times) // 2]:.0f} ms per "
            f"frame{flicker})")



def describe_check(check):
    verdict = "ok" if check.passed else "TOO DIFFERENT"
    return (f"{check.format:15s} {check.path}  {check.size_bytes / 1e6:.1f} MB  "
            f"mean difference {check.mean_difference:.3g} gray levels (max {check.max_difference:.3g}; "
            f"tolerance {check.tolerance:g}): {verdict}, {check.milliseconds:.0f} ms")


