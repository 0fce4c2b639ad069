//! Solver backends: each takes a [`ConicProgram`](crate::ir::ConicProgram) and returns a
//! [`Solution`] whose status says honestly how the solver stopped.

pub mod clarabel;
#[cfg(feature = "osqp")]
pub mod osqp;

use serde::Serialize;

/// How a solver stopped. Only [`Status::Optimal`] is reported as solved.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Converged to the requested tolerances.
    Optimal,
    /// Converged only to the solver's reduced tolerances (Clarabel's `AlmostSolved`).
    AlmostSolved,
    /// The iteration limit was reached first.
    MaxIterations,
    /// The time limit was reached first.
    MaxTime,
    /// The constraints cannot be met.
    PrimalInfeasible,
    /// The objective is unbounded below.
    DualInfeasible,
    /// Infeasible, to reduced tolerances.
    AlmostPrimalInfeasible,
    /// Unbounded, to reduced tolerances.
    AlmostDualInfeasible,
    /// The solver hit a numerical error.
    NumericalError,
    /// The solver stopped making progress.
    InsufficientProgress,
    /// The solver stopped for another reason.
    Other,
}

impl Status {
    /// The snake_case name used in result files.
    pub fn name(self) -> &'static str {
        match self {
            Status::Optimal => "optimal",
            Status::AlmostSolved => "almost_solved",
            Status::MaxIterations => "max_iterations",
            Status::MaxTime => "max_time",
            Status::PrimalInfeasible => "primal_infeasible",
            Status::DualInfeasible => "dual_infeasible",
            Status::AlmostPrimalInfeasible => "almost_primal_infeasible",
            Status::AlmostDualInfeasible => "almost_dual_infeasible",
            Status::NumericalError => "numerical_error",
            Status::InsufficientProgress => "insufficient_progress",
            Status::Other => "other",
        }
    }

    /// What a user can do about a status other than optimal.
    pub fn advice(self) -> &'static str {
        match self {
            Status::Optimal => "",
            Status::AlmostSolved => {
                "the solver met only its reduced tolerances; rerun with --allow-inexact to keep the \
                 result, or rescale the data / raise beta"
            }
            Status::MaxIterations => "raise --max-iter (default 200)",
            Status::MaxTime => "raise --time-limit",
            Status::PrimalInfeasible
            | Status::DualInfeasible
            | Status::AlmostPrimalInfeasible
            | Status::AlmostDualInfeasible => {
                "the program was reported infeasible or unbounded, which cannot happen for a valid \
                 training problem; please report it with the problem file"
            }
            Status::NumericalError | Status::InsufficientProgress | Status::Other => {
                "rescale the data (values of order 1), raise beta, or loosen --tol-gap-rel"
            }
        }
    }
}

/// A backend's answer.
#[derive(Debug, Clone, Serialize)]
pub struct Solution {
    /// How the solver stopped.
    pub status: Status,
    /// Primal variables.
    #[serde(skip)]
    pub x: Vec<f64>,
    /// Dual variables, one per row (Clarabel's `z`: `Px + q + Aᵀz = 0`, `z ∈ K*`).
    #[serde(skip)]
    pub z: Vec<f64>,
    /// Primal objective (including the program's constant).
    pub primal_objective: f64,
    /// Dual objective (including the program's constant).
    pub dual_objective: f64,
    /// Iterations taken.
    pub iterations: u32,
    /// Final primal residual.
    pub primal_residual: f64,
    /// Final dual residual.
    pub dual_residual: f64,
    /// Solver time in seconds (as the solver measured it).
    pub solve_time_s: f64,
}

/// A backend with its settings: the one place a solver is chosen.
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum Backend {
    /// Clarabel, interior point (pure Rust).
    Clarabel(clarabel::ClarabelSettings),
    /// OSQP, operator splitting (first order; linear constraints only). Needs the `osqp` feature.
    #[cfg(feature = "osqp")]
    Osqp(osqp::OsqpSettings),
    /// The first-order augmented Lagrangian (ADMM with its certifying polish) on the two-layer ReLU
    /// program itself (`crate::first_order::solve`); it takes no conic program.
    Al(AlSettings),
}

/// Settings of [`Backend::Al`].
#[derive(Debug, Clone, Serialize)]
pub struct AlSettings {
    /// Stop when the certified relative duality gap over every pattern is at most this.
    pub tol_gap: f64,
    /// ADMM iteration cap.
    pub max_iter: usize,
    /// Wall-clock cap in seconds (`null` for none).
    #[serde(serialize_with = "clarabel::serialize_limit")]
    pub time_limit: f64,
    /// Certify from the ADMM iterates by the exact column-generation polish.
    pub polish: bool,
}

impl Default for AlSettings {
    fn default() -> Self {
        Self {
            tol_gap: 1e-6,
            max_iter: 200_000,
            time_limit: f64::INFINITY,
            polish: true,
        }
    }
}

impl Default for Backend {
    fn default() -> Self {
        Backend::Clarabel(clarabel::ClarabelSettings::default())
    }
}

impl Backend {
    /// The backend's name in result files.
    pub fn name(&self) -> &'static str {
        match self {
            Backend::Clarabel(_) => "clarabel",
            #[cfg(feature = "osqp")]
            Backend::Osqp(_) => "osqp",
            Backend::Al(_) => "al",
        }
    }

    /// Solves `program`.
    pub fn solve(&self, program: &crate::ir::ConicProgram) -> crate::error::Result<Solution> {
        match self {
            Backend::Clarabel(s) => clarabel::solve(program, s),
            #[cfg(feature = "osqp")]
            Backend::Osqp(s) => osqp::solve(program, s),
            Backend::Al(_) => {
                let _ = program;
                Err(crate::error::Error::Solver(
                    "the augmented Lagrangian (--solver al) solves the two-layer ReLU program \
                     itself, not a conic program; use --solver clarabel here"
                        .into(),
                ))
            }
        }
    }

    /// `(absolute, relative)` accuracy the backend is asked for: what "solved" means for it.
    pub fn accuracy(&self) -> (f64, f64) {
        match self {
            Backend::Clarabel(s) => (s.tol_gap_abs, s.tol_gap_rel),
            #[cfg(feature = "osqp")]
            Backend::Osqp(s) => (s.eps_abs, s.eps_rel),
            Backend::Al(s) => (0.0, s.tol_gap),
        }
    }
}
