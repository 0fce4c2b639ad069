//! The dual certificate of docs/math.md §2.
//!
//! With residual `v = y − ŷ`, a dual point is feasible when for every pattern
//! `max {±vᵀ A_i u : ‖u‖ ≤ 1, B_i u ≥ 0} ≤ β`. By conic duality that maximum is
//! `min_{α ≥ 0} ‖±A_iᵀ v + B_iᵀ α‖₂`, the distance of `±A_iᵀ v` to the polar cone — one small
//! nonnegative least-squares problem per pattern and sign, over the pattern's irredundant rows (which
//! describe the same cone as all `nK` rows). Scaling `v` by `θ ≤ β / max_i(…)` makes it feasible, and
//! `d(θv) = −½‖θv − y‖² + ½‖y‖²` is then a lower bound on the convex optimum over these patterns; over
//! **all** patterns (`exact` mode) it bounds the nonconvex training problem itself.
//!
//! The NNLS (or LP) multipliers `α` of the winning candidate, scaled with it, are kept as the
//! certificate's evidence ([`crate::evidence`]): with them anyone can re-check the bound.

use crate::arrangement::ConeRows;
use crate::arrangement::{Arrangement, PatternKind};
use crate::backend::clarabel::{ClarabelSettings, LinearSolver};
use crate::evidence::{self, Evidence, Frame, PatternRule, PatternWitness};
use crate::geometry::FilterNorm;
use crate::ir::{ConeKind, ConicProgram};
use crate::loss::Loss;
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
    /// Patterns checked (inner patterns of the three-layer program).
    pub patterns: usize,
    /// Outer patterns checked (three-layer program only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outer_patterns: Option<usize>,
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
    /// `max_i max_{‖u‖ ≤ 1, u ∈ cone_i} |yᵀ A_i u|` (in the filter norm): for `β ≥ β_max` the zero
    /// network is optimal (over the patterns checked; exact in `exact` mode). Absent for the
    /// three-layer program, whose dual value depends on outer multipliers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub beta_max: Option<f64>,
    /// What a checker needs to re-check `lower_bound` without cvxcnn ([`crate::evidence`]).
    pub evidence: Evidence,
}

/// `max {|gᵀu| : ‖u‖ ≤ 1, B u ≥ 0}` for `g = A_iᵀ v`, with `B` the given rows.
pub fn dual_value(b: ArrayView2<f64>, g: ArrayView1<f64>) -> f64 {
    let neg: Vec<f64> = g.iter().map(|v| -v).collect();
    let pos: Vec<f64> = g.to_vec();
    nnls(b, &neg).norm.max(nnls(b, &pos).norm)
}

/// `min_{α ≥ 0} ‖t − Bᵀα‖₂` and its `α` (one per row of `b`), with `α` clipped to `≥ 0` and the
/// norm recomputed from the clipped `α` if the solver left a negative entry: the value is then
/// exactly what the returned multipliers prove.
fn nnls_witness(b: ArrayView2<f64>, target: &[f64]) -> (f64, Vec<f64>) {
    let sol = nnls(b, target);
    if sol.alpha.iter().all(|&a| a >= 0.0) {
        return (sol.norm, sol.alpha);
    }
    let alpha: Vec<f64> = sol.alpha.iter().map(|a| a.max(0.0)).collect();
    let mut r = target.to_vec();
    for (row, &a) in b.outer_iter().zip(&alpha) {
        for (rj, bj) in r.iter_mut().zip(row) {
            *rj -= a * bj;
        }
    }
    (FilterNorm::L2.dual_of(&r), alpha)
}

/// [`dual_value`] with its witnesses: `(value, [α₊, α₋])` where `α_σ ≥ 0` (one per row of `b`)
/// has `‖σg + Bᵀα_σ‖₂` equal to the value of sign `σ`, and the value is the larger of the two.
pub fn dual_value_witness(b: ArrayView2<f64>, g: ArrayView1<f64>) -> (f64, [Vec<f64>; 2]) {
    let neg: Vec<f64> = g.iter().map(|v| -v).collect();
    let pos: Vec<f64> = g.to_vec();
    // nnls(B, −g) minimizes ‖−g − Bᵀα‖ = ‖g + Bᵀα‖ (sign +); nnls(B, g) the sign −.
    let (plus, alpha_plus) = nnls_witness(b, &neg);
    let (minus, alpha_minus) = nnls_witness(b, &pos);
    (plus.max(minus), [alpha_plus, alpha_minus])
}

/// `max {|gᵀu| : ‖u‖₁ ≤ 1, B u ≥ 0}` (docs/math.md §3) as the ℓ∞ distance of `∓g` to the polar
/// cone: `min_{α ≥ 0} ‖±g + Bᵀα‖_∞`, one small LP per sign. The LP's `α` is clipped to `α ≥ 0` and
/// the norm recomputed exactly, so the value returned is a true upper bound (any `α ≥ 0` gives one);
/// if the LP fails, `α = 0` gives the bound `‖g‖_∞`.
pub fn dual_value_l1(b: ArrayView2<f64>, g: ArrayView1<f64>) -> f64 {
    dual_value_l1_witness(b, g).0
}

/// The multipliers `α` (the first `k` variables of `prog`, clipped to `≥ 0`) of a small
/// per-pattern program solved by Clarabel, and the value `exact(α)` they prove — or, when the solver
/// fails or does worse, `α = 0` and `exact(0)`. Any `α ≥ 0` proves its own value, so the result is
/// a true bound whatever the solver's accuracy. The interior point leaves every `α_q > 0`; only the
/// ones that matter are kept ([`evidence::sparsify`]).
pub(crate) fn solve_witness(
    prog: &ConicProgram,
    k: usize,
    row_norms: &[f64],
    exact: impl Fn(&[f64]) -> f64,
) -> (f64, Vec<f64>) {
    let fallback = exact(&[]);
    match crate::backend::clarabel::solve(prog, &witness_settings()) {
        Ok(sol) if sol.x.iter().all(|v| v.is_finite()) => {
            let alpha: Vec<f64> = sol.x[..k].iter().map(|a| a.max(0.0)).collect();
            let value = exact(&alpha);
            if value <= fallback {
                (value, evidence::sparsify(alpha, row_norms, value, exact))
            } else {
                (fallback, vec![0.0; k])
            }
        }
        _ => (fallback, vec![0.0; k]),
    }
}

/// [`dual_value_l1`] with the multipliers `[α₊, α₋]` (one per row of `b`, `≥ 0`) that give each
/// sign's value: `‖σg + Bᵀα_σ‖_∞`.
pub fn dual_value_l1_witness(b: ArrayView2<f64>, g: ArrayView1<f64>) -> (f64, [Vec<f64>; 2]) {
    let (k, h) = b.dim();
    let row_norms: Vec<f64> = b.outer_iter().map(|r| r.dot(&r).sqrt()).collect();
    let one_sign = |sign: f64| -> (f64, Vec<f64>) {
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
        solve_witness(&prog, k, &row_norms, exact)
    };
    let (plus, alpha_plus) = one_sign(1.0);
    let (minus, alpha_minus) = one_sign(-1.0);
    (plus.max(minus), [alpha_plus, alpha_minus])
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

/// [`dual_values`] with each pattern's witnesses: the nonzero multipliers of each sign, on the
/// rows of the stacked patches `M` (indices `r = k·n + t` from `rows`).
pub fn dual_values_witness(
    m: ArrayView2<f64>,
    arrangement: &Arrangement,
    a: &Array3<f64>,
    rows: &ConeRows,
    v: ArrayView1<f64>,
    norm: FilterNorm,
) -> Vec<(f64, PatternWitness)> {
    (0..arrangement.patterns.len())
        .into_par_iter()
        .map(|i| {
            let b = arrangement.cone_rows(m, i, &rows[i]);
            let g = a.index_axis(Axis(0), i).t().dot(&v);
            let (value, [plus, minus]) = match norm {
                FilterNorm::L2 => dual_value_witness(b.view(), g.view()),
                FilterNorm::L1 => dual_value_l1_witness(b.view(), g.view()),
            };
            (
                value,
                [
                    evidence::nonzero(&rows[i], &plus),
                    evidence::nonzero(&rows[i], &minus),
                ],
            )
        })
        .collect()
}

/// The largest per-pattern value and every pattern's witnesses.
pub(crate) fn max_with_witnesses(values: Vec<(f64, PatternWitness)>) -> (f64, Vec<PatternWitness>) {
    let max = values.iter().fold(0.0_f64, |m, (v, _)| m.max(*v));
    (max, values.into_iter().map(|(_, w)| w).collect())
}

/// The evidence frame of a two-layer arrangement: its gates, the rule that maps them to patterns
/// (ReLU signs or max-pool argmaxes) and the dual norm of `norm`.
pub fn frame(arrangement: &Arrangement, norm: FilterNorm) -> Frame {
    Frame {
        filter_norm: norm.into(),
        pattern_rule: match arrangement.kind {
            PatternKind::Relu => PatternRule::ReluSign,
            PatternKind::MaxPool { .. } => PatternRule::MaxPoolArgmax,
        },
        gates: arrangement
            .patterns
            .iter()
            .map(|p| p.gate.clone())
            .collect(),
    }
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
    certify_for(
        Loss::Squared,
        m,
        arrangement,
        a,
        rows,
        y,
        candidates,
        beta,
        primal_objective,
        norm,
    )
}

/// [`certify`] for the loss `loss` (docs/math.md, "Classification losses"): candidates are moved
/// into the conjugate's domain, scaled by `θ ∈ [0, min(1, β/M)]`, and bound by the loss's dual
/// objective.
#[allow(clippy::too_many_arguments)]
pub fn certify_for(
    loss: Loss,
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
        max_with_witnesses(dual_values_witness(m, arrangement, a, rows, v, norm))
    };
    let scope = if arrangement.exact {
        Scope::Global
    } else {
        Scope::SampledPatterns
    };
    certificate_for(
        loss,
        max_dual,
        &frame(arrangement, norm),
        y,
        candidates,
        beta,
        primal_objective,
        scope,
        arrangement.patterns.len(),
    )
}

/// The certificate of the linear-activation program (docs/math.md §6): the dual
/// constraint is `‖s Σ_k α_k X_kᵀ v‖_dual = ‖Aᵀv‖_dual ≤ β`, computed exactly, with no sign
/// patterns — so the bound is on the nonconvex training problem itself (scope `global`) whatever
/// the problem's arrangements say. `patterns` is 1 (the single linear block); the evidence has no
/// gates and no multipliers (pattern rule `none`).
pub fn certify_linear(
    a: ArrayView2<f64>,
    y: ArrayView1<f64>,
    candidates: &[Array1<f64>],
    beta: f64,
    primal_objective: f64,
    norm: FilterNorm,
) -> Certificate {
    certify_linear_for(
        Loss::Squared,
        a,
        y,
        candidates,
        beta,
        primal_objective,
        norm,
    )
}

/// [`certify_linear`] for the loss `loss` (docs/math.md §14).
pub fn certify_linear_for(
    loss: Loss,
    a: ArrayView2<f64>,
    y: ArrayView1<f64>,
    candidates: &[Array1<f64>],
    beta: f64,
    primal_objective: f64,
    norm: FilterNorm,
) -> Certificate {
    // ‖Aᵀv‖_dual = max {vᵀA u : ‖u‖ ≤ 1}, exactly.
    let max_dual = |v: ArrayView1<f64>| {
        let g: Array1<f64> = a.t().dot(&v);
        let g = g.as_slice().expect("a fresh Array1 is contiguous");
        (norm.dual_of(g), Vec::new())
    };
    let frame = Frame {
        filter_norm: norm.into(),
        pattern_rule: PatternRule::None,
        gates: Vec::new(),
    };
    certificate_for(
        loss,
        max_dual,
        &frame,
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
    Loss::Squared.scaled_bound(y, v, beta, max_dual_value)
}

/// The best bound over the candidates, each scaled into the dual feasible set `{v : max_dual(v) ≤ β}`
/// (`max_dual` is positively homogeneous): every program's certificate is this one with its own
/// per-pattern dual value, and `max_dual` also returns each pattern's witnesses at `v`; those of the
/// winning candidate, scaled by `θ`, are the certificate's evidence. For the loss `loss`: each candidate is first moved into the domain of the
/// loss's conjugate ([`Loss::into_domain`]; the identity for the squared loss), its largest dual
/// value taken there, and the bound is [`Loss::scaled_bound`]. `β_max` is the largest dual value
/// of `v` at the zero network (`y`, `y/2` for the logistic loss, `y` for the hinge).
#[allow(clippy::too_many_arguments)]
pub(crate) fn certificate_for(
    loss: Loss,
    max_dual: impl Fn(ArrayView1<f64>) -> (f64, Vec<PatternWitness>),
    frame: &Frame,
    y: ArrayView1<f64>,
    candidates: &[Array1<f64>],
    beta: f64,
    primal_objective: f64,
    scope: Scope,
    patterns: usize,
) -> Certificate {
    let beta_max = if loss.is_squared() {
        max_dual(y).0
    } else {
        max_dual(loss.zero_network_dual(y).view()).0
    };
    // (lower bound, max dual value, θ) of the best candidate; the zero vector gives bound 0.
    let mut best = (0.0_f64, 0.0_f64, 0.0_f64);
    let mut evidence = Evidence::scaled(frame, Array1::zeros(y.len()).view(), 0.0, &[]);
    for cand in candidates {
        let moved;
        let cand = if loss.is_squared() {
            cand
        } else {
            moved = loss.into_domain(cand.view(), y);
            &moved
        };
        let (max_dual_value, witnesses) = max_dual(cand.view());
        // θ ≤ θ_max keeps θv dual feasible; d(θv) = −½θ²‖v‖² + θ vᵀy is concave in θ, so the best
        // feasible θ is the clamped maximizer. Negative θ covers the other sign of v.
        let Some((bound, theta)) = loss.scaled_bound(y, cand.view(), beta, max_dual_value) else {
            continue;
        };
        if bound > best.0 {
            best = (bound, max_dual_value, theta);
            evidence = Evidence::scaled(frame, cand.view(), theta, &witnesses);
        }
    }
    evidence.loss = loss;
    let (lower_bound, max_dual_value, theta) = best;
    let gap = primal_objective - lower_bound;
    let relative_gap = gap / primal_objective.abs().max(1.0);
    Certificate {
        certified: relative_gap <= CERTIFIED_REL_GAP,
        scope,
        patterns,
        outer_patterns: None,
        primal_objective,
        lower_bound,
        gap,
        relative_gap,
        max_dual_value,
        max_dual_violation: (max_dual_value - beta).max(0.0),
        dual_scaling: theta,
        beta,
        beta_max: Some(beta_max),
        evidence,
    }
}
