use crate::geometry::ConvGeometry;
use crate::network::ThreeLayerCnn;
use ndarray::{Array1, Array4, ArrayView1, ArrayView4};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

fn data() -> (Array4<f64>, Array1<f64>) {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let mut g = || -> f64 { StandardNormal.sample(&mut rng) };
    let x = Array4::from_shape_fn((4, 2, 3, 4), |_| g());
    let y = Array1::from_shape_fn(4, |_| g());
    (x, y)
}

#[test]
fn gradient_matches_finite_differences() {
    let (x, y) = data();
    let geometry = ConvGeometry {
        kernel: [2, 2],
        stride: [1, 2],
        padding: [1, 0],
    };
    for bias in [false, true] {
        let net = ThreeLayerCnn::random_with_bias(geometry, 2, 3, 2, 1.0, 9, bias);
        assert_eq!(net.biases.is_some(), bias);
        check_gradient(&net, x.view(), y.view());
    }
}

fn check_gradient(net: &ThreeLayerCnn, x: ArrayView4<f64>, y: ArrayView1<f64>) {
    let beta = 0.3;
    let (v, gu, gw1, gw2, gb) = net.gradient(x, y, beta);
    assert!((v - net.objective(x, y, beta).total).abs() < 1e-12);
    let eps = 1e-6;
    let obj = |n: &ThreeLayerCnn| n.objective(x, y, beta).total;
    let mut worst: f64 = 0.0;
    for j in 0..3 {
        for l in 0..2 {
            if net.biases.is_some() {
                let (mut a, mut b) = (net.clone(), net.clone());
                a.biases.as_mut().unwrap()[j][l] += eps;
                b.biases.as_mut().unwrap()[j][l] -= eps;
                worst = worst.max(((obj(&a) - obj(&b)) / (2.0 * eps) - gb[j][l]).abs());
            } else {
                assert_eq!(gb[j][l], 0.0);
            }
            for (i, &g) in gu[j][l].iter().enumerate() {
                let (mut a, mut b) = (net.clone(), net.clone());
                a.filters[j][l][i] += eps;
                b.filters[j][l][i] -= eps;
                worst = worst.max(((obj(&a) - obj(&b)) / (2.0 * eps) - g).abs());
            }
            let (mut a, mut b) = (net.clone(), net.clone());
            a.inner_weights[j][l] += eps;
            b.inner_weights[j][l] -= eps;
            worst = worst.max(((obj(&a) - obj(&b)) / (2.0 * eps) - gw1[j][l]).abs());
        }
        let (mut a, mut b) = (net.clone(), net.clone());
        a.output_weights[j] += eps;
        b.output_weights[j] -= eps;
        worst = worst.max(((obj(&a) - obj(&b)) / (2.0 * eps) - gw2[j]).abs());
    }
    assert!(worst < 1e-5, "largest gradient error {worst:e}");
}

#[test]
fn projected_descent_lowers_the_objective_and_keeps_the_constraint() {
    let (x, y) = data();
    let geometry = ConvGeometry {
        kernel: [2, 2],
        stride: [1, 1],
        padding: [0, 0],
    };
    for bias in [false, true] {
        let mut net = ThreeLayerCnn::random_with_bias(geometry, 2, 4, 3, 0.5, 2, bias);
        let before = net.objective(x.view(), y.view(), 0.1).total;
        let after = net
            .train_projected_gd(x.view(), y.view(), 0.1, 200, 0.01)
            .total;
        assert!(after < before, "{after} !< {before}");
        for f in net.frobenius_norms() {
            assert!(f <= 1.0 + 1e-12, "‖[U, b]‖_F = {f}");
        }
    }
}
