"""Image files for tests, made at run time."""

import io
import struct
import zlib

from PIL import Image


def png_claiming_size(width, height):
    """Return bytes of a tiny valid PNG whose IHDR is patched to claim width×height."""
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), (255, 0, 0)).save(buffer, "PNG")
    data = bytearray(buffer.getvalue())
    # Signature (8) + chunk length (4) + b"IHDR" (4), then width and height.
    assert data[12:16] == b"IHDR"
    data[16:24] = struct.pack(">II", width, height)
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))
    return bytes(data)
