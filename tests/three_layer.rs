//! The facts of docs/math.md §9 (three-layer CNN, two ReLU layers), each a test named after the
//! fact. The network side is `cvxcnn::network::ThreeLayerCnn` (direct convolution, no patch or pattern
//! matrices), which shares no code with the program in `cvxcnn::arch::three_layer`.

use cvxcnn::arch::three_layer::{self, Report};
use cvxcnn::backend::Status;
use cvxcnn::certify::Scope;
use cvxcnn::geometry::{ConvGeometry, FilterNorm};
use cvxcnn::network::ThreeLayerCnn;
use cvxcnn::pipeline::SolveOptions;
use cvxcnn::problem::{Architecture, ArrangementSpec, OuterSpec, Problem, Task};
use ndarray::{Array1, Array4};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use std::path::PathBuf;

fn quiet(_: &str, _: usize, _: usize) {}

fn gaussian(n: usize, c: usize, hh: usize, ww: usize, seed: u64) -> (Array4<f64>, Array1<f64>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut g = || -> f64 { StandardNormal.sample(&mut rng) };
    let x = Array4::from_shape_fn((n, c, hh, ww), |_| g());
    let y = Array1::from_shape_fn(n, |_| g());
    (x, y)
}

fn problem(
    x: Array4<f64>,
    y: Array1<f64>,
    geometry: ConvGeometry,
    inner_filters: usize,
    outer: OuterSpec,
    beta: f64,
    arrangements: ArrangementSpec,
) -> Problem {
    Problem {
        source: PathBuf::from("test"),
        one_d: x.dim().2 == 1,
        x,
        y,
        architecture: Architecture::ThreeLayer {
            geometry,
            inner_filters,
            outer,
            bias: false,
        },
        beta,
        filter_norm: FilterNorm::L2,
        loss: cvxcnn::loss::Loss::Squared,
        arrangements,
        task: Task::Scalar,
        test: None,
    }
}

fn conv(kernel: [usize; 2], stride: [usize; 2], padding: [usize; 2]) -> ConvGeometry {
    ConvGeometry {
        kernel,
        stride,
        padding,
    }
}

fn solve(p: &Problem) -> Report {
    let r = three_layer::solve(p, &SolveOptions::default(), &quiet).expect("solve");
    assert_eq!(r.status, Status::Optimal, "status");
    r
}

/// The decoded network as the independent forward pass sees it.
fn network(p: &Problem, r: &Report) -> ThreeLayerCnn {
    ThreeLayerCnn {
        geometry: p.architecture.geometry(p.x.dim().3),
        channels: p.x.dim().1,
        filters: r.filters.clone(),
        inner_weights: r.inner_weights.clone(),
        output_weights: r.output_weights.clone(),
        biases: r.biases.clone(),
    }
}

fn rel(a: f64, b: f64) -> f64 {
    (a - b).abs() / a.abs().max(b.abs()).max(1.0)
}

/// 1-D signals, 2-D images with stride and padding, several channels: sampled patterns.
fn instances() -> Vec<Problem> {
    let (x1, y1) = gaussian(14, 1, 1, 9, 1);
    let (x2, y2) = gaussian(10, 2, 5, 5, 2);
    let (x3, y3) = gaussian(12, 3, 1, 7, 3);
    vec![
        problem(
            x1,
            y1,
            conv([1, 3], [1, 1], [0, 0]),
            2,
            OuterSpec::Sample { count: 40, seed: 0 },
            0.05,
            ArrangementSpec::Sample { count: 12, seed: 4 },
        ),
        problem(
            x2,
            y2,
            conv([2, 2], [2, 1], [1, 0]),
            3,
            OuterSpec::Sample { count: 30, seed: 1 },
            0.1,
            ArrangementSpec::Sample { count: 10, seed: 5 },
        ),
        problem(
            x3,
            y3,
            conv([1, 2], [1, 2], [0, 1]),
            1,
            OuterSpec::Sample { count: 30, seed: 2 },
            0.02,
            ArrangementSpec::Sample { count: 10, seed: 6 },
        ),
    ]
}

#[test]
fn decoded_network_objective_equals_convex_objective_with_unit_frobenius_and_balanced_weights() {
    for (q, p) in instances().iter().enumerate() {
        let r = solve(p);
        assert!(
            r.subnetworks > 0,
            "instance {q}: the zero network is not the point"
        );
        let net = network(p, &r);
        let obj = net.objective(p.x.view(), p.y.view(), p.beta);
        assert!(
            rel(obj.total, r.objective) <= 1e-6,
            "instance {q}: network {} vs convex {}",
            obj.total,
            r.objective
        );
        for (j, f) in net.frobenius_norms().iter().enumerate() {
            assert!((f - 1.0).abs() <= 1e-9, "instance {q}: ‖U_{j}‖_F = {f}");
        }
        for (j, (w1, w2)) in r.inner_weights.iter().zip(&r.output_weights).enumerate() {
            let s: f64 = w1.iter().map(|v| v * v).sum();
            assert!(
                (s - w2 * w2).abs() <= 1e-9 * s.max(1.0),
                "instance {q}, sub-network {j}: ‖w₁‖² = {s} vs w₂² = {}",
                w2 * w2
            );
        }
        // The certificate bounds the sampled sub-model and the decoded network attains it.
        assert!(r.certificate.certified, "instance {q}: {:?}", r.certificate);
        assert_eq!(r.certificate.scope, Scope::SampledPatterns);
    }
}

/// n = 5 signals of length 4, kernel 2 (h = 2): every inner cell and every outer pattern, so the
/// convex optimum bounds every three-layer network of any widths (the reverse map of §9).
fn tiny_all_patterns() -> Problem {
    let (x, y) = gaussian(5, 1, 1, 4, 21);
    problem(
        x,
        y,
        conv([1, 2], [1, 1], [0, 0]),
        2,
        OuterSpec::All,
        0.05,
        ArrangementSpec::Exact { max_patterns: 1000 },
    )
}

#[test]
fn convex_optimum_with_all_patterns_is_below_random_and_trained_networks() {
    let p = tiny_all_patterns();
    let r = solve(&p);
    assert_eq!(r.outer_patterns, 31, "2⁵ − 1 outer patterns");
    assert_eq!(r.arrangements, 30, "2nK inner cells for generic h = 2 data");
    assert_eq!(r.certificate.scope, Scope::Global);
    assert!(r.certificate.certified, "{:?}", r.certificate);
    assert!(rel(r.network_objective, r.objective) <= 1e-6);
    let floor = r.objective - 1e-6 * r.objective.abs().max(1.0);
    let geometry = p.architecture.geometry(p.x.dim().3);
    let mut best_trained = f64::INFINITY;
    for m in [1, 2, 4, 8] {
        for m1 in [1, 2, 4] {
            for seed in 0..3 {
                let mut net = ThreeLayerCnn::random(geometry, 1, m, m1, 1.0, seed * 100 + m as u64);
                let random = net.objective(p.x.view(), p.y.view(), p.beta).total;
                assert!(
                    random >= floor,
                    "random m={m} m1={m1}: {random} < {}",
                    r.objective
                );
                let trained = net
                    .train_projected_gd(p.x.view(), p.y.view(), p.beta, 3000, 0.05)
                    .total;
                assert!(
                    trained >= floor,
                    "trained m={m} m1={m1} seed={seed}: {trained} < convex {}",
                    r.objective
                );
                assert!(
                    trained >= r.certificate.lower_bound,
                    "trained {trained} below the certified bound {}",
                    r.certificate.lower_bound
                );
                best_trained = best_trained.min(trained);
            }
        }
    }
    // Not a fact, a sanity check that the comparison is not vacuous: training gets near.
    assert!(
        best_trained <= 2.0 * r.objective,
        "best trained {best_trained} vs optimum {}",
        r.objective
    );
}

/// Solves with or without the outer cone rows and decodes; returns (convex objective, decoded
/// network, sub-network origins, outer patterns).
fn solve_directly(
    p: &Problem,
    outer_cone: bool,
) -> (
    f64,
    ThreeLayerCnn,
    Vec<three_layer::SubNetwork>,
    Vec<Vec<bool>>,
) {
    let opts = SolveOptions {
        reduce: false,
        ..SolveOptions::default()
    };
    let three = three_layer::prepare(p, &opts, &quiet).expect("prepare");
    let (prep, outer) = (&three.prep, &three.outer);
    let (prog, layout) = three_layer::build(
        prep.patches.stacked(),
        &prep.arrangement,
        &prep.a,
        outer,
        p.y.view(),
        p.beta,
        &prep.rows,
        outer_cone,
    );
    let sol = opts.backend.solve(&prog).expect("solve");
    assert_eq!(sol.status, Status::Optimal);
    let tau =
        three_layer::noise_threshold(&prep.a, outer, &layout, &sol.x, p.y.view(), p.beta, 1e-8);
    let d = three_layer::decode(&layout, &sol.x, tau);
    let net = ThreeLayerCnn {
        geometry: p.architecture.geometry(p.x.dim().3),
        channels: p.x.dim().1,
        filters: d.filters,
        inner_weights: d.inner_weights,
        output_weights: d.output_weights,
        biases: None,
    };
    (sol.primal_objective, net, d.subnetworks, outer.on.clone())
}

/// Largest `(−g_jt if D'[t] = 1, g_jt otherwise)` over sub-networks and samples, relative to the
/// largest `|g_jt|`, and the number of samples the outer ReLU actually clips (`D'[t] = 0`, `g < 0`).
fn outer_mismatch(
    p: &Problem,
    net: &ThreeLayerCnn,
    subs: &[three_layer::SubNetwork],
    outer: &[Vec<bool>],
) -> (f64, usize) {
    let g = net.subnetwork_preactivations(p.x.view());
    let scale = g.iter().fold(0.0_f64, |m, v| m.max(v.abs())).max(1e-300);
    let mut worst: f64 = 0.0;
    let mut clipped = 0;
    for (j, sub) in subs.iter().enumerate() {
        for (t, &on) in outer[sub.outer].iter().enumerate() {
            let v = g[[j, t]];
            worst = worst.max(if on { -v } else { v } / scale);
            if !on && v < -1e-6 * scale {
                clipped += 1;
            }
        }
    }
    (worst, clipped)
}

#[test]
fn decoded_subnetworks_have_the_outer_pattern_of_their_group() {
    for (q, p) in instances().iter().enumerate() {
        let (convex, net, subs, outer) = solve_directly(p, true);
        let (worst, clipped) = outer_mismatch(p, &net, &subs, &outer);
        assert!(
            worst <= 1e-7,
            "instance {q}: a sub-network leaves its outer pattern by {worst:e} (relative)"
        );
        assert!(
            clipped > 0,
            "instance {q}: the outer ReLU never clips; the check is vacuous"
        );
        let obj = net.objective(p.x.view(), p.y.view(), p.beta).total;
        assert!(rel(obj, convex) <= 1e-6, "instance {q}: {obj} vs {convex}");
    }
}

#[test]
fn without_the_outer_cone_decoding_is_not_exact() {
    // The same program without (2D' − I) u_G ≥ 0: its optimum is lower (a relaxation), and the
    // network decoded from it does not attain it because sub-networks leave their outer patterns.
    let p = &instances()[0];
    let (with_cone, ..) = solve_directly(p, true);
    let (relaxed, net, subs, outer) = solve_directly(p, false);
    let obj = net.objective(p.x.view(), p.y.view(), p.beta).total;
    let (worst, _) = outer_mismatch(p, &net, &subs, &outer);
    assert!(
        relaxed < with_cone - 1e-6,
        "relaxed {relaxed} vs {with_cone}"
    );
    assert!(worst > 1e-3, "outer patterns left by only {worst:e}");
    assert!(
        rel(obj, relaxed) > 1e-3,
        "decoded {obj} attains the relaxed optimum {relaxed}"
    );
}

#[test]
fn reduced_and_full_inner_cones_give_the_same_optimum() {
    let p = &instances()[1];
    let reduced = solve(p);
    let full = three_layer::solve(
        p,
        &SolveOptions {
            reduce: false,
            ..SolveOptions::default()
        },
        &quiet,
    )
    .expect("solve");
    assert_eq!(full.status, Status::Optimal);
    assert!(
        rel(reduced.objective, full.objective) <= 1e-7,
        "{} vs {}",
        reduced.objective,
        full.objective
    );
    assert!(reduced.program.cone_rows_written < full.program.cone_rows_written);
    assert!(reduced.max_constraint_violation <= 1e-7);
}

#[test]
fn more_outer_patterns_never_raise_the_optimum() {
    let (x, y) = gaussian(10, 1, 1, 6, 8);
    let make = |count| {
        problem(
            x.clone(),
            y.clone(),
            conv([1, 2], [1, 1], [0, 0]),
            2,
            OuterSpec::Sample { count, seed: 3 },
            0.05,
            ArrangementSpec::Sample { count: 8, seed: 2 },
        )
    };
    // The same seed draws the same first generators, so the patterns of 10 are among those of 60.
    let few = solve(&make(10));
    let many = solve(&make(60));
    assert!(many.outer_patterns > few.outer_patterns);
    assert!(
        many.objective <= few.objective + 1e-7 * few.objective.abs().max(1.0),
        "{} > {}",
        many.objective,
        few.objective
    );
}

#[test]
fn all_outer_lists_every_nonzero_pattern_once() {
    let o = three_layer::all_outer(4);
    assert_eq!(o.on.len(), 15);
    let distinct: std::collections::HashSet<_> = o.on.iter().collect();
    assert_eq!(distinct.len(), 15);
    assert!(o.on.iter().all(|d| d.iter().any(|&b| b)));
}

/// The same problem with one bias per inner neuron (`"bias": true`).
fn biased(mut p: Problem) -> Problem {
    if let Architecture::ThreeLayer { ref mut bias, .. } = p.architecture {
        *bias = true;
    }
    p
}

#[test]
fn biased_decoded_network_objective_equals_convex_objective() {
    // The §9 program over patches [x_k, 1] is the network with inner neurons (⟨x_k, u⟩ + b)_+ and
    // ‖[U_j, b_j]‖_F ≤ 1: the independent forward pass (which adds b at every position, padded ones
    // included) attains the convex objective.
    let mut any_bias: f64 = 0.0;
    for (q, p) in instances().into_iter().map(biased).enumerate() {
        let r = solve(&p);
        assert!(r.subnetworks > 0, "instance {q}");
        let biases = r.biases.as_ref().expect("a biased result has biases");
        assert_eq!(biases.len(), r.subnetworks);
        for (j, (b, w)) in biases.iter().zip(&r.inner_weights).enumerate() {
            assert_eq!(b.len(), w.len(), "instance {q}, sub-network {j}");
        }
        for us in &r.filters {
            for u in us {
                assert_eq!(u.len(), r.data.filter_len, "filters keep length h");
            }
        }
        any_bias = biases
            .iter()
            .flatten()
            .fold(any_bias, |m, b| m.max(b.abs()));
        let net = network(&p, &r);
        let obj = net.objective(p.x.view(), p.y.view(), p.beta);
        assert!(
            rel(obj.total, r.objective) <= 1e-6,
            "instance {q}: network {} vs convex {}",
            obj.total,
            r.objective
        );
        for (j, f) in net.frobenius_norms().iter().enumerate() {
            assert!(
                (f - 1.0).abs() <= 1e-9,
                "instance {q}: ‖[U, b]_{j}‖_F = {f}"
            );
        }
        // Dropping the biases changes the outputs: the check above sees them.
        let mut unbiased = net.clone();
        unbiased.biases = None;
        let without = unbiased.objective(p.x.view(), p.y.view(), p.beta).total;
        assert!(
            rel(without, obj.total) > 1e-4,
            "instance {q}: biases do nothing"
        );
        assert!(r.certificate.certified, "instance {q}: {:?}", r.certificate);
    }
    assert!(any_bias > 1e-3, "every decoded bias is ~0: {any_bias:e}");
}

#[test]
fn biased_convex_optimum_with_all_patterns_is_below_random_and_trained_biased_networks() {
    // n = 5 signals of length 3, kernel 1 with a bias: gates [u, b] ∈ R², 29 nonzero inner cells,
    // 31 outer patterns, so the optimum bounds every biased three-layer network of any widths.
    let (x, y) = gaussian(5, 1, 1, 3, 22);
    let plain = problem(
        x,
        y,
        conv([1, 1], [1, 1], [0, 0]),
        2,
        OuterSpec::All,
        0.05,
        ArrangementSpec::Exact { max_patterns: 1000 },
    );
    let p = biased(plain.clone());
    let r = solve(&p);
    assert_eq!(r.outer_patterns, 31);
    // 2nK = 30 cells of the rows [x, 1] in R², less the all-zero one (every row has last entry 1,
    // so u = (0, −1) switches every row off), which is dropped.
    assert_eq!(
        r.arrangements, 29,
        "2nK − 1 nonzero cells of the rows [x, 1] in R²"
    );
    assert_eq!(r.certificate.scope, Scope::Global);
    assert!(r.certificate.certified, "{:?}", r.certificate);
    assert!(rel(r.network_objective, r.objective) <= 1e-6);
    // A network without biases is a biased one with b = 0: the biased optimum is not above it.
    let unbiased = solve(&plain);
    assert_eq!(unbiased.certificate.scope, Scope::Global);
    assert!(
        r.objective <= unbiased.objective + 1e-7,
        "{} > {}",
        r.objective,
        unbiased.objective
    );
    let floor = r.objective - 1e-6 * r.objective.abs().max(1.0);
    let geometry = p.architecture.geometry(p.x.dim().3);
    let mut best_trained = f64::INFINITY;
    for m in [1, 2, 4, 8] {
        for m1 in [1, 2, 4] {
            for seed in 0..3 {
                let mut net = ThreeLayerCnn::random_with_bias(
                    geometry,
                    1,
                    m,
                    m1,
                    1.0,
                    seed * 100 + m as u64,
                    true,
                );
                let random = net.objective(p.x.view(), p.y.view(), p.beta).total;
                assert!(random >= floor, "random m={m} m1={m1}: {random}");
                let trained = net
                    .train_projected_gd(p.x.view(), p.y.view(), p.beta, 3000, 0.05)
                    .total;
                assert!(
                    trained >= floor,
                    "trained m={m} m1={m1} seed={seed}: {trained} < convex {}",
                    r.objective
                );
                assert!(trained >= r.certificate.lower_bound);
                assert!(net.frobenius_norms().iter().all(|&f| f <= 1.0 + 1e-12));
                best_trained = best_trained.min(trained);
            }
        }
    }
    // Projected gradient descent from random starts stalls well above the optimum here (best
    // `best_trained`, about 2.9 against 0.50, even with m = 16, m₁ = 6), so a non-vacuous
    // comparison needs a trained network near the optimum: start from the decoded optimum,
    // perturbed, and train. It must come back near the optimum and never below it.
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let mut near = network(&p, &r);
    let mut jitter = |v: &mut f64| {
        let z: f64 = StandardNormal.sample(&mut rng);
        *v += 0.05 * z;
    };
    near.filters
        .iter_mut()
        .flatten()
        .flatten()
        .for_each(&mut jitter);
    near.biases
        .iter_mut()
        .flatten()
        .flatten()
        .for_each(&mut jitter);
    near.inner_weights
        .iter_mut()
        .flatten()
        .for_each(&mut jitter);
    near.output_weights.iter_mut().for_each(&mut jitter);
    let start = near.objective(p.x.view(), p.y.view(), p.beta).total;
    let back = near
        .train_projected_gd(p.x.view(), p.y.view(), p.beta, 3000, 0.05)
        .total;
    assert!(
        start > 1.5 * r.objective,
        "the perturbation moved it: {start}"
    );
    assert!(
        back >= floor,
        "trained from the optimum: {back} < {}",
        r.objective
    );
    assert!(
        back <= 1.1 * r.objective,
        "training from the perturbed optimum returns near it: {back} vs {}",
        r.objective
    );
    assert!(
        best_trained < 0.5 * p.y.dot(&p.y),
        "random starts learn something"
    );
}
