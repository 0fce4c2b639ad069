//! The dual certificate of formulations.md §1.
//!
//! With residual `v = y − ŷ`, a dual point is feasible when for every pattern
//! `max {±vᵀ A_i u : ‖u‖ ≤ 1, B_i u ≥ 0} ≤ β`. By conic duality that maximum is
//! `min_{α ≥ 0} ‖±A_iᵀ v + B_iᵀ α‖₂`, the distance of `±A_iᵀ v` to the polar cone — one small
//! nonnegative least-squares problem per pattern and sign, over the pattern's irredundant rows (which
//! describe the same cone as all `nK` rows). Scaling `v` by `θ ≤ β / max_i(…)` makes it feasible, and
//! `d(θv) = −½‖θv − y‖² + ½‖y‖²` is then a lower bound on the convex optimum over these patterns; over
//! **all** patterns (`exact` mode) it bounds the nonconvex training problem itself.

use crate::arch::two_layer::ConeRows;
use crate::arrangement::Arrangement;
use crate::backend::clarabel::{ClarabelSettings, LinearSolver};
use crate::geometry::FilterNorm;
use crate::ir::{ConeKind, ConicProgram};
use crate::reduce::cone::nnls;
use ndarray::{Array1, Array3, ArrayView1, ArrayView2, Axis};
use rayon::prelude::*;
use serde::Serialize;

/// Relative gap below which a solution counts as certified.
pub const CERTIFIED_REL_GAP: f64 = 1e-6;

/// What a certificate covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Every pattern of the arrangement: a bound on the nonconvex training problem.
    Global,
    /// Only the patterns used: a bound on the sub-model with these patterns.
    SampledPatterns,
}

/// A dual certificate.
#[derive(Debug, Clone, Serialize)]
pub struct Certificate {
    /// Whether `relative_gap ≤ 1e-6`.
    pub certified: bool,
    /// What the bound covers.
    pub scope: Scope,
    /// Patterns checked.
    pub patterns: usize,
    /// Objective of the network being certified.
    pub primal_objective: f64,
    /// Certified lower bound `d(θv)`.
    pub lower_bound: f64,
    /// `primal_objective − lower_bound`.
    pub gap: f64,
    /// `gap / max(1, |primal_objective|)`.
    pub relative_gap: f64,
    /// `max_i max_{u ∈ cone_i, ‖u‖ ≤ 1} |vᵀA_i u|` at the chosen, unscaled dual vector.
    pub max_dual_value: f64,
    /// `max(0, max_dual_value − β)`: how far the unscaled dual vector is from dual feasibility.
    pub max_dual_violation: f64,
    /// The scaling `θ` applied to the chosen dual vector `v` (negative when its sign was flipped).
    pub dual_scaling: f64,
    /// Weight decay.
    pub beta: f64,
    /// `max_i max_{‖u‖ ≤ 1, u ∈ cone_i} |yᵀ A_i u|` (in the filter norm): for `β ≥ β_max` the zero network is optimal
    /// (over the patterns checked; exact in `exact` mode).
    pub beta_max: f64,
}

/// `max {|gᵀu| : ‖u‖ ≤ 1, B u ≥ 0}` for `g = A_iᵀ v`, with `B` the given rows.
pub fn dual_value(b: ArrayView2<f64>, g: ArrayView1<f64>) -> f64 {
    let neg: Vec<f64> = g.iter().map(|v| -v).collect();
    let pos: Vec<f64> = g.to_vec();
    nnls(b, &neg).norm.max(nnls(b, &pos).norm)
}

/// `max {|gᵀu| : ‖u‖₁ ≤ 1, B u ≥ 0}` (formulations.md §2) as the ℓ∞ distance of `∓g` to the polar
/// cone: `min_{α ≥ 0} ‖±g + Bᵀα‖_∞`, one small LP per sign. The LP's `α` is clipped to `α ≥ 0` and
/// the norm recomputed exactly, so the value returned is a true upper bound (any `α ≥ 0` gives one);
/// if the LP fails, `α = 0` gives the bound `‖g‖_∞`.
pub fn dual_value_l1(b: ArrayView2<f64>, g: ArrayView1<f64>) -> f64 {
    let (k, h) = b.dim();
    let one_sign = |sign: f64| -> f64 {
        let gs: Vec<f64> = g.iter().map(|v| sign * v).collect();
        let exact = |alpha: &[f64]| -> f64 {
            let mut r = gs.clone();
            for (q, &al) in alpha.iter().enumerate() {
                let al = al.max(0.0);
                for j in 0..h {
                    r[j] += al * b[[q, j]];
                }
            }
            r.iter().fold(0.0_f64, |m, v| m.max(v.abs()))
        };
        // Variables [α (k) | τ]; minimize τ s.t. τ ∓ (g + Bᵀα)_j ≥ 0, α ≥ 0.
        let mut prog = ConicProgram::new();
        let al = prog.add_vars("alpha", k);
        let tau = prog.add_vars("tau", 1);
        prog.q[tau] = 1.0;
        let r = prog.add_rows("abs", ConeKind::Nonnegative, 2 * h);
        for j in 0..h {
            prog.b[r + j] = -gs[j];
            prog.push(r + j, tau, -1.0);
            prog.b[r + h + j] = gs[j];
            prog.push(r + h + j, tau, -1.0);
            for q in 0..k {
                prog.push(r + j, al + q, b[[q, j]]);
                prog.push(r + h + j, al + q, -b[[q, j]]);
            }
        }
        let ra = prog.add_rows("alpha_nonneg", ConeKind::Nonnegative, k);
        for q in 0..k {
            prog.push(ra + q, al + q, -1.0);
        }
        let fallback = exact(&[]);
        match crate::backend::clarabel::solve(&prog, &witness_settings()) {
            Ok(sol) if sol.x.iter().all(|v| v.is_finite()) => exact(&sol.x[..k]).min(fallback),
            _ => fallback,
        }
    };
    one_sign(1.0).max(one_sign(-1.0))
}

/// Clarabel's settings for the small per-pattern programs whose multipliers `α` bound a dual
/// value: tolerances near machine precision, because the bound is only as tight as `α` is optimal
/// (at the default 1e-8 the circular digits certificate stalled at a relative gap of 2.3e-6; at
/// 1e-12 it closes to 2e-9). Any `α ≥ 0` the solver returns still gives a valid bound.
pub fn witness_settings() -> ClarabelSettings {
    ClarabelSettings {
        linear_solver: LinearSolver::Qdldl,
        tol_gap_abs: 1e-12,
        tol_gap_rel: 1e-12,
        tol_feas: 1e-12,
        max_iter: 400,
        ..ClarabelSettings::default()
    }
}

/// Per-pattern dual values for residual `v`, in the dual norm of the regularizer's filter norm.
pub fn dual_values(
    m: ArrayView2<f64>,
    arrangement: &Arrangement,
    a: &Array3<f64>,
    rows: &ConeRows,
    v: ArrayView1<f64>,
    norm: FilterNorm,
) -> Vec<f64> {
    (0..arrangement.patterns.len())
        .into_par_iter()
        .map(|i| {
            let b = arrangement.cone_rows(m, i, &rows[i]);
            let g = a.index_axis(Axis(0), i).t().dot(&v);
            match norm {
                FilterNorm::L2 => dual_value(b.view(), g.view()),
                FilterNorm::L1 => dual_value_l1(b.view(), g.view()),
            }
        })
        .collect()
}

/// Certifies `primal_objective` against the best dual bound among `candidates` (each a dual vector
/// `v`, tried with both signs): typically the network's residual `y − ŷ` and the solver's own dual
/// multipliers of the residual rows, which satisfy the per-pattern constraints almost exactly.
#[allow(clippy::too_many_arguments)]
pub fn certify(
    m: ArrayView2<f64>,
    arrangement: &Arrangement,
    a: &Array3<f64>,
    rows: &ConeRows,
    y: ArrayView1<f64>,
    candidates: &[Array1<f64>],
    beta: f64,
    primal_objective: f64,
    norm: FilterNorm,
) -> Certificate {
    let max_dual = |v: ArrayView1<f64>| {
        dual_values(m, arrangement, a, rows, v, norm)
            .into_iter()
            .fold(0.0_f64, f64::max)
    };
    let scope = if arrangement.exact {
        Scope::Global
    } else {
        Scope::SampledPatterns
    };
    certificate(
        max_dual,
        y,
        candidates,
        beta,
        primal_objective,
        scope,
        arrangement.patterns.len(),
    )
}

/// The certificate of the linear-activation program (formulations.md §1, fact 7): the dual
/// constraint is `‖s Σ_k α_k X_kᵀ v‖_dual = ‖Aᵀv‖_dual ≤ β`, computed exactly, with no sign
/// patterns — so the bound is on the nonconvex training problem itself (scope `global`) whatever
/// the problem's arrangements say. `patterns` is 1 (the single linear block).
pub fn certify_linear(
    a: ArrayView2<f64>,
    y: ArrayView1<f64>,
    candidates: &[Array1<f64>],
    beta: f64,
    primal_objective: f64,
    norm: FilterNorm,
) -> Certificate {
    let max_dual = |v: ArrayView1<f64>| crate::arch::linear::dual_value(a, v, norm);
    certificate(
        max_dual,
        y,
        candidates,
        beta,
        primal_objective,
        Scope::Global,
        1,
    )
}

/// The dual bound of one candidate `v` whose largest per-pattern dual value is `max_dual_value`:
/// `(d(θv), θ)` with `θ ∈ [−θ_max, θ_max]`, `θ_max = min(1, β / max_dual_value)`, maximizing the
/// concave `d(θv) = θvᵀy − ½θ²‖v‖²` (negative `θ` covers the other sign of `v`). `None` when
/// `v = 0`. A valid lower bound on the convex optimum over the patterns `max_dual_value` covers.
pub fn scaled_bound(
    y: ArrayView1<f64>,
    v: ArrayView1<f64>,
    beta: f64,
    max_dual_value: f64,
) -> Option<(f64, f64)> {
    let theta_max = if max_dual_value > beta {
        beta / max_dual_value
    } else {
        1.0
    };
    let vv = v.dot(&v);
    let vy = v.dot(&y);
    if vv == 0.0 {
        return None;
    }
    let theta = (vy / vv).clamp(-theta_max, theta_max);
    Some((-0.5 * theta * theta * vv + theta * vy, theta))
}

/// The best bound `d(θv) = θvᵀy − ½θ²‖v‖²` over the candidates, each scaled into the dual feasible
/// set `{v : max_dual(v) ≤ β}` (`max_dual` is positively homogeneous). Every program's certificate
/// is this one with its own per-pattern dual value.
pub(crate) fn certificate(
    max_dual: impl Fn(ArrayView1<f64>) -> f64,
    y: ArrayView1<f64>,
    candidates: &[Array1<f64>],
    beta: f64,
    primal_objective: f64,
    scope: Scope,
    patterns: usize,
) -> Certificate {
    let beta_max = max_dual(y);
    // (lower bound, max dual value, θ) of the best candidate; the zero vector gives bound 0.
    let mut best = (0.0_f64, 0.0_f64, 0.0_f64);
    for cand in candidates {
        let max_dual_value = max_dual(cand.view());
        // θ ≤ θ_max keeps θv dual feasible; d(θv) = −½θ²‖v‖² + θ vᵀy is concave in θ, so the best
        // feasible θ is the clamped maximizer. Negative θ covers the other sign of v.
        let Some((bound, theta)) = scaled_bound(y, cand.view(), beta, max_dual_value) else {
            continue;
        };
        if bound > best.0 {
            best = (bound, max_dual_value, theta);
        }
    }
    let (lower_bound, max_dual_value, theta) = best;
    let gap = primal_objective - lower_bound;
    let relative_gap = gap / primal_objective.abs().max(1.0);
    Certificate {
        certified: relative_gap <= CERTIFIED_REL_GAP,
        scope,
        patterns,
        primal_objective,
        lower_bound,
        gap,
        relative_gap,
        max_dual_value,
        max_dual_violation: (max_dual_value - beta).max(0.0),
        dual_scaling: theta,
        beta,
        beta_max,
    }
}
