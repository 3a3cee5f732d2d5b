"""Training images for fast style transfer: finding and checking the files, and the tf.data pipeline that feeds them."""

import dataclasses
import os
import pathlib
import warnings

import tensorflow as tf
from PIL import Image
from nst import errors

# tf.io.decode_image reads these; anything else in the folder is ignored or skipped.
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif")
DECODABLE_FORMATS = ("JPEG", "PNG", "BMP", "GIF")
MAX_SKIPPED_SHOWN = 5  # how many unreadable files a warning names before "and N more"


TrainingDataError = errors.TrainingDataError


@dataclasses.dataclass(frozen=True)
class TrainingFiles:
    """The usable image files of a training folder, and those skipped with the reason for each."""

    folder: str
    paths: tuple  # sorted, as strings
    skipped: tuple = ()  # ((path, problem), ...)

    def skipped_summary(self):
        """One line naming the first few skipped files, or '' when none were skipped."""
        if not self.skipped:
            return ""
        shown = "; ".join(f"{path}: {problem}" for path, problem in self.skipped[:MAX_SKIPPED_SHOWN])
        more = len(self.skipped) - MAX_SKIPPED_SHOWN
        return (
            f"skipped {len(self.skipped)} unreadable file(s) of {len(self.skipped) + len(self.paths)} "
            f"in {self.folder}: {shown}" + (f"; and {more} more" if more > 0 else "")
        )


def find_training_files(folder):
    """Every image file under folder (recursively) whose header Pillow reads as a format TensorFlow decodes.

    Only headers are read, so a large folder (COCO: 118k files) is checked in seconds;
    a file damaged further in is dropped later by the pipeline. Raises TrainingDataError
    for a missing folder, a folder without image files, or one where none is readable.
    """
    root = pathlib.Path(os.path.expanduser(str(folder)))
    if not root.exists():
        raise TrainingDataError(folder, "no such folder")
    if not root.is_dir():
        raise TrainingDataError(folder, "is a file; --train_dir needs a folder of images")
    candidates = sorted(
        path for path in root.rglob("*") if path.suffix.lower() in IMAGE_SUFFIXES and path.is_file()
    )
    if not candidates:
        raise TrainingDataError(
            folder, f"no image files ({', '.join(IMAGE_SUFFIXES)}) in this folder or below it"
        )
    usable, skipped = [], []
    for path in candidates:
        problem = _header_problem(path)
        if problem:
            skipped.append((str(path), problem))
        else:
            usable.append(str(path))
    if not usable:
        first_path, first_problem = skipped[0]
        raise TrainingDataError(
            folder, f"none of its {len(candidates)} image files can be read (e.g. {first_path}: {first_problem})"
        )
    return TrainingFiles(str(folder), tuple(usable), tuple(skipped))


def _header_problem(path):
    """Why TensorFlow could not decode the file at path, judged from its header; None when it looks fine."""
    try:
        if path.stat().st_size == 0:
            return "file is empty"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # decompression-bomb warnings: the crop makes size harmless
            with Image.open(path) as image:
                image_format, (width, height) = image.format, image.size
    except Image.UnidentifiedImageError:
        return "not an image"
    except (OSError, ValueError, Image.DecompressionBombError) as error:
        return f"cannot be read ({error})"
    if image_format not in DECODABLE_FORMATS:
        return f"{image_format} images are not supported for training (use JPEG or PNG)"
    if width < 1 or height < 1:
        return "image has no pixels"
    return None


def load_training_image(path, image_size, seed):
    """One image file as image_size×image_size×3 float32 RGB pixels (0–255).

    The shorter side is resized to image_size (antialiased), then a square is cropped at a
    position drawn from seed (a stateless [2] seed, so a run can be repeated exactly).
    """
    image = tf.io.decode_image(tf.io.read_file(path), channels=3, expand_animations=False)
    image.set_shape([None, None, 3])
    shape = tf.cast(tf.shape(image)[:2], tf.float32)
    scale = tf.cast(image_size, tf.float32) / tf.reduce_min(shape)
    resized_shape = tf.maximum(tf.cast(tf.math.ceil(shape * scale), tf.int32), image_size)
    resized = tf.image.resize(tf.cast(image, tf.float32), resized_shape, antialias=True)
    # The antialiasing filter overshoots slightly at sharp edges.
    resized = tf.clip_by_value(resized, 0.0, 255.0)
    return tf.image.stateless_random_crop(resized, [image_size, image_size, 3], seed=seed)


def make_dataset(paths, batch_size, image_size, seed, input_context=None):
    """An endless tf.data pipeline of batch_size×image_size×image_size×3 batches from paths, reshuffled every pass.

    Files are decoded in parallel and prefetched. With an input_context (from
    strategy.distribute_datasets_from_function) each input pipeline reads its own shard
    of the files. Files that fail to decode are dropped rather than ending the run.
    """
    files = tf.data.Dataset.from_tensor_slices(list(paths))
    pipelines = input_context.num_input_pipelines if input_context is not None else 1
    # With fewer files than pipelines a shard would be empty and never yield; then every pipeline reads all.
    if 1 < pipelines <= len(paths):
        files = files.shard(input_context.num_input_pipelines, input_context.input_pipeline_id)
    files = files.shuffle(len(paths), seed=seed, reshuffle_each_iteration=True).repeat()
    crop_seeds = tf.data.Dataset.random(seed=seed).batch(2)
    images = tf.data.Dataset.zip((files, crop_seeds)).map(
        lambda path, crop_seed: load_training_image(path, image_size, crop_seed),
        num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=False,
    )
    # A file whose header was fine but whose data is damaged (e.g. a truncated JPEG).
    images = images.ignore_errors()
    return images.batch(batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE)


def distributed_dataset(strategy, paths, global_batch_size, image_size, seed):
    """make_dataset spread over strategy's replicas: each replica gets global_batch_size / replicas images a step."""

    def dataset_for_pipeline(input_context):
        per_replica_batch = input_context.get_per_replica_batch_size(global_batch_size)
        # Each pipeline shuffles with its own seed, so shards are not read in lockstep.
        return make_dataset(paths, per_replica_batch, image_size, seed + input_context.input_pipeline_id,
                            input_context)

    return strategy.distribute_datasets_from_function(dataset_for_pipeline)
