//! The checkable facts of docs/math.md §2, each a test named after the fact.

mod support;

use approx::assert_relative_eq;
use cvxcnn::geometry::{Activation, ConvGeometry, FilterNorm, Pooling};
use cvxcnn::network::TwoLayerCnn;
use cvxcnn::pipeline::{self, SolveOptions};
use cvxcnn::problem::ArrangementSpec;
use std::path::PathBuf;
use support::*;

fn geometry(kernel: [usize; 2], stride: [usize; 2]) -> ConvGeometry {
    ConvGeometry {
        kernel,
        stride,
        padding: [0, 0],
    }
}

#[test]
fn decoded_objective_equals_convex_objective() {
    let (x, y) = digits(30);
    let p = problem(
        x,
        y,
        geometry([3, 3], [1, 1]),
        Pooling::Sum,
        0.5,
        sample(40, 1),
    );
    let r = solve(&p);
    assert!(r.neurons > 0, "the network is not trivial");
    assert_relative_eq!(r.network_objective, r.objective, max_relative = 1e-6);
    // The loss and regularizer are computed by the forward pass; the regularizer of a balanced
    // network equals β Σ ‖c‖, hence equals objective − loss.
    for (u, w) in r.filters.iter().zip(&r.output_weights) {
        let nu = u.iter().map(|v| v * v).sum::<f64>().sqrt();
        assert_relative_eq!(nu, w.abs(), max_relative = 1e-9);
    }
    assert!(
        r.max_constraint_violation < 1e-6,
        "violation {}",
        r.max_constraint_violation
    );
}

#[test]
fn reduced_program_equals_full_program() {
    let (x, y) = digits(25);
    let p = problem(
        x,
        y,
        geometry([3, 3], [1, 1]),
        Pooling::Sum,
        0.3,
        sample(30, 2),
    );
    let reduced = solve(&p);
    let full = solve_with(
        &p,
        &SolveOptions {
            reduce: false,
            ..SolveOptions::default()
        },
    );
    assert!(
        reduced.program.cone_rows_written * 5 < full.program.cone_rows_written,
        "reduction wrote {} of {} cone rows",
        reduced.program.cone_rows_written,
        full.program.cone_rows_written
    );
    assert_relative_eq!(reduced.objective, full.objective, max_relative = 1e-7);
    assert!(reduced.max_constraint_violation < 1e-6);
}

#[test]
fn patterns_match_2nk_for_generic_h2_data() {
    let (x, y) = gaussian_data(7, 1, 1, 5, 3);
    // kernel 2 on signals of length 5: K = 4, nK = 28 rows in general position in R^2.
    let p = problem(x, y, geometry([1, 2], [1, 1]), Pooling::Sum, 0.1, exact());
    let r = solve(&p);
    assert_eq!(r.arrangements, 2 * 7 * 4, "P = 2nK");
    assert_eq!(r.certificate.scope, cvxcnn::certify::Scope::Global);
    assert!(r.certificate.certified, "gap {}", r.certificate.gap);
}

/// Objective of the convex optimum against random and trained networks (fact 2).
#[test]
fn exact_optimum_lower_bounds_random_and_trained_networks() {
    let (x, y) = gaussian_data(6, 1, 1, 4, 4);
    let g = geometry([1, 2], [1, 1]);
    for pooling in [Pooling::Sum, Pooling::Average] {
        let beta = 0.05;
        let p = problem(x.clone(), y.clone(), g, pooling, beta, exact());
        let r = solve(&p);
        let opt = r.objective;
        for width in [1, 2, 4, 8, 16] {
            for seed in 0..8 {
                let mut net =
                    TwoLayerCnn::random(g, pooling, 1, width, 1.0, 100 * width as u64 + seed);
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
            }
        }
        // The decoded width attains the optimum.
        assert_relative_eq!(r.network_objective, opt, max_relative = 1e-6);
    }
}

#[test]
fn more_patterns_never_raise_the_optimum() {
    let (x, y) = digits(20);
    let g = geometry([3, 3], [1, 1]);
    let mut last = f64::INFINITY;
    // Gates are drawn in sequence from one seed, so 10 gates are a prefix of 20, of 40.
    for count in [10, 20, 40] {
        let r = solve(&problem(
            x.clone(),
            y.clone(),
            g,
            Pooling::Sum,
            0.2,
            sample(count, 5),
        ));
        assert!(
            r.objective <= last + 1e-7 * last.abs().max(1.0),
            "{count} gates: {} > {last}",
            r.objective
        );
        last = r.objective;
    }
}

#[test]
fn average_pooling_equals_sum_pooling_on_scaled_patches() {
    let (x, y) = digits(20);
    let g = geometry([3, 3], [1, 1]);
    let k = 36.0;
    let avg = solve(&problem(
        x.clone(),
        y.clone(),
        g,
        Pooling::Average,
        0.05,
        sample(20, 6),
    ));
    let sum = solve(&problem(x / k, y, g, Pooling::Sum, 0.05, sample(20, 6)));
    assert_relative_eq!(avg.objective, sum.objective, max_relative = 1e-7);
}

#[test]
fn beta_max_gives_the_zero_network() {
    let (x, y) = gaussian_data(6, 1, 1, 4, 7);
    let g = geometry([1, 2], [1, 1]);
    let r = solve(&problem(
        x.clone(),
        y.clone(),
        g,
        Pooling::Sum,
        0.01,
        exact(),
    ));
    let beta_max = r
        .certificate
        .beta_max
        .expect("two-layer certificates have beta_max");
    assert!(beta_max > 0.0);
    let above = solve(&problem(
        x.clone(),
        y.clone(),
        g,
        Pooling::Sum,
        1.001 * beta_max,
        exact(),
    ));
    assert_eq!(above.neurons, 0, "β ≥ β_max must give the zero network");
    assert_relative_eq!(above.objective, 0.5 * y.dot(&y), max_relative = 1e-7);
    let below = solve(&problem(
        x,
        y.clone(),
        g,
        Pooling::Sum,
        0.95 * beta_max,
        exact(),
    ));
    assert!(below.neurons > 0 && below.objective < 0.5 * y.dot(&y) - 1e-9);
}

#[test]
fn reduced_solution_meets_the_full_constraint_set_and_is_certified() {
    let (x, y) = digits(40);
    let p = problem(
        x,
        y,
        geometry([3, 3], [1, 1]),
        Pooling::Sum,
        0.1,
        sample(50, 8),
    );
    let r = solve(&p);
    assert!(
        r.max_constraint_violation < 1e-6,
        "violation {}",
        r.max_constraint_violation
    );
    assert!(
        r.certificate.certified,
        "relative gap {}",
        r.certificate.relative_gap
    );
}

/// Fact 5: with the kernel covering the whole input (K = 1) the program is the two-layer fully
/// connected ReLU program of Pilanci & Ergen (2020), here written directly against Clarabel's API
/// from the data, with no cvxcnn code in between.
#[test]
fn whole_input_kernel_reproduces_fully_connected_program() {
    use clarabel::algebra::CscMatrix;
    use clarabel::solver::{DefaultSettings, DefaultSolver, IPSolver, SupportedConeT};
    let (x, y) = gaussian_data(8, 1, 2, 2, 9);
    let n = 8;
    let d = 4;
    let gates =
        ndarray::Array2::from_shape_fn((12, d), |(i, j)| ((i * 7 + j * 3) as f64 * 0.37).sin());
    let p = problem(
        x.clone(),
        y.clone(),
        geometry([2, 2], [1, 1]),
        Pooling::Sum,
        0.2,
        ArrangementSpec::Gates {
            gates: gates.clone(),
            path: PathBuf::from("gates"),
        },
    );
    let r = solve(&p);
    // Independent FC program: variables [ρ (n) | v_i (d) | w_i (d) | s_i | t_i] per pattern.
    let xf = x.into_shape_with_order((n, d)).expect("contiguous");
    let mut pats: Vec<Vec<bool>> = Vec::new();
    for g in gates.outer_iter() {
        let pat: Vec<bool> = xf.outer_iter().map(|row| row.dot(&g) >= 0.0).collect();
        if pat.iter().any(|&b| b) && !pats.contains(&pat) {
            pats.push(pat);
        }
    }
    let pc = pats.len();
    let nv = n + pc * (2 * d + 2);
    let vi = |i: usize| n + i * (2 * d + 2);
    let mut trip: Vec<(usize, usize, f64)> = Vec::new();
    let mut b = Vec::new();
    let mut row = 0;
    for t in 0..n {
        trip.push((row, t, 1.0));
        for (i, pat) in pats.iter().enumerate() {
            if pat[t] {
                for j in 0..d {
                    trip.push((row, vi(i) + j, -xf[[t, j]]));
                    trip.push((row, vi(i) + d + j, xf[[t, j]]));
                }
            }
        }
        b.push(-y[t]);
        row += 1;
    }
    let mut cones = vec![SupportedConeT::ZeroConeT(n)];
    let mut nonneg = 0;
    for (i, pat) in pats.iter().enumerate() {
        for off in [0, d] {
            for t in 0..n {
                let sg = if pat[t] { 1.0 } else { -1.0 };
                for j in 0..d {
                    trip.push((row, vi(i) + off + j, -sg * xf[[t, j]]));
                }
                b.push(0.0);
                row += 1;
                nonneg += 1;
            }
        }
    }
    cones.push(SupportedConeT::NonnegativeConeT(nonneg));
    for i in 0..pc {
        for (off, tix) in [(0, 2 * d), (d, 2 * d + 1)] {
            trip.push((row, vi(i) + tix, -1.0));
            for j in 0..d {
                trip.push((row + 1 + j, vi(i) + off + j, -1.0));
            }
            b.extend(std::iter::repeat_n(0.0, d + 1));
            row += d + 1;
            cones.push(SupportedConeT::SecondOrderConeT(d + 1));
        }
    }
    let (ii, jj, vv): (Vec<usize>, Vec<usize>, Vec<f64>) =
        trip.into_iter()
            .fold((vec![], vec![], vec![]), |mut acc, (i, j, v)| {
                acc.0.push(i);
                acc.1.push(j);
                acc.2.push(v);
                acc
            });
    let a = CscMatrix::new_from_triplets(row, nv, ii, jj, vv);
    let pm = CscMatrix::new_from_triplets(n, nv, (0..n).collect(), (0..n).collect(), vec![1.0; n]);
    let pm = CscMatrix::new(
        nv,
        nv,
        {
            let mut cp = pm.colptr.clone();
            cp.resize(nv + 1, n);
            cp
        },
        pm.rowval.clone(),
        pm.nzval.clone(),
    );
    let mut q = vec![0.0; nv];
    for i in 0..pc {
        q[vi(i) + 2 * d] = 0.2;
        q[vi(i) + 2 * d + 1] = 0.2;
    }
    let settings = DefaultSettings::<f64> {
        verbose: false,
        ..DefaultSettings::default()
    };
    let mut solver =
        DefaultSolver::new(&pm, &q, &a, &b, &cones, settings).expect("valid FC program");
    solver.solve();
    assert_eq!(r.arrangements, pc, "same patterns");
    assert_relative_eq!(r.objective, solver.solution.obj_val, max_relative = 1e-7);
}

/// docs/math.md §10, second and third levers: writing the loss through `z_i = c_i − c'_i`, and
/// compressing it with a thin QR when `n > hP`, are exact rewrites of the same program.
#[test]
fn compressed_and_difference_couplings_equal_direct_program() {
    use cvxcnn::arch::two_layer::Coupling;
    let (x, y) = digits(80);
    // 6 gates: hP ≤ 54 < n = 80, so the compressed form applies.
    let p = problem(
        x,
        y,
        geometry([3, 3], [1, 1]),
        Pooling::Sum,
        0.1,
        sample(6, 11),
    );
    let with = |c| {
        solve_with(
            &p,
            &SolveOptions {
                coupling: Some(c),
                ..SolveOptions::default()
            },
        )
    };
    let direct = with(Coupling::Direct);
    for c in [Coupling::Difference, Coupling::Compressed] {
        let r = with(c);
        assert_eq!(r.program.coupling, c);
        assert_relative_eq!(r.objective, direct.objective, max_relative = 1e-7);
        assert_relative_eq!(r.network_objective, r.objective, max_relative = 1e-6);
        assert!(
            r.certificate.certified,
            "{c:?}: relative gap {}",
            r.certificate.relative_gap
        );
    }
    assert!(
        direct.program.nonzeros > 2 * with(Coupling::Compressed).program.nonzeros,
        "compression shrinks the dense coupling block"
    );
}

/// docs/math.md §3: with `‖u‖₁²` in the weight decay the decoded network (objective from its own
/// forward pass, `(β/2)Σ(‖u‖₁² + w²)`) attains the convex optimum, and in exact mode it lower-bounds
/// random and trained networks measured with the same ℓ1 weight decay.
#[test]
fn l1_decoded_objective_equals_convex_objective_and_lower_bounds_networks() {
    let (x, y) = gaussian_data(6, 1, 1, 4, 21);
    let g = geometry([1, 2], [1, 1]);
    let beta = 0.05;
    let mut p = problem(x.clone(), y.clone(), g, Pooling::Sum, beta, exact());
    p.filter_norm = FilterNorm::L1;
    let r = solve(&p);
    assert_eq!(
        r.program.coupling,
        cvxcnn::arch::two_layer::Coupling::Direct
    );
    assert_relative_eq!(r.network_objective, r.objective, max_relative = 1e-6);
    for (u, w) in r.filters.iter().zip(&r.output_weights) {
        let l1: f64 = u.iter().map(|v| v.abs()).sum();
        assert_relative_eq!(l1, w.abs(), max_relative = 1e-9);
    }
    assert!(
        r.certificate.certified,
        "relative gap {}",
        r.certificate.relative_gap
    );
    for width in [1, 3, 8] {
        for seed in 0..6 {
            let mut net = TwoLayerCnn::random(g, Pooling::Sum, 1, width, 1.0, 500 + seed);
            let obj = |n: &TwoLayerCnn| {
                n.objective_with_norm(x.view(), y.view(), beta, FilterNorm::L1)
                    .total
            };
            assert!(r.objective <= obj(&net) + 1e-9);
            // Gradient descent on the ℓ2 objective still yields a network to compare against.
            net.train_gd(x.view(), y.view(), beta, 300, 0.1);
            assert!(
                r.objective <= obj(&net) + 1e-7,
                "width {width}: {} < {}",
                obj(&net),
                r.objective
            );
        }
    }
    // The ℓ1 program differs from the ℓ2 one (a test that the norm is really switched).
    let mut p2 = p.clone();
    p2.filter_norm = FilterNorm::L2;
    assert!((solve(&p2).objective - r.objective).abs() > 1e-6);
}

/// `certify --network`: for a network built by hand, the reported objective is its own forward
/// objective and the gap is its distance to the certified optimum (exact mode: to the global one).
#[test]
fn certify_reproduces_the_gap_of_a_hand_built_network() {
    let (x, y) = gaussian_data(6, 1, 1, 4, 31);
    let g = geometry([1, 2], [1, 1]);
    let beta = 0.05;
    let p = problem(x.clone(), y.clone(), g, Pooling::Sum, beta, exact());
    let net = TwoLayerCnn {
        geometry: g,
        pooling: Pooling::Sum,
        channels: 1,
        filters: vec![vec![0.7, -0.2], vec![-0.3, 0.9], vec![0.5, 0.5]],
        output_weights: vec![0.8, -0.6, 0.4],
        activation: Activation::Relu,
        biases: None,
    };
    let by_hand = net.objective(x.view(), y.view(), beta).total;
    let opts = SolveOptions {
        network: Some(cvxcnn::pipeline::Weights {
            filters: net.filters.clone(),
            output_weights: net.output_weights.clone(),
            biases: None,
        }),
        ..SolveOptions::default()
    };
    let r = solve_with(&p, &opts);
    let c = r.network_certificate.as_ref().expect("network certificate");
    assert_relative_eq!(c.primal_objective, by_hand, max_relative = 1e-12);
    assert_relative_eq!(c.gap, by_hand - c.lower_bound, max_relative = 1e-12);
    assert_eq!(c.scope, cvxcnn::certify::Scope::Global);
    // The bound is the certified optimum, so the gap is the network's distance to it.
    assert!(c.lower_bound <= r.objective + 1e-7);
    assert!(
        (c.gap - (by_hand - r.objective)).abs() <= 1e-6,
        "gap {} vs {}",
        c.gap,
        by_hand - r.objective
    );
    assert!(
        c.gap > 1e-3 && !c.certified,
        "a hand-built network is far from optimal"
    );
    // The decoded optimal network itself has no gap.
    let own = SolveOptions {
        network: Some(cvxcnn::pipeline::Weights {
            filters: r.filters.clone(),
            output_weights: r.output_weights.clone(),
            biases: None,
        }),
        ..SolveOptions::default()
    };
    let c2 = solve_with(&p, &own)
        .network_certificate
        .expect("certificate");
    assert!(c2.certified, "relative gap {}", c2.relative_gap);
}

#[test]
fn a_network_of_the_wrong_shape_is_refused() {
    let (x, y) = gaussian_data(6, 1, 1, 4, 32);
    let p = problem(x, y, geometry([1, 2], [1, 1]), Pooling::Sum, 0.05, exact());
    let opts = SolveOptions {
        network: Some(cvxcnn::pipeline::Weights {
            filters: vec![vec![1.0, 2.0, 3.0]],
            output_weights: vec![1.0],
            biases: None,
        }),
        ..SolveOptions::default()
    };
    let err = pipeline::solve(&p, &opts, &quiet).expect_err("wrong shape");
    assert!(err.to_string().contains("h = 2"), "{err}");
}
