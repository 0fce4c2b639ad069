//! The `evidence` of every certificate proves its `lower_bound` (src/evidence.rs): recomputed here
//! from the certificate's JSON alone — patterns from the gates, `A_i` and `B_i` from the patches,
//! the dual norms written out — every inequality `‖σA_iᵀu + B_iᵀα‖_* ≤ β` holds (three-layer:
//! with `λ_G` in place of `u`), the largest of them is `|θ|·max_dual_value`, and
//! `uᵀy − ½‖u‖²` is `lower_bound`. Nothing here calls the certificate code: a wrong multiplier, sign
//! convention, row index or scaling fails these tests. A tampered certificate must fail them too.

mod support;

use cvxcnn::geometry::{Activation, ConvGeometry, FilterNorm, Pooling};
use cvxcnn::patches::Patches;
use cvxcnn::pipeline::{self, SolveOptions, Weights};
use cvxcnn::problem::{Architecture, Problem, Task};
use ndarray::{Array1, Array2, Array3, ArrayView1, Axis, s};
use serde_json::Value;
use std::path::Path;
use support::*;

/// The data a checker rebuilds from the problem: the patches `[K, n, h]` (with the constant-1
/// column of a bias), the pooling weights `α_k`, and which norm, pattern rule and architecture.
struct Setup {
    patches: Array3<f64>,
    weights: Vec<f64>,
    /// `l2`, `l1` or `spectral_l1`.
    norm: &'static str,
    /// Signal length of a circular problem (spectral norm over the first `d` entries).
    d: usize,
    max_pool: bool,
    linear: bool,
    three_layer: bool,
}

impl Setup {
    fn of(p: &Problem) -> Setup {
        let (_, _, hh, ww) = p.x.dim();
        let norm = match p.filter_norm {
            FilterNorm::L2 => "l2",
            FilterNorm::L1 => "l1",
        };
        match p.architecture {
            Architecture::TwoLayer {
                geometry,
                pooling,
                activation,
                bias,
            } => {
                let patches = with_bias(Patches::extract(p.x.view(), &geometry).unwrap(), bias);
                let (rows, cols) = geometry.grid(hh, ww).unwrap();
                Setup {
                    patches,
                    weights: pooling.patch_weights(rows, cols),
                    norm,
                    d: 0,
                    max_pool: pooling == Pooling::Max,
                    linear: activation == Activation::Linear,
                    three_layer: false,
                }
            }
            Architecture::ThreeLayer { geometry, bias, .. } => {
                let patches = with_bias(Patches::extract(p.x.view(), &geometry).unwrap(), bias);
                Setup {
                    weights: vec![1.0; patches.dim().0],
                    patches,
                    norm: "l2",
                    d: 0,
                    max_pool: false,
                    linear: false,
                    three_layer: true,
                }
            }
            Architecture::Circular { bias, .. } => {
                let x = p.x.slice(s![.., 0, 0, ..]);
                let (n, d) = x.dim();
                let mut patches = Array3::<f64>::ones((1, n, d + usize::from(bias)));
                patches.slice_mut(s![0, .., ..d]).assign(&x);
                Setup {
                    patches,
                    weights: vec![1.0],
                    norm: "spectral_l1",
                    d,
                    max_pool: false,
                    linear: false,
                    three_layer: false,
                }
            }
        }
    }

    fn dims(&self) -> (usize, usize, usize) {
        self.patches.dim()
    }

    /// Row `r = k·n + t` of the stacked patches.
    fn row(&self, r: usize) -> ArrayView1<'_, f64> {
        let n = self.dims().1;
        self.patches.slice(s![r / n, r % n, ..])
    }

    /// The dual norm of `w`.
    fn dual_norm(&self, w: &[f64]) -> f64 {
        match self.norm {
            "l2" => w.iter().map(|v| v * v).sum::<f64>().sqrt(),
            "l1" => w.iter().fold(0.0, |m: f64, v| m.max(v.abs())),
            _ => {
                // max_k |Σ_j w_j e^{−2πijk/d}|, then with the bias entry as a second coordinate.
                let d = self.d;
                let mut top = 0.0_f64;
                for k in 0..d {
                    let (mut re, mut im) = (0.0, 0.0);
                    for (j, &v) in w[..d].iter().enumerate() {
                        let ang = 2.0 * std::f64::consts::PI * ((j * k) % d) as f64 / d as f64;
                        re += v * ang.cos();
                        im -= v * ang.sin();
                    }
                    top = top.max(re.hypot(im));
                }
                if w.len() == d + 1 {
                    top.hypot(w[d])
                } else {
                    top
                }
            }
        }
    }

    /// `A_i` and the cone row of every `r` for the pattern of `gate`.
    fn pattern(&self, gate: &[f64]) -> (Array2<f64>, Vec<Array1<f64>>) {
        let (k, n, h) = self.dims();
        let g = ArrayView1::from(gate);
        let mut a = Array2::<f64>::zeros((n, h));
        let mut b = Vec::with_capacity(k * n);
        if self.max_pool {
            // κ_t: the first nonzero patch attaining the maximum, "off" when it is negative.
            let kappa: Vec<Option<usize>> = (0..n)
                .map(|t| {
                    let mut best: Option<(usize, f64)> = None;
                    for kk in 0..k {
                        let x = self.row(kk * n + t);
                        if x.iter().all(|&v| v == 0.0) {
                            continue;
                        }
                        let v = x.dot(&g);
                        if best.is_none_or(|(_, bv)| v > bv) {
                            best = Some((kk, v));
                        }
                    }
                    best.filter(|&(_, v)| v >= 0.0).map(|(kk, _)| kk)
                })
                .collect();
            for (t, kap) in kappa.iter().enumerate() {
                if let Some(kk) = kap {
                    a.row_mut(t)
                        .scaled_add(self.weights[*kk], &self.row(kk * n + t));
                }
            }
            for r in 0..k * n {
                let (kk, t) = (r / n, r % n);
                b.push(match kappa[t] {
                    Some(c) if c == kk => self.row(r).to_owned(),
                    Some(c) => &self.row(c * n + t) - &self.row(r),
                    None => -&self.row(r),
                });
            }
        } else {
            for r in 0..k * n {
                let x = self.row(r);
                let on = x.iter().any(|&v| v != 0.0) && x.dot(&g) >= 0.0;
                if on {
                    a.row_mut(r % n).scaled_add(self.weights[r / n], &x);
                }
                b.push(if on { x.to_owned() } else { -&x });
            }
        }
        (a, b)
    }
}

fn with_bias(p: Patches, bias: bool) -> Array3<f64> {
    if bias { p.with_bias().data } else { p.data }
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .expect("an array")
        .iter()
        .map(|x| x.as_f64().expect("a number"))
        .collect()
}

/// Re-checks one serialized certificate against targets `y` and weight decay `beta`: returns the
/// recomputed bound and the largest inequality value, or what is wrong.
fn recheck(
    setup: &Setup,
    y: ArrayView1<f64>,
    beta: f64,
    cert: &Value,
) -> Result<(f64, f64), String> {
    let ev = &cert["evidence"];
    let (k, n, h) = setup.dims();
    let u = Array1::from(floats(&ev["dual_point"]));
    if u.len() != n {
        return Err(format!("dual point of length {} for n = {n}", u.len()));
    }
    if ev["filter_norm"] != setup.norm {
        return Err(format!(
            "filter_norm {} for {}",
            ev["filter_norm"], setup.norm
        ));
    }
    let rule = if setup.linear {
        "none"
    } else if setup.max_pool {
        "max_pool_argmax"
    } else {
        "relu_sign"
    };
    if ev["pattern_rule"] != rule {
        return Err(format!("pattern_rule {} for {rule}", ev["pattern_rule"]));
    }
    if cert["beta"].as_f64() != Some(beta) {
        return Err(format!("beta {} for {beta}", cert["beta"]));
    }
    let mut values = Vec::new();
    if setup.linear {
        let mut a = Array2::<f64>::zeros((n, h));
        for (kk, &w) in setup.weights.iter().enumerate() {
            a.scaled_add(w, &setup.patches.index_axis(Axis(0), kk));
        }
        values.push(setup.dual_norm(a.t().dot(&u).as_slice().unwrap()));
    } else {
        let patterns: Vec<_> = ev["gates"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| setup.pattern(&floats(g)))
            .collect();
        if cert["patterns"].as_u64() != Some(patterns.len() as u64) {
            return Err(format!(
                "{} patterns, {} gates",
                cert["patterns"],
                patterns.len()
            ));
        }
        // λ_G of every group (three-layer), or u itself once.
        let lambdas: Vec<Array1<f64>> = if setup.three_layer {
            let outer = ev["outer_patterns"].as_array().unwrap();
            let mu = ev["outer_multipliers"].as_array().unwrap();
            if mu.len() != 2 * outer.len() {
                return Err(format!(
                    "{} outer multipliers for {} groups",
                    mu.len(),
                    2 * outer.len()
                ));
            }
            (0..mu.len())
                .map(|g| {
                    let on = floats(&outer[g / 2]);
                    let mu_g = floats(&mu[g]);
                    let sigma = if g % 2 == 0 { 1.0 } else { -1.0 };
                    Array1::from_shape_fn(n, |t| {
                        assert!(mu_g[t] >= 0.0, "μ ≥ 0");
                        if on[t] == 1.0 {
                            sigma * u[t] + mu_g[t]
                        } else {
                            -mu_g[t]
                        }
                    })
                })
                .collect()
        } else {
            vec![u.clone()]
        };
        let mut alphas = std::collections::HashMap::new();
        for m in ev["multipliers"].as_array().unwrap() {
            let g = m.get("group").map_or(0, |g| g.as_u64().unwrap() as usize);
            let key = (
                g,
                m["pattern"].as_u64().unwrap() as usize,
                m["sign"].as_i64().unwrap(),
            );
            let rows: Vec<usize> = m["rows"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r.as_u64().unwrap() as usize)
                .collect();
            let alpha = floats(&m["alpha"]);
            if alpha
                .iter()
                .any(|&a| a.is_sign_negative() || !a.is_finite())
            {
                return Err(format!("multiplier {key:?} has α < 0"));
            }
            if rows.iter().any(|&r| r >= k * n) || rows.len() != alpha.len() {
                return Err(format!("multiplier {key:?}: rows out of range"));
            }
            if alphas.insert(key, (rows, alpha)).is_some() {
                return Err(format!("multiplier {key:?} listed twice"));
            }
        }
        for (g, lambda) in lambdas.iter().enumerate() {
            for (i, (a, b)) in patterns.iter().enumerate() {
                let base = a.t().dot(lambda);
                for sign in [1i64, -1] {
                    let mut w = &base * sign as f64;
                    if let Some((rows, alpha)) = alphas.get(&(g, i, sign)) {
                        for (&r, &al) in rows.iter().zip(alpha) {
                            w.scaled_add(al, &b[r]);
                        }
                    }
                    values.push(setup.dual_norm(w.as_slice().unwrap()));
                }
            }
        }
    }
    let worst = values.iter().fold(0.0_f64, |m, &v| m.max(v));
    if worst > beta * (1.0 + 1e-12) {
        return Err(format!("an inequality is {worst} > β = {beta}"));
    }
    let bound = u.dot(&y) - 0.5 * u.dot(&u);
    let lb = cert["lower_bound"].as_f64().unwrap();
    if (bound - lb).abs() > 1e-12 * lb.abs().max(1.0) {
        return Err(format!("uᵀy − ½‖u‖² = {bound} but lower_bound = {lb}"));
    }
    Ok((bound, worst))
}

/// `recheck` must pass, and the largest inequality must be `|θ|·max_dual_value`: the evidence is
/// the winning candidate's, scaled as the certificate says. (With ℓ1 and circular the LP/SOCP
/// multipliers are pruned of noise, which may only lower an inequality: there it is at most that.)
fn assert_proves(setup: &Setup, y: ArrayView1<f64>, beta: f64, cert: &Value, what: &str) {
    let (bound, worst) = recheck(setup, y, beta, cert).unwrap_or_else(|e| panic!("{what}: {e}"));
    let scaled =
        cert["dual_scaling"].as_f64().unwrap().abs() * cert["max_dual_value"].as_f64().unwrap();
    let pruned = setup.norm != "l2";
    assert!(
        worst <= scaled + 1e-10 * beta && (pruned || worst >= scaled - 1e-10 * beta),
        "{what}: largest inequality {worst} but |θ|·max_dual_value = {scaled}"
    );
    eprintln!(
        "{what}: bound {bound:.12} = lower_bound, {} multipliers, largest inequality {worst:.15} \
         (|θ|·max_dual_value {scaled:.15}, β = {beta})",
        cert["evidence"]["multipliers"]
            .as_array()
            .map_or(0, Vec::len)
    );
}

fn json<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).expect("serializes")
}

fn load(path: &str) -> Problem {
    Problem::load(Path::new(env!("CARGO_MANIFEST_DIR")).join(path).as_ref()).expect("problem")
}

fn geometry(kernel: [usize; 2], stride: [usize; 2], padding: [usize; 2]) -> ConvGeometry {
    ConvGeometry {
        kernel,
        stride,
        padding,
    }
}

fn two_layer(p: &Problem) -> Value {
    let r = solve(p);
    json(&r.certificate)
}

#[test]
fn sum_pooling_evidence_proves_the_lower_bound() {
    let (x, y) = digits(30);
    let p = problem(
        x,
        y,
        geometry([3, 3], [1, 1], [0, 0]),
        Pooling::Sum,
        0.1,
        sample(30, 1),
    );
    assert_proves(&Setup::of(&p), p.y.view(), p.beta, &two_layer(&p), "sum");
}

#[test]
fn average_pooling_with_stride_padding_and_bias_evidence_proves_the_lower_bound() {
    let (x, y) = digits(24);
    let mut p = problem(
        x,
        y,
        geometry([4, 4], [2, 2], [1, 1]),
        Pooling::Average,
        0.02,
        sample(20, 2),
    );
    if let Architecture::TwoLayer { bias, .. } = &mut p.architecture {
        *bias = true;
    }
    assert_proves(
        &Setup::of(&p),
        p.y.view(),
        p.beta,
        &two_layer(&p),
        "average + bias",
    );
}

#[test]
fn local_average_pooling_evidence_proves_the_lower_bound() {
    let (x, y) = digits(24);
    let pooling = Pooling::LocalAverage { size: [3, 3] };
    let p = problem(
        x,
        y,
        geometry([3, 3], [1, 1], [0, 0]),
        pooling,
        0.1,
        sample(20, 3),
    );
    assert_proves(
        &Setup::of(&p),
        p.y.view(),
        p.beta,
        &two_layer(&p),
        "local average",
    );
}

#[test]
fn max_pooling_evidence_proves_the_lower_bound() {
    let (x, y) = digits(20);
    let p = problem(
        x,
        y,
        geometry([3, 3], [1, 1], [0, 0]),
        Pooling::Max,
        0.3,
        sample(20, 2),
    );
    assert_proves(&Setup::of(&p), p.y.view(), p.beta, &two_layer(&p), "max");
}

#[test]
fn l1_filter_norm_evidence_proves_the_lower_bound() {
    let (x, y) = digits(20);
    let mut p = problem(
        x,
        y,
        geometry([3, 3], [2, 2], [0, 0]),
        Pooling::Sum,
        0.1,
        sample(15, 4),
    );
    p.filter_norm = FilterNorm::L1;
    assert_proves(&Setup::of(&p), p.y.view(), p.beta, &two_layer(&p), "l1");
}

#[test]
fn linear_activation_evidence_proves_the_lower_bound() {
    let (x, y) = digits(30);
    let mut p = problem(
        x,
        y,
        geometry([3, 3], [1, 1], [0, 0]),
        Pooling::Sum,
        0.1,
        sample(5, 0),
    );
    if let Architecture::TwoLayer { activation, .. } = &mut p.architecture {
        *activation = Activation::Linear;
    }
    let cert = two_layer(&p);
    assert_eq!(cert["evidence"]["gates"].as_array().map(Vec::len), Some(0));
    assert_proves(&Setup::of(&p), p.y.view(), p.beta, &cert, "linear");
}

#[test]
fn exact_arrangement_evidence_proves_the_global_lower_bound() {
    let p = load("problems/signal_exact.json");
    let cert = two_layer(&p);
    assert_eq!(cert["scope"], "global");
    assert_proves(&Setup::of(&p), p.y.view(), p.beta, &cert, "signal_exact");
}

#[test]
fn circular_evidence_proves_the_lower_bound_with_and_without_bias() {
    let p = load("problems/circular_exact.json");
    assert_proves(
        &Setup::of(&p),
        p.y.view(),
        p.beta,
        &two_layer(&p),
        "circular bias exact",
    );
    let (x, y) = gaussian_data(14, 1, 1, 8, 5);
    let p = with_architecture(
        x,
        y,
        Architecture::Circular {
            bias: false,
            layers: 3,
        },
        0.1,
        sample(30, 6),
    );
    assert_proves(
        &Setup::of(&p),
        p.y.view(),
        p.beta,
        &two_layer(&p),
        "circular",
    );
}

#[test]
fn three_layer_evidence_proves_the_lower_bound() {
    let p = load("problems/three_layer.json");
    let r = cvxcnn::arch::three_layer::solve(&p, &SolveOptions::default(), &quiet).expect("solve");
    let cert = json(&r.certificate);
    assert_eq!(
        cert["evidence"]["outer_patterns"].as_array().map(Vec::len),
        Some(r.outer_patterns)
    );
    assert_proves(&Setup::of(&p), p.y.view(), p.beta, &cert, "three_layer");
}

#[test]
fn three_layer_evidence_with_bias_proves_the_lower_bound() {
    let mut p = load("problems/three_layer.json");
    if let Architecture::ThreeLayer { bias, .. } = &mut p.architecture {
        *bias = true;
    }
    p.arrangements = sample(12, 1);
    let r = cvxcnn::arch::three_layer::solve(&p, &SolveOptions::default(), &quiet).expect("solve");
    assert_proves(
        &Setup::of(&p),
        p.y.view(),
        p.beta,
        &json(&r.certificate),
        "three_layer bias",
    );
}

#[test]
fn every_one_vs_rest_class_and_a_given_network_have_evidence_that_proves_their_bound() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("problems/data");
    let labels = match cvxcnn::data::load_targets(&root.join("labels.npy")).expect("labels") {
        cvxcnn::data::Targets::Labels(l) => l,
        cvxcnn::data::Targets::Real(_) => unreachable!("labels are integers"),
    };
    let x = cvxcnn::data::load_inputs(&root.join("images.npy"))
        .expect("images")
        .x;
    let keep: Vec<usize> = (0..labels.len())
        .filter(|&t| labels[t] < 3)
        .take(36)
        .collect();
    let mut p = problem(
        x.select(Axis(0), &keep),
        keep.iter().map(|&t| labels[t] as f64).collect(),
        geometry([3, 3], [2, 2], [0, 0]),
        Pooling::Sum,
        0.2,
        sample(12, 3),
    );
    p.task = Task::OneVsRest {
        classes: vec![0, 1, 2],
        labels: keep.iter().map(|&t| labels[t]).collect(),
    };
    let setup = Setup::of(&p);
    let cvxcnn::task::Outcome::OneVsRest(r) =
        cvxcnn::task::solve(&p, &SolveOptions::default(), &quiet).expect("solve")
    else {
        panic!("one-vs-rest outcome");
    };
    for m in &r.models {
        let y = p.for_class(m.class).y;
        let cert = json(&m.outcome.report.certificate());
        assert_proves(
            &setup,
            y.view(),
            p.beta,
            &cert,
            &format!("class {}", m.class),
        );
    }
    // certify --network: the given network's certificate carries its own evidence.
    let mut p = p.for_class(1);
    p.task = Task::Scalar;
    let options = SolveOptions {
        network: Some(Weights {
            filters: vec![vec![0.2; 9], vec![-0.1; 9]],
            output_weights: vec![0.5, -0.3],
            biases: None,
        }),
        ..SolveOptions::default()
    };
    let r = pipeline::solve(&p, &options, &quiet).expect("solve");
    let given = json(r.network_certificate.as_ref().expect("network certificate"));
    assert_proves(&setup, p.y.view(), p.beta, &given, "given network");
    assert_proves(&setup, p.y.view(), p.beta, &json(&r.certificate), "optimum");
}

/// The checks above can fail: each tampering of a valid certificate is caught.
#[test]
fn tampered_evidence_fails_the_recheck() {
    let p = load("problems/signal_exact.json");
    let setup = Setup::of(&p);
    let cert = two_layer(&p);
    assert!(recheck(&setup, p.y.view(), p.beta, &cert).is_ok());
    let tampered = |edit: &dyn Fn(&mut Value)| {
        let mut c = cert.clone();
        edit(&mut c);
        recheck(&setup, p.y.view(), p.beta, &c)
    };
    // A perturbed dual point: the bound no longer matches (or an inequality breaks).
    let e = tampered(&|c| {
        let u = c["evidence"]["dual_point"][0].as_f64().unwrap();
        c["evidence"]["dual_point"][0] = (u + 1e-3).into();
    })
    .expect_err("perturbed dual point");
    eprintln!("perturbed dual point: {e}");
    // The whole dual point scaled up by 1 %: both the bound and the inequalities move.
    let e = tampered(&|c| {
        let u: Vec<f64> = floats(&c["evidence"]["dual_point"])
            .iter()
            .map(|v| v * 1.01)
            .collect();
        c["evidence"]["dual_point"] = u.into();
    })
    .expect_err("scaled dual point");
    eprintln!("scaled dual point: {e}");
    // Every multiplier dropped: some cone's inequality exceeds β.
    let e = tampered(&|c| c["evidence"]["multipliers"] = Value::Array(Vec::new()))
        .expect_err("dropped multipliers");
    eprintln!("dropped multipliers: {e}");
    assert!(e.contains("> β"), "{e}");
    // Signs swapped on every multiplier.
    let e = tampered(&|c| {
        for m in c["evidence"]["multipliers"].as_array_mut().unwrap() {
            let s = m["sign"].as_i64().unwrap();
            m["sign"] = (-s).into();
        }
    })
    .expect_err("swapped signs");
    eprintln!("swapped signs: {e}");
    // A certificate claimed for a smaller β: its inequalities exceed it.
    let smaller = 0.9 * p.beta;
    let mut c = cert.clone();
    c["beta"] = smaller.into();
    let e = recheck(&setup, p.y.view(), smaller, &c).expect_err("smaller β");
    eprintln!("smaller β: {e}");
    assert!(e.contains("> β"), "{e}");
    // A negative multiplier.
    let e = tampered(&|c| {
        let a = c["evidence"]["multipliers"][0]["alpha"][0]
            .as_f64()
            .unwrap();
        c["evidence"]["multipliers"][0]["alpha"][0] = (-a).into();
    })
    .expect_err("negative α");
    assert!(e.contains("α < 0"), "{e}");
}

/// Result files write every array of numbers inside `evidence` on one line, and nothing else
/// changes: the JSON value is the same and the text outside `evidence` is serde_json's own.
#[test]
fn compact_evidence_changes_only_whitespace_inside_evidence() {
    let p = load("problems/signal_exact.json");
    let r = solve(&p);
    let pretty = serde_json::to_string_pretty(&r).unwrap();
    let compact = cvxcnn::evidence::compact_evidence(&pretty);
    let a: Value = serde_json::from_str(&pretty).unwrap();
    let b: Value = serde_json::from_str(&compact).unwrap();
    assert_eq!(a, b, "same JSON value");
    let head = pretty.find("\"evidence\": {").expect("evidence key");
    assert_eq!(
        &pretty[..head],
        &compact[..head],
        "text before evidence unchanged"
    );
    assert_eq!(
        &pretty[object_end(&pretty, head)..],
        &compact[object_end(&compact, head)..],
        "text after evidence unchanged"
    );
    // Every line of the evidence object that holds a number holds a whole array of them.
    let ev_start = compact.find("\"evidence\": {").unwrap();
    let ev = &compact[ev_start..];
    let dual = ev.lines().find(|l| l.contains("\"dual_point\"")).unwrap();
    assert!(
        dual.trim_end().ends_with("],"),
        "dual point on one line: {dual}"
    );
    assert!(
        compact.len() < pretty.len() / 2,
        "{} vs {} bytes",
        compact.len(),
        pretty.len()
    );
    // Idempotent, and a string value that looks like the key is left alone.
    assert_eq!(cvxcnn::evidence::compact_evidence(&compact), compact);
    let tricky = "{\n  \"name\": \"\\\"evidence\\\": {\",\n  \"x\": [\n    1,\n    2\n  ]\n}";
    assert_eq!(cvxcnn::evidence::compact_evidence(tricky), tricky);
}

/// The index just past the `}` closing the object whose key starts at `key` (no braces in strings).
fn object_end(text: &str, key: usize) -> usize {
    let mut depth = 0;
    for (i, c) in text[key..].char_indices() {
        match c {
            '{' | '[' => depth += 1,
            '}' | ']' => {
                depth -= 1;
                if depth == 0 {
                    return key + i + 1;
                }
            }
            _ => {}
        }
    }
    text.len()
}
