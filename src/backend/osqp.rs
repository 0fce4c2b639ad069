//! The OSQP (ADMM) backend, for programs with linear constraints only (behind the `osqp` feature).
//!
//! OSQP solves `min ½xᵀPx + qᵀx  s.t.  l ≤ Ax ≤ u`. The IR's `Ax + s = b, s ∈ K` lowers row by row
//! with the *same* matrix `A`:
//!
//! * zero rows (`s = 0`):         `l = u = b`;
//! * nonnegative rows (`s ≥ 0`):  `l = −∞, u = b`.
//!
//! Because `A` is not negated, OSQP's dual `y` satisfies `Px + q + Aᵀy = 0` with `y ≥ 0` on the
//! rows whose upper bound is active: exactly Clarabel's `z` (`z ∈ K*`), so it is returned unchanged
//! as [`Solution::z`]. Second-order cones have no such lowering and are refused.

use super::{Solution, Status};
use crate::error::{Error, Result};
use crate::ir::{ConeKind, ConicProgram};
use ::osqp::{CscMatrix, Problem, Settings};
use serde::Serialize;
use std::borrow::Cow;
use std::time::Duration;

/// OSQP's infinity (`OSQP_INFTY` in its C sources). A finite stand-in is required: OSQP's
/// infeasibility test forms `l · min(δy, 0)`, which is `NaN` for `l = −∞` and would silently
/// disable primal-infeasibility detection.
const OSQP_INFTY: f64 = 1e30;

/// OSQP settings a user can reach.
#[derive(Debug, Clone, Serialize)]
pub struct OsqpSettings {
    /// Absolute tolerance of the primal and dual residuals.
    pub eps_abs: f64,
    /// Relative tolerance of the primal and dual residuals.
    pub eps_rel: f64,
    /// ADMM iteration limit.
    pub max_iter: u32,
    /// Polish the ADMM solution by solving the KKT system of the guessed active set.
    pub polish: bool,
    /// Time limit in seconds, setup included (`f64::INFINITY` for none).
    #[serde(serialize_with = "serialize_limit")]
    pub time_limit: f64,
    /// Print OSQP's iteration log (to stdout).
    pub verbose: bool,
}

fn serialize_limit<S: serde::Serializer>(v: &f64, s: S) -> std::result::Result<S::Ok, S::Error> {
    if v.is_finite() {
        s.serialize_f64(*v)
    } else {
        s.serialize_none()
    }
}

impl Default for OsqpSettings {
    /// Tighter than OSQP's own `1e-3` so that answers are comparable with Clarabel's; polishing
    /// usually lands on the exact active-set solution anyway, and ADMM may need many iterations.
    fn default() -> Self {
        Self {
            eps_abs: 1e-6,
            eps_rel: 1e-6,
            max_iter: 100_000,
            polish: true,
            time_limit: f64::INFINITY,
            verbose: false,
        }
    }
}

/// Maps OSQP's statuses; the one table where they are named. Only `Solved` is optimal.
fn status(s: &::osqp::Status<'_>) -> Status {
    use ::osqp::Status as O;
    match s {
        O::Solved(_) => Status::Optimal,
        O::SolvedInaccurate(_) => Status::AlmostSolved,
        O::MaxIterationsReached(_) => Status::MaxIterations,
        O::TimeLimitReached(_) => Status::MaxTime,
        O::PrimalInfeasible(_) => Status::PrimalInfeasible,
        O::PrimalInfeasibleInaccurate(_) => Status::AlmostPrimalInfeasible,
        O::DualInfeasible(_) => Status::DualInfeasible,
        O::DualInfeasibleInaccurate(_) => Status::AlmostDualInfeasible,
        // `P = diag(p)` with `p ≥ 0` (checked), so a non-convexity report is a failed factorization.
        O::NonConvex(_) => Status::NumericalError,
        _ => Status::Other,
    }
}

/// OSQP's settings from ours, refusing values OSQP would reject or the wrapper would panic on.
fn osqp_settings(s: &OsqpSettings) -> Result<Settings> {
    let bad = |what: String| Err(Error::Solver(format!("invalid OSQP setting: {what}")));
    if !(s.eps_abs >= 0.0 && s.eps_abs.is_finite() && s.eps_rel >= 0.0 && s.eps_rel.is_finite()) {
        return bad(format!(
            "eps_abs = {} and eps_rel = {} must be finite and ≥ 0",
            s.eps_abs, s.eps_rel
        ));
    }
    if s.eps_abs == 0.0 && s.eps_rel == 0.0 {
        return bad("at least one of eps_abs and eps_rel must be positive".into());
    }
    if s.max_iter == 0 {
        return bad("max_iter must be at least 1".into());
    }
    let time_limit = if s.time_limit == f64::INFINITY {
        None
    } else {
        match Duration::try_from_secs_f64(s.time_limit) {
            Ok(d) if s.time_limit > 0.0 => Some(d),
            _ => {
                return bad(format!(
                    "time_limit = {} must be positive (or infinite for none)",
                    s.time_limit
                ));
            }
        }
    };
    Ok(Settings::default()
        .eps_abs(s.eps_abs)
        .eps_rel(s.eps_rel)
        .max_iter(s.max_iter)
        .polish(s.polish)
        .verbose(s.verbose)
        .time_limit(time_limit))
}

/// Solves a program with linear constraints only (zero and nonnegative rows). Programs with
/// second-order cones get [`Error::Solver`] naming the first such row block.
///
/// When OSQP reports infeasibility it has no iterate to return: `x`, `z`, both objectives and both
/// residuals are then `NaN`.
pub fn solve(program: &ConicProgram, settings: &OsqpSettings) -> Result<Solution> {
    program
        .check()
        .map_err(|e| Error::Solver(format!("OSQP cannot take an invalid program: {e}")))?;
    if let Some(blk) = program.row_blocks.iter().find(|b| !b.cone.is_linear()) {
        let kind = match blk.cone {
            ConeKind::SecondOrder => "second-order",
            ConeKind::RotatedSecondOrder => "rotated second-order",
            _ => "exponential",
        };
        return Err(Error::Solver(format!(
            "OSQP handles only linear constraints, but row block `{}` (rows {}..{}) is a {kind} \
             cone; use `--solver clarabel`",
            blk.name,
            blk.start,
            blk.start + blk.len
        )));
    }
    let (n, m) = (program.n_vars(), program.n_rows());
    if n == 0 {
        return Err(Error::Solver(
            "OSQP needs at least one variable; the program has none".into(),
        ));
    }
    let s = osqp_settings(settings)?;

    let mut l = vec![0.0; m];
    let mut u = vec![0.0; m];
    for blk in &program.row_blocks {
        let rows = blk.start..blk.start + blk.len;
        let lower_inf = blk.cone == ConeKind::Nonnegative;
        for ((li, ui), &bi) in l[rows.clone()]
            .iter_mut()
            .zip(&mut u[rows.clone()])
            .zip(&program.b[rows])
        {
            *li = if lower_inf { -OSQP_INFTY } else { bi };
            *ui = bi;
        }
    }

    // P = diag(p): upper triangular by construction; zeros left out of the pattern.
    let mut indptr = Vec::with_capacity(n + 1);
    let (mut indices, mut data) = (Vec::new(), Vec::new());
    indptr.push(0);
    for (j, &p) in program.p_diag.iter().enumerate() {
        if p != 0.0 {
            indices.push(j);
            data.push(p);
        }
        indptr.push(indices.len());
    }
    let p = CscMatrix {
        nrows: n,
        ncols: n,
        indptr: Cow::Owned(indptr),
        indices: Cow::Owned(indices),
        data: Cow::Owned(data),
    };
    let a = program.a_csc();
    let a = CscMatrix {
        nrows: a.m,
        ncols: a.n,
        indptr: Cow::Owned(a.colptr),
        indices: Cow::Owned(a.rowval),
        data: Cow::Owned(a.nzval),
    };

    // The wrapper asserts on some C return codes (e.g. a failed refactorization while adapting
    // rho); turn such a panic into an error rather than taking the caller down.
    let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut problem = Problem::new(&p, &program.q, &a, &l, &u, &s)
            .map_err(|e| Error::Solver(format!("OSQP refused the program: {e}")))?;
        let result = problem.solve();
        let st = status(&result);
        let iterations = result.iter();
        let solve_time_s = result.run_time().as_secs_f64();
        let iterate = match &result {
            ::osqp::Status::Solved(sol)
            | ::osqp::Status::SolvedInaccurate(sol)
            | ::osqp::Status::MaxIterationsReached(sol)
            | ::osqp::Status::TimeLimitReached(sol) => Some((
                sol.x().to_vec(),
                // `y()` is a slice over OSQP's buffer, which need not exist for m = 0.
                if m == 0 { Vec::new() } else { sol.y().to_vec() },
                sol.pri_res(),
                sol.dua_res(),
            )),
            _ => None,
        };
        Ok::<_, Error>((st, iterations, solve_time_s, iterate))
    }));
    let (status, iterations, solve_time_s, iterate) = match run {
        Ok(r) => r?,
        Err(_) => {
            return Err(Error::Solver(
                "OSQP failed internally (e.g. a failed refactorization); try `--solver clarabel`"
                    .into(),
            ));
        }
    };

    let Some((x, z, primal_residual, dual_residual)) = iterate else {
        return Ok(Solution {
            status,
            x: vec![f64::NAN; n],
            z: vec![f64::NAN; m],
            primal_objective: f64::NAN,
            dual_objective: f64::NAN,
            iterations,
            primal_residual: f64::NAN,
            dual_residual: f64::NAN,
            solve_time_s,
        });
    };
    // Dual objective. The Lagrangian of min ½xᵀPx + qᵀx s.t. Ax + s = b, s ∈ K, with z ∈ K*, is
    //   L = ½xᵀPx + qᵀx + zᵀ(Ax + s − b).
    // Its infimum over s ∈ K is 0 (zᵀs ≥ 0 for z ∈ K*); over x it is attained where
    // Px + q + Aᵀz = 0, giving qᵀx + zᵀAx = −xᵀPx, so
    //   d(z) = −½xᵀPx − bᵀz  (+ constant).
    // At an exact optimum, primal − dual = zᵀ(b − Ax) = zᵀs = 0 (complementarity).
    let x_p_x: f64 = program
        .p_diag
        .iter()
        .zip(&x)
        .map(|(&p, &xi)| p * xi * xi)
        .sum();
    let b_z: f64 = program.b.iter().zip(&z).map(|(b, z)| b * z).sum();
    Ok(Solution {
        status,
        primal_objective: program.objective(&x),
        dual_objective: -0.5 * x_p_x - b_z + program.constant,
        x,
        z,
        iterations,
        primal_residual,
        dual_residual,
        solve_time_s,
    })
}
