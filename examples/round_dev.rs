//! Re-runs one round's restricted solve of pattern generation, on the patterns and warm start the
//! generation had when that round began (docs/benchmarks.md, "Pattern generation"):
//!
//! ```text
//! cargo run --release --example round_dev -- PROBLEM.json DIR ROUND [--time-limit S] [--cold] [--anderson K] [--fixed-rho] [--no-polish]
//! ```
//!
//! The first run generates `ROUND` rounds of `PROBLEM.json` (its `"mode": "generate"` settings with
//! `rounds` set to `ROUND`) and saves the gates and the warm start round `ROUND` would have used to
//! `DIR` (`gates.npy`, `c.npy`, `c_prime.npy`, `rho.txt`); later runs load them. Then it runs that
//! round's solve (the generation's options, under `--time-limit`, default 60 s) warm — or cold
//! with `--cold` — and prints its stop, objective, bound and trace.

use cvxcnn::arch::options::quiet;
use cvxcnn::arch::two_layer;
use cvxcnn::first_order::al::{self, AlOptions, AlResult};
use cvxcnn::first_order::dense::DenseLoss;
use cvxcnn::pipeline::SolveOptions;
use cvxcnn::problem::{ArrangementSpec, Problem};
use ndarray::{Array1, Array2};
use ndarray_npy::{read_npy, write_npy};
use std::path::PathBuf;
use std::time::Instant;

fn main() {
    let mut time_limit = 60.0;
    let mut cold = false;
    let mut anderson = AlOptions::default().anderson;
    let mut adaptive_rho = true;
    let mut polish = true;
    let mut paths = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--time-limit" => {
                time_limit = args.next().and_then(|s| s.parse().ok()).expect("seconds")
            }
            "--cold" => cold = true,
            "--anderson" => anderson = args.next().and_then(|s| s.parse().ok()).expect("memory"),
            "--fixed-rho" => adaptive_rho = false,
            "--no-polish" => polish = false,
            _ => paths.push(a),
        }
    }
    let [problem_path, dir, round] = &paths[..] else {
        panic!(
            "usage: round_dev PROBLEM.json DIR ROUND [--time-limit S] [--cold] [--anderson K] [--fixed-rho] [--no-polish]"
        );
    };
    let rounds: usize = round.parse().expect("ROUND is a number");
    let dir = PathBuf::from(dir);
    let mut problem = Problem::load(problem_path.as_ref()).expect("problem");
    let gates_path = dir.join("gates.npy");
    if !gates_path.exists() {
        let ArrangementSpec::Generate(spec) = &mut problem.arrangements else {
            panic!("{problem_path} is not in generate mode");
        };
        spec.rounds = rounds;
        spec.time_limit = f64::INFINITY;
        let t = Instant::now();
        let g = cvxcnn::generate::resolve_with_state(&problem, &SolveOptions::default(), &quiet)
            .expect("generation")
            .expect("generate mode");
        eprintln!(
            "generated {rounds} rounds in {:.1} s",
            t.elapsed().as_secs_f64()
        );
        let ArrangementSpec::Generated { gates, .. } = &g.problem.arrangements else {
            unreachable!("resolved");
        };
        std::fs::create_dir_all(&dir).expect("dir");
        write_npy(&gates_path, gates).expect("gates.npy");
        write_npy(dir.join("c.npy"), &g.warm.c).expect("c.npy");
        write_npy(dir.join("c_prime.npy"), &g.warm.c_prime).expect("c_prime.npy");
        std::fs::write(dir.join("rho.txt"), format!("{:e}", g.warm.mu)).expect("rho.txt");
    }
    let gates: Array2<f64> = read_npy(&gates_path).expect("gates.npy");
    let c: Array2<f64> = read_npy(dir.join("c.npy")).expect("c.npy");
    let c_prime: Array2<f64> = read_npy(dir.join("c_prime.npy")).expect("c_prime.npy");
    let rho: f64 = std::fs::read_to_string(dir.join("rho.txt"))
        .expect("rho.txt")
        .trim()
        .parse()
        .expect("rho");
    problem.arrangements = ArrangementSpec::Gates {
        gates,
        path: gates_path,
    };
    let prep = two_layer::prepare(&problem, &SolveOptions::default(), &quiet).expect("prepare");
    let p = prep.arrangement.patterns.len();
    assert_eq!(p, c.nrows(), "the gates rebuild the generation's patterns");
    let warm = AlResult {
        c,
        c_prime,
        objective: f64::NAN,
        violation: f64::NAN,
        multipliers: vec![Array1::zeros(0); 2 * p],
        mu: rho,
        outer_iterations: 0,
        inner_iterations: 0,
        converged: false,
        stop: "warm",
        lower_bound: f64::NEG_INFINITY,
        history: Vec::new(),
        trace: Vec::new(),
        polish_rounds: 0,
    };
    let options = AlOptions {
        tol_gap: 1e-5,
        polish_after: 20,
        time_limit,
        anderson,
        adaptive_rho,
        polish,
        ..AlOptions::default()
    };
    let y = problem.y.view();
    let t = Instant::now();
    let mut loss = DenseLoss::new(prep.a.view(), y);
    let run = al::solve_prepared_with(
        &prep,
        Some(&mut loss),
        y,
        problem.beta,
        &options,
        5,
        (!cold).then_some(&warm),
    );
    let r = &run.result;
    println!(
        "{p} patterns, {}: stop {}, objective {:.8}, lower bound {:.8}, {} iterations, {} polish \
         rounds, {:.1} s",
        if cold { "cold" } else { "warm" },
        r.stop,
        r.objective,
        r.lower_bound,
        r.inner_iterations,
        r.polish_rounds,
        t.elapsed().as_secs_f64()
    );
    let every = (r.history.len() / 60).max(1);
    for (k, check) in r.history.iter().enumerate() {
        if k % every == 0 || k + 1 == r.history.len() {
            println!(
                "  {:8.2} s  objective {:.6e}  violation {:.2e}  rho {:.3e}",
                check.seconds, check.objective, check.violation, check.mu
            );
        }
    }
}
