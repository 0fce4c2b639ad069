//! Exact enumeration of the cells of a central hyperplane arrangement.
//!
//! For a matrix `M` (rows `m_j ∈ R^h`) the sign patterns `D(u) = 1[M u ≥ 0]` that a filter `u`
//! can produce in general position are in bijection with the full-dimensional cells (regions) of the
//! central arrangement `{x : m_j·x = 0}`. This module lists one strictly interior, maximally
//! centred point per cell — all of them, with no sampling.
//!
//! # Algorithm (deletion–restriction, no LP feasibility decisions)
//!
//! 1. Rows are normalised, zero rows dropped and rows that are equal up to a nonzero factor (of either
//!    sign) merged ([`distinct_hyperplanes`]). The work is done in an orthonormal basis of the row
//!    space (dimension `r = rank`), so rank-deficient inputs (cells are cylinders) cost nothing extra.
//! 2. Cells are built incrementally over the distinct hyperplanes `H_1, …, H_N`. By the
//!    deletion–restriction theorem, the cells of `{H_1..H_{k-1}}` that `H_k` cuts in two are in
//!    bijection with the cells of the *restricted* arrangement `{H_j ∩ H_k : j < k}` inside
//!    `H_k ≅ R^{r-1}`: a restricted cell `R''` lies in exactly one old cell `R'`, and
//!    `R' ∩ H_k = R''`. So each step enumerates the restricted arrangement recursively (one
//!    dimension lower), reads off the old cell containing each restricted point from its sign
//!    vector (a hash lookup), and splits exactly those cells; every other cell keeps its point and
//!    just records on which side of `H_k` that point lies. In `R^2` the recursion ends in an exact
//!    angular sweep (the `2N` cells are the sectors between consecutive boundary rays), in `R^1` in
//!    the two half-lines.
//! 3. Each new cell is re-centred at its *max-margin* point
//!    `argmax_{‖x‖ = 1} min_j s_j a_j·x`, which by duality is the normalised minimum-norm point of
//!    `conv{s_j a_j}` (hard-margin SVM through the origin). That point is computed with Wolfe's
//!    finite minimum-norm-point algorithm and is only accepted if its *measured* margin beats the
//!    starting point's, so an imprecise solve can never make a point worse. If a later hyperplane
//!    does not cut a cell, the cell — and hence its max-margin point — is unchanged, and the distance
//!    of that point to the new hyperplane is at least its distance to the cell boundary, so the
//!    invariant "every point is the centre of its cell" holds at the end.
//!
//! ## Why no LPs
//! The obvious alternative decides "does hyperplane `a` cut cell `C`?" by an LP feasibility test
//! per (cell, hyperplane) pair. That makes *existence* of a cell depend on a solver tolerance
//! (interior-point methods are least reliable exactly on the near-infeasible problems that thin
//! cells produce, and `AlmostSolved`/`AlmostPrimalInfeasible` need ad-hoc thresholds), costs
//! `Θ(N · #cells)` solves, and is slow in debug builds. The recursion above decides existence purely
//! combinatorially; the only tolerances are (a) when two (restricted) hyperplanes count as the same
//! (`HYPERPLANE_TOL`, unit normals closer than `1e-10`, i.e. floating-point noise of exactly
//! degenerate inputs) and (b) the final certified margin. Every returned point is verified.
//!
//! ## Guarantees and failure modes
//! Every returned point `g` is unit norm and satisfies `|m·g| ≥ MIN_MARGIN·‖m‖` for every nonzero
//! input row `m`, the points have pairwise distinct sign vectors, and they are sorted by sign vector.
//! Cells thinner than about `HYPERPLANE_TOL` are indistinguishable from exact degeneracies in
//! floating point and are treated as such (not listed). A genuine cell whose best margin lies between
//! that and [`MIN_MARGIN`] cannot be certified, and the enumeration fails loudly with
//! [`ExactError::Numerical`] rather than silently dropping it.

use ndarray::ArrayView2;

pub use self::bound::cell_count_bound;
use self::cells::cells_of;
use self::geometry::{group_directions, normalized, orthonormal_basis, unit_vector};
pub use crate::error::ExactError;
use crate::linalg::dot;

mod bound;
mod cells;
mod geometry;
mod max_margin;
#[cfg(test)]
mod tests;

/// Certified relative margin of returned points: `|m·g| ≥ MIN_MARGIN·‖m‖` for every nonzero row `m`
/// and returned unit point `g`.
pub const MIN_MARGIN: f64 = 1e-7;

/// Unit normals closer than this (up to sign) are one hyperplane (at every recursion level).
const HYPERPLANE_TOL: f64 = 1e-10;
/// A unit normal whose residual after projecting on the span of others is below this is in that span.
const RANK_TOL: f64 = 1e-9;
/// Internal sign decisions require a relative margin above this.
const NOISE: f64 = 1e-12;
/// Largest step off the restricting hyperplane in the initial (pre-centring) point of a new cell.
const STEP_CAP: f64 = 1e6;

/// The distinct hyperplanes of a set of rows and the rank they span.
///
/// Row `m ≠ 0` defines the hyperplane `{x : m·x = 0}`; rows `m, m'` with `m' = c m` for some
/// `c ≠ 0` (either sign) define the same hyperplane.
#[derive(Debug, Clone, PartialEq)]
pub struct Hyperplanes {
    /// One unit normal `m/‖m‖` per distinct hyperplane, oriented like the first row that defines it,
    /// in order of first occurrence. Zero rows are dropped; unit normals equal up to sign within
    /// `1e-10` are merged.
    pub normals: Vec<Vec<f64>>,
    /// `dim span{m_j}` (numerical rank of the normals, residual tolerance `1e-9`).
    pub rank: usize,
}

/// Distinct hyperplanes `{x : m·x = 0}` of the nonzero rows `m` of `rows` (n × h) and the dimension
/// of their span.
///
/// Rows with non-finite entries are ignored here ([`enumerate_cells`] rejects them).
pub fn distinct_hyperplanes(rows: ArrayView2<f64>) -> Hyperplanes {
    let units: Vec<Vec<f64>> = rows
        .rows()
        .into_iter()
        .filter_map(|row| {
            // Scale by the largest entry first so that huge or tiny rows neither overflow nor
            // underflow when normalised.
            let scale = row.iter().fold(0.0_f64, |m, x| m.max(x.abs()));
            if !(scale > 0.0 && scale.is_finite()) {
                return None;
            }
            let v: Vec<f64> = row.iter().map(|x| x / scale).collect();
            Some(normalized(v))
        })
        .collect();
    let groups = group_directions(&units, HYPERPLANE_TOL);
    let normals: Vec<Vec<f64>> = groups.reps.iter().map(|&i| units[i].clone()).collect();
    let rank = orthonormal_basis(&normals, RANK_TOL).len();
    Hyperplanes { normals, rank }
}

/// One strictly interior point per full-dimensional cell of the central arrangement
/// `{x : m_j·x = 0}` of the rows `m_j` of `rows` (n_rows × h).
///
/// Each returned `g ∈ R^h` is unit norm and satisfies `|m·g| ≥ MIN_MARGIN·‖m‖` for every nonzero
/// row `m` (it is the max-margin point `argmax_{‖x‖=1} min_j |m̂_j·x|` of its cell, up to solver
/// precision). The sign vectors `sign(M g)` are pairwise distinct and every cell appears exactly once,
/// so `{1[M g ≥ 0]}` is the set of all sign patterns of `M`. Points are sorted lexicographically by
/// their sign vector over [`distinct_hyperplanes`]`(rows).normals` (− before +). With no nonzero rows
/// the single cell `R^h` is represented by `e_1`.
///
/// Refuses with [`ExactError::TooLarge`] (before enumerating anything) when
/// `cell_count_bound(#distinct hyperplanes, rank) > max_cells`.
pub fn enumerate_cells(
    rows: ArrayView2<f64>,
    max_cells: usize,
) -> Result<Vec<Vec<f64>>, ExactError> {
    let h = rows.ncols();
    if h == 0 {
        return Err(ExactError::Numerical("rows have no columns".into()));
    }
    if let Some(i) = rows
        .rows()
        .into_iter()
        .position(|r| r.iter().any(|x| !x.is_finite()))
    {
        return Err(ExactError::Numerical(format!(
            "row {i} has a non-finite entry"
        )));
    }
    let hp = distinct_hyperplanes(rows);
    let n = hp.normals.len();
    let bound = cell_count_bound(n, hp.rank);
    if bound > max_cells as f64 {
        return Err(ExactError::TooLarge {
            bound,
            limit: max_cells,
            hyperplanes: n,
            rank: hp.rank,
        });
    }
    if n == 0 {
        return Ok(vec![unit_vector(h, 0)]);
    }

    // Work in an orthonormal basis `Q` (r × h) of the row space: coordinates y = Q x.
    let basis = orthonormal_basis(&hp.normals, RANK_TOL);
    let r = basis.len();
    let reduced: Vec<Vec<f64>> = hp
        .normals
        .iter()
        .map(|a| normalized(basis.iter().map(|q| dot(q, a)).collect()))
        .collect();
    // Projection can only bring normals closer; merge any that became numerically equal.
    let groups = group_directions(&reduced, HYPERPLANE_TOL);
    let reduced: Vec<Vec<f64>> = groups.reps.iter().map(|&i| reduced[i].clone()).collect();
    let points = cells_of(&reduced, r)?;

    // Map back (g = Qᵀ y), certify and sort.
    // Every nonzero row's unit normal is within HYPERPLANE_TOL of ± one of `hp.normals`, so a margin
    // of MIN_MARGIN + HYPERPLANE_TOL on the distinct normals certifies MIN_MARGIN on all rows.
    let mut keyed: Vec<(Vec<bool>, Vec<f64>)> = Vec::with_capacity(points.len());
    for y in &points {
        let mut g = vec![0.0; h];
        for (yi, q) in y.iter().zip(&basis) {
            for (gk, qk) in g.iter_mut().zip(q) {
                *gk += yi * qk;
            }
        }
        let g = normalized(g);
        let mut signs = Vec::with_capacity(n);
        let mut margin = f64::INFINITY;
        for a in &hp.normals {
            let v = dot(a, &g);
            margin = margin.min(v.abs());
            signs.push(v > 0.0);
        }
        if margin.is_nan() || margin < MIN_MARGIN + HYPERPLANE_TOL {
            return Err(ExactError::Numerical(format!(
                "a cell is too thin to certify: its best relative margin is {margin:.3e} < \
                 {MIN_MARGIN:e}; the rows are nearly degenerate (use arrangements mode \"sample\")"
            )));
        }
        keyed.push((signs, g));
    }
    keyed.sort_by(|a, b| a.0.cmp(&b.0));
    if keyed.windows(2).any(|w| w[0].0 == w[1].0) {
        return Err(ExactError::Numerical(
            "two enumerated points share a sign vector".into(),
        ));
    }
    if keyed.len() as f64 > bound {
        return Err(ExactError::Numerical(format!(
            "{} cells enumerated, more than the bound {bound}",
            keyed.len()
        )));
    }
    Ok(keyed.into_iter().map(|(_, g)| g).collect())
}
