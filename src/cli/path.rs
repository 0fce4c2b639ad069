//! `cvxcnn path`.

use super::args::positive;
use super::output::{check_writable, write_json};
use super::progress::progress_bar;
use clap::{Args, ValueEnum};
use cvxcnn::backend::Backend;
use cvxcnn::backend::clarabel::ClarabelSettings;
use cvxcnn::pipeline::{self, SolveOptions};
use cvxcnn::problem::Problem;
use std::path::PathBuf;
use std::process::ExitCode;

/// Solvers of `path`.
#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum PathSolverArg {
    /// ReLU program, ADMM augmented Lagrangian (first order, warm-started).
    Al,
    /// Gated-ReLU relaxation, restarted FISTA (first order, warm-started; a lower bound).
    Fista,
    /// ReLU program, Clarabel (interior point, each β from scratch).
    Clarabel,
}

#[derive(Args)]
pub(crate) struct PathArgs {
    /// Problem file (its own β is ignored).
    pub(crate) problem: PathBuf,
    /// Weight decays, comma-separated, solved in this order (decreasing warm-starts best).
    #[arg(
        long,
        value_delimiter = ',',
        required = true,
        allow_hyphen_values = true
    )]
    pub(crate) betas: Vec<f64>,
    /// Solver.
    #[arg(long, value_enum, default_value = "al")]
    pub(crate) solver: PathSolverArg,
    /// Write the path JSON here (the table then goes to stdout) instead of stdout.
    #[arg(long)]
    pub(crate) out: Option<PathBuf>,
    /// First-order solvers: relative duality-gap tolerance.
    #[arg(long, default_value_t = 1e-6, allow_hyphen_values = true)]
    pub(crate) tol_gap: f64,
    /// Iteration limit per β (default: 200,000 for al, 100,000 for fista, 200 for clarabel).
    #[arg(long)]
    pub(crate) max_iter: Option<usize>,
    /// Time limit per β in seconds.
    #[arg(long, allow_hyphen_values = true)]
    pub(crate) time_limit: Option<f64>,
    /// Write every cone row (no exact constraint reduction).
    #[arg(long)]
    pub(crate) no_reduce: bool,
    /// Keep the path when some β did not reach `optimal` (statuses are reported as they are).
    #[arg(long)]
    pub(crate) allow_inexact: bool,
    /// al: run the ADMM alone, without the polish that certifies from its iterates.
    #[arg(long)]
    pub(crate) no_polish: bool,
    /// No progress bar and no table on stderr.
    #[arg(long)]
    pub(crate) quiet: bool,
}

pub(crate) fn path(args: &PathArgs) -> Result<ExitCode, String> {
    use cvxcnn::first_order::al::AlOptions;
    use cvxcnn::first_order::fista::FistaOptions;
    use cvxcnn::first_order::path::{self, PathSolver};
    path::check_betas(&args.betas)?;
    let tol = positive("tol-gap", args.tol_gap)?;
    let time_limit = match args.time_limit {
        Some(t) => positive("time-limit", t)?,
        None => f64::INFINITY,
    };
    if args.max_iter == Some(0) {
        return Err("--max-iter = 0: give at least 1".into());
    }
    if let Some(out) = &args.out {
        check_writable(out, "--out")?;
    }
    let problem = Problem::load(&args.problem).map_err(|e| e.to_string())?;
    let solve_options = SolveOptions {
        reduce: !args.no_reduce,
        backend: Backend::Clarabel(ClarabelSettings {
            max_iter: args
                .max_iter
                .map_or(200, |m| m.min(u32::MAX as usize) as u32),
            time_limit,
            ..ClarabelSettings::default()
        }),
        ..SolveOptions::default()
    };
    let solver = match args.solver {
        PathSolverArg::Al => PathSolver::Al,
        PathSolverArg::Fista => PathSolver::Fista,
        PathSolverArg::Clarabel => PathSolver::Clarabel,
    };
    path::check_problem(&problem, solver)?;
    let progress = progress_bar(args.quiet);
    let prep = match solver {
        PathSolver::Clarabel => None,
        _ => Some(
            pipeline::prepare(&problem, &solve_options, &progress).map_err(|e| e.to_string())?,
        ),
    };
    let al_options = AlOptions {
        tol_gap: tol,
        max_iter: args.max_iter.unwrap_or(AlOptions::default().max_iter),
        time_limit,
        polish: !args.no_polish,
        ..AlOptions::default()
    };
    let fista_options = FistaOptions {
        tol,
        max_iter: args.max_iter.unwrap_or(FistaOptions::default().max_iter),
        time_limit,
        ..FistaOptions::default()
    };
    let report = path::run(
        &problem,
        prep.as_ref(),
        &solve_options,
        &args.betas,
        solver,
        &al_options,
        &fista_options,
    )?;
    let mut table = format!(
        "{:>10} {:>16} {:>16} {:>9} {:>7} {:>10} {:>8}  status\n",
        "beta", "objective", "lower_bound", "violation", "neurons", "iterations", "seconds"
    );
    for e in &report.entries {
        table += &format!(
            "{:>10} {:>16.10} {:>16.10} {:>9.1e} {:>7} {:>10} {:>8.3}  {}\n",
            e.beta,
            e.objective,
            e.lower_bound,
            e.violation,
            e.neurons,
            e.iterations,
            e.seconds,
            e.status
        );
    }
    if let Some(bad) = report.entries.iter().find(|e| e.status != "optimal")
        && !args.allow_inexact
    {
        return Err(format!(
            "{}: at β = {} the solver stopped with status {} after {} iterations; raise \
             --max-iter/--time-limit or loosen --tol-gap, or pass --allow-inexact to keep the path; \
             no result written",
            args.problem.display(),
            bad.beta,
            bad.status,
            bad.iterations
        ));
    }
    write_json(&report, args.out.as_deref())?;
    if args.out.is_some() {
        print!("{table}");
    } else if !args.quiet {
        eprint!("{table}");
    }
    Ok(ExitCode::SUCCESS)
}
