//! The working-set driver ([`cvxcnn::first_order::working_set`]) on one problem; prints JSON.
//!
//! ```sh
//! /usr/bin/time -v cargo run --release --example working_set_bench -- bench/digits_all_2000.json \
//!     [--tol-gap 1e-4] [--initial 200] [--batch 200] [--first] [--time-limit 600]
//! ```
//!
//! Reports the preparation (patterns, `A_i` and the per-pattern reduction), every round (|W|, AL
//! iterations and time, pricing time, largest dual value inside and outside W, certified gap over
//! all patterns) and the final certificate.

use cvxcnn::first_order::working_set::{self, InitialRule, WorkingSetOptions};
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
            "usage: working_set_bench PROBLEM [--tol-gap X] [--initial K] [--batch B] [--first] [--no-polish] [--time-limit S]"
        );
        std::process::exit(2);
    };
    let mut options = WorkingSetOptions::default();
    let mut i = 1;
    let value = |i: usize| -> f64 {
        args.get(i + 1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                eprintln!("{} needs a number", args[i]);
                std::process::exit(2)
            })
    };
    while i < args.len() {
        match args[i].as_str() {
            "--tol-gap" => {
                options.tol_gap = value(i);
                i += 1;
            }
            "--initial" => {
                options.initial = value(i) as usize;
                i += 1;
            }
            "--batch" => {
                options.batch = value(i) as usize;
                i += 1;
            }
            "--time-limit" => {
                options.time_limit = value(i);
                i += 1;
            }
            "--first" => options.initial_rule = InitialRule::First,
            "--no-polish" => options.polish = false,
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
    let prep = pipeline::prepare(&problem, &SolveOptions::default(), &quiet).unwrap_or_else(|e| {
        eprintln!("{e}");
        std::process::exit(1)
    });
    let prepare_s = t.elapsed().as_secs_f64();
    let (p, n, h) = prep.a.dim();
    let rows: usize = prep.rows.iter().map(Vec::len).sum();
    eprintln!(
        "prepared n = {n}, P = {p}, h = {h} in {prepare_s:.1}s (arrangements {:.1}s, reduction {:.1}s, \
         {:.1} irredundant rows per pattern)",
        prep.timings.arrangements_s,
        prep.timings.reduction_s,
        rows as f64 / p as f64
    );
    let t = Instant::now();
    let show = |r: &working_set::Round| {
        eprintln!(
            "round: |W| {} tol {:.0e}: {} its ({}) factor {:.1}s AL {:.1}s pricing {:.1}s; obj {:.8} \
             max dual {:.6} (outside {:.6}, {} violators, {} added) lb {:.8} gap {:.2e}; polish {:.1}s gap {} \
             at {:.1}s",
            r.working_set,
            r.inner_tol_gap,
            r.iterations,
            r.al_stop,
            r.factor_seconds,
            r.al_seconds,
            r.pricing_seconds,
            r.objective,
            r.max_dual_value,
            r.max_dual_outside,
            r.violators,
            r.added,
            r.lower_bound,
            r.relative_gap,
            r.polish_seconds,
            r.polish_gap.map_or("-".to_string(), |g| format!("{g:.2e}")),
            r.seconds
        );
    };
    let out =
        working_set::solve_with_progress(&prep, problem.y.view(), problem.beta, &options, &show);
    let solve_s = t.elapsed().as_secs_f64();
    eprintln!(
        "working set: {} ({}) objective {:.8} lb {:.8} gap {:.2e}, |W| {}, {} rounds, {} iterations, \
         full violation {:.1e}, {solve_s:.1}s (+ {prepare_s:.1}s prepare)",
        out.stop,
        if out.converged {
            "certified"
        } else {
            "not certified"
        },
        out.objective,
        out.lower_bound,
        out.relative_gap,
        out.working_set.len(),
        out.rounds.len(),
        out.iterations,
        out.full_violation
    );
    let report = json!({
        "problem": path,
        "n": n,
        "patterns": p,
        "h": h,
        "threads": rayon::current_num_threads(),
        "prepare_s": prepare_s,
        "arrangements_s": prep.timings.arrangements_s,
        "reduction_s": prep.timings.reduction_s,
        "irredundant_rows_per_pattern": rows as f64 / p as f64,
        "initial_seconds": out.initial_seconds,
        "solve_s": solve_s,
        "stop": out.stop,
        "converged": out.converged,
        "objective": out.objective,
        "lower_bound": out.lower_bound,
        "relative_gap": out.relative_gap,
        "max_dual_value": out.max_dual_value,
        "beta": problem.beta,
        "full_violation": out.full_violation,
        "working_set": out.working_set.len(),
        "iterations": out.iterations,
        "rounds": out.rounds,
        "trace": out.trace,
    });
    println!("{}", serde_json::to_string(&report).expect("json"));
}
