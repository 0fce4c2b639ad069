//! A β path: one problem solved for several weight decays, each solve warm-started from the
//! previous one (`cvxcnn path`). The patterns, cone rows and the loss factorization do not depend
//! on β, so they are built once.

use super::al::{self, AlOptions};
use super::dense::DenseLoss;
use super::fista::{self, FistaOptions};
use crate::pipeline::{self, Prepared, SolveOptions};
use crate::problem::Problem;
use serde::Serialize;
use std::time::Instant;

/// Which solver runs the path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PathSolver {
    /// The ReLU program (§1) by the ADMM augmented Lagrangian, warm-started.
    Al,
    /// The gated relaxation (§3) by restarted FISTA, warm-started (a lower bound on `al`).
    Fista,
    /// The ReLU program by `cvxcnn solve` (Clarabel; interior point, so no warm start).
    Clarabel,
}

/// One β of a path.
#[derive(Debug, Clone, Serialize)]
pub struct PathEntry {
    /// Weight decay.
    pub beta: f64,
    /// Objective at the returned point (gated objective for `fista`).
    pub objective: f64,
    /// Certified lower bound on this β's optimum (dual bound of the first-order solvers;
    /// Clarabel's certificate bound).
    pub lower_bound: f64,
    /// Worst relative cone-row violation of the **full** constraint set (0 for `fista`, whose
    /// program has no cone constraints).
    pub violation: f64,
    /// Solver iterations.
    pub iterations: usize,
    /// Seconds for this β (the shared preparation excluded; for `clarabel`, the whole solve).
    pub seconds: f64,
    /// Nonzero blocks: neurons of the decoded network (`al`, `clarabel`) or gated neurons (`fista`).
    pub neurons: usize,
    /// `optimal` when the solver's stopping criteria were met; otherwise why it stopped
    /// (`max_iterations`, `max_time`, `numerical_error`, or Clarabel's status).
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

fn count_nonzero_rows(x: ndarray::ArrayView2<f64>) -> usize {
    x.outer_iter()
        .filter(|r| r.iter().any(|v| *v != 0.0))
        .count()
}

/// Runs the path. `prep` must come from `pipeline::prepare(problem, solve_options, …)`;
/// `clarabel` uses `solve_options` for each β.
pub fn run(
    problem: &Problem,
    prep: &Prepared,
    solve_options: &SolveOptions,
    betas: &[f64],
    solver: PathSolver,
    al_options: &AlOptions,
    fista_options: &FistaOptions,
) -> Result<PathReport, String> {
    check_betas(betas)?;
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
                    neurons: count_nonzero_rows(r.c.view()) + count_nonzero_rows(r.c_prime.view()),
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
            PathSolver::Clarabel => {
                let mut pb = problem.clone();
                pb.beta = beta;
                let quiet = |_: &str, _: usize, _: usize| {};
                let report =
                    pipeline::solve(&pb, solve_options, &quiet).map_err(|e| e.to_string())?;
                PathEntry {
                    beta,
                    objective: report.objective,
                    lower_bound: report.certificate.lower_bound,
                    violation: report.max_constraint_violation,
                    iterations: report.solver.iterations as usize,
                    seconds: t.elapsed().as_secs_f64(),
                    neurons: report.neurons,
                    status: serde_json::to_value(report.status)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_string))
                        .unwrap_or_else(|| format!("{:?}", report.status)),
                }
            }
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
