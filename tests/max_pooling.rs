//! Global max pooling (docs/math.md §5): the facts of §2 for `f = Σ_j w_j max_k (X_k u_j)_+`,
//! each a test named after the fact it checks.

mod support;

use approx::assert_relative_eq;
use cvxcnn::arrangement::max_pool;
use cvxcnn::certify::Scope;
use cvxcnn::geometry::{Activation, ConvGeometry, FilterNorm, Pooling};
use cvxcnn::network::TwoLayerCnn;
use cvxcnn::patches::Patches;
use cvxcnn::pipeline::{self, SolveOptions};
use std::collections::HashSet;
use support::*;

fn geometry(kernel: [usize; 2]) -> ConvGeometry {
    ConvGeometry {
        kernel,
        stride: [1, 1],
        padding: [0, 0],
    }
}

/// Fact 1: the decoded network, run forward with max pooling computed directly (no patch
/// matrices), has the convex objective; neurons are balanced; the full max-pool cone set holds.
#[test]
fn decoded_max_pool_network_objective_equals_convex_objective() {
    let (x, y) = digits(30);
    let p = problem(x, y, geometry([3, 3]), Pooling::Max, 0.3, sample(40, 1));
    let r = solve(&p);
    assert!(r.neurons > 1, "only {} neurons", r.neurons);
    assert_relative_eq!(r.network_objective, r.objective, max_relative = 1e-6);
    for (u, w) in r.filters.iter().zip(&r.output_weights) {
        let nu = u.iter().map(|v| v * v).sum::<f64>().sqrt();
        assert_relative_eq!(nu, w.abs(), max_relative = 1e-9);
    }
    assert!(
        r.max_constraint_violation < 1e-6,
        "violation {}",
        r.max_constraint_violation
    );
    assert!(
        r.certificate.certified,
        "relative gap {} over the sampled patterns",
        r.certificate.relative_gap
    );
}

/// The ℓ1 filter norm (docs/math.md §3) decodes to the same objective with max pooling.
#[test]
fn decoded_max_pool_network_objective_equals_convex_objective_l1() {
    let (x, y) = digits(20);
    let mut p = problem(x, y, geometry([3, 3]), Pooling::Max, 0.3, sample(20, 2));
    p.filter_norm = FilterNorm::L1;
    let r = solve(&p);
    assert!(r.neurons > 0, "zero network");
    assert_relative_eq!(r.network_objective, r.objective, max_relative = 1e-6);
}

/// Dropping redundant max-pool cone rows changes nothing (docs/math.md §10).
#[test]
fn reduced_max_pool_program_equals_full_program() {
    let (x, y) = digits(20);
    let p = problem(x, y, geometry([3, 3]), Pooling::Max, 0.2, sample(25, 3));
    let reduced = solve(&p);
    let full = solve_with(
        &p,
        &SolveOptions {
            reduce: false,
            ..SolveOptions::default()
        },
    );
    assert!(
        reduced.program.cone_rows_written * 3 < full.program.cone_rows_written,
        "reduction wrote {} of {} cone rows",
        reduced.program.cone_rows_written,
        full.program.cone_rows_written
    );
    assert_relative_eq!(reduced.objective, full.objective, max_relative = 1e-7);
    assert!(reduced.max_constraint_violation < 1e-6);
}

/// With one patch position (kernel = whole input) `max_k` and `Σ_k` agree, so max pooling is the
/// sum-pooling, i.e. fully connected, program: same patterns and the same optimum.
#[test]
fn max_pooling_with_one_patch_equals_sum_pooling() {
    // Sampled gates on digits (K = 1, h = 64) and every cell on 1-D signals (K = 1, h = 3).
    let (xd, yd) = digits(20);
    let (xs, ys) = gaussian_data(7, 1, 1, 3, 11);
    let cases = [
        (xd, yd, geometry([8, 8]), sample(30, 4), 0.1),
        (xs, ys, geometry([1, 3]), exact(), 0.05),
    ];
    for (x, y, g, spec, beta) in cases {
        let max = solve(&problem(
            x.clone(),
            y.clone(),
            g,
            Pooling::Max,
            beta,
            spec.clone(),
        ));
        let sum = solve(&problem(x, y, g, Pooling::Sum, beta, spec));
        assert_eq!(max.data.patches, 1, "K = {}", max.data.patches);
        assert_eq!(max.arrangements, sum.arrangements, "pattern counts");
        assert!(max.neurons > 0, "zero network");
        assert!(
            (max.objective - sum.objective).abs() <= 1e-7 * sum.objective.abs().max(1.0),
            "max pooling {} vs sum pooling {}",
            max.objective,
            sum.objective
        );
    }
}

/// Fact 2 for max pooling: with every pattern, the convex optimum is ≤ the objective of random and
/// gradient-trained max-pool networks of several widths, and the decoded width attains it.
#[test]
fn exact_max_pool_optimum_lower_bounds_random_and_trained_networks() {
    // Signals of length 5, kernel 2: K = 4 positions, h = 2.
    let (x, y) = gaussian_data(6, 1, 1, 5, 4);
    let g = geometry([1, 2]);
    let beta = 0.05;
    let r = solve(&problem(
        x.clone(),
        y.clone(),
        g,
        Pooling::Max,
        beta,
        exact(),
    ));
    let opt = r.objective;
    let mut best_trained = f64::INFINITY;
    for width in [1, 2, 4, 8, 16] {
        for seed in 0..8 {
            let mut net =
                TwoLayerCnn::random(g, Pooling::Max, 1, width, 1.0, 100 * width as u64 + seed);
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
    // Training does learn (the comparison is not against networks stuck at zero); measured: the
    // best of 40 runs reaches 1.26 against the optimum 0.78 and ½‖y‖² = 5.67.
    let zero = 0.5 * y.dot(&y);
    assert!(
        best_trained < 0.5 * zero,
        "best trained {best_trained} vs ½‖y‖² = {zero} (optimum {opt})"
    );
    // The decoded width attains the optimum, by an independent forward pass.
    let decoded = TwoLayerCnn {
        geometry: g,
        pooling: Pooling::Max,
        channels: 1,
        filters: r.filters.clone(),
        output_weights: r.output_weights.clone(),
        activation: Activation::Relu,
        biases: None,
    };
    let attained = decoded.objective(x.view(), y.view(), beta).total;
    assert_relative_eq!(attained, opt, max_relative = 1e-6);
    // And gradient descent from the decoded network cannot go below it either.
    let mut polished = decoded.clone();
    let after = polished.train_gd(x.view(), y.view(), beta, 200, 0.01).total;
    assert!(
        opt <= after + 1e-7,
        "decoded network trained further: {after} < optimum {opt}"
    );
}

/// Fact 2's certificate: in exact mode the dual certificate bounds the nonconvex max-pool training
/// problem and meets the decoded network's objective.
#[test]
fn exact_max_pool_optimum_is_certified_globally() {
    for (seed, (c, len, k)) in [(1, (1, 6, 2)), (2, (1, 5, 3))] {
        let (x, y) = gaussian_data(6, c, 1, len, 20 + seed);
        let r = solve(&problem(
            x,
            y,
            geometry([1, k]),
            Pooling::Max,
            0.05,
            exact(),
        ));
        assert_eq!(r.certificate.scope, Scope::Global);
        assert!(
            r.certificate.gap <= 1e-6 * r.objective.abs().max(1.0) && r.certificate.certified,
            "kernel {k}: gap {} (objective {})",
            r.certificate.gap,
            r.objective
        );
        assert!(r.neurons > 0, "zero network");
    }
}

/// Every `(κ or off)` vector the max-pool patterns of `patches` can take, by brute force in the
/// plane (`h = 2`): the patterns are constant between consecutive boundary rays of all patch and
/// pairwise-difference hyperplanes, so the midpoint of every sector (and nothing else) is needed.
fn plane_sector_patterns(patches: &Patches) -> HashSet<Vec<bool>> {
    let rows = max_pool::cell_rows(patches);
    let mut angles: Vec<f64> = Vec::new();
    for r in rows.outer_iter() {
        if r[0] == 0.0 && r[1] == 0.0 {
            continue;
        }
        // The boundary {u : r·u = 0} is the line at angle atan2(r1, r0) + π/2.
        let a = r[1].atan2(r[0]) + std::f64::consts::FRAC_PI_2;
        for b in [a, a + std::f64::consts::PI] {
            angles.push(b.rem_euclid(2.0 * std::f64::consts::PI));
        }
    }
    angles.sort_by(f64::total_cmp);
    let mut out = HashSet::new();
    for (i, &a) in angles.iter().enumerate() {
        let b = if i + 1 < angles.len() {
            angles[i + 1]
        } else {
            angles[0] + 2.0 * std::f64::consts::PI
        };
        if b - a < 1e-12 {
            continue;
        }
        let mid = 0.5 * (a + b);
        let on = max_pool::pattern_of(patches, &[mid.cos(), mid.sin()]);
        if on.iter().any(|&v| v) {
            out.insert(on);
        }
    }
    out
}

/// The exact enumerator lists every max-pool pattern: on `h = 2` exactly the sector patterns
/// found by brute force; on `h = 3` (and `h = 2`) every pattern of 20,000 random gates is among
/// the exact ones; every exact pattern is the pattern of its own gate, with a unique argmax.
#[test]
fn exact_max_pool_patterns_match_brute_force() {
    for (c, len, k, seed) in [(1, 5, 2, 31), (1, 6, 3, 32), (1, 4, 2, 33)] {
        let (x, _) = gaussian_data(5, c, 1, len, seed);
        let patches = Patches::extract(x.view(), &geometry([1, k])).expect("fits");
        let exact_arr = max_pool::build(&patches, &exact()).expect("exact");
        let exact_set: HashSet<Vec<bool>> =
            exact_arr.patterns.iter().map(|p| p.on.clone()).collect();
        assert_eq!(exact_set.len(), exact_arr.patterns.len(), "duplicates");
        for pat in &exact_arr.patterns {
            assert_eq!(
                max_pool::pattern_of(&patches, &pat.gate),
                pat.on,
                "a gate does not produce its own pattern"
            );
            // One argmax bit per "on" sample, none for "off" ones.
            let n = patches.n();
            for t in 0..n {
                let bits = (0..patches.k()).filter(|&kk| pat.on[kk * n + t]).count();
                assert!(bits <= 1, "sample {t} has {bits} argmax bits");
            }
        }
        let sampled = max_pool::build(&patches, &sample(20_000, seed)).expect("sample");
        for pat in &sampled.patterns {
            assert!(
                exact_set.contains(&pat.on),
                "h = {}: a sampled pattern is missing from the {} exact ones",
                patches.h(),
                exact_set.len()
            );
        }
        if patches.h() == 2 {
            let brute = plane_sector_patterns(&patches);
            assert_eq!(
                brute,
                exact_set,
                "h = 2: {} brute-force sector patterns vs {} exact",
                brute.len(),
                exact_set.len()
            );
        } else {
            assert!(
                sampled.patterns.len() * 10 >= exact_set.len() * 9,
                "20,000 gates found only {} of {} patterns",
                sampled.patterns.len(),
                exact_set.len()
            );
        }
    }
}

/// Exact mode on a max-pool arrangement too large to enumerate is refused before any work, with a
/// message that says what is enumerated and how to fix it.
#[test]
fn too_large_exact_max_pool_request_is_refused_with_the_fix() {
    let (x, y) = digits(40);
    let p = problem(x, y, geometry([3, 3]), Pooling::Max, 0.1, exact());
    let err = pipeline::solve(&p, &SolveOptions::default(), &quiet).expect_err("refused");
    let msg = err.to_string();
    for want in [
        "max pooling",
        "pairwise differences",
        "max_patterns",
        "sample",
    ] {
        assert!(msg.contains(want), "message lacks {want:?}: {msg}");
    }
}
