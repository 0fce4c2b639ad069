//! `cvxcnn export` and `cvxcnn solve-file`.

use super::args::{CouplingArg, SolverArgs, backend};
use super::output::{check_writable, write_json, write_text};
use super::progress::progress_bar;
use clap::{Args, ValueEnum};
use cvxcnn::backend::Status;
use cvxcnn::backend::clarabel::ClarabelSettings;
use cvxcnn::ir::ConicProgram;
use cvxcnn::pipeline::{self, SolveOptions};
use cvxcnn::problem::{Problem, Task};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Export formats.
#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum Format {
    /// Conic Benchmark Format v3 (MOSEK, JuMP, CBLIB); the quadratic objective lifted by a rotated cone.
    Cbf,
    /// Free MPS with QUADOBJ (HiGHS, Gurobi, …); programs without cones only (`"filter_norm": "l1"`).
    Mps,
    /// Clarabel's own JSON (`clarabel.load_from_file` in Python).
    ClarabelJson,
}

/// Solver options shared by every command that solves.

#[derive(Args)]
pub(crate) struct ExportArgs {
    /// Problem file.
    pub(crate) problem: PathBuf,
    /// File format.
    #[arg(long, value_enum)]
    pub(crate) format: Format,
    /// Output file (written atomically).
    #[arg(long)]
    pub(crate) out: PathBuf,
    /// Export the full program (every cone row).
    #[arg(long)]
    pub(crate) no_reduce: bool,
    /// Coupling of the loss, as for `solve`.
    #[arg(long, value_enum, default_value = "auto")]
    pub(crate) coupling: CouplingArg,
    /// No progress bar.
    #[arg(long)]
    pub(crate) quiet: bool,
}

#[derive(Args)]
pub(crate) struct SolveFileArgs {
    /// A `.cbf` or `.mps` file.
    pub(crate) file: PathBuf,
    /// Write the result here instead of stdout.
    #[arg(long)]
    pub(crate) out: Option<PathBuf>,
    /// Keep a result whose solver status is not `optimal`.
    #[arg(long)]
    pub(crate) allow_inexact: bool,
    #[command(flatten)]
    pub(crate) solver: SolverArgs,
}

pub(crate) fn export(args: &ExportArgs) -> Result<ExitCode, String> {
    check_writable(&args.out, "--out")?;
    let problem = Problem::load(&args.problem).map_err(|e| e.to_string())?;
    if problem.task != Task::Scalar {
        return Err(format!(
            "{}: a one-vs-rest problem is one program per class; export one class with \
             \"binary\": {{\"positive\": [c], \"negative\": \"rest\"}} instead of \"task\"",
            args.problem.display()
        ));
    }
    let opts = SolveOptions {
        reduce: !args.no_reduce,
        coupling: args.coupling.choice(),
        ..SolveOptions::default()
    };
    let progress = progress_bar(args.quiet);
    let program = pipeline::program(&problem, &opts, &progress).map_err(|e| e.to_string())?;
    let text = match args.format {
        Format::Cbf => cvxcnn::export::cbf::write(&program),
        Format::Mps => cvxcnn::export::mps::write(&program)
            .map_err(|e| format!("{}: cannot export as MPS: {e}", args.problem.display()))?,
        Format::ClarabelJson => {
            cvxcnn::export::clarabel_json::write(&program, &ClarabelSettings::default())
        }
    };
    write_text(&text, Some(&args.out))?;
    Ok(ExitCode::SUCCESS)
}

/// What `solve-file` reports.
#[derive(Serialize)]
pub(crate) struct FileResult {
    pub(crate) file: String,
    pub(crate) format: &'static str,
    pub(crate) status: Status,
    pub(crate) objective: f64,
    pub(crate) dual_objective: f64,
    pub(crate) iterations: u32,
    pub(crate) solve_s: f64,
    pub(crate) variables: usize,
    pub(crate) rows: usize,
    pub(crate) max_constraint_violation: f64,
    pub(crate) solver: &'static str,
}

pub(crate) fn read_program(path: &Path) -> Result<(ConicProgram, &'static str), String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("{}: {e} (check the path)", path.display()))?;
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .map(|e| e.to_ascii_lowercase());
    let (program, format) = match ext.as_deref() {
        Some("cbf") => (
            cvxcnn::export::cbf::parse(&text).map_err(|e| format!("{}: {e}", path.display()))?,
            "cbf",
        ),
        Some("mps") => (
            cvxcnn::export::mps::parse(&text).map_err(|e| format!("{}: {e}", path.display()))?,
            "mps",
        ),
        _ => {
            return Err(format!(
                "{}: unknown file type; solve-file reads .cbf and .mps files (rename the file to \
                 match its format)",
                path.display()
            ));
        }
    };
    program
        .check()
        .map_err(|e| format!("{}: inconsistent program: {e}", path.display()))?;
    Ok((program, format))
}

pub(crate) fn solve_file(args: &SolveFileArgs) -> Result<ExitCode, String> {
    let backend = backend(&args.solver, args.out.is_some())?;
    if matches!(backend, cvxcnn::backend::Backend::Al(_)) {
        return Err(
            "solve-file solves a conic program; the al solver works on the two-layer \
                    ReLU program of a problem file (cvxcnn solve --solver al); use --solver \
                    clarabel or osqp here"
                .into(),
        );
    }
    if let Some(out) = &args.out {
        check_writable(out, "--out")?;
    }
    let (program, format) = read_program(&args.file)?;
    let sol = backend
        .solve(&program)
        .map_err(|e| format!("{}: {e}", args.file.display()))?;
    // A file is any program, so infeasible and unbounded are answers, not failures: the result
    // says which. Only stops short of an answer need --allow-inexact.
    let definitive = matches!(
        sol.status,
        Status::Optimal | Status::PrimalInfeasible | Status::DualInfeasible
    );
    if !definitive && !args.allow_inexact {
        return Err(format!(
            "{}: the solver stopped with status {} after {} iterations, short of an answer; {}; \
             no result written",
            args.file.display(),
            sol.status.name(),
            sol.iterations,
            file_advice(sol.status)
        ));
    }
    match sol.status {
        Status::PrimalInfeasible => eprintln!(
            "cvxcnn: {}: the program is infeasible (the solver found a certificate of \
             infeasibility); no objective",
            args.file.display()
        ),
        Status::DualInfeasible => eprintln!(
            "cvxcnn: {}: the program is unbounded (the solver found a certificate of \
             unboundedness); no objective",
            args.file.display()
        ),
        _ => {}
    }
    let result = FileResult {
        file: args.file.display().to_string(),
        format,
        status: sol.status,
        objective: sol.primal_objective,
        dual_objective: sol.dual_objective,
        iterations: sol.iterations,
        solve_s: sol.solve_time_s,
        variables: program.n_vars(),
        rows: program.n_rows(),
        max_constraint_violation: program.max_violation(&sol.x),
        solver: backend.name(),
    };
    write_json(&result, args.out.as_deref())?;
    Ok(ExitCode::SUCCESS)
}

/// What a user can do when a file's solve stopped short of an answer.
fn file_advice(status: Status) -> &'static str {
    match status {
        Status::AlmostSolved | Status::AlmostPrimalInfeasible | Status::AlmostDualInfeasible => {
            "the solver met only its reduced tolerances; pass --allow-inexact to keep the result, \
             or rescale the program"
        }
        Status::MaxIterations => "raise --max-iter",
        Status::MaxTime => "raise --time-limit",
        _ => "rescale the program (values of order 1) or loosen the tolerances",
    }
}
