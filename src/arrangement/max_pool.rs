//! Patterns of global max pooling (formulations.md §4).
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
