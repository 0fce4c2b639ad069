//! Restarted FISTA for the gated-ReLU relaxation (docs/math.md §7):
//!
//! ```text
//! min_z  ½‖Σ_i A_i z_i − y‖² + β Σ_i ‖z_i‖₂
//! ```
//!
//! Stopping uses a duality gap: with the residual `v = y − Az`, the point `θv`,
//! `θ = min(1, β / max_i ‖A_i^T v‖)`, is dual feasible, and `½‖y‖² − ½‖θv − y‖²` is a lower bound.

use super::admm::{self, AdmmOptions, Program, Stop};
use super::dense::{DenseLoss, DenseOp};
use super::{Operator, TracePoint, group_norm_sum, minimize};
use crate::clock::secs;
use ndarray::{Array2, ArrayView1, ArrayView2, ArrayView3};
use std::time::Instant;

/// Which method [`solve`] runs on the gated program.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GatedMethod {
    /// Restarted FISTA with backtracking (the default).
    #[default]
    Fista,
    /// ADMM with the cached factorization of the loss and Anderson acceleration
    /// ([`super::admm`], the prox is the group soft-threshold); stops on `tol` as a duality gap.
    Admm,
}

/// Options of [`solve`].
#[derive(Debug, Clone)]
pub struct FistaOptions {
    /// Stop when the duality gap is at most `tol · max(objective, 1e-300)`.
    pub tol: f64,
    /// Or when the gradient-mapping norm is at most `tol_grad_map · max(max_i ‖A_i^T y‖, β)`.
    pub tol_grad_map: f64,
    /// Iteration cap.
    pub max_iter: usize,
    /// Iterations between duality-gap checks (each costs one operator and one adjoint).
    pub check_every: usize,
    /// Or when the objective fell by at most `tol_change · objective` over the last `window`
    /// accepted steps (flat tails of degenerate problems, where the gap closes slowly).
    pub tol_change: f64,
    /// Window of the objective-change test.
    pub window: usize,
    /// Wall-clock cap in seconds.
    pub time_limit: f64,
    /// The method.
    pub method: GatedMethod,
}

impl Default for FistaOptions {
    fn default() -> Self {
        Self {
            tol: 1e-6,
            tol_grad_map: 1e-9,
            max_iter: 100_000,
            check_every: 10,
            tol_change: 1e-11,
            window: 200,
            time_limit: f64::INFINITY,
            method: GatedMethod::Fista,
        }
    }
}

/// Result of [`solve`].
#[derive(Debug, Clone)]
pub struct FistaResult {
    /// `[P, h]`.
    pub z: Array2<f64>,
    /// `½‖Az − y‖² + β Σ‖z_i‖` at `z`.
    pub objective: f64,
    /// Best dual lower bound seen.
    pub lower_bound: f64,
    /// Iterations (restarted steps included).
    pub iterations: usize,
    /// True when a stopping test passed (not the iteration or time cap).
    pub converged: bool,
    /// `(seconds, objective)` after every accepted step.
    pub history: Vec<(f64, f64)>,
    /// Last gradient-mapping norm relative to `max(max_i ‖A_i^T y‖, β)`.
    pub grad_map: f64,
    /// Which test stopped the run.
    pub stop: &'static str,
    /// Final backtracking Lipschitz constant.
    pub lipschitz: f64,
    /// One point at the start, at every duality-gap check and at the end (violation 0).
    pub trace: Vec<TracePoint>,
}

/// Objective of the gated program at `z`.
pub fn objective(a: ArrayView3<f64>, y: ArrayView1<f64>, beta: f64, z: ArrayView2<f64>) -> f64 {
    let r = Operator::new(a).apply(z) - y;
    0.5 * r.dot(&r) + beta * group_norm_sum(z)
}

/// Dual lower bound from the residual at `z`.
pub fn lower_bound(a: ArrayView3<f64>, y: ArrayView1<f64>, beta: f64, z: ArrayView2<f64>) -> f64 {
    let op = Operator::new(a);
    let v = &y - &op.apply(z);
    let g = op.adjoint(v.view());
    let worst = g
        .outer_iter()
        .map(|r| r.dot(&r).sqrt())
        .fold(0.0_f64, f64::max);
    let theta = if worst > beta { beta / worst } else { 1.0 };
    let d = &v * theta - y;
    0.5 * y.dot(&y) - 0.5 * d.dot(&d)
}

/// Solves the gated program from `warm` (or zero).
pub fn solve(
    a: ArrayView3<f64>,
    y: ArrayView1<f64>,
    beta: f64,
    warm: Option<ArrayView2<f64>>,
    options: &FistaOptions,
) -> FistaResult {
    if options.method == GatedMethod::Admm {
        return solve_admm(a, y, beta, warm, options);
    }
    let start = Instant::now();
    let (p, n, h) = a.dim();
    assert_eq!(y.len(), n, "y has {} entries for n = {n}", y.len());
    let op = Operator::new(a);
    let x0 = match warm {
        Some(z) => {
            assert_eq!(z.dim(), (p, h), "warm start must be [P, h]");
            z.to_owned()
        }
        None => Array2::zeros((p, h)),
    };
    let gscale = op
        .adjoint(y)
        .outer_iter()
        .map(|r| r.dot(&r).sqrt())
        .fold(beta, f64::max);
    let lip0 = op.norm_sq_estimate(20);
    // Products with the contiguous n × hP matrix (one dense gemv each way).
    let dense = DenseOp::new(a);
    let ys = y.to_vec();
    let residual = |x: &Array2<f64>| -> Vec<f64> {
        let mut r = dense.apply(x.as_slice().expect("standard layout"));
        r.iter_mut().zip(&ys).for_each(|(ri, yi)| *ri -= yi);
        r
    };
    let value = |x: &Array2<f64>| {
        let r = residual(x);
        0.5 * r.iter().map(|v| v * v).sum::<f64>()
    };
    let value_grad = |x: &Array2<f64>| {
        let r = residual(x);
        let g = Array2::from_shape_vec((p, h), dense.adjoint(&r)).expect("shape");
        (0.5 * r.iter().map(|v| v * v).sum::<f64>(), g)
    };
    let f0 = value(&x0) + beta * group_norm_sum(x0.view());
    let mut history = vec![(secs(start), f0)];
    let mut trace = vec![TracePoint {
        seconds: secs(start),
        iterations: 0,
        objective: f0,
        violation: 0.0,
    }];
    let mut best_lb = f64::NEG_INFINITY;
    let every = options.check_every.max(1);
    let mut met = "";
    let mut last_gm = f64::INFINITY;
    let mut check = |k: usize, x: &Array2<f64>, f: f64, gm: f64| {
        history.push((secs(start), f));
        last_gm = gm / gscale;
        if gm <= options.tol_grad_map * gscale {
            met = "gradient mapping";
            return true;
        }
        // The objective-change test looks back `window` steps (fewer at the start, but at least 10).
        let len = history.len();
        let back = options.window.min(len - 1);
        if back >= 10 && history[len - 1 - back].1 - f <= options.tol_change * f.abs() {
            met = "objective change";
            return true;
        }
        if k.is_multiple_of(every) {
            trace.push(TracePoint {
                seconds: secs(start),
                iterations: k,
                objective: f,
                violation: 0.0,
            });
            best_lb = best_lb.max(lower_bound(a, y, beta, x.view()));
            if f - best_lb <= options.tol * f.abs().max(1e-300) {
                met = "duality gap";
                return true;
            }
        }
        secs(start) > options.time_limit
    };
    let out = minimize(
        x0,
        &value,
        &value_grad,
        beta,
        lip0,
        options.max_iter,
        &mut check,
    );
    let lb = best_lb.max(lower_bound(a, y, beta, out.x.view()));
    let converged = out.converged && !met.is_empty();
    if trace.last().is_none_or(|t| t.iterations != out.iterations) {
        trace.push(TracePoint {
            seconds: secs(start),
            iterations: out.iterations,
            objective: out.value,
            violation: 0.0,
        });
    }
    FistaResult {
        objective: out.value,
        z: out.x,
        lower_bound: lb,
        iterations: out.iterations,
        converged,
        history,
        lipschitz: out.lipschitz,
        grad_map: last_gm,
        trace,
        stop: if met.is_empty() {
            "iteration or time limit"
        } else {
            met
        },
    }
}

fn solve_admm(
    a: ArrayView3<f64>,
    y: ArrayView1<f64>,
    beta: f64,
    warm: Option<ArrayView2<f64>>,
    options: &FistaOptions,
) -> FistaResult {
    let (p, n, h) = a.dim();
    assert_eq!(y.len(), n, "y has {} entries for n = {n}", y.len());
    let mut loss = DenseLoss::new(a, y);
    let warm_u: Option<Vec<f64>> = warm.map(|z| {
        assert_eq!(z.dim(), (p, h), "warm start must be [P, h]");
        z.iter().copied().collect()
    });
    let admm_options = AdmmOptions {
        tol_gap: options.tol,
        tol_violation: f64::INFINITY,
        max_iter: options.max_iter,
        check_every: options.check_every,
        time_limit: options.time_limit,
        ..AdmmOptions::default()
    };
    let out = admm::run(
        &mut loss,
        beta,
        h,
        Program::Gated,
        warm_u.as_deref().map(|u| (u, f64::NAN)),
        &admm_options,
    );
    let z = Array2::from_shape_vec((p, h), out.u).expect("shape");
    FistaResult {
        z,
        objective: out.objective,
        lower_bound: out.lower_bound,
        iterations: out.iterations,
        converged: out.stop == Stop::Converged,
        history: out.trace.iter().map(|t| (t.seconds, t.objective)).collect(),
        grad_map: f64::NAN,
        stop: match out.stop {
            Stop::Converged => "duality gap",
            Stop::MaxIterations | Stop::MaxTime => "iteration or time limit",
            Stop::NumericalError => "numerical error",
        },
        lipschitz: f64::NAN,
        trace: out.trace,
    }
}
