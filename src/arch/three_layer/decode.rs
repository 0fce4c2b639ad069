//! Decoding a three-layer solution into sub-networks (docs/math.md §9).

use super::program::{Layout, OuterPatterns};
use ndarray::{Array1, Array3, ArrayView1, Axis};

/// Over the blocks with `‖c‖ > tau`: the program's output `Σ_G σ D'_l u_G`, the decoded network's
/// output `Σ_G σ (u_G)_+` (by positive homogeneity exactly what its sub-networks give), with
/// `u_G = Σ_i A_i (c⁺ − c⁻)`, and `Σ‖c‖`.
fn kept_parts(
    a: &Array3<f64>,
    outer: &OuterPatterns,
    layout: &Layout,
    x: &[f64],
    norms: &[f64],
    tau: f64,
) -> (Array1<f64>, Array1<f64>, f64) {
    let mut program = Array1::<f64>::zeros(layout.n);
    let mut network = Array1::<f64>::zeros(layout.n);
    let mut reg = 0.0;
    for g in 0..layout.groups {
        let mut ug = Array1::<f64>::zeros(layout.n);
        for i in 0..layout.p {
            let mut z = Array1::<f64>::zeros(layout.h);
            let mut any = false;
            for s in 0..2 {
                let b = layout.block_index(g, i, s);
                if norms[b] > tau {
                    any = true;
                    reg += norms[b];
                    let sign = if s == 0 { 1.0 } else { -1.0 };
                    z.scaled_add(sign, &ArrayView1::from(layout.block(x, b)));
                }
            }
            if any {
                ug += &a.index_axis(Axis(0), i).dot(&z);
            }
        }
        let sigma = Layout::sign(g);
        for (s, &on) in outer.on[g / 2].iter().enumerate() {
            if on {
                program[s] += sigma * ug[s];
            }
            network[s] += sigma * ug[s].max(0.0);
        }
    }
    (program, network, reg)
}

/// The largest block-norm threshold `τ` (from the largest block norm down by decades to 10⁻¹²
/// of it) such that dropping every block with `‖c‖ ≤ τ` raises neither the program's objective nor
/// the decoded network's by more than `tol`: interior-point noise is dropped by what it is worth (as
/// in the two-layer decoder), and a drop that would move a sub-network off its outer pattern by more
/// than that is refused.
pub fn noise_threshold(
    a: &Array3<f64>,
    outer: &OuterPatterns,
    layout: &Layout,
    x: &[f64],
    y: ArrayView1<f64>,
    beta: f64,
    tol: f64,
) -> f64 {
    let norms = block_norms(layout, x);
    let largest = norms.iter().fold(0.0_f64, |m, &v| m.max(v));
    let objectives = |tau: f64| {
        let (program, network, reg) = kept_parts(a, outer, layout, x, &norms, tau);
        let value = |yhat: Array1<f64>| {
            let r = yhat - y;
            0.5 * r.dot(&r) + beta * reg
        };
        (value(program), value(network))
    };
    let base = objectives(-1.0);
    for k in 0..=12 {
        let tau = largest * 10f64.powi(-k);
        let (p, n) = objectives(tau);
        if p <= base.0 + tol && n <= base.1 + tol && (p - n).abs() <= tol {
            return tau;
        }
    }
    0.0
}

/// `‖c_b‖₂` of every block.
pub fn block_norms(layout: &Layout, x: &[f64]) -> Vec<f64> {
    (0..layout.blocks())
        .map(|b| layout.block(x, b).iter().map(|v| v * v).sum::<f64>().sqrt())
        .collect()
}

/// One decoded sub-network and where it came from.
#[derive(Debug, Clone)]
pub struct SubNetwork {
    /// Outer pattern index `l`.
    pub outer: usize,
    /// `σ`.
    pub sign: f64,
    /// Inner pattern of each inner filter.
    pub inner_patterns: Vec<usize>,
    /// `S = Σ‖c‖` of the group.
    pub strength: f64,
}

/// A decoded three-layer network in the result-file layout.
#[derive(Debug, Clone, Default)]
pub struct Decoded {
    /// `filters[j][l]` = `u_jl`.
    pub filters: Vec<Vec<Vec<f64>>>,
    /// `inner_weights[j][l]` = `w₁ⱼₗ`.
    pub inner_weights: Vec<Vec<f64>>,
    /// `output_weights[j]` = `w₂ⱼ`.
    pub output_weights: Vec<f64>,
    /// Origin of each sub-network.
    pub subnetworks: Vec<SubNetwork>,
    /// Sum of the norms of the blocks treated as zero.
    pub dropped_norm: f64,
}

/// Decodes every group with a block above `min_norm` (see the module docs):
/// `u = c/√(‖c‖S)`, `w₁ = ±√‖c‖`, `w₂ = σ√S`.
pub fn decode(layout: &Layout, x: &[f64], min_norm: f64) -> Decoded {
    let norms = block_norms(layout, x);
    let mut out = Decoded::default();
    for g in 0..layout.groups {
        let kept: Vec<(usize, usize)> = (0..layout.p)
            .flat_map(|i| [(i, 0), (i, 1)])
            .filter(|&(i, s)| {
                let r = norms[layout.block_index(g, i, s)];
                r > min_norm && r > 0.0
            })
            .collect();
        for i in 0..layout.p {
            for s in 0..2 {
                let r = norms[layout.block_index(g, i, s)];
                if !kept.contains(&(i, s)) {
                    out.dropped_norm += r;
                }
            }
        }
        if kept.is_empty() {
            continue;
        }
        let strength: f64 = kept
            .iter()
            .map(|&(i, s)| norms[layout.block_index(g, i, s)])
            .sum();
        let mut filters = Vec::new();
        let mut w1 = Vec::new();
        for &(i, s) in &kept {
            let b = layout.block_index(g, i, s);
            let r = norms[b];
            let scale = 1.0 / (r * strength).sqrt();
            filters.push(layout.block(x, b).iter().map(|v| v * scale).collect());
            w1.push(if s == 0 { r.sqrt() } else { -r.sqrt() });
        }
        out.filters.push(filters);
        out.inner_weights.push(w1);
        out.output_weights.push(Layout::sign(g) * strength.sqrt());
        out.subnetworks.push(SubNetwork {
            outer: g / 2,
            sign: Layout::sign(g),
            inner_patterns: kept.iter().map(|&(i, _)| i).collect(),
            strength,
        });
    }
    out
}
