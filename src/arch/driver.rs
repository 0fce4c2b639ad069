//! The one solve skeleton every architecture runs (docs/math.md §10):
//!
//! ```text
//! prepare → [build → solve → full-row check → add violated rows]* → decode → forward pass
//!         → certificate (network residual, solver duals) → report
//! ```
//!
//! The reduced program writes only irredundant cone rows, found to a tolerance; so after every
//! solve each block is checked against **all** rows of its pattern's cone, violated rows are added
//! and the program is solved again (at most `max_rounds` times). The decode drops blocks worth less
//! than the solver's accuracy ([`decode_tolerance`]), and the certificate tries the decoded
//! network's residual first, then the solver's own dual vectors.

use crate::arch::formulation::Formulation;
use crate::arch::options::{Progress, SolveOptions, VIOLATION_REL_TOL, decode_tolerance};
use crate::arch::report::{Header, Report, SolverReport};
use crate::backend::clarabel::{ClarabelSettings, LinearSolver};
use crate::backend::{Backend, Solution, Status};
use crate::clock::secs;
use crate::error::Result;
use crate::ir::ConicProgram;
use crate::problem::Problem;
use crate::reduce;
use std::time::Instant;

/// Solves `problem` with formulation `F`: prepare, then [`solve_prepared`].
pub fn solve<F: Formulation>(
    problem: &Problem,
    options: &SolveOptions,
    progress: Progress,
) -> Result<Report<F::Body>> {
    let start = Instant::now();
    F::check(problem, options)?;
    let formulation = F::prepare(problem, options, progress)?;
    solve_prepared(&formulation, problem, options, progress, start)
}

/// Solves several problems that share their inputs and architecture (one-vs-rest classes, several
/// β) with formulation `F`, preparing the label-independent data once — patches, patterns, `A_i`
/// and the reduced cone rows — and solving the problems on it in parallel, results in order.
/// `problems` must not be empty. Each report's timings carry the shared preparation's times (the
/// work its program needed, done once).
pub fn solve_many<F: Formulation>(
    problems: &[Problem],
    options: &SolveOptions,
    progress: Progress,
) -> Result<Vec<Report<F::Body>>> {
    use rayon::prelude::*;
    let start = Instant::now();
    for p in problems {
        F::check(p, options)?;
    }
    let formulation = F::prepare(&problems[0], options, progress)?;
    let done = std::sync::atomic::AtomicUsize::new(0);
    problems
        .par_iter()
        .map(|p| {
            let r = solve_prepared(&formulation, p, options, progress, start);
            let d = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
            progress("classes", d, problems.len());
            r
        })
        .collect()
}

/// The program a solve of `problem` hands to the backend first (what `cvxcnn export` writes).
pub fn first_program<F: Formulation>(
    problem: &Problem,
    options: &SolveOptions,
    progress: Progress,
) -> Result<ConicProgram> {
    let formulation = F::prepare(problem, options, progress)?;
    Ok(formulation.build(problem, &formulation.prepared().rows).0)
}

/// Clarabel's tolerances at most [`CLASSIFICATION_TOL`] for the hinge loss. Its bound
/// `θ Σ y_t v_t` is linear in the dual point's scaling `θ`, unlike the squared loss's, whose
/// maximizer sits inside `[−θ_max, θ_max]`: a dual point off feasibility by `δ` relative costs
/// about `δ` of the bound. At Clarabel's default `1e-8` the hinge digits certificate stalled at a
/// relative gap of 1.4e-6–1.8e-6 for β from 0.1 to 1; at `1e-10` it closes (6.7e-9 at β = 0.1).
/// The logistic loss keeps the defaults: its exponential cones made Clarabel stop at
/// `almost_solved` at `1e-10` on small problems, and at `1e-8` its certificate closes (2.2e-9 on
/// digits). The result's `solver.settings` shows the tolerances used.
fn backend_for(loss: crate::loss::Loss, backend: &Backend) -> Backend {
    match backend {
        Backend::Clarabel(s) if loss == crate::loss::Loss::Hinge => {
            Backend::Clarabel(ClarabelSettings {
                tol_gap_abs: s.tol_gap_abs.min(CLASSIFICATION_TOL),
                tol_gap_rel: s.tol_gap_rel.min(CLASSIFICATION_TOL),
                tol_feas: s.tol_feas.min(CLASSIFICATION_TOL),
                ..s.clone()
            })
        }
        b => b.clone(),
    }
}

/// Clarabel with QDLDL, when Clarabel with faer's LDLᵀ stopped short of optimal on a program with
/// exponential cones. Measured on the 40-digit logistic program with a bias and 30 sampled gates
/// (`bench/interop_logistic.json`, the case issue 14 warned about): faer stops at
/// `insufficient_progress` after 29 iterations, QDLDL solves it (certified, relative gap 7e-7).
fn exponential_retry(backend: &Backend, program: &ConicProgram, sol: &Solution) -> Option<Backend> {
    match backend {
        Backend::Clarabel(s)
            if sol.status != Status::Optimal
                && s.linear_solver == LinearSolver::Faer
                && program
                    .row_blocks
                    .iter()
                    .any(|b| b.cone == crate::ir::ConeKind::Exponential) =>
        {
            Some(Backend::Clarabel(ClarabelSettings {
                linear_solver: LinearSolver::Qdldl,
                ..s.clone()
            }))
        }
        _ => None,
    }
}

/// Clarabel's largest tolerances for the hinge loss (used by the private `backend_for`).
pub const CLASSIFICATION_TOL: f64 = 1e-10;

/// Solves `problem` on prepared data (which must come from `F::prepare` of a problem with the same
/// inputs and architecture; only the targets and β may differ). `start` is when the whole solve
/// began (for `timings.total_s`).
pub fn solve_prepared<F: Formulation>(
    formulation: &F,
    problem: &Problem,
    options: &SolveOptions,
    progress: Progress,
    start: Instant,
) -> Result<Report<F::Body>> {
    let prep = formulation.prepared();
    let mut timings = prep.timings.clone();
    let mut rows = prep.rows.clone();
    let m = prep.patches.stacked();
    let max_row = m
        .outer_iter()
        .map(|r| r.dot(&r).sqrt())
        .fold(0.0_f64, f64::max);
    let mut backend = backend_for(problem.loss, &options.backend);
    let mut rounds = 0;
    let mut total_iterations = 0;
    let (sol, inverse, program, worst) = loop {
        rounds += 1;
        let t = Instant::now();
        let (program, inverse) = formulation.build(problem, &rows);
        timings.build_s += secs(t);
        let t = Instant::now();
        let mut sol = backend.solve(&program)?;
        if let Some(retry) = exponential_retry(&backend, &program, &sol) {
            // The retry's answer is kept only when it is better; either way the result names the
            // settings of the solution it reports.
            let again = retry.solve(&program)?;
            if again.status == Status::Optimal {
                total_iterations += sol.iterations;
                sol = again;
                backend = retry;
            } else {
                total_iterations += again.iterations;
            }
        }
        timings.solve_s += secs(t);
        total_iterations += sol.iterations;
        progress("solve", rounds, options.max_rounds);

        let t = Instant::now();
        let blocks = formulation.blocks(&inverse, &sol.x);
        let scale = blocks
            .iter()
            .map(|(_, c)| c.iter().map(|v| v * v).sum::<f64>().sqrt())
            .fold(0.0_f64, f64::max)
            * max_row;
        let tol = VIOLATION_REL_TOL * scale.max(f64::MIN_POSITIVE);
        let (added, worst) = reduce::add_violated(m, &prep.arrangement, &blocks, tol, &mut rows);
        timings.decode_s += secs(t);
        if added == 0 || rounds >= options.max_rounds || sol.status != Status::Optimal {
            break (sol, inverse, program, worst);
        }
    };

    let t = Instant::now();
    let decoded = formulation.decode(problem, &inverse, &sol, decode_tolerance(&sol, &backend));
    let max_constraint_violation = worst
        .max(program.max_violation(&sol.x))
        .max(decoded.extra_violation);
    timings.decode_s += secs(t);

    let t = Instant::now();
    let y = problem.y.view();
    let mut candidates = vec![problem.loss.dual_point(decoded.outputs.view(), y)];
    candidates.extend(formulation.solver_duals(problem, &inverse, &sol));
    // Without the reduction the rows are all `nK` of every cone; the irredundant ones describe the
    // same cones and keep the per-pattern checks small.
    let cert_rows = if options.reduce {
        rows.clone()
    } else {
        reduce::irredundant(m, &prep.arrangement, &|d, tot| {
            progress("certificate", d, tot)
        })
    };
    let objective = decoded.objective;
    let certificate = formulation.certify(
        problem,
        &inverse,
        &sol,
        &cert_rows,
        &candidates,
        objective.total,
    );
    // A given network is certified against the same candidates plus its own residual.
    let network_certificate = match &options.network {
        None => None,
        Some(weights) => {
            let (given, outputs) = formulation.given_network(problem, weights)?;
            candidates.push(problem.loss.dual_point(outputs.view(), y));
            Some(formulation.certify(
                problem,
                &inverse,
                &sol,
                &cert_rows,
                &candidates,
                given.total,
            ))
        }
    };
    timings.certify_s = secs(t);
    timings.total_s = secs(start);

    let (arrangements, gates_tried, arrangement_mode) = formulation.patterns_used(problem);
    let header = Header {
        status: sol.status,
        objective: sol.primal_objective,
        dual_objective: sol.dual_objective,
        network_objective: objective.total,
        loss: objective.loss,
        regularizer: objective.regularizer,
        beta: problem.beta,
        arrangements,
        gates_tried,
        arrangement_mode,
        generation: problem.arrangements.generation().cloned(),
    };
    Ok(Report {
        program: formulation.program_report(problem, options, &program, &inverse, &rows),
        body: formulation.body(problem, header, decoded, max_constraint_violation),
        timings,
        solver: SolverReport::new(&backend, &sol, total_iterations, rounds),
        certificate,
        network_certificate,
        network: formulation.layout(problem),
        data: formulation.data(problem),
    })
}
