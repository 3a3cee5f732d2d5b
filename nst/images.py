"""Reading images into 8-bit RGB, resizing them, and writing results atomically."""

import numbers
import pathlib
import stat
import struct
import warnings

import numpy as np
from PIL import Image, ImageOps

from nst import errors
from nst.config import MIN_IMAGE_SIZE
from nst.files import atomic_write

# Refuse images with more pixels than this before decoding them: 100 megapixels
# is far beyond what style transfer can use, and a small file can claim more.
MAX_PIXELS = 100_000_000

# Enough of the file to see past an XML declaration, doctype and comments.
_SNIFF_BYTES = 4096
_SVG_PROBLEM = "SVG is a vector format; convert it to PNG first"
_VECTOR_SUFFIXES = {".svg", ".svgz"}

# Pillow signals broken files with all of these, depending on the plugin.
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, TypeError, struct.error)

_ALPHA_MODES_TO_RGBA = {"RGBA", "LA", "La", "RGBa", "PA"}
_SAVE_OPTIONS = {"JPEG": {"quality": 95}, "WEBP": {"quality": 95}}


ImageError = errors.ImageError


def read_image(path, max_pixels=None):
    """Read the image file at `path` as an 8-bit RGB PIL image, upright as a viewer shows it.

    Transparent areas are composited over white, 16-bit and float images are
    scaled into 0..255, animated files give their first frame, and the EXIF
    orientation is applied. Raises ImageError for anything that is not a
    complete, reasonably sized raster image: more than max_pixels pixels
    (default MAX_PIXELS; a server sets its own, lower) is refused before decoding.
    """
    limit = MAX_PIXELS if max_pixels is None else max_pixels
    shown_path = str(path)
    file_path = pathlib.Path(path)
    _check_regular_file(file_path, shown_path)
    try:
        handle = open(file_path, "rb")
    except OSError as error:
        raise ImageError(shown_path, f"cannot read file ({_os_reason(error)})") from None
    with handle:
        if _looks_like_svg(handle.read(_SNIFF_BYTES)):
            raise ImageError(shown_path, _SVG_PROBLEM)
        handle.seek(0)
        with _open_image(handle, shown_path, file_path.suffix, limit) as image:
            _check_pixel_count(image.size, shown_path, limit)
            _decode(image, shown_path, limit)
            try:
                # _to_rgb always makes a new image, so closing the file cannot touch it.
                return _to_rgb(_apply_exif_orientation(image))
            except ValueError as error:
                raise ImageError(shown_path, str(error)) from None


def resize_to_longest_side(image, longest_side):
    """Return `image` scaled so its longer side is `longest_side` pixels, same aspect ratio."""
    longest_side = _positive_int(longest_side, "longest_side")
    width, height = image.size
    longest = max(width, height)
    # Integer arithmetic rounds half up exactly and keeps the long side exact.
    size = tuple(
        max(1, (2 * side * longest_side + longest) // (2 * longest)) for side in (width, height)
    )
    return resize_to_size(image, size)


def resize_to_size(image, size):
    """Return `image` resized to `size`, a (width, height) pair, with Lanczos resampling."""
    if len(size) != 2:
        raise ValueError(f"size must be a (width, height) pair, not {size!r}")
    size = (_positive_int(size[0], "width"), _positive_int(size[1], "height"))
    if image.size == size:
        return image.copy()
    return image.resize(size, Image.Resampling.LANCZOS)


def check_size_for_vgg(image, path):
    """Raise ImageError if either side of `image` is below MIN_IMAGE_SIZE pixels."""
    width, height = image.size
    if min(width, height) >= MIN_IMAGE_SIZE:
        return
    shape = "small" if max(width, height) < MIN_IMAGE_SIZE else "thin"
    raise ImageError(
        path,
        f"too {shape} for VGG19 after resizing to {width}×{height} pixels; "
        f"each side needs at least {MIN_IMAGE_SIZE} pixels",
    )


def to_array(image):
    """Return `image` as a float32 height×width×3 RGB array with values 0..255."""
    return np.array(_to_rgb(image), dtype=np.float32)


def to_pil(array, rounding="round"):
    """Return an RGB PIL image from a float H×W×3 (or 1×H×W×3) array in 0..255.

    Values are clipped to 0..255 and rounded to the nearest level, or, with rounding
    'truncate', cut to the level below as NumPy's astype(uint8) does (how the Coursera
    assignments and the tutorials save); NaN becomes 0.
    """
    pixels = np.asarray(array, dtype=np.float32)
    if pixels.ndim == 4 and pixels.shape[0] == 1:
        pixels = pixels[0]
    if pixels.ndim != 3 or pixels.shape[2] != 3:
        shape = tuple(np.shape(array))
        raise ValueError(f"expected an H×W×3 or 1×H×W×3 array, got shape {shape}")
    pixels = np.nan_to_num(pixels, nan=0.0, posinf=255.0, neginf=0.0)
    pixels = np.clip(pixels, 0.0, 255.0)
    pixels = (np.floor(pixels) if rounding == "truncate" else np.rint(pixels)).astype(np.uint8)
    return Image.fromarray(np.ascontiguousarray(pixels))


def save_image(image_or_array, path, rounding="round"):
    """Write an RGB image (PIL image or array for to_pil, with its rounding) to `path`, atomically.

    The format follows the suffix (.png, .jpg, .webp, .tif, ...). A failure
    leaves any old file at `path` untouched.
    """
    image_format = _format_for_suffix(path)
    if isinstance(image_or_array, Image.Image):
        image = _to_rgb(image_or_array)
    else:
        image = to_pil(image_or_array, rounding)
    with atomic_write(path, "wb") as handle:
        image.save(handle, format=image_format, **_SAVE_OPTIONS.get(image_format, {}))


def _check_regular_file(file_path, shown_path):
    """Refuse missing files, folders, devices and empty files with a clear message."""
    try:
        status = file_path.stat()
    except (FileNotFoundError, NotADirectoryError):
        raise ImageError(shown_path, "no such file") from None
    except OSError as error:
        raise ImageError(shown_path, f"cannot read file ({_os_reason(error)})") from None
    if stat.S_ISDIR(status.st_mode):
        raise ImageError(shown_path, "is a directory, not an image file")
    if not stat.S_ISREG(status.st_mode):
        # Reading a pipe or device could block forever or never end.
        raise ImageError(shown_path, "is not a regular file")
    if status.st_size == 0:
        raise ImageError(shown_path, "file is empty")


def _looks_like_svg(head):
    """Return True if the first bytes of a file are an SVG document."""
    text = head.removeprefix(b"\xef\xbb\xbf").lstrip().lower()
    if text.startswith(b"<svg"):
        return True
    return text.startswith((b"<?xml", b"<!doctype", b"<!--")) and b"<svg" in text


def _open_image(handle, shown_path, suffix, limit):
    """Open the image header with Pillow, refusing files it cannot identify or that are huge."""
    try:
        with warnings.catch_warnings():
            # Pillow warns above its own limit (89.5 megapixels); MAX_PIXELS is
            # the rule here and is checked right after opening.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            return Image.open(handle)
    except Image.DecompressionBombError:
        raise ImageError(shown_path, _too_large_problem(limit)) from None
    except Image.UnidentifiedImageError:
        if suffix.lower() in _VECTOR_SUFFIXES:
            raise ImageError(shown_path, _SVG_PROBLEM) from None
        raise ImageError(shown_path, "not an image Pillow can read") from None
    except _DECODE_ERRORS as error:
        raise ImageError(shown_path, f"not an image Pillow can read ({error})") from None


def _check_pixel_count(size, shown_path, limit):
    """Refuse images over limit pixels; Image.open has read only the header so far."""
    width, height = size
    if width < 1 or height < 1:
        raise ImageError(shown_path, f"image has no pixels ({width}×{height})")
    if width * height > limit:
        raise ImageError(shown_path, _too_large_problem(limit, width, height))


def _too_large_problem(limit, width=None, height=None):
    """Describe an image refused for its pixel count."""
    limit_text = f"the limit is {limit:,} pixels"
    if width is None:
        return f"image is too large to decode safely ({limit_text})"
    return f"image is too large ({width}×{height} = {width * height:,} pixels; {limit_text})"


def _decode(image, shown_path, limit):
    """Decode every pixel now, so truncated or corrupt files fail here and not later."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image.load()
    except Image.DecompressionBombError:
        raise ImageError(shown_path, _too_large_problem(limit)) from None
    except _DECODE_ERRORS as error:
        raise ImageError(shown_path, f"file is truncated or corrupt ({error})") from None


def _apply_exif_orientation(image):
    """Return the image turned as its EXIF orientation tag says (a new image, or the same one)."""
    try:
        return ImageOps.exif_transpose(image)
    except _DECODE_ERRORS:
        # A damaged EXIF block should not stop an otherwise readable image.
        return image


def _to_rgb(image):
    """Return `image` as a new 8-bit RGB image, scaling deep pixels and flattening transparency."""
    mode = image.mode
    if mode == "I" or mode.startswith("I;16"):
        # convert("RGB") would clip 16-bit values at 255 instead of scaling them.
        values = np.asarray(image if mode == "I" else image.convert("I"), dtype=np.float64)
        return _gray_to_rgb(values / 257.0)
    if mode == "F":
        return _gray_to_rgb(_scale_float_pixels(np.asarray(image, dtype=np.float64)))
    if mode in _ALPHA_MODES_TO_RGBA or image.has_transparency_data:
        return _over_white(image.convert("RGBA"))
    try:
        return image.convert("RGB")
    except ValueError:
        raise ValueError(f"cannot convert colour mode {mode!r} to RGB") from None


def _scale_float_pixels(values):
    """Map float pixels to 0..255: 0..1 is scaled up, 0..255 kept, anything else stretched."""
    values = np.nan_to_num(values, nan=0.0, posinf=0.0, neginf=0.0)
    low, high = float(values.min()), float(values.max())
    if low >= 0.0 and high <= 1.0:
        return values * 255.0
    if low >= 0.0 and high <= 255.0:
        return values
    if high == low:
        return np.zeros_like(values)
    return (values - low) * (255.0 / (high - low))


def _gray_to_rgb(values):
    """Return an RGB image from a 2-D array of gray values in 0..255."""
    gray = np.rint(np.clip(values, 0.0, 255.0)).astype(np.uint8)
    return Image.fromarray(gray).convert("RGB")


def _over_white(rgba):
    """Composite an RGBA image over a white background, as viewers show transparency."""
    background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return Image.alpha_composite(background, rgba).convert("RGB")


def _format_for_suffix(path):
    """Return the Pillow format name that writes files with the suffix of `path`."""
    suffix = pathlib.Path(path).suffix.lower()
    image_format = Image.registered_extensions().get(suffix)
    if image_format is None or image_format not in Image.SAVE:
        raise ImageError(path, f"cannot write images with suffix {suffix!r}; use .png or .jpg")
    return image_format


def _positive_int(value, name):
    """Return `value` if it is a whole number of at least 1, else raise ValueError."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a whole number of pixels, at least 1, not {value!r}")
    return int(value)


def _os_reason(error):
    """Return the short lower-case OS text of an error, e.g. 'permission denied'."""
    return (error.strerror or str(error)).lower()
