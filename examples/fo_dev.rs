//! Development probe: runs the first-order ReLU solver on a problem and prints its trace.
use cvxcnn::first_order::al::{self, AlOptions};
use cvxcnn::pipeline::{self, SolveOptions};
use cvxcnn::problem::Problem;
use std::path::Path;
use std::time::Instant;

fn quiet(_: &str, _: usize, _: usize) {}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let path = &args[1];
    let reference: f64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(f64::NAN);
    let mu0: Option<f64> = args.get(3).and_then(|s| s.parse().ok());
    let max_iter: usize = args.get(4).and_then(|s| s.parse().ok()).unwrap_or(20000);
    let p = Problem::load(Path::new(path)).expect("load");
    let t = Instant::now();
    let prep = pipeline::prepare(&p, &SolveOptions::default(), &quiet).expect("prep");
    eprintln!(
        "prepare {:.3}s, a {:?}",
        t.elapsed().as_secs_f64(),
        prep.a.dim()
    );
    let options = AlOptions {
        mu0,
        max_iter,
        tol_gap: 1e-7,
        anderson: std::env::var("AA")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(10),
        adaptive_rho: std::env::var("FIXED").is_err(),
        relaxation: std::env::var("RELAX")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(1.6),
        ..AlOptions::default()
    };
    let t = Instant::now();
    let out = al::solve_prepared(&prep, p.y.view(), p.beta, &options, 5);
    let r = &out.result;
    eprintln!(
        "AL {:.10} lb {:.10} in {:.3}s, {} its, stop {}, viol {:.2e} full {:.2e}, rho {:.3e}",
        r.objective,
        r.lower_bound,
        t.elapsed().as_secs_f64(),
        r.inner_iterations,
        r.stop,
        r.violation,
        out.full_violation,
        r.mu
    );
    for (k, (tp, h)) in r.trace.iter().skip(1).zip(&r.history).enumerate() {
        if k < 10 || k.is_power_of_two() || k % 100 == 0 {
            eprintln!(
                "  {:>7} {:.3}s obj {:.10} relerr {:.2e} viol {:.1e} rho {:.3e}",
                tp.iterations,
                tp.seconds,
                tp.objective,
                (tp.objective - reference) / reference,
                tp.violation,
                h.mu
            );
        }
    }
}
