"""Exact tiled cost and gradient: VGG19 runs tile by tile over an image too large to run at once.

Tools that tile either stylise tiles separately (seams, style drifting from tile to tile) or
match each tile's Gram matrix to the style's (statistics enforced per tile, not over the image).
Here the tiles only split the work: the cost and its gradient are those of the whole image.

- Geometry. Each tile owns an interior (edges on multiples of 16 pixels, except at the image's
  own edge) and is run with a halo around it, so that at every layer used, the activations
  over its interior are the untiled ones: the halo is the deepest layer's receptive extent
  (nst.vgg.receptive_extent, 70 pixels for conv5_1) rounded up to 16, so that a tile's origin
  stays on the 16-pixel grid and its pooled grids line up with the whole image's. A tile that
  reaches the image's edge ends there, so partial pooling windows at an odd edge fall as they
  fall untiled, under either pooling border rule.
- Pass 1 runs each tile forward and adds up, over the interiors, each style layer's Gram sum
  Σ a·aᵀ and the content layer's Σ(a_C − a)². The costs then follow with the whole layer's
  sizes (nst.loss_conventions: content_scale, gram_scale, style_cost_from_gram); the derivative
  of the total with respect to each Gram is taken once, on these small C×C matrices.
- Pass 2 runs each tile again and backpropagates a surrogate whose gradient with respect to the
  tile's interior activations is the total's: k·Σ(a_C − a)² for the content and ⟨∂J/∂G, Σ a·aᵀ⟩
  for each Gram (the chain rule through G = Σ_tiles Σ a·aᵀ). A pixel near a tile border feeds
  activations of the tiles beside it too, so each tile's whole input gradient, halo included,
  is added into the image's.
- Terms measured on the image itself (total variation, a video's temporal term) are computed
  on the whole image, not per tile (CostFunction.image_costs).

The forward pass runs twice, so an iteration costs about 1.5× an untiled one, plus the halos.
"""

import dataclasses
import logging
import math

import numpy as np
import tensorflow as tf

from nst import losses
from nst import vgg

ALIGNMENT = 16  # four 2×2 poolings before block 5: tile edges on this grid keep every pooled grid aligned
MIN_TILE_SIZE = ALIGNMENT


def halo_for(deepest_layer):
    """Pixels of halo around each tile: deepest_layer's receptive extent, rounded up to the 16-pixel grid."""
    return math.ceil(vgg.receptive_extent(deepest_layer) / ALIGNMENT) * ALIGNMENT


@dataclasses.dataclass(frozen=True)
class Tile:
    """One tile: the rows and columns of the image it owns (interior) and the ones it is run on (crop)."""

    top: int
    bottom: int
    left: int
    right: int
    crop_top: int
    crop_bottom: int
    crop_left: int
    crop_right: int

    @property
    def crop_shape(self):
        return self.crop_bottom - self.crop_top, self.crop_right - self.crop_left


def _interior_edges(length, tile_size):
    """[0, t, 2t, …, length]: interior edges on the 16-pixel grid, the last one the image's edge."""
    edges = list(range(0, length, tile_size))
    # A last strip thinner than the grid would be a tile of almost nothing but halo: fold it in.
    if len(edges) > 1 and length - edges[-1] < ALIGNMENT:
        edges.pop()
    return [*edges, length]


@dataclasses.dataclass(frozen=True)
class TilePlan:
    """The tiles covering a height×width image, their halo, and the pooling border rule they keep."""

    height: int
    width: int
    tile_size: int
    halo: int
    pooling_border: str
    tiles: tuple

    @classmethod
    def for_image(cls, height, width, tile_size, deepest_layer, pooling_border="keep"):
        """Tiles of tile_size×tile_size interiors (rounded up to 16) with the halo deepest_layer needs."""
        tile_size = max(MIN_TILE_SIZE, math.ceil(tile_size / ALIGNMENT) * ALIGNMENT)
        halo = halo_for(deepest_layer)
        rows, columns = _interior_edges(height, tile_size), _interior_edges(width, tile_size)
        tiles = tuple(
            Tile(top, bottom, left, right, max(0, top - halo), min(height, bottom + halo),
                 max(0, left - halo), min(width, right + halo))
            for top, bottom in zip(rows, rows[1:]) for left, right in zip(columns, columns[1:])
        )
        return cls(height, width, tile_size, halo, pooling_border, tiles)

    def layer_size(self, stride):
        """(height, width) of a layer of this stride over the whole image, as its poolings round."""
        if self.pooling_border == "keep":  # a partial window at an odd edge is pooled: round up
            return -(-self.height // stride), -(-self.width // stride)
        return self.height // stride, self.width // stride

    def interior(self, tile, stride):
        """(rows, columns) of the tile's interior at a layer of this stride, as slices in the whole
        layer and in the tile's own activations."""
        layer_height, layer_width = self.layer_size(stride)
        whole_rows = slice(tile.top // stride, layer_height if tile.bottom == self.height else tile.bottom // stride)
        whole_columns = slice(tile.left // stride,
                              layer_width if tile.right == self.width else tile.right // stride)
        own_rows = slice(whole_rows.start - tile.crop_top // stride, whole_rows.stop - tile.crop_top // stride)
        own_columns = slice(whole_columns.start - tile.crop_left // stride,
                            whole_columns.stop - tile.crop_left // stride)
        return (whole_rows, whole_columns), (own_rows, own_columns)


@dataclasses.dataclass(frozen=True)
class TileProgress:
    """Where a tiled evaluation is: pass 1 (forward) or 2 (forward and gradient), tile index of count."""

    pass_number: int
    tile_index: int
    tile_count: int


def _crop(batch, tile):
    return batch[:, tile.crop_top:tile.crop_bottom, tile.crop_left:tile.crop_right, :]


def _interior_activations(plan, tile, activations, layer_name):
    """The tile's activations at layer_name over its interior (1×h×w×C)."""
    _, (rows, columns) = plan.interior(tile, vgg.layer_stride(layer_name))
    return activations[layer_name][:, rows, columns, :]


def _interior_bounds(plan, tile, layer_names):
    """{layer: [first row, end row, first column, end column] of the tile's interior in its own activations}.

    Given to the compiled tile functions as tensors, so that tiles of one shape share one trace.
    """
    bounds = {}
    for name in layer_names:
        _, (rows, columns) = plan.interior(tile, vgg.layer_stride(name))
        bounds[name] = tf.constant([rows.start, rows.stop, columns.start, columns.stop], tf.int32)
    return bounds


def _within(activations, bounds):
    return activations[:, bounds[0]:bounds[1], bounds[2]:bounds[3], :]


def assembled_layer(extractor, pixels, layer_name, plan, network_input=None):
    """The activations at one layer of a whole H×W×3 image, computed tile by tile: 1×h×w×C float32 array.

    For the content target of an image too large to run at once. network_input maps a
    1×h×w×3 crop to the network's input (default: the extractor's own preprocessing of pixels).
    """
    stride = vgg.layer_stride(layer_name)
    layer_height, layer_width = plan.layer_size(stride)
    assembled = np.zeros((1, layer_height, layer_width, vgg.channel_count(layer_name)), np.float32)
    forward = _forward_function(extractor, network_input)
    batch = tf.convert_to_tensor(np.asarray(pixels, np.float32)[np.newaxis])
    for tile in plan.tiles:
        activations = forward(_crop(batch, tile))
        (whole_rows, whole_columns), (rows, columns) = plan.interior(tile, stride)
        assembled[:, whole_rows, whole_columns, :] = activations[layer_name][:, rows, columns, :].numpy()
    return assembled


def gram_sums(extractor, pixels, layer_names, plan, network_input=None):
    """{layer: Σ a·aᵀ over the whole image} (1×C×C float32), computed tile by tile; for style targets."""
    forward = _forward_function(extractor, network_input)
    batch = tf.convert_to_tensor(np.asarray(pixels, np.float32)[np.newaxis])
    sums = {name: 0.0 for name in layer_names}
    for tile in plan.tiles:
        activations = forward(_crop(batch, tile))
        for name in layer_names:
            # float64 over the tiles: the sums of a 4K image's tiles should not lose what the tiles keep.
            sums[name] += tf.cast(losses.gram_matrix(_interior_activations(plan, tile, activations, name)),
                                  tf.float64)
    return {name: tf.cast(value, tf.float32) for name, value in sums.items()}


def _forward_function(extractor, network_input=None):
    """The forward pass, compiled once for crops of any size (tiles differ in shape at the image's edges)."""
    signature = [tf.TensorSpec([1, None, None, 3], tf.float32)]
    if network_input is None:
        return tf.function(extractor, input_signature=signature)
    return tf.function(lambda batch: extractor.from_network_input(network_input(batch)), input_signature=signature)


class _ExpectedRetracing(logging.Filter):
    """Hides TensorFlow's retracing warning for the tile functions: tiles at the image's edges have
    other shapes, and reduce_retracing generalises one dimension at a time, so a scale traces each
    function a few times (bounded, a second or two each against minutes per iteration), which the
    warning would present to the user as a bug."""

    def filter(self, record):
        return "TiledCostAndGradient" not in record.getMessage()


_RETRACING_FILTER = _ExpectedRetracing()


class TiledCostAndGradient:
    """cost_function's costs and gradient for a 1×H×W×3 image in its space, the network run tile by tile.

    Called like the function optimize.make_cost_and_gradient returns: image batch ->
    (costs dict, gradient). It runs eagerly between tiles (each tile's work is a compiled
    function), so only one tile's activations are alive at a time. on_tile(TileProgress) is
    called before each tile of each pass.
    """

    runs_eagerly = True

    def __init__(self, cost_function, plan, jit=False, on_tile=None):
        self.cost_function = cost_function
        self.plan = plan
        self.on_tile = on_tile
        convention = cost_function.convention
        content_layer = cost_function.content_layer
        stride = vgg.layer_stride(content_layer)
        height, width = plan.layer_size(stride)
        self.content_scale = convention.content_scale(float(height * width), float(vgg.channel_count(content_layer)))
        self.style_sizes = {}
        for name, _ in cost_function.style_layers:
            height, width = plan.layer_size(vgg.layer_stride(name))
            self.style_sizes[name] = (float(height * width), float(vgg.channel_count(name)))
        tf.get_logger().addFilter(_RETRACING_FILTER)  # the same object each time: added once
        self._sums = tf.function(self._tile_sums, reduce_retracing=True, jit_compile=jit)
        self._gradient = tf.function(self._tile_gradient, reduce_retracing=True, jit_compile=jit)

    # -- one tile ------------------------------------------------------------

    def _activations(self, crop):
        cost_function = self.cost_function
        return cost_function.extractor.from_network_input(cost_function.network_input(crop))

    def _masked(self, activations, root_mask_crop):
        return activations if root_mask_crop is None else activations * root_mask_crop

    def _tile_sums(self, crop, content_target, root_masks, bounds):
        """(Σ(a_C − a)² over the interior, [[Σ a·aᵀ of each style layer] of each style term])."""
        activations = self._activations(crop)
        content_layer = self.cost_function.content_layer
        content = _within(activations[content_layer], bounds[content_layer])
        squared_error = tf.reduce_sum(tf.square(content_target - content))
        grams = [[losses.gram_matrix(self._masked(_within(activations[name], bounds[name]), masks[name]))
                  for name, _ in self.cost_function.style_layers] for masks in root_masks]
        return squared_error, grams

    def _tile_gradient(self, crop, content_target, root_masks, bounds, gram_gradients, content_coefficient):
        """The gradient of the whole image's total with respect to this tile's input (in the cost's space)."""
        content_layer = self.cost_function.content_layer
        with tf.GradientTape() as tape:
            tape.watch(crop)
            activations = self._activations(crop)
            content = _within(activations[content_layer], bounds[content_layer])
            surrogate = content_coefficient * tf.reduce_sum(tf.square(content_target - content))
            for masks, layer_gradients in zip(root_masks, gram_gradients):
                for (name, _), gram_gradient in zip(self.cost_function.style_layers, layer_gradients):
                    generated = self._masked(_within(activations[name], bounds[name]), masks[name])
                    surrogate += tf.reduce_sum(gram_gradient * losses.gram_matrix(generated))
        return tape.gradient(surrogate, crop)

    # -- the crops each tile needs ---------------------------------------------

    def _content_target(self, tile):
        whole, _ = self.plan.interior(tile, vgg.layer_stride(self.cost_function.content_layer))
        return self.cost_function.content_target[:, whole[0], whole[1], :]

    def _root_masks(self, tile):
        """[{layer: √mask over the tile's interior (1×h×w×1), or None}] for each style term."""
        crops = []
        for _, layers in self.cost_function.style_terms:
            masks = {}
            for name, (_, root_mask) in layers.items():
                if root_mask is None:
                    masks[name] = None
                else:
                    whole, _ = self.plan.interior(tile, vgg.layer_stride(name))
                    masks[name] = root_mask[:, whole[0], whole[1], :]
            crops.append(masks)
        return crops

    def _bounds(self, tile):
        return _interior_bounds(self.plan, tile, (self.cost_function.content_layer,
                                                  *(name for name, _ in self.cost_function.style_layers)))

    def _report(self, pass_number, index):
        if self.on_tile:
            self.on_tile(TileProgress(pass_number, index, len(self.plan.tiles)))

    # -- the whole image -----------------------------------------------------------

    def network_costs(self, image_batch):
        """(content, style, ∂total/∂Σ(a_C − a)², [[∂total/∂(Σ a·aᵀ)]]): pass 1 and the global step."""
        cost_function = self.cost_function
        squared_error = 0.0
        gram_sums_by_term = [[0.0] * len(cost_function.style_layers) for _ in cost_function.style_terms]
        for index, tile in enumerate(self.plan.tiles):
            self._report(1, index)
            tile_error, tile_grams = self._sums(_crop(image_batch, tile), self._content_target(tile),
                                                self._root_masks(tile), self._bounds(tile))
            squared_error += tf.cast(tile_error, tf.float64)
            for term_sums, term_grams in zip(gram_sums_by_term, tile_grams):
                for position, gram in enumerate(term_grams):
                    term_sums[position] += tf.cast(gram, tf.float64)
        raw_grams = [[tf.cast(gram, tf.float32) for gram in term] for term in gram_sums_by_term]
        convention = cost_function.convention
        with tf.GradientTape() as tape:
            tape.watch(raw_grams)
            style_costs = []
            for (blend_weight, layers), term_grams in zip(cost_function.style_terms, raw_grams):
                for (name, layer_weight), raw_gram in zip(cost_function.style_layers, term_grams):
                    locations, channels = self.style_sizes[name]
                    generated_gram = convention.gram_scale(locations, channels) * raw_gram
                    cost = convention.style_cost_from_gram(layers[name][0], generated_gram, locations, channels)
                    style_costs.append(blend_weight * layer_weight * cost)
            style = tf.add_n(style_costs)
            weighted_style = cost_function.style_weight * style
        gram_gradients = tape.gradient(weighted_style, raw_grams,
                                       unconnected_gradients=tf.UnconnectedGradients.ZERO)
        content = tf.cast(self.content_scale * squared_error, tf.float32)
        content_coefficient = tf.constant(cost_function.content_weight * self.content_scale, tf.float32)
        return content, style, content_coefficient, gram_gradients

    def __call__(self, image_batch):
        image_batch = tf.convert_to_tensor(image_batch, tf.float32)
        cost_function = self.cost_function
        content, style, content_coefficient, gram_gradients = self.network_costs(image_batch)
        gradient = np.zeros(image_batch.shape, np.float32)
        for index, tile in enumerate(self.plan.tiles):
            self._report(2, index)
            tile_gradient = self._gradient(_crop(image_batch, tile), self._content_target(tile),
                                           self._root_masks(tile), self._bounds(tile), gram_gradients,
                                           content_coefficient)
            gradient[:, tile.crop_top:tile.crop_bottom, tile.crop_left:tile.crop_right, :] += tile_gradient.numpy()
        costs = {"content": content, "style": style}
        total = losses.total_cost(content, style, cost_function.content_weight, cost_function.style_weight)
        with tf.GradientTape() as tape:
            tape.watch(image_batch)
            image_costs = cost_function.image_costs(image_batch)
            image_total = tf.add_n([weight * cost for weight, cost in image_costs.values()])
        image_gradient = tape.gradient(image_total, image_batch)
        if image_gradient is not None:
            gradient += image_gradient.numpy()
        for name, (weight, cost) in image_costs.items():
            total = total + weight * cost
            costs[name] = cost
        return {"total": total, **costs}, tf.constant(gradient)
