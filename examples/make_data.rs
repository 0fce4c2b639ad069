//! Regenerates the small synthetic data sets shipped in `problems/data/` (deterministic, seeded).
//!
//! Targets come from a random "teacher" network of the same architecture plus a little noise, so the
//! problems have structure to find. Run: `cargo run --release --example make_data`.

use cvxcnn::geometry::{ConvGeometry, Pooling};
use cvxcnn::network::{CircularCnn, ThreeLayerCnn, TwoLayerCnn};
use ndarray::{Array1, Array4};
use ndarray_npy::WriteNpyExt;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use std::fs::File;
use std::io::BufWriter;

fn gaussian(rng: &mut ChaCha8Rng) -> f64 {
    StandardNormal.sample(rng)
}

fn make(name: &str, n: usize, c: usize, l: usize, kernel: usize, stride: usize, seed: u64) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let x = Array4::from_shape_fn((n, c, 1, l), |_| gaussian(&mut rng));
    let geometry = ConvGeometry {
        kernel: [1, kernel],
        stride: [1, stride],
        padding: [0, 0],
    };
    let teacher = TwoLayerCnn::random(geometry, Pooling::Sum, c, 3, 1.0, seed + 1);
    let noise = Array1::from_shape_fn(n, |_| 0.1 * gaussian(&mut rng));
    let y = teacher.forward(x.view()) + noise;
    // Stored as [n, C, L]: 1-D signals.
    let x3 = x
        .into_shape_with_order((n, c, l))
        .expect("same number of elements");
    let dir = std::path::Path::new("problems/data");
    x3.write_npy(BufWriter::new(
        File::create(dir.join(format!("{name}_x.npy"))).expect("create"),
    ))
    .expect("write inputs");
    y.write_npy(BufWriter::new(
        File::create(dir.join(format!("{name}_y.npy"))).expect("create"),
    ))
    .expect("write targets");
    println!("wrote problems/data/{name}_x.npy [{n}, {c}, {l}] and {name}_y.npy [{n}]");
}

/// 1-D signals `[n, 1, d]` for the circular CNN (docs/math.md §8), targets from a random circular
/// teacher of width 3 plus noise.
fn make_circular(name: &str, n: usize, d: usize, seed: u64) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let x = ndarray::Array2::from_shape_fn((n, d), |_| gaussian(&mut rng));
    let teacher = CircularCnn::random(d, 3, false, 1.0, seed + 1);
    let noise = Array1::from_shape_fn(n, |_| 0.1 * gaussian(&mut rng));
    let y = teacher.forward(x.view()) + noise;
    let x3 = x
        .into_shape_with_order((n, 1, d))
        .expect("same number of elements");
    let dir = std::path::Path::new("problems/data");
    x3.write_npy(BufWriter::new(
        File::create(dir.join(format!("{name}_x.npy"))).expect("create"),
    ))
    .expect("write inputs");
    y.write_npy(BufWriter::new(
        File::create(dir.join(format!("{name}_y.npy"))).expect("create"),
    ))
    .expect("write targets");
    println!("wrote problems/data/{name}_x.npy [{n}, 1, {d}] and {name}_y.npy [{n}]");
}

/// 1-D signals whose targets come from a random three-layer teacher (docs/math.md §9).
fn make_three(name: &str, n: usize, l: usize, kernel: usize, seed: u64) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let x = Array4::from_shape_fn((n, 1, 1, l), |_| gaussian(&mut rng));
    let geometry = ConvGeometry {
        kernel: [1, kernel],
        stride: [1, 1],
        padding: [0, 0],
    };
    let teacher = ThreeLayerCnn::random(geometry, 1, 3, 2, 1.0, seed + 1);
    let noise = Array1::from_shape_fn(n, |_| 0.1 * gaussian(&mut rng));
    let y = teacher.forward(x.view()) + noise;
    let x3 = x
        .into_shape_with_order((n, 1, l))
        .expect("same number of elements");
    let dir = std::path::Path::new("problems/data");
    x3.write_npy(BufWriter::new(
        File::create(dir.join(format!("{name}_x.npy"))).expect("create"),
    ))
    .expect("write inputs");
    y.write_npy(BufWriter::new(
        File::create(dir.join(format!("{name}_y.npy"))).expect("create"),
    ))
    .expect("write targets");
    println!("wrote problems/data/{name}_x.npy [{n}, 1, {l}] and {name}_y.npy [{n}]");
}

fn main() {
    // h = 2: the exact arrangement has 2nK cells; small enough to enumerate.
    make("signal", 12, 1, 8, 2, 1, 11);
    // Three channels, stride 2, h = 9.
    make("channels", 40, 3, 12, 3, 2, 12);
    // h = 3 from three channels and a width-1 kernel: exact mode in R^3.
    make("exact3", 6, 3, 4, 1, 1, 13);
    // Circular CNN over whole signals of length 16.
    make_circular("circular", 60, 16, 14);
    // d = 3: every cell of the arrangement (exact mode), a global certificate.
    make_circular("circular_exact", 10, 3, 15);
    // Targets from a three-layer teacher (3 sub-networks of 2 inner filters), kernel 3.
    make_three("three", 30, 10, 3, 14);
}
