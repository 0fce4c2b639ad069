//! Development probe: AL for a fixed number of iterations, then the Newton polish.
use cvxcnn::certify;
use cvxcnn::first_order::al::{self, AlOptions};
use cvxcnn::first_order::cone;
use cvxcnn::first_order::polish::{self, PolishOptions};
use cvxcnn::geometry::FilterNorm;
use cvxcnn::pipeline::{self, SolveOptions};
use cvxcnn::problem::Problem;
use std::path::Path;
use std::time::Instant;

fn quiet(_: &str, _: usize, _: usize) {}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let path = &args[1];
    let max_iter: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(500);
    let p = Problem::load(Path::new(path)).expect("load");
    let t = Instant::now();
    let prep = pipeline::prepare(&p, &SolveOptions::default(), &quiet).expect("prep");
    eprintln!(
        "prepare {:.3}s, a {:?}",
        t.elapsed().as_secs_f64(),
        prep.a.dim()
    );
    let options = AlOptions {
        max_iter,
        tol_gap: 1e-7,
        ..AlOptions::default()
    };
    let t = Instant::now();
    let out = al::solve_prepared(&prep, p.y.view(), p.beta, &options, 1);
    let r = &out.result;
    eprintln!(
        "AL {:.10} lb {:.10} in {:.3}s, {} its, stop {}",
        r.objective,
        r.lower_bound,
        t.elapsed().as_secs_f64(),
        r.inner_iterations,
        r.stop,
    );
    let m = prep.patches.stacked();
    let arr = &prep.arrangement;
    let cones = cone::cones(&al::cone_matrices(m, arr, &prep.rows));
    let price = |v: ndarray::ArrayView1<f64>| {
        certify::dual_values(m, arr, &prep.a, &prep.rows, v, FilterNorm::L2)
    };
    let t = Instant::now();
    let res = polish::polish(
        prep.a.view(),
        &cones,
        &price,
        p.y.view(),
        p.beta,
        r.c.view(),
        r.c_prime.view(),
        &PolishOptions {
            tol_gap: std::env::var("TOL")
                .ok()
                .and_then(|s| s.parse().ok())
                .unwrap_or(1e-4),
            ..PolishOptions::default()
        },
        &|r| eprintln!("  {r:?}"),
    );
    eprintln!(
        "polish {:.10} lb {:.10} gap {:.2e} stop {} in {:.3}s",
        res.objective,
        res.lower_bound,
        res.relative_gap,
        res.stop,
        t.elapsed().as_secs_f64()
    );
}
