//! `cvxcnn compare`.

use super::args::positive;
use super::output::{check_writable, write_json, write_text};
use super::progress::compare_progress;
use clap::{Args, ValueEnum};
use cvxcnn::backend::Status;
use cvxcnn::problem::Problem;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Args)]
pub(crate) struct CompareArgs {
    /// Problem file.
    pub(crate) problem: PathBuf,
    /// Comma-separated solvers: clarabel, osqp, fista, al, admm, sgd, generate (Clarabel always runs
    /// first, as the reference; `generate` after `sgd` is seeded with its network).
    #[arg(long, default_value = "clarabel,fista,al,sgd")]
    pub(crate) solvers: String,
    /// Write the JSON report here (atomically).
    #[arg(long)]
    pub(crate) out: Option<PathBuf>,
    /// Write the SVG plot of relative gap against time here (atomically).
    #[arg(long)]
    pub(crate) plot: Option<PathBuf>,
    /// Seconds each solver other than the reference may run (OSQP, FISTA, AL, SGD, and the generation of the generate row).
    #[arg(long, default_value_t = 10.0, allow_hyphen_values = true)]
    pub(crate) time_limit: f64,
    /// Width of the SGD network (default: the decoded width of Clarabel's solution).
    #[arg(long)]
    pub(crate) width: Option<usize>,
    /// Seed of the SGD network's initialisation and minibatch order.
    #[arg(long, default_value_t = 0)]
    pub(crate) seed: u64,
    /// SGD's optimizer.
    #[arg(long, value_enum, default_value = "adam")]
    pub(crate) sgd_optimizer: OptimizerArg,
    /// SGD's relative step size (Adam: times the RMS of the initial weights).
    #[arg(long, default_value_t = 0.02, allow_hyphen_values = true)]
    pub(crate) sgd_lr: f64,
    /// SGD's minibatch size (default: full batch).
    #[arg(long)]
    pub(crate) batch_size: Option<usize>,
    /// Keep the report when the reference solve is not `optimal` (gaps are then to an inexact value).
    #[arg(long)]
    pub(crate) allow_inexact: bool,
    /// No progress bars on stderr.
    #[arg(long)]
    pub(crate) quiet: bool,
}

/// Optimizers of the SGD baseline.
#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum OptimizerArg {
    /// Adam.
    Adam,
    /// SGD with momentum 0.9.
    Momentum,
}

pub(crate) fn compare(args: &CompareArgs) -> Result<ExitCode, String> {
    use cvxcnn::baseline::{BaselineOptions, Optimizer};
    use cvxcnn::compare::{self, CompareOptions, SolverKind};
    let solvers = SolverKind::parse_list(&args.solvers)?;
    let time_limit = positive("time-limit", args.time_limit)?;
    if args.width == Some(0) {
        return Err("--width = 0: give at least 1 filter".into());
    }
    if args.batch_size == Some(0) {
        return Err("--batch-size = 0: give at least 1 sample".into());
    }
    let sgd_lr = positive("sgd-lr", args.sgd_lr)?;
    for (out, flag) in [(&args.out, "--out"), (&args.plot, "--plot")] {
        if let Some(out) = out {
            check_writable(out, flag)?;
        }
    }
    let problem = Problem::load(&args.problem).map_err(|e| e.to_string())?;
    let options = CompareOptions {
        solvers,
        time_limit,
        width: args.width,
        seed: args.seed,
        sgd: BaselineOptions {
            optimizer: match args.sgd_optimizer {
                OptimizerArg::Adam => Optimizer::Adam,
                OptimizerArg::Momentum => Optimizer::Momentum,
            },
            learning_rate: sgd_lr,
            batch_size: args.batch_size,
            ..BaselineOptions::default()
        },
        ..CompareOptions::default()
    };
    let progress = compare_progress(args.quiet);
    let report = compare::run(&problem, &options, &progress).map_err(|e| e.to_string())?;
    if report.reference.status != Status::Optimal && !args.allow_inexact {
        return Err(format!(
            "{}: the reference solve (Clarabel) stopped with status {}; every gap would be \
             measured against an inexact value; {}, or rerun with --allow-inexact; nothing written",
            args.problem.display(),
            report.reference.status.name(),
            report.reference.status.advice()
        ));
    }
    // Render everything before writing anything.
    let svg = match &args.plot {
        Some(_) => Some(compare::plot_svg(&report)?),
        None => None,
    };
    if let Some(out) = &args.out {
        write_json(&report, Some(out))?;
    }
    if let (Some(path), Some(svg)) = (&args.plot, &svg) {
        write_text(svg, Some(path))?;
    }
    let table = compare_table(&report);
    write_text(&table, None)?;
    Ok(ExitCode::SUCCESS)
}

/// The table `compare` prints.
pub(crate) fn compare_table(report: &cvxcnn::compare::CompareReport) -> String {
    use std::fmt::Write as _;
    let mut t = String::new();
    let _ = writeln!(
        t,
        "{}: n = {}, {} patterns ({} mode), beta = {}, filter norm {}; reference: clarabel ({})",
        report.problem,
        report.n,
        report.patterns,
        report.arrangement_mode,
        report.beta,
        match report.filter_norm {
            cvxcnn::geometry::FilterNorm::L2 => "l2",
            cvxcnn::geometry::FilterNorm::L1 => "l1",
        },
        report.reference.status.name()
    );
    let _ = writeln!(
        t,
        "{:<9} {:<8} {:<15} {:>18} {:>11} {:>14} {:>10} {:>8}",
        "solver",
        "program",
        "status",
        "objective",
        "rel. gap",
        "violation",
        "iterations",
        "seconds"
    );
    for r in &report.rows {
        let objective = r.objective.map_or("—".into(), |v| format!("{v:.10e}"));
        let gap = r.relative_gap.map_or("—".into(), |v| format!("{v:+.2e}"));
        let violation = match (r.max_constraint_violation, r.violation_note) {
            (Some(v), _) => format!("{v:.1e}"),
            (None, Some(note)) => note.to_string(),
            (None, None) => "—".into(),
        };
        let iterations = r.iterations.map_or("—".into(), |v| v.to_string());
        let seconds = r.seconds.map_or("—".into(), |v| format!("{v:.2}"));
        let _ = writeln!(
            t,
            "{:<9} {:<8} {:<15} {objective:>18} {gap:>11} {violation:>14} {iterations:>10} {seconds:>8}",
            r.solver, r.program, r.status
        );
    }
    for r in &report.rows {
        if let Some(m) = &r.message {
            let _ = writeln!(t, "  {}: {m}", r.solver);
        }
    }
    let _ = writeln!(
        t,
        "rel. gap = (objective − reference) / |reference|; violation = worst absolute violation of \
         the full constraint set; seconds exclude the shared preparation ({:.2} s); time limit {} s \
         per solver after the reference.",
        report.prepare_s, report.time_limit_s
    );
    if report.rows.iter().any(|r| r.program == "gated") {
        let _ = writeln!(
            t,
            "fista solves the gated relaxation (docs/math.md §7), whose optimum is ≤ the ReLU \
             optimum: a negative gap is expected there."
        );
    }
    if report.arrangement_mode != "exact" && report.rows.iter().any(|r| r.program == "network") {
        let _ = writeln!(
            t,
            "{} mode: the reference is the optimum over the sampled patterns, so a trained network \
             may be below it; in exact mode none can.",
            report.arrangement_mode
        );
    }
    t
}
