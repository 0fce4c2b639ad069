//! The `cvxcnn` command line: one file per command group. Typed errors come from the library;
//! this layer turns them into one line on stderr and a non-zero exit, and writes outputs safely
//! ([`output`]).

mod args;
mod compare;
mod export;
mod export_network;
mod global;
mod output;
mod path;
mod predict;
mod progress;
mod solve;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

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
    Solve(solve::SolveArgs),
    /// Solve a problem file and print (or write) its dual certificate; exits 0 only when certified.
    Certify(solve::SolveArgs),
    /// Write the program `solve` would hand to the solver as CBF, MPS or Clarabel JSON.
    Export(export::ExportArgs),
    /// Write the decoded network of a result file as a PyTorch state_dict in a safetensors file
    /// (conv.weight, conv.bias, fc.weight; docs/python.md).
    ExportNetwork(export_network::ExportNetworkArgs),
    /// Read a CBF or MPS file and solve it.
    SolveFile(export::SolveFileArgs),
    /// Rebuild the network(s) of a result file and print predictions, one line per sample: the
    /// output f(x) for a scalar task, the predicted class label for one-vs-rest.
    Predict(predict::PredictArgs),
    /// Run several solvers on one problem and print one table: objective, gap to Clarabel's
    /// optimum, constraint violation, iterations, time (JSON report and SVG plot on request).
    Compare(compare::CompareArgs),
    /// Solve one problem for several weight decays β, each warm-started from the previous one.
    Path(path::PathArgs),
}

/// Parses the command line, runs the command and maps an error to one line on stderr.
pub fn main() -> ExitCode {
    // A panic is a bug, never the user's input: say so in one line instead of Rust's report.
    std::panic::set_hook(Box::new(|info| {
        eprintln!(
            "cvxcnn: internal error: {info}; this is a bug in cvxcnn, please report it with the \
             command and the problem file"
        );
    }));
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
        Command::Solve(args) => solve::solve(&args, false),
        Command::Certify(args) => solve::solve(&args, true),
        Command::Export(args) => export::export(&args),
        Command::ExportNetwork(args) => export_network::export_network(&args),
        Command::SolveFile(args) => export::solve_file(&args),
        Command::Predict(args) => predict::predict(&args),
        Command::Compare(args) => compare::compare(&args),
        Command::Path(args) => path::path(&args),
    }
}
