//! The global certificate by branch and bound (docs/math.md, "Global certificate by branch and
//! bound"): its `M̄` against the exact maximum over every enumerated pattern, against dense
//! sampling with ascent, the incumbent it reports, the lower bound against trained networks and
//! the convex optimum, determinism, and `cvxcnn certify --global`.

mod support;

use cvxcnn::arch::two_layer::patches_of;
use cvxcnn::baseline::{self, BaselineOptions};
use cvxcnn::certify::{self, Scope};
use cvxcnn::generate::price::Pricing;
use cvxcnn::geometry::{Activation, ConvGeometry, FilterNorm, Pooling};
use cvxcnn::global::{self, Options, Stop};
use cvxcnn::pipeline::{self, Report, SolveOptions};
use cvxcnn::problem::{Architecture, Problem};
use ndarray::{Array1, ArrayView1};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use std::path::PathBuf;
use std::process::Command;
use support::{exact, gaussian_data, quiet, sample, with_architecture};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn shipped(name: &str) -> Problem {
    Problem::load(&root().join("problems").join(name)).expect("shipped problem loads")
}

fn geometry(kernel: [usize; 2]) -> ConvGeometry {
    ConvGeometry {
        kernel,
        stride: [1, 1],
        padding: [0, 0],
    }
}

/// A small exact-mode problem on Gaussian data: 1-D signals (`hh = 1`) or images.
fn small_exact(seed: u64, pooling: Pooling, bias: bool, c: usize, kernel: [usize; 2]) -> Problem {
    let hh = kernel[0] + 1;
    let (x, y) = gaussian_data(6, c, hh, kernel[1] + 2, seed);
    let architecture = Architecture::TwoLayer {
        geometry: geometry(kernel),
        pooling,
        activation: Activation::Relu,
        bias,
    };
    with_architecture(x, y, architecture, 0.2, exact())
}

/// The exact `M(v)`: the largest per-pattern dual value over every cell of the arrangement.
fn exact_max(problem: &Problem, v: ArrayView1<f64>) -> f64 {
    let prep = pipeline::prepare(problem, &SolveOptions::default(), &quiet).expect("prepare");
    assert!(prep.arrangement.exact, "an exact arrangement");
    certify::dual_values(
        prep.patches.stacked(),
        &prep.arrangement,
        &prep.a,
        &prep.rows,
        v,
        FilterNorm::L2,
    )
    .into_iter()
    .fold(0.0, f64::max)
}

fn gaussian(n: usize, seed: u64) -> Array1<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    Array1::from_shape_fn(n, |_| StandardNormal.sample(&mut rng))
}

/// `|g_v(u)|` from its definition, `Σ_k α_k Σ_t v_t relu(x_{t,k}·u)`.
fn g_abs(problem: &Problem, v: ArrayView1<f64>, u: &[f64]) -> f64 {
    let (patches, alpha) = patches_of(problem).expect("two-layer");
    let (k, n, _) = patches.data.dim();
    let mut s = 0.0;
    for (kk, &a) in alpha.iter().enumerate().take(k) {
        for t in 0..n {
            let row = patches.data.slice(ndarray::s![kk, t, ..]);
            let d: f64 = row.iter().zip(u).map(|(a, b)| a * b).sum();
            s += a * v[t] * d.max(0.0);
        }
    }
    s.abs()
}

fn run_search(problem: &Problem, v: ArrayView1<f64>, options: &Options) -> global::Search {
    let (patches, alpha) = patches_of(problem).expect("two-layer");
    global::search(patches.stacked(), &alpha, v, options, &quiet)
}

fn solve(problem: &Problem) -> Report {
    let r = pipeline::solve(problem, &SolveOptions::default(), &quiet).expect("solve");
    assert_eq!(r.status, cvxcnn::backend::Status::Optimal);
    r
}

fn exact_problems() -> Vec<Problem> {
    vec![
        shipped("signal_exact.json"),
        shipped("exact3_channels.json"),
        small_exact(1, Pooling::Sum, false, 1, [1, 3]),
        small_exact(2, Pooling::Average, true, 1, [1, 2]),
        small_exact(3, Pooling::Sum, true, 2, [1, 1]),
    ]
}

/// Run to completion, `M̄` brackets the exact maximum over every pattern: never below it, and within
/// 1e-6 of it — at the optimum's dual point and at a random `v`.
#[test]
fn upper_bound_matches_the_exact_maximum_over_every_pattern() {
    for (i, p) in exact_problems().iter().enumerate() {
        let r = solve(p);
        let dual = Array1::from(r.certificate.evidence.dual_point.clone());
        for v in [dual, gaussian(p.n(), 10 + i as u64)] {
            let exact = exact_max(p, v.view());
            let opts = Options {
                tolerance: 5e-7,
                max_cones: 3_000_000,
                ..Options::default()
            };
            let s = run_search(p, v.view(), &opts);
            assert!(s.complete, "problem {i}: stopped on {:?}", s.stop);
            assert!(
                s.dual_value_upper >= exact * (1.0 - 1e-9),
                "problem {i}: M̄ = {} below the exact maximum {exact}",
                s.dual_value_upper
            );
            assert!(
                s.dual_value_upper <= exact * (1.0 + 1e-6),
                "problem {i}: M̄ = {} above the exact maximum {exact} by more than 1e-6",
                s.dual_value_upper
            );
            // The incumbent is attained and no better than the maximum.
            let at = g_abs(p, v.view(), &s.best_filter);
            assert!((at - s.dual_value_best).abs() <= 1e-12 * exact.max(1.0));
            let norm: f64 = s.best_filter.iter().map(|x| x * x).sum::<f64>().sqrt();
            assert!((norm - 1.0).abs() < 1e-12);
            assert!(s.dual_value_best <= exact * (1.0 + 1e-9));
            assert!(s.dual_value_best >= exact * (1.0 - 1e-6));
        }
    }
}

/// `certify --global` on exact problems certifies the solved network to 1e-6, and its bound is
/// below the convex optimum (and so below every network, the solved one included).
#[test]
fn global_certificate_certifies_exact_problems() {
    for (i, p) in exact_problems().iter().enumerate() {
        let r = solve(p);
        let c = global::certify_report(p, &r, &Options::default(), &quiet).expect("certify");
        assert!(c.certificate.certified, "problem {i}: {:?}", c.certificate);
        assert_eq!(c.certificate.scope, Scope::Global);
        let tol = 1e-9 * r.objective.abs().max(1.0);
        assert!(c.certificate.lower_bound <= r.objective + tol);
        assert!(c.certificate.lower_bound <= r.network_objective + tol);
        // The stated bound is d(θv) at the listed dual point with θ = β / M̄ applied.
        let u = Array1::from(c.certificate.evidence.dual_point.clone());
        let d = u.dot(&p.y) - 0.5 * u.dot(&u);
        assert!((d - c.certificate.lower_bound).abs() <= 1e-12 * d.abs().max(1.0));
        assert!(exact_max(p, u.view()) <= p.beta * (1.0 + 1e-9));
    }
}

/// A problem too large to enumerate quickly: 40 two-channel images, 2×2 kernel (`h = 8`).
fn larger() -> Problem {
    let (x, y) = gaussian_data(40, 2, 3, 6, 7);
    let architecture = Architecture::TwoLayer {
        geometry: geometry([2, 2]),
        pooling: Pooling::Sum,
        activation: Activation::Relu,
        bias: false,
    };
    with_architecture(x, y, architecture, 0.5, sample(50, 0))
}

/// On a problem too large to enumerate, `M̄` (after a cone budget) is above every value dense random
/// sampling and ascent from the samples find.
#[test]
fn upper_bound_dominates_sampling_and_ascent() {
    let p = larger();
    let v = gaussian(40, 3);
    let s = run_search(
        &p,
        v.view(),
        &Options {
            max_cones: 20_000,
            ..Options::default()
        },
    );
    assert!(s.dual_value_upper >= s.dual_value_best);
    let (patches, alpha) = patches_of(&p).expect("two-layer");
    let pricing = Pricing::new(patches.stacked(), &alpha, v.view());
    let h = patches.stacked().ncols();
    let mut rng = ChaCha8Rng::seed_from_u64(99);
    let mut sampled = 0.0_f64;
    for j in 0..20_000 {
        let u: Vec<f64> = (0..h).map(|_| StandardNormal.sample(&mut rng)).collect();
        let n: f64 = u.iter().map(|a| a * a).sum::<f64>().sqrt();
        let u: Vec<f64> = u.iter().map(|a| a / n).collect();
        sampled = sampled.max(g_abs(&p, v.view(), &u));
        if j % 200 == 0 {
            for sign in [1.0, -1.0] {
                let f = pricing.ascend(&u, sign, 200).expect("nonzero start");
                sampled = sampled.max(f.value);
            }
        }
    }
    assert!(
        s.dual_value_upper >= sampled * (1.0 - 1e-12),
        "M̄ = {} below a sampled value {sampled}",
        s.dual_value_upper
    );
    assert!(
        s.dual_value_best >= 0.9 * sampled,
        "the search's incumbent is poor"
    );
}

/// The global lower bound is below the objective of networks trained by Adam, and the trained
/// networks are certified against it with a gap that is never negative.
#[test]
fn lower_bound_is_below_trained_networks() {
    let (x, y) = gaussian_data(12, 1, 1, 6, 5);
    let architecture = Architecture::TwoLayer {
        geometry: geometry([1, 3]),
        pooling: Pooling::Sum,
        activation: Activation::Relu,
        bias: false,
    };
    let p = with_architecture(x, y, architecture, 0.3, sample(20, 0));
    let r = solve(&p);
    let budget = Options {
        max_cones: 20_000,
        ..Options::default()
    };
    let c = global::certify_report(&p, &r, &budget, &quiet).expect("certify");
    assert_eq!(c.certificate.scope, Scope::Global);
    let mut exact = p.clone();
    exact.arrangements = support::exact();
    let optimum = solve(&exact).objective;
    assert!(c.certificate.lower_bound <= optimum + 1e-9 * optimum.max(1.0));
    for seed in 0..3 {
        let o = BaselineOptions {
            width: 8,
            seed,
            max_iter: 2_000,
            ..BaselineOptions::default()
        };
        let t = baseline::train(&p, &o, &|_, _| {}).expect("valid options");
        let obj = t.objective.expect("not diverged").total;
        assert!(
            c.certificate.lower_bound <= obj,
            "seed {seed}: bound {} above a trained network's objective {obj}",
            c.certificate.lower_bound
        );
    }
}

/// Two runs give the same search, and so do one and two threads.
#[test]
fn search_is_deterministic() {
    let p = larger();
    let v = gaussian(p.n(), 4);
    let opts = Options {
        max_cones: 3_000,
        ..Options::default()
    };
    let key = |s: &global::Search| {
        (
            s.dual_value_upper.to_bits(),
            s.dual_value_best.to_bits(),
            s.best_filter
                .iter()
                .map(|x| x.to_bits())
                .collect::<Vec<_>>(),
            s.cones_explored,
            s.cones_open,
            s.max_depth,
        )
    };
    let a = run_search(&p, v.view(), &opts);
    let b = run_search(&p, v.view(), &opts);
    assert_eq!(key(&a), key(&b));
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("pool")
        .install(|| run_search(&p, v.view(), &opts));
    assert_eq!(key(&a), key(&one));
    assert_eq!(a.stop, Stop::NodeLimit);
}

/// The target stops the search as soon as `M̄` is small enough, and the bound is still valid.
#[test]
fn target_stop_keeps_a_valid_bound() {
    let p = shipped("signal_exact.json");
    let v = gaussian(p.n(), 8);
    let exact = exact_max(&p, v.view());
    let s = run_search(
        &p,
        v.view(),
        &Options {
            target: Some(exact * 1.5),
            ..Options::default()
        },
    );
    assert_eq!(s.stop, Stop::Target);
    assert!(!s.complete);
    assert!(s.dual_value_upper >= exact * (1.0 - 1e-9) && s.dual_value_upper <= exact * 1.5);
}

/// The search for a violation (`stop_above`, as pattern generation runs it: the same target)
/// splits the cones with the highest points first; it still returns a filter whose `|g_v|`, from
/// its definition, is above the threshold when one exists, and proves that none does otherwise,
/// with an `M̄` that brackets the exact maximum over every pattern — also when it stops early.
#[test]
fn the_search_for_a_violation_finds_one_or_proves_there_is_none() {
    for p in exact_problems() {
        let v = gaussian(p.n(), 11);
        let exact = exact_max(&p, v.view());
        let find = |t: f64| {
            run_search(
                &p,
                v.view(),
                &Options {
                    target: Some(t),
                    stop_above: Some(t),
                    ..Options::default()
                },
            )
        };
        // Stopped early, many cones are still open, and `M̄` is the largest of their bounds,
        // not the bound of the cone at the top of the queue (the highest point).
        for fraction in [0.2, 0.5, 0.8, 0.999] {
            let above = fraction * exact;
            let s = find(above);
            assert_eq!(s.stop, Stop::Violation);
            let g = g_abs(&p, v.view(), &s.best_filter);
            assert!(g > above, "|g_v| = {g} at the violation, threshold {above}");
            assert!((g - s.dual_value_best).abs() <= 1e-12 * exact);
            assert!(
                s.dual_value_upper >= exact * (1.0 - 1e-9),
                "M̄ = {} below the exact maximum {exact} (threshold {above})",
                s.dual_value_upper
            );
        }
        let none = 1.001 * exact;
        let s = find(none);
        assert_eq!(s.stop, Stop::Target);
        assert!(
            s.dual_value_upper >= exact * (1.0 - 1e-9) && s.dual_value_upper <= none,
            "M̄ = {} against the exact {exact} and the threshold {none}",
            s.dual_value_upper
        );
    }
}

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_cvxcnn"))
}

/// The CLI writes a certificate of scope global with the search's keys; `solve` refuses the flag.
#[test]
fn cli_certify_global_writes_the_keys() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("cert.json");
    let p = root().join("problems/signal_exact.json");
    let o = bin()
        .args([
            "certify",
            p.to_str().unwrap(),
            "--global",
            "--time-limit",
            "30",
        ])
        .args(["--out", out.to_str().unwrap()])
        .output()
        .expect("run");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains("certificate scope global"), "{stderr}");
    let c: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).expect("written")).expect("JSON");
    assert_eq!(c["scope"], "global");
    assert_eq!(c["certified"], true);
    assert!(c["relative_gap"].as_f64().unwrap() <= 1e-6);
    let s = &c["global_search"];
    assert_eq!(s["method"], "branch_and_bound");
    for key in [
        "dual_value_upper",
        "dual_value_best",
        "cones_explored",
        "cones_open",
        "max_depth",
        "seconds",
    ] {
        assert!(s[key].is_number(), "{key}");
    }
    assert!(s["complete"].is_boolean());
    assert!(s["stop"].is_string());
    assert_eq!(c["max_dual_value"], s["dual_value_upper"]);
    // Not generated: the bound is the final search's.
    assert!(c.get("bound_round").is_none() && c.get("final_search").is_none());
    // Without --global the certificate has no such key (goldens unchanged).
    let o = bin()
        .args(["certify", p.to_str().unwrap(), "--quiet"])
        .output()
        .expect("run");
    let plain: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    assert!(plain.get("global_search").is_none());
    let o = bin()
        .args(["solve", p.to_str().unwrap(), "--global"])
        .output()
        .expect("run");
    assert!(!o.status.success());
    assert!(o.stdout.is_empty());
}

/// Everything the search does not cover is refused in one line, before solving, with no file.
#[test]
fn cli_certify_global_refusals() {
    let dir = tempfile::tempdir().expect("tempdir");
    for name in [
        "digits_max.json",
        "circular.json",
        "three_layer.json",
        "digits_l1.json",
        "digits_linear.json",
        "digits_ovr.json",
        "digits_logistic.json",
        "digits_hinge.json",
    ] {
        let out = dir.path().join(format!("{name}.out"));
        let p = root().join("problems").join(name);
        let o = bin()
            .args(["certify", p.to_str().unwrap(), "--global"])
            .args(["--out", out.to_str().unwrap()])
            .output()
            .expect("run");
        let stderr = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "{name} accepted");
        assert_eq!(stderr.trim().lines().count(), 1, "{name}: {stderr}");
        assert!(stderr.contains("--global"), "{name}: {stderr}");
        assert!(!out.exists(), "{name}: output written");
    }
}

/// The stop names the summary line prints are the ones the certificate writes.
#[test]
fn stop_names_match_the_certificate() {
    for stop in [
        Stop::Gap,
        Stop::Target,
        Stop::TimeLimit,
        Stop::NodeLimit,
        Stop::MemoryLimit,
    ] {
        assert_eq!(serde_json::to_value(stop).expect("JSON"), stop.name());
    }
}
