//! A β path: one problem solved for several weight decays, each solve warm-started from the
//! previous one (`cvxcnn path`). The patterns, cone rows and the loss factorization do not depend
//! on β, so they are built once.

use super::al::{self, AlOptions};
use super::dense::DenseLoss;
use super::fista::{self, FistaOptions};
use crate::arch::dispatch;
use crate::arch::formulation::Prepared;
use crate::arch::options::{DECODE_ACCURACY_FACTOR, SolveOptions};
use crate::geometry::{Activation, FilterNorm};
use crate::problem::{Architecture, Problem, Task};
use serde::Serialize;
use std::time::Instant;

/// Which solver runs the path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PathSolver {
    /// The ReLU program (§2) by the ADMM augmented Lagrangian, warm-started.
    Al,
    /// The gated relaxation (§7) by restarted FISTA, warm-started (a lower bound on `al`).
    Fista,
    /// The ReLU program by `cvxcnn solve` (Clarabel; interior point, so no warm start).
    Clarabel,
}

/// One β of a path.
#[derive(Debug, Clone, Serialize)]
pub struct PathEntry {
    /// Weight decay.
    pub beta: f64,
    /// Objective at the returned point, attained by a network: the first-order solvers' exact
    /// objective at their iterate (gated objective for `fista`), the decoded network's objective
    /// from its forward pass for `clarabel`.
    pub objective: f64,
    /// Certified lower bound on this β's optimum (dual bound of the first-order solvers;
    /// Clarabel's certificate bound), over the same patterns as `objective`.
    pub lower_bound: f64,
    /// Worst relative cone-row violation of the **full** constraint set (0 for `fista`, whose
    /// program has no cone constraints).
    pub violation: f64,
    /// Solver iterations.
    pub iterations: usize,
    /// Seconds for this β (the shared preparation excluded; for `clarabel`, the whole solve).
    pub seconds: f64,
    /// Neurons of the decoded network: blocks worth more than the solver's accuracy (`al`, with
    /// the same rule as `solve`'s decode; `clarabel`: the decoded network), or nonzero gated blocks
    /// (`fista`, whose prox gives exact zeros).
    pub neurons: usize,
    /// `optimal` when the solver's stopping criteria were met (for `clarabel`: status `optimal`
    /// and the certificate closed to 1e-6); otherwise why it stopped (`max_iterations`,
    /// `max_time`, `numerical_error`, Clarabel's status, or `not_certified`).
    pub status: String,
}

/// A whole path.
#[derive(Debug, Clone, Serialize)]
pub struct PathReport {
    /// Solver used.
    pub solver: PathSolver,
    /// Samples.
    pub n: usize,
    /// Patterns.
    pub patterns: usize,
    /// Seconds spent on arrangements, reduction and (for `al`) the loss factorization.
    pub prepare_s: f64,
    /// One entry per β, in the order given.
    pub entries: Vec<PathEntry>,
}

/// Checks a list of weight decays: nonempty, finite, positive, no repeats. Returns a message
/// naming the bad value.
pub fn check_betas(betas: &[f64]) -> Result<(), String> {
    if betas.is_empty() {
        return Err("no β given; pass e.g. --betas 0.1,0.05,0.02".into());
    }
    for (k, &b) in betas.iter().enumerate() {
        if !(b.is_finite() && b > 0.0) {
            return Err(format!(
                "β = {b} (entry {} of --betas) is not allowed; every β must be a finite number > 0",
                k + 1
            ));
        }
        if betas[..k].contains(&b) {
            return Err(format!(
                "β = {b} appears twice in --betas; list each weight decay once"
            ));
        }
    }
    Ok(())
}

/// Refuses what a path with `solver` cannot solve, in words a user can act on: one-vs-rest
/// problems (one program per class), and for the first-order solvers anything but the two-layer
/// ReLU program with the ℓ2 filter norm.
pub fn check_problem(problem: &Problem, solver: PathSolver) -> Result<(), String> {
    let file = problem.source.display();
    if problem.task != Task::Scalar {
        return Err(format!(
            "{file}: a one-vs-rest problem is one program per class; run the path on one class \
             with \"binary\": {{\"positive\": [c], \"negative\": \"rest\"}} instead of \"task\""
        ));
    }
    if !problem.loss.is_squared() {
        return Err(format!(
            "{file}: path is built for the squared loss, not \"loss\": \"{}\"; solve each β \
             with cvxcnn solve, or drop \"loss\"",
            problem.loss.name()
        ));
    }
    if solver == PathSolver::Clarabel {
        return Ok(());
    }
    let name = match solver {
        PathSolver::Al => "al",
        _ => "fista",
    };
    let refuse = |what: &str| {
        Err(format!(
            "{file}: path --solver {name} solves the two-layer ReLU program with the ℓ2 filter \
             norm, not {what}; use --solver clarabel for this problem"
        ))
    };
    match problem.architecture {
        Architecture::Circular { .. } => refuse("the circular CNN (\"kind\": \"circular\")"),
        Architecture::ThreeLayer { .. } => {
            refuse("the three-layer CNN (\"kind\": \"three_layer\")")
        }
        Architecture::TwoLayer {
            activation: Activation::Linear,
            ..
        } => refuse("a linear network (\"activation\": \"linear\")"),
        Architecture::TwoLayer { .. } if problem.filter_norm == FilterNorm::L1 => {
            refuse("the ℓ1 filter norm (\"filter_norm\": \"l1\")")
        }
        Architecture::TwoLayer { .. } => Ok(()),
    }
}

fn count_nonzero_rows(x: ndarray::ArrayView2<f64>) -> usize {
    x.outer_iter()
        .filter(|r| r.iter().any(|v| *v != 0.0))
        .count()
}

/// The neurons the decode would keep from an AL result: blocks whose removal costs more than the
/// solver's accuracy (`DECODE_ACCURACY_FACTOR · (objective − lower bound)`), as in `solve`.
fn al_neurons(prep: &Prepared, r: &al::AlResult, y: ndarray::ArrayView1<f64>, beta: f64) -> usize {
    let p = r.c.nrows();
    let rows = |x: &ndarray::Array2<f64>, i: usize| x.row(i).to_vec();
    let owned: Vec<[Vec<f64>; 2]> = (0..p)
        .map(|i| [rows(&r.c, i), rows(&r.c_prime, i)])
        .collect();
    let blocks: Vec<[&[f64]; 2]> = owned.iter().map(|[a, b]| [&a[..], &b[..]]).collect();
    let values: Vec<[f64; 2]> = blocks
        .iter()
        .map(|b| b.map(|c| FilterNorm::L2.of(c)))
        .collect();
    let tol = DECODE_ACCURACY_FACTOR * (r.objective - r.lower_bound).abs();
    let tau = crate::arch::two_layer::block_threshold(&prep.a, &blocks, &values, y, beta, tol);
    values
        .iter()
        .flatten()
        .filter(|&&v| v > tau && v > 0.0)
        .count()
}

/// Runs the path. The first-order solvers need `prep` from `pipeline::prepare(problem,
/// solve_options, …)` (shared by every β); `clarabel` solves each β from scratch with
/// `solve_options` and any architecture.
pub fn run(
    problem: &Problem,
    prep: Option<&Prepared>,
    solve_options: &SolveOptions,
    betas: &[f64],
    solver: PathSolver,
    al_options: &AlOptions,
    fista_options: &FistaOptions,
) -> Result<PathReport, String> {
    check_betas(betas)?;
    check_problem(problem, solver)?;
    if solver == PathSolver::Clarabel {
        return run_clarabel(problem, solve_options, betas);
    }
    let prep = prep.ok_or("path: the first-order solvers need the prepared patterns")?;
    let (p, n, _) = prep.a.dim();
    let y = problem.y.view();
    let start = Instant::now();
    let mut loss = (solver == PathSolver::Al).then(|| DenseLoss::new(prep.a.view(), y));
    let prepare_s =
        prep.timings.arrangements_s + prep.timings.reduction_s + start.elapsed().as_secs_f64();
    let mut entries = Vec::with_capacity(betas.len());
    let mut warm_al: Option<al::AlResult> = None;
    let mut warm_z: Option<ndarray::Array2<f64>> = None;
    for &beta in betas {
        let t = Instant::now();
        let entry = match solver {
            PathSolver::Al => {
                let out = al::solve_prepared_with(
                    prep,
                    loss.as_mut(),
                    y,
                    beta,
                    al_options,
                    5,
                    warm_al.as_ref(),
                );
                let r = &out.result;
                let entry = PathEntry {
                    beta,
                    objective: r.objective,
                    lower_bound: r.lower_bound,
                    violation: out.full_violation,
                    iterations: r.inner_iterations,
                    seconds: t.elapsed().as_secs_f64(),
                    neurons: al_neurons(prep, r, y, beta),
                    status: if r.converged { "optimal" } else { r.stop }.to_string(),
                };
                warm_al = Some(out.result);
                entry
            }
            PathSolver::Fista => {
                let r = fista::solve(
                    prep.a.view(),
                    y,
                    beta,
                    warm_z.as_ref().map(|z| z.view()),
                    fista_options,
                );
                let entry = PathEntry {
                    beta,
                    objective: r.objective,
                    lower_bound: r.lower_bound,
                    violation: 0.0,
                    iterations: r.iterations,
                    seconds: t.elapsed().as_secs_f64(),
                    neurons: count_nonzero_rows(r.z.view()),
                    status: if r.converged {
                        "optimal".to_string()
                    } else {
                        r.stop.replace(' ', "_")
                    },
                };
                warm_z = Some(r.z);
                entry
            }
            PathSolver::Clarabel => unreachable!("returned above"),
        };
        entries.push(entry);
    }
    Ok(PathReport {
        solver,
        n,
        patterns: p,
        prepare_s,
        entries,
    })
}

/// The path by Clarabel: every β solved from scratch by `solve` (any architecture).
fn run_clarabel(
    problem: &Problem,
    solve_options: &SolveOptions,
    betas: &[f64],
) -> Result<PathReport, String> {
    let quiet = |_: &str, _: usize, _: usize| {};
    let mut entries = Vec::with_capacity(betas.len());
    let mut patterns = 0;
    for &beta in betas {
        let t = Instant::now();
        let mut pb = problem.clone();
        pb.beta = beta;
        let report = dispatch::solve(&pb, solve_options, &quiet).map_err(|e| e.to_string())?;
        let iterations = report.solver().iterations;
        let c = report.certificate();
        patterns = c.patterns;
        let status = match report.status() {
            crate::backend::Status::Optimal if !c.certified => "not_certified".to_string(),
            s => s.name().to_string(),
        };
        entries.push(PathEntry {
            beta,
            objective: report.header().network_objective,
            lower_bound: c.lower_bound,
            violation: report.max_constraint_violation(),
            iterations: iterations as usize,
            seconds: t.elapsed().as_secs_f64(),
            neurons: report.neurons(),
            status,
        });
    }
    Ok(PathReport {
        solver: PathSolver::Clarabel,
        n: problem.n(),
        patterns,
        prepare_s: 0.0,
        entries,
    })
}
