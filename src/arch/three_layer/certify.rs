//! The three-layer certificate (docs/math.md §9): per group, the outer multipliers `μ_G` from the
//! solver, per inner pattern and sign one NNLS; the evidence keeps both.

use super::program::{Layout, OuterPatterns};
use crate::arrangement::{Arrangement, ConeRows};
use crate::evidence::{self, DualNorm, Evidence, Frame, PatternRule, PatternWitness};
use ndarray::{Array1, Array2, Array3, ArrayView1, ArrayView2, Axis};
use rayon::prelude::*;

/// The signed rows `(2D_i − I) M[r]` of pattern `on` listed in `rows`.
fn signed_rows(m: ArrayView2<f64>, on: &[bool], rows: &[usize]) -> Array2<f64> {
    let mut b = Array2::<f64>::zeros((rows.len(), m.ncols()));
    for (q, &r) in rows.iter().enumerate() {
        let s = if on[r] { 1.0 } else { -1.0 };
        b.row_mut(q).assign(&(&m.row(r) * s));
    }
    b
}

/// `max_G max_{i, ±} min_{α ≥ 0} ‖±A_iᵀ(σ_G D'_G v + (2D'_G − I) μ_G) + B_iᵀ α‖₂`: an upper bound on
/// the dual value of `v` (any `μ_G ≥ 0` gives one; negative entries of `mu` are clipped to 0).
/// `mu` is `groups · n`, group-major. Also returns the witnesses `α` of every group and pattern
/// (`[g][i]`, on the rows of `m`), which prove each value.
#[allow(clippy::too_many_arguments)]
pub fn max_dual_value(
    m: ArrayView2<f64>,
    arrangement: &Arrangement,
    a: &Array3<f64>,
    outer: &OuterPatterns,
    rows: &ConeRows,
    layout: &Layout,
    v: ArrayView1<f64>,
    mu: &[f64],
) -> (f64, Vec<Vec<PatternWitness>>) {
    let n = layout.n;
    let bs: Vec<Array2<f64>> = (0..layout.p)
        .map(|i| signed_rows(m, &arrangement.patterns[i].on, &rows[i]))
        .collect();
    let groups: Vec<(f64, Vec<PatternWitness>)> = (0..layout.groups)
        .into_par_iter()
        .map(|g| {
            let on = &outer.on[g / 2];
            let sigma = Layout::sign(g);
            let lambda = Array1::from_shape_fn(n, |s| {
                let e = if on[s] { 1.0 } else { -1.0 };
                let d = if on[s] { sigma * v[s] } else { 0.0 };
                d + e * mu[g * n + s].max(0.0)
            });
            let values = (0..layout.p)
                .map(|i| {
                    let gi = a.index_axis(Axis(0), i).t().dot(&lambda);
                    let (value, [plus, minus]) =
                        crate::certify::dual_value_witness(bs[i].view(), gi.view());
                    (
                        value,
                        [
                            evidence::nonzero(&rows[i], &plus),
                            evidence::nonzero(&rows[i], &minus),
                        ],
                    )
                })
                .collect();
            crate::certify::max_with_witnesses(values)
        })
        .collect();
    let max = groups.iter().fold(0.0_f64, |m, (v, _)| m.max(*v));
    (max, groups.into_iter().map(|(_, w)| w).collect())
}

/// The evidence of the three-layer bound at `u = θv` (`θ ≥ 0`): the witnesses and the outer
/// multipliers `μ_G` computed at `v`, all scaled by `θ` (the inequalities are positively
/// homogeneous in `(u, μ, α)`), with the inner gates and the outer patterns.
pub fn certificate_evidence(
    arrangement: &Arrangement,
    outer: &OuterPatterns,
    v: ArrayView1<f64>,
    theta: f64,
    mu: &[f64],
    witnesses: &[Vec<PatternWitness>],
) -> Evidence {
    let n = v.len();
    let frame = Frame {
        filter_norm: DualNorm::L2,
        pattern_rule: PatternRule::ReluSign,
        gates: arrangement
            .patterns
            .iter()
            .map(|p| p.gate.clone())
            .collect(),
    };
    let mut out = Evidence::scaled(&frame, v, theta, &[]);
    out.multipliers = witnesses
        .iter()
        .enumerate()
        .flat_map(|(g, w)| evidence::scaled_multipliers(w, theta, Some(g)))
        .collect();
    out.outer_patterns = Some(
        outer
            .on
            .iter()
            .map(|d| d.iter().map(|&b| u8::from(b)).collect())
            .collect(),
    );
    out.outer_multipliers = Some(
        (0..2 * outer.on.len())
            .map(|g| {
                (0..n)
                    .map(|s| theta * mu.get(g * n + s).copied().unwrap_or(0.0).max(0.0))
                    .collect()
            })
            .collect(),
    );
    out
}
