"""nst.lbfgs: SciPy's L-BFGS-B on the image, and the fixed-step L-BFGS of torch.optim.LBFGS and Torch's optim.lbfgs."""

import numpy as np
import pytest
import tensorflow as tf

from nst import image_space
from nst import lbfgs
from nst import optimize
from nst import vgg

MEAN_PIXEL = (123.68, 116.779, 103.939)


def quadratic_cost(target, curvature=None, space=None):
    """A stand-in cost Σ c·(image − target)² with a known minimum, so the loops are tested without a network."""
    target = tf.constant(target[np.newaxis], tf.float32)
    weights = tf.constant(1.0 if curvature is None else curvature[np.newaxis], tf.float32)

    def cost(image):
        value = tf.reduce_sum(weights * tf.square(image - target))
        return {"total": value, "content": value, "style": tf.constant(0.0)}

    cost.space = space
    return cost


def test_lbfgs_reaches_the_minimum_inside_the_pixel_bounds():
    # The target lies partly outside 0–255: L-BFGS-B must stop at the bounds.
    target = np.linspace(-50, 300, 2 * 3 * 3, dtype=np.float32).reshape(2, 3, 3)
    snapshots, progress = [], []
    result = lbfgs.run_lbfgs(
        quadratic_cost(target), np.full((2, 3, 3), 128.0, np.float32), iterations=20, print_every=5,
        callbacks=optimize.Callbacks(on_snapshot=snapshots.append, on_iteration=lambda i, c: progress.append(i)),
    )
    np.testing.assert_allclose(result.image, np.clip(target, 0, 255), atol=1e-2)
    assert result.image.min() >= 0 and result.image.max() <= 255
    assert result.evaluations >= result.iterations_run > 0
    assert snapshots[0].iteration == 0 and snapshots[-1].iteration == result.iterations
    assert progress == list(range(1, result.iterations + 1))


def test_lbfgs_runs_the_iterations_asked_on_tiny_costs(random_weights):
    """Costs near 1e-6 would stop SciPy's default tolerances at once; here the run goes on."""
    extractor = vgg.FeatureExtractor(["conv2_1", "conv1_1"], random_weights)
    random = np.random.default_rng(4)
    content, style = (random.uniform(0, 255, (16, 16, 3)).astype(np.float32) for _ in range(2))
    cost = optimize.CostFunction(extractor, content, style, "conv2_1", (("conv1_1", 1.0),), 1e-12, 1e-12)
    assert float(cost(tf.constant(content[np.newaxis]))["total"]) < 1e-3
    result = lbfgs.run_lbfgs(cost, content, iterations=8, print_every=8)
    assert result.iterations == 8 and result.stop_reason is None and result.ended_early is None


def test_lbfgs_on_the_network_lowers_the_cost_faster_than_adam(random_weights):
    extractor = vgg.FeatureExtractor(["conv4_2", "conv1_1", "conv2_1"], random_weights)
    random = np.random.default_rng(1)
    content = random.uniform(0, 255, (32, 32, 3)).astype(np.float32)
    style = random.uniform(0, 255, (32, 32, 3)).astype(np.float32)
    cost = optimize.CostFunction(extractor, content, style, "conv4_2", (("conv1_1", 0.5), ("conv2_1", 0.5)), 10, 40)
    start = optimize.initial_image(content, 0.6, seed=0, mean_pixel=MEAN_PIXEL)
    adam = optimize.run_adam(cost, start, iterations=10, learning_rate=2.0, print_every=10)
    result = lbfgs.run_lbfgs(cost, start, iterations=10, print_every=10)
    assert result.costs.total < 0.5 * adam.costs.total


def test_scipy_says_why_it_stopped_early():
    """A quadratic is solved in a few iterations; asking for 50 ends early, and the run says so in words."""
    target = np.full((2, 2, 3), 100.0, np.float32)
    result = lbfgs.run_lbfgs(quadratic_cost(target), np.full((2, 2, 3), 50.0, np.float32), iterations=50,
                             print_every=50)
    assert result.iterations < 50 and result.ended_early is not None
    assert result.ended_early.startswith(f"L-BFGS stopped after iteration {result.iterations}: ")
    assert "SciPy:" in result.ended_early and result.stop_reason is None


def test_scipy_evaluation_limit_counts_as_a_limit(monkeypatch):
    """When SciPy runs out of cost evaluations the run ends early at a limit, not as converged."""
    target = np.linspace(0, 255, 12, dtype=np.float32).reshape(2, 2, 3)
    original = lbfgs.minimize_lbfgsb

    def starved(function, start, low, high, max_iterations, max_evaluations, after_iteration):
        return original(function, start, low, high, max_iterations, 3, after_iteration)

    monkeypatch.setattr(lbfgs, "minimize_lbfgsb", starved)
    curvature = np.linspace(1, 50, 12, dtype=np.float32).reshape(2, 2, 3)
    result = lbfgs.run_lbfgs(quadratic_cost(target, curvature), np.zeros((2, 2, 3), np.float32), iterations=40,
                             print_every=40)
    assert result.ended_at_limit and "limit of cost evaluations" in result.ended_early


def _torch():
    return pytest.importorskip("torch", reason="the reference is torch.optim.LBFGS (pip install -r requirements-torch.txt)")


def _torch_reference(target, curvature, start, tutorial_steps=None, single_call_iterations=None, clamp=(0.0, 1.0)):
    """torch.optim.LBFGS on Σ c·(x − t)², driven as the PyTorch tutorial (or one call with tolerances off, as Lua's)."""
    torch = _torch()
    image = torch.tensor(start, requires_grad=True)
    target, curvature = torch.tensor(target), torch.tensor(curvature)
    evaluations = [0]

    def closure():
        if tutorial_steps is not None:
            with torch.no_grad():
                image.clamp_(*clamp)
        optimizer.zero_grad()
        loss = (curvature * (image - target) ** 2).sum()
        loss.backward()
        evaluations[0] += 1
        return loss

    if tutorial_steps is not None:
        optimizer = torch.optim.LBFGS([image])
        while evaluations[0] <= tutorial_steps:
            optimizer.step(closure)
        with torch.no_grad():
            image.clamp_(*clamp)
    else:
        optimizer = torch.optim.LBFGS([image], max_iter=single_call_iterations, tolerance_grad=-1.0,
                                      tolerance_change=-1.0)
        optimizer.step(closure)
    return image.detach().numpy(), evaluations[0]


def _problem(seed):
    random = np.random.default_rng(seed)
    # Ill-conditioned, so L-BFGS needs many iterations and its memory matters; part of the target lies
    # outside 0–1, so the tutorial's clamp matters too.
    target = random.uniform(-0.2, 1.2, (3, 4, 3)).astype(np.float32)
    curvature = random.uniform(0.01, 30.0, (3, 4, 3)).astype(np.float32)
    start = random.uniform(0.0, 1.0, (3, 4, 3)).astype(np.float32)
    return target, curvature, start


def test_torch_variant_follows_the_pytorch_tutorials_loop_of_torch_optim_lbfgs():
    target, curvature, start = _problem(7)
    expected, evaluations = _torch_reference(target, curvature, start, tutorial_steps=30)
    space = image_space.image_space("unit")
    updates = []
    result = lbfgs.run_lbfgs(quadratic_cost(target, curvature, space), start * 255.0, iterations=30,
                             print_every=100, variant="torch",
                             callbacks=optimize.Callbacks(on_iteration=lambda i, c: updates.append(i)))
    # 30 asked: step() calls of up to 20 updates until more than 30 evaluations were made; the second call
    # stops early on torch.optim.LBFGS's own tolerances, the third finds nothing left to do.
    assert result.evaluations == evaluations
    np.testing.assert_allclose(result.image / 255.0, expected, rtol=1e-4, atol=1e-5)


def test_torch_variant_makes_twenty_updates_per_call_and_leaves_the_last_unevaluated():
    # A quadratic L-BFGS cannot finish in 40 steps: 1800 values, curvatures from 1 to 1e5.
    random = np.random.default_rng(3)
    curvature = np.logspace(0, 5, 1800).astype(np.float32)
    random.shuffle(curvature)
    curvature = curvature.reshape(20, 30, 3)
    target = random.uniform(0.1, 0.9, (20, 30, 3)).astype(np.float32)
    updates = []
    result = lbfgs.run_lbfgs(quadratic_cost(target, curvature, image_space.image_space("unit")),
                             np.zeros((20, 30, 3), np.float32), iterations=30, print_every=100, variant="torch",
                             callbacks=optimize.Callbacks(on_iteration=lambda i, c: updates.append(i)))
    expected, evaluations = _torch_reference(target, curvature, np.zeros((20, 30, 3), np.float32), tutorial_steps=30)
    assert evaluations == 40 and result.iterations == 40  # two calls of 20: 30 asked gives 40
    # Each call's last update is evaluated only by the next call's first closure call; the 40th never is.
    assert updates == list(range(1, 40)) and result.evaluations == 40 + 1  # + 1: the final image's, for the record
    # The same float32 steps, summed in other orders: 40 ill-conditioned steps grow the rounding to ~1e-4.
    np.testing.assert_allclose(result.image / 255.0, expected, atol=1e-3)


def test_lua_variant_is_one_call_of_the_same_lbfgs_with_its_tolerances_off():
    target, curvature, start = _problem(8)
    expected, evaluations = _torch_reference(target, curvature, start, single_call_iterations=12)
    offset = np.float32([10, 20, 30])
    space = image_space.ImageSpace("shifted", offset=tuple(offset))  # the variable is not the pixels
    result = lbfgs.run_lbfgs(quadratic_cost(target, curvature, space), start + offset, iterations=12,
                             print_every=100, variant="lua")
    assert evaluations == 12  # optim.lbfgs with maxIter 12: one evaluation per update but the last
    assert result.iterations == 12 and result.evaluations == 13  # the last image is evaluated for the record
    np.testing.assert_allclose(result.image - offset, expected, rtol=1e-4, atol=1e-5)


def test_first_fixed_step_is_the_gradient_scaled_by_its_l1_norm():
    """Known value: x1 = x0 − min(1, 1/Σ|g|)·g, with g = 2(x0 − t) for Σ(x − t)²."""
    target = np.zeros((1, 2, 3), np.float32)
    start = np.full((1, 2, 3), 3.0, np.float32)
    result = lbfgs.run_lbfgs(quadratic_cost(target), start, iterations=1, print_every=1, variant="lua")
    gradient = 2.0 * 3.0
    np.testing.assert_allclose(result.image, 3.0 - gradient / (6 * gradient), rtol=1e-6)


def _bounded_quadratic(point):
    target = np.linspace(-2.0, 3.0, point.size)
    return float(np.sum((point - target) ** 2 * np.arange(1, point.size + 1))), 2 * (point - target) * np.arange(
        1, point.size + 1)


def test_the_lbfgsb_driver_takes_scipys_steps(monkeypatch):
    """Driving SciPy's compiled routine with bound arrays gives what scipy.optimize.minimize gives."""
    points = {}
    for name, setulb in (("driver", lbfgs._setulb()), ("minimize", None)):
        monkeypatch.setattr(lbfgs, "_setulb", lambda setulb=setulb: setulb)
        visited = []
        message = lbfgs.minimize_lbfgsb(_bounded_quadratic, np.zeros(12), -1.0, np.full(12, 2.0), 15, 50,
                                        lambda intermediate_result: visited.append(intermediate_result.x.copy()))
        points[name] = (message, visited)
    assert points["driver"][0] == points["minimize"][0]
    assert len(points["driver"][1]) == len(points["minimize"][1]) > 3
    for driven, minimized in zip(points["driver"][1], points["minimize"][1]):
        np.testing.assert_array_equal(driven, minimized)
    assert points["driver"][1][-1].min() >= -1.0 and points["driver"][1][-1].max() <= 2.0  # the bounds held


def test_run_scipy_never_builds_a_pair_of_bounds_per_value(monkeypatch, random_weights):
    """scipy.optimize.minimize would: 25 million Python tuples at 3840×2160."""
    import scipy.optimize._constraints

    def refuse(*arguments):
        raise AssertionError("per-value bound pairs built")

    monkeypatch.setattr(scipy.optimize._constraints, "new_bounds_to_old", refuse)
    monkeypatch.setattr(scipy.optimize._constraints, "old_bound_to_new", refuse)
    extractor = vgg.FeatureExtractor(["conv1_1"], random_weights)
    content = np.random.default_rng(0).uniform(0, 255, (16, 16, 3)).astype(np.float32)
    cost_function = optimize.CostFunction(extractor, content, content, "conv1_1", (("conv1_1", 1.0),), 10, 40)
    result = lbfgs.run_scipy(cost_function, content + 10.0, 3, 10)
    assert result.iterations == 3
