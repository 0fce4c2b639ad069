//! The facts of docs/math.md §8 (three-layer circular CNN with one ReLU), each a test named after
//! the fact it checks.

use cvxcnn::arch::circular::{Dft, block_regularizer, decode_block};
use cvxcnn::backend::Status;
use cvxcnn::certify::Scope;
use cvxcnn::geometry::FilterNorm;
use cvxcnn::network::{CircularCnn, circular_conv};
use cvxcnn::pipeline::{self, Report, SolveOptions};
use cvxcnn::problem::{Architecture, ArrangementSpec, Problem};
use ndarray::{Array1, Array2, Array4, s};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use std::path::PathBuf;

fn quiet(_: &str, _: usize, _: usize) {}

fn gaussians(n: usize, seed: u64) -> Vec<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n).map(|_| StandardNormal.sample(&mut rng)).collect()
}

fn norm(v: &[f64]) -> f64 {
    v.iter().map(|x| x * x).sum::<f64>().sqrt()
}

fn problem(
    n: usize,
    d: usize,
    bias: bool,
    beta: f64,
    arrangements: ArrangementSpec,
    seed: u64,
) -> Problem {
    deep_problem(n, d, bias, 3, beta, arrangements, seed)
}

fn deep_problem(
    n: usize,
    d: usize,
    bias: bool,
    layers: usize,
    beta: f64,
    arrangements: ArrangementSpec,
    seed: u64,
) -> Problem {
    let x = Array4::from_shape_vec((n, 1, 1, d), gaussians(n * d, seed)).expect("shape");
    let y = Array1::from(gaussians(n, seed + 1000));
    Problem {
        source: PathBuf::from("test"),
        x,
        one_d: true,
        y,
        architecture: Architecture::Circular { bias, layers },
        beta,
        filter_norm: FilterNorm::L2,
        loss: cvxcnn::loss::Loss::Squared,
        arrangements,
        task: cvxcnn::problem::Task::Scalar,
        test: None,
    }
}

fn solve(p: &Problem) -> Report {
    let r = pipeline::solve(p, &SolveOptions::default(), &quiet).expect("solve");
    assert_eq!(r.status, Status::Optimal, "status");
    r
}

fn network_of(r: &Report) -> CircularCnn {
    CircularCnn {
        inner_filters: r.inner_filters.clone().expect("inner filters"),
        circulant_filters: r.circulant_filters.clone().unwrap_or_default(),
        filters: r.filters.clone(),
        output_weights: r.output_weights.clone(),
        biases: r.biases.clone(),
    }
}

fn x2(p: &Problem) -> Array2<f64> {
    p.x.slice(s![.., 0, 0, ..]).to_owned()
}

/// Signals whose spectra have exact zeros: a constant (only frequency 0), a pure cosine (one
/// conjugate pair), the alternating signal (only d/2), and a random signal with some frequencies
/// removed.
fn special_signals(d: usize) -> Vec<Vec<f64>> {
    let dft = Dft::new(d);
    let mut out = vec![vec![0.7; d]];
    if d >= 3 {
        out.push((0..d).map(|j| dft.cos(1, j) * 1.3).collect());
    }
    if d.is_multiple_of(2) {
        out.push(
            (0..d)
                .map(|j| if j % 2 == 0 { 1.0 } else { -1.0 })
                .collect(),
        );
    }
    // Random signal with frequency 0 and pair 1 removed (and d/2 when even).
    let mut gh = dft.forward(&gaussians(d, 77 + d as u64));
    gh[0] = (0.0, 0.0);
    if d >= 3 {
        gh[1] = (0.0, 0.0);
        gh[d - 1] = (0.0, 0.0);
    }
    if d.is_multiple_of(2) {
        gh[d / 2] = (0.0, 0.0);
    }
    out.push(dft.inverse_real(&gh));
    out
}

#[test]
fn decode_reproduces_the_block_with_a_unit_inner_filter() {
    for d in [1, 2, 3, 4, 5, 7, 8, 16, 31] {
        let dft = Dft::new(d);
        let mut signals: Vec<Vec<f64>> = (0..5).map(|s| gaussians(d, 10 * d as u64 + s)).collect();
        signals.extend(special_signals(d));
        for z in &signals {
            for bias in [None, Some(0.0), Some(-0.8)] {
                let mut block = z.clone();
                block.extend(bias);
                if norm(&block) == 0.0 {
                    assert!(decode_block(&dft, &block, true).is_none(), "zero block");
                    continue;
                }
                for positive in [true, false] {
                    let nr = decode_block(&dft, &block, positive).expect("nonzero block");
                    let scale = norm(z).max(1.0);
                    let na = norm(&nr.inner);
                    assert!((na - 1.0).abs() < 1e-9, "d = {d}: ‖a‖ = {na}, not 1");
                    assert!(
                        (positive && nr.weight > 0.0) || (!positive && nr.weight < 0.0),
                        "sign of w"
                    );
                    // |w| (a ⊛ b) = z, by the direct sum (no DFT).
                    let g = circular_conv(&nr.inner, &nr.filter);
                    for (gj, zj) in g.iter().zip(z) {
                        let v = nr.weight.abs() * gj;
                        assert!(
                            (v - zj).abs() < 1e-9 * scale,
                            "d = {d}: w(a⊛b) = {v} vs z = {zj}"
                        );
                    }
                    let e = nr.bias.unwrap_or(0.0);
                    if let Some(zeta) = bias {
                        assert!((nr.weight.abs() * e - zeta).abs() < 1e-12, "|w| e = ζ");
                    }
                    // (½)(‖b‖² + e² + w²) = R(z, ζ): the regularizer is attained.
                    let half = 0.5 * (norm(&nr.filter).powi(2) + e * e + nr.weight * nr.weight);
                    let r = block_regularizer(&dft, &block);
                    assert!(
                        (half - r).abs() < 1e-9 * r.max(1.0),
                        "d = {d}: ½(‖b‖²+e²+w²) = {half} vs R = {r}"
                    );
                    // Balanced: ‖b‖² + e² = w².
                    let be = norm(&nr.filter).powi(2) + e * e;
                    assert!(
                        (be - nr.weight * nr.weight).abs() < 1e-9 * r.max(1.0),
                        "balanced"
                    );
                }
            }
        }
        // A block that is only a bias: a = δ₀, b = 0.
        let mut block = vec![0.0; d];
        block.push(2.0);
        let nr = decode_block(&dft, &block, false).expect("bias-only block");
        assert!((norm(&nr.inner) - 1.0).abs() < 1e-15 && norm(&nr.filter) == 0.0);
        assert!((nr.weight * nr.bias.unwrap_or(0.0) + 2.0).abs() < 1e-12);
        assert!(decode_block(&dft, &vec![0.0; d], true).is_none());
    }
}

#[test]
fn spectral_l1_bounds_every_circular_convolution() {
    // {a ⊛ b : ‖a‖ ≤ 1, ‖b‖ ≤ ρ} ⊆ {g : ‖ĝ‖₁ ≤ dρ} (the decode test gives ⊇), and the DFT turns the
    // directly summed convolution into a product.
    for d in [1, 2, 3, 6, 9, 16] {
        let dft = Dft::new(d);
        for seed in 0..20 {
            let a = gaussians(d, 500 + seed);
            let b = gaussians(d, 900 + seed);
            let g = circular_conv(&a, &b);
            let (ah, bh, gh) = (dft.forward(&a), dft.forward(&b), dft.forward(&g));
            for k in 0..d {
                let (re, im) = (
                    ah[k].0 * bh[k].0 - ah[k].1 * bh[k].1,
                    ah[k].0 * bh[k].1 + ah[k].1 * bh[k].0,
                );
                assert!(
                    (gh[k].0 - re).abs() < 1e-9 * (1.0 + re.abs())
                        && (gh[k].1 - im).abs() < 1e-9 * (1.0 + im.abs())
                );
            }
            let l1 = dft.l1(&g);
            let bound = d as f64 * norm(&a) * norm(&b);
            assert!(
                l1 <= bound * (1.0 + 1e-12),
                "d = {d}: ‖ĝ‖₁ = {l1} > d‖a‖‖b‖ = {bound}"
            );
        }
    }
}

#[test]
fn decoded_objective_equals_convex_objective() {
    for bias in [false, true] {
        let p = problem(
            24,
            8,
            bias,
            0.2,
            ArrangementSpec::Sample { count: 40, seed: 3 },
            5,
        );
        let r = solve(&p);
        let rel = (r.network_objective - r.objective).abs() / r.objective.abs().max(1.0);
        assert!(
            rel < 1e-6,
            "bias {bias}: network {} vs convex {}",
            r.network_objective,
            r.objective
        );
        let net = network_of(&r);
        assert!(net.width() > 0, "a nonzero network");
        assert!((net.max_inner_norm() - 1.0).abs() < 1e-9, "‖a_j‖ = 1");
        assert_eq!(r.biases.is_some(), bias);
        assert!(
            r.max_constraint_violation < 1e-6,
            "full-set violation {}",
            r.max_constraint_violation
        );
        // The report's objective is the independent forward pass's.
        let own = net.objective(x2(&p).view(), p.y.view(), p.beta);
        assert!((own.total - r.network_objective).abs() < 1e-12);
        assert!(
            r.certificate.certified,
            "certificate over the sampled patterns: {:?}",
            r.certificate
        );
        assert_eq!(r.certificate.scope, Scope::SampledPatterns);
    }
}

#[test]
fn reduced_and_full_programs_agree() {
    let p = problem(
        20,
        6,
        false,
        0.1,
        ArrangementSpec::Sample { count: 30, seed: 1 },
        8,
    );
    let red = solve(&p);
    let full = pipeline::solve(
        &p,
        &SolveOptions {
            reduce: false,
            ..SolveOptions::default()
        },
        &quiet,
    )
    .expect("solve");
    assert!(red.program.cone_rows_written < full.program.cone_rows_written);
    let rel = (red.objective - full.objective).abs() / full.objective.abs().max(1.0);
    assert!(
        rel < 1e-7,
        "reduced {} vs full {}",
        red.objective,
        full.objective
    );
}

/// The exact-mode optimum is below every circular network of any width: random ones and ones
/// trained by projected gradient descent; the certificate is global.
fn exact_optimum_is_below_networks(n: usize, d: usize, bias: bool, seed: u64) {
    let p = problem(
        n,
        d,
        bias,
        0.1,
        ArrangementSpec::Exact {
            max_patterns: 20_000,
        },
        seed,
    );
    let r = solve(&p);
    assert!(r.certificate.certified, "certificate: {:?}", r.certificate);
    assert_eq!(r.certificate.scope, Scope::Global);
    let rel = (r.network_objective - r.objective).abs() / r.objective.abs().max(1.0);
    assert!(
        rel < 1e-6,
        "network {} vs convex {}",
        r.network_objective,
        r.objective
    );
    let x = x2(&p);
    let opt = r.objective;
    let mut best_trained = f64::INFINITY;
    for width in [1, 2, 4, 8] {
        for s in 0..3 {
            for scale in [0.1, 0.5, 1.0] {
                let net = CircularCnn::random(d, width, bias, scale, 100 * width as u64 + s);
                let o = net.objective(x.view(), p.y.view(), p.beta).total;
                assert!(opt <= o + 1e-7, "random width {width}: {o} < optimum {opt}");
            }
            let mut net = CircularCnn::random(d, width, bias, 0.5, 7 + 100 * width as u64 + s);
            let o = net.train_gd(x.view(), p.y.view(), p.beta, 400).total;
            assert!(
                net.max_inner_norm() <= 1.0 + 1e-12,
                "projection keeps ‖a‖ ≤ 1"
            );
            assert!(
                opt <= o + 1e-7,
                "trained width {width}: {o} < optimum {opt}"
            );
            best_trained = best_trained.min(o);
        }
    }
    // The comparison has teeth: trained networks get within 10 % of the optimum (measured: 2.8 %
    // with a bias, 5.2 % without).
    assert!(
        best_trained < 1.1 * opt,
        "best trained {best_trained} vs optimum {opt}"
    );
}

#[test]
fn exact_optimum_is_below_random_and_trained_networks() {
    exact_optimum_is_below_networks(7, 3, false, 21);
}

#[test]
fn exact_optimum_is_below_random_and_trained_networks_with_bias() {
    exact_optimum_is_below_networks(6, 2, true, 31);
}

#[test]
fn beta_max_gives_the_zero_network() {
    let p = problem(
        10,
        4,
        false,
        0.1,
        ArrangementSpec::Exact {
            max_patterns: 20_000,
        },
        41,
    );
    let bm = solve(&p)
        .certificate
        .beta_max
        .expect("two-layer certificates have beta_max");
    let mut at = p.clone();
    at.beta = bm * 1.001;
    let r = solve(&at);
    let half_y2 = 0.5 * p.y.dot(&p.y);
    assert_eq!(r.neurons, 0, "β ≥ β_max: zero network");
    assert!(
        (r.objective - half_y2).abs() < 1e-6 * half_y2,
        "{} vs ½‖y‖² = {half_y2}",
        r.objective
    );
    let mut below = p.clone();
    below.beta = bm * 0.95;
    let r = solve(&below);
    assert!(
        r.neurons > 0 && r.objective < half_y2 - 1e-6,
        "0.95 β_max: a nonzero network"
    );
}

#[test]
fn dual_value_is_the_dual_norm_over_the_cone() {
    use cvxcnn::arch::circular::dual_value;
    for (d, bias) in [(5, false), (6, false), (4, true)] {
        let dft = Dft::new(d);
        let h = d + usize::from(bias);
        let g = Array1::from(gaussians(h, 3 + d as u64));
        // No cone rows: the dual norm itself, ‖ĝ‖_∞ (and ‖(‖ĝ‖_∞, g_e)‖ with a bias).
        let free = dual_value(&dft, Array2::zeros((0, h)).view(), g.view());
        let linf = dft.linf(&g.to_vec()[..d]);
        let expect = if bias { linf.hypot(g[d]) } else { linf };
        assert!((free - expect).abs() < 1e-12, "{free} vs {expect}");
        // With rows: an upper bound on |gᵀu| over sampled feasible u with R(u) = 1, and no more
        // than the unconstrained value.
        let b = Array2::from_shape_vec((3, h), gaussians(3 * h, 9 + d as u64)).unwrap();
        let val = dual_value(&dft, b.view(), g.view());
        assert!(val <= free + 1e-9, "{val} > {free}");
        let mut hits = 0;
        for seed in 0..4000 {
            let u = gaussians(h, 20_000 + seed);
            if b.dot(&Array1::from(u.clone())).iter().any(|&v| v < 0.0) {
                continue;
            }
            hits += 1;
            let r = block_regularizer(&dft, &u);
            let gu: f64 = g.iter().zip(&u).map(|(a, b)| a * b).sum::<f64>() / r;
            assert!(
                gu.abs() <= val * (1.0 + 1e-9),
                "feasible u gives {gu} > bound {val}"
            );
        }
        assert!(hits > 100, "enough feasible samples ({hits})");
    }
}

/// Real digits as signals (d = 64, the shipped `digits_circular.json` cut to 40 samples and 20
/// gates): with the spectral cones written on dense DFT rows Clarabel ended `almost_solved` here for
/// every d ≳ 60; in Fourier coordinates it must reach `optimal`, the decoded network must reproduce
/// the convex objective, and the certificate must close the gap.
#[test]
fn digit_signals_solve_to_optimal() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut p = Problem::load(&root.join("problems/digits_circular.json")).expect("load");
    assert_eq!(p.x.dim().3, 64, "digit signals have d = 64");
    p.x = p.x.slice(s![..40, .., .., ..]).to_owned();
    p.y = p.y.slice(s![..40]).to_owned();
    p.arrangements = ArrangementSpec::Sample { count: 20, seed: 0 };
    let r = solve(&p);
    let net = network_of(&r);
    let direct = net.objective(x2(&p).view(), p.y.view(), p.beta).total;
    assert!(
        (direct - r.objective).abs() <= 1e-6 * r.objective.abs(),
        "decoded {direct} vs convex {}",
        r.objective
    );
    let cert = &r.certificate;
    assert!(cert.certified, "certificate: {cert:?}");
    assert!(cert.lower_bound <= r.objective + 1e-9 * r.objective.abs());
}

/// The fact behind the multi-layer circular CNN (docs/math.md §8): further circulant filters of
/// operator norm ≤ 1 only shrink each frequency, so `‖(a₁ ⊛ a₂ ⊛ ⋯ ⊛ b)^‖₁ ≤ d‖b‖` for `‖a₁‖ ≤ 1` —
/// the three-layer bound — and identity filters attain it.
#[test]
fn further_circulant_filters_never_exceed_the_three_layer_bound() {
    for d in [2, 3, 5, 8] {
        let dft = Dft::new(d);
        for seed in 0..20 {
            let net = CircularCnn::random_deep(d, 1, 3 + (seed % 4) as usize, false, 1.0, seed);
            assert!(net.max_circulant_gain() <= 1.0 + 1e-12);
            let g = &net.effective_filters()[0];
            let bound = d as f64 * norm(&net.filters[0]);
            assert!(
                dft.l1(g) <= bound * (1.0 + 1e-12),
                "d = {d}: {} > {bound}",
                dft.l1(g)
            );
        }
    }
}

/// An `L`-layer circular problem has the three-layer program, so the same optimum; its decoded
/// network, with identity filters in the further layers, attains it exactly and meets every
/// constraint.
#[test]
fn deeper_circular_networks_decode_to_the_same_optimum() {
    let arr = || ArrangementSpec::Sample { count: 40, seed: 3 };
    for bias in [false, true] {
        let three = solve(&problem(24, 8, bias, 0.2, arr(), 5));
        for layers in [4, 6] {
            let p = deep_problem(24, 8, bias, layers, 0.2, arr(), 5);
            let r = solve(&p);
            assert_eq!(
                r.objective, three.objective,
                "the program does not depend on L"
            );
            let rel = (r.network_objective - r.objective).abs() / r.objective.abs().max(1.0);
            assert!(
                rel < 1e-6,
                "L = {layers}: network {} vs convex {}",
                r.network_objective,
                r.objective
            );
            let net = network_of(&r);
            assert_eq!(net.layers(), layers);
            assert_eq!(
                r.circulant_filters.as_ref().map(Vec::len),
                Some(layers - 3),
                "one list of filters per further layer"
            );
            assert!(
                (net.max_circulant_gain() - 1.0).abs() < 1e-12,
                "identity filters, gain 1"
            );
            assert!(r.max_constraint_violation < 1e-6);
            let own = net.objective(x2(&p).view(), p.y.view(), p.beta);
            assert!((own.total - r.network_objective).abs() < 1e-12);
            assert!(r.certificate.certified, "{:?}", r.certificate);
            // Non-identity feasible filters change the network but never beat the optimum:
            // a random deep network through the same data is above it.
            let other = CircularCnn::random_deep(8, net.width().max(1), layers, bias, 0.5, 11);
            let o = other.objective(x2(&p).view(), p.y.view(), p.beta).total;
            assert!(o >= r.objective - 1e-7);
        }
    }
}

/// In exact mode the optimum bounds every `L`-layer circular network of any width: random ones and
/// ones trained by projected gradient descent on every filter (unit ball for `a₁`, operator norm
/// ≤ 1 for the further circulants).
#[test]
fn exact_optimum_is_below_random_and_trained_deep_networks() {
    let (n, d) = (7, 3);
    for layers in [4, 5] {
        let p = deep_problem(
            n,
            d,
            false,
            layers,
            0.1,
            ArrangementSpec::Exact {
                max_patterns: 20_000,
            },
            21,
        );
        let r = solve(&p);
        assert_eq!(r.certificate.scope, Scope::Global);
        assert!(r.certificate.certified, "{:?}", r.certificate);
        let (x, opt) = (x2(&p), r.objective);
        let mut best = f64::INFINITY;
        for width in [1, 2, 4, 8] {
            for s in 0..3 {
                let net =
                    CircularCnn::random_deep(d, width, layers, false, 0.5, 100 * width as u64 + s);
                let o = net.objective(x.view(), p.y.view(), p.beta).total;
                assert!(
                    opt <= o + 1e-7,
                    "random L = {layers} width {width}: {o} < {opt}"
                );
                let mut net = CircularCnn::random_deep(
                    d,
                    width,
                    layers,
                    false,
                    0.5,
                    7 + 100 * width as u64 + s,
                );
                let o = net.train_gd(x.view(), p.y.view(), p.beta, 400).total;
                assert!(net.max_inner_norm() <= 1.0 + 1e-12);
                assert!(
                    net.max_circulant_gain() <= 1.0 + 1e-9,
                    "projection keeps gains ≤ 1"
                );
                assert!(
                    opt <= o + 1e-7,
                    "trained L = {layers} width {width}: {o} < {opt}"
                );
                best = best.min(o);
            }
        }
        // The comparison has teeth: trained deep networks come close to the optimum.
        assert!(
            best < 1.1 * opt,
            "L = {layers}: best trained {best} vs optimum {opt}"
        );
    }
}
