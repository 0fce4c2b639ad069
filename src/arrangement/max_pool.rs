//! Patterns of global max pooling (docs/math.md §5).
//!
//! A filter `u` of `f = Σ_j w_j max_k (X_k u_j)_+` fixes, per sample `t`, either the argmax patch
//! `κ_t` (when the maximum is ≥ 0) or "off" (every patch < 0). On the cone of such a pattern the
//! pooled output is linear in `u`: `x_{t,κ_t}·u` for "on" samples, 0 for "off" ones. So the
//! pattern matrix is `A_i = Σ_k D_i^k X_k` with `D_i^k[t] = 1[k = κ_t]`, and the pattern is stored
//! in the same `on` bits as a ReLU pattern: bit `κ_t·n + t` set for each "on" sample, nothing set
//! for an "off" one. Its cone has `nK` rows (row `r = k·n + t`):
//!
//! ```text
//! "on"  sample t, k = κ_t:   x_{t,κ}·c ≥ 0
//! "on"  sample t, k ≠ κ_t:   (x_{t,κ} − x_{t,k})·c ≥ 0
//! "off" sample t:            −x_{t,k}·c ≥ 0
//! ```
//!
//! Ties: `κ_t` is the **first** patch (in row-major patch order) attaining the maximum. Patches that
//! are exactly zero (padding) are never the argmax: their value is 0, so a sample whose only
//! non-negative patches are zero ones is "off", which gives the same output and the same cone as
//! choosing the zero patch. Interior points of the exact cells produce no ties.
//!
//! Exact mode enumerates the cells of the central arrangement of the `nK` patch hyperplanes
//! `{x_{t,k}·u = 0}` and the `nK(K−1)/2` pairwise differences `{(x_{t,k} − x_{t,k'})·u = 0}`: every
//! max-pool pattern is constant on each such cell, so mapping every cell's interior point to its
//! pattern (and merging duplicates) lists every pattern.

use super::{Arrangement, PatternKind, distinct_patterns, gates};
use crate::error::Result;
use crate::patches::Patches;
use crate::problem::ArrangementSpec;
use ndarray::{Array2, ArrayView1, ArrayView2, Axis};

/// `κ_t` (or `None` for "off") of gate `g` for every sample: the first patch attaining
/// `max_k x_{t,k}·g` among the sample's nonzero patches, when that maximum is ≥ 0.
pub fn argmax_pattern(patches: &Patches, g: &[f64]) -> Vec<Option<usize>> {
    let g = ArrayView1::from(g);
    let (k, n, _) = patches.data.dim();
    (0..n)
        .map(|t| {
            let mut best: Option<(usize, f64)> = None;
            for kk in 0..k {
                let row = patches.data.index_axis(Axis(0), kk);
                let row = row.row(t);
                if row.iter().all(|&v| v == 0.0) {
                    continue;
                }
                let v = row.dot(&g);
                // Strict `>` keeps the first index on ties.
                if best.is_none_or(|(_, b)| v > b) {
                    best = Some((kk, v));
                }
            }
            best.filter(|&(_, v)| v >= 0.0).map(|(kk, _)| kk)
        })
        .collect()
}

/// The pattern bits of gate `g`: bit `κ_t·n + t` set for every "on" sample.
pub fn pattern_of(patches: &Patches, g: &[f64]) -> Vec<bool> {
    let (k, n, _) = patches.data.dim();
    let mut on = vec![false; k * n];
    for (t, kappa) in argmax_pattern(patches, g).into_iter().enumerate() {
        if let Some(kk) = kappa {
            on[kk * n + t] = true;
        }
    }
    on
}

/// `κ_t` of every sample read back from pattern bits (`on.len() = nK`).
pub fn argmax_of(on: &[bool], n: usize) -> Vec<Option<usize>> {
    let k = on.len() / n;
    (0..n).map(|t| (0..k).find(|&kk| on[kk * n + t])).collect()
}

/// The rows of the arrangement whose cells refine every max-pool pattern: the `nK` stacked patches
/// and, per sample, the `K(K−1)/2` differences `x_{t,k} − x_{t,k'}` (`k < k'`).
pub fn cell_rows(patches: &Patches) -> Array2<f64> {
    let (k, n, h) = patches.data.dim();
    let mut rows = Array2::<f64>::zeros((n * k + n * k * (k.saturating_sub(1)) / 2, h));
    rows.slice_mut(ndarray::s![..n * k, ..])
        .assign(&patches.stacked());
    let mut q = n * k;
    for t in 0..n {
        for a in 0..k {
            for b in a + 1..k {
                let d = &patches.data.index_axis(Axis(0), a).row(t)
                    - &patches.data.index_axis(Axis(0), b).row(t);
                rows.row_mut(q).assign(&d);
                q += 1;
            }
        }
    }
    rows
}

/// What exact mode enumerates, for error messages: `n` samples, `k` patches.
pub fn exact_context(n: usize, k: usize) -> String {
    format!(
        "global max pooling enumerates the cells cut by the n·K = {} patch hyperplanes and the \
         n·K(K−1)/2 = {} pairwise differences of each sample's patches",
        n * k,
        n * k * k.saturating_sub(1) / 2
    )
}

/// Builds the max-pool patterns of `patches` as the spec asks (see the module docs).
pub fn build(patches: &Patches, spec: &ArrangementSpec) -> Result<Arrangement> {
    let gates = match spec {
        ArrangementSpec::Exact { .. } => gates(cell_rows(patches).view(), patches.h(), spec)?,
        _ => gates(patches.stacked(), patches.h(), spec)?,
    };
    let candidates = gates.len();
    Ok(Arrangement {
        patterns: distinct_patterns(gates, |g| pattern_of(patches, g)),
        candidates,
        exact: spec.is_exact(),
        kind: PatternKind::MaxPool {
            samples: patches.n(),
        },
    })
}

/// Rows `rows` (indices `k·n + t`) of the cone matrix of the max-pool pattern `on`.
pub fn cone_rows(m: ArrayView2<f64>, n: usize, on: &[bool], rows: &[usize]) -> Array2<f64> {
    let kappa = argmax_of(on, n);
    let mut b = Array2::<f64>::zeros((rows.len(), m.ncols()));
    for (q, &r) in rows.iter().enumerate() {
        let t = r % n;
        match kappa[t] {
            Some(kk) if kk * n + t == r => b.row_mut(q).assign(&m.row(r)),
            Some(kk) => b.row_mut(q).assign(&(&m.row(kk * n + t) - &m.row(r))),
            None => b.row_mut(q).assign(&(-&m.row(r))),
        }
    }
    b
}

/// `(B c)_r` for all `nK` cone rows of the max-pool pattern `on`.
pub fn cone_values(m: ArrayView2<f64>, n: usize, on: &[bool], c: &[f64]) -> Vec<f64> {
    let v = m.dot(&ArrayView1::from(c));
    let kappa = argmax_of(on, n);
    (0..m.nrows())
        .map(|r| {
            let t = r % n;
            match kappa[t] {
                Some(kk) if kk * n + t == r => v[r],
                Some(kk) => v[kk * n + t] - v[r],
                None => -v[r],
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::ConvGeometry;
    use ndarray::Array4;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use rand_distr::{Distribution, StandardNormal};

    fn patches(seed: u64) -> Patches {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut x = Array4::from_shape_fn((4, 2, 1, 6), |_| StandardNormal.sample(&mut rng));
        // A blank sample: every patch is zero, so it is "off" for every gate.
        x.index_axis_mut(Axis(0), 3).fill(0.0);
        let g = ConvGeometry {
            kernel: [1, 3],
            stride: [1, 1],
            padding: [0, 1],
        };
        Patches::extract(x.view(), &g).expect("fits")
    }

    #[test]
    fn gate_lies_in_its_cone_and_rows_agree_with_values() {
        let p = patches(1);
        let m = p.stacked();
        let arr = build(&p, &ArrangementSpec::Sample { count: 50, seed: 2 }).expect("build");
        let all: Vec<usize> = (0..m.nrows()).collect();
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for (i, pat) in arr.patterns.iter().enumerate() {
            assert!(
                !pat.on[3..].iter().step_by(4).any(|&b| b),
                "blank sample on"
            );
            // The generating gate satisfies every cone row.
            let at_gate = arr.cone_values(m, i, &pat.gate);
            let worst = at_gate.iter().fold(0.0_f64, |w, &v| w.min(v));
            assert!(worst >= 0.0, "pattern {i}: gate violates a row by {worst}");
            // cone_values is B_i c for the rows cone_rows writes.
            let c: Vec<f64> = (0..p.h())
                .map(|_| StandardNormal.sample(&mut rng))
                .collect();
            let b = arr.cone_rows(m, i, &all);
            let bc = b.dot(&ArrayView1::from(&c[..]));
            for (r, (a, v)) in bc.iter().zip(arr.cone_values(m, i, &c)).enumerate() {
                assert!(
                    (a - v).abs() <= 1e-12 * (1.0 + a.abs()),
                    "row {r}: {a} vs {v}"
                );
            }
        }
    }

    #[test]
    fn argmax_ties_go_to_the_first_patch() {
        // One sample, three identical nonzero patches and one larger: the argmax is the larger;
        // with the larger removed, the first of the identical ones.
        let mut data = ndarray::Array3::<f64>::zeros((4, 1, 2));
        for k in 0..3 {
            data[[k, 0, 0]] = 1.0;
        }
        data[[3, 0, 0]] = 2.0;
        let p = Patches { data };
        assert_eq!(argmax_pattern(&p, &[1.0, 0.0]), vec![Some(3)]);
        assert_eq!(argmax_pattern(&p, &[-1.0, 0.0]), vec![None]);
        let mut data = p.data.clone();
        data[[3, 0, 0]] = 1.0;
        let p = Patches { data };
        assert_eq!(argmax_pattern(&p, &[1.0, 0.0]), vec![Some(0)]);
        // On the boundary (max exactly 0) the sample counts as on, at the first patch.
        assert_eq!(argmax_pattern(&p, &[0.0, 1.0]), vec![Some(0)]);
    }
}
