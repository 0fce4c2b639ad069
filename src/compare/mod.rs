//! `cvxcnn compare`: one problem, several solvers, one table — how close each method gets to the
//! interior-point optimum of the convex program (docs/math.md §2), how feasible it is, and how
//! long it takes.
//!
//! | solver | solves | objective reported |
//! |---|---|---|
//! | `clarabel` | the §2 program (interior point), through [`crate::pipeline::solve`]: the **reference** | convex optimum |
//! | `osqp` | the same program (ADMM, feature `osqp`, ℓ1 filter norm only: no cones) | its primal objective |
//! | `fista` | the gated relaxation of §7 ([`crate::first_order::fista`]) — no cone constraints, optimum ≤ the ReLU one | gated objective |
//! | `al` | the §2 program by augmented Lagrangian ([`crate::first_order::al::solve_prepared`]): ADMM certified by the polish | §2 objective at its iterate |
//! | `admm` | the same ADMM without the polish | §2 objective at its iterate |
//! | `sgd` | the nonconvex network itself ([`crate::baseline`], Adam by default) | the trained network's objective |
//! | `generate` | the §2 program over generated patterns ([`crate::generate`], seeded with the `sgd` network when it ran first) | optimum over the generated patterns |
//!
//! Every gap is `(objective − reference) / |reference|`, signed. Clarabel always runs first; if it
//! was not asked for it still runs, as the reference, and the report says so.

mod plot;
mod rows;

pub use plot::{PLOT_FLOOR, plot_svg};
use rows::{generate_row, osqp_row, sgd_row};

use crate::backend::Status;
use crate::baseline::{self, BaselineOptions, BaselineStatus};
use crate::clock::secs;
use crate::first_order::al::{self, AlOptions};
use crate::first_order::fista::{self, FistaOptions};
use crate::geometry::FilterNorm;
use crate::pipeline::{self, Progress, SolveOptions};
use crate::problem::{ArrangementSpec, Problem, Task};
use serde::Serialize;
use std::time::Instant;

/// Gated-ReLU program note shown in place of a violation.
pub const GATED_NOTE: &str = "n/a (gated)";
/// Network note shown in place of a violation.
pub const NETWORK_NOTE: &str = "n/a (network)";

/// The solvers `compare` knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SolverKind {
    /// Clarabel, interior point: the reference.
    Clarabel,
    /// OSQP, ADMM (feature `osqp`; programs without cones).
    Osqp,
    /// Restarted FISTA on the gated relaxation (§7).
    Fista,
    /// Augmented Lagrangian on the §2 program: ADMM, certified by the polish.
    Al,
    /// The same ADMM alone, without the polish ([`AlOptions::polish`] off): how far plain
    /// first-order iterations get.
    Admm,
    /// The nonconvex network trained by Adam / SGD ([`crate::baseline`]).
    Sgd,
    /// The §2 program over generated patterns ([`crate::generate`]): from the problem's sampled
    /// gates, patterns added by pricing until no violation is found or the time limit, seeded with
    /// the `sgd` row's network when that row ran first (so its optimum is ≤ that network's
    /// objective), solved by the AL.
    Generate,
}

impl SolverKind {
    /// Every solver, in table order.
    pub const ALL: [SolverKind; 7] = [
        SolverKind::Clarabel,
        SolverKind::Osqp,
        SolverKind::Fista,
        SolverKind::Al,
        SolverKind::Admm,
        SolverKind::Sgd,
        SolverKind::Generate,
    ];

    /// Name on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            SolverKind::Clarabel => "clarabel",
            SolverKind::Osqp => "osqp",
            SolverKind::Fista => "fista",
            SolverKind::Al => "al",
            SolverKind::Admm => "admm",
            SolverKind::Sgd => "sgd",
            SolverKind::Generate => "generate",
        }
    }

    /// The program the solver works on: `relu` (§2), `gated` (§7) or `network` (nonconvex).
    pub fn program(self) -> &'static str {
        match self {
            SolverKind::Clarabel
            | SolverKind::Osqp
            | SolverKind::Al
            | SolverKind::Admm
            | SolverKind::Generate => "relu",
            SolverKind::Fista => "gated",
            SolverKind::Sgd => "network",
        }
    }

    /// Parses a comma-separated list (`clarabel,fista,sgd`); duplicates are dropped, order kept.
    ///
    /// # Errors
    /// An unknown or empty name, with the valid names listed.
    pub fn parse_list(list: &str) -> Result<Vec<SolverKind>, String> {
        let valid = || {
            SolverKind::ALL
                .iter()
                .map(|s| s.name())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut out = Vec::new();
        for raw in list.split(',') {
            let name = raw.trim();
            let kind = SolverKind::ALL
                .into_iter()
                .find(|s| s.name().eq_ignore_ascii_case(name))
                .ok_or_else(|| {
                    if name.is_empty() {
                        format!(
                            "--solvers {list:?} has an empty name; give a comma-separated list of: {}",
                            valid()
                        )
                    } else {
                        format!(
                            "--solvers: unknown solver {name:?}; valid names are: {}",
                            valid()
                        )
                    }
                })?;
            if !out.contains(&kind) {
                out.push(kind);
            }
        }
        Ok(out)
    }
}

/// Options of [`run`].
#[derive(Debug, Clone)]
pub struct CompareOptions {
    /// Solvers asked for (Clarabel runs first in any case).
    pub solvers: Vec<SolverKind>,
    /// Wall-clock cap in seconds for each solver other than the reference (OSQP, FISTA, AL, SGD).
    pub time_limit: f64,
    /// Width of the `sgd` network; `None`: the decoded width of the reference (at least 1).
    pub width: Option<usize>,
    /// Seed of the `sgd` network.
    pub seed: u64,
    /// Options of the reference solve (Clarabel) and of OSQP.
    pub solve: SolveOptions,
    /// FISTA's options (`time_limit` is overridden by [`CompareOptions::time_limit`]).
    pub fista: FistaOptions,
    /// AL's options (`time_limit` overridden).
    pub al: AlOptions,
    /// Constraint-generation rounds of AL.
    pub al_rounds: usize,
    /// The baseline's options (`width`, `seed` and `time_limit` overridden).
    pub sgd: BaselineOptions,
}

impl Default for CompareOptions {
    fn default() -> Self {
        Self {
            solvers: SolverKind::ALL.to_vec(),
            time_limit: 10.0,
            width: None,
            seed: 0,
            solve: SolveOptions::default(),
            fista: FistaOptions::default(),
            al: AlOptions::default(),
            al_rounds: 5,
            sgd: BaselineOptions::default(),
        }
    }
}

/// One point of a solver's convergence trace.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct TracePoint {
    /// Seconds since the solver started.
    pub seconds: f64,
    /// Iterations so far.
    pub iterations: usize,
    /// Objective at that point (the solver's own program, as in its row).
    pub objective: f64,
    /// AL: worst relative violation of the rows in use (docs/math.md §10); `None` elsewhere.
    pub violation: Option<f64>,
}

/// One row of the table.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    /// Solver name.
    pub solver: &'static str,
    /// `relu`, `gated` or `network`.
    pub program: &'static str,
    /// How it stopped: `optimal`, `almost_solved`, … (Clarabel, OSQP); `converged`,
    /// `max_iterations`, `max_time`, `not_converged` (FISTA, AL); `stalled`, `max_iterations`,
    /// `max_time`, `diverged` (SGD); `skipped` or `failed` when it did not run (see `message`).
    pub status: String,
    /// Its objective; `None` when it did not run or diverged.
    pub objective: Option<f64>,
    /// `(objective − reference) / |reference|`.
    pub relative_gap: Option<f64>,
    /// Worst absolute violation of the full constraint set at the solution (every cone row of every
    /// pattern); `None` where there are no constraints (`fista`, `sgd`): see `violation_note`.
    pub max_constraint_violation: Option<f64>,
    /// Why there is no violation (`n/a (gated)`, `n/a (network)`), or `None`.
    pub violation_note: Option<&'static str>,
    /// Iterations (Clarabel and OSQP over all rounds; FISTA steps; AL's FISTA steps over all
    /// subproblems; SGD optimizer steps).
    pub iterations: Option<usize>,
    /// Solver wall time in seconds, the shared preparation (patterns, `A_i`, reduction) excluded.
    pub seconds: Option<f64>,
    /// More: the stopping test, the SGD width, why a solver was skipped, …
    pub message: Option<String>,
    /// Convergence trace (Clarabel and OSQP: the end point only).
    pub trace: Vec<TracePoint>,
}

impl Row {
    fn empty(kind: SolverKind, status: &str, message: String) -> Self {
        Row {
            solver: kind.name(),
            program: kind.program(),
            status: status.to_string(),
            objective: None,
            relative_gap: None,
            max_constraint_violation: None,
            violation_note: None,
            iterations: None,
            seconds: None,
            message: Some(message),
            trace: Vec::new(),
        }
    }
}

/// The reference solve.
#[derive(Debug, Clone, Serialize)]
pub struct Reference {
    /// Always `clarabel`.
    pub solver: &'static str,
    /// Its status; gaps mean "to the optimum" only when `optimal`.
    pub status: Status,
    /// Its objective (the §2 optimum over the problem's patterns).
    pub objective: f64,
    /// Whether `clarabel` was in the requested list (else it ran only as the reference).
    pub requested: bool,
    /// Neurons of its decoded network (the default SGD width).
    pub neurons: usize,
    /// Whether its dual certificate holds.
    pub certified: bool,
}

/// The whole comparison: the contract of `cvxcnn compare --out` (docs/results.md, "Compare reports").
#[derive(Debug, Clone, Serialize)]
pub struct CompareReport {
    /// The problem file.
    pub problem: String,
    /// Samples.
    pub n: usize,
    /// Patterns `P`.
    pub patterns: usize,
    /// `exact`, `sample` or `gates`: in exact mode the reference is the global optimum of the
    /// nonconvex problem, so no network (SGD) can be below it.
    pub arrangement_mode: &'static str,
    /// Filter norm of the problem.
    pub filter_norm: FilterNorm,
    /// Weight decay.
    pub beta: f64,
    /// Per-solver time limit in seconds (all but the reference).
    pub time_limit_s: f64,
    /// Shared preparation of FISTA and AL (patches, patterns, `A_i`, reduction), seconds.
    pub prepare_s: f64,
    /// The reference.
    pub reference: Reference,
    /// One row per solver, the reference first.
    pub rows: Vec<Row>,
}

fn rel_gap(objective: f64, reference: f64) -> f64 {
    (objective - reference) / reference.abs().max(f64::MIN_POSITIVE)
}

/// Runs the comparison. `progress(phase, done, total)`: `phase` is a solver name (or a preparation
/// phase); `(0, 1)` when a solver starts, `(1, 1)` when it ends; SGD also reports
/// `(iterations, max_iter)`.
///
/// # Errors
/// The reference solve failing outright (bad problem), or invalid options.
pub fn run(
    problem: &Problem,
    options: &CompareOptions,
    progress: Progress,
) -> crate::error::Result<CompareReport> {
    let invalid = |m: String| crate::error::Error::Invalid(m);
    if problem.task != Task::Scalar {
        // The labels in `y` are not targets: comparing on them would be a silent wrong number.
        return Err(crate::error::Error::input(
            &problem.source,
            "a one-vs-rest problem is one program per class; compare one class with \
             \"binary\": {\"positive\": [c], \"negative\": \"rest\"} instead of \"task\"",
        ));
    }
    if !problem.loss.is_squared() {
        return Err(crate::error::Error::input(
            &problem.source,
            format!(
                "compare runs first-order solvers and the SGD baseline built for the squared \
                 loss, not \"loss\": \"{}\"; solve it with cvxcnn solve (Clarabel), or drop \
                 \"loss\"",
                problem.loss.name()
            ),
        ));
    }
    if !matches!(
        problem.architecture,
        crate::problem::Architecture::TwoLayer { .. }
    ) {
        return Err(crate::error::Error::input(
            &problem.source,
            "compare runs the first-order solvers and the SGD baseline on the two-layer program \
             only; use \"kind\": \"two_layer\" (solve other architectures with cvxcnn solve)",
        ));
    }
    if options.time_limit.is_nan() || options.time_limit <= 0.0 {
        return Err(invalid(format!(
            "time limit {}: give a positive number of seconds",
            options.time_limit
        )));
    }
    if options.width == Some(0) {
        return Err(invalid(
            "width 0: the network needs at least one filter".into(),
        ));
    }

    // The reference.
    progress("clarabel", 0, 1);
    let reference = pipeline::solve(problem, &options.solve, progress)?;
    progress("clarabel", 1, 1);
    let ref_obj = reference.objective;
    let t = &reference.timings;
    let clarabel_s = t.build_s + t.solve_s + t.decode_s;
    let clarabel_row = Row {
        solver: "clarabel",
        program: "relu",
        status: reference.status.name().to_string(),
        objective: Some(ref_obj),
        relative_gap: Some(0.0),
        max_constraint_violation: Some(reference.max_constraint_violation),
        violation_note: None,
        iterations: Some(reference.solver.total_iterations as usize),
        seconds: Some(clarabel_s),
        message: Some(format!(
            "reference{}; {} rounds; certificate {} (relative gap {:.1e})",
            if options.solvers.contains(&SolverKind::Clarabel) {
                ""
            } else {
                " (not requested; run as the reference)"
            },
            reference.solver.rounds,
            if reference.certificate.certified {
                "ok"
            } else {
                "NOT certified"
            },
            reference.certificate.relative_gap
        )),
        trace: vec![TracePoint {
            seconds: clarabel_s,
            iterations: reference.solver.total_iterations as usize,
            objective: ref_obj,
            violation: None,
        }],
    };
    let exact = matches!(problem.arrangements, ArrangementSpec::Exact { .. });

    // FISTA and AL share the preparation.
    let needs_prep = options
        .solvers
        .iter()
        .any(|s| matches!(s, SolverKind::Fista | SolverKind::Al | SolverKind::Admm))
        && problem.filter_norm == FilterNorm::L2;
    let (prepared, prepare_s) = if needs_prep {
        let t = Instant::now();
        let p = pipeline::prepare(problem, &options.solve, progress)?;
        (Some(p), secs(t))
    } else {
        (None, 0.0)
    };

    let mut rows = vec![clarabel_row];
    // The `sgd` row's network, which seeds the `generate` row's search when it ran first.
    let mut sgd_network: Option<crate::network::Weights> = None;
    for &kind in &options.solvers {
        let row = match kind {
            SolverKind::Clarabel => continue,
            SolverKind::Osqp => osqp_row(problem, options, ref_obj, progress),
            SolverKind::Fista | SolverKind::Al | SolverKind::Admm
                if problem.filter_norm != FilterNorm::L2 =>
            {
                Row::empty(
                    kind,
                    "skipped",
                    format!(
                        "{} implements the ℓ2 filter norm (group-ℓ2 regularizer); this problem \
                         uses \"filter_norm\": \"l1\"",
                        kind.name()
                    ),
                )
            }
            SolverKind::Fista => {
                // `needs_prep` holds here: FISTA was requested on an ℓ2 problem.
                let prep = prepared.as_ref().expect("prepared for FISTA");
                progress("fista", 0, 1);
                let fo = FistaOptions {
                    time_limit: options.time_limit,
                    ..options.fista.clone()
                };
                let t = Instant::now();
                let r = fista::solve(prep.a.view(), problem.y.view(), problem.beta, None, &fo);
                let seconds = secs(t);
                progress("fista", 1, 1);
                let status = if r.converged {
                    "converged"
                } else if r.iterations >= fo.max_iter {
                    "max_iterations"
                } else {
                    "max_time"
                };
                Row {
                    solver: "fista",
                    program: "gated",
                    status: status.into(),
                    objective: Some(r.objective),
                    relative_gap: Some(rel_gap(r.objective, ref_obj)),
                    max_constraint_violation: None,
                    violation_note: Some(GATED_NOTE),
                    iterations: Some(r.iterations),
                    seconds: Some(seconds),
                    message: Some(format!(
                        "gated relaxation (optimum ≤ ReLU optimum); stop: {}; dual bound {:.10e}",
                        r.stop, r.lower_bound
                    )),
                    trace: r
                        .trace
                        .iter()
                        .map(|p| TracePoint {
                            seconds: p.seconds,
                            iterations: p.iterations,
                            objective: p.objective,
                            violation: None,
                        })
                        .collect(),
                }
            }
            SolverKind::Al | SolverKind::Admm => {
                let prep = prepared.as_ref().expect("prepared for AL");
                let name = kind.name();
                progress(name, 0, 1);
                let ao = AlOptions {
                    time_limit: options.time_limit,
                    polish: options.al.polish && kind == SolverKind::Al,
                    ..options.al.clone()
                };
                let t = Instant::now();
                let r = al::solve_prepared(
                    prep,
                    problem.y.view(),
                    problem.beta,
                    &ao,
                    options.al_rounds,
                );
                let seconds = secs(t);
                progress(name, 1, 1);
                let res = &r.result;
                let status = if res.converged {
                    "converged"
                } else if seconds >= ao.time_limit {
                    "max_time"
                } else if res.stop == "converged" {
                    // Converged on the rows in use, but the full-set check added rows.
                    "not_converged"
                } else {
                    res.stop
                };
                Row {
                    solver: name,
                    program: "relu",
                    status: status.into(),
                    objective: Some(res.objective),
                    relative_gap: Some(rel_gap(res.objective, ref_obj)),
                    max_constraint_violation: Some(r.worst_violation),
                    violation_note: None,
                    iterations: Some(res.inner_iterations),
                    seconds: Some(seconds),
                    message: Some(format!(
                        "{} checks, {} polish rounds, {} rounds; relative full-set violation {:.1e}",
                        res.outer_iterations, res.polish_rounds, r.rounds, r.full_violation
                    )),
                    trace: res
                        .trace
                        .iter()
                        .map(|p| TracePoint {
                            seconds: p.seconds,
                            iterations: p.iterations,
                            objective: p.objective,
                            violation: Some(p.violation),
                        })
                        .collect(),
                }
            }
            SolverKind::Sgd => {
                let (row, network) = sgd_row(problem, options, &reference, exact, progress)?;
                sgd_network = network;
                row
            }
            SolverKind::Generate => {
                generate_row(problem, options, ref_obj, sgd_network.clone(), progress)?
            }
        };
        rows.push(row);
    }

    Ok(CompareReport {
        problem: problem.source.display().to_string(),
        n: problem.y.len(),
        patterns: reference.arrangements,
        arrangement_mode: reference.arrangement_mode,
        filter_norm: problem.filter_norm,
        beta: problem.beta,
        time_limit_s: options.time_limit,
        prepare_s,
        reference: Reference {
            solver: "clarabel",
            status: reference.status,
            objective: ref_obj,
            requested: options.solvers.contains(&SolverKind::Clarabel),
            neurons: reference.neurons,
            certified: reference.certificate.certified,
        },
        rows,
    })
}
