//! The global certificate of a solved two-layer network: the branch and bound's `M̄` turned into a
//! lower bound on the nonconvex training problem.

use super::{MAX_FILTER_LEN, Options, Search, search};
use crate::arch::options::Progress;
use crate::arch::report::{Report, TwoLayerBody};
use crate::arch::two_layer;
use crate::arrangement::gaussian_gates;
use crate::certify::{CERTIFIED_REL_GAP, Certificate, Scope, scaled_bound};
use crate::error::{Error, Result};
use crate::evidence::{DualNorm, Evidence, PatternRule};
use crate::geometry::{Activation, FilterNorm, Pooling};
use crate::problem::{Architecture, Problem, Task};
use ndarray::{Array1, ArrayView1, ArrayView2};
use serde::Serialize;

/// Random starts added to the network's neurons for the ascent that seeds the search.
const RANDOM_STARTS: usize = 16;

/// Seed of those starts.
const START_SEED: u64 = 0x0061_0ba1;

/// A certificate of scope `global` from the branch and bound: the usual keys, then
/// `global_search` (docs/results.md, "Global certificate").
#[derive(Debug, Clone, Serialize)]
pub struct GlobalCertificate {
    /// The certificate: `lower_bound = d(θv)` with `θ` scaled by the search's `M̄`
    /// (`max_dual_value`), scope `global`.
    #[serde(flatten)]
    pub certificate: Certificate,
    /// What the search whose `M̄` gives `lower_bound` did: the final search at the solved
    /// network's dual point, or a generation round's (`bound_round`).
    pub global_search: Search,
    /// The generation round (index into `generation.history`) whose branch and bound, at that
    /// round's residual, gave a better bound than the final search; absent when the bound is the
    /// final search's.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bound_round: Option<usize>,
    /// The final search, when the bound is a generation round's (`global_search` is then that
    /// round's).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub final_search: Option<Search>,
    /// What pattern generation did before the solve (`"mode": "generate"` only; the `generation`
    /// object of `solve`'s result).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub generation: Option<crate::problem::Generation>,
}

/// Refuses what the branch and bound does not cover, naming what is supported.
pub fn check(problem: &Problem) -> Result<()> {
    let refuse = |what: &str| {
        Err(Error::input(
            &problem.source,
            format!(
                "certify --global bounds the two-layer ReLU CNN with sum, average or local \
                 average pooling and the ℓ2 filter norm, not {what}; use certify without --global"
            ),
        ))
    };
    if let Task::OneVsRest { .. } = problem.task {
        return refuse(
            "a one-vs-rest task (certify one class with \"binary\": {\"positive\": [c], \
             \"negative\": \"rest\"})",
        );
    }
    if !problem.loss.is_squared() {
        return refuse(&format!(
            "the {} loss (the search bounds the squared loss's dual)",
            problem.loss.name()
        ));
    }
    match problem.architecture {
        Architecture::TwoLayer {
            activation: Activation::Linear,
            ..
        } => refuse("a linear network (its certificate is global already)"),
        Architecture::TwoLayer {
            pooling: Pooling::Max,
            ..
        } => refuse("max pooling"),
        Architecture::TwoLayer { .. } if problem.filter_norm == FilterNorm::L1 => {
            refuse("the ℓ1 filter norm")
        }
        Architecture::TwoLayer { .. } => {
            if let Some(h) = too_long(problem) {
                return Err(Error::input(
                    &problem.source,
                    format!(
                        "certify --global covers the sphere by 2^h orthant cones, and the filter \
                         length h = {h} (with the bias) is above {MAX_FILTER_LEN}; use a smaller \
                         kernel or certify without --global"
                    ),
                ));
            }
            Ok(())
        }
        Architecture::Circular { .. } => refuse("the circular CNN"),
        Architecture::ThreeLayer { .. } => refuse("the three-layer CNN"),
    }
}

/// The filter length `h` (with the bias) of a two-layer `problem` when it is above
/// [`MAX_FILTER_LEN`], the longest the orthant cover of the search takes.
pub fn too_long(problem: &Problem) -> Option<usize> {
    let (_, channels, _, width) = problem.x.dim();
    let h = problem.architecture.gate_len(channels, width);
    (h > MAX_FILTER_LEN).then_some(h)
}

/// `y − ŷ` for the network of `filters` (each with its bias appended when the architecture has
/// one) and `weights`, from the stacked patches `m` and pooling weights `alpha`.
pub fn residual(
    m: ArrayView2<f64>,
    alpha: &[f64],
    y: ArrayView1<f64>,
    filters: &[Vec<f64>],
    weights: &[f64],
) -> Array1<f64> {
    let n = y.len();
    let mut out = y.to_owned();
    for (f, &w) in filters.iter().zip(weights) {
        let s = m.dot(&ArrayView1::from(&f[..]));
        for (r, &sr) in s.iter().enumerate() {
            if sr > 0.0 {
                out[r % n] -= w * alpha[r / n] * sr;
            }
        }
    }
    out
}

/// The filters of a result in gate space: each filter with its bias appended.
pub fn gate_filters(report: &Report<TwoLayerBody>) -> Vec<Vec<f64>> {
    report
        .filters
        .iter()
        .enumerate()
        .map(|(j, f)| {
            let mut g = f.clone();
            if let Some(b) = &report.biases {
                g.push(b[j]);
            }
            g
        })
        .collect()
}

/// The largest `M̄` at which `d(θv)` with `θ = min(1, β/M̄)` still closes `primal` to a relative gap
/// of `rel_gap` (`None`: no `M̄` does; `∞`: any does). The search may stop there.
pub fn certifying_target(
    y: ArrayView1<f64>,
    v: ArrayView1<f64>,
    beta: f64,
    primal: f64,
    rel_gap: f64,
) -> Option<f64> {
    // d(θ) = θa − ½θ²b over θ ∈ [−θ_max, θ_max]; by symmetry take a ≥ 0.
    let a = v.dot(&y).abs();
    let b = v.dot(&v);
    let need = primal - rel_gap * primal.abs().max(1.0);
    if need <= 0.0 {
        return Some(f64::INFINITY);
    }
    if b == 0.0 || a * a < 2.0 * b * need {
        return None;
    }
    // The smallest θ with d(θ) ≥ need.
    let theta_lo = (a - (a * a - 2.0 * b * need).sqrt()) / b;
    if theta_lo > 1.0 {
        return None;
    }
    // A hair inside, so that rounding in the final bound does not undo the certificate.
    Some(beta / theta_lo * (1.0 - 1e-9))
}

/// Runs the branch and bound on the dual vector of `report`'s certificate (its evidence's dual
/// point, or the network's residual when that is zero) and returns the global certificate of the
/// report's network. `options.starts` gets the network's neurons and seeded random filters; unless
/// `options.target` is set, the search stops as soon as `M̄` certifies the network to 1e-6.
///
/// Every branch and bound of a pattern generation also bounded `M` at its round's residual, so
/// each gave a valid lower bound too: when the best of them is above the final search's (a final
/// search cut by the time limit, say), the certificate is that round's.
pub fn certify_report(
    problem: &Problem,
    report: &Report<TwoLayerBody>,
    options: &Options,
    progress: Progress,
) -> Result<GlobalCertificate> {
    check(problem)?;
    let (patches, alpha) = two_layer::patches_of(problem)?;
    let m = patches.stacked();
    let h = m.ncols();
    let y = problem.y.view();
    let filters = gate_filters(report);
    let resid = residual(m, &alpha, y, &filters, &report.output_weights);
    let point = Array1::from(report.certificate.evidence.dual_point.clone());
    let v = if point.len() == y.len() && point.iter().any(|&x| x != 0.0) {
        point
    } else {
        resid
    };
    let primal = report.network_objective;
    let mut opts = options.clone();
    opts.starts.extend(filters);
    opts.starts
        .extend(gaussian_gates(RANDOM_STARTS, h, START_SEED));
    if opts.target.is_none() {
        // Half the certified gap, so that the final bound has room to spare.
        opts.target = certifying_target(y, v.view(), problem.beta, primal, CERTIFIED_REL_GAP / 2.0);
    }
    let found = search(m, &alpha, v.view(), &opts, progress);
    let patterns = report.certificate.patterns;
    let certificate = global_certificate(
        y,
        v.view(),
        problem.beta,
        primal,
        found.dual_value_upper,
        patterns,
    );
    let from_round = report
        .generation
        .as_ref()
        .and_then(|g| g.best_bound.as_ref())
        .map(|b| {
            let c = global_certificate(
                y,
                ArrayView1::from(&b.dual_point[..]),
                problem.beta,
                primal,
                b.search.dual_value_upper,
                patterns,
            );
            (c, b)
        })
        .filter(|(c, _)| c.lower_bound > certificate.lower_bound);
    Ok(match from_round {
        Some((c, b)) => GlobalCertificate {
            certificate: c,
            global_search: b.search.clone(),
            bound_round: Some(b.round),
            final_search: Some(found),
            generation: report.generation.clone(),
        },
        None => GlobalCertificate {
            certificate,
            global_search: found,
            bound_round: None,
            final_search: None,
            generation: report.generation.clone(),
        },
    })
}

/// The certificate of scope `global` for dual vector `v` with `max_{‖u‖ ≤ 1} |g_v(u)| ≤ upper`.
/// Its evidence holds the dual point `θv` only: the bound `upper` is re-checked by re-running the
/// search (docs/results.md).
pub fn global_certificate(
    y: ArrayView1<f64>,
    v: ArrayView1<f64>,
    beta: f64,
    primal: f64,
    upper: f64,
    patterns: usize,
) -> Certificate {
    let (lower_bound, theta) = scaled_bound(y, v, beta, upper).unwrap_or((0.0, 0.0));
    let gap = primal - lower_bound;
    let relative_gap = gap / primal.abs().max(1.0);
    Certificate {
        certified: relative_gap <= CERTIFIED_REL_GAP,
        scope: Scope::Global,
        patterns,
        outer_patterns: None,
        primal_objective: primal,
        lower_bound,
        gap,
        relative_gap,
        max_dual_value: upper,
        max_dual_violation: (upper - beta).max(0.0),
        dual_scaling: theta,
        beta,
        beta_max: None,
        evidence: Evidence {
            dual_point: v.iter().map(|x| theta * x).collect(),
            filter_norm: DualNorm::L2,
            pattern_rule: PatternRule::ReluSign,
            gates: Vec::new(),
            multipliers: Vec::new(),
            outer_patterns: None,
            outer_multipliers: None,
            loss: crate::loss::Loss::Squared,
        },
    }
}
