//! ADMM (the augmented Lagrangian of the splitting `x = u`, Douglas–Rachford form) for both programs:
//!
//! ```text
//! min_x f(x) + Σ_j h_j(u_j)   s.t. x = u
//! f = ½‖A z(x) − y‖²,   h_j = β‖·‖₂ + ι_{K_j}   (K_j = {B_j u ≥ 0}; the whole space when gated)
//! ```
//!
//! ReLU program (§2): `x = (c, c')`, `z = c − c'`. Gated (§7): `x = z`. Each iteration
//! - x-update: `min f(x) + (ρ/2)‖x − (u − w)‖²`, one shifted solve with the cached factorization of
//!   [`DenseLoss`] (for `(c, c')` the sum `c + c'` decouples and only the difference needs the solve,
//!   with shift `ρ/2`);
//! - relaxation `x̂ = αx + (1 − α)u`;
//! - u-update: the prox of each block, `shrink_{β/ρ}(Π_{K_j}(x̂_j + w_j))` — exact, so every `u` is
//!   feasible for the given cone rows to rounding;
//! - `w ← w + x̂ − u`.
//!
//! Every check computes the objective at `u` and a **dual lower bound** from its residual
//! `v = y − A z(u)`: `θv` is dual feasible for `θ = min(1, β / max_i max(‖Π_{K_i}(A_iᵀv)‖,
//! ‖Π_{K_i}(−A_iᵀv)‖))` (for the gated program, `‖A_iᵀv‖`), and `d(θv) = θ vᵀy − ½θ²‖v‖²` bounds the
//! optimum from below. The run stops when the relative gap is below tolerance and the violation
//! too — a certified stop, not a heuristic one. `ρ` is rebalanced from the primal and dual residuals
//! (as OSQP does), refactoring only when it moves by more than 5×.

use super::TracePoint;
use super::anderson::Anderson;
use super::cone::{PolyCone, ProjState};
use super::dense::DenseLoss;
use crate::linalg::norm;
use rayon::prelude::*;
use std::time::Instant;

/// ρ moves (to the geometric mean of itself and its target) when the target leaves
/// `[ρ/RHO_BAND, ρ·RHO_BAND]`, at most once every `RHO_CHECKS` checks.
const RHO_BAND: f64 = 2.0;
const RHO_CHECKS: usize = 5;

/// Default initial ρ as a fraction of the mean eigenvalue of `AᵀA` (measured: the best fixed ρ on
/// digits 3-vs-8 with 40 and 340 samples lies between 0.003 and 0.005 of it).
const RHO0_FRACTION: f64 = 3e-3;

/// An iterate whose objective exceeds this multiple of the reference (`½‖y‖²`, the objective at
/// zero, or the first check's objective if larger) has diverged. Douglas–Rachford with exact
/// proxes does not diverge (and Anderson's steps are kept only when they do not raise the
/// residual), so this is treated as a numerical fault: the run stops `NumericalError` with the
/// best checked iterate instead of running to its time limit. No test reaches it: with the
/// projection fixed, nothing known makes a run diverge. (Measured on digits with 3×3 filters,
/// round 156 of the generation: a projection that was not one — see `cone::is_projection` — took
/// the objective from 0.709 to 8.7e11 in ten iterations and kept it above 1e18 for 45 minutes.)
const DIVERGED: f64 = 1e3;

/// One block of the u-update: index, `(u_j, ξ_j)`, `(projection state, multipliers)`.
type BlockItem<'b> = (
    usize,
    (
        (&'b mut [f64], &'b [f64]),
        (&'b mut ProjState, &'b mut Vec<(usize, f64)>),
    ),
);

/// Options of [`run`].
#[derive(Debug, Clone)]
pub struct AdmmOptions {
    /// Converged when `(objective − lower bound) ≤ tol_gap · |objective|` …
    pub tol_gap: f64,
    /// … and the worst relative violation is at most this.
    pub tol_violation: f64,
    /// Iteration cap.
    pub max_iter: usize,
    /// Iterations between checks.
    pub check_every: usize,
    /// Wall-clock cap, seconds.
    pub time_limit: f64,
    /// Initial `ρ`; `None`: the mean eigenvalue of `AᵀA`.
    pub rho0: Option<f64>,
    /// Over-relaxation `α ∈ (0, 2)`.
    pub relaxation: f64,
    /// Rebalance `ρ` at checks.
    pub adaptive_rho: bool,
    /// Anderson-acceleration memory (0: plain ADMM).
    pub anderson: usize,
}

impl Default for AdmmOptions {
    fn default() -> Self {
        Self {
            tol_gap: 1e-6,
            tol_violation: 1e-7,
            max_iter: 100_000,
            check_every: 10,
            time_limit: f64::INFINITY,
            rho0: None,
            relaxation: 1.6,
            adaptive_rho: true,
            anderson: 10,
        }
    }
}

/// Why a run stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// Gap and violation below tolerance.
    Converged,
    /// Iteration cap.
    MaxIterations,
    /// Time cap.
    MaxTime,
    /// A non-finite value appeared, the factorization failed, or the objective diverged
    /// ([`DIVERGED`]; the best checked iterate is returned).
    NumericalError,
}

/// Result of [`run`].
#[derive(Debug, Clone)]
pub struct AdmmOut {
    /// Blocks `u_j`, `[blocks · h]` (ReLU: `c` blocks then `c'` blocks).
    pub u: Vec<f64>,
    /// Objective at `u`.
    pub objective: f64,
    /// Best dual lower bound.
    pub lower_bound: f64,
    /// Worst relative violation at `u` (0 when gated).
    pub violation: f64,
    /// Iterations.
    pub iterations: usize,
    /// Why it stopped.
    pub stop: Stop,
    /// Final `ρ`.
    pub rho: f64,
    /// One point per check (the first at the start).
    pub trace: Vec<TracePoint>,
    /// `ρ` used up to each trace point.
    pub rhos: Vec<f64>,
    /// Per block: passive rows of the last projection and their multipliers (unit rows, scaled by
    /// `ρ`, i.e. multipliers of the unit rows in the original program).
    pub multipliers: Vec<Vec<(usize, f64)>>,
}

/// The program ADMM runs on.
pub enum Program<'a> {
    /// §7: `P` blocks, no cones.
    Gated,
    /// §2: `2P` blocks; `cones[i]` is pattern `i`'s cone, `row_scale` the largest original row norm
    /// (the violation's scale, as in [`super::al::AlCheck::violation`]).
    Relu {
        cones: &'a [PolyCone],
        row_scale: f64,
    },
}

/// Worst violation of the cone rows by the blocks `u` (`[blocks · h]`, block `j` in cone
/// `j mod P`), relative to `max_j ‖u_j‖ · row_scale` (`row_scale`: the largest original row norm);
/// 0 for `u = 0`. The measure of [`super::al::AlCheck::violation`].
pub fn relative_violation(cones: &[PolyCone], u: &[f64], h: usize, row_scale: f64) -> f64 {
    let p = cones.len();
    let scale = u.chunks(h).map(norm).fold(0.0_f64, f64::max) * row_scale;
    if scale == 0.0 {
        return 0.0;
    }
    u.chunks(h)
        .enumerate()
        .map(|(j, uj)| -cones[j % p].min_scaled_row_value(uj))
        .fold(0.0_f64, f64::max)
        / scale
}

/// Runs ADMM from `warm` (`u`, `ρ`) or zero.
pub fn run(
    loss: &mut DenseLoss,
    beta: f64,
    h: usize,
    program: Program,
    warm: Option<(&[f64], f64)>,
    options: &AdmmOptions,
) -> AdmmOut {
    let start = Instant::now();
    let hp = loss.dim();
    let p = hp / h;
    let (blocks, cones, row_scale) = match program {
        Program::Gated => (p, None, 0.0),
        Program::Relu { cones, row_scale } => {
            assert_eq!(cones.len(), p, "one cone per pattern");
            (2 * p, Some(cones), row_scale)
        }
    };
    let relu = cones.is_some();
    let len = blocks * h;
    let cone_of = |j: usize| cones.map(|c| &c[j % p]);

    let mut rho = options
        .rho0
        .unwrap_or_else(|| (RHO0_FRACTION * loss.mean_eigenvalue()).max(1e-12));
    let mut u = vec![0.0; len];
    // The DR state ξ = u + w (w the scaled multiplier): u = prox_h(ξ) and w = ξ − u.
    let mut xi = vec![0.0; len];
    let z_of = |u: &[f64]| -> Vec<f64> {
        if relu {
            (0..hp).map(|k| u[k] - u[hp + k]).collect()
        } else {
            u.to_vec()
        }
    };
    if let Some((u0, rho0)) = warm {
        assert_eq!(u0.len(), len, "warm start has the wrong size");
        if rho0 > 0.0 && rho0.is_finite() && options.rho0.is_none() {
            rho = rho0;
        }
        // At a fixed point w = −∇f(u)/ρ: (Aᵀv, −Aᵀv)/ρ for (c, c'), Aᵀv/ρ gated.
        let res = loss.residual(&z_of(u0));
        for k in 0..hp {
            xi[k] = u0[k] + res.atv[k] / rho;
            if relu {
                xi[hp + k] = u0[hp + k] - res.atv[k] / rho;
            }
        }
    }
    let shift = |rho: f64| if relu { rho / 2.0 } else { rho };
    let alpha = options.relaxation.clamp(0.05, 1.95);
    let mut states: Vec<ProjState> = vec![ProjState::default(); blocks];
    let mut dual_states: Vec<ProjState> = vec![ProjState::default(); blocks];
    let mut mults: Vec<Vec<(usize, f64)>> = vec![Vec::new(); blocks];
    let mut x = vec![0.0; len];
    let mut g = vec![0.0; len];
    let mut delta = vec![0.0; hp];
    let mut d = vec![0.0; hp];
    let mut trace = Vec::new();
    let mut rhos = Vec::new();
    let mut best_lb = f64::NEG_INFINITY;
    let mut iterations = 0;
    let every = options.check_every.max(1);
    let par_blocks = rayon::current_num_threads() > 1 && relu && blocks >= 64;
    let mut aa = Anderson::new(options.anderson, len);
    // An extrapolated ξ is kept only if its residual is no larger than the last accepted one
    // (SCS's safeguard); otherwise the plain step replaces it.
    let mut pending: Option<(f64, Vec<f64>)> = None;

    let ctx = Ctx {
        beta,
        h,
        hp,
        p,
        cones,
        row_scale,
    };
    let mut stop = Stop::MaxIterations;
    let mut objective = f64::NAN;
    let mut violation = f64::INFINITY;
    if !loss.set_shift(shift(rho)) {
        stop = Stop::NumericalError;
    }
    let mut checks_since_rho = 0;
    let mut prev_objective = f64::INFINITY;
    // The divergence guard: the objective's scale and the best checked iterate.
    let mut reference = f64::NAN;
    let mut best: Option<Best> = None;
    while stop != Stop::NumericalError {
        // u = prox_h(ξ), blockwise: shrink_{β/ρ}(Π_K(ξ_j)).
        let tau = beta / rho;
        let update = |(j, ((uj, xij), (st, mj))): BlockItem| {
            match cone_of(j) {
                Some(cone) => {
                    let act = cone.project(xij, uj, st);
                    *mj = act.into_iter().map(|(r, a)| (r, a * rho)).collect();
                }
                None => uj.copy_from_slice(xij),
            }
            let nrm = norm(uj);
            let scale = if nrm <= tau { 0.0 } else { 1.0 - tau / nrm };
            uj.iter_mut().for_each(|v| *v *= scale);
        };
        if par_blocks {
            u.par_chunks_mut(h)
                .zip(xi.par_chunks(h))
                .zip(states.par_iter_mut().zip(mults.par_iter_mut()))
                .enumerate()
                .with_min_len(16)
                .for_each(update);
        } else {
            u.chunks_mut(h)
                .zip(xi.chunks(h))
                .zip(states.iter_mut().zip(mults.iter_mut()))
                .enumerate()
                .for_each(update);
        }
        if !u.iter().all(|v| v.is_finite()) {
            stop = Stop::NumericalError;
            break;
        }
        // x = prox_f(2u − ξ).
        if relu {
            for k in 0..hp {
                let (vc, vn) = (2.0 * u[k] - xi[k], 2.0 * u[hp + k] - xi[hp + k]);
                delta[k] = vc - vn;
                x[k] = vc + vn; // the sum, for now
            }
            loss.solve_shifted(&delta, &mut d);
            for k in 0..hp {
                let s = x[k];
                x[k] = 0.5 * (s + d[k]);
                x[hp + k] = 0.5 * (s - d[k]);
            }
        } else {
            for k in 0..hp {
                delta[k] = 2.0 * u[k] - xi[k];
            }
            loss.solve_shifted(&delta, &mut x);
        }
        for ((gk, xk), uk) in g.iter_mut().zip(&x).zip(&u) {
            *gk = alpha * (xk - uk);
        }
        let gnorm = norm(&g);
        if !gnorm.is_finite() {
            stop = Stop::NumericalError;
            break;
        }
        if let Some((prev, fallback)) = pending.take()
            && gnorm > prev
        {
            // Rejected extrapolation: take the plain step from the last accepted point.
            xi = fallback;
            aa.reset();
            iterations += 1;
            if iterations >= options.max_iter {
                break;
            }
            continue;
        }
        // u is an accepted iterate: check it.
        if iterations.is_multiple_of(every) {
            let (obj, viol, gap, balance) = ctx.check(loss, &u, &mut dual_states, &mut best_lb);
            objective = obj;
            violation = viol;
            trace.push(TracePoint {
                seconds: start.elapsed().as_secs_f64(),
                iterations,
                objective,
                violation,
            });
            rhos.push(rho);
            if reference.is_nan() {
                reference = objective.max(0.5 * loss.yy());
            }
            if !objective.is_finite() || objective > DIVERGED * reference {
                if let Some(b) = &best {
                    u.copy_from_slice(&b.u);
                    (objective, violation) = (b.objective, b.violation);
                }
                stop = Stop::NumericalError;
                break;
            }
            if best.as_ref().is_none_or(|b| objective < b.objective) {
                match &mut best {
                    Some(b) => {
                        b.u.copy_from_slice(&u);
                        (b.objective, b.violation) = (objective, violation);
                    }
                    None => {
                        best = Some(Best {
                            u: u.clone(),
                            objective,
                            violation,
                        })
                    }
                }
            }
            if gap <= options.tol_gap && violation <= options.tol_violation {
                stop = Stop::Converged;
                break;
            }
            if start.elapsed().as_secs_f64() > options.time_limit {
                stop = Stop::MaxTime;
                break;
            }
            // ρ follows ‖∇f(u)‖/‖u‖ when it is off by more than `RHO_BAND`; the multiplier
            // ρw is kept, so ξ = u + w is rescaled, and the extrapolation memory dropped.
            let ratio = balance / rho;
            checks_since_rho += 1;
            // Early iterates are far from balanced: wait until the objective settles.
            let settled = (objective - prev_objective).abs() <= 1e-2 * objective.abs();
            prev_objective = objective;
            if options.adaptive_rho
                && settled
                && checks_since_rho >= RHO_CHECKS
                && ratio.is_finite()
                && ratio > 0.0
                && !(1.0 / RHO_BAND..=RHO_BAND).contains(&ratio)
            {
                let new_rho = rho * ratio.clamp(1e-3, 1e3);
                checks_since_rho = 0;
                if loss.set_shift(shift(new_rho)) {
                    for (xik, uk) in xi.iter_mut().zip(&u) {
                        *xik = uk + (*xik - uk) * rho / new_rho;
                    }
                    rho = new_rho;
                    aa.reset();
                    continue; // re-evaluate at the rescaled state (not an iteration)
                }
                if !loss.set_shift(shift(rho)) {
                    stop = Stop::NumericalError;
                    break;
                }
            }
        }
        if iterations >= options.max_iter {
            break;
        }
        iterations += 1;
        // Next state: the plain step ξ + g, or its Anderson extrapolation.
        aa.push(&xi, &g);
        let plain: Vec<f64> = xi.iter().zip(&g).map(|(a, b)| a + b).collect();
        match aa.extrapolate(&xi, &g) {
            Some(next) => {
                pending = Some((gnorm, plain));
                xi = next;
            }
            None => xi = plain,
        }
    }
    if trace.is_empty()
        || trace.last().is_some_and(|t| t.iterations != iterations) && stop != Stop::NumericalError
    {
        let (obj, viol, _, _) = ctx.check(loss, &u, &mut dual_states, &mut best_lb);
        objective = obj;
        violation = viol;
        trace.push(TracePoint {
            seconds: start.elapsed().as_secs_f64(),
            iterations,
            objective,
            violation,
        });
        rhos.push(rho);
    }
    AdmmOut {
        u,
        objective,
        lower_bound: best_lb,
        violation,
        iterations,
        stop,
        rho,
        trace,
        rhos,
        multipliers: mults,
    }
}

/// The checked iterate with the smallest objective: what a diverged run returns.
struct Best {
    u: Vec<f64>,
    objective: f64,
    violation: f64,
}

struct Ctx<'a> {
    beta: f64,
    h: usize,
    hp: usize,
    p: usize,
    cones: Option<&'a [PolyCone]>,
    row_scale: f64,
}

impl Ctx<'_> {
    /// `(objective, violation, relative gap)` at `u`; updates the best lower bound.
    fn check(
        &self,
        loss: &DenseLoss,
        u: &[f64],
        dual_states: &mut [ProjState],
        best_lb: &mut f64,
    ) -> (f64, f64, f64, f64) {
        let (h, hp, p) = (self.h, self.hp, self.p);
        let z: Vec<f64> = match self.cones {
            Some(_) => (0..hp).map(|k| u[k] - u[hp + k]).collect(),
            None => u.to_vec(),
        };
        let res = loss.residual(&z);
        let reg: f64 = u.chunks(h).map(norm).sum();
        let objective = res.loss + self.beta * reg;
        // Dual check: the largest value of the pattern's support function at ±Aᵀv.
        let worst = match self.cones {
            None => res.atv.chunks(h).map(norm).fold(0.0_f64, f64::max),
            Some(cones) => {
                let (pos, neg) = dual_states.split_at_mut(p);
                res.atv
                    .par_chunks(h)
                    .zip(pos.par_iter_mut().zip(neg.par_iter_mut()))
                    .enumerate()
                    .with_min_len(16)
                    .map(|(i, (g, (sp, sn)))| {
                        let mut out = vec![0.0; h];
                        cones[i].project(g, &mut out, sp);
                        let a = norm(&out);
                        let minus: Vec<f64> = g.iter().map(|v| -v).collect();
                        cones[i].project(&minus, &mut out, sn);
                        a.max(norm(&out))
                    })
                    .reduce(|| 0.0, f64::max)
            }
        };
        let theta = if worst > self.beta {
            self.beta / worst
        } else {
            1.0
        };
        let lb = theta * res.vy - 0.5 * theta * theta * res.vv;
        if lb.is_finite() {
            *best_lb = best_lb.max(lb);
        }
        let violation = match self.cones {
            None => 0.0,
            Some(cones) => relative_violation(cones, u, h, self.row_scale),
        };
        let gap = (objective - *best_lb) / objective.abs().max(1e-300);
        // ‖∇f(u)‖ / ‖u‖: the multiplier-to-iterate scale, the ρ that balances the two.
        let copies = if self.cones.is_some() { 2.0 } else { 1.0 };
        let un = norm(u);
        let balance = if un > 0.0 {
            (copies * res.atv.iter().map(|v| v * v).sum::<f64>()).sqrt() / un
        } else {
            f64::NAN
        };
        (objective, violation, gap, balance)
    }
}
