//! First-order solvers for the convex programs of `docs/math.md`: restarted FISTA for the
//! gated-ReLU group lasso (§7, [`fista`]) and an augmented-Lagrangian method for the
//! cone-constrained ReLU program (§2, [`al`]: ADMM by default, [`admm`]), certified by the
//! column-generation [`polish`] and scaled to many patterns by the [`working_set`] driver.
//!
//! All apply `Σ_i A_i z_i` and its adjoint with the `[P, n, h]` pattern matrices directly; no KKT
//! system in the filter variables is ever formed (the polish factors only `n`-column Gram matrices
//! of its neuron columns).

pub mod admm;
pub mod al;
mod anderson;
pub mod cone;
pub mod dense;
pub mod driver;
pub mod fista;
pub mod path;
pub mod polish;
pub mod working_set;

use ndarray::linalg::general_mat_vec_mul;
use ndarray::{Array1, Array2, ArrayView1, ArrayView2, ArrayView3, Axis};
use rayon::prelude::*;

/// Patterns per parallel chunk of [`Operator::apply`].
const APPLY_CHUNK: usize = 32;

/// One convergence check of a first-order solver: wall time since the start, iterations so far,
/// the true objective at the iterate and its worst cone-row violation (relative, as
/// [`al::AlCheck::violation`]; 0 for the unconstrained gated program).
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub struct TracePoint {
    pub seconds: f64,
    pub iterations: usize,
    pub objective: f64,
    pub violation: f64,
}

/// Appends the trace of one run to `into` on a common clock and iteration count: each point
/// shifted by `seconds` and `iterations`, the first `skip` points left out (a warm restart repeats
/// the previous run's last point).
pub fn append_trace(
    into: &mut Vec<TracePoint>,
    run: &[TracePoint],
    seconds: f64,
    iterations: usize,
    skip: usize,
) {
    into.extend(run.iter().skip(skip).map(|t| TracePoint {
        seconds: seconds + t.seconds,
        iterations: iterations + t.iterations,
        ..*t
    }));
}

/// Below this many multiply-adds per operator application, work stays on one thread.
const PARALLEL_WORK: usize = 1 << 18;

/// Factor applied to the Lipschitz estimate before each backtracking search.
const SHRINK: f64 = 0.9;

/// The linear map `z ↦ Σ_i A_i z_i` (`z`: `[P, h]`) and its adjoint `r ↦ (A_i^T r)_i`.
#[derive(Debug, Clone, Copy)]
pub struct Operator<'a> {
    /// `[P, n, h]`.
    pub a: ArrayView3<'a, f64>,
}

impl<'a> Operator<'a> {
    /// Wraps the pattern matrices `[P, n, h]`.
    pub fn new(a: ArrayView3<'a, f64>) -> Self {
        Self { a }
    }

    fn parallel(&self) -> bool {
        self.a.len() >= PARALLEL_WORK && rayon::current_num_threads() > 1
    }

    /// `Σ_i A_i z_i`, summed in fixed chunks of `APPLY_CHUNK` patterns added in order, so the
    /// floating-point result is the same whatever the threads do and however many there are (a
    /// rayon fold/reduce splits by timing, which made runs differ in the last bits).
    pub fn apply(&self, z: ArrayView2<f64>) -> Array1<f64> {
        let (p, n, _) = self.a.dim();
        let chunk = |range: std::ops::Range<usize>| {
            let mut acc = Array1::zeros(n);
            for i in range {
                let zi = z.row(i);
                if zi.iter().any(|v| *v != 0.0) {
                    general_mat_vec_mul(1.0, &self.a.index_axis(Axis(0), i), &zi, 1.0, &mut acc);
                }
            }
            acc
        };
        let starts: Vec<usize> = (0..p).step_by(APPLY_CHUNK).collect();
        let range = |s: usize| s..(s + APPLY_CHUNK).min(p);
        let partials: Vec<Array1<f64>> = if self.parallel() {
            starts.par_iter().map(|&s| chunk(range(s))).collect()
        } else {
            starts.iter().map(|&s| chunk(range(s))).collect()
        };
        partials
            .into_iter()
            .fold(Array1::zeros(n), |acc, part| acc + part)
    }

    /// `(A_i^T r)_i`, `[P, h]`.
    pub fn adjoint(&self, r: ArrayView1<f64>) -> Array2<f64> {
        let (p, _, h) = self.a.dim();
        let mut g = Array2::zeros((p, h));
        if self.parallel() {
            g.outer_iter_mut()
                .into_par_iter()
                .zip(self.a.outer_iter().into_par_iter())
                .for_each(|(mut gi, ai)| general_mat_vec_mul(1.0, &ai.t(), &r, 0.0, &mut gi));
        } else {
            for (mut gi, ai) in g.outer_iter_mut().zip(self.a.outer_iter()) {
                general_mat_vec_mul(1.0, &ai.t(), &r, 0.0, &mut gi);
            }
        }
        g
    }

    /// Estimate of `‖A‖₂²` (largest eigenvalue of `AᵀA`) by power iteration; a lower bound, so
    /// callers use it as the starting Lipschitz constant of a backtracking search.
    pub fn norm_sq_estimate(&self, iterations: usize) -> f64 {
        let (p, _, h) = self.a.dim();
        let mut v = Array2::from_elem((p, h), 1.0 / ((p * h) as f64).sqrt());
        let mut lambda = 0.0;
        for _ in 0..iterations {
            let w = self.adjoint(self.apply(v.view()).view());
            let nrm = w.iter().map(|x| x * x).sum::<f64>().sqrt();
            if nrm == 0.0 || !nrm.is_finite() {
                return lambda;
            }
            lambda = nrm;
            v = w / nrm;
        }
        lambda
    }
}

/// Largest row norm `max_i ‖x_i‖` (0 for no rows).
pub fn max_row_norm(x: ArrayView2<f64>) -> f64 {
    x.outer_iter()
        .map(|r| r.dot(&r).sqrt())
        .fold(0.0_f64, f64::max)
}

/// `Σ_g ‖x_g‖₂` over the rows of `x`.
pub fn group_norm_sum(x: ArrayView2<f64>) -> f64 {
    x.outer_iter().map(|r| r.dot(&r).sqrt()).sum()
}

/// Group soft-threshold in place: every row `v_g ← max(0, 1 − τ/‖v_g‖) v_g`.
pub fn group_soft_threshold(v: &mut Array2<f64>, tau: f64) {
    for mut row in v.outer_iter_mut() {
        let nrm = row.dot(&row).sqrt();
        if nrm <= tau {
            row.fill(0.0);
        } else {
            row *= 1.0 - tau / nrm;
        }
    }
}

fn dot(a: &Array2<f64>, b: &Array2<f64>) -> f64 {
    a.iter().zip(b.iter()).map(|(x, y)| x * y).sum()
}

/// `x ↦ (f(x), ∇f(x))`.
pub(crate) type ValueGrad<'a> = dyn Fn(&Array2<f64>) -> (f64, Array2<f64>) + 'a;

/// `(iteration, x, F(x), gradient-mapping norm) ↦ stop`.
pub(crate) type Check<'a> = dyn FnMut(usize, &Array2<f64>, f64, f64) -> bool + 'a;

/// Outcome of one run of the FISTA core.
#[derive(Debug, Clone)]
pub(crate) struct CoreOut {
    pub x: Array2<f64>,
    /// Composite objective `f(x) + β Σ‖x_g‖` at `x`.
    pub value: f64,
    pub iterations: usize,
    pub converged: bool,
    pub lipschitz: f64,
}

/// Restarted FISTA with backtracking for `min f(x) + β Σ_g ‖x_g‖₂` (rows of `x` are the groups).
///
/// `value(x)` is `f(x)`; `value_grad(x)` is `(f(x), ∇f(x))`. After every iteration `check(k, x, F(x),
/// ‖G‖)` is called with the gradient-mapping norm `‖G‖ = L‖w − x⁺‖` of the step just taken; it
/// returns true to stop (converged). Momentum is reset whenever the objective would increase
/// (function restart, O'Donoghue & Candès 2015); the rejected step is then retaken from `x`.
pub(crate) fn minimize(
    x0: Array2<f64>,
    value: &dyn Fn(&Array2<f64>) -> f64,
    value_grad: &ValueGrad,
    beta: f64,
    lipschitz0: f64,
    max_iter: usize,
    check: &mut Check,
) -> CoreOut {
    let mut x = x0;
    let mut fx = value(&x) + beta * group_norm_sum(x.view());
    let mut w = x.clone();
    let mut t = 1.0_f64;
    let mut lip = lipschitz0.max(1e-12);
    let mut at_x = true;
    let mut iterations = 0;
    let mut converged = false;
    while iterations < max_iter {
        iterations += 1;
        let (fw, gw) = value_grad(&w);
        // Adaptive backtracking: try a slightly smaller constant first, double until the
        // quadratic upper bound holds.
        let lip_prev = lip;
        lip *= SHRINK;
        let (v, fv, gm) = loop {
            let mut v = &w - &(&gw / lip);
            group_soft_threshold(&mut v, beta / lip);
            let d = &v - &w;
            let dd = dot(&d, &d);
            let fv = value(&v);
            let bound = fw + dot(&gw, &d) + 0.5 * lip * dd;
            if fv <= bound + 1e-13 * fw.abs().max(1.0) || !lip.is_finite() {
                break (v, fv, lip * dd.sqrt());
            }
            lip *= 2.0;
        };
        let f_new = fv + beta * group_norm_sum(v.view());
        if f_new > fx && !at_x {
            // Function restart: drop the momentum and retake the step from x.
            t = 1.0;
            w.assign(&x);
            at_x = true;
            continue;
        }
        // Momentum for a varying step (Scheinberg, Goldfarb & Bai 2014).
        let t_new = 0.5 * (1.0 + (1.0 + 4.0 * (lip / lip_prev) * t * t).sqrt());
        let mom = (t - 1.0) / t_new;
        w = &v + &((&v - &x) * mom);
        at_x = mom == 0.0;
        x = v;
        fx = f_new;
        t = t_new;
        if check(iterations, &x, fx, gm) {
            converged = true;
            break;
        }
    }
    CoreOut {
        x,
        value: fx,
        iterations,
        converged,
        lipschitz: lip,
    }
}
