//! The classification losses (docs/math.md, "Classification losses"): the facts of §2 hold with
//! the logistic and hinge losses in place of the squared loss — the decoded network attains the
//! convex objective, the exact optimum is below every network's, the certificate closes, the zero
//! network is optimal from `β_max` on — and the exported files mean the same program.

mod support;

use cvxcnn::backend::{Backend, Status, clarabel};
use cvxcnn::certify::Scope;
use cvxcnn::export::{cbf, mps};
use cvxcnn::geometry::{ConvGeometry, FilterNorm, Pooling};
use cvxcnn::ir::ConeKind;
use cvxcnn::loss::Loss;
use cvxcnn::network::TwoLayerCnn;
use cvxcnn::pipeline::{self, Report, SolveOptions};
use cvxcnn::problem::{Architecture, ArrangementSpec, Problem};
use ndarray::{Array1, Array4, ArrayView1};
use support::*;

const LOSSES: [Loss; 2] = [Loss::Logistic, Loss::Hinge];

fn kernel(k: usize) -> ConvGeometry {
    ConvGeometry {
        kernel: [1, k],
        stride: [1, 1],
        padding: [0, 0],
    }
}

/// Gaussian 1-D signals `[n, 1, 1, len]` with ±1 targets (the sign of a Gaussian draw).
fn signals(n: usize, len: usize, seed: u64) -> (Array4<f64>, Array1<f64>) {
    let (x, y) = gaussian_data(n, 1, 1, len, seed);
    (x, y.mapv(|v| if v >= 0.0 { 1.0 } else { -1.0 }))
}

/// A two-layer problem with `loss`.
#[allow(clippy::too_many_arguments)]
fn classify(
    x: Array4<f64>,
    y: Array1<f64>,
    k: usize,
    pooling: Pooling,
    bias: bool,
    beta: f64,
    arrangements: ArrangementSpec,
    loss: Loss,
) -> Problem {
    let architecture = Architecture::TwoLayer {
        geometry: kernel(k),
        pooling,
        activation: cvxcnn::geometry::Activation::Relu,
        bias,
    };
    Problem {
        loss,
        ..with_architecture(x, y, architecture, beta, arrangements)
    }
}

/// `L(f(x)) + R_β(θ)` of a network under `loss`, by the network's own forward pass.
fn objective(net: &TwoLayerCnn, p: &Problem) -> f64 {
    let f = net.forward(p.x.view());
    p.loss.value(f.view(), p.y.view()) + net.regularizer_with_norm(p.beta, p.filter_norm)
}

/// The network of a two-layer result, rebuilt from its keys.
fn network(r: &Report, p: &Problem) -> TwoLayerCnn {
    let Architecture::TwoLayer {
        geometry, pooling, ..
    } = p.architecture
    else {
        unreachable!()
    };
    TwoLayerCnn {
        geometry,
        pooling,
        channels: p.x.dim().1,
        filters: r.filters.clone(),
        output_weights: r.output_weights.clone(),
        activation: cvxcnn::geometry::Activation::Relu,
        biases: r.biases.clone(),
    }
}

/// `∂L/∂f` of `loss` (a subgradient for the hinge).
fn loss_slope(loss: Loss, f: ArrayView1<f64>, y: ArrayView1<f64>) -> Array1<f64> {
    -loss.dual_point(f, y)
}

/// Full-batch (sub)gradient descent on `L(f(x)) + R_β` with Armijo backtracking. The network's
/// squared-loss gradient with targets `ỹ = f − ∂L/∂f` has residual `f − ỹ = ∂L/∂f`: it is the
/// gradient of the loss under test (the regularizer part is the same).
fn train(mut net: TwoLayerCnn, p: &Problem, steps: usize) -> TwoLayerCnn {
    let mut eta = 0.1;
    let mut current = objective(&net, p);
    for _ in 0..steps {
        let f = net.forward(p.x.view());
        let target = &f - &loss_slope(p.loss, f.view(), p.y.view());
        let g = net.full_gradient(p.x.view(), target.view(), p.beta);
        let norm2: f64 = g
            .filters
            .iter()
            .flatten()
            .chain(&g.output_weights)
            .chain(&g.biases)
            .map(|v| v * v)
            .sum();
        if norm2 == 0.0 {
            break;
        }
        let mut accepted = false;
        for _ in 0..40 {
            let mut trial = net.clone();
            for (u, gu) in trial.filters.iter_mut().zip(&g.filters) {
                for (v, gv) in u.iter_mut().zip(gu) {
                    *v -= eta * gv;
                }
            }
            for (w, gw) in trial.output_weights.iter_mut().zip(&g.output_weights) {
                *w -= eta * gw;
            }
            if let Some(b) = &mut trial.biases {
                for (v, gv) in b.iter_mut().zip(&g.biases) {
                    *v -= eta * gv;
                }
            }
            let value = objective(&trial, p);
            if value <= current - 1e-4 * eta * norm2 {
                net = trial;
                current = value;
                accepted = true;
                eta *= 2.0;
                break;
            }
            eta *= 0.5;
        }
        if !accepted {
            break;
        }
    }
    net
}

/// Fact 1 of §2 with the classification losses: the decoded network, run forward on its own, has
/// the convex objective (loss and regularizer), for sum and average pooling, with and without a
/// bias; the certificate over the sampled patterns closes.
#[test]
fn decoded_network_attains_the_convex_objective() {
    for loss in LOSSES {
        for (pooling, bias, seed) in [
            (Pooling::Sum, false, 1),
            (Pooling::Average, false, 2),
            (Pooling::Sum, true, 3),
            (Pooling::Average, true, 4),
        ] {
            let (x, y) = signals(14, 7, seed);
            let p = classify(x, y, 3, pooling, bias, 0.05, sample(40, seed), loss);
            let r = solve(&p);
            let what = format!("{loss:?} {pooling:?} bias {bias}");
            let net = network(&r, &p);
            let forward = objective(&net, &p);
            assert!(
                (forward - r.objective).abs() <= 1e-6 * r.objective.abs().max(1.0),
                "{what}: forward pass {forward} vs convex {}",
                r.objective
            );
            assert!(
                (r.network_objective - forward).abs() <= 1e-9 * forward.max(1.0),
                "{what}: reported network objective {} vs {forward}",
                r.network_objective
            );
            assert!(
                r.neurons > 0,
                "{what}: β small enough for a nonzero network"
            );
            assert!(r.certificate.certified, "{what}: {:?}", r.certificate.gap);
            assert_eq!(r.certificate.scope, Scope::SampledPatterns);
            assert!(r.certificate.lower_bound <= r.network_objective + 1e-9);
        }
    }
}

/// Facts 2 and the certificate in exact mode: the optimum over every pattern is at most the
/// objective of random networks and of networks trained by gradient descent on the same loss, and
/// the global certificate closes.
#[test]
fn exact_optimum_is_below_random_and_trained_networks() {
    for loss in LOSSES {
        let (x, y) = signals(12, 6, 7);
        let p = classify(x, y, 2, Pooling::Sum, false, 0.1, exact(), loss);
        let r = solve(&p);
        assert_eq!(r.certificate.scope, Scope::Global, "{loss:?}");
        assert!(
            r.certificate.certified && r.certificate.relative_gap <= 1e-6,
            "{loss:?}: gap {}",
            r.certificate.relative_gap
        );
        let optimum = r.objective;
        let zero = p.loss.value(Array1::zeros(p.n()).view(), p.y.view());
        assert!(
            optimum < zero - 1e-3,
            "{loss:?}: β leaves a nonzero network"
        );
        let mut trained_best = f64::INFINITY;
        for seed in 0..12u64 {
            for width in [1, 3, 8] {
                for scale in [0.3, 1.0] {
                    let net = TwoLayerCnn::random(kernel(2), Pooling::Sum, 1, width, scale, seed);
                    let value = objective(&net, &p);
                    assert!(
                        optimum <= value + 1e-7,
                        "{loss:?}: random network (seed {seed}, width {width}) {value} < optimum \
                         {optimum}"
                    );
                }
            }
            let start = TwoLayerCnn::random(kernel(2), Pooling::Sum, 1, 6, 0.5, 100 + seed);
            let before = objective(&start, &p);
            let net = train(start, &p, 400);
            let value = objective(&net, &p);
            assert!(value <= before, "{loss:?}: training lowered the objective");
            trained_best = trained_best.min(value);
            assert!(
                optimum <= value + 1e-7,
                "{loss:?}: trained network {value} < optimum {optimum}"
            );
        }
        // Training gets somewhere: it is a comparison, not a formality.
        assert!(
            trained_best < zero,
            "{loss:?}: trained {trained_best} vs zero network {zero}"
        );
    }
}

/// From `β_max` on the zero network is optimal: objective `L(0)` (`n log 2` logistic, `n` hinge),
/// no neuron, a zero gap; just below `β_max` it is not.
#[test]
fn beta_max_gives_the_zero_network_with_a_zero_gap() {
    for loss in LOSSES {
        let (x, y) = signals(10, 5, 11);
        let p = classify(x, y, 2, Pooling::Sum, false, 0.1, exact(), loss);
        let beta_max = solve(&p).certificate.beta_max.expect("two-layer β_max");
        let zero = p.loss.value(Array1::zeros(p.n()).view(), p.y.view());
        let want = match loss {
            Loss::Logistic => p.n() as f64 * 2f64.ln(),
            _ => p.n() as f64,
        };
        assert!((zero - want).abs() < 1e-12);
        let above = Problem {
            beta: beta_max * 1.001,
            ..p.clone()
        };
        let r = solve(&above);
        assert_eq!(r.neurons, 0, "{loss:?}");
        assert!((r.network_objective - zero).abs() < 1e-12, "{loss:?}");
        assert!((r.objective - zero).abs() < 1e-6 * zero, "{loss:?}");
        assert!(
            r.certificate.gap.abs() < 1e-9,
            "{loss:?}: gap {}",
            r.certificate.gap
        );
        let below = Problem {
            beta: beta_max * 0.9,
            ..p.clone()
        };
        let r = solve(&below);
        assert!(r.neurons > 0, "{loss:?}: below β_max a neuron pays");
        assert!(r.objective < zero - 1e-6, "{loss:?}");
    }
}

/// The exported CBF (EXP cones for the logistic loss) read back by cvxcnn's reader and solved
/// again gives the same optimum; its cones are written as `EXP 3` lines.
#[test]
fn cbf_export_round_trips_with_the_same_optimum() {
    for loss in LOSSES {
        let (x, y) = signals(12, 6, 5);
        let p = classify(x, y, 2, Pooling::Sum, true, 0.1, sample(30, 5), loss);
        let r = solve(&p);
        let program = pipeline::program(&p, &SolveOptions::default(), &quiet).expect("program");
        let text = cbf::write(&program);
        assert_eq!(
            text.matches("EXP 3").count(),
            if loss == Loss::Logistic { 2 * p.n() } else { 0 },
            "{loss:?}"
        );
        let back = cbf::parse(&text).expect("parse");
        let sol = clarabel::solve(&back, &Default::default()).expect("solve");
        assert_eq!(sol.status, Status::Optimal, "{loss:?}");
        assert!(
            (sol.primal_objective - r.objective).abs() <= 1e-6 * r.objective.max(1.0),
            "{loss:?}: {} vs {}",
            sol.primal_objective,
            r.objective
        );
    }
}

/// CBF's `EXP` as the specification defines it, `u₀ ≥ u₁ exp(u₂/u₁)`, written by hand: min u₀ with
/// `u₁ = 1`, `u₂ = 1` is `e`; with a variable domain `EXP`, the same. A reader that kept the IR's
/// order would find the program infeasible or another value.
#[test]
fn cbf_exp_means_the_first_entry_bounds_the_others() {
    let con = "VER\n3\nOBJSENSE\nMIN\nVAR\n3 1\nF 3\nCON\n5 3\nEXP 3\nL= 1\nL= 1\nOBJACOORD\n1\n0 1\n\
               ACOORD\n5\n0 0 1\n1 1 1\n2 2 1\n3 1 1\n4 2 1\nBCOORD\n2\n3 -1\n4 -1\n";
    let var = "VER\n3\nOBJSENSE\nMIN\nVAR\n3 1\nEXP 3\nCON\n2 1\nL= 2\nOBJACOORD\n1\n0 1\n\
               ACOORD\n2\n0 1 1\n1 2 1\nBCOORD\n2\n0 -1\n1 -1\n";
    for text in [con, var] {
        let p = cbf::parse(text).expect("parse");
        assert!(p.row_blocks.iter().any(|b| b.cone == ConeKind::Exponential));
        let sol = clarabel::solve(&p, &Default::default()).expect("solve");
        assert_eq!(sol.status, Status::Optimal);
        assert!(
            (sol.primal_objective - std::f64::consts::E).abs() < 1e-6,
            "{}",
            sol.primal_objective
        );
        // Written back, the file reads as the same program.
        let again = cbf::parse(&cbf::write(&p)).expect("reparse");
        let sol2 = clarabel::solve(&again, &Default::default()).expect("solve");
        assert!((sol2.primal_objective - std::f64::consts::E).abs() < 1e-6);
    }
}

/// The hinge loss with the ℓ1 filter norm is an LP: MPS takes it, and the file read back gives the
/// same optimum; the logistic program (exponential cones) is refused by MPS with a message naming
/// the cone and the way out.
#[test]
fn hinge_l1_is_an_lp_and_mps_takes_it() {
    let (x, y) = signals(12, 6, 9);
    let p = Problem {
        filter_norm: FilterNorm::L1,
        ..classify(x, y, 2, Pooling::Sum, false, 0.1, exact(), Loss::Hinge)
    };
    let r = solve(&p);
    assert!(r.certificate.certified);
    let program = pipeline::program(&p, &SolveOptions::default(), &quiet).expect("program");
    assert!(program.row_blocks.iter().all(|b| b.cone.is_linear()));
    assert!(program.p_diag.iter().all(|&v| v == 0.0), "an LP");
    let text = mps::write(&program).expect("an LP writes as MPS");
    let back = mps::parse(&text).expect("parse");
    let sol = clarabel::solve(&back, &Default::default()).expect("solve");
    assert!(
        (sol.primal_objective - r.objective).abs() <= 1e-6 * r.objective.max(1.0),
        "{} vs {}",
        sol.primal_objective,
        r.objective
    );
    let logistic = Problem {
        loss: Loss::Logistic,
        ..p
    };
    let program = pipeline::program(&logistic, &SolveOptions::default(), &quiet).unwrap();
    let err = mps::write(&program)
        .expect_err("exponential cones are not MPS")
        .to_string();
    assert!(err.contains("exponential") && err.contains("cbf"), "{err}");
}

/// OSQP takes the hinge ℓ1 LP and agrees with Clarabel to its ADMM accuracy; it refuses the
/// logistic program. An LP has no curvature to damp OSQP's ADMM: on this one it needs `eps` 1e-5
/// (at 1e-6 it stops at 50 000 iterations with residuals 1e-4) and lands 2e-4 above Clarabel's
/// optimum. Its decoded network is a network, so its objective cannot be below the exact optimum.
#[cfg(feature = "osqp")]
#[test]
fn osqp_matches_clarabel_on_hinge_l1_and_refuses_logistic() {
    use cvxcnn::backend::osqp::OsqpSettings;
    let (x, y) = signals(12, 6, 9);
    let p = Problem {
        filter_norm: FilterNorm::L1,
        ..classify(x, y, 2, Pooling::Sum, false, 0.1, exact(), Loss::Hinge)
    };
    let ipm = solve(&p);
    let options = SolveOptions {
        backend: Backend::Osqp(OsqpSettings {
            eps_abs: 1e-5,
            eps_rel: 1e-5,
            ..OsqpSettings::default()
        }),
        ..SolveOptions::default()
    };
    let program = pipeline::program(&p, &SolveOptions::default(), &quiet).expect("program");
    let Backend::Osqp(settings) = &options.backend else {
        unreachable!()
    };
    let sol = cvxcnn::backend::osqp::solve(&program, settings).expect("osqp");
    assert_eq!(sol.status, Status::Optimal);
    let rel = (sol.primal_objective - ipm.objective).abs() / ipm.objective.max(1.0);
    assert!(
        rel <= 1e-3,
        "OSQP {} vs Clarabel {}",
        sol.primal_objective,
        ipm.objective
    );
    // Through the whole pipeline (re-solves after the full row check), whatever status OSQP ends
    // with, its decoded network is a network.
    let osqp = pipeline::solve(&p, &options, &quiet).expect("osqp is not refused");
    assert!(
        osqp.network_objective >= ipm.objective - 1e-9,
        "OSQP's network {} below the exact optimum {}",
        osqp.network_objective,
        ipm.objective
    );
    assert!(osqp.certificate.lower_bound <= ipm.objective + 1e-9);
    let logistic = Problem {
        loss: Loss::Logistic,
        ..p
    };
    let err = pipeline::solve(&logistic, &options, &quiet).expect_err("refused");
    assert!(
        err.to_string().contains("exponential") && err.to_string().contains("clarabel"),
        "{err}"
    );
}

/// The paths that have no classification loss refuse it with a message naming what works.
#[test]
fn unsupported_combinations_are_refused() {
    let (x, y) = signals(10, 5, 3);
    let p = classify(
        x,
        y,
        2,
        Pooling::Sum,
        false,
        0.1,
        sample(10, 1),
        Loss::Logistic,
    );
    let al = SolveOptions {
        backend: Backend::Al(Default::default()),
        ..SolveOptions::default()
    };
    let err = pipeline::solve(&p, &al, &quiet)
        .expect_err("al refuses")
        .to_string();
    assert!(
        err.contains("logistic") && err.contains("clarabel"),
        "{err}"
    );
    let generate = Problem {
        arrangements: ArrangementSpec::Generate(cvxcnn::problem::GenerateSpec {
            count: 5,
            seed: 0,
            rounds: 2,
            starts: 5,
            add: 5,
            tolerance: 1e-4,
            time_limit: f64::INFINITY,
            branch_and_bound: None,
            largest_after: None,
            walk: true,
        }),
        ..p.clone()
    };
    let err = pipeline::solve(&generate, &SolveOptions::default(), &quiet)
        .expect_err("generation refuses")
        .to_string();
    assert!(err.contains("generate") && err.contains("sample"), "{err}");
}

/// Problem files: non-±1 targets and architectures without loss rows are refused, naming the file,
/// the value and the fix.
#[test]
fn problem_files_refuse_bad_classification_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let data = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("problems/data");
    let write = |name: &str, body: String| {
        let path = dir.path().join(name);
        std::fs::write(&path, body).unwrap();
        path
    };
    let signal = write(
        "real_targets.json",
        format!(
            r#"{{"inputs": "{0}/signal_x.npy", "targets": "{0}/signal_y.npy",
            "architecture": {{"kind": "two_layer", "kernel": [2], "pooling": "sum"}},
            "beta": 0.1, "loss": "hinge", "arrangements": {{"mode": "exact"}}}}"#,
            data.display()
        ),
    );
    let err = Problem::load(&signal).expect_err("refused").to_string();
    assert!(
        err.contains("real_targets.json")
            && err.contains("−1 or +1")
            && err.contains("-9.13")
            && err.contains("binary"),
        "{err}"
    );
    let three = write(
        "three.json",
        format!(
            r#"{{"inputs": "{0}/signal_x.npy", "targets": "{0}/signal_y.npy",
            "architecture": {{"kind": "three_layer", "kernel": [2], "inner_filters": 2}},
            "beta": 0.1, "loss": "logistic", "arrangements": {{"mode": "sample", "count": 5, "seed": 0}}}}"#,
            data.display()
        ),
    );
    let err = Problem::load(&three).expect_err("refused").to_string();
    assert!(
        err.contains("three.json") && err.contains("three_layer") && err.contains("squared"),
        "{err}"
    );
    let unknown = write(
        "unknown.json",
        format!(
            r#"{{"inputs": "{0}/signal_x.npy", "targets": "{0}/signal_y.npy",
            "architecture": {{"kind": "two_layer", "kernel": [2], "pooling": "sum"}},
            "beta": 0.1, "loss": "cross_entropy", "arrangements": {{"mode": "exact"}}}}"#,
            data.display()
        ),
    );
    let err = Problem::load(&unknown).expect_err("refused").to_string();
    assert!(
        err.contains("cross_entropy") && err.contains("logistic"),
        "{err}"
    );
}

/// The shipped digits problems with the new losses load, and a one-vs-rest problem with the
/// logistic loss gives every class ±1 targets.
#[test]
fn one_vs_rest_makes_pm_one_targets_per_class() {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    for name in ["digits_logistic", "digits_hinge"] {
        let p = Problem::load(&root.join(format!("problems/{name}.json"))).expect(name);
        assert!(p.loss.is_classification());
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ovr.json");
    std::fs::write(
        &path,
        format!(
            r#"{{"inputs": "{0}/images.npy", "targets": "{0}/labels.npy", "task": "one_vs_rest",
            "max_samples": 40, "architecture": {{"kind": "two_layer", "kernel": [3, 3], "pooling": "sum"}},
            "beta": 1.0, "loss": "logistic", "arrangements": {{"mode": "sample", "count": 20, "seed": 0}}}}"#,
            root.join("problems/data").display()
        ),
    )
    .unwrap();
    let p = Problem::load(&path).expect("one-vs-rest loads");
    let cvxcnn::problem::Task::OneVsRest { classes, .. } = &p.task else {
        panic!("one-vs-rest")
    };
    let class = p.for_class(classes[0]);
    assert!(class.y.iter().all(|&v| v == 1.0 || v == -1.0));
    assert_eq!(class.loss, Loss::Logistic);
    let r = solve(&class);
    assert!(r.certificate.certified);
    let net = network(&r, &class);
    assert!((objective(&net, &class) - r.objective).abs() <= 1e-6 * r.objective.max(1.0));
}

/// Issue 14's warning: the 40-digit logistic program with a bias and 30 sampled gates makes
/// Clarabel with faer's LDLᵀ stop at `insufficient_progress`; the solve retries with QDLDL, which
/// converges, and the result names the settings it reports. (The other statuses stay honest: a
/// failed retry keeps the first answer's status.)
#[test]
fn logistic_retries_with_qdldl_when_faer_stalls() {
    let (x, y) = digits(40);
    let p = Problem {
        loss: Loss::Logistic,
        ..with_architecture(
            x,
            y,
            Architecture::TwoLayer {
                geometry: ConvGeometry {
                    kernel: [3, 3],
                    stride: [1, 1],
                    padding: [0, 0],
                },
                pooling: Pooling::Sum,
                activation: cvxcnn::geometry::Activation::Relu,
                bias: true,
            },
            0.1,
            sample(30, 0),
        )
    };
    let r = solve(&p);
    let Backend::Clarabel(s) = &r.solver.settings else {
        panic!("clarabel")
    };
    assert_eq!(s.linear_solver, clarabel::LinearSolver::Qdldl);
    assert!(r.certificate.certified);
    let net = network(&r, &p);
    assert!((objective(&net, &p) - r.objective).abs() <= 1e-6 * r.objective.max(1.0));
}

/// The circular CNN (docs/math.md §8) with the classification losses: the same loss rows on its
/// residual; the decoded network's forward pass attains the convex objective, the certificate
/// closes, and from `β_max` on the zero network is optimal with a zero gap.
#[test]
fn circular_networks_take_the_classification_losses() {
    for loss in LOSSES {
        for bias in [false, true] {
            let (x, y) = signals(12, 5, 21);
            let architecture = Architecture::Circular { bias, layers: 3 };
            let p = Problem {
                loss,
                ..with_architecture(x, y, architecture, 0.05, sample(40, 3))
            };
            let r = solve(&p);
            let what = format!("{loss:?} bias {bias}");
            assert!(r.neurons > 0, "{what}");
            assert!(
                (r.network_objective - r.objective).abs() <= 1e-6 * r.objective.max(1.0),
                "{what}: forward pass {} vs convex {}",
                r.network_objective,
                r.objective
            );
            assert!(
                r.certificate.certified,
                "{what}: {}",
                r.certificate.relative_gap
            );
            let zero = p.loss.value(Array1::zeros(p.n()).view(), p.y.view());
            let above = Problem {
                beta: r.certificate.beta_max.expect("β_max") * 1.001,
                ..p.clone()
            };
            let r = solve(&above);
            assert_eq!(r.neurons, 0, "{what}");
            assert!((r.network_objective - zero).abs() < 1e-12, "{what}");
            assert!(
                r.certificate.gap.abs() < 1e-9,
                "{what}: {}",
                r.certificate.gap
            );
        }
    }
}

/// Linear activation (docs/math.md §6) with the classification losses: one neuron attains the convex
/// objective, the exact certificate (no patterns: scope global) closes, and `β_max` gives the zero
/// network.
#[test]
fn linear_activation_takes_the_classification_losses() {
    for loss in LOSSES {
        let (x, y) = signals(15, 6, 31);
        let architecture = Architecture::TwoLayer {
            geometry: kernel(3),
            pooling: Pooling::Sum,
            activation: cvxcnn::geometry::Activation::Linear,
            bias: true,
        };
        let p = Problem {
            loss,
            ..with_architecture(x, y, architecture, 0.05, sample(5, 0))
        };
        let r = solve(&p);
        assert_eq!(r.neurons, 1, "{loss:?}");
        assert!(
            (r.network_objective - r.objective).abs() <= 1e-6 * r.objective.max(1.0),
            "{loss:?}: {} vs {}",
            r.network_objective,
            r.objective
        );
        assert_eq!(r.certificate.scope, Scope::Global);
        assert!(
            r.certificate.certified,
            "{loss:?}: {}",
            r.certificate.relative_gap
        );
        let above = Problem {
            beta: r.certificate.beta_max.expect("β_max") * 1.001,
            ..p.clone()
        };
        let r = solve(&above);
        assert_eq!(r.neurons, 0, "{loss:?}");
        assert!(r.certificate.gap.abs() < 1e-9, "{loss:?}");
    }
}
