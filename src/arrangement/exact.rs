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

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};

use ndarray::ArrayView2;

use crate::linalg::{axpy, dot, norm};

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

/// Why an exact enumeration was refused or failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ExactError {
    /// The bound `cell_count_bound(hyperplanes, rank)` on the number of cells exceeds the limit
    /// `limit`, so enumeration was refused before any work was done.
    #[error(
        "exact arrangement enumeration refused: {hyperplanes} distinct hyperplanes spanning rank \
         {rank} may have up to {bound} cells, more than the limit of {limit}; use arrangements \
         mode \"sample\" or raise max_patterns"
    )]
    TooLarge {
        /// `cell_count_bound(hyperplanes, rank)`.
        bound: f64,
        /// The `max_cells` that was passed in.
        limit: usize,
        /// Number of distinct hyperplanes among the rows.
        hyperplanes: usize,
        /// Dimension of the span of the rows.
        rank: usize,
    },
    /// A floating-point consistency check failed: non-finite input, a cell too thin to certify with
    /// margin [`MIN_MARGIN`], or inconsistent intermediate results (near-degenerate rows).
    #[error("exact arrangement enumeration failed numerically: {0}")]
    Numerical(String),
}

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

/// Upper bound on the number of cells of a central arrangement of `hyperplanes` hyperplanes spanning
/// rank `rank`: `2 Σ_{l=0}^{rank-1} C(hyperplanes-1, l)` (Winder/Zaslavsky; attained in general
/// position), as `f64`, saturating to `f64::INFINITY` on overflow; `1` when `hyperplanes == 0`.
/// For `rank ≥ hyperplanes` this is `2^hyperplanes`.
pub fn cell_count_bound(hyperplanes: usize, rank: usize) -> f64 {
    if hyperplanes == 0 {
        return 1.0;
    }
    let top = (hyperplanes - 1) as f64;
    let terms = rank.min(hyperplanes);
    let mut binom = 1.0_f64; // C(hyperplanes-1, l)
    let mut sum = 0.0_f64;
    for l in 0..terms {
        sum += binom;
        if l + 1 < terms {
            binom = binom * (top - l as f64) / (l + 1) as f64;
        }
    }
    let bound = 2.0 * sum;
    if bound.is_finite() {
        bound
    } else {
        f64::INFINITY
    }
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

// ---------------------------------------------------------------------------------------------
// Recursion over dimensions.
// ---------------------------------------------------------------------------------------------

/// A cell during incremental construction: sign bits over the hyperplanes added so far (bit j set
/// iff `a_j·x > 0` on the cell) and a unit interior point.
struct Cell {
    signs: Vec<u64>,
    point: Vec<f64>,
}

/// Unit interior points, one per cell, of the arrangement of the unit `normals` in `R^d`
/// (normals pairwise distinct up to sign; any rank ≤ d).
fn cells_of(normals: &[Vec<f64>], d: usize) -> Result<Vec<Vec<f64>>, ExactError> {
    if normals.is_empty() {
        return Ok(vec![unit_vector(d, 0)]);
    }
    match d {
        // In R^1 every central hyperplane is {0}: two half-lines.
        0 | 1 => Ok(vec![vec![1.0], vec![-1.0]]),
        2 => Ok(sweep(normals)),
        _ => incremental(normals, d),
    }
}

/// Exact cells of a central line arrangement in `R^2`: the sectors between consecutive boundary
/// rays, represented by their bisectors (the max-margin point of a sector).
fn sweep(normals: &[Vec<f64>]) -> Vec<Vec<f64>> {
    use std::f64::consts::{PI, TAU};
    let mut angles = Vec::with_capacity(2 * normals.len());
    for a in normals {
        // The line {x : a·x = 0} is spanned by (-a_1, a_0).
        let theta = a[0].atan2(-a[1]).rem_euclid(TAU);
        angles.push(theta);
        angles.push((theta + PI).rem_euclid(TAU));
    }
    angles.sort_by(f64::total_cmp);
    let mut rays: Vec<f64> = Vec::with_capacity(angles.len());
    for t in angles {
        if rays.last().is_none_or(|&last| t - last > HYPERPLANE_TOL) {
            rays.push(t);
        }
    }
    while rays.len() > 1 && rays[0] + TAU - rays[rays.len() - 1] <= HYPERPLANE_TOL {
        rays.pop();
    }
    if rays.len() < 2 {
        // Cannot happen for nonempty input (each line gives two antipodal rays); stay total.
        return vec![vec![1.0, 0.0], vec![-1.0, 0.0]];
    }
    (0..rays.len())
        .map(|i| {
            let hi = if i + 1 < rays.len() {
                rays[i + 1]
            } else {
                rays[0] + TAU
            };
            let mid = 0.5 * (rays[i] + hi);
            vec![mid.cos(), mid.sin()]
        })
        .collect()
}

/// Incremental deletion–restriction construction in `R^d`, `d ≥ 3` (see the module docs).
fn incremental(normals: &[Vec<f64>], d: usize) -> Result<Vec<Vec<f64>>, ExactError> {
    let words = normals.len().div_ceil(64);
    let mut cells = vec![Cell {
        signs: vec![0; words],
        point: unit_vector(d, 0),
    }];
    let mut scratch = Vec::new();
    for (k, a) in normals.iter().enumerate() {
        let reflector = Householder::new(a);
        // Restricted arrangement {H_j ∩ H_k : j < k} in coordinates of H_k ≅ R^{d-1}.
        let mut restricted = Vec::with_capacity(k);
        for b in &normals[..k] {
            let full = reflector.apply(b);
            let nb = norm(&full[1..]);
            if nb <= NOISE {
                return Err(ExactError::Numerical(
                    "two hyperplanes are numerically coincident after merging".into(),
                ));
            }
            restricted.push(full[1..].iter().map(|x| x / nb).collect::<Vec<f64>>());
        }
        let groups = group_directions(&restricted, HYPERPLANE_TOL);
        let reps: Vec<Vec<f64>> = groups.reps.iter().map(|&i| restricted[i].clone()).collect();
        let sub = cells_of(&reps, d - 1)?;

        // Which old cell contains each restricted cell: sign vectors inherited from the restricted
        // arrangement (consistent with how it merged hyperplanes).
        let index: HashMap<&[u64], usize> = cells
            .iter()
            .enumerate()
            .map(|(i, c)| (c.signs.as_slice(), i))
            .collect();
        let mut split: Vec<Option<Vec<f64>>> = vec![None; cells.len()];
        let mut orphans: Vec<(Vec<u64>, Vec<f64>)> = Vec::new();
        for qr in &sub {
            let mut rep_positive = Vec::with_capacity(reps.len());
            for b in &reps {
                let v = dot(b, qr);
                if v.abs() <= NOISE {
                    return Err(ExactError::Numerical(
                        "a restricted cell point lies on a hyperplane".into(),
                    ));
                }
                rep_positive.push(v > 0.0);
            }
            let mut signs = vec![0u64; words];
            for (j, &(rep, same)) in groups.of.iter().enumerate() {
                if rep_positive[rep] == same {
                    set_bit(&mut signs, j);
                }
            }
            let mut lifted = vec![0.0; d];
            lifted[1..].copy_from_slice(qr);
            let q = reflector.apply(&lifted);
            match index.get(signs.as_slice()) {
                Some(&i) if split[i].is_some() => {
                    return Err(ExactError::Numerical(
                        "two restricted cells map to the same cell".into(),
                    ));
                }
                Some(&i) => split[i] = Some(q),
                // Cannot happen in exact arithmetic; the point is a verified witness of a cell, so
                // keep it rather than lose it.
                None => orphans.push((signs, q)),
            }
        }
        drop(index);

        let mut next = Vec::with_capacity(cells.len() + sub.len());
        for (cell, q) in cells.into_iter().zip(split) {
            match q {
                Some(q) => {
                    for side in [true, false] {
                        let (c, margin) = new_cell(normals, k, &cell.signs, &q, side, &mut scratch);
                        if margin <= NOISE {
                            return Err(ExactError::Numerical(format!(
                                "a split cell has no interior point (margin {margin:.3e})"
                            )));
                        }
                        next.push(c);
                    }
                }
                None => {
                    let v = dot(a, &cell.point);
                    if v.abs() > NOISE {
                        let mut c = cell;
                        if v > 0.0 {
                            set_bit(&mut c.signs, k);
                        }
                        next.push(c);
                    } else {
                        // The centre lies on H_k although H_k was not found to cut the cell: decide
                        // each side by max-margin centring instead.
                        let mut q = cell.point.clone();
                        axpy(-v, a, &mut q);
                        let q = normalized(q);
                        let mut any = false;
                        for side in [true, false] {
                            let (c, margin) =
                                new_cell(normals, k, &cell.signs, &q, side, &mut scratch);
                            if margin > NOISE {
                                next.push(c);
                                any = true;
                            }
                        }
                        if !any {
                            return Err(ExactError::Numerical(
                                "a cell vanished when adding a hyperplane".into(),
                            ));
                        }
                    }
                }
            }
        }
        for (signs, q) in orphans {
            for side in [true, false] {
                let (c, margin) = new_cell(normals, k, &signs, &q, side, &mut scratch);
                if margin > NOISE {
                    next.push(c);
                }
            }
        }
        cells = next;
    }
    Ok(cells.into_iter().map(|c| c.point).collect())
}

/// The cell with sign bits `signs` over hyperplanes `0..k` and side `side` of hyperplane `k`, given a
/// point `q` on `H_k` inside the old cell. Returns the cell at its max-margin point and that margin
/// `min_j s_j a_j·x` (≤ 0 if the cell is empty numerically).
fn new_cell(
    normals: &[Vec<f64>],
    k: usize,
    signs: &[u64],
    q: &[f64],
    side: bool,
    constraints: &mut Vec<f64>,
) -> (Cell, f64) {
    let d = q.len();
    constraints.clear();
    for (j, a) in normals[..=k].iter().enumerate() {
        let positive = if j == k { side } else { get_bit(signs, j) };
        let s = if positive { 1.0 } else { -1.0 };
        constraints.extend(a.iter().map(|x| s * x));
    }
    // Starting point q + t·(±a_k): the largest t keeping margin t on every old constraint,
    // i.e. t = min_j c_j / (1 - e_j) with c_j = g_j·q, e_j = g_j·(±a_k).
    let dir = &constraints[k * d..];
    let mut t = STEP_CAP;
    for g in constraints[..k * d].chunks_exact(d) {
        let slack = 1.0 - dot(g, dir);
        if slack > 0.0 {
            t = t.min(dot(g, q) / slack);
        }
    }
    let mut start = q.to_vec();
    axpy(t, dir, &mut start);
    let (point, margin) = recenter(constraints, d, normalized(start));
    let mut new_signs = signs.to_vec();
    if side {
        set_bit(&mut new_signs, k);
    }
    (
        Cell {
            signs: new_signs,
            point,
        },
        margin,
    )
}

// ---------------------------------------------------------------------------------------------
// Max-margin centring (Wolfe's minimum-norm point).
// ---------------------------------------------------------------------------------------------

/// `min_j g_j·x` over the rows `g_j` (length `d`) of `g`.
fn margin_of(g: &[f64], d: usize, x: &[f64]) -> f64 {
    g.chunks_exact(d)
        .map(|gj| dot(gj, x))
        .fold(f64::INFINITY, f64::min)
}

/// The better (by measured margin) of `start` and the max-margin unit point of
/// `{x : g_j·x > 0 ∀j}` (rows `g_j` of `g`, unit), with its margin `min_j g_j·x`.
fn recenter(g: &[f64], d: usize, start: Vec<f64>) -> (Vec<f64>, f64) {
    let start_margin = margin_of(g, d, &start);
    let first = g
        .chunks_exact(d)
        .map(|gj| dot(gj, &start))
        .enumerate()
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map_or(0, |(j, _)| j);
    let z = min_norm_point(g, d, first);
    let nz = norm(&z);
    if nz > 0.0 && nz.is_finite() {
        let u: Vec<f64> = z.iter().map(|x| x / nz).collect();
        let m = margin_of(g, d, &u);
        if m > start_margin {
            return (u, m);
        }
    }
    (start, start_margin)
}

/// Minimum-norm point of `conv{g_j}` (rows of `g`, length `d`) by Wolfe's algorithm (1976), started
/// at vertex `first`. If `z ≠ 0` then `z/‖z‖` maximises `min_j g_j·x` over unit `x`, with value `‖z‖`
/// (for unit `g_j`: `g_j·z ≥ ‖z‖²` at the optimum, and `min_j g_j·x ≤ z·x ≤ ‖z‖`).
/// Returns the best iterate reached if the iteration stalls numerically.
fn min_norm_point(g: &[f64], d: usize, first: usize) -> Vec<f64> {
    let m = g.len() / d;
    let row = |j: usize| &g[j * d..(j + 1) * d];
    let mut set: Vec<usize> = vec![first];
    let mut lam: Vec<f64> = vec![1.0];
    let mut x = row(first).to_vec();
    for _ in 0..(4 * (m + d) + 20) {
        let xx = dot(&x, &x);
        let Some((j, gx)) = (0..m)
            .map(|j| (j, dot(row(j), &x)))
            .min_by(|a, b| a.1.total_cmp(&b.1))
        else {
            break;
        };
        if gx >= xx - 1e-15 || set.contains(&j) {
            break;
        }
        set.push(j);
        lam.push(0.0);
        // Minor cycle: move to the affine minimiser of the corral, dropping vertices whose weight
        // would turn negative.
        loop {
            let Some(mu) = affine_minimizer(g, d, &set) else {
                return x;
            };
            if mu.iter().all(|&v| v > 1e-14) {
                lam = mu;
                break;
            }
            let mut theta = 1.0_f64;
            let mut drop_at = 0;
            for (i, (&l, &u)) in lam.iter().zip(&mu).enumerate() {
                if u <= 1e-14 {
                    let t = if l - u > 0.0 { l / (l - u) } else { 0.0 };
                    if t < theta {
                        theta = t;
                        drop_at = i;
                    }
                }
            }
            for (l, u) in lam.iter_mut().zip(&mu) {
                *l = (1.0 - theta) * *l + theta * u;
            }
            lam[drop_at] = 0.0;
            let mut i = 0;
            while i < set.len() {
                if lam[i] <= 1e-16 {
                    set.swap_remove(i);
                    lam.swap_remove(i);
                } else {
                    i += 1;
                }
            }
            let total: f64 = lam.iter().sum();
            if set.is_empty() || total <= 0.0 {
                return x;
            }
            lam.iter_mut().for_each(|l| *l /= total);
        }
        x = vec![0.0; d];
        for (&i, &l) in set.iter().zip(&lam) {
            axpy(l, row(i), &mut x);
        }
    }
    x
}

/// Weights `μ` (summing to 1) of the minimum-norm point of the affine hull of `{g_i : i ∈ set}`:
/// the solution of `[G Gᵀ 1; 1ᵀ 0] [μ; ν] = [0; 1]`. `None` if the vertices are affinely dependent.
fn affine_minimizer(g: &[f64], d: usize, set: &[usize]) -> Option<Vec<f64>> {
    let s = set.len();
    let n = s + 1;
    let mut a = vec![0.0; n * (n + 1)]; // augmented [K | rhs]
    for (r, &i) in set.iter().enumerate() {
        for (c, &j) in set.iter().enumerate() {
            a[r * (n + 1) + c] = dot(&g[i * d..(i + 1) * d], &g[j * d..(j + 1) * d]);
        }
        a[r * (n + 1) + s] = 1.0;
        a[s * (n + 1) + r] = 1.0;
    }
    a[s * (n + 1) + n] = 1.0;
    let x = solve_dense(&mut a, n)?;
    Some(x[..s].to_vec())
}

/// Solves the `n × n` system stored row-major with its right-hand side as an extra column in `a`
/// (Gaussian elimination, partial pivoting). `None` if numerically singular.
fn solve_dense(a: &mut [f64], n: usize) -> Option<Vec<f64>> {
    let w = n + 1;
    let scale = a.iter().fold(0.0_f64, |m, v| m.max(v.abs())).max(1.0);
    for col in 0..n {
        let piv =
            (col..n).max_by(|&r1, &r2| a[r1 * w + col].abs().total_cmp(&a[r2 * w + col].abs()))?;
        if a[piv * w + col].abs() <= 1e-13 * scale {
            return None;
        }
        if piv != col {
            for c in 0..w {
                a.swap(piv * w + c, col * w + c);
            }
        }
        let p = a[col * w + col];
        for r in (col + 1)..n {
            let f = a[r * w + col] / p;
            if f != 0.0 {
                for c in col..w {
                    a[r * w + c] -= f * a[col * w + c];
                }
            }
        }
    }
    let mut x = vec![0.0; n];
    for r in (0..n).rev() {
        let mut v = a[r * w + n];
        for c in (r + 1)..n {
            v -= a[r * w + c] * x[c];
        }
        x[r] = v / a[r * w + r];
    }
    x.iter().all(|v| v.is_finite()).then_some(x)
}

// ---------------------------------------------------------------------------------------------
// Small dense helpers.
// ---------------------------------------------------------------------------------------------

/// Householder reflector `H = I − 2 v vᵀ / vᵀv` with `H a = ∓e_1` for the unit vector `a`, so rows
/// 2..d of `H` are an orthonormal basis of `a^⊥`; `H` is symmetric and orthogonal.
struct Householder {
    v: Vec<f64>,
    scale: f64,
}

impl Householder {
    fn new(a: &[f64]) -> Self {
        let mut v = a.to_vec();
        v[0] += if a[0] >= 0.0 { 1.0 } else { -1.0 };
        let scale = 2.0 / dot(&v, &v); // vᵀv ≥ 1 because |v_0| ≥ 1
        Self { v, scale }
    }

    fn apply(&self, x: &[f64]) -> Vec<f64> {
        let f = self.scale * dot(&self.v, x);
        x.iter().zip(&self.v).map(|(xi, vi)| xi - f * vi).collect()
    }
}

/// Groups of unit vectors that are equal up to sign within `tol`.
struct DirectionGroups {
    /// Index (into the input) of each group's representative, in order of first occurrence.
    reps: Vec<usize>,
    /// For each input vector: (its group, whether it has the representative's orientation).
    of: Vec<(usize, bool)>,
}

/// `f64` ordered by `total_cmp`, for use as a map key.
#[derive(Clone, Copy, PartialEq)]
struct Key(f64);
impl Eq for Key {}
impl PartialOrd for Key {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Key {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.total_cmp(&other.0)
    }
}

/// Greedy grouping of unit vectors equal up to sign within `tol` (first occurrence is the
/// representative). Candidates are found through a sorted index of the projections `w·(±u_rep)` on
/// a fixed generic direction `w` (`|w·u − w·v| ≤ ‖u − v‖`), so this is `O(n log n)` for inputs
/// without massive projection coincidences.
fn group_directions(units: &[Vec<f64>], tol: f64) -> DirectionGroups {
    let mut reps = Vec::new();
    let mut of = Vec::with_capacity(units.len());
    let Some(d) = units.first().map(Vec::len) else {
        return DirectionGroups { reps, of };
    };
    let w = normalized(
        (0..d)
            .map(|i| 0.3 + ((i + 1) as f64 * 0.754_877_666_246_692_7).fract())
            .collect(),
    );
    // (projection, entry id) -> (group, entry is the negated representative)
    let mut index: BTreeMap<(Key, usize), (usize, bool)> = BTreeMap::new();
    for (i, u) in units.iter().enumerate() {
        let key = dot(&w, u);
        let found = index
            .range((Key(key - 2.0 * tol), 0)..=(Key(key + 2.0 * tol), usize::MAX))
            .find_map(|(_, &(group, negated))| {
                let rep = &units[reps[group]];
                let dist2: f64 = if negated {
                    u.iter().zip(rep).map(|(x, y)| (x + y) * (x + y)).sum()
                } else {
                    u.iter().zip(rep).map(|(x, y)| (x - y) * (x - y)).sum()
                };
                (dist2 <= tol * tol).then_some((group, !negated))
            });
        match found {
            Some(g) => of.push(g),
            None => {
                let group = reps.len();
                reps.push(i);
                index.insert((Key(key), 2 * group), (group, false));
                index.insert((Key(-key), 2 * group + 1), (group, true));
                of.push((group, true));
            }
        }
    }
    DirectionGroups { reps, of }
}

/// Orthonormal basis of the span of `vectors` (unit), by Gram–Schmidt with pivoting on the largest
/// residual (re-orthogonalised); vectors with residual ≤ `tol` count as in the span.
fn orthonormal_basis(vectors: &[Vec<f64>], tol: f64) -> Vec<Vec<f64>> {
    let Some(d) = vectors.first().map(Vec::len) else {
        return Vec::new();
    };
    let mut residuals: Vec<Vec<f64>> = vectors.to_vec();
    let mut basis: Vec<Vec<f64>> = Vec::new();
    while basis.len() < d {
        let Some((best, best_norm)) = residuals
            .iter()
            .map(|r| norm(r))
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(&b.1))
        else {
            break;
        };
        if best_norm.is_nan() || best_norm <= tol {
            break;
        }
        let mut q = residuals[best].clone();
        for b in &basis {
            let c = dot(b, &q);
            axpy(-c, b, &mut q);
        }
        let q = normalized(q);
        for r in &mut residuals {
            let c = dot(&q, r);
            axpy(-c, &q, r);
        }
        basis.push(q);
    }
    basis
}

/// `v/‖v‖` (callers guarantee `v ≠ 0`).
fn normalized(mut v: Vec<f64>) -> Vec<f64> {
    let n = norm(&v);
    v.iter_mut().for_each(|x| *x /= n);
    v
}

fn unit_vector(d: usize, i: usize) -> Vec<f64> {
    let mut e = vec![0.0; d];
    e[i] = 1.0;
    e
}

fn set_bit(bits: &mut [u64], j: usize) {
    bits[j / 64] |= 1 << (j % 64);
}

fn get_bit(bits: &[u64], j: usize) -> bool {
    bits[j / 64] >> (j % 64) & 1 == 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array2, s};
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;
    use rand_distr::StandardNormal;
    use std::collections::HashSet;

    fn gaussian(rng: &mut ChaCha8Rng, n: usize, h: usize) -> Array2<f64> {
        Array2::from_shape_fn((n, h), |_| rng.sample(StandardNormal))
    }

    fn integer_rows(rng: &mut ChaCha8Rng, n: usize, h: usize, max: i64) -> Array2<f64> {
        Array2::from_shape_fn((n, h), |_| rng.random_range(-max..=max) as f64)
    }

    /// Sign vector of `x` over the nonzero rows of `rows`, or `None` if some |m·x| < margin·‖m‖‖x‖.
    fn signs(rows: &Array2<f64>, x: &[f64], margin: f64) -> Option<Vec<bool>> {
        let nx = norm(x);
        let mut out = Vec::new();
        for row in rows.rows() {
            let scale = row.iter().fold(0.0_f64, |m, v| m.max(v.abs()));
            if scale == 0.0 {
                continue;
            }
            let m: Vec<f64> = row.iter().map(|v| v / scale).collect();
            let v = dot(&m, x);
            if v.abs() < margin * norm(&m) * nx {
                return None;
            }
            out.push(v > 0.0);
        }
        Some(out)
    }

    /// Checks the output contract on `rows` and returns the set of sign vectors.
    fn checked(rows: &Array2<f64>, points: &[Vec<f64>]) -> HashSet<Vec<bool>> {
        let mut set = HashSet::new();
        for g in points {
            assert_eq!(g.len(), rows.ncols(), "point dimension");
            assert!((norm(g) - 1.0).abs() < 1e-12, "‖g‖ = {} ≠ 1", norm(g));
            let sv = signs(rows, g, MIN_MARGIN)
                .unwrap_or_else(|| panic!("point {g:?} has relative margin < {MIN_MARGIN}"));
            assert!(set.insert(sv), "duplicate sign vector for point {g:?}");
        }
        set
    }

    fn enumerate_checked(rows: &Array2<f64>) -> HashSet<Vec<bool>> {
        let points = enumerate_cells(rows.view(), usize::MAX).expect("enumeration succeeds");
        let set = checked(rows, &points);
        assert_eq!(set.len(), points.len(), "distinct sign vectors vs points");
        set
    }

    /// Sign vectors of `samples` Gaussian directions whose margin exceeds 1e-6 (at most 64 rows).
    fn sampled(rows: &Array2<f64>, rng: &mut ChaCha8Rng, samples: usize) -> HashSet<Vec<bool>> {
        let h = rows.ncols();
        let units: Vec<Vec<f64>> = rows
            .rows()
            .into_iter()
            .map(|r| r.to_vec())
            .filter(|r| norm(r) > 0.0)
            .map(normalized)
            .collect();
        assert!(units.len() <= 64, "packed sign vectors hold 64 rows");
        let mut x = vec![0.0; h];
        let mut packed = HashSet::new();
        'sample: for _ in 0..samples {
            x.iter_mut().for_each(|v| *v = rng.sample(StandardNormal));
            let nx = norm(&x);
            let mut bits = 0u64;
            for (j, u) in units.iter().enumerate() {
                let v = dot(u, &x);
                if v.abs() < 1e-6 * nx {
                    continue 'sample;
                }
                bits |= u64::from(v > 0.0) << j;
            }
            packed.insert(bits);
        }
        packed
            .into_iter()
            .map(|bits| (0..units.len()).map(|j| bits >> j & 1 == 1).collect())
            .collect()
    }

    /// Rank of an integer matrix (fraction-free Bareiss elimination, exact).
    fn integer_rank(rows: &[Vec<i128>]) -> usize {
        let mut m = rows.to_vec();
        let cols = m.first().map_or(0, Vec::len);
        let (mut rank, mut prev) = (0, 1i128);
        for c in 0..cols {
            if rank == m.len() {
                break;
            }
            let Some(p) = (rank..m.len()).find(|&r| m[r][c] != 0) else {
                continue;
            };
            m.swap(rank, p);
            for r in rank + 1..m.len() {
                for k in c + 1..cols {
                    m[r][k] = (m[rank][c] * m[r][k] - m[r][c] * m[rank][k]) / prev;
                }
                m[r][c] = 0;
            }
            prev = m[rank][c];
            rank += 1;
        }
        rank
    }

    /// Exact number of regions of the central arrangement of integer rows, by Whitney's formula
    /// r(A) = Σ_{B ⊆ A} (−1)^{|B| − rank B} over subsets of the distinct hyperplanes.
    fn whitney_count(rows: &Array2<f64>) -> usize {
        let mut planes: Vec<Vec<i128>> = Vec::new();
        for r in rows.rows() {
            let v: Vec<i128> = r.iter().map(|&x| x as i128).collect();
            let parallel = |p: &Vec<i128>| integer_rank(&[p.clone(), v.clone()]) == 1;
            if v.iter().any(|&x| x != 0) && !planes.iter().any(parallel) {
                planes.push(v);
            }
        }
        let n = planes.len();
        let total: i64 = (0u32..1 << n)
            .map(|mask| {
                let subset: Vec<Vec<i128>> = (0..n)
                    .filter(|&j| mask >> j & 1 == 1)
                    .map(|j| planes[j].clone())
                    .collect();
                if (subset.len() - integer_rank(&subset)).is_multiple_of(2) {
                    1
                } else {
                    -1
                }
            })
            .sum();
        usize::try_from(total).expect("region count is positive")
    }

    #[test]
    fn cell_count_bound_matches_known_values() {
        assert_eq!(cell_count_bound(0, 0), 1.0);
        assert_eq!(cell_count_bound(0, 5), 1.0);
        for n in 1..40 {
            let nf = n as f64;
            let r2 = cell_count_bound(n, 2);
            assert_eq!(
                r2,
                if n == 1 { 2.0 } else { 2.0 * nf },
                "R^2, N = {n}: {r2} vs 2N"
            );
            if n >= 3 {
                let r3 = cell_count_bound(n, 3);
                let want = nf * nf - nf + 2.0;
                assert_eq!(r3, want, "R^3, N = {n}: {r3} vs N²−N+2 = {want}");
            }
            for rank in [n, n + 1, n + 10] {
                let b = cell_count_bound(n, rank);
                assert_eq!(b, 2f64.powi(n as i32), "rank {rank} ≥ N = {n}: {b} vs 2^N");
            }
        }
        assert_eq!(cell_count_bound(60, 3), 3542.0, "60 planes in R^3");
        assert_eq!(
            cell_count_bound(5000, 2500),
            f64::INFINITY,
            "overflow saturates"
        );
        assert_eq!(cell_count_bound(5, 1), 2.0, "rank 1");
    }

    #[test]
    fn distinct_hyperplanes_merges_multiples_and_drops_zero_rows() {
        let rows = ndarray::array![
            [0.0, 0.0, 0.0],
            [1.0, 2.0, 3.0],
            [-2.0, -4.0, -6.0],
            [3.0, 6.0, 9.0],
            [1.0, 2.0, 3.0 + 1e-13],
            [0.0, 1.0, 0.0],
            [0.0, -0.5, 0.0],
            [1.0, 3.0, 4.0],
        ];
        let hp = distinct_hyperplanes(rows.view());
        assert_eq!(
            hp.normals.len(),
            3,
            "distinct hyperplanes: {} vs 3",
            hp.normals.len()
        );
        assert_eq!(hp.rank, 3, "rank: {} vs 3", hp.rank);
        let n14 = 14f64.sqrt();
        let first = [1.0 / n14, 2.0 / n14, 3.0 / n14];
        for (x, y) in hp.normals[0].iter().zip(first) {
            assert!(
                (x - y).abs() < 1e-15,
                "first normal {:?} vs {first:?}",
                hp.normals[0]
            );
        }
        let flat = ndarray::array![[1.0, 1.0, 0.0], [2.0, -1.0, 0.0], [-3.0, 0.0, 0.0]];
        let hp = distinct_hyperplanes(flat.view());
        assert_eq!(
            (hp.normals.len(), hp.rank),
            (3, 2),
            "rows in a plane: (count, rank)"
        );
        let none = Array2::<f64>::zeros((4, 3));
        let hp = distinct_hyperplanes(none.view());
        assert_eq!(
            (hp.normals.len(), hp.rank),
            (0, 0),
            "all-zero rows: (count, rank)"
        );
    }

    #[test]
    fn general_position_lines_in_plane_give_2n_cells() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for n in [1, 2, 3, 8, 11, 15] {
            let rows = gaussian(&mut rng, n, 2);
            let cells = enumerate_checked(&rows).len();
            assert_eq!(
                cells,
                2 * n,
                "N = {n} lines in R^2: {cells} cells vs 2N = {}",
                2 * n
            );
        }
    }

    #[test]
    fn general_position_planes_in_space_give_n2_minus_n_plus_2_cells() {
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        for n in [3, 4, 8, 12, 15] {
            let rows = gaussian(&mut rng, n, 3);
            let cells = enumerate_checked(&rows).len();
            let want = n * n - n + 2;
            assert_eq!(
                cells, want,
                "N = {n} planes in R^3: {cells} cells vs N²−N+2 = {want}"
            );
        }
    }

    #[test]
    fn general_position_counts_equal_bound_in_higher_dimensions() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for (n, h) in [(4, 4), (9, 4), (12, 4), (8, 5), (9, 6)] {
            let rows = gaussian(&mut rng, n, h);
            let cells = enumerate_checked(&rows).len();
            let bound = cell_count_bound(n, h.min(n));
            assert_eq!(
                cells as f64, bound,
                "N = {n} in R^{h}: {cells} cells vs bound {bound}"
            );
        }
    }

    #[test]
    fn brute_force_sampling_finds_no_cell_missing_from_enumeration() {
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        for (n, h) in [(6, 3), (12, 3), (7, 4), (12, 4)] {
            let rows = gaussian(&mut rng, n, h);
            let exact = enumerate_checked(&rows);
            let seen = sampled(&rows, &mut rng, 20_000);
            let missing = seen.difference(&exact).count();
            assert_eq!(
                missing, 0,
                "N = {n}, h = {h}: {missing} sampled patterns not enumerated"
            );
            let bound = cell_count_bound(n, h);
            assert_eq!(
                exact.len() as f64,
                bound,
                "N = {n}, h = {h}: {} vs bound {bound}",
                exact.len()
            );
        }
    }

    #[test]
    fn brute_force_sampling_agrees_on_degenerate_integer_rows() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        for (n, h) in [(12, 3), (8, 4), (11, 4), (9, 5)] {
            let rows = integer_rows(&mut rng, n, h, 2);
            let exact = enumerate_checked(&rows);
            let seen = sampled(&rows, &mut rng, 20_000);
            let missing = seen.difference(&exact).count();
            assert_eq!(
                missing, 0,
                "N = {n}, h = {h}: {missing} sampled patterns not enumerated"
            );
            let hp = distinct_hyperplanes(rows.view());
            let bound = cell_count_bound(hp.normals.len(), hp.rank);
            assert!(
                exact.len() as f64 <= bound,
                "{} cells vs bound {bound}",
                exact.len()
            );
        }
    }

    #[test]
    fn degenerate_integer_rows_match_whitney_formula_count() {
        let mut rng = ChaCha8Rng::seed_from_u64(6);
        for (n, h, max) in [
            (10, 3, 1),
            (10, 3, 2),
            (9, 3, 3),
            (9, 4, 1),
            (10, 4, 2),
            (8, 5, 1),
            (9, 5, 2),
        ] {
            for _ in 0..3 {
                let rows = integer_rows(&mut rng, n, h, max);
                let cells = enumerate_checked(&rows).len();
                let want = whitney_count(&rows);
                assert_eq!(
                    cells, want,
                    "integer rows {rows}: {cells} cells vs Whitney count {want}"
                );
            }
        }
    }

    #[test]
    fn braid_arrangement_has_n_factorial_cells() {
        for (n, factorial) in [(3, 6), (4, 24), (5, 120)] {
            let mut rows = Vec::new();
            for i in 0..n {
                for j in i + 1..n {
                    let mut r = vec![0.0; n];
                    r[i] = 1.0;
                    r[j] = -1.0;
                    rows.extend(r);
                }
            }
            let rows = Array2::from_shape_vec((n * (n - 1) / 2, n), rows).expect("shape");
            let cells = enumerate_checked(&rows).len();
            assert_eq!(
                cells, factorial,
                "braid arrangement in R^{n}: {cells} vs {n}! = {factorial}"
            );
        }
    }

    #[test]
    fn coordinate_hyperplanes_give_2_to_the_h_cells() {
        for h in 1..=6 {
            let rows = Array2::<f64>::eye(h);
            let cells = enumerate_checked(&rows).len();
            assert_eq!(
                cells,
                1 << h,
                "coordinate arrangement in R^{h}: {cells} vs 2^h"
            );
        }
    }

    #[test]
    fn zero_duplicate_negated_and_scaled_rows_do_not_change_cells() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        for h in [2, 3, 4] {
            let base = gaussian(&mut rng, 7, h);
            let base_cells = enumerate_cells(base.view(), usize::MAX).expect("base");
            let mut extended = Array2::zeros((7 + 6, h));
            extended.slice_mut(s![..7, ..]).assign(&base);
            extended.row_mut(8).assign(&base.row(0));
            extended.row_mut(9).assign(&(&base.row(1) * -1.0));
            extended.row_mut(10).assign(&(&base.row(2) * 3.5));
            extended.row_mut(11).assign(&(&base.row(3) * -0.25));
            extended.row_mut(12).assign(&base.row(6));
            let cells = enumerate_cells(extended.view(), usize::MAX).expect("extended");
            checked(&extended, &cells);
            assert_eq!(
                cells.len(),
                base_cells.len(),
                "h = {h}: {} vs {}",
                cells.len(),
                base_cells.len()
            );
            let base_set = checked(&base, &base_cells);
            let ext_set = checked(&base, &cells);
            assert_eq!(base_set, ext_set, "h = {h}: same patterns on the base rows");
        }
    }

    #[test]
    fn rows_spanning_a_plane_in_r3_give_2n_cells() {
        let mut rng = ChaCha8Rng::seed_from_u64(8);
        let basis = gaussian(&mut rng, 2, 3);
        for n in [1, 2, 5, 9] {
            let coeffs = gaussian(&mut rng, n, 2);
            let rows = coeffs.dot(&basis);
            let cells = enumerate_checked(&rows).len();
            assert_eq!(
                cells,
                2 * n,
                "{n} rows spanning a plane of R^3: {cells} vs 2N = {}",
                2 * n
            );
        }
        // Rank 3 inside R^5.
        let basis = gaussian(&mut rng, 3, 5);
        let rows = gaussian(&mut rng, 8, 3).dot(&basis);
        let cells = enumerate_checked(&rows).len();
        assert_eq!(
            cells,
            8 * 8 - 8 + 2,
            "8 rows spanning a 3-space of R^5: {cells} vs 58"
        );
    }

    #[test]
    fn one_dimensional_and_empty_inputs() {
        let rows = ndarray::array![[2.0], [0.0], [-3.0]];
        let cells = enumerate_cells(rows.view(), 10).expect("h = 1");
        assert_eq!(cells, vec![vec![-1.0], vec![1.0]], "h = 1 cells");
        let extreme = ndarray::array![[1e300, 2e300], [3e-300, -1e-300], [0.0, 5e-320]];
        let cells = enumerate_cells(extreme.view(), 10).expect("extreme magnitudes");
        let set = checked(&extreme, &cells);
        assert_eq!(
            set.len(),
            6,
            "3 lines of extreme magnitude: {} cells vs 6",
            set.len()
        );
        let zeros = Array2::<f64>::zeros((3, 4));
        let cells = enumerate_cells(zeros.view(), 10).expect("zero rows");
        assert_eq!(
            cells,
            vec![vec![1.0, 0.0, 0.0, 0.0]],
            "all-zero rows: one cell"
        );
        let empty = Array2::<f64>::zeros((0, 2));
        let cells = enumerate_cells(empty.view(), 1).expect("no rows");
        assert_eq!(cells.len(), 1, "no rows: {} cells vs 1", cells.len());
        let bad = ndarray::array![[1.0, f64::NAN]];
        assert!(matches!(
            enumerate_cells(bad.view(), 10),
            Err(ExactError::Numerical(_))
        ));
    }

    #[test]
    fn bound_above_limit_is_refused_with_too_large() {
        let mut rng = ChaCha8Rng::seed_from_u64(9);
        let rows = gaussian(&mut rng, 30, 6);
        let bound = cell_count_bound(30, 6);
        let err = enumerate_cells(rows.view(), 1000).expect_err("must refuse");
        assert_eq!(
            err,
            ExactError::TooLarge {
                bound,
                limit: 1000,
                hyperplanes: 30,
                rank: 6
            },
            "refusal carries bound, limit, hyperplanes and rank"
        );
        let msg = err.to_string();
        assert!(
            msg.contains("sample") && msg.contains("max_patterns"),
            "message: {msg}"
        );
        // A limit equal to the bound is accepted.
        let rows = gaussian(&mut rng, 10, 3);
        let cells = enumerate_cells(rows.view(), 92).expect("bound 92 ≤ limit 92");
        assert_eq!(cells.len(), 92, "10 planes in R^3: {} vs 92", cells.len());
    }

    #[test]
    fn output_is_deterministic_and_sorted_by_sign_vector() {
        let mut rng = ChaCha8Rng::seed_from_u64(10);
        let rows = gaussian(&mut rng, 9, 4);
        let a = enumerate_cells(rows.view(), usize::MAX).expect("first run");
        let b = enumerate_cells(rows.view(), usize::MAX).expect("second run");
        assert_eq!(a, b, "two runs differ");
        let keys: Vec<Vec<bool>> = a
            .iter()
            .map(|g| signs(&rows, g, 0.0).expect("interior"))
            .collect();
        assert!(
            keys.windows(2).all(|w| w[0] < w[1]),
            "points not sorted by sign vector"
        );
    }

    #[test]
    fn points_are_max_margin_centres() {
        // The cells of the coordinate arrangement are orthants; their centres are (±1,…,±1)/√h.
        let cells = enumerate_cells(Array2::<f64>::eye(3).view(), 8).expect("orthants");
        for g in &cells {
            for x in g {
                assert!(
                    (x.abs() - 1.0 / 3f64.sqrt()).abs() < 1e-9,
                    "orthant centre {g:?}"
                );
            }
        }
        // Margins in a random arrangement are far above the certified minimum.
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let rows = gaussian(&mut rng, 10, 3);
        let cells = enumerate_cells(rows.view(), usize::MAX).expect("random");
        let worst = cells
            .iter()
            .map(|g| {
                rows.rows()
                    .into_iter()
                    .map(|m| dot(&m.to_vec(), g).abs() / norm(&m.to_vec()))
                    .fold(f64::INFINITY, f64::min)
            })
            .fold(f64::INFINITY, f64::min);
        assert!(worst > 1e-4, "worst margin {worst:e} vs 1e-4");
    }

    #[test]
    fn larger_arrangements_in_r2_and_r3_have_exact_counts() {
        let mut rng = ChaCha8Rng::seed_from_u64(12);
        let rows = gaussian(&mut rng, 200, 2);
        let cells = enumerate_cells(rows.view(), usize::MAX)
            .expect("200 lines")
            .len();
        assert_eq!(cells, 400, "200 lines in R^2: {cells} vs 400");
        let rows = gaussian(&mut rng, 60, 3);
        let cells = enumerate_cells(rows.view(), usize::MAX)
            .expect("60 planes")
            .len();
        assert_eq!(cells, 3542, "60 planes in R^3: {cells} vs 3542");
    }

    /// Timings for the report; run with
    /// `cargo test --release --lib arrangement::exact -- --ignored --nocapture`.
    #[test]
    #[ignore = "timing report, meaningful in release mode only"]
    fn timing_of_large_general_position_arrangements() {
        let mut rng = ChaCha8Rng::seed_from_u64(13);
        for (n, h) in [(200, 2), (60, 3), (200, 3), (30, 4), (20, 5), (14, 7)] {
            let rows = gaussian(&mut rng, n, h);
            let start = std::time::Instant::now();
            let cells = enumerate_cells(rows.view(), usize::MAX)
                .expect("enumeration")
                .len();
            let elapsed = start.elapsed();
            let bound = cell_count_bound(n, h);
            assert_eq!(cells as f64, bound, "N = {n} in R^{h}: {cells} vs {bound}");
            eprintln!("N = {n:4} in R^{h}: {cells:6} cells in {elapsed:?}");
        }
    }
}
