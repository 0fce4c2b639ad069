//! The evidence of a dual certificate: everything needed to re-check its lower bound without
//! cvxcnn (`bench/verify_certificate.py` does, with numpy only).
//!
//! A certificate's bound is `d(u) = uᵀy − ½‖u‖²` at a dual point `u = θv` (docs/math.md §2,
//! "Dual and certificate"). It is a lower bound on the convex program over the listed patterns as
//! soon as, for every pattern `i` and sign `σ = ±1`,
//!
//! ```text
//! max {σ uᵀA_i c : B_i c ≥ 0, ‖c‖ ≤ 1} ≤ β,
//! ```
//!
//! and by weak conic duality that holds when some `α ≥ 0` has `‖σ A_iᵀu + B_iᵀα‖_* ≤ β` (the dual
//! norm of the regularizer's filter norm). The certificate code computes such an `α` anyway — one
//! NNLS (ℓ2), LP (ℓ1) or small SOCP (circular) per pattern and sign — and [`Evidence`] keeps it,
//! with the gates that generate the patterns, so that a checker can rebuild `A_i` and `B_i` from
//! the data, test every inequality, and recompute `d(u)`.
//!
//! The three-layer program (docs/math.md §9) adds one multiplier vector `μ_G ≥ 0` per group
//! `G = (l, σ_G)` of the outer cone: its inequalities are `‖±A_iᵀλ_G + B_iᵀα‖₂ ≤ β` with
//! `λ_G = σ_G D'_l u + (2D'_l − I) μ_G` ([`crate::arch::three_layer`], "Certificate").

use crate::loss::Loss;
use ndarray::ArrayView1;
use serde::Serialize;

/// The norm whose dual the inequalities use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DualNorm {
    /// Filter norm ℓ2 (docs/math.md §2): dual norm ℓ2.
    #[default]
    L2,
    /// Filter norm ℓ1 (docs/math.md §3): dual norm ℓ∞.
    L1,
    /// The circular CNN's spectral ℓ1 `R(c) = ‖ĉ‖₁/d` (docs/math.md §8): dual norm `‖ĥ‖_∞`
    /// (moduli of the unnormalized DFT), or `‖(‖ĥ_x‖_∞, h_e)‖₂` with a bias entry `h_e` last.
    SpectralL1,
}

impl From<crate::geometry::FilterNorm> for DualNorm {
    fn from(norm: crate::geometry::FilterNorm) -> Self {
        match norm {
            crate::geometry::FilterNorm::L2 => DualNorm::L2,
            crate::geometry::FilterNorm::L1 => DualNorm::L1,
        }
    }
}

/// How a checker recomputes each pattern from its gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PatternRule {
    /// ReLU sign pattern: bit `r = 1[M_r·g ≥ 0]`, all-zero rows of `M` off
    /// ([`crate::arrangement::pattern_of`]).
    #[default]
    ReluSign,
    /// Global max pooling: per sample the first nonzero patch attaining `max_k x_{t,k}·g` when that
    /// maximum is ≥ 0, "off" otherwise ([`crate::arrangement::max_pool`]).
    MaxPoolArgmax,
    /// No patterns (linear activation): one inequality `‖Aᵀu‖_* ≤ β`.
    None,
}

/// The multipliers of one inequality: `α_q ≥ 0` on cone rows `rows[q]` (row `r = k·n + t` of the
/// stacked patches: patch `k` of sample `t`; for the circular CNN `r = t`). Only nonzero entries are
/// listed; a `(group, pattern, sign)` with no entry has `α = 0`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Multiplier {
    /// Three-layer only: the group `g` (outer pattern `g / 2`, `σ_G = +1` for even `g`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<usize>,
    /// Pattern index (order of `gates`).
    pub pattern: usize,
    /// `σ = +1` for the block `c_i`, `−1` for `c'_i`.
    pub sign: i8,
    /// Cone rows with a positive multiplier.
    pub rows: Vec<usize>,
    /// The multipliers, one per row.
    pub alpha: Vec<f64>,
}

/// The nonzero multipliers `(row, α)` of the sign `+` and `−` inequalities of one pattern at an
/// unscaled dual vector `v` (what the per-pattern dual value computes).
pub type PatternWitness = [Vec<(usize, f64)>; 2];

/// The evidence object of a certificate (docs/results.md, "Certificate evidence").
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct Evidence {
    /// `u = θv`, the dual point whose bound `uᵀy − ½‖u‖²` the certificate states.
    pub dual_point: Vec<f64>,
    /// The loss whose dual objective the bound is (absent for the squared loss, `uᵀy − ½‖u‖²`):
    /// `"logistic"`, bound `Σ_t H(y_t u_t)` (binary entropy, nats), or `"hinge"`, bound `Σ_t y_t u_t`,
    /// both with `0 ≤ y_t u_t ≤ 1` (docs/math.md, "Classification losses").
    #[serde(skip_serializing_if = "Loss::is_squared")]
    pub loss: Loss,
    /// The regularizer whose dual norm the inequalities use.
    pub filter_norm: DualNorm,
    /// How each pattern follows from its gate.
    pub pattern_rule: PatternRule,
    /// One generating gate per pattern, in pattern order (three-layer: the inner patterns).
    pub gates: Vec<Vec<f64>>,
    /// The multipliers `α` of every inequality that needs them.
    pub multipliers: Vec<Multiplier>,
    /// Three-layer only: the outer patterns `D'_l` as 0/1 per sample.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outer_patterns: Option<Vec<Vec<u8>>>,
    /// Three-layer only: `μ_G ≥ 0` (length `n`) of every group `g`, scaled with `u`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub outer_multipliers: Option<Vec<Vec<f64>>>,
}

/// What every candidate's evidence shares: the norm, the pattern rule and the gates.
#[derive(Debug, Clone, Default)]
pub struct Frame {
    /// Dual norm of the inequalities.
    pub filter_norm: DualNorm,
    /// Pattern rule.
    pub pattern_rule: PatternRule,
    /// Gates in pattern order.
    pub gates: Vec<Vec<f64>>,
}

/// The multipliers of the inequalities at `u = θv` from the witnesses at `v`: the inequalities
/// are positively homogeneous in `(u, α)`, and `θ < 0` swaps the signs, so the sign-`σ` multipliers
/// at `u` are `|θ|` times the sign-`σ·sgn θ` multipliers at `v`. `group` tags three-layer entries.
pub fn scaled_multipliers(
    witnesses: &[PatternWitness],
    theta: f64,
    group: Option<usize>,
) -> Vec<Multiplier> {
    let scale = theta.abs();
    let mut out = Vec::new();
    if scale == 0.0 {
        return out;
    }
    for (pattern, w) in witnesses.iter().enumerate() {
        for (sign, at_v) in [(1i8, 0usize), (-1, 1)] {
            let at_v = if theta < 0.0 { 1 - at_v } else { at_v };
            let entries: Vec<(usize, f64)> = w[at_v]
                .iter()
                .map(|&(r, a)| (r, scale * a))
                .filter(|&(_, a)| a > 0.0)
                .collect();
            if entries.is_empty() {
                continue;
            }
            out.push(Multiplier {
                group,
                pattern,
                sign,
                rows: entries.iter().map(|&(r, _)| r).collect(),
                alpha: entries.iter().map(|&(_, a)| a).collect(),
            });
        }
    }
    out
}

impl Evidence {
    /// The evidence of the dual point `u = θv` with the witnesses computed at `v`.
    pub fn scaled(
        frame: &Frame,
        v: ArrayView1<f64>,
        theta: f64,
        witnesses: &[PatternWitness],
    ) -> Self {
        Evidence {
            dual_point: v.iter().map(|x| theta * x).collect(),
            loss: Loss::Squared,
            filter_norm: frame.filter_norm,
            pattern_rule: frame.pattern_rule,
            gates: frame.gates.clone(),
            multipliers: scaled_multipliers(witnesses, theta, None),
            outer_patterns: None,
            outer_multipliers: None,
        }
    }
}

/// The nonzero entries `(rows[q], α_q)` of multipliers `alpha` (one per listed row), clipped to
/// `α ≥ 0`.
pub fn nonzero(rows: &[usize], alpha: &[f64]) -> Vec<(usize, f64)> {
    rows.iter()
        .zip(alpha)
        .filter(|&(_, &a)| a > 0.0)
        .map(|(&r, &a)| (r, a))
        .collect()
}

/// Pretty JSON as `serde_json::to_string_pretty` writes it, except inside every `"evidence"`
/// object, where each array of scalars (`dual_point`, a gate, `rows`, `alpha`, …) and each object
/// of scalars and such arrays (one multiplier entry) is written on one line without spaces: the
/// evidence holds thousands of numbers, and one line per number would make it most of a result
/// file. Everything outside `"evidence"` is left byte for byte as it was; the result parses to the
/// same JSON value.
pub fn compact_evidence(pretty: &str) -> String {
    const KEY: &[u8] = b"\"evidence\": {";
    let bytes = pretty.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    let mut in_string = false;
    while i < bytes.len() {
        let c = bytes[i];
        if in_string {
            out.push(c);
            if c == b'\\' && i + 1 < bytes.len() {
                out.push(bytes[i + 1]);
                i += 2;
                continue;
            }
            in_string = c != b'"';
            i += 1;
            continue;
        }
        if bytes[i..].starts_with(KEY) {
            let start = i + KEY.len() - 1;
            out.extend_from_slice(&bytes[i..start]);
            let end = start + span(&bytes[start..]).0;
            compact_flat(&bytes[start..end], &mut out);
            i = end;
            continue;
        }
        in_string = c == b'"';
        out.push(c);
        i += 1;
    }
    // Only ASCII whitespace outside strings was removed, so the bytes are still UTF-8.
    String::from_utf8(out).unwrap_or_else(|_| pretty.to_string())
}

/// For `json` starting with `[` or `{`: the length of that container (through its closing
/// bracket), the deepest nesting of containers inside it (0: scalars only) and whether an object
/// is among them. Strings are skipped; an unclosed container runs to the end.
fn span(json: &[u8]) -> (usize, usize, bool) {
    let (mut depth, mut deepest, mut object) = (0usize, 0usize, false);
    let mut in_string = false;
    let mut i = 0;
    while i < json.len() {
        let c = json[i];
        if in_string {
            if c == b'\\' {
                i += 1;
            } else if c == b'"' {
                in_string = false;
            }
        } else {
            match c {
                b'"' => in_string = true,
                b'[' | b'{' => {
                    if depth > 0 && c == b'{' {
                        object = true;
                    }
                    depth += 1;
                    deepest = deepest.max(depth - 1);
                }
                b']' | b'}' => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        return (i + 1, deepest, object);
                    }
                }
                _ => {}
            }
        }
        i += 1;
    }
    (json.len(), deepest, object)
}

/// Appends `json` to `out` with the whitespace outside strings removed inside every array of
/// scalars and every object holding only scalars and arrays of scalars.
fn compact_flat(json: &[u8], out: &mut Vec<u8>) {
    let mut i = 0;
    let mut in_string = false;
    while i < json.len() {
        let c = json[i];
        if in_string {
            out.push(c);
            if c == b'\\' && i + 1 < json.len() {
                out.push(json[i + 1]);
                i += 2;
                continue;
            }
            in_string = c != b'"';
            i += 1;
            continue;
        }
        if c == b'[' || c == b'{' {
            let (len, deepest, object) = span(&json[i..]);
            let flat = if c == b'[' {
                deepest == 0
            } else {
                deepest <= 1 && !object
            };
            if flat {
                strip_whitespace(&json[i..i + len], out);
                i += len;
                continue;
            }
        }
        in_string = c == b'"';
        out.push(c);
        i += 1;
    }
}

/// Appends `json` without the whitespace outside its strings.
fn strip_whitespace(json: &[u8], out: &mut Vec<u8>) {
    let mut in_string = false;
    let mut i = 0;
    while i < json.len() {
        let c = json[i];
        if in_string && c == b'\\' && i + 1 < json.len() {
            out.push(c);
            out.push(json[i + 1]);
            i += 2;
            continue;
        }
        if c == b'"' {
            in_string = !in_string;
        }
        if in_string || !c.is_ascii_whitespace() {
            out.push(c);
        }
        i += 1;
    }
}

/// Interior-point multipliers are strictly positive on every row, most of them at noise level
/// (`1e-8` of the largest and below): `sparsify` zeroes the rows whose contribution `α_q‖b_q‖`
/// is below `τ` times the largest, for the largest `τ ∈ {10⁻², …, 10⁻¹²}` whose pruned `α` still
/// proves `value` to `1e-12` (relative): `exact(pruned) ≤ value·(1 + 10⁻¹²)`. Without such a `τ`
/// it returns `α` unchanged. The caller keeps reporting `value` (the pruned `α` may prove a
/// slightly smaller one; the certificate's numbers do not depend on the pruning).
pub fn sparsify(
    alpha: Vec<f64>,
    row_norms: &[f64],
    value: f64,
    exact: impl Fn(&[f64]) -> f64,
) -> Vec<f64> {
    let contribution: Vec<f64> = alpha.iter().zip(row_norms).map(|(a, n)| a * n).collect();
    let largest = contribution.iter().fold(0.0_f64, |m, &c| m.max(c));
    let nonzero = alpha.iter().filter(|&&a| a > 0.0).count();
    if largest == 0.0 || !largest.is_finite() {
        return alpha;
    }
    for k in 2..=12 {
        let tau = largest * 10f64.powi(-k);
        let pruned: Vec<f64> = alpha
            .iter()
            .zip(&contribution)
            .map(|(&a, &c)| if c >= tau { a } else { 0.0 })
            .collect();
        if pruned.iter().filter(|&&a| a > 0.0).count() == nonzero {
            break;
        }
        if exact(&pruned) <= value * (1.0 + 1e-12) {
            return pruned;
        }
    }
    alpha
}

#[cfg(test)]
mod tests {
    use super::*;

    /// At `u = θv` with `θ < 0` the sign-`+` inequality is the sign-`−` one of `v`, times `|θ|`.
    #[test]
    fn negative_scaling_swaps_the_signs_and_scales_the_multipliers() {
        let w: Vec<PatternWitness> = vec![[vec![(3, 2.0)], vec![(5, 4.0), (7, 0.5)]]];
        let m = scaled_multipliers(&w, -0.5, None);
        assert_eq!(m.len(), 2);
        assert_eq!(
            (m[0].sign, &m[0].rows, &m[0].alpha),
            (1, &vec![5, 7], &vec![2.0, 0.25])
        );
        assert_eq!(
            (m[1].sign, &m[1].rows, &m[1].alpha),
            (-1, &vec![3], &vec![1.0])
        );
        let m = scaled_multipliers(&w, 2.0, Some(4));
        assert_eq!(
            (m[0].sign, m[0].group, &m[0].alpha),
            (1, Some(4), &vec![4.0])
        );
        assert!(scaled_multipliers(&w, 0.0, None).is_empty());
    }

    /// Noise-level multipliers go when the value they prove stays put; a multiplier that matters
    /// stays.
    #[test]
    fn sparsify_drops_only_multipliers_that_do_not_change_the_value() {
        // Value ‖g + α₀b₀ + α₁b₁‖₂ with g = (−1, 0), b₀ = (1, 0), b₁ = (0, 1).
        let value = |a: &[f64]| (-1.0 + a[0]).hypot(a[1]);
        let a = sparsify(vec![1.0, 1e-14], &[1.0, 1.0], value(&[1.0, 1e-14]), value);
        assert_eq!(a, vec![1.0, 0.0]);
        // With g = (−1, −10⁻³), α₁ = 10⁻³ closes the residual: without it the value would be 10⁻³.
        let value = |a: &[f64]| (-1.0 + a[0]).hypot(-1e-3 + a[1]);
        let a = sparsify(vec![1.0, 1e-3], &[1.0, 1.0], 0.0, value);
        assert_eq!(a, vec![1.0, 1e-3]);
    }
}
