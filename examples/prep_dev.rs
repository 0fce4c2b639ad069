//! Times the preparation (patterns, `A_i`, reduction) of one problem, twice, and prints a hash of
//! the cone rows kept (the same hash means the same rows).
//! `cargo run --release --example prep_dev -- PROBLEM`
use cvxcnn::arch::two_layer;
use cvxcnn::pipeline::SolveOptions;
use cvxcnn::problem::Problem;

fn main() {
    let path = std::env::args().nth(1).expect("problem path");
    let problem = Problem::load(std::path::Path::new(&path)).expect("problem");
    let options = SolveOptions::default();
    for _ in 0..2 {
        let prep = two_layer::prepare(&problem, &options, &|_, _, _| {}).expect("prepare");
        let total: usize = prep.rows.iter().map(|r| r.len()).sum();
        let mut hash: u64 = 1469598103934665603;
        for r in &prep.rows {
            for &x in r {
                hash = (hash ^ x as u64).wrapping_mul(1099511628211);
            }
        }
        println!(
            "patterns {} rows {} hash {:016x} arrangements {:.2} s reduction {:.2} s",
            prep.arrangement.patterns.len(),
            total,
            hash,
            prep.timings.arrangements_s,
            prep.timings.reduction_s
        );
    }
}
