"""Clips with known motion made from one still photo: a camera pan and zoom and a moving square, with their exact flow.

For the tests and the benchmark: every frame samples the photo (bicubic, at sub-pixel positions), so
the true flow between frames, and which pixels are hidden or revealed by the square or by the frame's
edges, are known exactly. The square is a mirrored crop of the same photo; its edges are
anti-aliased by area coverage, so the pixels along them mix square and background and belong to
neither motion (`mixed`).
"""

import dataclasses

import cv2
import numpy as np
import PIL.Image

SOURCE_MARGIN = 4  # pixels kept between the sampled area and the photo's edge (bicubic needs 2)
MIXED_BAND = 1.5  # pixels either side of the square's edges that mix square and background


@dataclasses.dataclass(frozen=True)
class SyntheticClip:
    """Frames and, per pair of consecutive frames t, t+1, the truth about their motion."""

    frames: tuple  # H×W×3 uint8
    forward: tuple  # the true flow t → t+1 on frame t's grid (H×W×2 float32), per pair
    backward: tuple  # t+1 → t on frame t+1's grid
    visible_forward: tuple  # pixels of frame t still seen in frame t+1 (H×W bool)
    visible_backward: tuple  # pixels of frame t+1 already seen in frame t (False: revealed or come into view)
    mixed_forward: tuple  # pixels of frame t within MIXED_BAND of the square's edge, there or where they go
    mixed_backward: tuple  # likewise on frame t+1's grid


@dataclasses.dataclass(frozen=True)
class _Camera:
    """Background: frame t's pixel p shows the source at origin + t·pan + (p − centre)/zoom^t."""

    pan: np.ndarray
    zoom: float
    centre: np.ndarray
    origin: np.ndarray

    def source_positions(self, t, x, y):
        scale = self.zoom**-t
        return (self.origin[0] + t * self.pan[0] + (x - self.centre[0]) * scale,
                self.origin[1] + t * self.pan[1] + (y - self.centre[1]) * scale)

    def forward_flow(self, t, x, y):
        """Where frame t's pixel goes in frame t+1, minus where it is: (z − 1)(p − c) − z^(t+1)·pan."""
        return ((self.zoom - 1) * (x - self.centre[0]) - self.zoom ** (t + 1) * self.pan[0],
                (self.zoom - 1) * (y - self.centre[1]) - self.zoom ** (t + 1) * self.pan[1])

    def backward_flow(self, t, x, y):
        """Where frame t+1's pixel was in frame t, minus where it is: (1/z − 1)(p − c) + z^t·pan."""
        return ((1 / self.zoom - 1) * (x - self.centre[0]) + self.zoom**t * self.pan[0],
                (1 / self.zoom - 1) * (y - self.centre[1]) + self.zoom**t * self.pan[1])


@dataclasses.dataclass(frozen=True)
class _Square:
    size: float
    start: np.ndarray  # top-left corner in frame 0, pixels (pixel centres are at integers)
    velocity: np.ndarray

    def corner(self, t):
        return self.start + t * self.velocity

    def inside(self, t, x, y, margin=0.0):
        left, top = self.corner(t) - 0.5
        return ((x >= left - margin) & (x < left + self.size + margin)
                & (y >= top - margin) & (y < top + self.size + margin))

    def coverage(self, t, x, y):
        """The share of each pixel's square [x ± ½] × [y ± ½] the square covers."""
        left, top = self.corner(t) - 0.5
        across = np.clip(np.minimum(x + 0.5, left + self.size) - np.maximum(x - 0.5, left), 0, 1)
        down = np.clip(np.minimum(y + 0.5, top + self.size) - np.maximum(y - 0.5, top), 0, 1)
        return across * down

    def near_edge(self, t, x, y):
        return self.inside(t, x, y, MIXED_BAND) & ~self.inside(t, x, y, -MIXED_BAND)


def _photo_pixels(photo):
    image = photo if isinstance(photo, PIL.Image.Image) else PIL.Image.open(photo)
    return np.asarray(image.convert("RGB"), np.float32)


def _sample(source, x, y):
    return cv2.remap(source, x.astype(np.float32), y.astype(np.float32), cv2.INTER_CUBIC,
                     borderMode=cv2.BORDER_REFLECT)


def _fitted_source(photo_pixels, size, frame_count, pan, zoom):
    """The photo scaled so that every frame's view fits inside it, and the camera that samples it."""
    width, height = size
    centre = np.array([(width - 1) / 2, (height - 1) / 2])
    corners_x, corners_y = np.array([0.0, width - 1]), np.array([0.0, height - 1])
    probe = _Camera(np.asarray(pan, np.float64), zoom, centre, np.zeros(2))
    xs, ys = [], []
    for t in range(frame_count):
        x, y = probe.source_positions(t, *np.meshgrid(corners_x, corners_y))
        xs += list(x.ravel())
        ys += list(y.ravel())
    extent = np.array([max(xs) - min(xs), max(ys) - min(ys)]) + 2 * SOURCE_MARGIN
    photo_height, photo_width = photo_pixels.shape[:2]
    scale = max(extent[0] / photo_width, extent[1] / photo_height)
    source = cv2.resize(photo_pixels, (int(np.ceil(photo_width * scale)), int(np.ceil(photo_height * scale))),
                        interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
    origin = np.array([SOURCE_MARGIN - min(xs), SOURCE_MARGIN - min(ys)])
    return source, dataclasses.replace(probe, origin=origin)


def make_clip(photo, size=(400, 300), frame_count=8, pan=(0.0, 0.0), zoom=1.0, square_velocity=None,
              square_size=72, square_start=(120.0, 90.0)):
    """A SyntheticClip of frame_count frames of size (width, height) from photo (a path or a PIL image).

    pan: the camera's motion, source pixels per frame (the scene moves by −pan in the frame); zoom:
    the magnification per frame about the frame's centre (>1 zooms in); square_velocity: when
    given, an opaque square of side square_size (a mirrored crop of the photo) moves by it each
    frame from square_start, occluding and revealing the background.
    """
    width, height = size
    photo_pixels = _photo_pixels(photo)
    source, camera = _fitted_source(photo_pixels, size, frame_count, pan, zoom)
    x, y = np.meshgrid(np.arange(width, dtype=np.float64), np.arange(height, dtype=np.float64))
    square = None
    if square_velocity is not None:
        square = _Square(float(square_size), np.asarray(square_start, np.float64),
                         np.asarray(square_velocity, np.float64))
        side = int(np.ceil(square_size)) + 2 * SOURCE_MARGIN
        texture = np.ascontiguousarray(photo_pixels[:side, :side][:, ::-1])  # a mirrored corner of the photo
    frames = []
    for t in range(frame_count):
        pixels = _sample(source, *camera.source_positions(t, x, y))
        if square is not None:
            corner = square.corner(t)
            inside = _sample(texture, x - corner[0] + SOURCE_MARGIN, y - corner[1] + SOURCE_MARGIN)
            alpha = square.coverage(t, x, y)[..., None]
            pixels = alpha * inside + (1 - alpha) * pixels
        frames.append(np.clip(np.rint(pixels), 0, 255).astype(np.uint8))
    return _with_truth(tuple(frames), camera, square, x, y)


def _inside_frame(x, y):
    height, width = x.shape
    return (x >= 0) & (x <= width - 1) & (y >= 0) & (y <= height - 1)


def _with_truth(frames, camera, square, x, y):
    forward, backward, visible_forward, visible_backward, mixed_forward, mixed_backward = ([] for _ in range(6))
    for t in range(len(frames) - 1):
        forward_flow = np.stack(camera.forward_flow(t, x, y), axis=-1)
        backward_flow = np.stack(camera.backward_flow(t, x, y), axis=-1)
        mixed_here = mixed_there = np.zeros(x.shape, bool)
        on_square_now = on_square_next = np.zeros(x.shape, bool)
        if square is not None:
            on_square_now = square.coverage(t, x, y) > 0.5
            on_square_next = square.coverage(t + 1, x, y) > 0.5
            forward_flow[on_square_now] = square.velocity
            backward_flow[on_square_next] = -square.velocity
        to_x, to_y = x + forward_flow[..., 0], y + forward_flow[..., 1]
        from_x, from_y = x + backward_flow[..., 0], y + backward_flow[..., 1]
        seen_next, seen_before = _inside_frame(to_x, to_y), _inside_frame(from_x, from_y)
        if square is not None:
            seen_next &= on_square_now | ~square.inside(t + 1, to_x, to_y)
            seen_before &= on_square_next | ~square.inside(t, from_x, from_y)
            mixed_here = square.near_edge(t, x, y) | square.near_edge(t + 1, to_x, to_y)
            mixed_there = square.near_edge(t + 1, x, y) | square.near_edge(t, from_x, from_y)
        forward.append(forward_flow.astype(np.float32))
        backward.append(backward_flow.astype(np.float32))
        visible_forward.append(seen_next)
        visible_backward.append(seen_before)
        mixed_forward.append(mixed_here)
        mixed_backward.append(mixed_there)
    return SyntheticClip(frames, tuple(forward), tuple(backward), tuple(visible_forward), tuple(visible_backward),
                         tuple(mixed_forward), tuple(mixed_backward))
