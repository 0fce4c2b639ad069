//! Augmented Lagrangian for the cone-constrained ReLU program (docs/math.md §2):
//!
//! ```text
//! min_{c_i, c'_i}  ½‖Σ_i A_i (c_i − c'_i) − y‖² + β Σ_i (‖c_i‖₂ + ‖c'_i‖₂)
//! s.t.             B_i c_i ≥ 0,  B_i c'_i ≥ 0
//! ```
//!
//! Two methods ([`AlMethod`]). The default, [`AlMethod::Admm`], is the ADMM of [`super::admm`]: the
//! loss and the cones are split, every block's prox is the exact projection onto its pattern's cone
//! followed by the group shrink, and every check computes a certified lower bound (with the
//! certifying polish of [`super::polish`] when asked). The older [`AlMethod::Penalty`] follows.
//!
//! The cone rows enter through the standard augmented Lagrangian for inequalities `g ≥ 0`,
//! `ψ(g, λ) = (1/2μ)(‖max(0, λ − μg)‖² − ‖λ‖²)` (smooth in `g`, gradient `−max(0, λ − μg)`), and each
//! subproblem `min f + Σ ψ + β Σ‖·‖` is solved by the restarted FISTA core with the group
//! soft-threshold on every block. Multipliers are updated as `λ ← max(0, λ − μg)`; `μ` grows when the
//! violation does not fall fast enough.

mod penalty;

use super::admm::{self, AdmmOptions, Program, Stop};
use super::cone;
use super::dense::DenseLoss;
use super::polish;
use super::{Operator, TracePoint, append_trace, group_norm_sum, max_row_norm, minimize};
use crate::arrangement::Arrangement;
use crate::clock::secs;
use ndarray::linalg::general_mat_vec_mul;
use ndarray::{Array1, Array2, ArrayView1, ArrayView2, ArrayView3, Axis, s};
use rayon::prelude::*;
use std::time::Instant;

/// Which augmented-Lagrangian method [`solve`] runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AlMethod {
    /// ADMM on the splitting `x = u` ([`super::admm`]): cached factorization of the loss, exact
    /// prox per block (cone projection + shrink), certified duality-gap stop. The default.
    #[default]
    Admm,
    /// Classical method of multipliers with the cone rows in the penalty, each subproblem solved by
    /// restarted FISTA (slow: kept as the reference implementation).
    Penalty,
}

/// Options of [`solve`]. Fields marked (penalty) only apply to [`AlMethod::Penalty`], (ADMM) only
/// to [`AlMethod::Admm`].
#[derive(Debug, Clone)]
pub struct AlOptions {
    /// Converged only when the relative violation is at most this …
    pub tol_violation: f64,
    /// … and the objective moved by at most `tol_objective · |objective|` since the last outer step …
    pub tol_objective: f64,
    /// … and the last subproblem was solved to `inner_tol_final`.
    pub inner_tol_final: f64,
    /// Gradient-mapping tolerance of the first subproblem (relative to `max(max_i ‖A_i^T y‖, β)`);
    /// divided by 10 at every outer step down to `inner_tol_final`.
    pub inner_tol0: f64,
    /// A subproblem also counts as solved when its objective fell by at most
    /// `tol_change · |value|` over the last `window` FISTA steps.
    pub tol_change: f64,
    /// Window of that test.
    pub window: usize,
    /// Outer steps.
    pub max_outer: usize,
    /// FISTA iterations per subproblem.
    pub max_inner: usize,
    /// Initial penalty; `None`: `‖A‖² / max_i ‖B_i‖_F²`.
    pub mu0: Option<f64>,
    /// Penalty growth when the violation stalls.
    pub mu_factor: f64,
    /// Wall-clock cap in seconds.
    pub time_limit: f64,
    /// The method.
    pub method: AlMethod,
    /// (ADMM) converged when the certified relative duality gap is at most this (and the
    /// violation at most `tol_violation`).
    pub tol_gap: f64,
    /// (ADMM) iteration cap.
    pub max_iter: usize,
    /// (ADMM) iterations between checks (objective, dual bound, violation, trace point).
    pub check_every: usize,
    /// (ADMM) over-relaxation factor in (0, 2).
    pub relaxation: f64,
    /// (ADMM) let ρ follow ‖∇f(u)‖/‖u‖ at checks (see [`super::admm`]).
    pub adaptive_rho: bool,
    /// (ADMM) Anderson-acceleration memory (0: plain ADMM).
    pub anderson: usize,
    /// (ADMM) Certify with [`super::polish`] after stretches of `polish_after`, `2·polish_after`, …
    /// ADMM iterations (see [`solve_with_loss`]).
    pub polish: bool,
    /// (ADMM) Length of the first stretch.
    pub polish_after: usize,
}

impl Default for AlOptions {
    fn default() -> Self {
        Self {
            tol_violation: 1e-7,
            tol_objective: 1e-7,
            inner_tol_final: 1e-8,
            inner_tol0: 1e-3,
            tol_change: 1e-12,
            window: 200,
            max_outer: 60,
            max_inner: 50_000,
            mu0: None,
            mu_factor: 10.0,
            time_limit: f64::INFINITY,
            method: AlMethod::Admm,
            tol_gap: 1e-6,
            max_iter: 200_000,
            check_every: 10,
            relaxation: 1.6,
            adaptive_rho: true,
            anderson: 10,
            polish: true,
            polish_after: 100,
        }
    }
}

/// One outer check.
#[derive(Debug, Clone, Copy)]
pub struct AlCheck {
    /// Seconds since the start.
    pub seconds: f64,
    /// True §2 objective at the iterate.
    pub objective: f64,
    /// Worst cone-row violation relative to `max_i ‖c_i‖ · max_r ‖b_r‖`.
    pub violation: f64,
    /// Penalty used for this subproblem.
    pub mu: f64,
    /// FISTA iterations of this subproblem.
    pub inner_iterations: usize,
}

/// Result of [`solve`].
#[derive(Debug, Clone)]
pub struct AlResult {
    /// `c_i`, `[P, h]`.
    pub c: Array2<f64>,
    /// `c'_i`, `[P, h]`.
    pub c_prime: Array2<f64>,
    /// True §2 objective at `(c, c')`.
    pub objective: f64,
    /// Worst relative violation of the given cone rows.
    pub violation: f64,
    /// Multipliers of the cone rows: blocks `0..P` for `c`, `P..2P` for `c'`.
    pub multipliers: Vec<Array1<f64>>,
    /// Final penalty.
    pub mu: f64,
    /// Outer steps.
    pub outer_iterations: usize,
    /// FISTA iterations over all subproblems.
    pub inner_iterations: usize,
    /// The stopping criteria were met: (ADMM) certified gap and violation below tolerance;
    /// (penalty) objective change and violation below tolerance and the last subproblem solved.
    pub converged: bool,
    /// Why the run stopped: `converged`, `max_iterations`, `max_time`, `numerical_error`.
    pub stop: &'static str,
    /// A lower bound on the optimum of the program with the given cone rows (ADMM: the best dual
    /// bound of the checks; penalty: −∞, none computed).
    pub lower_bound: f64,
    /// One entry per outer step.
    pub history: Vec<AlCheck>,
    /// One point at the start and after every outer step (iterations = FISTA iterations so far);
    /// (ADMM) a polish that improved the gap adds a point at its end.
    pub trace: Vec<TracePoint>,
    /// (ADMM) pricing rounds of the polishes ([`AlOptions::polish`]) whose result was kept.
    pub polish_rounds: usize,
}

/// The cone rows `B_i` of every pattern listed in `rows[i]` ([`Arrangement::cone_rows`]: row
/// `σ_r M[r]` for sum and average pooling, `σ_r = +1` when the pattern has `r` on, else `−1`).
pub fn cone_matrices(
    m: ArrayView2<f64>,
    arrangement: &Arrangement,
    rows: &[Vec<usize>],
) -> Vec<Array2<f64>> {
    rows.iter()
        .enumerate()
        .map(|(i, rs)| arrangement.cone_rows(m, i, rs))
        .collect()
}

/// Worst violation of the **full** cone constraints (every row of `m`) by the blocks `c` and `c'`
/// (`[P, h]` each), relative to the scale of the whole solution, `max_i max(‖c_i‖, ‖c'_i‖) · max_r ‖M_r‖`
/// (blocks that are zero in the exact optimum leave noise that only this scale judges fairly).
pub fn full_violation(
    m: ArrayView2<f64>,
    arrangement: &Arrangement,
    c: ArrayView2<f64>,
    c_prime: ArrayView2<f64>,
) -> f64 {
    let scale = max_row_norm(c).max(max_row_norm(c_prime)) * max_row_norm(m);
    if scale == 0.0 {
        return 0.0;
    }
    let worst_of = |x: ArrayView2<f64>| {
        (0..arrangement.patterns.len())
            .into_par_iter()
            // A zero block meets every row with equality.
            .filter(|&i| x.row(i).iter().any(|&v| v != 0.0))
            .map(|i| {
                let values = arrangement.cone_values(m, i, &x.row(i).to_vec());
                values.iter().fold(0.0_f64, |w, v| w.max(-v))
            })
            .reduce(|| 0.0, f64::max)
    };
    worst_of(c).max(worst_of(c_prime)) / scale
}

/// True §2 objective.
pub fn objective(
    a: ArrayView3<f64>,
    y: ArrayView1<f64>,
    beta: f64,
    c: ArrayView2<f64>,
    c_prime: ArrayView2<f64>,
) -> f64 {
    let z = &c - &c_prime;
    let r = Operator::new(a).apply(z.view()) - y;
    0.5 * r.dot(&r) + beta * (group_norm_sum(c) + group_norm_sum(c_prime))
}

/// `g_j = B_{j mod P} x_j` for every block of `x` (`[2P, h]`).
fn cone_values(cones: &[Array2<f64>], x: &Array2<f64>, parallel: bool) -> Vec<Array1<f64>> {
    let p = cones.len();
    let one = |j: usize| cones[j % p].dot(&x.row(j));
    if parallel {
        (0..2 * p).into_par_iter().map(one).collect()
    } else {
        (0..2 * p).map(one).collect()
    }
}

/// Solves the constrained program. `cones[i]` holds the signed rows `B_i` (`[m_i, h]`, e.g. from
/// [`cone_matrices`]); `warm` continues from an earlier result (iterate, multipliers and penalty).
pub fn solve(
    a: ArrayView3<f64>,
    y: ArrayView1<f64>,
    beta: f64,
    cones: &[Array2<f64>],
    warm: Option<&AlResult>,
    options: &AlOptions,
) -> AlResult {
    if options.method == AlMethod::Admm {
        let mut loss = DenseLoss::new(a, y);
        return solve_with_loss(&mut loss, a, beta, cones, warm, options);
    }
    penalty::solve(a, y, beta, cones, warm, options)
}

/// ADMM ([`AlMethod::Admm`]) with a prepared loss (its factorization is reused across calls with
/// the same patterns: β paths, constraint-generation rounds) built from `a` (`[P, n, h]`) and `y`.
///
/// With [`AlOptions::polish`] the ADMM runs in stretches of `polish_after`, `2·polish_after`, …
/// iterations, and after each stretch [`super::polish`] tries to certify from its iterate (column
/// generation over all patterns of `a` with these cone rows, exact pricing); the first certified
/// polish ends the run. The result is whichever of the last ADMM iterate and the best polish has
/// the smaller certified gap.
pub fn solve_with_loss(
    loss: &mut DenseLoss,
    a: ArrayView3<f64>,
    beta: f64,
    cones: &[Array2<f64>],
    warm: Option<&AlResult>,
    options: &AlOptions,
) -> AlResult {
    let start = Instant::now();
    let h = a.dim().2;
    let hp = loss.dim();
    let p = hp / h;
    assert_eq!(cones.len(), p, "one cone matrix per pattern");
    assert_eq!(a.dim().0, p, "the loss was built from other patterns");
    let poly = cone::cones(cones);
    let row_scale = cones
        .iter()
        .map(|b| max_row_norm(b.view()))
        .fold(0.0_f64, f64::max);
    let mut warm_u: Option<(Vec<f64>, f64)> = warm.map(|w| {
        let mut u = w.c.iter().copied().collect::<Vec<f64>>();
        u.extend(w.c_prime.iter());
        (u, w.mu)
    });
    let mut stretch = if options.polish {
        options.polish_after.max(1)
    } else {
        options.max_iter
    };
    let mut iterations = 0;
    let mut trace: Vec<TracePoint> = Vec::new();
    let mut rhos: Vec<f64> = Vec::new();
    loop {
        let offset = secs(start);
        let admm_options = AdmmOptions {
            tol_gap: options.tol_gap,
            tol_violation: options.tol_violation,
            max_iter: stretch.min(options.max_iter - iterations),
            check_every: options.check_every,
            time_limit: (options.time_limit - offset).max(0.0),
            rho0: options.mu0,
            relaxation: options.relaxation,
            adaptive_rho: options.adaptive_rho,
            anderson: options.anderson,
        };
        let out = admm::run(
            loss,
            beta,
            h,
            Program::Relu {
                cones: &poly,
                row_scale,
            },
            warm_u.as_ref().map(|(u, rho)| (u.as_slice(), *rho)),
            &admm_options,
        );
        // One clock and one iteration count over the stretches (a warm restart repeats the
        // previous stretch's last point: skip it).
        let skip = usize::from(!trace.is_empty());
        append_trace(&mut trace, &out.trace, offset, iterations, skip);
        rhos.extend(out.rhos.iter().skip(skip));
        iterations += out.iterations;
        let mut res = admm_result(&out, &poly, cones, p, h, &trace, &rhos, iterations);
        let out_of_budget = iterations >= options.max_iter
            || secs(start) >= options.time_limit
            || out.stop == Stop::NumericalError;
        if !options.polish || out.stop == Stop::Converged || out.stop == Stop::NumericalError {
            return res;
        }
        let polished = polish_from(a, loss.y(), beta, cones, &poly, &res, options, start);
        if let Some(pr) = polished {
            let admm_gap = (res.objective - res.lower_bound) / res.objective.abs().max(1e-300);
            if pr.relative_gap < admm_gap || pr.converged {
                let blocks: Vec<f64> = pr.c.iter().chain(pr.c_prime.iter()).copied().collect();
                let violation = admm::relative_violation(&poly, &blocks, h, row_scale);
                trace.push(TracePoint {
                    seconds: secs(start),
                    iterations,
                    objective: pr.objective,
                    violation,
                });
                res.c = pr.c;
                res.c_prime = pr.c_prime;
                res.objective = pr.objective;
                res.lower_bound = pr.lower_bound;
                res.violation = violation;
                // The ADMM's own definition of the gap (relative to |objective|; the polish
                // divides by max(1, |objective|) and was asked for the matching tolerance).
                let gap_met = pr.objective - pr.lower_bound <= options.tol_gap * pr.objective.abs();
                res.converged = gap_met && violation <= options.tol_violation;
                if res.converged {
                    res.stop = "converged";
                }
                res.trace = trace.clone();
                res.polish_rounds += pr.rounds.len();
                if res.converged {
                    return res;
                }
            }
        }
        if out_of_budget {
            return res;
        }
        // Continue the ADMM where it stopped, for twice as long.
        warm_u = Some((out.u.clone(), out.rho));
        stretch = stretch.saturating_mul(2);
    }
}

/// The polish of an ADMM iterate over the patterns of `a` with the given cone rows, under what is
/// left of the time limit; `None` when there is no time left.
#[allow(clippy::too_many_arguments)]
fn polish_from(
    a: ArrayView3<f64>,
    y: &[f64],
    beta: f64,
    cones: &[Array2<f64>],
    poly: &[cone::PolyCone],
    res: &AlResult,
    options: &AlOptions,
    start: Instant,
) -> Option<polish::PolishResult> {
    let left = options.time_limit - secs(start);
    if left <= 0.0 {
        return None;
    }
    let price = |v: ArrayView1<f64>| -> Vec<f64> {
        (0..cones.len())
            .into_par_iter()
            .map(|i| {
                let g = a.index_axis(Axis(0), i).t().dot(&v);
                crate::certify::dual_value(cones[i].view(), g.view())
            })
            .collect()
    };
    let yv = ArrayView1::from(y);
    Some(polish::polish(
        a,
        poly,
        &price,
        yv,
        beta,
        res.c.view(),
        res.c_prime.view(),
        &polish::PolishOptions {
            // `(obj − lb) / max(1, |obj|) ≤ tol · min(1, |obj|)` is the ADMM's `(obj − lb) ≤ tol·|obj|`.
            tol_gap: options.tol_gap * res.objective.abs().min(1.0),
            time_limit: left,
            ..polish::PolishOptions::default()
        },
        &|_| {},
    ))
}

/// The [`AlResult`] of an ADMM run (with the trace and iteration count of all stretches so far).
#[allow(clippy::too_many_arguments)]
fn admm_result(
    out: &admm::AdmmOut,
    poly: &[cone::PolyCone],
    cones: &[Array2<f64>],
    p: usize,
    h: usize,
    trace: &[TracePoint],
    rhos: &[f64],
    iterations: usize,
) -> AlResult {
    let hp = p * h;
    let c = Array2::from_shape_vec((p, h), out.u[..hp].to_vec()).expect("shape");
    let c_prime = Array2::from_shape_vec((p, h), out.u[hp..].to_vec()).expect("shape");
    let multipliers = (0..2 * p)
        .map(|j| {
            Array1::from(poly[j % p].original_multipliers(cones[j % p].view(), &out.multipliers[j]))
        })
        .collect();
    let history: Vec<AlCheck> = trace
        .windows(2)
        .zip(rhos.get(1..).unwrap_or(&[]))
        .map(|(t, &mu)| AlCheck {
            seconds: t[1].seconds,
            objective: t[1].objective,
            violation: t[1].violation,
            mu,
            inner_iterations: t[1].iterations - t[0].iterations,
        })
        .collect();
    AlResult {
        c,
        c_prime,
        objective: out.objective,
        violation: out.violation,
        multipliers,
        mu: out.rho,
        outer_iterations: history.len(),
        inner_iterations: iterations,
        converged: out.stop == Stop::Converged,
        stop: match out.stop {
            Stop::Converged => "converged",
            Stop::MaxIterations => "max_iterations",
            Stop::MaxTime => "max_time",
            Stop::NumericalError => "numerical_error",
        },
        lower_bound: out.lower_bound,
        history,
        trace: trace.to_vec(),
        polish_rounds: 0,
    }
}

/// Result of [`solve_prepared`]: the AL result plus the constraint-generation rounds.
#[derive(Debug, Clone)]
pub struct PreparedResult {
    /// The last AL run (its `inner_iterations`, `outer_iterations` and `history` cover all rounds).
    pub result: AlResult,
    /// Worst violation of the **full** cone constraints, relative (see [`full_violation`]).
    pub full_violation: f64,
    /// The same, absolute (in the rows' units).
    pub worst_violation: f64,
    /// AL runs (1 + re-runs after dropped rows were found violated).
    pub rounds: usize,
    /// Cone rows used per pattern at the end.
    pub rows: Vec<Vec<usize>>,
}

/// Solves the §2 program of a prepared problem from its (reduced) cone rows, then checks every
/// dropped row and re-solves, warm, with the violated ones added (at most `max_rounds` runs, all
/// within one `options.time_limit`).
pub fn solve_prepared(
    prep: &crate::arch::formulation::Prepared,
    y: ArrayView1<f64>,
    beta: f64,
    options: &AlOptions,
    max_rounds: usize,
) -> PreparedResult {
    let mut loss = (options.method == AlMethod::Admm).then(|| DenseLoss::new(prep.a.view(), y));
    solve_prepared_with(prep, loss.as_mut(), y, beta, options, max_rounds, None)
}

/// [`solve_prepared`] with a loss built once by the caller (ADMM; `None` for the penalty method or
/// to build it here) and an optional warm start (a result on the same patterns, e.g. the previous
/// β of a path). The loss must have been built from `prep.a` and `y`.
pub fn solve_prepared_with(
    prep: &crate::arch::formulation::Prepared,
    mut loss: Option<&mut DenseLoss>,
    y: ArrayView1<f64>,
    beta: f64,
    options: &AlOptions,
    max_rounds: usize,
    warm: Option<&AlResult>,
) -> PreparedResult {
    let m = prep.patches.stacked();
    let arr = &prep.arrangement;
    let p = arr.patterns.len();
    let mut rows = prep.rows.clone();
    let mut warm: Option<AlResult> = warm.cloned();
    let mut rounds = 0;
    let start = Instant::now();
    let mut history = Vec::new();
    let mut trace: Vec<TracePoint> = Vec::new();
    let (mut inner, mut outer) = (0, 0);
    loop {
        rounds += 1;
        let cones = cone_matrices(m, arr, &rows);
        // One time budget for all rounds: each gets what is left of it.
        let offset = secs(start);
        let budget = AlOptions {
            time_limit: (options.time_limit - offset).max(0.0),
            ..options.clone()
        };
        let mut res = match loss.as_deref_mut() {
            Some(l) if options.method == AlMethod::Admm => {
                solve_with_loss(l, prep.a.view(), beta, &cones, warm.as_ref(), &budget)
            }
            _ => solve(prep.a.view(), y, beta, &cones, warm.as_ref(), &budget),
        };
        history.extend(res.history.iter().copied());
        append_trace(&mut trace, &res.trace, offset, inner, 0);
        inner += res.inner_iterations;
        outer += res.outer_iterations;
        let scale =
            max_row_norm(res.c.view()).max(max_row_norm(res.c_prime.view())) * max_row_norm(m);
        let blocks: Vec<(usize, Vec<f64>)> = (0..p)
            .flat_map(|i| [(i, res.c.row(i).to_vec()), (i, res.c_prime.row(i).to_vec())])
            .collect();
        let (added, worst) =
            crate::reduce::add_violated(m, arr, &blocks, options.tol_violation * scale, &mut rows);
        // Multipliers of the new rows start at zero (blocks i and P + i share pattern i's rows).
        for (j, lam) in res.multipliers.iter_mut().enumerate() {
            let want = rows[j % p].len();
            if lam.len() < want {
                let mut l = lam.to_vec();
                l.resize(want, 0.0);
                *lam = Array1::from(l);
            }
        }
        // `full_violation` of these blocks: add_violated has just measured the worst row.
        let full = if scale == 0.0 { 0.0 } else { worst / scale };
        if added == 0 || rounds >= max_rounds || secs(start) >= options.time_limit {
            res.history = history;
            res.trace = trace;
            res.inner_iterations = inner;
            res.outer_iterations = outer;
            res.converged &= added == 0 && full <= options.tol_violation;
            return PreparedResult {
                result: res,
                full_violation: full,
                worst_violation: worst,
                rounds,
                rows,
            };
        }
        warm = Some(res);
    }
}

/// The warm start for a program grown by `added` patterns at the end (a working set, generated
/// patterns): blocks and multipliers
/// of the old patterns kept, zeros for the new ones (their multipliers are sized by the next
/// cones, so empty here), the same ρ.
pub fn extend_warm(mut res: AlResult, added: usize, h: usize) -> AlResult {
    let old = res.c.nrows();
    let grow = |x: &Array2<f64>| {
        let mut out = Array2::zeros((old + added, h));
        out.slice_mut(s![..old, ..]).assign(x);
        out
    };
    res.c = grow(&res.c);
    res.c_prime = grow(&res.c_prime);
    let mut mult: Vec<Array1<f64>> = Vec::with_capacity(2 * (old + added));
    let (pos, neg) = res.multipliers.split_at(old);
    mult.extend(pos.iter().cloned());
    mult.extend((0..added).map(|_| Array1::zeros(0)));
    mult.extend(neg.iter().cloned());
    mult.extend((0..added).map(|_| Array1::zeros(0)));
    res.multipliers = mult;
    res
}
