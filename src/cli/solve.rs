//! `cvxcnn solve` and `cvxcnn certify`.

use super::args::{CouplingArg, SolverArgs, backend};
use super::output::{check_writable, write_json};
use super::progress::progress_bar;
use clap::Args;
use cvxcnn::backend::Status;
use cvxcnn::pipeline::{self, SolveOptions};
use cvxcnn::problem::{Problem, Task};
use cvxcnn::task::{self, Outcome};
use serde::Serialize;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args)]
pub(crate) struct SolveArgs {
    /// Problem file (JSON; paths inside are relative to it).
    pub(crate) problem: PathBuf,
    /// Write the result here instead of stdout (atomically: nothing is written on failure).
    #[arg(long)]
    pub(crate) out: Option<PathBuf>,
    /// Write every cone row (no exact constraint reduction).
    #[arg(long)]
    pub(crate) no_reduce: bool,
    /// No progress bar and no summary line on stderr.
    #[arg(long)]
    pub(crate) quiet: bool,
    /// Keep a result whose solver status is not `optimal` (the status is reported as it is).
    #[arg(long)]
    pub(crate) allow_inexact: bool,
    /// How the loss couples the pattern blocks: `direct`, `difference`, `compressed`, or `auto`.
    #[arg(long, value_enum, default_value = "auto")]
    pub(crate) coupling: CouplingArg,
    /// Also certify this network (JSON with `filters` and `output_weights`, the result-file layout):
    /// its objective, the lower bound, and its gap to the optimum.
    #[arg(long)]
    pub(crate) network: Option<PathBuf>,
    /// certify only: bound the dual constraint over every filter by branch and bound and write a
    /// certificate of scope `global` (two-layer ReLU, ℓ2); `--time-limit` then bounds the search.
    #[arg(long)]
    pub(crate) global: bool,
    /// certify --global only: the most cones the branch and bound evaluates.
    #[arg(long)]
    pub(crate) max_cones: Option<usize>,
    #[command(flatten)]
    pub(crate) solver: SolverArgs,
}

pub(crate) fn options(args: &SolveArgs) -> Result<SolveOptions, String> {
    let network = match &args.network {
        None => None,
        Some(path) => {
            let bytes = std::fs::read(path)
                .map_err(|e| format!("{}: {e} (check the --network path)", path.display()))?;
            // A safetensors network is read once the problem (its shapes) is known: `solve`.
            if super::export_network::is_safetensors(&bytes) {
                return Ok(SolveOptions {
                    network: None,
                    ..options_without_network(args)?
                });
            }
            let text = String::from_utf8_lossy(&bytes);
            Some(
                serde_json::from_str::<pipeline::Weights>(&text).map_err(|e| {
                    format!(
                        "{}: {e}; a network file needs \"filters\" (one list per neuron), \
                         \"output_weights\" and, for an architecture with a bias, \"biases\"",
                        path.display()
                    )
                })?,
            )
        }
    };
    Ok(SolveOptions {
        network,
        ..options_without_network(args)?
    })
}

fn options_without_network(args: &SolveArgs) -> Result<SolveOptions, String> {
    Ok(SolveOptions {
        network: None,
        reduce: !args.no_reduce,
        backend: backend(&args.solver, args.out.is_some())?,
        coupling: args.coupling.choice(),
        ..SolveOptions::default()
    })
}

pub(crate) fn solve(args: &SolveArgs, certify_only: bool) -> Result<ExitCode, String> {
    if certify_only && args.global {
        return super::global::certify_global(args);
    }
    if args.global || args.max_cones.is_some() {
        return Err(if certify_only {
            "--max-cones is an option of certify --global; add --global or drop it".into()
        } else {
            "--global and --max-cones are options of cvxcnn certify, not solve".into()
        });
    }
    let mut opts = options(args)?;
    if let Some(out) = &args.out {
        check_writable(out, "--out")?;
    }
    let problem = Problem::load(&args.problem).map_err(|e| e.to_string())?;
    opts.backend = super::args::resolve_auto(&args.solver, &problem, opts.backend);
    if let Some(path) = &args.network
        && opts.network.is_none()
    {
        let bytes = std::fs::read(path)
            .map_err(|e| format!("{}: {e} (check the --network path)", path.display()))?;
        opts.network = Some(super::export_network::read_network(path, &bytes, &problem)?);
    }
    if let (Some(w), Some(path), cvxcnn::problem::Architecture::TwoLayer { geometry, bias, .. }) =
        (&opts.network, &args.network, problem.architecture)
    {
        // Refused before anything is solved, naming the network file.
        w.check(geometry.filter_len(problem.x.dim().1), bias)
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    if opts.network.is_some() && problem.task != Task::Scalar {
        return Err(format!(
            "{}: --network certifies one scalar network, but the problem is one-vs-rest; certify \
             it against one class with \"binary\": {{\"positive\": [c], \"negative\": \"rest\"}}",
            args.problem.display()
        ));
    }
    let progress = progress_bar(args.quiet);
    let outcome = task::solve(&problem, &opts, &progress).map_err(|e| e.to_string())?;
    let reports: Vec<(String, &pipeline::Solved)> = match &outcome {
        Outcome::Scalar(s) => vec![(String::new(), &s.report)],
        Outcome::OneVsRest(r) => r
            .models
            .iter()
            .map(|m| (format!("class {}: ", m.class), &m.outcome.report))
            .collect(),
    };
    // What failed, per model: the solver's status, or the certificate (never "optimal" for
    // an uncertified answer without saying so).
    let mut failure = None;
    for (who, report) in &reports {
        let status = report.status();
        let c = report.certificate();
        if status != Status::Optimal {
            let solver = report.solver();
            let (iterations, primal, dual) = (
                solver.iterations,
                solver.primal_objective,
                solver.dual_objective,
            );
            failure.get_or_insert(format!(
                "{}: {who}the solver stopped with status {} after {iterations} iterations (primal \
                 {primal:.6e}, dual {dual:.6e}); {}",
                args.problem.display(),
                status.name(),
                status.advice()
            ));
        } else if !c.certified {
            failure.get_or_insert(format!(
                "{}: {who}the solver ({}) reported optimal, but the certificate does not close: \
                 relative gap {:.3e} > {:.0e} (max dual violation {:.3e}); {}",
                args.problem.display(),
                opts.backend.name(),
                c.relative_gap,
                cvxcnn::certify::CERTIFIED_REL_GAP,
                c.max_dual_violation,
                tighten(&opts.backend)
            ));
        }
    }
    if let Some(why) = &failure
        && !certify_only
        && !args.allow_inexact
    {
        return Err(format!(
            "{why}; pass --allow-inexact to keep the result anyway; no result written"
        ));
    }
    if !args.quiet {
        for (who, report) in &reports {
            let c = report.certificate();
            let (size, total_s) = match report {
                pipeline::Solved::TwoLayer(r) => (
                    format!("{} neurons from {} patterns", r.neurons, r.arrangements),
                    r.timings.total_s,
                ),
                pipeline::Solved::ThreeLayer(r) => (
                    format!(
                        "{} sub-networks with {} inner filters from {} inner × {} outer patterns",
                        r.subnetworks, r.neurons, r.arrangements, r.outer_patterns
                    ),
                    r.timings.total_s,
                ),
            };
            eprintln!(
                "cvxcnn: {who}{} objective {:.10e} (network {:.10e}), {size}, certificate {}, \
                 relative gap {:.2e} ({}), {total_s:.2} s",
                report.status().name(),
                report.header().objective,
                report.header().network_objective,
                if c.certified { "ok" } else { "NOT certified" },
                c.relative_gap,
                match c.scope {
                    cvxcnn::certify::Scope::Global => "global: over every pattern",
                    cvxcnn::certify::Scope::SampledPatterns => {
                        "over the sampled patterns only, not the global optimum"
                    }
                },
            );
            if let (Some(requested), pipeline::Solved::TwoLayer(r)) = (opts.coupling, report)
                && requested != r.program.coupling
                && r.program.cone_rows_full > 0
            {
                eprintln!(
                    "cvxcnn: note: --coupling {} needs more samples than program columns (n > \
                     hP); the loss was written with the {} coupling",
                    coupling_name(requested),
                    coupling_name(r.program.coupling)
                );
            }
        }
        let acc = |a: Option<f64>| a.map_or("-".to_string(), |a| format!("{:.4}", a));
        match &outcome {
            Outcome::Scalar(s) if s.train_accuracy.is_some() || s.test_loss.is_some() => eprintln!(
                "cvxcnn: training accuracy {}, test accuracy {}",
                acc(s.train_accuracy),
                acc(s.test_accuracy)
            ),
            Outcome::OneVsRest(r) => eprintln!(
                "cvxcnn: {} classes, training accuracy {:.4}, test accuracy {}",
                r.classes.len(),
                r.train_accuracy,
                acc(r.test_accuracy)
            ),
            _ => {}
        }
    }
    if certify_only {
        write_certificates(&outcome, args)?;
        return match failure {
            // The certificate is written either way: its bound is valid whatever the solver did,
            // and it shows why the gap did not close.
            Some(why) => Err(format!(
                "{why}; the certificate was written with \"certified\": false"
            )),
            None => Ok(ExitCode::SUCCESS),
        };
    }
    write_json(&outcome, args.out.as_deref())?;
    Ok(ExitCode::SUCCESS)
}

/// How to tighten `backend` when its answer did not certify.
fn tighten(backend: &cvxcnn::backend::Backend) -> &'static str {
    match backend.name() {
        "al" => "tighten the al solver's --tol-gap (e.g. 1e-8) or use --solver clarabel",
        "osqp" => {
            "tighten OSQP's tolerances (e.g. --eps-abs 1e-9 --eps-rel 1e-9) or use --solver \
             clarabel"
        }
        _ => {
            "tighten Clarabel's tolerances (e.g. --tol-gap-abs 1e-10 --tol-gap-rel 1e-10 \
             --tol-feas 1e-10)"
        }
    }
}

fn coupling_name(c: cvxcnn::arch::two_layer::Coupling) -> &'static str {
    use cvxcnn::arch::two_layer::Coupling;
    match c {
        Coupling::Direct => "direct",
        Coupling::Difference => "difference",
        Coupling::Compressed => "compressed",
    }
}

/// Writes what `certify` prints: the certificate, one per class for one-vs-rest, or the given
/// network's certificate beside the optimum's with `--network`.
fn write_certificates(outcome: &Outcome, args: &SolveArgs) -> Result<(), String> {
    let report = match outcome {
        Outcome::Scalar(s) => match &s.report {
            pipeline::Solved::TwoLayer(r) => r,
            pipeline::Solved::ThreeLayer(r) => {
                return write_json(&r.certificate, args.out.as_deref());
            }
        },
        Outcome::OneVsRest(r) => {
            #[derive(Serialize)]
            struct ClassCertificate<'a> {
                class: i64,
                certificate: &'a cvxcnn::certify::Certificate,
            }
            #[derive(Serialize)]
            struct PerClass<'a> {
                task: &'static str,
                classes: Vec<ClassCertificate<'a>>,
            }
            let classes = r
                .models
                .iter()
                .map(|m| ClassCertificate {
                    class: m.class,
                    certificate: m.outcome.report.certificate(),
                })
                .collect();
            return write_json(
                &PerClass {
                    task: "one_vs_rest",
                    classes,
                },
                args.out.as_deref(),
            );
        }
    };
    match &report.network_certificate {
        None => write_json(&report.certificate, args.out.as_deref()),
        Some(net) => {
            if !args.quiet {
                eprintln!(
                    "cvxcnn: the given network: objective {:.10e}, lower bound {:.10e}, \
                         gap {:.3e} ({:.3e} relative, {})",
                    net.primal_objective,
                    net.lower_bound,
                    net.gap,
                    net.relative_gap,
                    match net.scope {
                        cvxcnn::certify::Scope::Global => "to the global optimum",
                        cvxcnn::certify::Scope::SampledPatterns => "to the sampled sub-model",
                    }
                );
            }
            #[derive(Serialize)]
            struct Both<'a> {
                network: &'a cvxcnn::certify::Certificate,
                optimum: &'a cvxcnn::certify::Certificate,
            }
            write_json(
                &Both {
                    network: net,
                    optimum: &report.certificate,
                },
                args.out.as_deref(),
            )
        }
    }
}
