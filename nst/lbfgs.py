"""L-BFGS on the generated image: SciPy's L-BFGS-B, and the fixed-step L-BFGS of Torch's optim.lbfgs and torch.optim.LBFGS.

Like nst.optimize's Adam loop, these report through callbacks and write no files.
"""

import time

import numpy as np
import scipy.optimize
import tensorflow as tf

from nst import config as config_module
from nst import optimize

# torch.optim.LBFGS's and Torch's optim.lbfgs's defaults, which the PyTorch tutorial and
# jcjohnson/neural-style keep.
FIXED_STEP_HISTORY = 100
CURVATURE_THRESHOLD = 1e-10  # a (step, gradient change) pair is remembered only if their dot product exceeds this
TORCH_MAX_ITERATIONS_PER_STEP = config_module.TORCH_LBFGS_UPDATES_PER_CALL
TORCH_MAX_EVALUATIONS_PER_STEP = TORCH_MAX_ITERATIONS_PER_STEP * 5 // 4
TORCH_TOLERANCE_GRADIENT = 1e-7
TORCH_TOLERANCE_CHANGE = 1e-9
# jcjohnson/neural-style turns optim.lbfgs's tolerances off with -1: only a direction that is not one
# of descent (g·d > 1) ends its run early.
LUA_TOLERANCE = -1.0
SCIPY_HISTORY = 10  # SciPy's own default (maxcor)
SCIPY_LINE_SEARCH_STEPS = 20  # SciPy's own default (maxls)
# setulb's task codes (SciPy ≥ 1.15): evaluate the cost and gradient at x; x is a new iterate; stop.
_TASK_EVALUATE, _TASK_NEW_POINT, _TASK_STOP = 3, 1, 5

# What SciPy's L-BFGS-B messages mean, in a user's words: (ended early for a limit or failure, explanation).
_SCIPY_ENDINGS = (
    ("ABNORMAL", True, "its line search could not lower the cost any further (often: converged as far as float32 "
                       "arithmetic allows)"),
    ("EVALUATIONS EXCEEDS LIMIT", True, "it reached its limit of cost evaluations"),
    ("PROJECTED GRADIENT", False, "converged: no pixel can move to lower the cost (the gradient is zero within "
                                  "the bounds)"),
    ("REDUCTION OF F", False, "converged: the last step did not lower the cost at all"),
)


class NonFiniteCost(Exception):
    """The cost or its gradient became infinite or NaN."""


class _Problem:
    """The compiled cost and gradient for a flat vector in the cost's image space, remembering the last evaluation.

    dtype is what the optimiser computes in (SciPy: float64; the fixed-step L-BFGS: float32,
    as Torch computes it). scale multiplies cost and gradient (SciPy's run sets it, see run_scipy).
    """

    def __init__(self, cost_function, shape, jit, dtype, on_tile=None):
        self.cost_and_gradient = optimize.make_cost_and_gradient(cost_function, jit, on_tile)
        self.space = optimize._space_of(cost_function)
        self.shape = (1, *shape)
        self.dtype = dtype
        self.evaluations = 0
        self.last_point = None
        self.last_costs = None
        self.scale = 1.0

    def __call__(self, point):
        costs, gradient = self.cost_and_gradient(tf.constant(point.reshape(self.shape), tf.float32))
        self.evaluations += 1
        costs = optimize.Costs.from_tensors(costs)
        gradient = gradient.numpy().ravel().astype(self.dtype)
        if not (costs.is_finite() and np.all(np.isfinite(gradient))):
            raise NonFiniteCost()
        self.last_point, self.last_costs = point.copy(), costs
        return costs.total * self.scale, gradient * self.dtype(self.scale)

    def costs_at(self, point):
        if self.last_point is None or not np.array_equal(point, self.last_point):
            self(point)
        return self.last_costs

    def pixels(self, point):
        """A flat point as an H×W×3 float32 image in pixel units."""
        return np.asarray(self.space.to_pixels(np.asarray(point, np.float32).reshape(self.shape[1:])), np.float32)

    def bounds(self, size):
        """(low, high) of every value of a flat point: scalars when all channels share them, else per value."""
        low, high = self.space.bounds()
        if np.all(low == low[0]) and np.all(high == high[0]):
            return float(low[0]), float(high[0])
        return np.resize(low, size).astype(np.float64), np.resize(high, size).astype(np.float64)


def run_lbfgs(cost_function, start_image, iterations, print_every, callbacks=optimize.Callbacks(), first_iteration=0,
              jit=False, variant="scipy"):
    """Runs L-BFGS on the image (RGB pixels in, pixels out); returns an optimize.OptimizationResult.

    variant 'scipy' is SciPy's L-BFGS-B (bounds, line search; run_scipy), 'torch' the PyTorch
    tutorial's use of torch.optim.LBFGS and 'lua' jcjohnson/neural-style's use of Torch's
    optim.lbfgs (run_fixed_step). The result's ended_early says in words why a run stopped
    before its iterations were done, and stop_reason why it had to stop (a non-finite cost).
    """
    if variant == "scipy":
        return run_scipy(cost_function, start_image, iterations, print_every, callbacks, first_iteration, jit)
    return run_fixed_step(cost_function, start_image, iterations, print_every, callbacks, first_iteration, jit,
                          variant)


def run_scipy(cost_function, start_image, iterations, print_every, callbacks=optimize.Callbacks(), first_iteration=0,
              jit=False):
    """SciPy's L-BFGS-B on the image, kept inside the pixel range by bounds.

    SciPy sees the cost scaled so that the largest gradient entry at the start is 1.
    L-BFGS-B's first trial step is the raw negative gradient: unscaled, Coursera gradients
    (~1e3 per pixel) would throw pixels to the bounds, and normalised conventions' (~1e-6)
    would move them by less than float32 can register, ending the run at once. With this
    scale the first step moves each value by at most one unit, whatever the loss weights.
    SciPy's default tolerances (ftol 2.2e-9 relative, gtol 1e-5) are tuned for costs near 1;
    both are set to zero, so the run stops after `iterations`, a stop request, a limit of
    cost evaluations or a line search that can make no progress. An interrupted run cannot
    keep L-BFGS's curvature memory: resuming restarts it from the saved image.
    """
    shape = np.shape(start_image)
    problem = _Problem(cost_function, shape, jit, np.float64, callbacks.on_tile)
    low, high = problem.bounds(int(np.prod(shape)))
    start = np.clip(np.asarray(problem.space.from_pixels(np.asarray(start_image)), np.float64).ravel(), low, high)
    started = time.perf_counter()
    progress = {"iteration": first_iteration, "point": start, "interrupted": False}

    def after_iteration(intermediate_result):
        progress["iteration"] += 1
        progress["point"] = intermediate_result.x.copy()
        costs = problem.costs_at(intermediate_result.x)
        callbacks.iteration_done(progress["iteration"], costs)
        if progress["iteration"] % print_every == 0 and progress["iteration"] < iterations:
            callbacks.snapshot(optimize.Snapshot(progress["iteration"], problem.pixels(intermediate_result.x), costs,
                                                 time.perf_counter() - started))
        if callbacks.stop_requested():
            progress["interrupted"] = True
            raise StopIteration

    _, start_gradient = problem(start)
    problem.scale = 1.0 / max(float(np.abs(start_gradient).max()), np.finfo(np.float32).tiny)
    callbacks.snapshot(optimize.Snapshot(first_iteration, problem.pixels(start), problem.last_costs, 0.0))
    stop_reason, ended_early = None, None
    try:
        message = minimize_lbfgsb(problem, start, low, high, iterations - first_iteration,
                                  2 * (iterations - first_iteration) + 20, after_iteration)
        if not progress["interrupted"] and progress["iteration"] < iterations:
            ended_early = _scipy_ending(message, progress["iteration"])
    except NonFiniteCost:
        stop_reason = f"the cost became non-finite after iteration {progress['iteration']}; kept the last finite image"
    return _finish(problem, progress, first_iteration, started, callbacks, stop_reason, ended_early)


def minimize_lbfgsb(function, start, low, high, max_iterations, max_evaluations, after_iteration):
    """SciPy's L-BFGS-B from start, within [low, high] (scalars or one value per entry); returns SciPy's message.

    function(point) -> (cost, gradient); after_iteration(result with .x) may raise StopIteration to
    halt. The tolerances are off (see run_scipy). scipy.optimize.minimize turns any bounds into a
    Python list of one (low, high) pair per value and loops over it in Python: at 3840×2160 that
    is 25 million pairs, about 4 GiB and a minute before the first iteration (measured with SciPy
    1.17). So where SciPy's compiled routine (setulb, SciPy ≥ 1.15) is there, it is driven here,
    with the bounds as two arrays; it is the same routine minimize drives, called the same way.
    """
    setulb = _setulb()
    if setulb is None:
        outcome = scipy.optimize.minimize(
            function, start, jac=True, method="L-BFGS-B", bounds=scipy.optimize.Bounds(low, high),
            callback=after_iteration,
            options={"maxiter": max_iterations, "maxfun": max_evaluations, "ftol": 0.0, "gtol": 0.0,
                     "maxcor": SCIPY_HISTORY, "maxls": SCIPY_LINE_SEARCH_STEPS},
        )
        return outcome.message
    size = start.size
    lower = np.ascontiguousarray(np.broadcast_to(np.asarray(low, np.float64), (size,)))
    upper = np.ascontiguousarray(np.broadcast_to(np.asarray(high, np.float64), (size,)))
    point = np.clip(np.asarray(start, np.float64), lower, upper)
    both_bounds = np.full(size, 2, np.int32)  # setulb's code for "bounded below and above"
    history = SCIPY_HISTORY
    workspace = np.zeros(2 * history * size + 5 * size + 11 * history**2 + 8 * history, np.float64)
    integer_workspace = np.zeros(3 * size, np.int32)
    task, line_search_task = np.zeros(2, np.int32), np.zeros(2, np.int32)
    logical_state, integer_state = np.zeros(4, np.int32), np.zeros(44, np.int32)
    float_state = np.zeros(29, np.float64)
    cost, gradient = np.array(0.0, np.float64), np.zeros(size, np.float64)
    iterations = evaluations = 0
    while True:
        setulb(history, point, lower, upper, both_bounds, cost, gradient, 0.0, 0.0, workspace, integer_workspace,
               task, logical_state, integer_state, float_state, SCIPY_LINE_SEARCH_STEPS, line_search_task)
        if task[0] == _TASK_EVALUATE:
            value, gradient_value = function(point)
            cost[...] = value
            gradient[:] = gradient_value
            evaluations += 1
        elif task[0] == _TASK_NEW_POINT:
            iterations += 1
            try:
                after_iteration(scipy.optimize.OptimizeResult(x=point, fun=float(cost)))
            except StopIteration:
                task[:] = (_TASK_STOP, 505)
            if iterations >= max_iterations:
                task[:] = (_TASK_STOP, 504)
            elif evaluations > max_evaluations:
                task[:] = (_TASK_STOP, 502)
        else:
            break
    return _lbfgsb_message(task)


def _setulb():
    """SciPy's compiled L-BFGS-B step with the integer task codes of SciPy ≥ 1.15, or None."""
    try:
        from scipy.optimize import _lbfgsb
        from scipy.optimize import _lbfgsb_py
    except ImportError:
        return None
    if not hasattr(_lbfgsb, "setulb") or not hasattr(_lbfgsb_py, "task_messages"):
        return None
    major, minor = (int(part) for part in scipy.__version__.split(".")[:2])
    return _lbfgsb.setulb if (major, minor) >= (1, 15) else None


def _lbfgsb_message(task):
    from scipy.optimize import _lbfgsb_py

    return f"{_lbfgsb_py.status_messages.get(int(task[0]), '')}: {_lbfgsb_py.task_messages.get(int(task[1]), '')}"


def _scipy_ending(message, iteration):
    """(limit_or_failure, words) for why SciPy stopped at `iteration` before the iterations asked for."""
    text = str(message).upper().replace(",", "").replace("_", " ")
    for marker, limit, words in _SCIPY_ENDINGS:
        if marker.replace("_", " ") in text:
            return limit, f"L-BFGS stopped after iteration {iteration}: {words} (SciPy: {message})"
    return True, f"L-BFGS stopped after iteration {iteration} (SciPy: {message})"


def _finish(problem, progress, first_iteration, started, callbacks, stop_reason, ended_early, final_point=None):
    """The OptimizationResult of an L-BFGS run, and its final snapshot."""
    elapsed = time.perf_counter() - started
    point = progress["point"] if final_point is None else final_point
    final_costs = problem.costs_at(point) if stop_reason is None else problem.last_costs
    limit, words = ended_early if ended_early else (False, None)
    result = optimize.OptimizationResult(
        problem.pixels(point), final_costs, progress["iteration"], progress["iteration"] - first_iteration, elapsed,
        stop_reason, problem.evaluations, (), progress["interrupted"], ended_early=words, ended_at_limit=limit)
    if stop_reason is None:
        callbacks.snapshot(optimize.Snapshot(result.iterations, result.image, final_costs, elapsed))
    return result


class FixedStepLbfgs:
    """The L-BFGS shared by Torch's optim.lbfgs and torch.optim.LBFGS when no line search is given.

    Steps of fixed length: min(1, 1/Σ|g|)·learning_rate on the very first iteration, then
    learning_rate. The direction comes from the two-loop recursion over the last history_size
    (step, gradient change) pairs, a pair being kept only if its dot product exceeds
    CURVATURE_THRESHOLD; the initial inverse Hessian is (y·s)/(y·y) of the newest pair kept.
    Vectors are float32, as both originals compute them for float32 images. The memory carries
    over between calls of direction(), as torch.optim.LBFGS keeps it across step() calls.
    """

    def __init__(self, history_size=FIXED_STEP_HISTORY, learning_rate=1.0):
        self.history_size = history_size
        self.learning_rate = learning_rate
        self.steps, self.gradient_changes, self.reciprocals = [], [], []
        self.hessian_scale = np.float32(1.0)
        self.iterations = 0
        self.direction_vector = None
        self.step_length = None
        self.previous_gradient = None

    def direction(self, gradient):
        """The next search direction at a point with this gradient (counts one iteration)."""
        self.iterations += 1
        if self.iterations == 1:
            self.direction_vector = -gradient
        else:
            self._remember(gradient - self.previous_gradient, self.direction_vector * self.step_length)
            self.direction_vector = self._two_loop(gradient)
        self.previous_gradient = gradient.copy()
        return self.direction_vector

    def _remember(self, gradient_change, step):
        curvature = np.dot(gradient_change, step)
        if curvature <= CURVATURE_THRESHOLD:
            return
        if len(self.steps) == self.history_size:
            for memory in (self.steps, self.gradient_changes, self.reciprocals):
                memory.pop(0)
        self.steps.append(step)
        self.gradient_changes.append(gradient_change)
        self.reciprocals.append(np.float32(1.0) / curvature)
        self.hessian_scale = curvature / np.dot(gradient_change, gradient_change)

    def _two_loop(self, gradient):
        alphas = [np.float32(0.0)] * len(self.steps)
        direction = -gradient
        for index in reversed(range(len(self.steps))):
            alphas[index] = np.dot(self.steps[index], direction) * self.reciprocals[index]
            direction = direction - alphas[index] * self.gradient_changes[index]
        direction = direction * self.hessian_scale
        for index in range(len(self.steps)):
            beta = np.dot(self.gradient_changes[index], direction) * self.reciprocals[index]
            direction = direction + (alphas[index] - beta) * self.steps[index]
        return direction

    def length(self, gradient):
        """The step length for the direction just computed."""
        if self.iterations == 1:
            self.step_length = np.float32(min(1.0, 1.0 / float(np.abs(gradient).sum())) * self.learning_rate)
        else:
            self.step_length = np.float32(self.learning_rate)
        return self.step_length


def run_fixed_step(cost_function, start_image, iterations, print_every, callbacks=optimize.Callbacks(),
                   first_iteration=0, jit=False, variant="torch"):
    """The fixed-step L-BFGS as the PyTorch tutorial ('torch') or jcjohnson/neural-style ('lua') drives it.

    Iterations are numbered by the updates made, as everywhere in this project: the image of
    iteration k has had k updates. 'lua': one call of optim.lbfgs with maxIter = iterations - first_iteration
    and its tolerances off; it evaluates the cost once per update except after the last, so
    jcjohnson/neural-style's k-th printout and out_k.png are this run's iteration k − 1 (and its
    out.png iteration iterations − 1); the final image here has all the updates, its cost
    evaluated once more for the record. 'torch': iterations − first_iteration is the tutorial's
    num_steps: torch.optim.LBFGS's step() is called while its closure calls are at most that
    many, each call making up to 20 updates, the last one unevaluated (so 300 makes 320 updates,
    nst.config.tutorial_lbfgs_updates), with the image clamped to its range before every
    evaluation and once at the end.
    """
    shape = np.shape(start_image)
    problem = _Problem(cost_function, shape, jit, np.float32, callbacks.on_tile)
    low, high = problem.bounds(int(np.prod(shape)))
    point = np.asarray(problem.space.from_pixels(np.asarray(start_image)), np.float32).ravel()
    started = time.perf_counter()
    progress = {"iteration": first_iteration, "point": point.copy(), "interrupted": False, "evaluations": 0}
    clamp = variant == "torch"

    def evaluate():
        if clamp:  # the tutorial's closure clamps the image in place before evaluating it
            np.clip(point, low, high, out=point)
        _, gradient = problem(point)
        progress["evaluations"] += 1
        progress["point"] = point.copy()
        costs = problem.last_costs
        if progress["iteration"] > first_iteration:
            callbacks.iteration_done(progress["iteration"], costs)
        if progress["iteration"] % print_every == 0 or progress["iteration"] == first_iteration:
            callbacks.snapshot(optimize.Snapshot(progress["iteration"], problem.pixels(point), costs,
                                                 time.perf_counter() - started))
        if callbacks.stop_requested():
            progress["interrupted"] = True
        return costs.total, gradient

    def update(step, direction):
        point[:] += step * direction
        progress["iteration"] += 1

    stop_reason, ended_early = None, None
    try:
        if variant == "torch":
            ended_early = _torch_steps(FixedStepLbfgs(), evaluate, update, iterations - first_iteration, progress)
            np.clip(point, low, high, out=point)  # the tutorial's last clamp
        else:
            ended_early = _lua_run(FixedStepLbfgs(), evaluate, update, iterations, progress)
        progress["point"] = point.copy()
    except NonFiniteCost:
        stop_reason = f"the cost became non-finite at iteration {progress['iteration']}; kept the last finite image"
    return _finish(problem, progress, first_iteration, started, callbacks, stop_reason, ended_early)


def _torch_steps(lbfgs, evaluate, update, num_steps, progress):
    """The tutorial's loop: torch.optim.LBFGS.step() while its closure calls are at most num_steps; an early ending or None."""
    while progress["evaluations"] <= num_steps and not progress["interrupted"]:
        loss, gradient = evaluate()
        if progress["interrupted"]:
            return None
        if np.abs(gradient).max() <= TORCH_TOLERANCE_GRADIENT:
            return False, f"L-BFGS converged at iteration {progress['iteration']}: the gradient is below 1e-7"
        step_evaluations = 1
        for inner in range(1, TORCH_MAX_ITERATIONS_PER_STEP + 1):
            direction = lbfgs.direction(gradient)
            previous_loss = loss
            step = lbfgs.length(gradient)
            if np.dot(gradient, direction) > -TORCH_TOLERANCE_CHANGE:
                break  # not a descent direction: this step() call ends, the next one starts afresh
            update(step, direction)
            if inner == TORCH_MAX_ITERATIONS_PER_STEP:
                break  # the last update of a call is not evaluated
            loss, gradient = evaluate()
            step_evaluations += 1
            if (progress["interrupted"] or step_evaluations >= TORCH_MAX_EVALUATIONS_PER_STEP
                    or np.abs(gradient).max() <= TORCH_TOLERANCE_GRADIENT
                    or np.abs(step * direction).max() <= TORCH_TOLERANCE_CHANGE
                    or abs(loss - previous_loss) < TORCH_TOLERANCE_CHANGE):
                break
    return None


def _lua_run(lbfgs, evaluate, update, iterations, progress):
    """One optim.lbfgs call with maxIter = iterations − start and tolX = tolFun = −1; an early ending or None."""
    _, gradient = evaluate()
    while progress["iteration"] < iterations and not progress["interrupted"]:
        direction = lbfgs.direction(gradient)
        step = lbfgs.length(gradient)
        if np.dot(gradient, direction) > -LUA_TOLERANCE:
            return True, (f"L-BFGS stopped at iteration {progress['iteration']}: its direction no longer lowers "
                          "the cost (optim.lbfgs's check, tolX = -1)")
        update(step, direction)
        if progress["iteration"] == iterations:
            break  # optim.lbfgs does not evaluate its last step
        _, gradient = evaluate()
    return None
