//! The global certificate by branch and bound (docs/math.md §15) on problem files, one table row
//! each (docs/benchmarks.md, "Global certificate by branch and bound"):
//!
//! ```text
//! cargo run --release --example global_bound -- [--time-limit S] PROBLEM.json …
//! ```
//!
//! Each problem is solved as `cvxcnn certify` solves it (Clarabel, or the AL after pattern
//! generation), then the search runs on the certificate's dual point until the network is certified,
//! `M̄` closes to 1e-9, or the time limit (default 60 s) ends it.

use cvxcnn::global::{self, Options};
use cvxcnn::pipeline::{self, SolveOptions};
use cvxcnn::problem::Problem;
use std::time::Instant;

fn main() {
    let mut time_limit = 60.0;
    let mut paths = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "--time-limit" {
            time_limit = args
                .next()
                .and_then(|s| s.parse().ok())
                .expect("--time-limit SECONDS");
        } else {
            paths.push(a);
        }
    }
    println!(
        "| problem | n | nK | h | solve (s) | search (s) | cones | open | depth | mixed rows (max) | \
         best ≤ M(v) ≤ M̄ | lower bound | network objective | relative gap | stop |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for path in paths {
        let problem = match Problem::load(path.as_ref()) {
            Ok(p) => p,
            Err(e) => {
                eprintln!("{path}: {e}");
                continue;
            }
        };
        let t = Instant::now();
        let report = match pipeline::solve(&problem, &SolveOptions::default(), &|_, _, _| {}) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("{path}: {e}");
                continue;
            }
        };
        let solve_s = t.elapsed().as_secs_f64();
        let options = Options {
            time_limit,
            ..Options::default()
        };
        let c = match global::certify_report(&problem, &report, &options, &|_, _, _| {}) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("{path}: {e}");
                continue;
            }
        };
        let (s, cert) = (&c.global_search, &c.certificate);
        let (k, _, h) = cvxcnn::arch::two_layer::patches_of(&problem)
            .map(|(p, _)| p.data.dim())
            .unwrap_or((0, 0, 0));
        println!(
            "| {} | {} | {} | {} | {:.1} | {:.1} | {} | {} | {} | {} | {:.6e} ≤ M ≤ {:.6e} | {:.8e} | \
             {:.8e} | {:.2e} | {:?} |",
            std::path::Path::new(&path)
                .file_name()
                .map_or(path.clone(), |f| f.to_string_lossy().into_owned()),
            problem.n(),
            k * problem.n(),
            h,
            solve_s,
            s.seconds,
            s.cones_explored,
            s.cones_open,
            s.max_depth,
            s.max_mixed_rows,
            s.dual_value_best,
            s.dual_value_upper,
            cert.lower_bound,
            cert.primal_objective,
            cert.relative_gap,
            s.stop,
        );
    }
}
