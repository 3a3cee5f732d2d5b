"""nst.web.uploads: uploads are decoded by nst.images' reader under the server's limits, only from the upload folder."""

import io

import numpy as np
import pytest
from PIL import Image

from image_fixtures import png_claiming_size
from nst import errors
from nst.web import uploads

LIMITS = uploads.UploadLimits(max_bytes=50_000, max_pixels=10_000)


@pytest.fixture
def upload_folder(tmp_path):
    folder = tmp_path / "gradio-cache"
    (folder / "0123abcd").mkdir(parents=True)
    return folder


def uploaded(upload_folder, name, data):
    """A file as Gradio's upload route stores it: <cache>/<hash>/<its own name>."""
    path = upload_folder / "0123abcd" / name
    path.write_bytes(data)
    return path


def png_bytes(image):
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def test_an_image_is_read_upright_as_8_bit_rgb(upload_folder):
    buffer = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to view"
    Image.new("RGBA", (40, 20), (255, 0, 0, 255)).convert("RGB").save(buffer, "JPEG", exif=exif)
    image = uploads.read_upload(uploaded(upload_folder, "photo.jpg", buffer.getvalue()), upload_folder, LIMITS)
    assert image.mode == "RGB" and image.size == (20, 40)


@pytest.mark.parametrize("name, data, problem", [
    ("notes.png", b"not an image\n", "notes.png: not an image Pillow can read"),
    ("cut.png", png_bytes(Image.new("RGB", (60, 60), (1, 2, 3)))[:60], "cut.png: "),
    # Pillow's own bomb check (twice its 89.5-megapixel warning) refuses this one while opening it.
    ("bomb.png", png_claiming_size(30_000, 30_000), "bomb.png: image is too large to decode safely"),
    ("tall.png", png_claiming_size(100, 5_000),
     "tall.png: image is too large (100×5000 = 500,000 pixels; the limit is 10,000 pixels)"),
    ("wide.png", png_bytes(Image.new("RGB", (101, 100))),
     "wide.png: image is too large (101×100 = 10,100 pixels; the limit is 10,000 pixels)"),
    ("drawing.svg", b'<svg xmlns="http://www.w3.org/2000/svg"/>', "drawing.svg: SVG is a vector format"),
])
def test_what_the_reader_refuses_is_reported_under_the_uploaded_name(upload_folder, name, data, problem):
    with pytest.raises(errors.ImageError) as refused:
        uploads.read_upload(uploaded(upload_folder, name, data), upload_folder, LIMITS)
    assert str(refused.value).startswith(problem) and str(upload_folder) not in str(refused.value)


def test_a_file_over_the_size_limit_is_refused_before_it_is_opened(upload_folder):
    noise = np.random.default_rng(0).integers(0, 256, (200, 200, 3), dtype=np.uint8)
    path = uploaded(upload_folder, "big.png", png_bytes(Image.fromarray(noise)))
    with pytest.raises(errors.ImageError, match=r"big.png: the file is 0.1 MB; this server reads files up to 0.0 MB"):
        uploads.read_upload(path, upload_folder, LIMITS)


def test_a_path_outside_the_upload_folder_is_refused_unread(upload_folder, tmp_path):
    outside = tmp_path / "secret.png"
    outside.write_bytes(png_bytes(Image.new("RGB", (20, 20))))
    for path in (outside, upload_folder / "0123abcd" / ".." / ".." / "secret.png", "/etc/hostname"):
        with pytest.raises(errors.ImageError, match="not a file uploaded to this page"):
            uploads.read_upload(path, upload_folder, LIMITS)


def test_an_upload_that_is_gone_asks_for_it_again(upload_folder):
    with pytest.raises(errors.ImageError, match="gone.*upload it again"):
        uploads.read_upload(upload_folder / "0123abcd" / "gone.png", upload_folder, LIMITS)


def test_kept_copies_keep_their_name_and_two_files_of_one_name_both_stay(upload_folder, tmp_path):
    first = uploaded(upload_folder, "photo.png", png_bytes(Image.new("RGB", (20, 20), (1, 1, 1))))
    kept = uploads.keep_copy(first, tmp_path / "session")
    assert kept == tmp_path / "session" / "photo.png" and kept.read_bytes() == first.read_bytes()
    assert uploads.keep_copy(first, tmp_path / "session") == kept  # the same file again: the same copy
    other = upload_folder / "ffff" / "photo.png"
    other.parent.mkdir()
    other.write_bytes(png_bytes(Image.new("RGB", (20, 20), (9, 9, 9))))
    second = uploads.keep_copy(other, tmp_path / "session")
    assert second != kept and second.name.startswith("photo-") and second.read_bytes() == other.read_bytes()
