"""Render the project's sample content and style images (deterministic; numpy + Pillow only)."""

import math
import os

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

WIDTH, HEIGHT = 400, 300
SEED = 20240611
JPEG_QUALITY = 92
IMAGES_DIRECTORY = os.path.dirname(os.path.abspath(__file__))


def add_grain(image, rng, strength):
    """Add gaussian noise so large areas are not perfectly flat."""
    pixels = np.asarray(image, dtype=np.float32)
    noise = rng.normal(0.0, strength, size=pixels.shape[:2])[..., None]
    return Image.fromarray(np.clip(pixels + noise, 0, 255).astype(np.uint8))


def vertical_gradient(top_color, bottom_color, height):
    fraction = np.linspace(0.0, 1.0, height)[:, None, None]
    top = np.array(top_color, dtype=np.float32)
    bottom = np.array(bottom_color, dtype=np.float32)
    column = top + (bottom - top) * fraction
    return np.repeat(column, WIDTH, axis=1)


def hill_outline(base_height, amplitude, wavelength, phase):
    """Polygon points for a rolling hill filling the canvas below a sine ridge."""
    points = [(0, HEIGHT)]
    for x in range(0, WIDTH + 1, 4):
        ridge = base_height + amplitude * math.sin(2 * math.pi * x / wavelength + phase)
        ridge += 0.35 * amplitude * math.sin(2 * math.pi * x / (wavelength * 0.45) + 2 * phase)
        points.append((x, ridge))
    points.append((WIDTH, HEIGHT))
    return points


def draw_sun(image):
    glow = Image.new("L", image.size, 0)
    ImageDraw.Draw(glow).ellipse((270, 20, 370, 120), fill=140)
    glow = glow.filter(ImageFilter.GaussianBlur(18))
    image.paste(Image.new("RGB", image.size, (255, 236, 170)), mask=glow)
    ImageDraw.Draw(image).ellipse((295, 45, 345, 95), fill=(255, 222, 90))


def draw_clouds(draw, rng):
    for center_x, center_y in ((70, 50), (190, 35)):
        for _ in range(6):
            offset_x = rng.uniform(-30, 30)
            offset_y = rng.uniform(-6, 6)
            radius_x = rng.uniform(14, 24)
            radius_y = radius_x * 0.6
            box = (center_x + offset_x - radius_x, center_y + offset_y - radius_y,
                   center_x + offset_x + radius_x, center_y + offset_y + radius_y)
            draw.ellipse(box, fill=(250, 250, 252))


def draw_river(draw):
    """A river that widens as it winds from the far hills to the bottom edge."""
    left_bank, right_bank = [], []
    for y in range(168, HEIGHT + 1, 3):
        depth = (y - 168) / (HEIGHT - 168)
        center = 120 + 55 * math.sin(depth * 3.2) - 20 * depth
        half_width = 3 + 38 * depth ** 1.4
        left_bank.append((center - half_width, y))
        right_bank.append((center + half_width, y))
    draw.polygon(left_bank + right_bank[::-1], fill=(70, 130, 190))
    for index in range(0, len(left_bank) - 1, 4):
        (left_x, y), (right_x, _) = left_bank[index], right_bank[index]
        if right_x - left_x > 12:
            middle = (left_x + right_x) / 2
            draw.line((middle - 6, y, middle + 4, y), fill=(170, 210, 235), width=1)


def draw_house(draw, left, bottom, width, height, wall_color, roof_color):
    top = bottom - height
    draw.rectangle((left, top, left + width, bottom), fill=wall_color, outline=(60, 45, 40))
    roof_overhang = width * 0.12
    draw.polygon([(left - roof_overhang, top), (left + width / 2, top - height * 0.75),
                  (left + width + roof_overhang, top)], fill=roof_color, outline=(60, 35, 30))
    door_width = width * 0.22
    door_left = left + width * 0.39
    draw.rectangle((door_left, bottom - height * 0.5, door_left + door_width, bottom),
                   fill=(95, 60, 40))
    window_size = width * 0.18
    window_top = top + height * 0.2
    for window_left in (left + width * 0.1, left + width * 0.72):
        draw.rectangle((window_left, window_top, window_left + window_size,
                        window_top + window_size), fill=(255, 225, 120), outline=(60, 45, 40))
        draw.line((window_left + window_size / 2, window_top,
                   window_left + window_size / 2, window_top + window_size), fill=(60, 45, 40))


def draw_tree(draw, rng, trunk_x, ground_y, size):
    draw.rectangle((trunk_x - size * 0.08, ground_y - size * 0.9, trunk_x + size * 0.08, ground_y),
                   fill=(95, 65, 40))
    for _ in range(5):
        offset_x = rng.uniform(-0.25, 0.25) * size
        offset_y = rng.uniform(-0.2, 0.2) * size
        radius = rng.uniform(0.3, 0.42) * size
        center_x, center_y = trunk_x + offset_x, ground_y - size * 1.1 + offset_y
        green = (int(rng.integers(30, 60)), int(rng.integers(105, 140)), int(rng.integers(40, 60)))
        draw.ellipse((center_x - radius, center_y - radius, center_x + radius, center_y + radius),
                     fill=green)


def render_village(rng):
    sky = vertical_gradient((70, 130, 210), (250, 215, 170), 190)
    canvas = np.zeros((HEIGHT, WIDTH, 3), dtype=np.float32)
    canvas[:190] = sky
    image = Image.fromarray(canvas.astype(np.uint8))
    draw_sun(image)
    draw = ImageDraw.Draw(image)
    draw_clouds(draw, rng)
    draw.polygon(hill_outline(150, 18, 260, 0.6), fill=(120, 150, 170))
    draw.polygon(hill_outline(172, 14, 190, 2.1), fill=(110, 160, 90))
    draw.polygon(hill_outline(205, 10, 320, 4.0), fill=(85, 150, 65))
    draw_river(draw)

    houses = [(205, 215, 46, 34, (235, 220, 190), (180, 60, 45)),
              (265, 222, 54, 40, (225, 200, 160), (130, 70, 50)),
              (330, 212, 42, 32, (240, 235, 220), (170, 50, 60)),
              (20, 240, 50, 38, (230, 210, 175), (150, 55, 40))]
    for left, bottom, width, height, wall_color, roof_color in houses:
        draw_house(draw, left, bottom, width, height, wall_color, roof_color)

    for trunk_x, ground_y, size in ((185, 215, 30), (388, 236, 32),
                                     (90, 250, 40), (240, 280, 46), (360, 292, 52)):
        draw_tree(draw, rng, trunk_x, ground_y, size)

    # Low-frequency blotches plus fine grain give the flat fills a painted surface.
    blotches = rng.normal(0.0, 1.0, size=(HEIGHT // 20, WIDTH // 20))
    blotch_layer = Image.fromarray(((blotches + 3) * 40).clip(0, 255).astype(np.uint8))
    blotch_layer = np.asarray(blotch_layer.resize((WIDTH, HEIGHT), Image.BICUBIC), np.float32)
    pixels = np.asarray(image, dtype=np.float32) + (blotch_layer[..., None] - 120) * 0.08
    image = Image.fromarray(pixels.clip(0, 255).astype(np.uint8))
    return add_grain(image, rng, 5.0)


def flow_angle(x, y):
    """Swirling flow field built from a sum of sines, with a vortex around two centres."""
    angle = 1.8 * math.sin(x / 47.0) + 1.5 * math.cos(y / 39.0) + 0.8 * math.sin((x + y) / 63.0)
    for center_x, center_y, strength in ((130, 120, 1.0), (300, 190, -1.0)):
        distance = math.hypot(x - center_x, y - center_y)
        weight = math.exp(-distance / 70.0)
        tangent = math.atan2(y - center_y, x - center_x) + strength * math.pi / 2
        angle = (1 - weight) * angle + weight * tangent
    return angle


def swirl_color(rng, x, y, palette):
    """Yellows near the vortex centres, blues elsewhere, with some random accents."""
    near_vortex = min(math.hypot(x - 130, y - 120), math.hypot(x - 300, y - 190))
    if near_vortex < 45 or rng.random() < 0.08:
        choices = palette["warm"]
    else:
        choices = palette["cool"]
    base = np.array(choices[rng.integers(len(choices))], dtype=np.float32)
    return tuple(int(v) for v in np.clip(base + rng.normal(0, 12, 3), 0, 255))


def draw_stroke(draw, points, color, width):
    """A polyline with rounded ends, so strokes look brushed rather than cut."""
    draw.line(points, fill=color, width=width, joint="curve")
    radius = width / 2
    for x, y in (points[0], points[-1]):
        draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=color)


def stroke_points(start_x, start_y, length, step):
    points = [(start_x, start_y)]
    x, y = start_x, start_y
    for _ in range(int(length / step)):
        angle = flow_angle(x, y)
        x, y = x + step * math.cos(angle), y + step * math.sin(angle)
        points.append((x, y))
    return points


def render_swirls(rng):
    palette = {
        "cool": [(20, 40, 110), (35, 70, 160), (60, 110, 200), (15, 25, 70), (90, 150, 210)],
        "warm": [(250, 200, 40), (245, 150, 30), (255, 230, 110), (230, 100, 30)],
    }
    image = Image.fromarray(vertical_gradient((25, 45, 120), (40, 80, 150), HEIGHT).astype(np.uint8))
    draw = ImageDraw.Draw(image)

    for _ in range(2600):
        start_x, start_y = rng.uniform(-10, WIDTH + 10), rng.uniform(-10, HEIGHT + 10)
        points = stroke_points(start_x, start_y, rng.uniform(14, 34), 3.0)
        width = int(rng.integers(3, 7))
        color = swirl_color(rng, start_x, start_y, palette)
        # A darker, wider copy underneath gives each stroke a thick outline.
        if rng.random() < 0.25:
            outline = tuple(int(c * 0.35) for c in color)
            draw_stroke(draw, points, outline, width + 3)
        draw_stroke(draw, points, color, width)

    for center_x, center_y, radius in ((130, 120, 22), (300, 190, 16), (340, 50, 12), (50, 250, 10)):
        draw.ellipse((center_x - radius - 3, center_y - radius - 3, center_x + radius + 3,
                      center_y + radius + 3), fill=(20, 20, 40))
        draw.ellipse((center_x - radius, center_y - radius, center_x + radius, center_y + radius),
                     fill=(255, 215, 60))
        for ring in range(4, radius, 5):
            draw.ellipse((center_x - ring, center_y - ring, center_x + ring, center_y + ring),
                         outline=(240, 140, 30), width=2)
    return add_grain(image, rng, 4.0)


def nearest_two_seed_distances(seeds, rows_per_chunk=50):
    """Per-pixel distance to the nearest and second-nearest seed, plus the nearest seed's index."""
    nearest = np.empty((HEIGHT, WIDTH), dtype=np.float32)
    second = np.empty((HEIGHT, WIDTH), dtype=np.float32)
    owner = np.empty((HEIGHT, WIDTH), dtype=np.int64)
    xs = np.arange(WIDTH, dtype=np.float32)
    # Row chunks keep the pixel-by-seed distance matrix small.
    for top in range(0, HEIGHT, rows_per_chunk):
        ys = np.arange(top, min(top + rows_per_chunk, HEIGHT), dtype=np.float32)
        squared = ((xs[None, :, None] - seeds[None, None, :, 0]) ** 2
                   + (ys[:, None, None] - seeds[None, None, :, 1]) ** 2)
        closest_two = np.argpartition(squared, 1, axis=2)[..., :2]
        pair = np.sqrt(np.take_along_axis(squared, closest_two, axis=2))
        first_is_nearer = pair[..., 0] <= pair[..., 1]
        rows = slice(top, top + len(ys))
        nearest[rows] = np.minimum(pair[..., 0], pair[..., 1])
        second[rows] = np.maximum(pair[..., 0], pair[..., 1])
        owner[rows] = np.where(first_is_nearer, closest_two[..., 0], closest_two[..., 1])
    return nearest, second, owner


def render_mosaic(rng):
    palette = np.array([(200, 60, 35), (230, 120, 40), (245, 180, 60), (170, 40, 50),
                        (240, 210, 150), (140, 70, 40), (220, 90, 80), (90, 120, 110)],
                       dtype=np.float32)
    spacing = 17
    grid_y, grid_x = np.mgrid[spacing // 2:HEIGHT + spacing:spacing,
                              spacing // 2:WIDTH + spacing:spacing]
    seeds = np.stack([grid_x.ravel(), grid_y.ravel()], axis=1).astype(np.float32)
    seeds += rng.uniform(-0.45, 0.45, size=seeds.shape) * spacing

    nearest, second, owner = nearest_two_seed_distances(seeds)
    tile_colors = palette[rng.integers(len(palette), size=len(seeds))]
    tile_colors *= rng.uniform(0.8, 1.15, size=(len(seeds), 1))
    pixels = tile_colors[owner]

    # Brighter towards each tile's centre so the tiles look slightly domed.
    pixels *= (1.08 - 0.25 * np.clip(nearest / spacing, 0, 1))[..., None]
    pixels += rng.normal(0, 7, size=pixels.shape)

    grout_width = 2.2
    grout = np.clip((second - nearest - grout_width) / 1.2, 0, 1)[..., None]
    grout_color = np.array((45, 32, 25), dtype=np.float32) + rng.normal(0, 6, size=(HEIGHT, WIDTH, 1))
    pixels = pixels * grout + grout_color * (1 - grout)
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def main():
    rng = np.random.default_rng(SEED)
    renderers = {"village.jpg": render_village, "swirls.jpg": render_swirls,
                 "mosaic.jpg": render_mosaic}
    for filename, render in renderers.items():
        path = os.path.join(IMAGES_DIRECTORY, filename)
        render(rng).save(path, quality=JPEG_QUALITY)
        print(f"wrote {path} ({os.path.getsize(path) // 1024} KB)")


if __name__ == "__main__":
    main()
