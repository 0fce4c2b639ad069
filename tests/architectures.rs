//! The facts of docs/math.md §2 and §8 for the two-layer variants: local average pooling,
//! linear activation and biases. Each test is named after the fact it checks.

mod support;

use approx::assert_relative_eq;
use cvxcnn::certify::Scope;
use cvxcnn::geometry::{Activation, ConvGeometry, FilterNorm, Pooling};
use cvxcnn::network::TwoLayerCnn;
use cvxcnn::pipeline::{self, Report, SolveOptions, Weights};
use cvxcnn::problem::{Architecture, ArrangementSpec, Problem};
use ndarray::{Array1, Array2, Array4};
use support::*;

fn geometry(kernel: [usize; 2], padding: [usize; 2]) -> ConvGeometry {
    ConvGeometry {
        kernel,
        stride: [1, 1],
        padding,
    }
}

/// The variant of a two-layer problem under test.
#[derive(Clone, Copy)]
struct Variant {
    geometry: ConvGeometry,
    pooling: Pooling,
    activation: Activation,
    bias: bool,
}

impl Variant {
    fn relu(geometry: ConvGeometry, pooling: Pooling) -> Self {
        Variant {
            geometry,
            pooling,
            activation: Activation::Relu,
            bias: false,
        }
    }

    fn linear(self) -> Self {
        Variant {
            activation: Activation::Linear,
            ..self
        }
    }

    fn with_bias(self) -> Self {
        Variant { bias: true, ..self }
    }

    /// A random network of this variant (biases drawn from another stream).
    fn random(self, channels: usize, width: usize, seed: u64) -> TwoLayerCnn {
        let net = TwoLayerCnn::random(self.geometry, self.pooling, channels, width, 1.0, seed)
            .with_activation(self.activation);
        if self.bias {
            net.with_random_biases(1.0, seed + 1_000_000)
        } else {
            net
        }
    }
}

fn problem(
    x: Array4<f64>,
    y: Array1<f64>,
    v: Variant,
    beta: f64,
    arrangements: ArrangementSpec,
) -> Problem {
    let architecture = Architecture::TwoLayer {
        geometry: v.geometry,
        pooling: v.pooling,
        activation: v.activation,
        bias: v.bias,
    };
    with_architecture(x, y, architecture, beta, arrangements)
}

/// The network of a result, rebuilt from its keys only (`filters`, `biases`, `output_weights`)
/// and the architecture, as someone outside the project would.
fn rebuilt(r: &Report, v: Variant, channels: usize) -> TwoLayerCnn {
    TwoLayerCnn {
        geometry: v.geometry,
        pooling: v.pooling,
        channels,
        filters: r.filters.clone(),
        output_weights: r.output_weights.clone(),
        activation: v.activation,
        biases: r.biases.clone(),
    }
}

/// Fact 2 for a variant on a tiny exact instance: the convex optimum is at most the objective of
/// random networks of several widths and of the same networks after gradient descent, and the
/// decoded network attains it (objective from its own forward pass).
fn optimum_lower_bounds_networks(
    x: &Array4<f64>,
    y: &Array1<f64>,
    v: Variant,
    beta: f64,
) -> Report {
    let p = problem(x.clone(), y.clone(), v, beta, exact());
    let r = solve(&p);
    assert_eq!(r.certificate.scope, Scope::Global);
    assert!(
        r.certificate.certified,
        "relative gap {}",
        r.certificate.relative_gap
    );
    assert_relative_eq!(r.network_objective, r.objective, max_relative = 1e-6);
    let opt = r.objective;
    let mut best_trained = f64::INFINITY;
    for width in [1, 2, 4, 8] {
        for seed in 0..5 {
            let mut net = v.random(x.dim().1, width, 100 * width as u64 + seed);
            let start = net.objective(x.view(), y.view(), beta).total;
            assert!(
                opt <= start + 1e-9,
                "random net width {width}: {start} < optimum {opt}"
            );
            let trained = net.train_gd(x.view(), y.view(), beta, 400, 0.1).total;
            assert!(
                opt <= trained + 1e-7,
                "trained net width {width} seed {seed}: {trained} < optimum {opt}"
            );
            best_trained = best_trained.min(trained);
        }
    }
    // Not vacuous: training gets close to the optimum somewhere.
    assert!(
        best_trained <= opt * 1.5 + 1e-3,
        "best trained {best_trained} far above the optimum {opt}"
    );
    r
}

// ---------------------------------------------------------------------------------------------
// Local average pooling (docs/math.md §5)

#[test]
fn local_average_decoded_objective_equals_convex_objective() {
    // 2-D: 6×6 images, 3×3 kernel with padding 1 → 6×6 grid, 2×3 windows; and 1-D.
    let (x, y) = gaussian_data(12, 2, 6, 6, 1);
    let v = Variant::relu(
        geometry([3, 3], [1, 1]),
        Pooling::LocalAverage { size: [2, 3] },
    );
    let r = solve(&problem(x.clone(), y.clone(), v, 0.05, sample(40, 2)));
    assert!(r.neurons > 0, "the network is not trivial");
    assert_relative_eq!(r.network_objective, r.objective, max_relative = 1e-6);
    let again = rebuilt(&r, v, 2).objective(x.view(), y.view(), 0.05).total;
    assert_relative_eq!(again, r.network_objective, max_relative = 1e-12);
    assert!(
        r.max_constraint_violation < 1e-6,
        "violation {}",
        r.max_constraint_violation
    );
    let cvxcnn::pipeline::NetworkLayout::TwoLayer(layout) = &r.network else {
        panic!("a two-layer layout")
    };
    assert_eq!(layout.pooling, "local_average");
    assert_eq!(layout.pool_size, Some(vec![2, 3]));

    let (x, y) = gaussian_data(10, 1, 1, 9, 3);
    let v = Variant::relu(
        geometry([1, 2], [0, 0]),
        Pooling::LocalAverage { size: [1, 4] },
    );
    let r = solve(&problem(x, y, v, 0.05, sample(30, 4)));
    assert_relative_eq!(r.network_objective, r.objective, max_relative = 1e-6);
}

#[test]
fn local_average_exact_optimum_lower_bounds_random_and_trained_networks() {
    // Signals of length 5, kernel 2: K = 4 positions, windows of 2.
    let (x, y) = gaussian_data(6, 1, 1, 5, 5);
    let v = Variant::relu(
        geometry([1, 2], [0, 0]),
        Pooling::LocalAverage { size: [1, 2] },
    );
    optimum_lower_bounds_networks(&x, &y, v, 0.05);
}

#[test]
fn local_average_with_one_window_equals_global_average_pooling() {
    let (x, y) = gaussian_data(15, 1, 5, 5, 6);
    let g = geometry([2, 2], [0, 0]); // 4×4 grid
    let local = solve(&problem(
        x.clone(),
        y.clone(),
        Variant::relu(g, Pooling::LocalAverage { size: [4, 4] }),
        0.02,
        sample(30, 7),
    ));
    let global = solve(&problem(
        x,
        y,
        Variant::relu(g, Pooling::Average),
        0.02,
        sample(30, 7),
    ));
    assert!(local.neurons > 0);
    assert_relative_eq!(local.objective, global.objective, max_relative = 1e-7);
    assert_relative_eq!(
        local.network_objective,
        global.network_objective,
        max_relative = 1e-6
    );
}

/// Windows of `|R|` positions that tile the grid give `α_k = 1/|R|` for every `k`: the program is
/// sum pooling on `X/|R|`. A wrong `α` (`1/K`, `1`, or the window count) breaks the equality.
#[test]
fn local_average_with_tiling_windows_equals_sum_pooling_on_scaled_inputs() {
    let (x, y) = gaussian_data(15, 1, 5, 5, 8);
    let g = geometry([2, 2], [0, 0]); // 4×4 grid, 2×2 windows: |R| = 4, 4 windows, K = 16
    let local = solve(&problem(
        x.clone(),
        y.clone(),
        Variant::relu(g, Pooling::LocalAverage { size: [2, 2] }),
        0.02,
        sample(30, 9),
    ));
    let scaled = solve(&problem(
        x.clone() / 4.0,
        y.clone(),
        Variant::relu(g, Pooling::Sum),
        0.02,
        sample(30, 9),
    ));
    assert!(local.neurons > 0);
    assert_relative_eq!(local.objective, scaled.objective, max_relative = 1e-7);
    // Not an accident of this data: global average (α = 1/16) gives a different optimum.
    let avg = solve(&problem(
        x,
        y,
        Variant::relu(g, Pooling::Average),
        0.02,
        sample(30, 9),
    ));
    assert!(
        (avg.objective - local.objective).abs() > 1e-3 * local.objective,
        "average {} vs local {}",
        avg.objective,
        local.objective
    );
}

/// The pooling weights `α_k` used by the program and the window pooling of the independent
/// forward pass agree, also on windows that do not divide the grid (which the problem file
/// refuses, but the two implementations must still describe the same network): for a linear
/// network `f = w Σ_k α_k ⟨patch_k, u⟩`.
#[test]
fn pooling_weights_match_the_forward_pass_windows() {
    let (x, _) = gaussian_data(3, 1, 6, 7, 10);
    let g = geometry([2, 2], [0, 0]); // 5×6 grid
    let patches = cvxcnn::patches::Patches::extract(x.view(), &g).expect("fits");
    for size in [[2, 3], [5, 6], [1, 1], [2, 4], [3, 5]] {
        let pooling = Pooling::LocalAverage { size };
        let alpha = pooling.patch_weights(5, 6);
        let total: f64 = alpha.iter().sum();
        let windows = 5usize.div_ceil(size[0]) * 6usize.div_ceil(size[1]);
        assert_relative_eq!(total, windows as f64, max_relative = 1e-12);
        let net =
            TwoLayerCnn::random(g, pooling, 1, 1, 1.0, 11).with_activation(Activation::Linear);
        let f = net.forward(x.view());
        for t in 0..3 {
            let mut want = 0.0;
            for (k, a) in alpha.iter().enumerate() {
                let pre: f64 = (0..4)
                    .map(|j| patches.data[[k, t, j]] * net.filters[0][j])
                    .sum();
                want += a * pre;
            }
            want *= net.output_weights[0];
            assert_relative_eq!(f[t], want, max_relative = 1e-12, epsilon = 1e-14);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Linear activation (docs/math.md §6)

/// `A = Σ_k α_k X_k`, computed here from the raw input without the library's patches.
fn linear_design(
    x: &Array4<f64>,
    kernel: [usize; 2],
    alpha_of: impl Fn(usize, usize) -> f64,
) -> Array2<f64> {
    let (n, c, hh, ww) = x.dim();
    let (gr, gc) = (hh - kernel[0] + 1, ww - kernel[1] + 1);
    let h = c * kernel[0] * kernel[1];
    let mut a = Array2::zeros((n, h));
    for t in 0..n {
        for r in 0..gr {
            for q in 0..gc {
                let w = alpha_of(r, q);
                for ch in 0..c {
                    for i in 0..kernel[0] {
                        for j in 0..kernel[1] {
                            a[[t, (ch * kernel[0] + i) * kernel[1] + j]] +=
                                w * x[[t, ch, r + i, q + j]];
                        }
                    }
                }
            }
        }
    }
    a
}

/// The group lasso `min ½‖Az − y‖² + β‖z‖₂` solved another way: at the optimum
/// `z = (AᵀA + (β/s) I)⁻¹ Aᵀy` with `s = ‖z‖`, and `s ↦ ‖z(s)‖ − s` is decreasing, so bisection on
/// `s` finds it (`z = 0` when `‖Aᵀy‖ ≤ β`).
fn group_lasso_by_bisection(a: &Array2<f64>, y: &Array1<f64>, beta: f64) -> Array1<f64> {
    let h = a.ncols();
    let aty = a.t().dot(y);
    if aty.dot(&aty).sqrt() <= beta {
        return Array1::zeros(h);
    }
    let ata = a.t().dot(a);
    let z_of = |s: f64| -> Array1<f64> {
        let mut m = ata.clone();
        for i in 0..h {
            m[[i, i]] += beta / s;
        }
        // Gaussian elimination on the symmetric positive definite system.
        let mut b = aty.clone();
        for col in 0..h {
            for row in col + 1..h {
                let f = m[[row, col]] / m[[col, col]];
                for k in col..h {
                    m[[row, k]] -= f * m[[col, k]];
                }
                b[row] -= f * b[col];
            }
        }
        let mut z = Array1::zeros(h);
        for row in (0..h).rev() {
            let mut v = b[row];
            for k in row + 1..h {
                v -= m[[row, k]] * z[k];
            }
            z[row] = v / m[[row, row]];
        }
        z
    };
    // β‖z*‖ ≤ objective(z*) ≤ objective(0) = ½‖y‖².
    let (mut lo, mut hi) = (0.0_f64, 0.5 * y.dot(y) / beta);
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        let z = z_of(mid);
        if z.dot(&z).sqrt() > mid {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    z_of(0.5 * (lo + hi))
}

fn linear_objective(a: &Array2<f64>, y: &Array1<f64>, beta: f64, z: &Array1<f64>, l1: bool) -> f64 {
    let r = a.dot(z) - y;
    let norm = if l1 {
        z.iter().map(|v| v.abs()).sum::<f64>()
    } else {
        z.dot(z).sqrt()
    };
    0.5 * r.dot(&r) + beta * norm
}

#[test]
fn linear_activation_is_the_group_lasso_solved_another_way_with_its_kkt_conditions() {
    let (x, y) = gaussian_data(20, 2, 4, 5, 12);
    let beta = 0.5;
    for (pooling, alpha) in [
        (Pooling::Sum, 1.0),
        (Pooling::Average, 1.0 / 12.0),
        (Pooling::LocalAverage { size: [3, 2] }, 1.0 / 6.0),
    ] {
        let v = Variant::relu(geometry([2, 2], [0, 0]), pooling).linear(); // 3×4 grid
        let r = solve(&problem(x.clone(), y.clone(), v, beta, sample(5, 0)));
        assert_eq!(r.neurons, 1, "{pooling:?}: one neuron suffices");
        assert_relative_eq!(r.network_objective, r.objective, max_relative = 1e-6);
        // Balanced: ‖u‖ = |w|, w > 0.
        let u = Array1::from(r.filters[0].clone());
        let w = r.output_weights[0];
        assert_relative_eq!(u.dot(&u).sqrt(), w, max_relative = 1e-9);
        let z = &u * w;
        let a = linear_design(&x, [2, 2], |_, _| alpha);
        let reference = group_lasso_by_bisection(&a, &y, beta);
        let ref_obj = linear_objective(&a, &y, beta, &reference, false);
        assert_relative_eq!(r.objective, ref_obj, max_relative = 1e-7);
        let dz = &z - &reference;
        assert!(
            dz.dot(&dz).sqrt() <= 1e-5 * reference.dot(&reference).sqrt(),
            "{pooling:?}: decoded z {z} vs bisection {reference}"
        );
        // KKT: g = Aᵀ(y − Az) has ‖g‖ = β and is parallel to z.
        let g = a.t().dot(&(&y - &a.dot(&z)));
        let gn = g.dot(&g).sqrt();
        assert_relative_eq!(gn, beta, max_relative = 1e-6);
        let cos = g.dot(&z) / (gn * z.dot(&z).sqrt());
        assert!(cos > 1.0 - 1e-8, "{pooling:?}: cos(g, z) = {cos}");
        // The certificate is exact and global whatever the arrangements say.
        assert_eq!(r.certificate.scope, Scope::Global);
        assert!(
            r.certificate.certified,
            "gap {}",
            r.certificate.relative_gap
        );
        assert_relative_eq!(
            r.certificate
                .beta_max
                .expect("two-layer certificates have beta_max"),
            a.t().dot(&y).dot(&a.t().dot(&y)).sqrt(),
            max_relative = 1e-10
        );
        assert_eq!(r.arrangement_mode, "none");
    }
}

#[test]
fn linear_activation_with_l1_filter_norm_satisfies_its_kkt_conditions() {
    let (x, y) = gaussian_data(20, 1, 5, 5, 13);
    let beta = 1.0;
    let v = Variant::relu(geometry([2, 2], [0, 0]), Pooling::Sum).linear();
    let mut p = problem(x.clone(), y.clone(), v, beta, sample(5, 0));
    p.filter_norm = FilterNorm::L1;
    let r = solve(&p);
    assert_relative_eq!(r.network_objective, r.objective, max_relative = 1e-6);
    let z = Array1::from(r.filters[0].clone()) * r.output_weights[0];
    let a = linear_design(&x, [2, 2], |_, _| 1.0);
    let g = a.t().dot(&(&y - &a.dot(&z)));
    let zmax = z.iter().fold(0.0_f64, |m, v| m.max(v.abs()));
    let mut active = 0;
    for (gj, zj) in g.iter().zip(&z) {
        assert!(gj.abs() <= beta * (1.0 + 1e-6), "|g_j| = {gj} > β");
        if zj.abs() > 1e-6 * zmax {
            active += 1;
            assert_relative_eq!(*gj, beta * zj.signum(), max_relative = 1e-5);
        }
    }
    // Unlike the ℓ2 solution, every active entry sits at |g_j| = β (so ‖g‖₂ > β).
    assert!(active >= 2, "{active} active entries");
    assert!(g.dot(&g).sqrt() > beta * 1.1, "‖g‖₂ = {}", g.dot(&g).sqrt());
    assert!(
        r.certificate.certified,
        "gap {}",
        r.certificate.relative_gap
    );
}

#[test]
fn linear_optimum_lower_bounds_random_and_trained_linear_networks() {
    let (x, y) = gaussian_data(6, 1, 1, 5, 14);
    for pooling in [Pooling::Sum, Pooling::LocalAverage { size: [1, 2] }] {
        let v = Variant::relu(geometry([1, 2], [0, 0]), pooling).linear();
        let r = optimum_lower_bounds_networks(&x, &y, v, 0.05);
        assert_eq!(r.neurons, 1);
    }
}

/// The linear certificate's `β_max = ‖Aᵀy‖` is exact: just above it the zero network is optimal,
/// just below it is not.
#[test]
fn linear_beta_max_separates_the_zero_network_from_a_nonzero_one() {
    let (x, y) = gaussian_data(10, 1, 1, 6, 15);
    let v = Variant::relu(geometry([1, 3], [0, 0]), Pooling::Sum).linear();
    let r = solve(&problem(x.clone(), y.clone(), v, 0.1, sample(5, 0)));
    let beta_max = r
        .certificate
        .beta_max
        .expect("two-layer certificates have beta_max");
    let zero = solve(&problem(
        x.clone(),
        y.clone(),
        v,
        1.01 * beta_max,
        sample(5, 0),
    ));
    assert_eq!(zero.neurons, 0, "β above β_max gives the zero network");
    assert_relative_eq!(zero.objective, 0.5 * y.dot(&y), max_relative = 1e-7);
    let below = solve(&problem(x, y.clone(), v, 0.95 * beta_max, sample(5, 0)));
    assert_eq!(below.neurons, 1);
    assert!(below.objective < 0.5 * y.dot(&y) - 1e-9);
}

// ---------------------------------------------------------------------------------------------
// Bias

/// 1-D data whose targets need an offset: inputs near zero, targets near 1. Without a bias the
/// network output is (nearly) proportional to the input; with one it can be constant.
fn offset_data(seed: u64) -> (Array4<f64>, Array1<f64>) {
    let (x, noise) = gaussian_data(6, 1, 1, 4, seed);
    let x = x * 0.1;
    let y = noise * 0.05 + 1.0;
    (x, y)
}

#[test]
fn bias_optimum_is_below_the_no_bias_optimum_on_data_that_needs_an_offset() {
    let (x, y) = offset_data(16);
    let g = geometry([1, 2], [0, 0]);
    let beta = 0.05;
    let plain = solve(&problem(
        x.clone(),
        y.clone(),
        Variant::relu(g, Pooling::Sum),
        beta,
        exact(),
    ));
    let biased = solve(&problem(
        x.clone(),
        y.clone(),
        Variant::relu(g, Pooling::Sum).with_bias(),
        beta,
        exact(),
    ));
    assert!(
        biased.objective < 0.5 * plain.objective,
        "with bias {} vs without {}",
        biased.objective,
        plain.objective
    );
    assert!(biased.certificate.certified && plain.certificate.certified);
    assert_eq!(biased.certificate.scope, Scope::Global);
}

#[test]
fn bias_network_rebuilt_from_the_result_keys_gives_the_network_objective() {
    // Padding 1: the bias also acts on the padded positions, in the program and the forward pass.
    let (x, y) = gaussian_data(10, 2, 4, 4, 17);
    let v = Variant::relu(geometry([2, 2], [1, 1]), Pooling::Sum).with_bias();
    let r = solve(&problem(x.clone(), y.clone(), v, 0.05, sample(40, 18)));
    assert!(r.neurons > 0);
    let biases = r.biases.as_ref().expect("biases key");
    assert_eq!(biases.len(), r.neurons);
    assert!(
        r.filters.iter().all(|f| f.len() == 8),
        "filters stay C·kh·kw"
    );
    assert!(
        biases.iter().any(|b| b.abs() > 1e-3),
        "biases used: {biases:?}"
    );
    assert_eq!(r.data.filter_len, 8);
    let net = rebuilt(&r, v, 2);
    let obj = net.objective(x.view(), y.view(), 0.05);
    assert_relative_eq!(obj.total, r.network_objective, max_relative = 1e-12);
    assert_relative_eq!(obj.total, r.objective, max_relative = 1e-6);
    // Balanced neurons in the program's norm: ‖(u, b)‖ = |w|.
    for ((u, b), w) in r.filters.iter().zip(biases).zip(&r.output_weights) {
        let nub = (u.iter().map(|v| v * v).sum::<f64>() + b * b).sqrt();
        assert_relative_eq!(nub, w.abs(), max_relative = 1e-9);
    }
    // Dropping the biases changes the outputs (the bias is not a no-op).
    let mut no_bias = net.clone();
    no_bias.biases = None;
    let diff = &no_bias.forward(x.view()) - &net.forward(x.view());
    assert!(diff.dot(&diff) > 1e-8);
}

#[test]
fn bias_exact_optimum_lower_bounds_random_and_trained_networks() {
    let (x, y) = offset_data(19);
    for pooling in [Pooling::Sum, Pooling::LocalAverage { size: [1, 3] }] {
        let v = Variant::relu(geometry([1, 2], [0, 0]), pooling).with_bias();
        optimum_lower_bounds_networks(&x, &y, v, 0.05);
    }
}

#[test]
fn bias_with_l1_norm_and_with_linear_activation_decode_exactly() {
    let (x, y) = gaussian_data(12, 1, 5, 5, 20);
    let g = geometry([2, 2], [0, 0]);
    let mut p = problem(
        x.clone(),
        y.clone(),
        Variant::relu(g, Pooling::Average).with_bias(),
        0.02,
        sample(30, 21),
    );
    p.filter_norm = FilterNorm::L1;
    let r = solve(&p);
    assert_relative_eq!(r.network_objective, r.objective, max_relative = 1e-6);
    for ((u, b), w) in r
        .filters
        .iter()
        .zip(r.biases.as_ref().unwrap())
        .zip(&r.output_weights)
    {
        let l1 = u.iter().map(|v| v.abs()).sum::<f64>() + b.abs();
        assert_relative_eq!(l1, w.abs(), max_relative = 1e-9);
    }
    // Linear activation with a bias: the program sees [Σ α_k X_k, Σ α_k] as its design.
    let v = Variant::relu(g, Pooling::LocalAverage { size: [2, 2] })
        .linear()
        .with_bias();
    let r = solve(&problem(x.clone(), y.clone(), v, 0.1, sample(5, 0)));
    assert_eq!(r.neurons, 1);
    assert_relative_eq!(r.network_objective, r.objective, max_relative = 1e-6);
    let a0 = linear_design(&x, [2, 2], |_, _| 0.25);
    // The bias column: Σ_k α_k · 1 = 16 · ¼.
    let a = Array2::from_shape_fn((12, 5), |(t, j)| if j < 4 { a0[[t, j]] } else { 4.0 });
    let reference = group_lasso_by_bisection(&a, &y, 0.1);
    assert_relative_eq!(
        r.objective,
        linear_objective(&a, &y, 0.1, &reference, false),
        max_relative = 1e-7
    );
}

#[test]
fn certify_network_requires_biases_exactly_when_the_architecture_has_them() {
    let (x, y) = offset_data(22);
    let v = Variant::relu(geometry([1, 2], [0, 0]), Pooling::Sum).with_bias();
    let p = problem(x.clone(), y.clone(), v, 0.05, exact());
    let given = |biases: Option<Vec<f64>>| SolveOptions {
        network: Some(Weights {
            filters: vec![vec![0.3, -0.2], vec![0.1, 0.4]],
            output_weights: vec![0.9, 0.5],
            biases,
        }),
        ..SolveOptions::default()
    };
    let r = solve_with(&p, &given(Some(vec![0.5, 0.2])));
    let c = r.network_certificate.as_ref().expect("network certificate");
    let net = TwoLayerCnn {
        geometry: v.geometry,
        pooling: v.pooling,
        channels: 1,
        filters: vec![vec![0.3, -0.2], vec![0.1, 0.4]],
        output_weights: vec![0.9, 0.5],
        activation: Activation::Relu,
        biases: Some(vec![0.5, 0.2]),
    };
    assert_eq!(
        c.primal_objective,
        net.objective(x.view(), y.view(), 0.05).total
    );
    assert!(c.gap > 0.0 && c.lower_bound <= r.objective + 1e-9);
    let missing = pipeline::solve(&p, &given(None), &quiet).expect_err("missing biases");
    assert!(missing.to_string().contains("no \"biases\""), "{missing}");
    let short = pipeline::solve(&p, &given(Some(vec![0.5])), &quiet).expect_err("1 bias");
    assert!(
        short.to_string().contains("1 biases for 2 filters"),
        "{short}"
    );
    let plain = problem(x, y, Variant::relu(v.geometry, Pooling::Sum), 0.05, exact());
    let extra = pipeline::solve(&plain, &given(Some(vec![0.5, 0.2])), &quiet).expect_err("extra");
    assert!(extra.to_string().contains("has no bias"), "{extra}");
}
/// Bias with global max pooling: the max-pool patterns see the constant entry like any other, and
/// the forward pass adds the bias before the maximum; the decoded network attains the optimum, and
/// in exact mode it lower-bounds random and trained networks.
#[test]
fn bias_with_max_pooling_decodes_exactly_and_lower_bounds_networks() {
    let (x, y) = offset_data(23);
    let v = Variant::relu(geometry([1, 2], [0, 0]), Pooling::Max).with_bias();
    let r = optimum_lower_bounds_networks(&x, &y, v, 0.05);
    assert!(r.biases.is_some());
    let net = rebuilt(&r, v, 1);
    assert_relative_eq!(
        net.objective(x.view(), y.view(), 0.05).total,
        r.network_objective,
        max_relative = 1e-12
    );
}
