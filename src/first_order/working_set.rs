//! Working-set (column-generation) driver around the ADMM augmented Lagrangian ([`super::al`]) for
//! the ReLU program of docs/math.md §2 with many patterns.
//!
//! The optimum uses few pattern blocks, so the AL runs on a working set `W` only and the rest are
//! priced exactly with the dual certificate ([`crate::certify`]):
//!
//! 1. `W` starts with the `initial` patterns of largest dual value at the zero network
//!    (`max {|yᵀA_i u| : u ∈ cone_i, ‖u‖ ≤ 1}`, [`InitialRule::Correlation`]) or the first
//!    `initial` patterns ([`InitialRule::First`]).
//! 2. The AL solves the program restricted to `W` (warm from the previous round: old blocks kept,
//!    new blocks zero, same ρ; the loss factorization is rebuilt only when `W` changes).
//! 3. With the residual `v = y − ŷ`, every pattern `i` (in `W` or not) gets its exact dual value
//!    `max {|vᵀA_i u| : u ∈ cone_i, ‖u‖ ≤ 1}` (one NNLS per pattern and sign over its irredundant
//!    rows, [`crate::certify::dual_values`]). Scaling `v` into the dual feasible set of **all**
//!    patterns gives a lower bound on the optimum of the full program
//!    ([`crate::certify::scaled_bound`]), and the W-solution (other blocks zero) is feasible for
//!    it, so `objective − lower bound` is a certified gap over all patterns.
//! 4. Stop when that relative gap is at most `tol_gap`. Otherwise add the patterns outside `W`
//!    whose dual value exceeds `β(1 + tol_dual)`, most violated first, at most `batch` per round;
//!    if there are none, the gap is the AL's own inaccuracy on `W`: divide its gap tolerance by 10
//!    and re-solve warm.
//!
//! 5. With [`WorkingSetOptions::polish`] (the default) each round's AL run is capped at
//!    `polish_after · 2^round` iterations and [`super::polish`] runs over **all** patterns from
//!    its solution (it prices and adds patterns itself); a certified polish ends the run. On all
//!    1,797 digits with 2,000 gates the first round already certifies (docs/solvers.md, "First-order
//!    solvers").
//!
//! Nothing is a heuristic: the stop is the certificate over every pattern, whatever `W` is.

use super::al::{self, AlOptions, AlResult};
use super::cone::PolyCone;
use super::dense::DenseLoss;
use super::polish::{self, PolishOptions, PolishResult};
use super::{Operator, TracePoint, append_trace, max_row_norm};
use crate::arch::formulation::Prepared;
use crate::arrangement::ConeRows;
use crate::certify;
use crate::clock::secs;
use crate::geometry::FilterNorm;
use ndarray::{Array2, ArrayView1, Axis};
use serde::Serialize;
use std::time::Instant;

/// How the first working set is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum InitialRule {
    /// The patterns with the largest dual value of `y` (the zero network's residual).
    #[default]
    Correlation,
    /// The first patterns of the arrangement (those of the first gates).
    First,
}

/// Options of [`solve`].
#[derive(Debug, Clone)]
pub struct WorkingSetOptions {
    /// Options of every AL run on the working set; `al.tol_gap` is the inner gap tolerance once
    /// the certified gap is small (divided by 10 whenever no pattern is left to add but the
    /// certified gap is not met, down to `min_inner_tol_gap`); `al.time_limit` is ignored (the
    /// remaining time of `time_limit` is used).
    pub al: AlOptions,
    /// Inner gap tolerance of the first round. While `W` is far from enough, solving on it
    /// accurately is wasted: after each round the inner tolerance becomes
    /// `min(previous, max(al.tol_gap, 0.1 · certified gap))`.
    pub inner_tol_gap0: f64,
    /// Stop when the certified relative gap over all patterns is at most this.
    pub tol_gap: f64,
    /// Size of the first working set.
    pub initial: usize,
    /// How it is chosen.
    pub initial_rule: InitialRule,
    /// At most this many patterns are added per round.
    pub batch: usize,
    /// A pattern outside `W` is added when its dual value exceeds `β(1 + tol_dual)`.
    pub tol_dual: f64,
    /// Smallest inner gap tolerance.
    pub min_inner_tol_gap: f64,
    /// Rounds (AL runs).
    pub max_rounds: usize,
    /// Wall-clock cap in seconds for the whole driver.
    pub time_limit: f64,
    /// After every round, try to certify over all patterns with [`super::polish`] from the
    /// round's solution (column generation with exact pricing; it adds patterns itself). The AL
    /// runs on `W` are then capped at `polish_after · 2^round` iterations: they only have to
    /// find the support, the polish gets the digits.
    pub polish: bool,
    /// First AL cap when polishing.
    pub polish_after: usize,
}

impl Default for WorkingSetOptions {
    fn default() -> Self {
        Self {
            al: AlOptions {
                tol_gap: 1e-5,
                tol_violation: 1e-6,
                // The driver polishes over all patterns itself.
                polish: false,
                ..AlOptions::default()
            },
            inner_tol_gap0: 1e-2,
            tol_gap: 1e-4,
            initial: 200,
            initial_rule: InitialRule::Correlation,
            batch: 200,
            tol_dual: 1e-6,
            min_inner_tol_gap: 1e-9,
            max_rounds: 50,
            time_limit: f64::INFINITY,
            polish: true,
            polish_after: 100,
        }
    }
}

/// One round: an AL run on the working set and the pricing of every pattern.
#[derive(Debug, Clone, Serialize)]
pub struct Round {
    /// `|W|` during the AL run.
    pub working_set: usize,
    /// The AL's gap tolerance in this round.
    pub inner_tol_gap: f64,
    /// AL (ADMM) iterations.
    pub iterations: usize,
    /// Why the AL stopped.
    pub al_stop: &'static str,
    /// Seconds of the loss factorization (0 when `W` did not change).
    pub factor_seconds: f64,
    /// Seconds of the AL run.
    pub al_seconds: f64,
    /// Objective of the W-solution (= of the full program with the other blocks zero).
    pub objective: f64,
    /// The AL's lower bound over `W` only.
    pub al_lower_bound: f64,
    /// Seconds of the pricing of all patterns.
    pub pricing_seconds: f64,
    /// Largest dual value over all patterns.
    pub max_dual_value: f64,
    /// Largest dual value over the patterns outside `W`.
    pub max_dual_outside: f64,
    /// Patterns outside `W` above `β(1 + tol_dual)`.
    pub violators: usize,
    /// Patterns added after this round.
    pub added: usize,
    /// Certified lower bound over all patterns from this round's residual.
    pub lower_bound: f64,
    /// `(objective − best lower bound so far) / max(1, |objective|)`.
    pub relative_gap: f64,
    /// Seconds of the polish over all patterns after the round (0 without).
    pub polish_seconds: f64,
    /// Certified relative gap of that polish (`None` without).
    pub polish_gap: Option<f64>,
    /// Seconds since the start at the end of the round.
    pub seconds: f64,
}

/// Result of [`solve`].
#[derive(Debug, Clone)]
pub struct WorkingSetResult {
    /// Pattern indices of the final working set (into the prepared arrangement), in block order.
    pub working_set: Vec<usize>,
    /// The last AL run on the working set (blocks in `working_set` order).
    pub al: AlResult,
    /// `c_i` for **all** patterns, `[P, h]` (zero outside `W`).
    pub c: Array2<f64>,
    /// `c'_i` for all patterns.
    pub c_prime: Array2<f64>,
    /// Objective of the solution.
    pub objective: f64,
    /// Best certified lower bound over all patterns.
    pub lower_bound: f64,
    /// `(objective − lower_bound) / max(1, |objective|)`.
    pub relative_gap: f64,
    /// `relative_gap ≤ tol_gap` and the solution meets every cone row (`full_violation ≤
    /// al.tol_violation`).
    pub converged: bool,
    /// `converged`, `max_rounds`, `max_time`, `stalled` (no pattern to add and the inner
    /// tolerance at its floor; or a polish that stalled), or `not_converged` (the gap or the
    /// full-row check failed after the last polish).
    pub stop: &'static str,
    /// Largest dual value over all patterns of the last residual.
    pub max_dual_value: f64,
    /// Worst violation of the full cone constraints by the solution (see [`al::full_violation`]).
    pub full_violation: f64,
    /// AL iterations over all rounds.
    pub iterations: usize,
    /// Seconds of the first pricing (choosing `W` by correlation; 0 for [`InitialRule::First`]).
    pub initial_seconds: f64,
    /// One entry per round.
    pub rounds: Vec<Round>,
    /// The AL traces of all rounds, on one clock and one iteration count.
    pub trace: Vec<TracePoint>,
}

/// Solves the §2 ReLU program over all patterns of `prep` (ℓ2 filter norm) to a certified relative
/// gap of `options.tol_gap`, running the AL on a working set only (see the module documentation).
/// Uses `prep.a` for pricing and `prep.rows` (irredundant rows) for the cones and the NNLS.
pub fn solve(
    prep: &Prepared,
    y: ArrayView1<f64>,
    beta: f64,
    options: &WorkingSetOptions,
) -> WorkingSetResult {
    solve_with_progress(prep, y, beta, options, &|_| {})
}

/// [`solve`], calling `progress` with every round as it ends (long runs).
pub fn solve_with_progress(
    prep: &Prepared,
    y: ArrayView1<f64>,
    beta: f64,
    options: &WorkingSetOptions,
    progress: &dyn Fn(&Round),
) -> WorkingSetResult {
    let start = Instant::now();
    let m = prep.patches.stacked();
    let arr = &prep.arrangement;
    let (p, _, h) = prep.a.dim();
    // Cone rows in use: the reduction's, plus any a polish's answer was found to violate.
    let mut rows = prep.rows.clone();
    let price = |rows: &ConeRows, v: ArrayView1<f64>| {
        certify::dual_values(m, arr, &prep.a, rows, v, FilterNorm::L2)
    };
    let initial = options.initial.clamp(1, p);
    let (mut w, initial_seconds): (Vec<usize>, f64) = match options.initial_rule {
        InitialRule::First => ((0..initial).collect(), 0.0),
        InitialRule::Correlation => {
            let t = Instant::now();
            let d = price(&rows, y);
            let mut order: Vec<usize> = (0..p).collect();
            order.sort_by(|&i, &j| d[j].total_cmp(&d[i]).then(i.cmp(&j)));
            order.truncate(initial);
            order.sort_unstable();
            (order, secs(t))
        }
    };
    let mut inner = options.al.clone();
    inner.polish = false;
    inner.tol_gap = options.inner_tol_gap0.max(options.al.tol_gap);
    let mut polished: Option<PolishResult> = None;
    let mut rounds: Vec<Round> = Vec::new();
    let mut trace: Vec<TracePoint> = Vec::new();
    let mut iterations = 0;
    let mut best_lb = f64::NEG_INFINITY;
    let mut warm: Option<AlResult> = None;
    let mut loss: Option<DenseLoss> = None;
    let mut a_w = prep.a.select(Axis(0), &w);
    let (res, stop, max_dual_value) = loop {
        let mut factor_seconds = 0.0;
        if loss.is_none() {
            let t = Instant::now();
            a_w = prep.a.select(Axis(0), &w);
            loss = Some(DenseLoss::new(a_w.view(), y));
            factor_seconds = secs(t);
        }
        let cones: Vec<Array2<f64>> = w.iter().map(|&i| arr.cone_rows(m, i, &rows[i])).collect();
        inner.time_limit = (options.time_limit - secs(start)).max(0.0);
        if options.polish {
            let cap = options
                .polish_after
                .max(1)
                .saturating_mul(1 << rounds.len().min(20));
            inner.max_iter = cap.min(options.al.max_iter);
        }
        let t = Instant::now();
        let res = al::solve_with_loss(
            loss.as_mut().expect("loss built"),
            a_w.view(),
            beta,
            &cones,
            warm.as_ref(),
            &inner,
        );
        let al_seconds = secs(t);
        let (t0, k0) = (
            secs(start) - res.trace.last().map_or(0.0, |t| t.seconds),
            iterations,
        );
        append_trace(&mut trace, &res.trace, t0, k0, 0);
        iterations += res.inner_iterations;

        // Price every pattern at the residual of the W-solution.
        let t = Instant::now();
        let z = &res.c - &res.c_prime;
        let v = &y - &Operator::new(a_w.view()).apply(z.view());
        let d = price(&rows, v.view());
        let pricing_seconds = secs(t);
        let max_dual_value = d.iter().copied().fold(0.0_f64, f64::max);
        let lower_bound = certify::scaled_bound(y, v.view(), beta, max_dual_value)
            .map_or(0.0, |(b, _)| b.max(0.0));
        best_lb = best_lb.max(lower_bound);
        let relative_gap = (res.objective - best_lb) / res.objective.abs().max(1.0);
        let in_w: std::collections::HashSet<usize> = w.iter().copied().collect();
        let mut outside: Vec<usize> = (0..p)
            .filter(|i| !in_w.contains(i) && d[*i] > beta * (1.0 + options.tol_dual))
            .collect();
        outside.sort_by(|&i, &j| d[j].total_cmp(&d[i]).then(i.cmp(&j)));
        let max_dual_outside = (0..p)
            .filter(|i| !in_w.contains(i))
            .map(|i| d[i])
            .fold(0.0_f64, f64::max);
        let violators = outside.len();
        outside.truncate(options.batch);
        let mut converged = relative_gap <= options.tol_gap;
        // The polish over all patterns from this round's solution.
        let (mut polish_seconds, mut polish_gap) = (0.0, None);
        if options.polish && !converged && secs(start) < options.time_limit {
            let t = Instant::now();
            let (c_all, cp_all) = spread(&res, &w, p, h);
            let pr = polish_all_rows(prep, &mut rows, y, beta, c_all, cp_all, options, start);
            polish_seconds = secs(t);
            polish_gap = Some(pr.relative_gap);
            converged = pr.converged;
            if polished
                .as_ref()
                .is_none_or(|q| pr.relative_gap < q.relative_gap)
            {
                polished = Some(pr);
            }
        }
        let added = if converged { 0 } else { outside.len() };
        rounds.push(Round {
            working_set: w.len(),
            inner_tol_gap: inner.tol_gap,
            iterations: res.inner_iterations,
            al_stop: res.stop,
            factor_seconds,
            al_seconds,
            objective: res.objective,
            al_lower_bound: res.lower_bound,
            pricing_seconds,
            max_dual_value,
            max_dual_outside,
            violators,
            added,
            lower_bound,
            relative_gap,
            polish_seconds,
            polish_gap,
            seconds: secs(start),
        });
        progress(rounds.last().expect("pushed"));
        if converged {
            break (res, "converged", max_dual_value);
        }
        if secs(start) > options.time_limit {
            break (res, "max_time", max_dual_value);
        }
        if rounds.len() >= options.max_rounds {
            break (res, "max_rounds", max_dual_value);
        }
        if added == 0 {
            if inner.tol_gap <= options.min_inner_tol_gap {
                break (res, "stalled", max_dual_value);
            }
            inner.tol_gap = (inner.tol_gap * 0.1).max(options.min_inner_tol_gap);
            warm = Some(res);
            continue;
        }
        inner.tol_gap = inner
            .tol_gap
            .min((0.1 * relative_gap).max(options.al.tol_gap));
        // Grow W: old blocks keep their values, new blocks start at zero.
        warm = Some(al::extend_warm(res, added, h));
        w.extend(outside);
        loss = None;
    };
    let (mut c, mut c_prime) = spread(&res, &w, p, h);
    let mut objective = res.objective;
    // The polish's point when it is better certified than the last AL run's.
    if let Some(pr) = polished {
        let al_gap = (objective - best_lb) / objective.abs().max(1.0);
        if pr.relative_gap < al_gap {
            c = pr.c;
            c_prime = pr.c_prime;
            objective = pr.objective;
            best_lb = best_lb.max(pr.lower_bound);
        }
    }
    let mut stop = stop;
    let full_violation = al::full_violation(m, arr, c.view(), c_prime.view());
    let relative_gap = (objective - best_lb) / objective.abs().max(1.0);
    // Certified only when the answer also meets every cone row (`full_violation` is relative).
    let feasible = full_violation <= options.al.tol_violation;
    if stop == "converged" && (relative_gap > options.tol_gap || !feasible) {
        stop = "not_converged";
    }
    WorkingSetResult {
        working_set: w,
        c,
        c_prime,
        objective,
        lower_bound: best_lb,
        relative_gap,
        converged: stop == "converged",
        stop,
        max_dual_value,
        full_violation,
        iterations,
        initial_seconds,
        rounds,
        trace,
        al: res,
    }
}

/// [`polish::polish`] over all patterns of `prep` with the cone rows `rows`, then the check of its
/// answer against every cone row: while some are violated — the reduction keeps the rows its LP
/// finds irredundant to a tolerance, and the polish's extreme directions can cut through a dropped
/// one (7.1e-3 on all digits with 2,000 gates) — they join `rows` and the polish goes again from
/// its answer, as `al::solve_prepared` re-solves. A bound over the larger cones stays a valid
/// bound; `converged` only when the answer meets every row.
#[allow(clippy::too_many_arguments)]
fn polish_all_rows(
    prep: &Prepared,
    rows: &mut ConeRows,
    y: ArrayView1<f64>,
    beta: f64,
    mut c: Array2<f64>,
    mut c_prime: Array2<f64>,
    options: &WorkingSetOptions,
    start: Instant,
) -> PolishResult {
    let m = prep.patches.stacked();
    let arr = &prep.arrangement;
    let p = arr.patterns.len();
    let mut best_lb = f64::NEG_INFINITY;
    loop {
        let mut pr = {
            let cones: Vec<PolyCone> = (0..p)
                .map(|i| PolyCone::new(arr.cone_rows(m, i, &rows[i]).view()))
                .collect();
            let rows: &ConeRows = rows;
            let price =
                |v: ArrayView1<f64>| certify::dual_values(m, arr, &prep.a, rows, v, FilterNorm::L2);
            polish::polish(
                prep.a.view(),
                &cones,
                &price,
                y,
                beta,
                c.view(),
                c_prime.view(),
                &PolishOptions {
                    tol_gap: options.tol_gap,
                    time_limit: (options.time_limit - secs(start)).max(0.0),
                    ..PolishOptions::default()
                },
                &|_| {},
            )
        };
        best_lb = best_lb.max(pr.lower_bound);
        pr.lower_bound = best_lb;
        pr.relative_gap = (pr.objective - best_lb) / pr.objective.abs().max(1.0);
        let scale =
            max_row_norm(pr.c.view()).max(max_row_norm(pr.c_prime.view())) * max_row_norm(m);
        let blocks: Vec<(usize, Vec<f64>)> = (0..p)
            .flat_map(|i| [(i, pr.c.row(i).to_vec()), (i, pr.c_prime.row(i).to_vec())])
            .collect();
        let (added, _) =
            crate::reduce::add_violated(m, arr, &blocks, options.al.tol_violation * scale, rows);
        if added == 0 {
            return pr;
        }
        pr.converged = false;
        pr.stop = "not_converged";
        if secs(start) >= options.time_limit {
            return pr;
        }
        c = pr.c;
        c_prime = pr.c_prime;
    }
}

/// `(c, c')` of a working-set solution spread over all `p` patterns (zero outside `W`).
fn spread(res: &AlResult, w: &[usize], p: usize, h: usize) -> (Array2<f64>, Array2<f64>) {
    let mut c = Array2::zeros((p, h));
    let mut c_prime = Array2::zeros((p, h));
    for (j, &i) in w.iter().enumerate() {
        c.row_mut(i).assign(&res.c.row(j));
        c_prime.row_mut(i).assign(&res.c_prime.row(j));
    }
    (c, c_prime)
}
