#!/usr/bin/env python3
"""Independent CVXPY + Clarabel reference for cvxcnn's two-layer convex program.

    python bench/cvxpy_reference.py PROBLEM.json [--json]

Builds the program of docs/docs/math.md §2 straight from the data, the way a researcher would
write it by hand, solves it with Clarabel through CVXPY and prints one JSON object on stdout:

    {"objective", "patterns", "n", "K", "h", "build_s", "solve_s", "total_s", "status"}

With --json the object is one compact line and nothing else is printed; without it the object is
indented and a one-line timing breakdown (CVXPY compile vs Clarabel) goes to stderr.
Exit status: 0 when the solver reports "optimal", 1 for any other solver status (the JSON is still
printed), 2 for a problem file this script does not support (one-line message on stderr).
"""
# The clock starts before numpy/cvxpy are imported: total_s is meant to be the whole cost a user
# pays for the hand-written route, and importing cvxpy is a noticeable part of it.
import time

T_START = time.perf_counter()

import json  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402

import numpy as np  # noqa: E402
import cvxpy as cp  # noqa: E402

# Keys this script understands. Anything else is refused rather than ignored: an unknown key may
# change the mathematics (a different activation, pooling, solver setting), and a reference that
# silently solves a different problem is worse than one that stops.
TOP_KEYS = {"inputs", "targets", "binary", "max_samples", "architecture", "beta", "arrangements"}
ARCH_KEYS = {"kind", "kernel", "stride", "padding", "pooling"}
ARRANGEMENT_KEYS = {"mode", "path"}
BINARY_KEYS = {"positive", "negative"}

CLARABEL_SETTINGS = {"tol_gap_abs": 1e-8, "tol_gap_rel": 1e-8, "tol_feas": 1e-8}


class Unsupported(Exception):
    """A problem file (or data) this reference does not handle; exit 2 with the message."""


def fail_unless(condition: bool, message: str) -> None:
    if not condition:
        raise Unsupported(message)


def check_keys(obj, allowed: set, where: str) -> None:
    fail_unless(isinstance(obj, dict), f"{where} must be a JSON object")
    unknown = sorted(set(obj) - allowed)
    fail_unless(not unknown, f"unsupported key(s) in {where}: {', '.join(unknown)}")


def is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def int_list(value, length: int, name: str, minimum: int) -> list:
    """A per-axis setting: a JSON list with one entry per spatial axis of the input."""
    fail_unless(
        isinstance(value, list) and len(value) == length and all(is_int(v) for v in value),
        f"architecture.{name} must be a list of {length} integer(s) for this input, got {value!r}",
    )
    fail_unless(all(v >= minimum for v in value), f"architecture.{name} entries must be >= {minimum}")
    return list(value)


def load_npy(base: str, rel, what: str) -> np.ndarray:
    fail_unless(isinstance(rel, str), f"{what} must be a path string")
    path = os.path.join(base, rel)
    fail_unless(os.path.isfile(path), f"{what} file not found: {path}")
    try:
        # allow_pickle=False: a data file must be a plain array, never code.
        return np.load(path, allow_pickle=False)
    except Exception as exc:  # numpy raises several types for malformed files
        raise Unsupported(f"cannot read {what} file {path}: {exc}") from None


def load_samples(spec: dict, base: str):
    """Inputs as [n, C, H, W] float64 (1-D signals get H = 1) and targets as [n] float64."""
    x = load_npy(base, spec.get("inputs"), "inputs")
    raw_y = load_npy(base, spec.get("targets"), "targets")
    fail_unless(x.dtype in (np.float32, np.float64), f"inputs must be float32 or float64, got {x.dtype}")
    fail_unless(x.ndim in (3, 4), f"inputs must be [n, C, L] or [n, C, H, W], got shape {list(x.shape)}")
    fail_unless(raw_y.ndim == 1 and raw_y.shape[0] == x.shape[0],
                f"targets must have shape [{x.shape[0]}], got {list(raw_y.shape)}")
    fail_unless(raw_y.dtype.kind in "iuf", f"targets must be integer or float, got {raw_y.dtype}")
    spatial_dims = x.ndim - 2
    x = x.astype(np.float64)
    if spatial_dims == 1:
        x = x[:, :, None, :]
    fail_unless(np.all(np.isfinite(x)), "inputs contain NaN or infinity")

    binary = spec.get("binary")
    if binary is None:
        y = raw_y.astype(np.float64)
    else:
        check_keys(binary, BINARY_KEYS, "binary")
        positive, negative = binary.get("positive"), binary.get("negative")
        fail_unless(isinstance(positive, list) and positive and all(is_int(v) for v in positive),
                    "binary.positive must be a non-empty list of integer labels")
        fail_unless(negative == "rest" or (isinstance(negative, list) and negative
                                           and all(is_int(v) for v in negative)),
                    'binary.negative must be a non-empty list of integer labels or "rest"')
        if raw_y.dtype.kind == "f":
            fail_unless(np.all(raw_y == np.round(raw_y)), "binary needs integer labels in targets")
        labels = raw_y.astype(np.int64)
        is_pos = np.isin(labels, positive)
        if negative == "rest":
            is_neg = ~is_pos
        else:
            fail_unless(not set(positive) & set(negative), "binary.positive and binary.negative overlap")
            is_neg = np.isin(labels, negative)
        keep = is_pos | is_neg  # boolean mask keeps the original sample order
        x = x[keep]
        y = np.where(is_pos[keep], 1.0, -1.0)

    max_samples = spec.get("max_samples")
    if max_samples is not None:
        fail_unless(is_int(max_samples) and max_samples >= 1, "max_samples must be a positive integer")
        x, y = x[:max_samples], y[:max_samples]
    fail_unless(x.shape[0] >= 1, "no samples left after filtering")
    fail_unless(np.all(np.isfinite(y)), "targets contain NaN or infinity")
    return x, y, spatial_dims


def extract_patches(x: np.ndarray, arch: dict, spatial_dims: int) -> np.ndarray:
    """Patch matrices X_k stacked as [K, n, h]: positions row-major, each patch in (C, row, col) order."""
    kernel = int_list(arch.get("kernel"), spatial_dims, "kernel", 1)
    stride = int_list(arch.get("stride", [1] * spatial_dims), spatial_dims, "stride", 1)
    padding = int_list(arch.get("padding", [0] * spatial_dims), spatial_dims, "padding", 0)
    if spatial_dims == 1:  # a 1-D setting applies to the length axis; the dummy height axis is 1
        kernel, stride, padding = [1] + kernel, [1] + stride, [0] + padding
    (kh, kw), (sh, sw), (ph, pw) = kernel, stride, padding
    n, c, height, width = x.shape
    if ph or pw:
        x = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    fail_unless(kh <= height + 2 * ph and kw <= width + 2 * pw,
                f"kernel {kernel} is larger than the (padded) input {[height + 2 * ph, width + 2 * pw]}")
    out_h = (height + 2 * ph - kh) // sh + 1
    out_w = (width + 2 * pw - kw) // sw + 1
    patches = [
        x[:, :, i * sh:i * sh + kh, j * sw:j * sw + kw].reshape(n, c * kh * kw)
        for i in range(out_h) for j in range(out_w)
    ]
    return np.stack(patches)


def gate_patterns(M: np.ndarray, gates: np.ndarray) -> np.ndarray:
    """Distinct nonzero sign patterns 1[M g >= 0] as a bool [nK, P] matrix, in first-seen gate order."""
    on = (M @ gates.T) >= 0.0
    # An exactly-zero row of M is "on" for every gate (0 >= 0) but carries no information: it adds
    # nothing to A_i and its cone row is 0 >= 0. Forcing its bit to 0 keeps such rows from making
    # otherwise identical patterns look different, and from making an all-off pattern look nonzero.
    on[~np.any(M != 0.0, axis=1)] = False
    seen, keep = set(), []
    for i in range(on.shape[1]):
        column = on[:, i]
        key = np.packbits(column).tobytes()
        if column.any() and key not in seen:
            seen.add(key)
            keep.append(i)
    return on[:, keep]


def build(problem_path: str):
    base = os.path.dirname(os.path.abspath(problem_path))
    try:
        with open(problem_path) as fh:
            spec = json.load(fh)
    except OSError as exc:
        raise Unsupported(f"cannot read problem file: {exc}") from None
    except json.JSONDecodeError as exc:
        raise Unsupported(f"problem file is not valid JSON: {exc}") from None
    check_keys(spec, TOP_KEYS, "the problem file")

    arch = spec.get("architecture")
    fail_unless(isinstance(arch, dict), "architecture must be a JSON object")
    fail_unless(arch.get("kind") == "two_layer",
                f"architecture.kind {arch.get('kind')!r} is not supported (only \"two_layer\")")
    check_keys(arch, ARCH_KEYS, "architecture")
    pooling = arch.get("pooling")
    fail_unless(pooling in ("sum", "average"),
                f"architecture.pooling {pooling!r} is not supported (only \"sum\" or \"average\")")
    beta = spec.get("beta")
    fail_unless(isinstance(beta, (int, float)) and not isinstance(beta, bool) and np.isfinite(beta)
                and beta >= 0, "beta must be a finite number >= 0")
    arrangements = spec.get("arrangements")
    fail_unless(isinstance(arrangements, dict), "arrangements must be a JSON object")
    # Mode first: for another mode the real message is "mode unsupported", not its own extra keys.
    fail_unless(arrangements.get("mode") == "gates",
                f"arrangements.mode {arrangements.get('mode')!r} is not supported (only \"gates\")")
    check_keys(arrangements, ARRANGEMENT_KEYS, "arrangements")

    x, y, spatial_dims = load_samples(spec, base)
    patches = extract_patches(x, arch, spatial_dims)  # [K, n, h]
    K, n, h = patches.shape
    s = 1.0 if pooling == "sum" else 1.0 / K
    M = patches.reshape(K * n, h)  # row k*n + t = patch k of sample t

    gates = load_npy(base, arrangements.get("path"), "arrangements.path")
    fail_unless(gates.dtype.kind == "f" and gates.ndim == 2 and gates.shape[1] == h,
                f"gates must be a float [G, {h}] array, got {gates.dtype} {list(gates.shape)}")
    fail_unless(gates.shape[0] >= 1 and np.all(np.isfinite(gates)), "gates must be finite and non-empty")
    D = gate_patterns(M, gates.astype(np.float64))  # [nK, P]
    P = D.shape[1]
    fail_unless(P >= 1, "every gate gives the all-off pattern: nothing to fit")

    # A = [A_1 ... A_P] (n x hP) with A_i = s * sum_k D_i^k X_k; column block i pairs with column i
    # of the (h, P) variables, which is what vec(., order="F") lays out.
    D_blocks = D.reshape(K, n, P).astype(np.float64)
    A = s * np.einsum("kti,kth->tih", D_blocks, patches).reshape(n, P * h)
    # B_i c_i = (2 D_i - 1) * (M c_i) row-wise, so all P cone constraints are one elementwise product.
    signs = 2.0 * D - 1.0  # [nK, P]

    c_pos = cp.Variable((h, P), name="c")
    c_neg = cp.Variable((h, P), name="c_prime")
    residual = A @ cp.vec(c_pos - c_neg, order="F") - y
    regularizer = cp.sum(cp.norm(c_pos, 2, axis=0)) + cp.sum(cp.norm(c_neg, 2, axis=0))
    objective = cp.Minimize(0.5 * cp.sum_squares(residual) + beta * regularizer)
    constraints = [cp.multiply(signs, M @ c_pos) >= 0, cp.multiply(signs, M @ c_neg) >= 0]
    return cp.Problem(objective, constraints), {"patterns": P, "n": n, "K": K, "h": h}


def main(argv: list) -> int:
    args = [a for a in argv if a != "--json"]
    compact = len(args) != len(argv)
    if len(args) != 1 or args[0].startswith("-"):
        print("usage: cvxpy_reference.py PROBLEM.json [--json]", file=sys.stderr)
        return 2

    t_build = time.perf_counter()
    try:
        problem, sizes = build(args[0])
    except Unsupported as exc:
        print(f"cvxpy_reference: {exc}", file=sys.stderr)
        return 2
    build_s = time.perf_counter() - t_build

    t_solve = time.perf_counter()
    try:
        problem.solve(solver=cp.CLARABEL, **CLARABEL_SETTINGS)
    except cp.error.SolverError as exc:
        print(f"cvxpy_reference: solver error: {exc}".replace("\n", " "), file=sys.stderr)
        return 1
    solve_s = time.perf_counter() - t_solve

    value = problem.value
    result = {
        "objective": float(value) if value is not None and np.isfinite(value) else None,
        **sizes,
        "build_s": build_s,
        "solve_s": solve_s,
        "total_s": time.perf_counter() - T_START,
        "status": problem.status,
    }
    print(json.dumps(result) if compact else json.dumps(result, indent=2))
    if not compact:
        stats = problem.solver_stats
        print(f"# solve_s = CVXPY compile {problem.compilation_time:.3f} s + Clarabel "
              f"{stats.solve_time:.3f} s ({stats.num_iters} iterations) + CVXPY overhead",
              file=sys.stderr)
    if problem.status != cp.OPTIMAL:
        print(f"cvxpy_reference: solver status {problem.status}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
