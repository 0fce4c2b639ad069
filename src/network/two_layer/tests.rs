use super::*;
use crate::network::testing::{geom, random_array};
use ndarray::{Array4, ShapeBuilder, array};

fn net(
    geometry: ConvGeometry,
    pooling: Pooling,
    channels: usize,
    filters: Vec<Vec<f64>>,
    output_weights: Vec<f64>,
) -> TwoLayerCnn {
    TwoLayerCnn {
        geometry,
        pooling,
        channels,
        filters,
        output_weights,
        activation: Activation::Relu,
        biases: None,
    }
}

/// The 3×3 image of the hand-computed examples.
fn image_3x3() -> Array4<f64> {
    array![[[[1.0, -2.0, 3.0], [0.0, 4.0, -1.0], [2.0, 1.0, -3.0]]]]
}

fn assert_outputs(got: &Array1<f64>, want: &[f64], what: &str) {
    assert_eq!(
        got.len(),
        want.len(),
        "{what}: {} outputs, want {}",
        got.len(),
        want.len()
    );
    for (t, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= 1e-12 * (1.0 + w.abs()),
            "{what}: f(x_{t}) = {g}, hand-computed {w}"
        );
    }
}

// Filters for the 2×2 kernel, entries (a,b) = (0,0),(0,1),(1,0),(1,1):
//   u1 = [1, 2, −1, 1]:  z(r,c) = x[r,c] + 2x[r,c+1] − x[r+1,c] + x[r+1,c+1]
//   u2 = [−1, 0, 0, 0]:  z(r,c) = −x[r,c]
fn hand_filters() -> (Vec<Vec<f64>>, Vec<f64>) {
    (
        vec![vec![1.0, 2.0, -1.0, 1.0], vec![-1.0, 0.0, 0.0, 0.0]],
        vec![0.5, -1.5],
    )
}

#[test]
fn forward_matches_hand_computation_for_2x2_kernel_stride_1_no_padding() {
    // u1: z = [1, −1; 7, −2] → Σ relu = 8.  u2: z = [−1, 2; 0, −4] → Σ relu = 2.
    // Sum: 0.5·8 − 1.5·2 = 1.  Average (K = 4): 1/4.
    let x = image_3x3();
    let (filters, weights) = hand_filters();
    let g = geom([2, 2], [1, 1], [0, 0]);
    let sum = net(g, Pooling::Sum, 1, filters.clone(), weights.clone());
    assert_outputs(&sum.forward(x.view()), &[1.0], "sum pooling, stride 1");
    let avg = net(g, Pooling::Average, 1, filters.clone(), weights.clone());
    assert_outputs(&avg.forward(x.view()), &[0.25], "average pooling, stride 1");
    // Max: u1 → max relu = 7, u2 → 2: 0.5·7 − 1.5·2 = 0.5.
    let max = net(g, Pooling::Max, 1, filters, weights);
    assert_outputs(&max.forward(x.view()), &[0.5], "max pooling, stride 1");
}

#[test]
fn forward_matches_hand_computation_for_2x2_kernel_stride_2_padding_1() {
    // Padded 5×5 input, grid 2×2 with top-left corners at (−1,−1), (−1,1), (1,−1), (1,1).
    // u1: z = [0+0−0+1, 0+0+2+3; 0+0−0+2, 4−2−1−3] = [1, 5; 2, −2] → Σ relu = 8.
    // u2: z = [−0, −0; −0, −4] → Σ relu = 0.
    // Sum: 0.5·8 = 4.  Average (K = 4): 1.
    let x = image_3x3();
    let (filters, weights) = hand_filters();
    let g = geom([2, 2], [2, 2], [1, 1]);
    let sum = net(g, Pooling::Sum, 1, filters.clone(), weights.clone());
    assert_outputs(
        &sum.forward(x.view()),
        &[4.0],
        "sum pooling, stride 2, pad 1",
    );
    let avg = net(g, Pooling::Average, 1, filters, weights);
    assert_outputs(
        &avg.forward(x.view()),
        &[1.0],
        "average pooling, stride 2, pad 1",
    );
}

#[test]
fn forward_matches_hand_computation_for_two_channel_1d_signals_with_padding() {
    // Channel 0: [1, −1, 2, 0, 3], channel 1: [0, 1, −2, 1, 1]; kernel width 2, pad 1.
    // u = [1, 1, −1, 2]: z(p) = x0[p] + x0[p+1] − x1[p] + 2·x1[p+1], p = −1..4:
    //   [1, 2, −4, 6, 4, 2] → Σ relu = 15; the negated signal gives Σ relu = 4.
    // w = 2: sum pooling [30, 8]; average (K = 6) [5, 4/3].
    let first = [[1.0, -1.0, 2.0, 0.0, 3.0], [0.0, 1.0, -2.0, 1.0, 1.0]];
    let mut x = Array4::zeros((2, 2, 1, 5));
    for ch in 0..2 {
        for p in 0..5 {
            x[[0, ch, 0, p]] = first[ch][p];
            x[[1, ch, 0, p]] = -first[ch][p];
        }
    }
    let g = geom([1, 2], [1, 1], [0, 1]);
    let u = vec![vec![1.0, 1.0, -1.0, 2.0]];
    let sum = net(g, Pooling::Sum, 2, u.clone(), vec![2.0]);
    assert_outputs(&sum.forward(x.view()), &[30.0, 8.0], "1-D sum pooling");
    let avg = net(g, Pooling::Average, 2, u, vec![2.0]);
    assert_outputs(
        &avg.forward(x.view()),
        &[5.0, 4.0 / 3.0],
        "1-D average pooling",
    );
}

/// Per-position reference: for every output position, an explicit bounds-checked dot
/// product with the (virtually) zero-padded input.
fn naive_forward(net: &TwoLayerCnn, x: &Array4<f64>) -> Vec<f64> {
    let (n, c, h, w) = x.dim();
    let [kh, kw] = net.geometry.kernel;
    let [sh, sw] = net.geometry.stride;
    let [ph, pw] = net.geometry.padding;
    let gr = (h + 2 * ph - kh) / sh + 1;
    let gc = (w + 2 * pw - kw) / sw + 1;
    let s = match net.pooling {
        Pooling::Sum | Pooling::Max => 1.0,
        Pooling::Average => 1.0 / (gr * gc) as f64,
        Pooling::LocalAverage { .. } => panic!("naive_forward: global pooling only"),
    };
    (0..n)
        .map(|t| {
            let mut f = 0.0;
            for (u, wj) in net.filters.iter().zip(&net.output_weights) {
                let mut pooled = 0.0;
                for r in 0..gr {
                    for cc in 0..gc {
                        let mut z = 0.0;
                        for ch in 0..c {
                            for a in 0..kh {
                                for b in 0..kw {
                                    let i = (r * sh + a) as isize - ph as isize;
                                    let j = (cc * sw + b) as isize - pw as isize;
                                    if i >= 0 && j >= 0 && (i as usize) < h && (j as usize) < w {
                                        z += u[(ch * kh + a) * kw + b]
                                            * x[[t, ch, i as usize, j as usize]];
                                    }
                                }
                            }
                        }
                        if net.pooling == Pooling::Max {
                            pooled = f64::max(pooled, z.max(0.0));
                        } else {
                            pooled += z.max(0.0);
                        }
                    }
                }
                f += wj * s * pooled;
            }
            f
        })
        .collect()
}

#[test]
fn forward_matches_per_position_reference_over_varied_strides_and_paddings() {
    let cases = [
        ([3, 3], [1, 1], [0, 0]),
        ([3, 2], [2, 3], [1, 2]),
        ([2, 2], [3, 3], [0, 0]),
        ([2, 3], [1, 2], [3, 3]), // padding ≥ kernel: some patches are all zeros
        ([1, 4], [1, 3], [0, 2]),
        ([5, 6], [1, 1], [0, 0]), // a single position
    ];
    let x = random_array((3, 2, 5, 6), 11);
    for (i, &(kernel, stride, padding)) in cases.iter().enumerate() {
        for pooling in [Pooling::Sum, Pooling::Average, Pooling::Max] {
            let g = geom(kernel, stride, padding);
            let cnn = TwoLayerCnn::random(g, pooling, 2, 4, 1.0, 100 + i as u64);
            let got = cnn.forward(x.view());
            let want = naive_forward(&cnn, &x);
            for (t, (a, b)) in got.iter().zip(&want).enumerate() {
                assert!(
                    (a - b).abs() <= 1e-12 * (1.0 + b.abs()),
                    "case {i} {pooling:?}, sample {t}: direct conv {a}, reference {b}"
                );
            }
        }
    }
}

#[test]
fn forward_accepts_non_standard_layout_input() {
    let x = random_array((3, 2, 4, 5), 3);
    let mut x_f = Array4::zeros((3, 2, 4, 5).f());
    x_f.assign(&x);
    assert!(!x_f.is_standard_layout());
    let cnn = TwoLayerCnn::random(geom([2, 3], [1, 2], [1, 0]), Pooling::Sum, 2, 3, 1.0, 4);
    let a = cnn.forward(x.view());
    let b = cnn.forward(x_f.view());
    assert_eq!(a, b, "standard layout {a} vs Fortran layout {b}");
}

#[test]
fn local_average_linear_and_bias_forward_match_hand_computation() {
    // Signal [1, −2, 3, −4] (one channel), kernel 1, u = [1], w = 2.
    // ReLU, windows of 2: 2 · ((1 + 0)/2 + (3 + 0)/2) = 4.
    // Linear, windows of 2: 2 · ((1 − 2)/2 + (3 − 4)/2) = −2.
    // ReLU, bias 1.5, windows of 2: z = [2.5, −0.5, 4.5, −2.5] → 2 · (2.5/2 + 4.5/2) = 7.
    // ReLU, windows of 3 (clipped: [1, −2, 3] and [−4]): 2 · (4/3 + 0) = 8/3.
    let mut x = Array4::zeros((1, 1, 1, 4));
    for (p, v) in [1.0, -2.0, 3.0, -4.0].iter().enumerate() {
        x[[0, 0, 0, p]] = *v;
    }
    let g = geom([1, 1], [1, 1], [0, 0]);
    let pool = |p: usize| Pooling::LocalAverage { size: [1, p] };
    let relu = net(g, pool(2), 1, vec![vec![1.0]], vec![2.0]);
    assert_outputs(&relu.forward(x.view()), &[4.0], "ReLU, windows of 2");
    let linear = relu.clone().with_activation(Activation::Linear);
    assert_outputs(&linear.forward(x.view()), &[-2.0], "linear, windows of 2");
    let mut biased = relu.clone();
    biased.biases = Some(vec![1.5]);
    assert_outputs(&biased.forward(x.view()), &[7.0], "bias 1.5, windows of 2");
    let clipped = net(g, pool(3), 1, vec![vec![1.0]], vec![2.0]);
    assert_outputs(&clipped.forward(x.view()), &[8.0 / 3.0], "clipped window");
    // Regularizer with a bias: (β/2)(u² + b² + w²) = 0.5 · (1 + 2.25 + 4) / 2.
    let obj = biased.objective(x.view(), ndarray::array![7.0].view(), 0.5);
    assert_eq!(
        obj.regularizer,
        0.25 * 7.25,
        "regularizer {}",
        obj.regularizer
    );
    let l1 = biased.regularizer_with_norm(0.5, FilterNorm::L1);
    assert_eq!(l1, 0.25 * (2.5 * 2.5 + 4.0), "ℓ1 regularizer {l1}");
}

#[test]
fn forward_is_invariant_under_positive_rescaling_of_filter_and_weight() {
    let g = geom([2, 3], [1, 2], [1, 1]);
    let x = random_array((5, 3, 4, 6), 51);
    let cnn = TwoLayerCnn::random(g, Pooling::Average, 3, 4, 1.0, 52);
    let base = cnn.forward(x.view());
    let mut scaled = cnn.clone();
    for (j, (u, w)) in scaled
        .filters
        .iter_mut()
        .zip(scaled.output_weights.iter_mut())
        .enumerate()
    {
        let a = [3.7, 0.25, 11.0, 1e-3][j];
        u.iter_mut().for_each(|v| *v *= a);
        *w /= a;
    }
    let got = scaled.forward(x.view());
    for (t, (b, s)) in base.iter().zip(&got).enumerate() {
        assert!(
            (b - s).abs() <= 1e-12 * (1.0 + b.abs()),
            "sample {t}: original {b}, rescaled {s}"
        );
    }
}

#[test]
fn regularizer_is_half_beta_times_squared_parameter_norm() {
    let g = geom([1, 2], [1, 1], [0, 0]);
    let cnn = net(
        g,
        Pooling::Sum,
        1,
        vec![vec![1.0, -2.0], vec![0.0, 3.0]],
        vec![2.0, -1.0],
    );
    let x = Array4::zeros((2, 1, 1, 3));
    let y = array![0.0, 0.0];
    let obj = cnn.objective(x.view(), y.view(), 0.5);
    // ‖u‖² + w² = 1 + 4 + 0 + 9 + 4 + 1 = 19 → (0.5/2)·19 = 4.75; zero input → zero loss.
    assert_eq!(
        obj.regularizer, 4.75,
        "regularizer {} vs 4.75",
        obj.regularizer
    );
    assert_eq!(obj.loss, 0.0, "loss {} vs 0", obj.loss);
    assert_eq!(obj.total, 4.75, "total {} vs 4.75", obj.total);
}

#[test]
fn kernel_larger_than_padded_input_gives_zero_outputs() {
    let g = geom([4, 4], [1, 1], [0, 0]);
    let x = random_array((2, 1, 3, 3), 71);
    let cnn = TwoLayerCnn::random(g, Pooling::Average, 1, 3, 1.0, 72);
    let f = cnn.forward(x.view());
    assert_eq!(f, Array1::<f64>::zeros(2), "outputs {f} vs zeros");
}
