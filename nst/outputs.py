"""What a run leaves in its output folder: numbered snapshots and the final image."""

import pathlib

from nst import images

FINAL_IMAGE_NAME = "generated_image.png"


def snapshot_path(output_dir, iteration):
    """<output_dir>/iteration_0020.png: zero-padded so a file listing sorts by iteration."""
    return pathlib.Path(output_dir) / f"iteration_{iteration:04d}.png"


def final_image_path(output_dir):
    return pathlib.Path(output_dir) / FINAL_IMAGE_NAME


def save_snapshot(output_dir, snapshot):
    """Writes a Snapshot's image (clipped to 0–255) atomically; returns its path."""
    path = snapshot_path(output_dir, snapshot.iteration)
    images.save_image(snapshot.image, path)
    return path


def save_final_image(output_dir, image):
    """Writes the generated image (clipped to 0–255) atomically; returns its path."""
    path = final_image_path(output_dir)
    images.save_image(image, path)
    return path


def describe_costs(iteration, costs):
    """One line in the spirit of the Coursera app's printout."""
    return (
        f"Iteration {iteration}: total cost = {costs.total:.6g}, "
        f"content cost = {costs.content:.6g}, style cost = {costs.style:.6g}"
    )
