//! Polish of the §2 ReLU program by exact column generation over neuron directions.
//!
//! A first-order method gets the objective right long before its residual `v = y − ŷ` can
//! certify it: the certificate needs every pattern's dual value `max_± ‖Π_{K_i}(±A_iᵀv)‖` at most
//! `β` to the gap tolerance, and a first-order residual converges like the square root of the
//! objective. This module finishes the job with a second-order method whose every step is exact.
//!
//! **The master problem.** Fix a finite set of *columns* `j = (i, s, r_j)`: a pattern `i`, a sign
//! `s` (`+1` for `c_i`, `−1` for `c'_i`) and a unit direction `r_j ∈ K_i`, with `a_j = s A_i r_j`.
//! The nonnegative lasso
//!
//! ```text
//! min_{w ≥ 0} ½‖Σ_j w_j a_j − y‖² + β Σ_j w_j
//! ```
//!
//! is an **upper bound** of the ReLU program: `u_b = Σ_{j ∈ b} w_j r_j` lies in `K_i`, has the same
//! prediction, and `‖u_b‖ ≤ Σ_{j∈b} w_j`. With one column per block along the optimal filter's
//! direction it **equals** the optimum. It is a bound-constrained QP in the weights only (about
//! `n` of them are positive), solved to machine precision by a primal–dual interior point on the
//! Gram matrix of the columns followed by an exact solve on its support — no cone rows, no filter
//! variables.
//!
//! **Pricing.** At the master's residual `v`, every pattern and sign is priced exactly:
//! `g = Π_{K_i}(s A_iᵀ v)`. A block whose dual value `‖g‖` exceeds `β` gets the column `g/‖g‖` —
//! for a block already in use this *refines its direction*, and the dual excess shrinks with
//! the square of the direction's error (`‖g‖ = a_j·v / cos θ` when `a_j·v = β`). The old columns
//! stay (the master picks), columns the master zeroes are dropped.
//!
//! **Certificate.** The bound is [`crate::certify::scaled_bound`] of the master's `v` with the
//! exact dual values of **all** patterns, and the primal point is `u_b` above, evaluated exactly:
//! so every round reports a certified gap, and the polish stops when it is below tolerance.

use super::cone::{PolyCone, ProjState};
use super::dense::{gemv, gemv_t};
use crate::certify;
use crate::linalg::{dot, norm};
use faer::linalg::matmul::matmul;
use faer::linalg::solvers::Solve;
use faer::{Accum, Mat, MatMut, MatRef, Par, Side};
use ndarray::{Array1, Array2, ArrayView1, ArrayView2, ArrayView3, Axis};
use rayon::prelude::*;
use serde::Serialize;
use std::time::Instant;

/// A polish stops as `stalled` when its certified gap has not halved over this many rounds.
const STALL_ROUNDS: usize = 8;

/// Options of [`polish`].
#[derive(Debug, Clone)]
pub struct PolishOptions {
    /// Stop when the certified relative gap over all patterns is at most this.
    pub tol_gap: f64,
    /// Pricing rounds (a master solve and a pricing of every pattern each).
    pub max_rounds: usize,
    /// At most this many columns join per round (most violated first).
    pub max_add: usize,
    /// Interior-point iterations per master solve.
    pub max_ipm: usize,
    /// Wall-clock cap, seconds.
    pub time_limit: f64,
}

impl Default for PolishOptions {
    fn default() -> Self {
        Self {
            tol_gap: 1e-4,
            max_rounds: 100,
            max_add: 1000,
            max_ipm: 80,
            time_limit: f64::INFINITY,
        }
    }
}

/// One pricing round of [`polish`].
#[derive(Debug, Clone, Serialize)]
pub struct PolishRound {
    /// Columns in the master problem.
    pub columns: usize,
    /// Columns with a positive weight (neurons).
    pub positive: usize,
    /// Interior-point iterations of the master solve.
    pub ipm: usize,
    /// The master's dual infeasibility `max_j (a_j·v − β)`, relative to `β`.
    pub master_residual: f64,
    /// The master's objective (an upper bound of the objective below).
    pub master_objective: f64,
    /// Objective of the filters `u_b` (exact).
    pub objective: f64,
    /// Certified lower bound over all patterns from the master's residual.
    pub lower_bound: f64,
    /// Certified relative gap of the best point so far.
    pub relative_gap: f64,
    /// Largest dual value over all patterns.
    pub max_dual_value: f64,
    /// Columns added after the round.
    pub added: usize,
    /// Seconds since the start of the polish.
    pub seconds: f64,
}

/// Result of [`polish`]: the best point and bound of all rounds.
#[derive(Debug, Clone)]
pub struct PolishResult {
    /// `c_i`, `[P, h]`, in the cones to rounding.
    pub c: Array2<f64>,
    /// `c'_i`, `[P, h]`.
    pub c_prime: Array2<f64>,
    /// Objective at `(c, c')`.
    pub objective: f64,
    /// Best certified lower bound over all patterns.
    pub lower_bound: f64,
    /// `(objective − lower_bound) / max(1, |objective|)`.
    pub relative_gap: f64,
    /// Largest dual value over all patterns of the residual that gave the bound.
    pub max_dual_value: f64,
    /// `relative_gap ≤ tol_gap`.
    pub converged: bool,
    /// `converged`, `max_rounds`, `max_time`, `stalled` (no column to add, or the gap has not
    /// halved in 8 rounds) or `numerical_error`.
    pub stop: &'static str,
    /// One entry per round.
    pub rounds: Vec<PolishRound>,
}

/// One column: pattern, sign, unit direction in `K_i`.
#[derive(Debug, Clone)]
struct Column {
    pattern: usize,
    sign: f64,
    dir: Vec<f64>,
}

fn par() -> Par {
    if rayon::current_num_threads() > 1 {
        Par::rayon(0)
    } else {
        Par::Seq
    }
}

/// One column per nonzero block of `(c, c')` (`[P, h]` each): its direction and its norm.
fn block_columns(c: ArrayView2<f64>, c_prime: ArrayView2<f64>) -> (Vec<Column>, Vec<f64>) {
    let mut cols = Vec::new();
    let mut w = Vec::new();
    for (sign, x) in [(1.0, c), (-1.0, c_prime)] {
        for (i, u) in x.outer_iter().enumerate() {
            let nu = u.dot(&u).sqrt();
            if nu > 0.0 {
                cols.push(Column {
                    pattern: i,
                    sign,
                    dir: u.iter().map(|x| x / nu).collect(),
                });
                w.push(nu);
            }
        }
    }
    (cols, w)
}

/// `a_j = s A_i r_j` side by side, `n × J`.
fn column_matrix(a: ArrayView3<f64>, cols: &[Column]) -> Mat<f64> {
    let n = a.dim().1;
    let data: Vec<Vec<f64>> = cols
        .par_iter()
        .map(|c| {
            let ai = a.index_axis(Axis(0), c.pattern);
            ai.dot(&ArrayView1::from(&c.dir[..]))
                .iter()
                .map(|x| c.sign * x)
                .collect()
        })
        .collect();
    Mat::from_fn(n, cols.len(), |t, j| data[j][t])
}

/// The master QP `min_{w ≥ 0} ½wᵀGw − bᵀw` (`G = AᵀA`, `b = Aᵀy − β`) by a primal–dual interior
/// point method (Mehrotra predictor–corrector on `(G + W⁻¹Z) dw = …`), then an exact solve on its
/// support: the weights whose multiplier is below them are kept and `G_PP w_P = b_P` is solved
/// directly, so the master's conditions `a_j·v = β` hold to rounding on the columns in use (the
/// digits the dual bound needs) — kept when its master gap (objective minus the dual bound of its
/// residual over the columns) beats the interior point's own. Returns the iterations and the final
/// dual infeasibility `max_j (−∇_j)⁺ = max_j (a_j·v − β)⁺` with `∇ = Aᵀ(Aw − y) + β` from the
/// residual.
fn master(
    am: MatRef<f64>,
    gram: MatRef<f64>,
    y: &[f64],
    beta: f64,
    w: &mut [f64],
    max_iter: usize,
) -> (usize, f64) {
    let (n, m) = (am.nrows(), am.ncols());
    let grad_exact = |w: &[f64]| -> Vec<f64> {
        let mut r = vec![0.0; n];
        gemv(am, w, &mut r);
        r.iter_mut().zip(y).for_each(|(ri, yi)| *ri -= yi);
        let mut g = vec![0.0; m];
        gemv_t(am, &r, &mut g);
        g.iter_mut().for_each(|x| *x += beta);
        g
    };
    // Dual infeasibility of the master: the largest a_j·v − β.
    let kkt = |_: &[f64], g: &[f64]| -> f64 { g.iter().fold(0.0_f64, |a, gj| a.max(-gj)) };
    if m == 0 {
        return (0, 0.0);
    }
    let mut b = vec![0.0; m];
    gemv_t(am, y, &mut b);
    b.iter_mut().for_each(|x| *x -= beta);
    let gw = |w: &[f64]| -> Vec<f64> {
        let mut out = vec![0.0; m];
        gemv(gram, w, &mut out);
        out
    };
    let scale = (0..m)
        .map(|k| gram[(k, k)])
        .fold(0.0_f64, f64::max)
        .max(1e-300);
    let bscale = b.iter().fold(beta, |a, v| a.max(v.abs()));
    // Start: the warm weights lifted off the boundary, multipliers from the gradient.
    let positive: Vec<f64> = w.iter().copied().filter(|&x| x > 0.0).collect();
    let wbar = if positive.is_empty() {
        1.0
    } else {
        positive.iter().sum::<f64>() / positive.len() as f64
    };
    let mut x: Vec<f64> = w.iter().map(|&wj| wj.max(1e-2 * wbar)).collect();
    let g0 = gw(&x);
    let mut z: Vec<f64> = g0
        .iter()
        .zip(&b)
        .map(|(g, bj)| (g - bj).max(1e-2 * beta))
        .collect();
    let step_to_boundary = |v: &[f64], d: &[f64]| -> f64 {
        v.iter()
            .zip(d)
            .filter(|(_, dj)| **dj < 0.0)
            .map(|(vj, dj)| -vj / dj)
            .fold(f64::INFINITY, f64::min)
    };
    let mut iterations = 0;
    let (mut best_mu, mut stale) = (f64::INFINITY, 0);
    for _ in 0..max_iter {
        let gx = gw(&x);
        let rd: Vec<f64> = (0..m).map(|j| gx[j] - b[j] - z[j]).collect();
        let mu = (0..m).map(|j| x[j] * z[j]).sum::<f64>() / m as f64;
        let rd_max = rd.iter().fold(0.0_f64, |a, v| a.max(v.abs()));
        // The IPM only has to find the support (the exact solve below gives the digits): stop
        // once complementarity is far below the weights' and multipliers' scale and the dual
        // residual is at the rounding floor of `Gx`.
        if rd_max <= 1e-9 * bscale && mu <= 1e-12 * beta * wbar {
            break;
        }
        // … or once complementarity has stopped falling (rounding floor).
        if mu < best_mu * 0.5 {
            best_mu = mu;
            stale = 0;
        } else {
            stale += 1;
            if stale >= 5 && rd_max <= 1e-6 * bscale {
                break;
            }
        }
        iterations += 1;
        // G + Z/X is positive definite; near-parallel columns make G nearly singular, so a
        // tiny ridge is added when the factorization breaks down on rounding.
        let mut ridge = 0.0;
        let l = loop {
            let mut k = gram.to_owned();
            for j in 0..m {
                k[(j, j)] += z[j] / x[j] + ridge;
            }
            if let Ok(l) = k.llt(Side::Lower) {
                break Some(l);
            }
            ridge = if ridge == 0.0 {
                1e-14 * scale
            } else {
                ridge * 10.0
            };
            if ridge > 1e-6 * scale {
                break None;
            }
        };
        let Some(l) = l else {
            break;
        };
        let solve = |rhs: Vec<f64>| -> Vec<f64> {
            let mut d = rhs;
            l.solve_in_place(MatMut::from_column_major_slice_mut(&mut d, m, 1));
            d
        };
        // Predictor.
        let dx_a = solve((0..m).map(|j| -rd[j] - z[j]).collect());
        let dz_a: Vec<f64> = (0..m).map(|j| -z[j] - z[j] / x[j] * dx_a[j]).collect();
        let a_aff = step_to_boundary(&x, &dx_a)
            .min(step_to_boundary(&z, &dz_a))
            .min(1.0);
        let mu_aff = (0..m)
            .map(|j| (x[j] + a_aff * dx_a[j]) * (z[j] + a_aff * dz_a[j]))
            .sum::<f64>()
            / m as f64;
        let sigma = (mu_aff / mu).powi(3).min(1.0);
        // Corrector.
        let rc: Vec<f64> = (0..m)
            .map(|j| x[j] * z[j] + dx_a[j] * dz_a[j] - sigma * mu)
            .collect();
        let dx = solve((0..m).map(|j| -rd[j] - rc[j] / x[j]).collect());
        let dz: Vec<f64> = (0..m).map(|j| -(rc[j] + z[j] * dx[j]) / x[j]).collect();
        let alpha = (0.99 * step_to_boundary(&x, &dx).min(step_to_boundary(&z, &dz))).min(1.0);
        for j in 0..m {
            x[j] += alpha * dx[j];
            z[j] += alpha * dz[j];
        }
    }
    // Support: weights above their multiplier; exact solve there (kept only if all positive).
    let support: Vec<usize> = (0..m).filter(|&j| x[j] > z[j]).collect();
    let ks = support.len();
    let mut exact: Option<Vec<f64>> = None;
    if ks > 0 {
        let gpp = Mat::<f64>::from_fn(ks, ks, |r, c| gram[(support[r], support[c])]);
        if let Ok(l) = gpp.llt(Side::Lower) {
            let mut wp: Vec<f64> = support.iter().map(|&j| b[j]).collect();
            l.solve_in_place(MatMut::from_column_major_slice_mut(&mut wp, ks, 1));
            if wp.iter().all(|&v| v > 0.0 && v.is_finite()) {
                let mut full = vec![0.0; m];
                for (&j, v) in support.iter().zip(&wp) {
                    full[j] = *v;
                }
                exact = Some(full);
            }
        }
    }
    // Keep whichever of the exact solve and the IPM point has the smaller master gap: φ(w)
    // minus the dual bound of its residual scaled into {a_j·v ≤ β} (with ∇_j = β − a_j·v).
    let master_gap = |w: &[f64], g: &[f64]| -> f64 {
        let mut r = vec![0.0; n];
        gemv(am, w, &mut r);
        let v: Vec<f64> = y.iter().zip(&r).map(|(yi, ri)| yi - ri).collect();
        let phi = 0.5 * dot(&v, &v) + beta * w.iter().sum::<f64>();
        let amax = g.iter().map(|gj| beta - gj).fold(0.0_f64, f64::max);
        let theta_max = if amax > beta { beta / amax } else { 1.0 };
        let (vv, vy) = (dot(&v, &v), dot(&v, y));
        let theta = if vv > 0.0 {
            (vy / vv).clamp(-theta_max, theta_max)
        } else {
            0.0
        };
        phi - (theta * vy - 0.5 * theta * theta * vv)
    };
    // The warm weights and zero are feasible too: when the IPM breaks down (near-parallel
    // columns from an early ADMM iterate, measured to diverge to objective 1e14 in a pattern
    // generation round) the master keeps the better of them instead of its last point.
    let warm: Vec<f64> = w.iter().map(|&wj| wj.max(0.0)).collect();
    let mut best: Option<(f64, f64, Vec<f64>)> = None;
    for cand in [exact, Some(x.clone()), Some(warm), Some(vec![0.0; m])]
        .into_iter()
        .flatten()
    {
        let g = grad_exact(&cand);
        let gap = master_gap(&cand, &g);
        if best.as_ref().is_none_or(|(bg, _, _)| gap < *bg) {
            best = Some((gap, kkt(&cand, &g), cand));
        }
    }
    let (_, viol, wbest) = best.expect("the IPM point is always a candidate");
    w.copy_from_slice(&wbest);
    (iterations, viol)
}

/// Polishes `(c, c')` (`[P, h]`, e.g. from [`super::al`]) over all patterns of `a` (`[P, n, h]`)
/// with the cones `cones` (one per pattern) and the exact per-pattern dual values `price` (the
/// certificate's, e.g. [`crate::certify::dual_values`]). See the module documentation.
#[allow(clippy::too_many_arguments)]
pub fn polish(
    a: ArrayView3<f64>,
    cones: &[PolyCone],
    price: &dyn Fn(ArrayView1<f64>) -> Vec<f64>,
    y: ArrayView1<f64>,
    beta: f64,
    c: ArrayView2<f64>,
    c_prime: ArrayView2<f64>,
    options: &PolishOptions,
    progress: &dyn Fn(&PolishRound),
) -> PolishResult {
    let start = Instant::now();
    let deadline = || start.elapsed().as_secs_f64() > options.time_limit;
    let (np, n, h) = a.dim();
    assert_eq!(cones.len(), np, "one cone per pattern");
    let op = super::Operator::new(a);
    let yv: Vec<f64> = y.to_vec();
    // The filters of a weighted set of columns, and their exact objective.
    let filters = |cols: &[Column], w: &[f64]| -> (Array2<f64>, Array2<f64>, f64) {
        let mut c = Array2::<f64>::zeros((np, h));
        let mut cp = Array2::<f64>::zeros((np, h));
        for (col, &wj) in cols.iter().zip(w) {
            if wj > 0.0 {
                let target = if col.sign > 0.0 { &mut c } else { &mut cp };
                let mut row = target.row_mut(col.pattern);
                for (x, r) in row.iter_mut().zip(&col.dir) {
                    *x += wj * r;
                }
            }
        }
        let z = &c - &cp;
        let v = &y - &op.apply(z.view());
        let reg: f64 = c
            .outer_iter()
            .chain(cp.outer_iter())
            .map(|r| r.dot(&r).sqrt())
            .sum();
        let obj = 0.5 * v.dot(&v) + beta * reg;
        (c, cp, obj)
    };
    // The starting columns: the direction and norm of every nonzero block, each block first
    // projected onto its cone (a start from another program's rows may leave them).
    let project_all = |x: ArrayView2<f64>| -> Array2<f64> {
        let mut out = x.to_owned();
        for (i, mut row) in out.outer_iter_mut().enumerate() {
            let u = row.to_vec();
            let mut pu = vec![0.0; h];
            cones[i].project(&u, &mut pu, &mut ProjState::default());
            row.assign(&ArrayView1::from(&pu[..]));
        }
        out
    };
    let (c_in, cp_in) = (project_all(c), project_all(c_prime));
    let (mut cols, mut w) = block_columns(c_in.view(), cp_in.view());
    // An early ADMM iterate has nearly every block nonzero, and the master's cost grows with the
    // cube of its columns (4,450 columns: 45 s, against 0.3 s for 400, measured in a pattern
    // generation round): start from the `max_add` heaviest blocks. Dropping columns is safe, the
    // pricing over every pattern brings back any that the optimum needs.
    if cols.len() > options.max_add {
        let mut order: Vec<usize> = (0..cols.len()).collect();
        order.sort_by(|&i, &j| w[j].total_cmp(&w[i]).then(i.cmp(&j)));
        order.truncate(options.max_add);
        order.sort_unstable();
        cols = order.iter().map(|&i| cols[i].clone()).collect();
        w = order.iter().map(|&i| w[i]).collect();
    }
    let (c0, cp0, obj0) = filters(&cols, &w);
    let mut best = PolishResult {
        c: c0,
        c_prime: cp0,
        objective: obj0,
        lower_bound: f64::NEG_INFINITY,
        relative_gap: f64::INFINITY,
        max_dual_value: f64::NAN,
        converged: false,
        stop: "max_rounds",
        rounds: Vec::new(),
    };
    for _ in 0..options.max_rounds {
        // Master: the exact nonnegative lasso over the columns.
        let columns = cols.len();
        let am = column_matrix(a, &cols);
        let mut gram = Mat::<f64>::zeros(cols.len(), cols.len());
        matmul(
            gram.as_mut(),
            Accum::Replace,
            am.transpose(),
            am.as_ref(),
            1.0,
            par(),
        );
        let (ipm, master_residual) = master(
            am.as_ref(),
            gram.as_ref(),
            &yv,
            beta,
            &mut w,
            options.max_ipm,
        );
        drop(gram);
        if !w.iter().all(|x| x.is_finite()) {
            best.stop = "numerical_error";
            return best;
        }
        let mut yhat = vec![0.0; n];
        gemv(am.as_ref(), &w, &mut yhat);
        drop(am);
        let v: Array1<f64> = y.iter().zip(&yhat).map(|(a, b)| a - b).collect();
        let master_objective = 0.5 * v.dot(&v) + beta * w.iter().sum::<f64>();
        // Merge each block's columns into one along its filter u_b = Σ_j w_j r_j (weight ‖u_b‖ ≤
        // Σ_j w_j: the master's objective can only fall), and drop the unused ones.
        let (cn, cpn, objective) = filters(&cols, &w);
        (cols, w) = block_columns(cn.view(), cpn.view());
        let positive = cols.len();
        // Certificate over all patterns.
        let d = price(v.view());
        let max_dual = d.iter().copied().fold(0.0_f64, f64::max);
        let lb = certify::scaled_bound(y, v.view(), beta, max_dual).map_or(0.0, |(b, _)| b);
        if objective < best.objective {
            best.objective = objective;
            best.c = cn;
            best.c_prime = cpn;
        }
        if lb > best.lower_bound {
            best.lower_bound = lb;
            best.max_dual_value = max_dual;
        }
        best.relative_gap = (best.objective - best.lower_bound) / best.objective.abs().max(1.0);
        let converged = best.relative_gap <= options.tol_gap;
        // Pricing: a new column along Π_K(s A_iᵀ v) for every block whose dual value exceeds β.
        let mut added = 0;
        if !converged && !deadline() {
            let vs = v.as_slice().expect("contiguous");
            let vv = ArrayView1::from(vs);
            let mut cand: Vec<(f64, Column)> = (0..np)
                .into_par_iter()
                .filter(|&i| d[i] > beta * (1.0 + 1e-12))
                .flat_map_iter(|i| {
                    let g = a.index_axis(Axis(0), i).t().dot(&vv);
                    let mut out = Vec::new();
                    for sign in [1.0, -1.0] {
                        let gi: Vec<f64> = g.iter().map(|x| sign * x).collect();
                        let mut pg = vec![0.0; h];
                        cones[i].project(&gi, &mut pg, &mut ProjState::default());
                        let val = norm(&pg);
                        if val > beta * (1.0 + 1e-12) {
                            out.push((
                                val,
                                Column {
                                    pattern: i,
                                    sign,
                                    dir: pg.iter().map(|x| x / val).collect(),
                                },
                            ));
                        }
                    }
                    out
                })
                .collect();
            cand.sort_by(|x, y| {
                y.0.total_cmp(&x.0)
                    .then(x.1.pattern.cmp(&y.1.pattern))
                    .then(y.1.sign.total_cmp(&x.1.sign))
            });
            cand.truncate(options.max_add);
            added = cand.len();
            for (_, col) in cand {
                cols.push(col);
                w.push(0.0);
            }
        }
        best.rounds.push(PolishRound {
            columns,
            positive,
            ipm,
            master_residual: master_residual / beta,
            master_objective,
            objective,
            lower_bound: lb,
            relative_gap: best.relative_gap,
            max_dual_value: max_dual,
            added,
            seconds: start.elapsed().as_secs_f64(),
        });
        progress(best.rounds.last().expect("pushed"));
        if converged {
            best.converged = true;
            best.stop = "converged";
            return best;
        }
        if deadline() {
            best.stop = "max_time";
            return best;
        }
        // Stalled: nothing to add, or the certified gap has not halved in `STALL_ROUNDS` rounds
        // (degenerate masters — about as many columns in use as samples — can stall; the
        // caller's first-order method then goes on).
        let rounds = &best.rounds;
        let stale = rounds.len() > STALL_ROUNDS
            && rounds[rounds.len() - 1].relative_gap
                > 0.5 * rounds[rounds.len() - 1 - STALL_ROUNDS].relative_gap;
        if added == 0 || stale {
            best.stop = "stalled";
            return best;
        }
    }
    best
}
