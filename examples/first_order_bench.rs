//! First-order ReLU solver (ADMM augmented Lagrangian) against Clarabel on one problem; prints JSON.
//!
//! ```sh
//! cargo run --release --example first_order_bench -- bench/digits340.json [--tol-gap 1e-4,1e-5] [--no-clarabel]
//! ```
//!
//! For each gap tolerance the solver runs cold twice — with its polish (the default) and as the ADMM
//! alone (`polish: false`; skipped with `--no-admm-alone`) — and stops by its own certified duality gap; the JSON
//! has its time, iterations, objective, lower bound, violations and the whole convergence trace.
//! `bench/scs_compare.py` runs this beside SCS and Python Clarabel on the exported program.

use cvxcnn::first_order::al::{self, AlOptions};
use cvxcnn::pipeline::{self, SolveOptions};
use cvxcnn::problem::Problem;
use serde_json::json;
use std::path::Path;
use std::time::Instant;

fn quiet(_: &str, _: usize, _: usize) {}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(path) = args.first() else {
        eprintln!(
            "usage: first_order_bench PROBLEM [--tol-gap X,Y] [--no-clarabel] [--no-admm-alone]"
        );
        std::process::exit(2);
    };
    let mut tols = vec![1e-4, 1e-5];
    let mut clarabel = true;
    let mut with_admm_alone = true;
    let mut i = 1;
    while i < args.len() {
        match args[i].as_str() {
            "--tol-gap" => {
                tols = args
                    .get(i + 1)
                    .map(|s| s.split(',').filter_map(|t| t.parse().ok()).collect())
                    .unwrap_or_default();
                i += 1;
            }
            "--no-clarabel" => clarabel = false,
            "--no-admm-alone" => with_admm_alone = false,
            other => {
                eprintln!("unknown argument {other}");
                std::process::exit(2);
            }
        }
        i += 1;
    }
    let problem = Problem::load(Path::new(path)).unwrap_or_else(|e| {
        eprintln!("{e}");
        std::process::exit(1)
    });
    let t = Instant::now();
    let prep = pipeline::prepare(&problem, &SolveOptions::default(), &quiet).expect("prepare");
    let prepare_s = t.elapsed().as_secs_f64();
    let (p, n, h) = prep.a.dim();
    let reference = clarabel.then(|| {
        let report = pipeline::solve(&problem, &SolveOptions::default(), &quiet).expect("solve");
        json!({
            "objective": report.objective,
            "status": format!("{:?}", report.status),
            "solve_s": report.timings.solve_s,
            "iterations": report.solver.iterations,
        })
    });
    // The floor of one iteration: one product with A (n × hP) and one with Aᵀ.
    let floor = {
        let op = cvxcnn::first_order::dense::DenseOp::new(prep.a.view());
        let z = vec![1.0; p * h];
        let r = vec![1.0; n];
        let reps = 50;
        let t = Instant::now();
        let mut acc = 0.0;
        for _ in 0..reps {
            acc += op.apply(&z)[0] + op.adjoint(&r)[0];
        }
        std::hint::black_box(acc);
        t.elapsed().as_secs_f64() / reps as f64
    };
    eprintln!(
        "floor: two dense products with the {n} × {} matrix take {:.3} ms",
        p * h,
        floor * 1e3
    );
    let mut runs = Vec::new();
    for (&tol_gap, polish) in tols
        .iter()
        .flat_map(|t| [(t, true), (t, false)])
        .filter(|(_, polish)| *polish || with_admm_alone)
    {
        let options = AlOptions {
            tol_gap,
            tol_violation: 1e-6,
            polish,
            ..AlOptions::default()
        };
        let t = Instant::now();
        let out = al::solve_prepared(&prep, problem.y.view(), problem.beta, &options, 5);
        let secs = t.elapsed().as_secs_f64();
        let r = &out.result;
        eprintln!(
            "AL{} tol_gap {tol_gap:.0e}: {:.10} (lb {:.10}) in {secs:.3}s, {} iterations, {} polish rounds, {}, \
             violation {:.1e}, full {:.1e}",
            if polish { "" } else { " (ADMM alone)" },
            r.objective,
            r.lower_bound,
            r.inner_iterations,
            r.polish_rounds,
            r.stop,
            r.violation,
            out.full_violation
        );
        // Iteration time from the trace (after the loss factorization), against the floor.
        let per_iteration = match (r.trace.first(), r.trace.last()) {
            (Some(a), Some(b)) if b.iterations > a.iterations => {
                (b.seconds - a.seconds) / (b.iterations - a.iterations) as f64
            }
            _ => f64::NAN,
        };
        eprintln!(
            "    {:.3} ms per iteration = {:.1} × the floor",
            per_iteration * 1e3,
            per_iteration / floor
        );
        runs.push(json!({
            "tol_gap": tol_gap,
            "polish": polish,
            "polish_rounds": r.polish_rounds,
            "seconds": secs,
            "seconds_per_iteration": per_iteration,
            "iterations": r.inner_iterations,
            "objective": r.objective,
            "lower_bound": r.lower_bound,
            "violation": r.violation,
            "full_violation": out.full_violation,
            "rounds": out.rounds,
            "stop": r.stop,
            "trace": r.trace,
        }));
    }
    let report = json!({
        "problem": path,
        "n": n,
        "patterns": p,
        "h": h,
        "prepare_s": prepare_s,
        "floor_seconds_per_iteration": floor,
        "threads": rayon::current_num_threads(),
        "clarabel": reference,
        "al": runs,
    });
    println!("{}", serde_json::to_string(&report).expect("json"));
}
