//! The architectures on digits, one row each (the README table "Architectures on digits"):
//! `cargo run --release --example architectures`.
//!
//! Every problem trains on digits (3 vs 8 unless noted) and tests on the held-out split of
//! `problems/data` (samples 1500–1796); objective, neurons, accuracies and time come from the same
//! `solve` the command line runs, and the accuracies from networks rebuilt from the result JSON.

use cvxcnn::backend::Status;
use cvxcnn::pipeline::SolveOptions;
use cvxcnn::problem::Problem;
use cvxcnn::task::{self, Outcome};
use std::path::PathBuf;
use std::time::Instant;

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("problems");
    let rows = [
        ("digits", "two-layer, sum pooling"),
        ("digits_bias", "two-layer, sum pooling, bias"),
        (
            "digits_local_average",
            "two-layer, local average pooling 3×3",
        ),
        ("digits_max", "two-layer, global max pooling"),
        ("digits_linear", "linear activation (closed form)"),
        (
            "digits_circular",
            "circular three-layer (spectral ℓ1), 8×8 as d = 64",
        ),
        ("digits_three_layer", "three-layer, two ReLU layers"),
        ("digits_ovr", "two-layer, one-vs-rest, 10 classes"),
    ];
    println!(
        "| problem | architecture | status | objective | neurons | certificate | train acc. | test acc. | time (s) |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for (name, what) in rows {
        let path = root.join(format!("{name}.json"));
        if !path.exists() {
            continue;
        }
        let problem = match Problem::load(&path) {
            Ok(p) => p,
            Err(e) => {
                println!("| `{name}` | {what} | error: {e} | | | | | | |");
                continue;
            }
        };
        let t = Instant::now();
        let outcome = task::solve(&problem, &SolveOptions::default(), &|_, _, _| {});
        let secs = t.elapsed().as_secs_f64();
        let acc = |a: Option<f64>| a.map_or("—".to_string(), |a| format!("{:.1} %", 100.0 * a));
        match outcome {
            Err(e) => println!("| `{name}` | {what} | error: {e} | | | | | | |"),
            Ok(Outcome::Scalar(s)) => {
                let r = &s.report;
                println!(
                    "| `{name}` | {what} | {} | {:.8} | {} | {} {:.1e} | {} | {} | {:.1} |",
                    status(r.status()),
                    r.header().network_objective,
                    r.neurons(),
                    if r.certificate().certified {
                        "✓"
                    } else {
                        "✗"
                    },
                    r.certificate().relative_gap,
                    acc(s.train_accuracy),
                    acc(s.test_accuracy),
                    secs
                );
            }
            Ok(Outcome::OneVsRest(r)) => {
                let neurons: usize = r.models.iter().map(|m| m.outcome.report.neurons()).sum();
                let gap = r
                    .models
                    .iter()
                    .map(|m| m.outcome.report.certificate().relative_gap)
                    .fold(f64::MIN, f64::max);
                println!(
                    "| `{name}` | {what} | {} | {:.8} | {} | {} {:.1e} | {} | {} | {:.1} |",
                    status(r.status),
                    r.network_objective,
                    neurons,
                    if r.certified { "✓" } else { "✗" },
                    gap,
                    acc(Some(r.train_accuracy)),
                    acc(r.test_accuracy),
                    secs
                );
            }
        }
    }
}

fn status(s: Status) -> &'static str {
    s.name()
}
