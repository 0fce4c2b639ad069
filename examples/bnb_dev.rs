//! Times the branch and bound alone on a fixed dual vector (docs/benchmarks.md, "Global certificate
//! by branch and bound"):
//!
//! ```text
//! cargo run --release --example bnb_dev -- PROBLEM.json DIR [--time-limit S] [--tolerance T] [--walk] [--find T] [--collect K]
//! ```
//!
//! The first run solves the problem as `cvxcnn certify` does and saves the certificate's dual point
//! and the network's filters (gate space) to `DIR/v.npy` and `DIR/filters.npy`; later runs load them,
//! so that a change to the search is timed on the same `v`. It prints the search's statistics and
//! its throughput in cones per second.
//!
//! With `--walk` it runs the local search of pattern generation on that `v` instead: ascents from
//! the network's neurons, 16 seeded filters and `WALK_STARTS` (environment, default 200) random
//! ones, both signs, then a walk from cell to cell from each ascent's end point, on one core; it
//! prints the best value of each, over β.
//!
//! With `--find T` it runs the search pattern generation runs: for a filter above `β(1 + T)`
//! (the target and the value to stop above), its queue ordered by the cones' best points.

use cvxcnn::arrangement::gaussian_gates;
use cvxcnn::global::{self, Options};
use cvxcnn::pipeline::{self, SolveOptions};
use cvxcnn::problem::Problem;
use ndarray::{Array1, Array2};
use ndarray_npy::{read_npy, write_npy};
use std::path::PathBuf;

fn main() {
    let mut time_limit = 60.0;
    let mut tolerance = 1e-9;
    let mut walk = false;
    let mut find: Option<f64> = None;
    let mut collect = 0usize;
    let mut paths = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--time-limit" => {
                time_limit = args.next().and_then(|s| s.parse().ok()).expect("seconds")
            }
            "--tolerance" => {
                tolerance = args.next().and_then(|s| s.parse().ok()).expect("tolerance")
            }
            "--walk" => walk = true,
            "--find" => find = Some(args.next().and_then(|s| s.parse().ok()).expect("threshold")),
            "--collect" => collect = args.next().and_then(|s| s.parse().ok()).expect("count"),
            _ => paths.push(a),
        }
    }
    let [problem_path, dir] = &paths[..] else {
        panic!(
            "usage: bnb_dev PROBLEM.json DIR [--time-limit S] [--tolerance T] [--walk] [--find T] [--collect K]"
        );
    };
    let dir = PathBuf::from(dir);
    let problem = Problem::load(problem_path.as_ref()).expect("problem");
    let (v_path, f_path) = (dir.join("v.npy"), dir.join("filters.npy"));
    if !v_path.exists() {
        std::fs::create_dir_all(&dir).expect("dir");
        let r = pipeline::solve(&problem, &SolveOptions::default(), &|_, _, _| {}).expect("solve");
        let filters = global::gate_filters(&r);
        let h = filters[0].len();
        write_npy(
            &v_path,
            &Array1::from(r.certificate.evidence.dual_point.clone()),
        )
        .expect("write v");
        write_npy(
            &f_path,
            &Array2::from_shape_vec((filters.len(), h), filters.concat()).expect("filters"),
        )
        .expect("write filters");
        eprintln!("objective {}", r.network_objective);
    }
    let v: Array1<f64> = read_npy(&v_path).expect("v.npy");
    let filters: Array2<f64> = read_npy(&f_path).expect("filters.npy");
    let (patches, alpha) = cvxcnn::arch::two_layer::patches_of(&problem).expect("patches");
    let m = patches.stacked();
    let mut starts: Vec<Vec<f64>> = filters.outer_iter().map(|f| f.to_vec()).collect();
    starts.extend(gaussian_gates(16, m.ncols(), 0x0061_0ba1));
    if walk {
        let pricing = cvxcnn::global::price::Pricing::new(m, &alpha, v.view());
        let beta = problem.beta;
        let mut all = starts.clone();
        let extra: usize = std::env::var("WALK_STARTS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(200);
        all.extend(gaussian_gates(extra, m.ncols(), 7));
        let t = std::time::Instant::now();
        let ascents: Vec<_> = all
            .iter()
            .flat_map(|s| [(s, 1.0), (s, -1.0)])
            .filter_map(|(s, sign)| pricing.ascend(s, sign, 60))
            .collect();
        let ascent_s = t.elapsed().as_secs_f64();
        let top = ascents.iter().map(|f| f.value).fold(0.0_f64, f64::max);
        let t = std::time::Instant::now();
        let walks: Vec<_> = ascents
            .iter()
            .filter_map(|f| pricing.walk(&f.u, f.sign, 200))
            .collect();
        let walk_s = t.elapsed().as_secs_f64();
        let best = walks.iter().map(|f| f.value).fold(0.0_f64, f64::max);
        let above = walks
            .iter()
            .filter(|f| f.value > beta * (1.0 + 1e-4))
            .count();
        println!(
            "{} starts: ascent best {:.6} β in {ascent_s:.2} s; walk best {:.6} β in {walk_s:.2} s, \
             {above} walks above β(1 + 1e-4)",
            ascents.len(),
            top / beta,
            best / beta
        );
        return;
    }
    // `--find T`: the search of pattern generation, for a filter above β(1 + T).
    let threshold = find.map(|t| problem.beta * (1.0 + t));
    // `--collect K`: the search for the largest violation of pattern generation (target
    // β(1 + 1e-4)), keeping the K highest points above it.
    let above = problem.beta * (1.0 + cvxcnn::generate::LARGEST_TOL);
    let options = Options {
        time_limit,
        tolerance,
        starts,
        target: threshold.or((collect > 0).then_some(above)),
        stop_above: threshold,
        collect,
        collect_above: above,
        ..Options::default()
    };
    let s = global::search(m, &alpha, v.view(), &options, &|_, _, _| {});
    println!(
        "{} ≤ M ≤ {} ({:.3e} relative) | {} cones in {:.1} s: {:.0} cones/s | open {} | depth {} | \
         mixed {} | stop {}",
        s.dual_value_best,
        s.dual_value_upper,
        (s.dual_value_upper - s.dual_value_best) / s.dual_value_upper,
        s.cones_explored,
        s.seconds,
        s.cones_explored as f64 / s.seconds,
        s.cones_open,
        s.max_depth,
        s.max_mixed_rows,
        s.stop.name()
    );
    if collect > 0 {
        let mut seen = std::collections::HashSet::new();
        let mut distinct = Vec::new();
        for (value, u) in &s.candidates {
            if seen.insert(cvxcnn::arrangement::pattern_of(m, u)) {
                distinct.push(value / problem.beta);
            }
        }
        // One point per region of the sphere, as pattern generation adds them.
        let regions: Vec<f64> = cvxcnn::generate::regions(&s, above)
            .iter()
            .map(|(_, value)| value / problem.beta)
            .collect();
        println!("{} regions (value over β): {regions:?}", regions.len());
        println!(
            "{} points above β(1 + 1e-4), {} distinct patterns; their values over β: {:?}",
            s.candidates.len(),
            distinct.len(),
            &distinct[..distinct.len().min(40)]
        );
    }
}
