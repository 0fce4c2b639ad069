use crate::geometry::{Activation, Pooling};
use crate::network::TwoLayerCnn;
use crate::network::testing::{geom, random_array, random_targets};
use ndarray::{Array1, array};

#[test]
fn gradient_matches_central_finite_differences() {
    let g = geom([2, 3], [2, 1], [1, 1]);
    let x = random_array((4, 2, 5, 4), 21);
    let y = random_targets(4, 22);
    let beta = 0.3;
    // Random data has no ties in the argmax, so max pooling is differentiable here.
    for pooling in [Pooling::Sum, Pooling::Average, Pooling::Max] {
        let cnn = TwoLayerCnn::random(g, pooling, 2, 3, 0.8, 23);
        let (gu, gw) = cnn.gradient(x.view(), y.view(), beta);
        assert_eq!(gu.len(), 3, "filter gradient count {} vs 3", gu.len());
        assert_eq!(gw.len(), 3, "weight gradient count {} vs 3", gw.len());
        let eps = 1e-6;
        let fd = |perturb: &dyn Fn(&mut TwoLayerCnn, f64)| {
            let mut plus = cnn.clone();
            perturb(&mut plus, eps);
            let mut minus = cnn.clone();
            perturb(&mut minus, -eps);
            (plus.objective(x.view(), y.view(), beta).total
                - minus.objective(x.view(), y.view(), beta).total)
                / (2.0 * eps)
        };
        let check = |analytic: f64, numeric: f64, what: String| {
            let scale = analytic.abs().max(numeric.abs()).max(1e-3);
            assert!(
                (analytic - numeric).abs() <= 1e-6 * scale,
                "{pooling:?} {what}: analytic {analytic}, finite difference {numeric}"
            );
        };
        for (j, (gu_j, &gw_j)) in gu.iter().zip(&gw).enumerate() {
            for (i, &analytic) in gu_j.iter().enumerate() {
                let numeric = fd(&|n: &mut TwoLayerCnn, d| n.filters[j][i] += d);
                check(analytic, numeric, format!("∂/∂u[{j}][{i}]"));
            }
            let numeric = fd(&|n: &mut TwoLayerCnn, d| n.output_weights[j] += d);
            check(gw_j, numeric, format!("∂/∂w[{j}]"));
        }
    }
}

#[test]
fn gradient_of_variants_matches_central_finite_differences() {
    // Local average pooling (windows 2×1 over a 3×2 grid), linear activation, biases with
    // padding, each alone and combined.
    let g = geom([2, 3], [2, 1], [1, 1]);
    let x = random_array((4, 2, 5, 4), 24);
    let y = random_targets(4, 25);
    let beta = 0.3;
    let local = Pooling::LocalAverage { size: [2, 1] };
    for (pooling, activation, bias) in [
        (local, Activation::Relu, false),
        (Pooling::Sum, Activation::Linear, false),
        (Pooling::Average, Activation::Relu, true),
        (local, Activation::Linear, true),
    ] {
        let mut cnn = TwoLayerCnn::random(g, pooling, 2, 3, 0.8, 26).with_activation(activation);
        if bias {
            cnn = cnn.with_random_biases(0.5, 27);
        }
        let grad = cnn.full_gradient(x.view(), y.view(), beta);
        let eps = 1e-6;
        let fd = |perturb: &dyn Fn(&mut TwoLayerCnn, f64)| {
            let mut plus = cnn.clone();
            perturb(&mut plus, eps);
            let mut minus = cnn.clone();
            perturb(&mut minus, -eps);
            (plus.objective(x.view(), y.view(), beta).total
                - minus.objective(x.view(), y.view(), beta).total)
                / (2.0 * eps)
        };
        let check = |analytic: f64, numeric: f64, what: String| {
            let scale = analytic.abs().max(numeric.abs()).max(1e-3);
            assert!(
                (analytic - numeric).abs() <= 1e-6 * scale,
                "{pooling:?} {activation:?} bias {bias} {what}: analytic {analytic}, \
                 finite difference {numeric}"
            );
        };
        for j in 0..3 {
            for i in 0..12 {
                let numeric = fd(&|n: &mut TwoLayerCnn, d| n.filters[j][i] += d);
                check(grad.filters[j][i], numeric, format!("∂/∂u[{j}][{i}]"));
            }
            let numeric = fd(&|n: &mut TwoLayerCnn, d| n.output_weights[j] += d);
            check(grad.output_weights[j], numeric, format!("∂/∂w[{j}]"));
            if bias {
                let numeric = fd(&|n: &mut TwoLayerCnn, d| n.biases.as_mut().unwrap()[j] += d);
                check(grad.biases[j], numeric, format!("∂/∂b[{j}]"));
            } else {
                assert!(grad.biases.is_empty());
            }
        }
    }
}

#[test]
fn train_gd_decreases_objective_monotonically_and_ends_below_start() {
    let g = geom([3, 3], [1, 1], [1, 1]);
    let x = random_array((6, 1, 5, 5), 31);
    let y = random_targets(6, 32);
    let beta = 0.05;
    let mut cnn = TwoLayerCnn::random(g, Pooling::Average, 1, 4, 0.5, 33);
    let start = cnn.objective(x.view(), y.view(), beta);
    let mut history = Vec::new();
    let end = cnn.train_gd_recorded(x.view(), y.view(), beta, 200, 1.0, |o| history.push(o));
    assert!(
        history.len() > 10,
        "only {} objectives recorded",
        history.len()
    );
    assert_eq!(
        history[0], start,
        "first record {:?} vs start {start:?}",
        history[0]
    );
    for (i, pair) in history.windows(2).enumerate() {
        assert!(
            pair[1].total <= pair[0].total,
            "objective rose at step {i}: {} → {}",
            pair[0].total,
            pair[1].total
        );
    }
    assert!(
        end.total < 0.5 * start.total,
        "final objective {} not below half the start {}",
        end.total,
        start.total
    );
    let recomputed = cnn.objective(x.view(), y.view(), beta);
    assert_eq!(
        end, recomputed,
        "returned {end:?} vs recomputed {recomputed:?}"
    );

    // The public entry point follows the same deterministic path.
    let mut again = TwoLayerCnn::random(g, Pooling::Average, 1, 4, 0.5, 33);
    let end2 = again.train_gd(x.view(), y.view(), beta, 200, 1.0);
    assert_eq!(end, end2, "recorded run {end:?} vs public run {end2:?}");
}

#[test]
fn train_gd_with_non_positive_lr_leaves_network_unchanged() {
    let g = geom([2, 2], [1, 1], [0, 0]);
    let x = random_array((3, 1, 3, 3), 41);
    let y = random_targets(3, 42);
    let original = TwoLayerCnn::random(g, Pooling::Sum, 1, 2, 1.0, 43);
    let mut cnn = original.clone();
    let start = cnn.objective(x.view(), y.view(), 0.1);
    let end = cnn.train_gd(x.view(), y.view(), 0.1, 10, 0.0);
    assert_eq!(end, start, "objective {end:?} vs start {start:?}");
    assert_eq!(cnn, original, "network changed with lr = 0");
}

#[test]
fn width_zero_gives_zero_outputs_and_half_squared_target_norm() {
    let g = geom([2, 2], [1, 1], [0, 0]);
    let x = random_array((4, 2, 3, 3), 61);
    let y = array![1.0, -2.0, 0.5, 3.0];
    let cnn = TwoLayerCnn::random(g, Pooling::Sum, 2, 0, 1.0, 62);
    assert!(cnn.filters.is_empty() && cnn.output_weights.is_empty());
    let f = cnn.forward(x.view());
    assert_eq!(f, Array1::<f64>::zeros(4), "outputs {f} vs zeros");
    let obj = cnn.objective(x.view(), y.view(), 0.7);
    let want = 0.5 * (1.0 + 4.0 + 0.25 + 9.0);
    assert_eq!(obj.loss, want, "loss {} vs ½‖y‖² = {want}", obj.loss);
    assert_eq!(obj.regularizer, 0.0, "regularizer {} vs 0", obj.regularizer);
    assert_eq!(obj.total, want, "total {} vs {want}", obj.total);
    let (gu, gw) = cnn.gradient(x.view(), y.view(), 0.7);
    assert!(
        gu.is_empty() && gw.is_empty(),
        "gradient not empty: {gu:?} {gw:?}"
    );
    let mut trained = cnn.clone();
    let end = trained.train_gd(x.view(), y.view(), 0.7, 5, 1.0);
    assert_eq!(end, obj, "training a width-0 network: {end:?} vs {obj:?}");
}

#[test]
fn random_is_deterministic_in_seed_and_has_requested_shapes() {
    let g = geom([3, 2], [1, 1], [0, 0]);
    let a = TwoLayerCnn::random(g, Pooling::Sum, 2, 5, 0.1, 7);
    let b = TwoLayerCnn::random(g, Pooling::Sum, 2, 5, 0.1, 7);
    let c = TwoLayerCnn::random(g, Pooling::Sum, 2, 5, 0.1, 8);
    assert_eq!(a, b, "same seed gave different networks");
    assert_ne!(a, c, "different seeds gave the same network");
    assert_eq!(a.filters.len(), 5, "{} filters vs 5", a.filters.len());
    assert!(
        a.filters.iter().all(|u| u.len() == 12),
        "filter length ≠ C·kh·kw = 12"
    );
    assert_eq!(
        a.output_weights.len(),
        5,
        "{} weights vs 5",
        a.output_weights.len()
    );
}
