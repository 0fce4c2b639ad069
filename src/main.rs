//! The `cvxcnn` command line. Typed errors come from the library; this file turns them into one line
//! on stderr and a non-zero exit, and writes outputs atomically (temporary file + rename).

use clap::{Args, Parser, Subcommand, ValueEnum};
use cvxcnn::arch::two_layer::Coupling;
use cvxcnn::backend::clarabel::{ClarabelSettings, LinearSolver};
use cvxcnn::backend::{Backend, Status};
use cvxcnn::ir::ConicProgram;
use cvxcnn::pipeline::{self, SolveOptions};
use cvxcnn::predict::{Predictions, Saved};
use cvxcnn::problem::{Problem, Task};
use cvxcnn::task::{self, Outcome};
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
    /// Write the program `solve` would hand to the solver as CBF, MPS or Clarabel JSON.
    Export(ExportArgs),
    /// Read a CBF or MPS file and solve it.
    SolveFile(SolveFileArgs),
    /// Rebuild the network(s) of a result file and print predictions, one line per sample: the
    /// output f(x) for a scalar task, the predicted class label for one-vs-rest.
    Predict(PredictArgs),
    /// Run several solvers on one problem and print one table: objective, gap to Clarabel's
    /// optimum, constraint violation, iterations, time (JSON report and SVG plot on request).
    Compare(CompareArgs),
    /// Solve one problem for several weight decays β, each warm-started from the previous one.
    Path(PathArgs),
}

#[derive(Args)]
struct PredictArgs {
    /// A result file written by `cvxcnn solve`.
    result: PathBuf,
    /// Inputs `.npy`, `[n, C, L]` or `[n, C, H, W]` with the training inputs' per-sample shape.
    #[arg(long)]
    inputs: PathBuf,
    /// Write the predictions here instead of stdout (atomically).
    #[arg(long)]
    out: Option<PathBuf>,
}

/// Solver backends.
#[derive(Clone, Copy, ValueEnum)]
enum SolverArg {
    /// Clarabel, interior point (pure Rust, default).
    Clarabel,
    /// OSQP, operator splitting; linear constraints only (build with `--features osqp`).
    Osqp,
}

/// Solvers of `path`.
#[derive(Clone, Copy, ValueEnum)]
enum PathSolverArg {
    /// ReLU program, ADMM augmented Lagrangian (first order, warm-started).
    Al,
    /// Gated-ReLU relaxation, restarted FISTA (first order, warm-started; a lower bound).
    Fista,
    /// ReLU program, Clarabel (interior point, each β from scratch).
    Clarabel,
}

#[derive(Args)]
struct PathArgs {
    /// Problem file (its own β is ignored).
    problem: PathBuf,
    /// Weight decays, comma-separated, solved in this order (decreasing warm-starts best).
    #[arg(
        long,
        value_delimiter = ',',
        required = true,
        allow_hyphen_values = true
    )]
    betas: Vec<f64>,
    /// Solver.
    #[arg(long, value_enum, default_value = "al")]
    solver: PathSolverArg,
    /// Write the path JSON here (the table then goes to stdout) instead of stdout.
    #[arg(long)]
    out: Option<PathBuf>,
    /// First-order solvers: relative duality-gap tolerance.
    #[arg(long, default_value_t = 1e-6)]
    tol_gap: f64,
    /// Iteration limit per β (default: 200,000 for al, 100,000 for fista, 200 for clarabel).
    #[arg(long)]
    max_iter: Option<usize>,
    /// Time limit per β in seconds.
    #[arg(long)]
    time_limit: Option<f64>,
    /// Write every cone row (no exact constraint reduction).
    #[arg(long)]
    no_reduce: bool,
    /// Keep the path when some β did not reach `optimal` (statuses are reported as they are).
    #[arg(long)]
    allow_inexact: bool,
    /// al: run the ADMM alone, without the polish that certifies from its iterates.
    #[arg(long)]
    no_polish: bool,
    /// No progress bar and no table on stderr.
    #[arg(long)]
    quiet: bool,
}

/// Export formats.
#[derive(Clone, Copy, ValueEnum)]
enum Format {
    /// Conic Benchmark Format v3 (MOSEK, JuMP, CBLIB); the quadratic objective lifted by a rotated cone.
    Cbf,
    /// Free MPS with QUADOBJ (HiGHS, Gurobi, …); programs without cones only (`"filter_norm": "l1"`).
    Mps,
    /// Clarabel's own JSON (`clarabel.load_from_file` in Python).
    ClarabelJson,
}

/// Solver options shared by every command that solves.
#[derive(Args)]
struct SolverArgs {
    /// Solver backend.
    #[arg(long, value_enum, default_value = "clarabel")]
    solver: SolverArg,
    /// Iteration limit (default: 200 for Clarabel, 100000 for OSQP).
    #[arg(long)]
    max_iter: Option<u32>,
    /// Time limit in seconds.
    #[arg(long)]
    time_limit: Option<f64>,
    /// Clarabel: absolute duality-gap tolerance.
    #[arg(long, default_value_t = 1e-8)]
    tol_gap_abs: f64,
    /// Clarabel: relative duality-gap tolerance.
    #[arg(long, default_value_t = 1e-8)]
    tol_gap_rel: f64,
    /// Clarabel: feasibility tolerance.
    #[arg(long, default_value_t = 1e-8)]
    tol_feas: f64,
    /// Clarabel: sparse factorization of the KKT system.
    #[arg(long, value_enum, default_value = "faer")]
    linear_solver: LinearSolverArg,
    /// OSQP: absolute tolerance (default: OSQP backend's default).
    #[arg(long)]
    eps_abs: Option<f64>,
    /// OSQP: relative tolerance (default: OSQP backend's default).
    #[arg(long)]
    eps_rel: Option<f64>,
    /// OSQP: skip solution polishing (on by default).
    #[arg(long)]
    no_polish: bool,
    /// Print the solver's iteration log (needs --out: the log goes to stdout).
    #[arg(long)]
    verbose: bool,
}

#[derive(Args)]
struct SolveArgs {
    /// Problem file (JSON; paths inside are relative to it).
    problem: PathBuf,
    /// Write the result here instead of stdout (atomically: nothing is written on failure).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Write every cone row (no exact constraint reduction).
    #[arg(long)]
    no_reduce: bool,
    /// No progress bar and no summary line on stderr.
    #[arg(long)]
    quiet: bool,
    /// Keep a result whose solver status is not `optimal` (the status is reported as it is).
    #[arg(long)]
    allow_inexact: bool,
    /// How the loss couples the pattern blocks: `direct`, `difference`, `compressed`, or `auto`.
    #[arg(long, value_enum, default_value = "auto")]
    coupling: CouplingArg,
    /// Also certify this network (JSON with `filters` and `output_weights`, the result-file layout):
    /// its objective, the lower bound, and its gap to the optimum.
    #[arg(long)]
    network: Option<PathBuf>,
    #[command(flatten)]
    solver: SolverArgs,
}

#[derive(Args)]
struct ExportArgs {
    /// Problem file.
    problem: PathBuf,
    /// File format.
    #[arg(long, value_enum)]
    format: Format,
    /// Output file (written atomically).
    #[arg(long)]
    out: PathBuf,
    /// Export the full program (every cone row).
    #[arg(long)]
    no_reduce: bool,
    /// Coupling of the loss, as for `solve`.
    #[arg(long, value_enum, default_value = "auto")]
    coupling: CouplingArg,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
}

#[derive(Args)]
struct SolveFileArgs {
    /// A `.cbf` or `.mps` file.
    file: PathBuf,
    /// Write the result here instead of stdout.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Keep a result whose solver status is not `optimal`.
    #[arg(long)]
    allow_inexact: bool,
    #[command(flatten)]
    solver: SolverArgs,
}

#[derive(Args)]
struct CompareArgs {
    /// Problem file.
    problem: PathBuf,
    /// Comma-separated solvers: clarabel, osqp, fista, al, admm, sgd (Clarabel always runs first, as the
    /// reference).
    #[arg(long, default_value = "clarabel,fista,al,sgd")]
    solvers: String,
    /// Write the JSON report here (atomically).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Write the SVG plot of relative gap against time here (atomically).
    #[arg(long)]
    plot: Option<PathBuf>,
    /// Seconds each solver other than the reference may run (OSQP, FISTA, AL, SGD).
    #[arg(long, default_value_t = 10.0)]
    time_limit: f64,
    /// Width of the SGD network (default: the decoded width of Clarabel's solution).
    #[arg(long)]
    width: Option<usize>,
    /// Seed of the SGD network's initialisation and minibatch order.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// SGD's optimizer.
    #[arg(long, value_enum, default_value = "adam")]
    sgd_optimizer: OptimizerArg,
    /// SGD's relative step size (Adam: times the RMS of the initial weights).
    #[arg(long, default_value_t = 0.02)]
    sgd_lr: f64,
    /// SGD's minibatch size (default: full batch).
    #[arg(long)]
    batch_size: Option<usize>,
    /// Keep the report when the reference solve is not `optimal` (gaps are then to an inexact value).
    #[arg(long)]
    allow_inexact: bool,
    /// No progress bars on stderr.
    #[arg(long)]
    quiet: bool,
}

/// Optimizers of the SGD baseline.
#[derive(Clone, Copy, ValueEnum)]
enum OptimizerArg {
    /// Adam.
    Adam,
    /// SGD with momentum 0.9.
    Momentum,
}

/// Coupling choices.
#[derive(Clone, Copy, ValueEnum)]
enum CouplingArg {
    /// Compressed when n > hP, direct otherwise.
    Auto,
    /// ρ = Σ A_i (c_i − c'_i) − y.
    Direct,
    /// ρ = Σ A_i z_i − y, z_i = c_i − c'_i.
    Difference,
    /// As difference, the loss compressed by a thin QR of A when n > hP.
    Compressed,
}

impl CouplingArg {
    fn choice(self) -> Option<Coupling> {
        match self {
            CouplingArg::Auto => None,
            CouplingArg::Direct => Some(Coupling::Direct),
            CouplingArg::Difference => Some(Coupling::Difference),
            CouplingArg::Compressed => Some(Coupling::Compressed),
        }
    }
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
        Command::Export(args) => export(&args),
        Command::SolveFile(args) => solve_file(&args),
        Command::Predict(args) => predict(&args),
        Command::Compare(args) => compare(&args),
        Command::Path(args) => path(&args),
    }
}

fn positive(name: &str, v: f64) -> Result<f64, String> {
    if v.is_finite() && v > 0.0 {
        Ok(v)
    } else {
        Err(format!("--{name} = {v}: give a positive number"))
    }
}

fn backend(args: &SolverArgs, has_out: bool) -> Result<Backend, String> {
    if args.verbose && !has_out {
        // Solvers print their log on stdout; keep stdout for the result.
        return Err("--verbose prints the solver log on stdout; use it with --out FILE".into());
    }
    if args.max_iter == Some(0) {
        return Err("--max-iter = 0: give at least 1".into());
    }
    let time_limit = match args.time_limit {
        Some(t) => positive("time-limit", t)?,
        None => f64::INFINITY,
    };
    match args.solver {
        SolverArg::Clarabel => Ok(Backend::Clarabel(ClarabelSettings {
            tol_gap_abs: positive("tol-gap-abs", args.tol_gap_abs)?,
            tol_gap_rel: positive("tol-gap-rel", args.tol_gap_rel)?,
            tol_feas: positive("tol-feas", args.tol_feas)?,
            max_iter: args.max_iter.unwrap_or(200),
            time_limit,
            verbose: args.verbose,
            linear_solver: match args.linear_solver {
                LinearSolverArg::Faer => LinearSolver::Faer,
                LinearSolverArg::Qdldl => LinearSolver::Qdldl,
            },
        })),
        SolverArg::Osqp => osqp_backend(args, time_limit),
    }
}

#[cfg(feature = "osqp")]
fn osqp_backend(args: &SolverArgs, time_limit: f64) -> Result<Backend, String> {
    let d = cvxcnn::backend::osqp::OsqpSettings::default();
    Ok(Backend::Osqp(cvxcnn::backend::osqp::OsqpSettings {
        eps_abs: match args.eps_abs {
            Some(v) => positive("eps-abs", v)?,
            None => d.eps_abs,
        },
        eps_rel: match args.eps_rel {
            Some(v) => positive("eps-rel", v)?,
            None => d.eps_rel,
        },
        max_iter: args.max_iter.unwrap_or(d.max_iter),
        polish: !args.no_polish,
        time_limit,
        verbose: args.verbose,
    }))
}

#[cfg(not(feature = "osqp"))]
fn osqp_backend(_: &SolverArgs, _: f64) -> Result<Backend, String> {
    Err(
        "this cvxcnn was built without OSQP; rebuild with `cargo build --release --features osqp` \
         (needs cmake), or use --solver clarabel"
            .into(),
    )
}

fn options(args: &SolveArgs) -> Result<SolveOptions, String> {
    let network = match &args.network {
        None => None,
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("{}: {e} (check the --network path)", path.display()))?;
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
        reduce: !args.no_reduce,
        backend: backend(&args.solver, args.out.is_some())?,
        coupling: args.coupling.choice(),
        ..SolveOptions::default()
    })
}

fn progress_bar(quiet: bool) -> impl Fn(&str, usize, usize) + Sync {
    let bar = Mutex::new(None::<(String, ProgressBar)>);
    move |phase: &str, done: usize, total: usize| {
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
    }
}

fn solve(args: &SolveArgs, certify_only: bool) -> Result<ExitCode, String> {
    let opts = options(args)?;
    if let Some(out) = &args.out {
        check_writable(out)?;
    }
    let problem = Problem::load(&args.problem).map_err(|e| e.to_string())?;
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
    for (who, report) in &reports {
        let status = report.status();
        if status != Status::Optimal && !args.allow_inexact {
            let (iterations, primal, dual) = report.solver_summary();
            return Err(format!(
                "{}: {who}the solver stopped with status {} after {iterations} iterations (primal \
                 {primal:.6e}, dual {dual:.6e}); {}; no result written",
                args.problem.display(),
                status.name(),
                status.advice()
            ));
        }
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
                "cvxcnn: {who}{} objective {:.10e} (network {:.10e}), {size}, certificate {} gap \
                 {:.2e} ({}), {total_s:.2} s",
                report.status().name(),
                report.objective(),
                report.network_objective(),
                if c.certified() { "ok" } else { "NOT certified" },
                c.gap(),
                match c.scope() {
                    cvxcnn::certify::Scope::Global => "global",
                    cvxcnn::certify::Scope::SampledPatterns => "over the sampled patterns",
                },
            );
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
        for (who, report) in &reports {
            let c = report.certificate();
            if !c.certified() {
                return Err(format!(
                    "{}: {who}not certified: relative gap {:.3e} > {:.0e} (max dual violation \
                     {:.3e}); tighten the solver tolerances (--tol-gap-rel) or check the status",
                    args.problem.display(),
                    c.relative_gap(),
                    cvxcnn::certify::CERTIFIED_REL_GAP,
                    c.max_dual_violation()
                ));
            }
        }
        let report = match &outcome {
            Outcome::Scalar(s) => match &s.report {
                pipeline::Solved::TwoLayer(r) => r,
                pipeline::Solved::ThreeLayer(r) => {
                    write_json(&r.certificate, args.out.as_deref())?;
                    return Ok(ExitCode::SUCCESS);
                }
            },
            Outcome::OneVsRest(r) => {
                #[derive(Serialize)]
                struct ClassCertificate<'a> {
                    class: i64,
                    certificate: pipeline::AnyCertificate<'a>,
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
                write_json(
                    &PerClass {
                        task: "one_vs_rest",
                        classes,
                    },
                    args.out.as_deref(),
                )?;
                return Ok(ExitCode::SUCCESS);
            }
        };
        match &report.network_certificate {
            None => write_json(&report.certificate, args.out.as_deref())?,
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
                )?
            }
        }
    } else {
        write_json(&outcome, args.out.as_deref())?;
    }
    Ok(ExitCode::SUCCESS)
}

fn predict(args: &PredictArgs) -> Result<ExitCode, String> {
    if let Some(out) = &args.out {
        check_writable(out)?;
    }
    let text = std::fs::read_to_string(&args.result).map_err(|e| {
        format!(
            "{}: {e} (check the result file path)",
            args.result.display()
        )
    })?;
    let json: serde_json::Value = serde_json::from_str(&text).map_err(|e| {
        format!(
            "{}: not JSON ({e}); give a result file written by `cvxcnn solve`",
            args.result.display()
        )
    })?;
    let saved = Saved::from_json(&json).map_err(|e| format!("{}: {e}", args.result.display()))?;
    let inputs = cvxcnn::data::load_inputs(&args.inputs).map_err(|e| e.to_string())?;
    saved
        .check_inputs(inputs.x.view(), inputs.one_d)
        .map_err(|e| format!("{}: {e}", args.inputs.display()))?;
    let mut lines = String::new();
    match saved.predict(inputs.x.view()) {
        Predictions::Outputs(f) => f.iter().for_each(|v| lines.push_str(&format!("{v:?}\n"))),
        Predictions::Labels(l) => l.iter().for_each(|v| lines.push_str(&format!("{v}\n"))),
    }
    write_text(&lines, args.out.as_deref())?;
    Ok(ExitCode::SUCCESS)
}

fn export(args: &ExportArgs) -> Result<ExitCode, String> {
    check_writable(&args.out)?;
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
struct FileResult {
    file: String,
    format: &'static str,
    status: Status,
    objective: f64,
    dual_objective: f64,
    iterations: u32,
    solve_s: f64,
    variables: usize,
    rows: usize,
    max_constraint_violation: f64,
    solver: &'static str,
}

fn read_program(path: &Path) -> Result<(ConicProgram, &'static str), String> {
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

fn solve_file(args: &SolveFileArgs) -> Result<ExitCode, String> {
    let backend = backend(&args.solver, args.out.is_some())?;
    if let Some(out) = &args.out {
        check_writable(out)?;
    }
    let (program, format) = read_program(&args.file)?;
    let sol = backend
        .solve(&program)
        .map_err(|e| format!("{}: {e}", args.file.display()))?;
    if sol.status != Status::Optimal && !args.allow_inexact {
        return Err(format!(
            "{}: the solver stopped with status {} after {} iterations; {}; no result written",
            args.file.display(),
            sol.status.name(),
            sol.iterations,
            sol.status.advice()
        ));
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

/// Progress of `compare`: a spinner per solver (ticking while it runs), a bar for SGD's steps and
/// the reduction phases; nothing with `--quiet`.
fn compare_progress(quiet: bool) -> impl Fn(&str, usize, usize) + Sync {
    let bar = Mutex::new(None::<(String, ProgressBar)>);
    move |phase: &str, done: usize, total: usize| {
        if quiet || phase == "solve" {
            return;
        }
        let Ok(mut slot) = bar.lock() else { return };
        let fresh = !matches!(&*slot, Some((p, _)) if p == phase);
        if fresh {
            if let Some((_, old)) = slot.take() {
                old.finish_and_clear();
            }
            let pb = ProgressBar::new(total as u64);
            let template = if total > 1 {
                "{msg:>12} [{bar:30}] {pos}/{len} {elapsed}"
            } else {
                "{msg:>12} {spinner} {elapsed}"
            };
            if let Ok(style) = ProgressStyle::with_template(template) {
                pb.set_style(style.progress_chars("=> "));
            }
            pb.set_message(phase.to_string());
            if total <= 1 {
                pb.enable_steady_tick(std::time::Duration::from_millis(200));
            }
            *slot = Some((phase.to_string(), pb));
        }
        if let Some((_, pb)) = &*slot {
            pb.set_position(done as u64);
            if done >= total {
                pb.finish_and_clear();
                *slot = None;
            }
        }
    }
}

fn compare(args: &CompareArgs) -> Result<ExitCode, String> {
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
    for out in [&args.out, &args.plot].into_iter().flatten() {
        check_writable(out)?;
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
fn compare_table(report: &cvxcnn::compare::CompareReport) -> String {
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
            "fista solves the gated relaxation (formulations.md §3), whose optimum is ≤ the ReLU \
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

fn path(args: &PathArgs) -> Result<ExitCode, String> {
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
        check_writable(out)?;
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
    let progress = progress_bar(args.quiet);
    let prep = pipeline::prepare(&problem, &solve_options, &progress).map_err(|e| e.to_string())?;
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
    let solver = match args.solver {
        PathSolverArg::Al => PathSolver::Al,
        PathSolverArg::Fista => PathSolver::Fista,
        PathSolverArg::Clarabel => PathSolver::Clarabel,
    };
    let report = path::run(
        &problem,
        &prep,
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
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| format!("cannot serialize the result: {e}"))?;
    // Certificates' evidence holds thousands of numbers: one line per array of them.
    let mut text = cvxcnn::evidence::compact_evidence(&text);
    text.push('\n');
    write_text(&text, out)
}

fn write_text(text: &str, out: Option<&Path>) -> Result<(), String> {
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
