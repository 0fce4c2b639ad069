//! Problems and solves the math-fact test files share (`mod support;`). Each file uses a subset.
#![allow(dead_code)]

use cvxcnn::geometry::{Activation, ConvGeometry, FilterNorm, Pooling};
use cvxcnn::pipeline::{self, Report, SolveOptions};
use cvxcnn::problem::{Architecture, ArrangementSpec, Problem, Task};
use ndarray::{Array1, Array4, Axis};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use std::path::PathBuf;

/// A progress callback that prints nothing.
pub fn quiet(_: &str, _: usize, _: usize) {}

/// Solves with default options; the solve must be `optimal`.
pub fn solve(p: &Problem) -> Report {
    solve_with(p, &SolveOptions::default())
}

/// Solves with `o`; the solve must be `optimal`.
pub fn solve_with(p: &Problem, o: &SolveOptions) -> Report {
    let r = pipeline::solve(p, o, &quiet).expect("solve");
    assert_eq!(r.status, cvxcnn::backend::Status::Optimal, "status");
    r
}

/// A scalar problem with the given architecture (ℓ2 filter norm, no held-out data).
pub fn with_architecture(
    x: Array4<f64>,
    y: Array1<f64>,
    architecture: Architecture,
    beta: f64,
    arrangements: ArrangementSpec,
) -> Problem {
    Problem {
        source: PathBuf::from("test"),
        one_d: x.dim().2 == 1,
        x,
        y,
        architecture,
        beta,
        filter_norm: FilterNorm::L2,
        loss: cvxcnn::loss::Loss::Squared,
        arrangements,
        task: Task::Scalar,
        test: None,
    }
}

/// A two-layer ReLU problem without bias.
pub fn problem(
    x: Array4<f64>,
    y: Array1<f64>,
    geometry: ConvGeometry,
    pooling: Pooling,
    beta: f64,
    arrangements: ArrangementSpec,
) -> Problem {
    let architecture = Architecture::TwoLayer {
        geometry,
        pooling,
        activation: Activation::Relu,
        bias: false,
    };
    with_architecture(x, y, architecture, beta, arrangements)
}

/// Standard normal inputs `[n, c, hh, ww]` and targets `[n]` from `seed`.
pub fn gaussian_data(
    n: usize,
    c: usize,
    hh: usize,
    ww: usize,
    seed: u64,
) -> (Array4<f64>, Array1<f64>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut g = || -> f64 { StandardNormal.sample(&mut rng) };
    let x = Array4::from_shape_fn((n, c, hh, ww), |_| g());
    let y = Array1::from_shape_fn(n, |_| g());
    (x, y)
}

/// Digits 3 (+1) vs 8 (−1) from the shipped data, first `n` samples.
pub fn digits(n: usize) -> (Array4<f64>, Array1<f64>) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("problems/data");
    let x = cvxcnn::data::load_inputs(&root.join("images.npy"))
        .expect("images")
        .x;
    let labels = match cvxcnn::data::load_targets(&root.join("labels.npy")).expect("labels") {
        cvxcnn::data::Targets::Labels(l) => l,
        cvxcnn::data::Targets::Real(_) => panic!("labels are integers"),
    };
    let keep: Vec<usize> = (0..labels.len())
        .filter(|&t| labels[t] == 3 || labels[t] == 8)
        .take(n)
        .collect();
    let y = Array1::from_iter(
        keep.iter()
            .map(|&t| if labels[t] == 3 { 1.0 } else { -1.0 }),
    );
    (x.select(Axis(0), &keep), y)
}

/// `count` sampled gates from `seed`.
pub fn sample(count: usize, seed: u64) -> ArrangementSpec {
    ArrangementSpec::Sample { count, seed }
}

/// Every cell of the arrangement.
pub fn exact() -> ArrangementSpec {
    ArrangementSpec::Exact {
        max_patterns: 20_000,
    }
}
