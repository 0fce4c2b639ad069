//! The `cvxcnn` command line. Typed errors come from the library; this file turns them into one line
//! on stderr and a non-zero exit, and writes results atomically (temporary file + rename).

use clap::{Args, Parser, Subcommand, ValueEnum};
use cvxcnn::arch::two_layer::Coupling;
use cvxcnn::backend::Status;
use cvxcnn::backend::clarabel::{ClarabelSettings, LinearSolver};
use cvxcnn::pipeline::{self, SolveOptions};
use cvxcnn::problem::Problem;
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;

/// Train small ReLU CNNs to certified global optimality by convex optimization.
#[derive(Parser)]
#[command(name = "cvxcnn", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Solve a problem file and print (or write) the result JSON.
    Solve(SolveArgs),
    /// Solve a problem file and print (or write) its dual certificate; exits 0 only when certified.
    Certify(SolveArgs),
}

/// Solver backends.
#[derive(Clone, Copy, ValueEnum)]
enum Backend {
    /// Clarabel, interior point (pure Rust).
    Clarabel,
}

#[derive(Args)]
struct SolveArgs {
    /// Problem file (JSON; paths inside are relative to it).
    problem: PathBuf,
    /// Write the result here instead of stdout (atomically: nothing is written on failure).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Solver backend.
    #[arg(long, value_enum, default_value = "clarabel")]
    solver: Backend,
    /// Write every cone row (no exact constraint reduction).
    #[arg(long)]
    no_reduce: bool,
    /// No progress bar and no summary line on stderr.
    #[arg(long)]
    quiet: bool,
    /// Keep a result whose solver status is not `optimal` (the status is reported as it is).
    #[arg(long)]
    allow_inexact: bool,
    /// Solver iteration limit.
    #[arg(long, default_value_t = 200)]
    max_iter: u32,
    /// Solver time limit in seconds.
    #[arg(long)]
    time_limit: Option<f64>,
    /// Absolute duality-gap tolerance.
    #[arg(long, default_value_t = 1e-8)]
    tol_gap_abs: f64,
    /// Relative duality-gap tolerance.
    #[arg(long, default_value_t = 1e-8)]
    tol_gap_rel: f64,
    /// Feasibility tolerance.
    #[arg(long, default_value_t = 1e-8)]
    tol_feas: f64,
    /// Print the solver's iteration log (needs --out: the log goes to stdout).
    #[arg(long)]
    verbose: bool,
    /// How the loss couples the pattern blocks: `direct` (ρ = Σ A_i(c_i − c'_i) − y), `difference`
    /// (through z_i = c_i − c'_i, half the dense block), or `auto` (by the problem's shape).
    #[arg(long, value_enum, default_value = "auto")]
    coupling: CouplingArg,
    /// Sparse factorization used by Clarabel.
    #[arg(long, value_enum, default_value = "faer")]
    linear_solver: LinearSolverArg,
}

/// Coupling choices.
#[derive(Clone, Copy, ValueEnum)]
enum CouplingArg {
    /// Pick by the problem's shape.
    Auto,
    /// ρ = Σ A_i (c_i − c'_i) − y.
    Direct,
    /// ρ = Σ A_i z_i − y, z_i = c_i − c'_i.
    Difference,
    /// As difference, the loss compressed by a thin QR of A when n > hP.
    Compressed,
}

/// Clarabel's KKT factorizations.
#[derive(Clone, Copy, ValueEnum)]
enum LinearSolverArg {
    /// faer's supernodal LDLᵀ (fast on the dense coupling block).
    Faer,
    /// QDLDL, simplicial LDLᵀ.
    Qdldl,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(msg) => {
            eprintln!("cvxcnn: error: {msg}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode, String> {
    match cli.command {
        Command::Solve(args) => solve(&args, false),
        Command::Certify(args) => solve(&args, true),
    }
}

fn options(args: &SolveArgs) -> Result<SolveOptions, String> {
    let positive = |name: &str, v: f64| {
        if v.is_finite() && v > 0.0 {
            Ok(v)
        } else {
            Err(format!("--{name} = {v}: give a positive number"))
        }
    };
    let time_limit = match args.time_limit {
        Some(t) => positive("time-limit", t)?,
        None => f64::INFINITY,
    };
    if args.max_iter == 0 {
        return Err("--max-iter = 0: give at least 1".into());
    }
    Ok(SolveOptions {
        reduce: !args.no_reduce,
        clarabel: ClarabelSettings {
            tol_gap_abs: positive("tol-gap-abs", args.tol_gap_abs)?,
            tol_gap_rel: positive("tol-gap-rel", args.tol_gap_rel)?,
            tol_feas: positive("tol-feas", args.tol_feas)?,
            max_iter: args.max_iter,
            time_limit,
            verbose: args.verbose,
            linear_solver: match args.linear_solver {
                LinearSolverArg::Faer => LinearSolver::Faer,
                LinearSolverArg::Qdldl => LinearSolver::Qdldl,
            },
        },
        coupling: match args.coupling {
            CouplingArg::Auto => None,
            CouplingArg::Direct => Some(Coupling::Direct),
            CouplingArg::Difference => Some(Coupling::Difference),
            CouplingArg::Compressed => Some(Coupling::Compressed),
        },
        ..SolveOptions::default()
    })
}

fn solve(args: &SolveArgs, certify_only: bool) -> Result<ExitCode, String> {
    let opts = options(args)?;
    match args.solver {
        Backend::Clarabel => {}
    }
    if args.verbose {
        // Clarabel prints its log on stdout; keep stdout for the result.
        if args.out.is_none() {
            return Err("--verbose prints the solver log on stdout; use it with --out FILE".into());
        }
    }
    if let Some(out) = &args.out {
        check_writable(out)?;
    }
    let problem = Problem::load(&args.problem).map_err(|e| e.to_string())?;
    let bar = Mutex::new(None::<(String, ProgressBar)>);
    let quiet = args.quiet;
    let progress = move |phase: &str, done: usize, total: usize| {
        if quiet || phase == "solve" {
            return;
        }
        let Ok(mut slot) = bar.lock() else { return };
        let fresh = !matches!(&*slot, Some((p, _)) if p == phase);
        if fresh {
            let pb = ProgressBar::new(total as u64);
            if let Ok(style) =
                ProgressStyle::with_template("{msg:>12} [{bar:30}] {pos}/{len} {elapsed}")
            {
                pb.set_style(style.progress_chars("=> "));
            }
            pb.set_message(phase.to_string());
            *slot = Some((phase.to_string(), pb));
        }
        if let Some((_, pb)) = &*slot {
            pb.set_position(done as u64);
            if done >= total {
                pb.finish_and_clear();
            }
        }
    };
    let report = pipeline::solve(&problem, &opts, &progress).map_err(|e| e.to_string())?;
    if report.status != Status::Optimal && !args.allow_inexact {
        return Err(format!(
            "{}: the solver stopped with status {} after {} iterations (primal {:.6e}, dual {:.6e}); \
             {}; no result written",
            args.problem.display(),
            report.status.name(),
            report.solver.iterations,
            report.solver.primal_objective,
            report.solver.dual_objective,
            report.status.advice()
        ));
    }
    if !args.quiet {
        let c = &report.certificate;
        eprintln!(
            "cvxcnn: {} objective {:.10e} (network {:.10e}), {} neurons from {} patterns, \
             certificate {} gap {:.2e} ({}), {:.2} s",
            report.status.name(),
            report.objective,
            report.network_objective,
            report.neurons,
            report.arrangements,
            if c.certified { "ok" } else { "NOT certified" },
            c.gap,
            match c.scope {
                cvxcnn::certify::Scope::Global => "global",
                cvxcnn::certify::Scope::SampledPatterns => "over the sampled patterns",
            },
            report.timings.total_s
        );
    }
    if certify_only {
        write_json(&report.certificate, args.out.as_deref())?;
        if !report.certificate.certified {
            return Err(format!(
                "{}: not certified: relative gap {:.3e} > {:.0e} (max dual violation {:.3e}); \
                 tighten the solver tolerances (--tol-gap-rel) or check the status",
                args.problem.display(),
                report.certificate.relative_gap,
                cvxcnn::certify::CERTIFIED_REL_GAP,
                report.certificate.max_dual_violation
            ));
        }
    } else {
        write_json(&report, args.out.as_deref())?;
    }
    Ok(ExitCode::SUCCESS)
}

fn check_writable(out: &Path) -> Result<(), String> {
    let dir = match out.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        return Err(format!(
            "{}: the folder {} does not exist; create it or choose another --out",
            out.display(),
            dir.display()
        ));
    }
    Ok(())
}

fn write_json<T: Serialize>(value: &T, out: Option<&Path>) -> Result<(), String> {
    let mut text = serde_json::to_string_pretty(value)
        .map_err(|e| format!("cannot serialize the result: {e}"))?;
    text.push('\n');
    match out {
        None => {
            let mut stdout = std::io::stdout().lock();
            stdout
                .write_all(text.as_bytes())
                .and_then(|_| stdout.flush())
                .map_err(|e| format!("cannot write to stdout: {e}"))
        }
        Some(path) => {
            let dir = match path.parent() {
                Some(d) if !d.as_os_str().is_empty() => d,
                _ => Path::new("."),
            };
            let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(|e| {
                format!(
                    "{}: cannot create a temporary file in {}: {e}",
                    path.display(),
                    dir.display()
                )
            })?;
            tmp.write_all(text.as_bytes())
                .and_then(|_| tmp.flush())
                .map_err(|e| format!("{}: cannot write: {e}", path.display()))?;
            tmp.persist(path)
                .map_err(|e| format!("{}: cannot write: {}", path.display(), e.error))?;
            Ok(())
        }
    }
}
