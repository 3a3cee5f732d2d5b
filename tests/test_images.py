"""Tests for nst.images: reading every kind of image, refusing bad ones, resizing and saving."""

import gzip
import io
import os
import time

import numpy as np
import pytest
from PIL import Image, ImageFile

from image_fixtures import png_claiming_size
from nst import images
from nst.config import MIN_IMAGE_SIZE
from nst.images import (
    MAX_PIXELS,
    ImageError,
    check_size_for_vgg,
    read_image,
    resize_to_longest_side,
    resize_to_size,
    save_image,
    to_array,
    to_pil,
)

RED = (255, 0, 0)
BLUE = (0, 0, 255)
WHITE = (255, 255, 255)


def write_image(path, image, **options):
    """Save a PIL image as a fixture file and return its path."""
    image.save(path, **options)
    return path


def stored_mode(path):
    """Return the mode Pillow gives the file itself, closing it again."""
    with Image.open(path) as image:
        return image.mode


def assert_close(actual, expected, tolerance):
    """Assert two RGB tuples differ by at most `tolerance` per channel."""
    assert all(abs(a - e) <= tolerance for a, e in zip(actual, expected)), (actual, expected)


def refusal(path):
    """Return the message of the ImageError raised when reading `path`."""
    with pytest.raises(ImageError) as caught:
        read_image(path)
    message = str(caught.value)
    assert message.startswith(f"{path}: ")
    assert "\n" not in message
    return message


# Constants


def test_the_limits_are_a_hundred_megapixels_and_sixteen_pixels_a_side(tmp_path):
    """At the limit an image is decoded (and this header-only file found truncated); one row more is refused unread."""
    path = tmp_path / "limit.png"
    path.write_bytes(png_claiming_size(10_000, 10_000))
    assert MAX_PIXELS == 10_000 * 10_000 and "truncated or corrupt" in refusal(path)
    path.write_bytes(png_claiming_size(10_000, 10_001))
    assert "too large (10000×10001 = 100,010,000 pixels" in refusal(path)
    check_size_for_vgg(Image.new("RGB", (MIN_IMAGE_SIZE, 200)), "sixteen.png")
    with pytest.raises(ImageError, match="too thin for VGG19"):
        check_size_for_vgg(Image.new("RGB", (MIN_IMAGE_SIZE - 1, 200)), "fifteen.png")


# Reading: colour modes


def test_read_rgb_png(tmp_path):
    path = write_image(tmp_path / "rgb.png", Image.new("RGB", (5, 3), (10, 20, 30)))
    image = read_image(path)
    assert image.mode == "RGB"
    assert image.size == (5, 3)
    assert image.getpixel((4, 2)) == (10, 20, 30)


def test_read_image_is_usable_after_file_is_gone(tmp_path):
    path = write_image(tmp_path / "rgb.png", Image.new("RGB", (5, 3), (10, 20, 30)))
    image = read_image(str(path))
    os.remove(path)
    assert image.copy().getpixel((0, 0)) == (10, 20, 30)


def test_read_grayscale(tmp_path):
    path = write_image(tmp_path / "gray.png", Image.new("L", (4, 4), 100))
    image = read_image(path)
    assert image.mode == "RGB"
    assert image.getpixel((1, 1)) == (100, 100, 100)


def test_read_16_bit_grayscale_png_scales_instead_of_clipping(tmp_path):
    values = np.array([[0, 32768, 65535, 257]], dtype=np.uint16)
    path = write_image(tmp_path / "deep.png", Image.fromarray(values))
    assert stored_mode(path) == "I;16"
    pixels = np.asarray(read_image(path))
    assert pixels[0, :, 0].tolist() == [0, 128, 255, 1]
    assert (pixels[..., 0] == pixels[..., 2]).all()


def test_read_16_bit_big_endian_tiff(tmp_path):
    values = np.array([[0, 32768, 65535]], dtype=">u2")
    big_endian = Image.frombytes("I;16B", (3, 1), values.tobytes())
    path = write_image(tmp_path / "deep.tif", big_endian)
    assert stored_mode(path) == "I;16B"
    assert np.asarray(read_image(path))[0, :, 1].tolist() == [0, 128, 255]


def test_read_32_bit_integer_tiff(tmp_path):
    values = np.array([[0, 32768, 65535, 100_000]], dtype=np.int32)
    path = write_image(tmp_path / "int.tif", Image.fromarray(values))
    assert stored_mode(path) == "I"
    assert np.asarray(read_image(path))[0, :, 0].tolist() == [0, 128, 255, 255]


def test_read_float_tiff_in_unit_range(tmp_path):
    values = np.array([[0.0, 0.25, 1.0]], dtype=np.float32)
    path = write_image(tmp_path / "float.tif", Image.fromarray(values))
    assert stored_mode(path) == "F"
    assert np.asarray(read_image(path))[0, :, 0].tolist() == [0, 64, 255]


def test_read_float_tiff_outside_byte_range_is_stretched(tmp_path):
    values = np.array([[-100.0, 450.0, 1000.0]], dtype=np.float32)
    path = write_image(tmp_path / "float.tif", Image.fromarray(values))
    assert np.asarray(read_image(path))[0, :, 0].tolist() == [0, 128, 255]


def test_read_one_bit(tmp_path):
    bitmap = Image.new("1", (8, 2), 0)
    bitmap.putpixel((3, 1), 1)
    image = read_image(write_image(tmp_path / "bits.png", bitmap))
    assert image.getpixel((0, 0)) == (0, 0, 0)
    assert image.getpixel((3, 1)) == WHITE


def test_read_rgba_composites_over_white(tmp_path):
    rgba = Image.new("RGBA", (2, 1), (0, 0, 0, 0))
    rgba.putpixel((1, 0), (255, 0, 0, 128))
    image = read_image(write_image(tmp_path / "alpha.png", rgba))
    assert image.mode == "RGB"
    assert image.getpixel((0, 0)) == WHITE
    assert_close(image.getpixel((1, 0)), (255, 127, 127), 1)


def test_read_la_composites_over_white(tmp_path):
    la = Image.new("LA", (2, 1), (0, 0))
    la.putpixel((1, 0), (50, 255))
    image = read_image(write_image(tmp_path / "la.png", la))
    assert image.getpixel((0, 0)) == WHITE
    assert image.getpixel((1, 0)) == (50, 50, 50)


def test_read_palette(tmp_path):
    palette = Image.new("P", (2, 1), 0)
    palette.putpalette([*RED, *BLUE])
    palette.putpixel((1, 0), 1)
    image = read_image(write_image(tmp_path / "palette.png", palette))
    assert image.getpixel((0, 0)) == RED
    assert image.getpixel((1, 0)) == BLUE


def test_read_palette_with_transparency_composites_over_white(tmp_path):
    palette = Image.new("P", (2, 1), 0)
    palette.putpalette([*RED, *BLUE])
    palette.putpixel((1, 0), 1)
    path = write_image(tmp_path / "palette.png", palette, transparency=0)
    image = read_image(path)
    assert image.getpixel((0, 0)) == WHITE
    assert image.getpixel((1, 0)) == BLUE


def test_read_rgb_with_transparent_colour(tmp_path):
    rgb = Image.new("RGB", (2, 1), RED)
    rgb.putpixel((1, 0), BLUE)
    image = read_image(write_image(tmp_path / "trns.png", rgb, transparency=RED))
    assert image.getpixel((0, 0)) == WHITE
    assert image.getpixel((1, 0)) == BLUE


@pytest.mark.parametrize("suffix", [".jpg", ".tif"])
def test_read_cmyk(tmp_path, suffix):
    cmyk = Image.new("CMYK", (8, 8), (0, 255, 255, 0))  # Pure red ink.
    cmyk.paste((0, 0, 0, 128), (0, 4, 8, 8))  # Half black below.
    image = read_image(write_image(tmp_path / f"cmyk{suffix}", cmyk))
    assert image.mode == "RGB"
    assert_close(image.getpixel((2, 1)), RED, 3)
    assert_close(image.getpixel((2, 6)), (127, 127, 127), 3)


def test_read_webp(tmp_path):
    original = Image.new("RGB", (6, 4), (12, 200, 34))
    path = write_image(tmp_path / "lossless.webp", original, lossless=True)
    image = read_image(path)
    assert image.size == (6, 4)
    assert image.getpixel((3, 2)) == (12, 200, 34)


def test_read_tiff(tmp_path):
    path = write_image(tmp_path / "plain.tiff", Image.new("RGB", (6, 4), (12, 200, 34)))
    assert read_image(path).getpixel((5, 3)) == (12, 200, 34)


def test_read_animated_gif_gives_first_frame(tmp_path):
    frames = [Image.new("RGB", (4, 4), colour) for colour in (RED, BLUE, (0, 255, 0))]
    path = tmp_path / "animated.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)
    with Image.open(path) as stored:
        assert stored.n_frames == 3
    assert read_image(path).getpixel((1, 1)) == RED


def test_read_applies_exif_orientation(tmp_path):
    stored = Image.new("RGB", (40, 20), RED)
    stored.paste(BLUE, (20, 0, 40, 20))  # Left half red, right half blue.
    exif = Image.Exif()
    exif[0x0112] = 6  # Orientation: rotate 90° clockwise to display.
    path = write_image(tmp_path / "phone.jpg", stored, exif=exif, quality=95)
    image = read_image(path)
    assert image.size == (20, 40)
    # Turning clockwise brings the left edge to the top.
    assert_close(image.getpixel((10, 5)), RED, 20)
    assert_close(image.getpixel((10, 35)), BLUE, 20)


# Reading: refusals


def test_refuses_missing_file(tmp_path):
    assert "no such file" in refusal(tmp_path / "nothing.png")


def test_refuses_missing_parent_that_is_a_file(tmp_path):
    (tmp_path / "file.txt").write_text("x")
    assert "no such file" in refusal(tmp_path / "file.txt" / "cat.png")


def test_refuses_directory(tmp_path):
    folder = tmp_path / "photos.png"
    folder.mkdir()
    assert "is a directory, not an image file" in refusal(folder)


def test_refuses_empty_file(tmp_path):
    path = tmp_path / "empty.png"
    path.touch()
    assert "file is empty" in refusal(path)


def test_refuses_unreadable_file(tmp_path, monkeypatch):
    path = write_image(tmp_path / "secret.png", Image.new("RGB", (4, 4)))

    # Tests run as root, which ignores permission bits; simulate the refusal.
    def refusing_open(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(images, "open", refusing_open, raising=False)
    assert "permission denied" in refusal(path)


def test_refuses_fifo(tmp_path):
    path = tmp_path / "pipe.png"
    os.mkfifo(path)
    assert "not a regular file" in refusal(path)


def test_refuses_text_file(tmp_path):
    path = tmp_path / "notes.jpg"
    path.write_text("these are not pixels\n")
    assert "not an image Pillow can read" in refusal(path)


@pytest.mark.parametrize(
    "text",
    [
        '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>',
        '\ufeff<?xml version="1.0"?>\n<!-- drawn by hand -->\n'
        '<svg xmlns="http://www.w3.org/2000/svg"/>',
        '<!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "x">\n<svg/>',
    ],
)
def test_refuses_svg(tmp_path, text):
    path = tmp_path / "logo.png"  # Sniffed by content, not by name.
    path.write_text(text, encoding="utf-8")
    message = refusal(path)
    assert "SVG is a vector format" in message
    assert "PNG" in message


def test_refuses_compressed_svg(tmp_path):
    path = tmp_path / "logo.svgz"
    path.write_bytes(gzip.compress(b"<svg/>"))
    assert "SVG is a vector format" in refusal(path)


def test_refuses_truncated_jpeg(tmp_path):
    noise = np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(noise).save(buffer, "JPEG")
    path = tmp_path / "cut.jpg"
    path.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    message = refusal(path)
    assert "truncated or corrupt" in message
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


def test_refuses_truncated_png(tmp_path):
    noise = np.random.default_rng(1).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(noise).save(buffer, "PNG")
    path = tmp_path / "cut.png"
    path.write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    assert "truncated or corrupt" in refusal(path)


def test_refuses_corrupt_png_data(tmp_path):
    noise = np.random.default_rng(2).integers(0, 256, (64, 64, 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(noise).save(buffer, "PNG")
    data = bytearray(buffer.getvalue())
    start = data.index(b"IDAT") + 4
    data[start + 10 : start + 60] = bytes(50)  # Wreck the compressed stream.
    path = tmp_path / "broken.png"
    path.write_bytes(bytes(data))
    assert "corrupt" in refusal(path)


@pytest.mark.parametrize("width, height", [(20000, 20000), (12000, 9000)])
def test_refuses_decompression_bomb_before_decoding(tmp_path, monkeypatch, width, height):
    path = tmp_path / "bomb.png"
    path.write_bytes(png_claiming_size(width, height))
    assert path.stat().st_size < 200

    def forbidden_load(self):
        raise AssertionError("pixels were decoded")

    monkeypatch.setattr(ImageFile.ImageFile, "load", forbidden_load)
    started = time.perf_counter()
    message = refusal(path)
    assert time.perf_counter() - started < 1.0
    assert "too large" in message
    assert "100,000,000" in message


def test_pixel_limit_is_read_at_call_time(tmp_path, monkeypatch):
    path = write_image(tmp_path / "small.png", Image.new("RGB", (20, 20)))
    monkeypatch.setattr(images, "MAX_PIXELS", 399)
    assert "too large (20×20 = 400 pixels" in refusal(path)
    monkeypatch.setattr(images, "MAX_PIXELS", 400)
    assert read_image(path).size == (20, 20)


def test_a_caller_sets_a_lower_pixel_limit(tmp_path):
    path = write_image(tmp_path / "small.png", Image.new("RGB", (20, 20)))
    with pytest.raises(ImageError, match=r"too large \(20×20 = 400 pixels; the limit is 399 pixels\)"):
        read_image(path, max_pixels=399)
    assert read_image(path, max_pixels=400).size == (20, 20)


def test_image_error_is_a_value_error():
    error = ImageError("photos/cat.jpg", "file is truncated or corrupt\n(detail)")
    assert isinstance(error, ValueError)
    assert str(error) == "photos/cat.jpg: file is truncated or corrupt (detail)"


# Resizing


@pytest.mark.parametrize(
    "size, longest_side, expected",
    [
        ((800, 600), 400, (400, 300)),
        ((300, 800), 400, (150, 400)),
        ((400, 400), 400, (400, 400)),
        ((100, 50), 300, (300, 150)),  # Upscaling is allowed.
        ((4, 2), 5, (5, 3)),  # 2.5 rounds up.
        ((1000, 1), 400, (400, 1)),  # Never below one pixel.
    ],
)
def test_resize_to_longest_side(size, longest_side, expected):
    resized = resize_to_longest_side(Image.new("RGB", size, RED), longest_side)
    assert resized.size == expected
    assert resized.getpixel((0, 0)) == RED


@pytest.mark.parametrize("bad", [0, -3, 2.5, True, "400"])
def test_resize_to_longest_side_rejects_bad_sizes(bad):
    with pytest.raises(ValueError):
        resize_to_longest_side(Image.new("RGB", (8, 8)), bad)


def test_resize_to_size():
    original = Image.new("RGB", (40, 30), BLUE)
    resized = resize_to_size(original, (21, 50))
    assert resized.size == (21, 50)
    assert resized.getpixel((10, 25)) == BLUE
    assert resize_to_size(original, (40, 30)) is not original


@pytest.mark.parametrize("bad", [(0, 10), (10,), (10, 2.0)])
def test_resize_to_size_rejects_bad_sizes(bad):
    with pytest.raises(ValueError):
        resize_to_size(Image.new("RGB", (8, 8)), bad)


def test_check_size_for_vgg():
    check_size_for_vgg(Image.new("RGB", (16, 16)), "photos/ok.png")
    with pytest.raises(ImageError) as caught:
        check_size_for_vgg(Image.new("RGB", (400, 3)), "photos/thin.png")
    assert str(caught.value) == (
        "photos/thin.png: too thin for VGG19 after resizing to 400×3 pixels; "
        "each side needs at least 16 pixels"
    )
    with pytest.raises(ImageError, match="too small"):
        check_size_for_vgg(Image.new("RGB", (8, 8)), "photos/tiny.png")


# Arrays


def test_to_array():
    array = to_array(Image.new("RGB", (5, 3), (1, 2, 250)))
    assert array.dtype == np.float32
    assert array.shape == (3, 5, 3)
    assert array[2, 4].tolist() == [1.0, 2.0, 250.0]


def test_to_array_converts_grayscale():
    array = to_array(Image.new("L", (2, 2), 77))
    assert array.shape == (2, 2, 3)
    assert (array == 77).all()


def test_to_pil_clips_and_rounds():
    array = np.array([[[-5.0, 127.6, 300.0], [np.nan, 0.4, 254.5]]], dtype=np.float32)
    image = to_pil(array)
    assert image.mode == "RGB"
    assert image.size == (2, 1)
    assert image.getpixel((0, 0)) == (0, 128, 255)
    assert image.getpixel((1, 0)) == (0, 0, 254)  # rint rounds halves to even.


def test_to_pil_accepts_batch_of_one():
    image = to_pil(np.full((1, 4, 6, 3), 9.0))
    assert image.size == (6, 4)


@pytest.mark.parametrize("shape", [(2, 4, 6, 3), (4, 6), (4, 6, 4)])
def test_to_pil_rejects_bad_shapes(shape):
    with pytest.raises(ValueError, match="shape"):
        to_pil(np.zeros(shape))


def test_array_round_trip():
    pixels = np.random.default_rng(3).integers(0, 256, (7, 9, 3)).astype(np.float32)
    assert np.array_equal(to_array(to_pil(pixels)), pixels)


# Saving


def test_save_image_png_round_trip(tmp_path):
    pixels = np.random.default_rng(4).integers(0, 256, (7, 9, 3)).astype(np.float32)
    path = tmp_path / "out.png"
    save_image(pixels, path)
    with Image.open(path) as written:
        assert written.format == "PNG"
    assert np.array_equal(to_array(read_image(path)), pixels)
    assert os.listdir(tmp_path) == ["out.png"]


def test_save_image_jpeg_from_pil(tmp_path):
    path = tmp_path / "out.jpg"
    save_image(Image.new("RGBA", (8, 8), (0, 0, 0, 0)), path)
    with Image.open(path) as written:
        assert written.format == "JPEG"
    assert_close(read_image(path).getpixel((4, 4)), WHITE, 2)


def test_save_image_refuses_unknown_suffix(tmp_path):
    with pytest.raises(ImageError, match="suffix"):
        save_image(np.zeros((4, 4, 3)), tmp_path / "out.notaformat")
    assert os.listdir(tmp_path) == []


def test_save_image_failure_keeps_old_file(tmp_path, monkeypatch):
    path = tmp_path / "out.png"
    save_image(np.full((4, 4, 3), 200.0), path)
    old_bytes = path.read_bytes()

    def failing_save(self, handle, *args, **kwargs):
        handle.write(b"\x89PNG half written")
        raise OSError("disk full")

    monkeypatch.setattr(Image.Image, "save", failing_save)
    with pytest.raises(OSError, match="disk full"):
        save_image(np.zeros((4, 4, 3)), path)
    assert path.read_bytes() == old_bytes
    assert os.listdir(tmp_path) == ["out.png"]
