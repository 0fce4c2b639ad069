#!/usr/bin/env python3
"""Re-check a cvxcnn dual certificate from its evidence, with numpy only.

    python3 bench/verify_certificate.py PROBLEM.json RESULT_OR_CERTIFICATE.json [--network NET.json]

Accepts a result file of `cvxcnn solve` (scalar or one-vs-rest), a certificate of `cvxcnn certify`
(scalar or one-vs-rest), and the `{"network": …, "optimum": …}` pair of `cvxcnn certify --network`.
Nothing here imports or runs cvxcnn: the problem file is read again, the data loaded, the patches
extracted, every pattern recomputed from its gate, and for every pattern i and sign σ the inequality

    ‖σ A_iᵀu + B_iᵀα‖_* ≤ β       (three-layer: σ A_iᵀλ_G with λ_G = σ_G D'_l u + (2D'_l − I) μ_G)

tested with the listed multipliers α ≥ 0 (α = 0 where none is listed). If they all hold, weak conic
duality makes d(u) = uᵀy − ½‖u‖² (logistic loss: Σ_t H(y_t u_t), binary entropy in nats; hinge:
Σ_t y_t u_t; both need 0 ≤ y_t u_t ≤ 1, checked) a lower bound on the convex program over the listed patterns
(docs/math.md §2, §3, §8, §9). If some inequality exceeds β by a hair, u (with α, μ) is shrunk by
β/max and d recomputed — a valid bound either way — and the script says so. The bound must then
agree with the reported `lower_bound` to 1e-9 (relative), and `lower_bound` must not exceed
`primal_objective`. For result files the decoded network is run forward from its weights and its
objective compared with `network_objective` and the certificate's `primal_objective` (1e-8).

Floating point: every quantity is computed in float64 by numpy; the inequalities are not bounded
for rounding (their error is about 1e-16 of the magnitudes summed). A certificate of scope `global`
from `"mode": "exact"` also rests on the enumeration of the arrangement being complete, which this
script does not check.

One line per certificate (`ok` / `FAIL`, the recomputed bound, the worst inequality slack relative
to β); exit 0 when all pass, 1 when one fails, 2 for unreadable or inconsistent input.
"""
import argparse
import json
import math
import pathlib
import sys
from fractions import Fraction

import numpy as np

#: Recomputed and reported lower bounds agree to this (relative to max(1, |bound|)).
BOUND_RTOL = 1e-9
#: A network objective recomputed by the forward pass agrees with the reported one to this.
OBJECTIVE_RTOL = 1e-8
#: `certified` means relative gap ≤ this (cvxcnn's CERTIFIED_REL_GAP).
CERTIFIED_REL_GAP = 1e-6
#: Inner filters of circular networks (‖a‖ ≤ 1) and three-layer sub-networks (‖[U, b]‖_F ≤ 1).
NORM_CONSTRAINT_TOL = 1e-9
#: A dot product within this of zero (relative to Σ|terms|) is recomputed exactly to decide a bit.
AMBIGUOUS_RTOL = 1e-12


def _entropy(p):
    """Binary entropy in nats, 0 log 0 = 0, elementwise."""
    p = np.asarray(p, dtype=np.float64)
    out = np.zeros_like(p)
    for q in (p, 1.0 - p):
        pos = q > 0
        out[pos] -= q[pos] * np.log(q[pos])
    return out


def _softplus(z):
    """log(1 + e^z) without overflow."""
    return np.where(z > 0, z + np.log1p(np.exp(-np.abs(z))), np.log1p(np.exp(np.minimum(z, 0.0))))


#: The losses (docs/math.md, "Classification losses"): (value of outputs f, dual objective at u).
#: The classification losses' dual objective needs 0 ≤ y_t u_t ≤ 1 (checked in dual_objective).
LOSSES = {
    "squared": (lambda f, y: 0.5 * float(np.sum((f - y) ** 2)),
                lambda u, y: float(u @ y - 0.5 * (u @ u))),
    "logistic": (lambda f, y: float(np.sum(_softplus(-y * f))),
                 lambda u, y: float(np.sum(_entropy(y * u)))),
    "hinge": (lambda f, y: float(np.sum(np.maximum(0.0, 1.0 - y * f))),
              lambda u, y: float(np.sum(y * u))),
}


def dual_objective(loss, u, y, chk):
    """−Σ ℓ*(−u_t): the bound a dual-feasible u proves; fails the check outside the domain."""
    if loss != "squared":
        p = y * u
        if np.any(p < 0.0) or np.any(p > 1.0):
            chk.fail(f"dual point outside the {loss} conjugate's domain 0 ≤ y_t u_t ≤ 1 "
                     f"(range [{p.min():.3g}, {p.max():.3g}])")
            return float("nan")
    return LOSSES[loss][1](u, y)


class InputError(Exception):
    """Unreadable or inconsistent input (exit 2)."""


# ---------------------------------------------------------------------------------------------
# The problem file (README, "Problem files"; src/problem.rs).


def load_npy(path, what):
    try:
        return np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise InputError(f"{path}: {what} not found (paths are relative to the problem file)")
    except (ValueError, OSError) as e:
        raise InputError(f"{path}: not a readable .npy array ({e})")


def pair(v, one_d, default, name):
    if v is None:
        return (1, default) if one_d else (default, default)
    if not isinstance(v, list) or len(v) != (1 if one_d else 2) or not all(
            isinstance(a, int) and a >= 0 for a in v):
        raise InputError(f"architecture.{name} = {v!r}: give {1 if one_d else 2} non-negative integers")
    return (1, v[0]) if one_d else (v[0], v[1])


class Problem:
    """What the checker needs from a problem file, validated like cvxcnn does."""

    def __init__(self, path):
        self.path = pathlib.Path(path)
        try:
            f = json.loads(self.path.read_text())
        except FileNotFoundError:
            raise InputError(f"{path}: problem file not found")
        except json.JSONDecodeError as e:
            raise InputError(f"{path}: not JSON ({e})")
        if not isinstance(f, dict):
            raise InputError(f"{path}: a problem file is a JSON object")
        base = self.path.parent
        for key in ("inputs", "targets", "architecture", "beta", "arrangements"):
            if key not in f:
                raise InputError(f"{path}: the problem file has no {key!r}")
        x = load_npy(base / f["inputs"], "inputs").astype(np.float64)
        raw = load_npy(base / f["targets"], "targets")
        if x.ndim not in (3, 4):
            raise InputError(f"{path}: inputs have shape {x.shape}; expected [n, C, L] or [n, C, H, W]")
        self.one_d = x.ndim == 3
        if self.one_d:
            x = x[:, :, None, :]
        if raw.ndim != 1 or raw.shape[0] != x.shape[0]:
            raise InputError(f"{path}: {raw.shape} targets for {x.shape[0]} inputs")
        integer = np.issubdtype(raw.dtype, np.integer)
        y = raw.astype(np.float64)
        task = f.get("task", "scalar")
        if task not in ("scalar", "one_vs_rest"):
            raise InputError(f"{path}: task {task!r} is not scalar or one_vs_rest")
        binary = f.get("binary")
        if binary is not None:
            if not integer:
                raise InputError(f"{path}: \"binary\" needs integer labels")
            pos = set(binary["positive"])
            neg = binary["negative"]
            keep, yy = [], []
            for t, lab in enumerate(raw.tolist()):
                p = lab in pos
                q = (not p) if neg == "rest" else (lab in set(neg))
                if p or q:
                    keep.append(t)
                    yy.append(1.0 if p else -1.0)
            x = x[keep]
            y = np.array(yy)
        m = f.get("max_samples")
        if m is not None:
            x, y = x[:m], y[:m]
        self.x = np.ascontiguousarray(x)
        self.n = self.x.shape[0]
        if task == "one_vs_rest":
            self.labels = y.astype(np.int64)
            self.classes = sorted(set(self.labels.tolist()))
        else:
            self.labels = None
            self.classes = None
        self.y = y
        self.beta = float(f["beta"])
        self.filter_norm = f.get("filter_norm", "l2")
        self.loss = f.get("loss", "squared")
        if self.loss not in LOSSES:
            raise InputError(f"{path}: loss {self.loss!r} is not one of {sorted(LOSSES)}")
        if self.loss != "squared" and task != "one_vs_rest" and not np.all(np.abs(y) == 1.0):
            raise InputError(f"{path}: loss {self.loss!r} needs targets ±1")
        arr = f["arrangements"]
        self.mode = arr.get("mode") if isinstance(arr, dict) else None
        a = f["architecture"]
        self.kind = a.get("kind")
        self.bias = bool(a.get("bias", False))
        self.activation = a.get("activation", "relu")
        self.pooling = a.get("pooling", "sum")
        self.outer_mode = None
        _, c, hh, ww = self.x.shape
        if self.kind in ("two_layer", "three_layer"):
            kernel = pair(a.get("kernel"), self.one_d, 1, "kernel")
            stride = pair(a.get("stride"), self.one_d, 1, "stride")
            padding = pair(a.get("padding"), self.one_d, 0, "padding")
            if self.one_d:
                padding = (0, padding[1])
            self.geometry = (kernel, stride, padding)
            self.patches = extract_patches(self.x, *self.geometry)
            K = self.patches.shape[0]
            rows, cols = grid(hh, ww, *self.geometry)
            if self.kind == "three_layer":
                self.pooling = "sum"
                outer = a.get("outer_patterns", {"mode": "sample"})
                self.outer_mode = outer.get("mode")
            self.weights = pooling_weights(self.pooling, a.get("pool_size"), self.one_d, rows, cols)
            assert len(self.weights) == K
        elif self.kind == "circular":
            if not self.one_d or c != 1:
                raise InputError(f"{path}: circular problems take signals [n, 1, d]")
            self.patches = self.x[:, 0, 0, :][None, :, :].copy()
            self.weights = np.ones(1)
        else:
            raise InputError(f"{path}: architecture kind {self.kind!r} is not two_layer, circular or three_layer")
        if self.bias:
            K, n, h = self.patches.shape
            self.patches = np.concatenate([self.patches, np.ones((K, n, 1))], axis=2)
        K, n, h = self.patches.shape
        self.M = self.patches.reshape(K * n, h)

    def targets(self, cls):
        """y of the scalar problem (one-vs-rest: +1 for `cls`, −1 otherwise)."""
        if cls is None:
            if self.classes is not None:
                raise InputError(f"{self.path}: a one-vs-rest problem; the file must give one certificate per class")
            return self.y
        if self.classes is None:
            raise InputError(f"{self.path}: a scalar problem, but the file is one-vs-rest")
        if cls not in self.classes:
            raise InputError(f"{self.path}: class {cls} is not among the labels {self.classes}")
        return np.where(self.labels == cls, 1.0, -1.0)

    def dual_norm(self):
        if self.kind == "circular":
            return "spectral_l1"
        return self.filter_norm

    def pattern_rule(self):
        if self.kind == "two_layer" and self.activation == "linear":
            return "none"
        if self.kind == "two_layer" and self.pooling == "max":
            return "max_pool_argmax"
        return "relu_sign"

    def scope(self):
        if self.pattern_rule() == "none":
            return "global"
        exact = self.mode == "exact"
        if self.kind == "three_layer":
            exact = exact and self.outer_mode == "all"
        return "global" if exact else "sampled_patterns"


def grid(hh, ww, kernel, stride, padding):
    ph, pw = hh + 2 * padding[0], ww + 2 * padding[1]
    if kernel[0] > ph or kernel[1] > pw or 0 in kernel or 0 in stride:
        raise InputError(f"kernel {kernel} does not fit the input {hh}×{ww} with padding {padding}")
    return (ph - kernel[0]) // stride[0] + 1, (pw - kernel[1]) // stride[1] + 1


def extract_patches(x, kernel, stride, padding):
    """[K, n, h]: patch positions row-major, each patch flattened (channel, row, col), zero padding."""
    n, c, hh, ww = x.shape
    rows, cols = grid(hh, ww, kernel, stride, padding)
    xp = np.zeros((n, c, hh + 2 * padding[0], ww + 2 * padding[1]))
    xp[:, :, padding[0]:padding[0] + hh, padding[1]:padding[1] + ww] = x
    out = np.empty((rows * cols, n, c * kernel[0] * kernel[1]))
    for pr in range(rows):
        for pc in range(cols):
            r0, c0 = pr * stride[0], pc * stride[1]
            out[pr * cols + pc] = xp[:, :, r0:r0 + kernel[0], c0:c0 + kernel[1]].reshape(n, -1)
    return out


def pooling_weights(pooling, pool_size, one_d, rows, cols):
    """α_k per patch position (docs/math.md §5)."""
    k = rows * cols
    if pooling in ("sum", "max"):
        return np.ones(k)
    if pooling == "average":
        return np.full(k, 1.0 / k)
    if pooling == "local_average":
        if pool_size is None:
            raise InputError("local_average pooling needs pool_size")
        ph, pw = (1, pool_size[0]) if one_d else tuple(pool_size)
        w = np.zeros(k)
        for r0 in range(0, rows, ph):
            for c0 in range(0, cols, pw):
                r1, c1 = min(r0 + ph, rows), min(c0 + pw, cols)
                share = 1.0 / ((r1 - r0) * (c1 - c0))
                for r in range(r0, r1):
                    for c in range(c0, c1):
                        w[r * cols + c] += share
        return w
    raise InputError(f"pooling {pooling!r} is not sum, average, max or local_average")


# ---------------------------------------------------------------------------------------------
# Patterns from gates.


def exact_dot(row, g):
    return sum((Fraction(float(a)) * Fraction(float(b)) for a, b in zip(row, g)), Fraction(0))


def relu_pattern(M, g, stats):
    """Bit r = 1[M_r·g ≥ 0], all-zero rows off; dots too close to 0 to trust are computed exactly."""
    dots = M @ g
    scale = np.abs(M) @ np.abs(g)
    on = dots >= 0
    nonzero = np.any(M != 0, axis=1)
    for r in np.nonzero(nonzero & (np.abs(dots) <= AMBIGUOUS_RTOL * scale))[0]:
        stats["ambiguous"] += 1
        on[r] = exact_dot(M[r], g) >= 0
    return on & nonzero


def maxpool_pattern(patches, g, stats):
    """κ_t per sample (−1 for "off"): the first nonzero patch attaining max_k x_{t,k}·g when that
    maximum is ≥ 0 (src/arrangement/max_pool.rs); near-ties and near-zero maxima in exact arithmetic."""
    vals = np.einsum("knh,h->kn", patches, g)
    scale = np.einsum("knh,h->kn", np.abs(patches), np.abs(g))
    nonzero = np.any(patches != 0, axis=2)
    masked = np.where(nonzero, vals, -np.inf)
    best = masked.max(axis=0)
    kappa = np.where(best >= 0, masked.argmax(axis=0), -1)  # argmax: the first of equal maxima
    kappa[~nonzero.any(axis=0)] = -1
    tol = AMBIGUOUS_RTOL * np.where(nonzero, scale, 0.0).max(axis=0)
    close = (masked >= (best - tol)[None, :]).sum(axis=0)
    for t in np.nonzero(nonzero.any(axis=0) & ((close > 1) | (np.abs(best) <= tol)))[0]:
        stats["ambiguous"] += 1
        ks = np.nonzero(nonzero[:, t])[0]
        exact = {k: exact_dot(patches[k, t], g) for k in ks}
        top = max(exact.values())
        k0 = min(k for k in ks if exact[k] == top)
        kappa[t] = k0 if top >= 0 else -1
    return kappa


class Pattern:
    """A_i (n × h) of one pattern and its signed cone rows B_i (rows r = k·n + t, on demand)."""

    def __init__(self, prob, gate, rule, stats):
        K, n, h = prob.patches.shape
        w = prob.weights
        self.prob = prob
        self.rule = rule
        if rule == "relu_sign":
            on = relu_pattern(prob.M, gate, stats)
            if not on.any():
                raise InputError("a gate gives the all-zero pattern, which cvxcnn never lists")
            self.sign = np.where(on, 1.0, -1.0)
            self.A = np.einsum("kn,knh->nh", on.reshape(K, n) * w[:, None], prob.patches)
        elif rule == "max_pool_argmax":
            kappa = maxpool_pattern(prob.patches, gate, stats)
            if (kappa < 0).all():
                raise InputError("a gate gives a max-pool pattern with every sample off, which cvxcnn never lists")
            self.kappa = kappa
            t = np.arange(n)
            on = (kappa >= 0)[:, None]
            self.chosen = np.where(on, prob.patches[np.maximum(kappa, 0), t], 0.0)
            self.A = self.chosen * np.where(kappa >= 0, w[np.maximum(kappa, 0)], 0.0)[:, None]
        else:
            raise InputError(f"unknown pattern rule {rule!r}")

    def B(self, rows):
        """The cone rows `rows` (indices r = k·n + t into M) as a matrix."""
        M = self.prob.M
        if self.rule == "relu_sign":
            return self.sign[rows, None] * M[rows]
        n = self.prob.n
        k, t = rows // n, rows % n
        kap = self.kappa[t]
        return np.where((kap < 0)[:, None], -M[rows],
                        np.where((kap == k)[:, None], M[rows], self.chosen[t] - M[rows]))


# ---------------------------------------------------------------------------------------------
# Dual norms.


def dual_norm(kind, w, d):
    if kind == "l2":
        return float(np.sqrt(np.dot(w, w)))
    if kind == "l1":
        return float(np.max(np.abs(w))) if len(w) else 0.0
    if kind == "spectral_l1":
        s = float(np.max(np.abs(np.fft.fft(w[:d]))))
        return math.hypot(s, w[d]) if len(w) == d + 1 else s
    raise InputError(f"unknown filter norm {kind!r}")


# ---------------------------------------------------------------------------------------------
# One certificate.


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def need(obj, key, where):
    if not isinstance(obj, dict) or key not in obj:
        raise InputError(f"{where}: no {key!r}")
    return obj[key]


def finite_list(v, where, length=None):
    a = np.asarray(v, dtype=np.float64) if isinstance(v, list) else None
    if a is None or a.ndim != 1 or not np.all(np.isfinite(a)):
        raise InputError(f"{where}: expected a list of finite numbers")
    if length is not None and len(a) != length:
        raise InputError(f"{where}: {len(a)} entries, expected {length}")
    return a


class Check:
    """Failures and notes collected for one certificate."""

    def __init__(self):
        self.failures = []
        self.notes = []

    def fail(self, msg):
        self.failures.append(msg)

    def note(self, msg):
        self.notes.append(msg)


def multipliers_of(ev, where, n_patterns, n_rows, groups):
    """{(group, pattern, sign): (rows, alpha)}, every entry validated."""
    out = {}
    for q, m in enumerate(need(ev, "multipliers", where)):
        w = f"{where}: multipliers[{q}]"
        g = m.get("group") if groups else None
        if groups and (not is_int(g) or not 0 <= g < groups):
            raise InputError(f"{w}: group {g!r} is not in 0..{groups}")
        if not groups and "group" in m:
            raise InputError(f"{w}: a group outside a three-layer certificate")
        i, s = need(m, "pattern", w), need(m, "sign", w)
        if not is_int(i) or not 0 <= i < n_patterns:
            raise InputError(f"{w}: pattern {i!r} is not in 0..{n_patterns}")
        if not is_int(s) or s not in (1, -1):
            raise InputError(f"{w}: sign {s!r} is not 1 or -1")
        rows = need(m, "rows", w)
        if not isinstance(rows, list) or not all(is_int(r) and 0 <= r < n_rows for r in rows):
            raise InputError(f"{w}: rows must be integers in 0..{n_rows}")
        alpha = finite_list(need(m, "alpha", w), f"{w}.alpha", len(rows))
        if (alpha < 0).any():
            raise InputError(f"{w}: a negative multiplier α = {alpha.min()}")
        key = (g, i, s)
        if key in out:
            raise InputError(f"{w}: a second entry for (group, pattern, sign) = {key}")
        out[key] = (np.array(rows, dtype=np.int64), alpha)
    return out


def inequality_values(prob, cert, y, where, chk):
    """The recomputed bound and per-inequality values; fills `chk`."""
    ev = need(cert, "evidence", where)
    where = f"{where}: evidence"
    n = prob.n
    K, _, h = prob.patches.shape
    u = finite_list(need(ev, "dual_point", where), f"{where}.dual_point", n)
    if ev.get("filter_norm") != prob.dual_norm():
        chk.fail(f"filter_norm {ev.get('filter_norm')!r} but the problem's regularizer is {prob.dual_norm()!r}")
    rule = ev.get("pattern_rule")
    if rule != prob.pattern_rule():
        chk.fail(f"pattern_rule {rule!r} but the problem's architecture has {prob.pattern_rule()!r}")
        return None
    norm = prob.dual_norm()
    d = prob.x.shape[3]
    gates = need(ev, "gates", where)
    if not isinstance(gates, list):
        raise InputError(f"{where}.gates: expected a list of gates")
    gates = [finite_list(g, f"{where}.gates[{i}]", h) for i, g in enumerate(gates)]
    values = {}  # (group, pattern, sign) -> value
    stats = {"ambiguous": 0}
    if rule == "none":
        if gates or need(ev, "multipliers", where):
            raise InputError(f"{where}: a linear certificate lists no gates and no multipliers")
        A = np.einsum("k,knh->nh", prob.weights, prob.patches)
        g = A.T @ u
        values[(None, 0, 1)] = dual_norm(norm, g, d)
        mu = None
    else:
        patterns = [Pattern(prob, g, rule, stats) for g in gates]
        if need(cert, "patterns", where) != len(patterns):
            chk.fail(f"patterns = {cert['patterns']} but the evidence lists {len(patterns)} gates")
        if prob.kind == "three_layer":
            outer = need(ev, "outer_patterns", where)
            if not isinstance(outer, list) or not all(
                    isinstance(o, list) and len(o) == n and all(b in (0, 1) for b in o) for o in outer):
                raise InputError(f"{where}.outer_patterns: expected 0/1 lists of length {n}")
            D = np.array(outer, dtype=bool).reshape(len(outer), n)
            if need(cert, "outer_patterns", where) != len(D):
                chk.fail(f"outer_patterns = {cert['outer_patterns']} but the evidence lists {len(D)}")
            if prob.outer_mode == "all":
                want = {tuple(bool(m >> t & 1) for t in range(n)) for m in range(1, 1 << n)}
                if {tuple(r) for r in D.tolist()} != want or len(D) != len(want):
                    chk.fail("outer_patterns: \"mode\": \"all\" but the evidence does not list every nonzero D'")
            groups = 2 * len(D)
            mu_list = need(ev, "outer_multipliers", where)
            if not isinstance(mu_list, list) or len(mu_list) != groups:
                raise InputError(f"{where}.outer_multipliers: expected {groups} lists (one per group)")
            mu = np.array([finite_list(m, f"{where}.outer_multipliers[{g}]", n) for g, m in enumerate(mu_list)])
            if (mu < 0).any():
                raise InputError(f"{where}.outer_multipliers: a negative entry {mu.min()}")
            mults = multipliers_of(ev, where, len(patterns), K * n, groups)
            lambdas = []
            for g in range(groups):
                on = D[g // 2]
                sigma = 1.0 if g % 2 == 0 else -1.0
                lambdas.append(np.where(on, sigma * u, 0.0) + np.where(on, 1.0, -1.0) * mu[g])
            for g, lam in enumerate(lambdas):
                for i, p in enumerate(patterns):
                    base = p.A.T @ lam
                    for s in (1, -1):
                        rows, alpha = mults.get((g, i, s), (np.zeros(0, np.int64), np.zeros(0)))
                        values[(g, i, s)] = dual_norm(norm, s * base + p.B(rows).T @ alpha, d)
        else:
            mu = None
            mults = multipliers_of(ev, where, len(patterns), K * n, 0)
            for i, p in enumerate(patterns):
                base = p.A.T @ u
                for s in (1, -1):
                    rows, alpha = mults.get((None, i, s), (np.zeros(0, np.int64), np.zeros(0)))
                    values[(None, i, s)] = dual_norm(norm, s * base + p.B(rows).T @ alpha, d)
    if stats["ambiguous"]:
        chk.note(f"{stats['ambiguous']} pattern bits within rounding of a tie, decided in exact arithmetic")
    return u, values


def check_certificate(prob, cert, y, where, network_objective=None):
    """Checks one certificate object; returns (Check, summary dict)."""
    chk = Check()
    beta = prob.beta
    if need(cert, "beta", where) != beta:
        chk.fail(f"beta = {cert['beta']!r} but the problem has beta = {beta!r}")
    if "global_search" in cert:
        return check_global(prob, cert, y, where, chk)
    scope = need(cert, "scope", where)
    if scope != prob.scope():
        chk.fail(f"scope {scope!r} but the problem's patterns make it {prob.scope()!r}")
    elif scope == "global" and prob.pattern_rule() != "none":
        chk.note("scope global rests on the exact enumeration being complete (not checked here)")
    u, values = inequality_values(prob, cert, y, where, chk) or (None, None)
    summary = {"bound": float("nan"), "slack": float("nan"), "inequalities": 0}
    if u is None:
        return chk, summary
    worst = max(values.values()) if values else 0.0
    summary["inequalities"] = len(values)
    summary["slack"] = (beta - worst) / beta if beta > 0 else -worst
    scale = 1.0
    if worst > beta:
        scale = beta / worst
        chk.note(f"largest inequality value {worst:.17g} > β = {beta!r} "
                 f"(by {worst / beta - 1:.2e} relative): u shrunk by {scale:.17g}")
    us = scale * u
    ev_loss = cert.get("evidence", {}).get("loss", "squared")
    if ev_loss != prob.loss:
        chk.fail(f"evidence.loss {ev_loss!r} but the problem's loss is {prob.loss!r}")
    bound = dual_objective(prob.loss, us, y, chk)
    summary["bound"] = bound
    lb = need(cert, "lower_bound", where)
    primal = need(cert, "primal_objective", where)
    if not all(isinstance(v, (int, float)) and math.isfinite(v) for v in (lb, primal)):
        raise InputError(f"{where}: lower_bound and primal_objective must be finite numbers")
    if abs(bound - lb) > BOUND_RTOL * max(1.0, abs(lb)):
        chk.fail(f"recomputed bound {bound:.17g} differs from lower_bound {lb!r} "
                 f"by {abs(bound - lb) / max(1.0, abs(lb)):.2e} relative (> {BOUND_RTOL:.0e})")
    # Gap bookkeeping as cvxcnn states it.
    gap = primal - lb
    if abs(need(cert, "gap", where) - gap) > 1e-12 * max(1.0, abs(primal)):
        chk.fail(f"gap {cert['gap']!r} is not primal_objective − lower_bound = {gap!r}")
    rel = gap / max(1.0, abs(primal))
    if need(cert, "certified", where) != (rel <= CERTIFIED_REL_GAP):
        chk.fail(f"certified = {cert['certified']} but the relative gap is {rel:.3e}")
    # The bound is below the objective: any network's for scope global; the sub-model's optimum
    # (hence a network in it) for sampled patterns, where the decoded network may lie outside the
    # listed cones by the solver's tolerance.
    excess = (lb - primal) / max(1.0, abs(primal))
    limit = 1e-12 if scope == "global" else CERTIFIED_REL_GAP
    if excess > limit:
        chk.fail(f"lower_bound {lb!r} exceeds primal_objective {primal!r} by {excess:.2e} relative")
    elif excess > 0:
        chk.note(f"lower_bound exceeds primal_objective by {excess:.2e} relative: the network lies "
                 f"slightly outside the listed cones (solver tolerance), so it is not in the sub-model")
    if network_objective is not None:
        if abs(network_objective - primal) > OBJECTIVE_RTOL * max(1.0, abs(primal)):
            chk.fail(f"forward pass gives objective {network_objective!r}, certificate says "
                     f"primal_objective {primal!r}")
    return chk, summary


def check_global(prob, cert, y, where, chk):
    """A certificate of `certify --global` (docs/results.md, "Global certificate"): the bound is
    recomputed from the dual point; the claim max_{‖f‖≤1} |g_u(f)| ≤ β rests on the branch and bound,
    which only re-running `cvxcnn certify --global` re-checks. Here it is spot-checked (a falsifier,
    not a proof) at the search's best filter and at 2000 seeded random unit filters."""
    if need(cert, "scope", where) != "global":
        chk.fail(f"a certificate with global_search must have scope global, not {cert['scope']!r}")
    n = prob.n
    K, _, h = prob.patches.shape
    u = finite_list(need(need(cert, "evidence", where), "dual_point", f"{where}: evidence"),
                    f"{where}: evidence.dual_point", n)
    search = need(cert, "global_search", where)
    upper = need(search, "dual_value_upper", f"{where}.global_search")
    theta = abs(need(cert, "dual_scaling", where))
    beta = prob.beta
    if theta * upper > beta * (1 + 1e-12):
        chk.fail(f"|θ|·M̄ = {theta * upper!r} exceeds β = {beta!r}")
    rng = np.random.default_rng(0)
    filters = rng.standard_normal((2000, h))
    best = search.get("best_filter")
    if isinstance(best, list) and len(best) == h:
        filters = np.vstack([np.array(best, dtype=float), filters])
    filters /= np.linalg.norm(filters, axis=1, keepdims=True)
    # g_u(f) = Σ_k w_k Σ_t u_t relu(x_{t,k}·f), for all filters at once.
    acts = np.maximum(np.einsum("knh,fh->knf", prob.patches, filters), 0.0)
    g = np.abs(np.einsum("k,t,ktf->f", prob.weights, u, acts))
    worst = float(g.max())
    if worst > beta * (1 + 1e-9):
        chk.fail(f"a unit filter gives |g_u| = {worst!r} > β = {beta!r}: the dual point is infeasible")
    chk.note("max |g_u| ≤ β rests on the branch and bound (re-run cvxcnn certify --global); "
             f"spot-checked at {len(g)} unit filters, largest {worst / beta:.6f} β")
    bound = float(u @ y - 0.5 * (u @ u))
    summary = {"bound": bound, "slack": (beta - worst) / beta, "inequalities": len(g)}
    lb = need(cert, "lower_bound", where)
    primal = need(cert, "primal_objective", where)
    if abs(bound - lb) > BOUND_RTOL * max(1.0, abs(lb)):
        chk.fail(f"recomputed bound {bound:.17g} differs from lower_bound {lb!r}")
    rel = (primal - lb) / max(1.0, abs(primal))
    if need(cert, "certified", where) != (rel <= CERTIFIED_REL_GAP):
        chk.fail(f"certified = {cert['certified']} but the relative gap is {rel:.3e}")
    if lb > primal + 1e-12 * max(1.0, abs(primal)):
        chk.fail(f"lower_bound {lb!r} exceeds primal_objective {primal!r}")
    return chk, summary


# ---------------------------------------------------------------------------------------------
# Forward passes (result files).


def two_layer_objective(prob, y, net, where):
    filters = np.array(need(net, "filters", where), dtype=np.float64).reshape(-1, prob.patches.shape[2] - prob.bias)
    w = finite_list(need(net, "output_weights", where), f"{where}.output_weights", len(filters))
    b = np.zeros(len(filters))
    if prob.bias:
        b = finite_list(need(net, "biases", where), f"{where}.biases", len(filters))
    elif net.get("biases") is not None:
        raise InputError(f"{where}: biases given but the architecture has none")
    X = prob.patches[:, :, :filters.shape[1]]  # raw patches, without the bias column
    z = np.einsum("knh,jh->knj", X, filters) + b  # [K, n, m]
    act = z if prob.activation == "linear" else np.maximum(z, 0.0)
    pooled = act.max(axis=0) if prob.pooling == "max" else np.einsum("k,knj->nj", prob.weights, act)
    f = pooled @ w
    loss = LOSSES[prob.loss][0](f, y)
    if prob.filter_norm == "l1":
        fn = (np.sum(np.abs(filters), axis=1) + np.abs(b)) ** 2
    else:
        fn = np.sum(filters ** 2, axis=1) + b ** 2
    reg = 0.5 * prob.beta * float(np.sum(fn) + w @ w)
    return loss, reg, []


def circular_objective(prob, y, net, where):
    d = prob.x.shape[3]
    a = np.array(need(net, "inner_filters", where), dtype=np.float64).reshape(-1, d)
    bb = np.array(need(net, "filters", where), dtype=np.float64).reshape(-1, d)
    w = finite_list(need(net, "output_weights", where), f"{where}.output_weights", len(a))
    e = finite_list(net["biases"], f"{where}.biases", len(a)) if prob.bias else np.zeros(len(a))
    idx = (np.arange(d)[:, None] - np.arange(d)[None, :]) % d
    # Deeper networks ("layers" > 3): b is first convolved with every further circulant filter
    # a_l (layer l = 2 … L − 2), each of operator norm max_k |â_k| ≤ 1.
    deeper = net.get("circulant_filters") or []
    issues = []
    for layer in deeper:
        al = np.array(layer, dtype=np.float64).reshape(-1, d)
        if len(al) != len(a):
            raise InputError(f"{where}.circulant_filters: {len(al)} filters for {len(a)} neurons")
        bb = np.array([bj[idx] @ cj for cj, bj in zip(al, bb)]).reshape(-1, d)
        gain = max((float(np.max(np.abs(np.fft.fft(cj)))) for cj in al), default=0.0)
        if gain > 1 + NORM_CONSTRAINT_TOL:
            issues.append(f"a circulant filter has operator norm {gain!r} > 1")
    bb_reg = np.array(need(net, "filters", where), dtype=np.float64).reshape(-1, d)
    g = np.array([bj[idx] @ aj for aj, bj in zip(a, bb)]).reshape(-1, d)  # (a ⊛ b)[k] = Σ_l a_l b_{k−l}
    xs = prob.x[:, 0, 0, :]
    f = np.maximum(xs @ g.T + e, 0.0) @ w
    loss = LOSSES[prob.loss][0](f, y)
    reg = 0.5 * prob.beta * float(np.sum(bb_reg ** 2) + e @ e + w @ w)
    worst = max((float(np.linalg.norm(aj)) for aj in a), default=0.0)
    if worst > 1 + NORM_CONSTRAINT_TOL:
        issues.append(f"an inner filter has norm {worst!r} > 1")
    return loss, reg, issues


def three_layer_objective(prob, y, net, where):
    h = prob.patches.shape[2] - prob.bias
    X = prob.patches[:, :, :h]
    filters = need(net, "filters", where)
    w1 = need(net, "inner_weights", where)
    w2 = finite_list(need(net, "output_weights", where), f"{where}.output_weights", len(filters))
    biases = net.get("biases") if prob.bias else None
    if prob.bias and biases is None:
        raise InputError(f"{where}: the architecture has a bias but the network has no biases")
    f = np.zeros(prob.n)
    issues = []
    reg = float(w2 @ w2)
    for j, (us, ws) in enumerate(zip(filters, w1)):
        U = np.array(us, dtype=np.float64).reshape(-1, h)
        ws = finite_list(ws, f"{where}.inner_weights[{j}]", len(U))
        bj = finite_list(biases[j], f"{where}.biases[{j}]", len(U)) if prob.bias else np.zeros(len(U))
        reg += float(ws @ ws)
        gj = np.einsum("knl,l->n", np.maximum(np.einsum("knh,lh->knl", X, U) + bj, 0.0), ws)
        f += w2[j] * np.maximum(gj, 0.0)
        fro = math.sqrt(float(np.sum(U ** 2) + bj @ bj))
        if fro > 1 + NORM_CONSTRAINT_TOL:
            issues.append(f"sub-network {j} has ‖[U, b]‖_F = {fro!r} > 1")
    if len(w1) != len(filters):
        raise InputError(f"{where}: {len(filters)} sub-networks but {len(w1)} inner weight lists")
    loss = 0.5 * float(np.sum((f - y) ** 2))
    return loss, 0.5 * prob.beta * reg, issues


def network_objective(prob, y, net, where):
    if prob.kind == "circular":
        return circular_objective(prob, y, net, where)
    if prob.kind == "three_layer":
        return three_layer_objective(prob, y, net, where)
    return two_layer_objective(prob, y, net, where)


# ---------------------------------------------------------------------------------------------
# Files.


def certificates_of(doc, where):
    """[(label, class, certificate, result or None)] for every certificate in a file."""
    if not isinstance(doc, dict):
        raise InputError(f"{where}: expected a JSON object")
    if doc.get("task") == "one_vs_rest":
        if "models" in doc:
            return [(f"class {m.get('class')}", need(m, "class", where), need(m, "certificate", where), m)
                    for m in doc["models"]]
        if "classes" in doc and isinstance(doc["classes"], list):
            return [(f"class {c.get('class')}", need(c, "class", where), need(c, "certificate", where), None)
                    for c in doc["classes"]]
        raise InputError(f"{where}: one_vs_rest without \"models\" or \"classes\"")
    if "certificate" in doc:
        out = [("result", None, doc["certificate"], doc)]
        if doc.get("network_certificate") is not None:
            out.append(("network_certificate", None, doc["network_certificate"], "given"))
        return out
    if "optimum" in doc and "network" in doc:
        return [("network", None, doc["network"], "given"), ("optimum", None, doc["optimum"], None)]
    if "lower_bound" in doc:
        return [("certificate", None, doc, None)]
    raise InputError(f"{where}: neither a result file, a certificate, nor a network/optimum pair")


def verify(problem_path, file_path, network_path=None, out=sys.stdout):
    """Checks every certificate of `file_path`; returns the number of failures."""
    prob = Problem(problem_path)
    try:
        doc = json.loads(pathlib.Path(file_path).read_text())
    except FileNotFoundError:
        raise InputError(f"{file_path}: not found")
    except json.JSONDecodeError as e:
        raise InputError(f"{file_path}: not JSON ({e})")
    return verify_doc(prob, doc, str(file_path), network_path, out)


def verify_doc(prob, doc, where, network_path=None, out=sys.stdout):
    entries = certificates_of(doc, where)
    if prob.classes is not None and any(c is None for _, c, _, _ in entries):
        raise InputError(f"{where}: a scalar certificate, but {prob.path} is one-vs-rest; give the "
                         f"one-vs-rest result (or certificate) solved from it")
    if prob.classes is not None and sorted(c for _, c, _, _ in entries) != prob.classes:
        raise InputError(f"{where}: certificates for classes {[c for _, c, _, _ in entries]}, "
                         f"the problem has {prob.classes}")
    failures = 0
    for label, cls, cert, result in entries:
        y = prob.targets(cls)
        w = f"{where}: {label}"
        net_obj = None
        issues = []
        if isinstance(result, dict):
            loss, reg, issues = network_objective(prob, y, result, w)
            net_obj = loss + reg
            rep = need(result, "network_objective", w)
            if abs(net_obj - rep) > OBJECTIVE_RTOL * max(1.0, abs(rep)):
                issues.append(f"forward pass gives objective {net_obj!r}, network_objective is {rep!r}")
            for key, val in (("loss", loss), ("regularizer", reg)):
                if key in result and abs(val - result[key]) > OBJECTIVE_RTOL * max(1.0, abs(rep)):
                    issues.append(f"forward pass gives {key} {val!r}, the result says {result[key]!r}")
        elif result == "given" and network_path is not None:
            try:
                net = json.loads(pathlib.Path(network_path).read_text())
            except (OSError, json.JSONDecodeError) as e:
                raise InputError(f"{network_path}: not a readable network file ({e})")
            loss, reg, issues = network_objective(prob, y, net, str(network_path))
            net_obj = loss + reg
        chk, s = check_certificate(prob, cert, y, w, net_obj)
        chk.failures.extend(issues)
        if result == "given" and network_path is None:
            chk.note("the given network's objective is not recomputed (pass --network NET.json)")
        ok = not chk.failures
        failures += not ok
        print(f"{'ok  ' if ok else 'FAIL'} {w}: bound {s['bound']:.12e} (reported {cert.get('lower_bound')!r}), "
              f"worst slack {s['slack']:+.2e} of β over {s['inequalities']} inequalities, "
              f"scope {cert.get('scope')}", file=out)
        for msg in chk.failures:
            print(f"     FAIL: {msg}", file=out)
        for msg in chk.notes:
            print(f"     note: {msg}", file=out)
    return failures


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("problem", help="the problem file the result was solved from")
    ap.add_argument("file", help="a result, certificate, or network/optimum pair written by cvxcnn")
    ap.add_argument("--network", help="for a network/optimum pair: the network file, to recompute its objective")
    args = ap.parse_args(argv)
    try:
        failures = verify(args.problem, args.file, args.network)
    except InputError as e:
        print(f"verify_certificate.py: {e}", file=sys.stderr)
        return 2
    except (KeyError, IndexError, TypeError, ValueError) as e:
        print(f"verify_certificate.py: {args.file} or {args.problem} is malformed "
              f"({type(e).__name__}: {e}); give a problem file and the file cvxcnn wrote for it",
              file=sys.stderr)
        return 2
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
