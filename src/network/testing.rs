//! Helpers shared by the unit tests of the folder.

use crate::geometry::ConvGeometry;
use ndarray::{Array1, Array4};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

pub(super) fn geom(kernel: [usize; 2], stride: [usize; 2], padding: [usize; 2]) -> ConvGeometry {
    ConvGeometry {
        kernel,
        stride,
        padding,
    }
}

pub(super) fn random_array(shape: (usize, usize, usize, usize), seed: u64) -> Array4<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    Array4::from_shape_simple_fn(shape, || StandardNormal.sample(&mut rng))
}

pub(super) fn random_targets(n: usize, seed: u64) -> Array1<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    Array1::from_shape_simple_fn(n, || StandardNormal.sample(&mut rng))
}
