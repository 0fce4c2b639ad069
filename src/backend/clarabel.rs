//! The Clarabel (interior point) backend. Our IR uses Clarabel's own convention, so the lowering is
//! a copy: `P = diag(p)` (upper triangle), `A`, `b`, and the row blocks as cones, with consecutive
//! zero and nonnegative blocks merged.

use super::{Solution, Status};
use crate::error::{Error, Result};
use crate::ir::{ConeKind, ConicProgram};
use clarabel::algebra::CscMatrix;
use clarabel::solver::{DefaultSettings, DefaultSolver, IPSolver, SolverStatus, SupportedConeT};
use serde::Serialize;

/// Clarabel settings a user can reach.
#[derive(Debug, Clone, Serialize)]
pub struct ClarabelSettings {
    /// Absolute duality-gap tolerance.
    pub tol_gap_abs: f64,
    /// Relative duality-gap tolerance.
    pub tol_gap_rel: f64,
    /// Feasibility tolerance.
    pub tol_feas: f64,
    /// Iteration limit.
    pub max_iter: u32,
    /// Time limit in seconds (`f64::INFINITY` for none).
    #[serde(serialize_with = "serialize_limit")]
    pub time_limit: f64,
    /// Print Clarabel's iteration log (to stdout).
    pub verbose: bool,
    /// Sparse LDL factorization of the KKT system.
    pub linear_solver: LinearSolver,
}

/// Clarabel's direct KKT solvers (both pure Rust).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinearSolver {
    /// QDLDL, a simplicial LDLᵀ.
    Qdldl,
    /// faer's supernodal LDLᵀ: much faster when the coupling block is dense.
    Faer,
}

impl LinearSolver {
    fn clarabel_name(self) -> &'static str {
        match self {
            LinearSolver::Qdldl => "qdldl",
            LinearSolver::Faer => "faer",
        }
    }
}

pub(crate) fn serialize_limit<S: serde::Serializer>(
    v: &f64,
    s: S,
) -> std::result::Result<S::Ok, S::Error> {
    if v.is_finite() {
        s.serialize_f64(*v)
    } else {
        s.serialize_none()
    }
}

impl Default for ClarabelSettings {
    fn default() -> Self {
        Self {
            tol_gap_abs: 1e-8,
            tol_gap_rel: 1e-8,
            tol_feas: 1e-8,
            max_iter: 200,
            time_limit: f64::INFINITY,
            verbose: false,
            linear_solver: LinearSolver::Faer,
        }
    }
}

/// Maps Clarabel's statuses; the one table where they are named.
fn status(s: SolverStatus) -> Status {
    match s {
        SolverStatus::Solved => Status::Optimal,
        SolverStatus::AlmostSolved => Status::AlmostSolved,
        SolverStatus::MaxIterations => Status::MaxIterations,
        SolverStatus::MaxTime => Status::MaxTime,
        SolverStatus::PrimalInfeasible => Status::PrimalInfeasible,
        SolverStatus::DualInfeasible => Status::DualInfeasible,
        SolverStatus::AlmostPrimalInfeasible => Status::AlmostPrimalInfeasible,
        SolverStatus::AlmostDualInfeasible => Status::AlmostDualInfeasible,
        SolverStatus::NumericalError => Status::NumericalError,
        SolverStatus::InsufficientProgress => Status::InsufficientProgress,
        _ => Status::Other,
    }
}

/// Clarabel's cones for the program's row blocks, merging runs of zero and nonnegative blocks.
fn cones(program: &ConicProgram) -> Vec<SupportedConeT<f64>> {
    let mut out: Vec<SupportedConeT<f64>> = Vec::new();
    for blk in &program.row_blocks {
        if blk.len == 0 {
            continue;
        }
        match (blk.cone, out.last_mut()) {
            (ConeKind::Zero, Some(SupportedConeT::ZeroConeT(d))) => *d += blk.len,
            (ConeKind::Nonnegative, Some(SupportedConeT::NonnegativeConeT(d))) => *d += blk.len,
            (ConeKind::Zero, _) => out.push(SupportedConeT::ZeroConeT(blk.len)),
            (ConeKind::Nonnegative, _) => out.push(SupportedConeT::NonnegativeConeT(blk.len)),
            (ConeKind::SecondOrder, _) => out.push(SupportedConeT::SecondOrderConeT(blk.len)),
            // Our order is Clarabel's: s₁ e^{s₀/s₁} ≤ s₂.
            (ConeKind::Exponential, _) => out.push(SupportedConeT::ExponentialConeT()),
            (ConeKind::RotatedSecondOrder, _) => {
                unreachable!("rotated cones are rewritten before lowering")
            }
        }
    }
    out
}

/// A program in Clarabel's data: `P` (upper triangle), `q`, `A`, `b`, cones. The objective
/// constant is not part of it.
pub struct Lowered {
    /// Quadratic term, upper triangle (here diagonal).
    pub p: CscMatrix<f64>,
    /// Linear term.
    pub q: Vec<f64>,
    /// Constraint matrix.
    pub a: CscMatrix<f64>,
    /// Right-hand side.
    pub b: Vec<f64>,
    /// Cones, in row order.
    pub cones: Vec<SupportedConeT<f64>>,
}

/// Lowers the IR to Clarabel's data. Clarabel has no rotated cone; rotated blocks are rewritten as
/// plain ones by an isometry, so `x` is untouched.
pub fn lower(program: &ConicProgram) -> Lowered {
    let rewritten;
    let program = if program
        .row_blocks
        .iter()
        .any(|b| b.cone == ConeKind::RotatedSecondOrder)
    {
        rewritten = program.without_rotated_cones();
        &rewritten
    } else {
        program
    };
    let n = program.n_vars();
    let a = program.a_csc();
    let a = CscMatrix::new(a.m, a.n, a.colptr, a.rowval, a.nzval);
    let mut colptr = Vec::with_capacity(n + 1);
    let (mut rowval, mut nzval) = (Vec::new(), Vec::new());
    colptr.push(0);
    for (j, &p) in program.p_diag.iter().enumerate() {
        if p != 0.0 {
            rowval.push(j);
            nzval.push(p);
        }
        colptr.push(rowval.len());
    }
    Lowered {
        p: CscMatrix::new(n, n, colptr, rowval, nzval),
        q: program.q.clone(),
        a,
        b: program.b.clone(),
        cones: cones(program),
    }
}

/// Clarabel's settings for ours.
pub fn clarabel_settings(settings: &ClarabelSettings) -> DefaultSettings<f64> {
    DefaultSettings::<f64> {
        tol_gap_abs: settings.tol_gap_abs,
        tol_gap_rel: settings.tol_gap_rel,
        tol_feas: settings.tol_feas,
        max_iter: settings.max_iter,
        time_limit: settings.time_limit,
        verbose: settings.verbose,
        direct_solve_method: settings.linear_solver.clarabel_name().to_string(),
        ..DefaultSettings::default()
    }
}

/// Solves `program` with Clarabel.
pub fn solve(program: &ConicProgram, settings: &ClarabelSettings) -> Result<Solution> {
    let l = lower(program);
    let mut solver = DefaultSolver::new(
        &l.p,
        &l.q,
        &l.a,
        &l.b,
        &l.cones,
        clarabel_settings(settings),
    )
    .map_err(|e| Error::Solver(format!("Clarabel refused the program: {e}")))?;
    solver.solve();
    let sol = &solver.solution;
    Ok(Solution {
        status: status(sol.status),
        x: sol.x.clone(),
        z: sol.z.clone(),
        primal_objective: sol.obj_val + program.constant,
        dual_objective: sol.obj_val_dual + program.constant,
        iterations: sol.iterations,
        primal_residual: sol.r_prim,
        dual_residual: sol.r_dual,
        solve_time_s: sol.solve_time,
    })
}
