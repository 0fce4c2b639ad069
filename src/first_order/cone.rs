//! Euclidean projection onto a polyhedral cone `K = {u : B u ≥ 0}` (one pattern's cone rows).
//!
//! By Moreau's decomposition `Π_K(v) = v − Π_{K°}(v)` with the polar `K° = {−Bᵀα : α ≥ 0}`, so
//! `Π_K(v) = v + Bᵀα*` where `α* = argmin_{α ≥ 0} ‖v + Bᵀα‖²`: a nonnegative least-squares problem with
//! `h` equations, solved by Lawson–Hanson's active-set method warm-started from the previous passive
//! set (the set rarely changes between first-order iterations, so most calls cost one small Cholesky
//! and one product with `B`). `α*` are the multipliers of the rows.
//!
//! Two facts the solvers use: `max {⟨g, u⟩ : u ∈ K, ‖u‖ ≤ 1} = ‖Π_K(g)‖` (the dual check of a
//! pattern), and for a radial penalty `prox_{τ‖·‖ + ι_K}(v) = shrink_τ(Π_K(v))` (the prox of a block).

use ndarray::{Array2, ArrayView2};

use crate::linalg::{NnlsWork, cholesky_solve, dot};

/// One cone with unit-norm rows.
#[derive(Debug, Clone)]
pub struct PolyCone {
    /// Rows of `B` scaled to unit norm, row-major `[m, h]` (zero rows dropped).
    rows: Vec<f64>,
    /// Original norm of each kept row.
    norms: Vec<f64>,
    h: usize,
    /// Gram matrix of the unit rows (`m × m`), cached when `m ≤ GRAM_ROWS`.
    gram: Option<Vec<f64>>,
}

/// Cones with at most this many rows cache their rows' Gram matrix.
const GRAM_ROWS: usize = 160;

/// Warm-start state of one projection: the passive set of the last call.
#[derive(Debug, Clone, Default)]
pub struct ProjState {
    passive: Vec<usize>,
}

/// Smallest Cholesky pivot (squared distance of a unit row to the span of the passive rows) for
/// which an entering row counts as independent. A row closer than `√PIVOT` to that span can only be
/// violated by about `√PIVOT · ‖u‖` (it is orthogonal to `u` up to that distance), so this bounds
/// the relative violation a dependent entering row can leave behind.
const PIVOT: f64 = 1e-20;

/// Relative tolerance of the optimality test (`B̂_j u ≥ −tol·‖v‖`).
const TOL: f64 = 1e-13;

impl PolyCone {
    /// From the signed rows `B` (`[m, h]`).
    pub fn new(b: ArrayView2<f64>) -> Self {
        let h = b.ncols();
        let mut rows = Vec::with_capacity(b.len());
        let mut norms = Vec::with_capacity(b.nrows());
        for r in b.outer_iter() {
            let nrm = r.dot(&r).sqrt();
            if nrm > 0.0 {
                rows.extend(r.iter().map(|v| v / nrm));
                norms.push(nrm);
            }
        }
        let m = norms.len();
        let gram = (m <= GRAM_ROWS).then(|| {
            let mut g = vec![0.0; m * m];
            for a in 0..m {
                for b in 0..=a {
                    let v = dot(&rows[a * h..(a + 1) * h], &rows[b * h..(b + 1) * h]);
                    g[a * m + b] = v;
                    g[b * m + a] = v;
                }
            }
            g
        });
        Self {
            rows,
            norms,
            h,
            gram,
        }
    }

    /// Number of (nonzero) rows.
    pub fn len(&self) -> usize {
        self.norms.len()
    }

    /// True when the cone has no rows (it is the whole space).
    pub fn is_empty(&self) -> bool {
        self.norms.is_empty()
    }

    /// Unit row `j` (indices as returned by [`project`](Self::project)).
    pub fn row(&self, j: usize) -> &[f64] {
        &self.rows[j * self.h..(j + 1) * self.h]
    }

    /// Smallest `B̂_j u` over the unit-norm rows (≥ 0 when `u ∈ K`).
    pub fn min_row_value(&self, u: &[f64]) -> f64 {
        (0..self.len())
            .map(|j| dot(self.row(j), u))
            .fold(f64::INFINITY, f64::min)
    }

    /// Smallest `B_j u` over the original rows (≥ 0 when `u ∈ K`).
    pub fn min_scaled_row_value(&self, u: &[f64]) -> f64 {
        (0..self.len())
            .map(|j| self.norms[j] * dot(self.row(j), u))
            .fold(f64::INFINITY, f64::min)
    }

    /// Multipliers of the original (unnormalized) rows from those of the unit rows; rows that were
    /// zero get 0. `m` is the original row count.
    pub fn original_multipliers(
        &self,
        b: ArrayView2<f64>,
        alpha_unit: &[(usize, f64)],
    ) -> Vec<f64> {
        let mut kept = Vec::with_capacity(self.len());
        for (r, row) in b.outer_iter().enumerate() {
            if row.dot(&row) > 0.0 {
                kept.push(r);
            }
        }
        let mut out = vec![0.0; b.nrows()];
        for &(j, a) in alpha_unit {
            out[kept[j]] = a / self.norms[j];
        }
        out
    }

    /// `out ← Π_K(v)`; returns the passive rows and their multipliers (of the unit rows).
    ///
    /// Lawson–Hanson on the normal equations, warm-started from `state`, whose answer is kept only
    /// when it passes [`is_projection`]; otherwise the QR-based Lawson–Hanson of
    /// [`NnlsWork`] solves from scratch.
    pub fn project(&self, v: &[f64], out: &mut [f64], state: &mut ProjState) -> Vec<(usize, f64)> {
        let passive = self.project_normal(v, out, state);
        if is_projection(v, out) {
            passive
        } else {
            self.project_qr(v, out, state)
        }
    }

    /// The fast attempt of [`project`](Self::project): Lawson–Hanson on the normal equations of
    /// the passive rows.
    fn project_normal(
        &self,
        v: &[f64],
        out: &mut [f64],
        state: &mut ProjState,
    ) -> Vec<(usize, f64)> {
        let h = self.h;
        debug_assert_eq!(v.len(), h);
        out.copy_from_slice(v);
        if self.is_empty() {
            state.passive.clear();
            return Vec::new();
        }
        let vn = dot(v, v).sqrt();
        if vn == 0.0 {
            return Vec::new();
        }
        let tol = TOL * vn;
        let mut passive: Vec<usize> = state.passive.clone();
        passive.retain(|&j| j < self.len());
        let mut alpha: Vec<f64> = Vec::new();
        // Warm start: the least-squares solution on the old passive set, shrunk until positive.
        loop {
            if passive.is_empty() {
                alpha.clear();
                break;
            }
            match self.least_squares(v, &passive) {
                Some(a) if a.iter().all(|&x| x > 0.0) => {
                    alpha = a;
                    break;
                }
                Some(a) => {
                    let keep: Vec<usize> = passive
                        .iter()
                        .zip(&a)
                        .filter(|(_, x)| **x > 0.0)
                        .map(|(j, _)| *j)
                        .collect();
                    passive = keep;
                }
                None => passive.clear(),
            }
        }
        let mut in_passive = vec![false; self.len()];
        for &j in &passive {
            in_passive[j] = true;
        }
        let max_steps = 3 * self.len() + 10;
        for _ in 0..max_steps {
            self.combine(v, &passive, &alpha, out);
            // The most violated row outside the passive set.
            let mut worst = -tol;
            let mut enter = usize::MAX;
            for (j, &passive_j) in in_passive.iter().enumerate() {
                if !passive_j {
                    let g = dot(self.row(j), out);
                    if g < worst {
                        worst = g;
                        enter = j;
                    }
                }
            }
            if enter == usize::MAX {
                break;
            }
            passive.push(enter);
            alpha.push(0.0);
            in_passive[enter] = true;
            // Inner loop of Lawson–Hanson: move toward the least-squares solution on the passive
            // set, dropping rows whose multiplier would turn negative.
            let mut stuck = false;
            loop {
                let Some(a) = self.least_squares(v, &passive) else {
                    // The entering row is dependent on the passive ones (rounding): stop here.
                    let j = passive.pop().expect("entered");
                    alpha.pop();
                    in_passive[j] = false;
                    stuck = true;
                    break;
                };
                if a.iter().all(|&x| x > 0.0) {
                    alpha = a;
                    break;
                }
                let mut t = 1.0_f64;
                for (old, new) in alpha.iter().zip(&a) {
                    if *new <= 0.0 {
                        t = t.min(old / (old - new));
                    }
                }
                for (old, new) in alpha.iter_mut().zip(&a) {
                    *old += t * (new - *old);
                }
                let mut k = 0;
                while k < passive.len() {
                    if alpha[k] <= 1e-15 * vn {
                        in_passive[passive[k]] = false;
                        passive.swap_remove(k);
                        alpha.swap_remove(k);
                    } else {
                        k += 1;
                    }
                }
                if passive.is_empty() {
                    alpha.clear();
                    break;
                }
            }
            if stuck {
                break;
            }
        }
        self.combine(v, &passive, &alpha, out);
        state.passive = passive.clone();
        passive.into_iter().zip(alpha).collect()
    }

    /// [`project`](Self::project) by the QR-based Lawson–Hanson of [`NnlsWork`], from an empty
    /// passive set: the fallback when the normal equations were too ill-conditioned.
    fn project_qr(&self, v: &[f64], out: &mut [f64], state: &mut ProjState) -> Vec<(usize, f64)> {
        // Π_K(v) = v + B̂ᵀα* with α* = argmin_{α ≥ 0} ‖(−B̂ᵀ)α − v‖: the residual of that NNLS.
        let negated: Vec<f64> = self.rows.iter().map(|r| -r).collect();
        let mut work = NnlsWork::new(self.h);
        work.solve(&negated, self.len(), v, 0.0);
        out.copy_from_slice(&work.r);
        state.passive = work.passive.clone();
        work.passive.iter().map(|&j| (j, work.x[j])).collect()
    }

    /// `out ← v + Σ_k α_k B̂_{S_k}`.
    fn combine(&self, v: &[f64], passive: &[usize], alpha: &[f64], out: &mut [f64]) {
        out.copy_from_slice(v);
        for (&j, &a) in passive.iter().zip(alpha) {
            for (o, b) in out.iter_mut().zip(self.row(j)) {
                *o += a * b;
            }
        }
    }

    /// `argmin_a ‖v + B̂_Sᵀ a‖` by the normal equations (Cholesky); `None` when singular.
    fn least_squares(&self, v: &[f64], s: &[usize]) -> Option<Vec<f64>> {
        let k = s.len();
        let mut g = vec![0.0; k * k];
        let mut rhs = vec![0.0; k];
        for a in 0..k {
            let ra = self.row(s[a]);
            rhs[a] = -dot(ra, v);
            for b in 0..=a {
                let val = match &self.gram {
                    Some(gm) => gm[s[a] * self.len() + s[b]],
                    None => dot(ra, self.row(s[b])),
                };
                g[a * k + b] = val;
                g[b * k + a] = val;
            }
        }
        cholesky_solve(&mut g, &mut rhs, k, PIVOT)?;
        Some(rhs)
    }
}

/// Whether `p = v + B̂ᵀα` (`α ≥ 0`, `B̂p ≥ 0` up to the rows' tolerance: what Lawson–Hanson
/// returns) is trusted as `Π_K(v)`: `‖p‖ ≤ ‖v‖` (`0 ∈ K`) and the complementarity
/// `⟨p, p − v⟩ = Σ α_j B̂_j p` at most [`COMPLEMENTARITY`]`·‖v‖²`. For such a `p`,
/// `‖p − Π_K(v)‖² ≤ ⟨p, p − v⟩` (both `p` and `Π_K(v)` lie in `K`, both `v − p` and `v − Π_K(v)` in
/// its polar), so the test bounds the error by `1e-5‖v‖`. The normal equations of a nearly
/// dependent passive set fail it by orders of magnitude: on digits with 3×3 filters (integer
/// pixels, so exactly dependent patch rows are common) 9 passive rows in ℝ⁹ gave `‖p‖ = 1.4` for
/// `‖v‖ = 2.8e-3`, and the ADMM built on such steps diverged to objective 1e43.
fn is_projection(v: &[f64], p: &[f64]) -> bool {
    let vv = dot(v, v);
    let pp = dot(p, p);
    pp <= vv * (1.0 + 1e-12) && (pp - dot(p, v)).abs() <= COMPLEMENTARITY * vv
}

/// Largest `⟨p, p − v⟩ / ‖v‖²` a projection by the normal equations is trusted with (measured on
/// one round of that digits generation: 1.75 % of the projections fall back to the QR solver at
/// this value, 30 % at 1e-12, 0.01 % at 1e-8).
const COMPLEMENTARITY: f64 = 1e-10;

/// Cones of all patterns from their signed rows.
pub fn cones(b: &[Array2<f64>]) -> Vec<PolyCone> {
    b.iter().map(|bi| PolyCone::new(bi.view())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::Array2;
    use rand::{RngExt, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// Projection facts: feasibility, complementarity, and the variational inequality
    /// `⟨v − p, u − p⟩ ≤ 0` against random points `u` of the cone (conic combinations of feasible
    /// points found by rejection).
    #[test]
    fn projection_is_the_euclidean_projection() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        for trial in 0..200 {
            let h = 2 + trial % 6;
            let m = 1 + trial % 25;
            // Rows around a common direction so the cone has interior (a pattern's cone does).
            let g: Vec<f64> = (0..h).map(|_| rng.random_range(-1.0..1.0)).collect();
            let b = Array2::from_shape_fn((m, h), |(_, k)| g[k] + rng.random_range(-1.5..1.5));
            let cone = PolyCone::new(b.view());
            let mut state = ProjState::default();
            for _ in 0..5 {
                let v: Vec<f64> = (0..h).map(|_| rng.random_range(-2.0..2.0)).collect();
                let mut p = vec![0.0; h];
                let act = cone.project(&v, &mut p, &mut state);
                let vn = dot(&v, &v).sqrt();
                assert!(
                    cone.min_row_value(&p) >= -1e-12 * vn,
                    "trial {trial}: infeasible"
                );
                // v − p = −Σ α B̂ with α ≥ 0 and ⟨p, B̂_j⟩ = 0 on the passive rows.
                for &(j, a) in &act {
                    assert!(a > 0.0);
                    assert!(dot(cone.row(j), &p).abs() <= 1e-10 * vn);
                }
                let d: Vec<f64> = v.iter().zip(&p).map(|(a, b)| a - b).collect();
                assert!(dot(&d, &p).abs() <= 1e-10 * vn * vn);
                for _ in 0..50 {
                    let u: Vec<f64> = (0..h).map(|_| rng.random_range(-2.0..2.0)).collect();
                    if cone.min_row_value(&u) >= 0.0 {
                        let e: Vec<f64> = u.iter().zip(&p).map(|(a, b)| a - b).collect();
                        assert!(dot(&d, &e) <= 1e-10 * vn * vn, "trial {trial}");
                    }
                }
            }
        }
    }

    /// One pattern's cone from the digits generation (3×3 patches of integer pixels, signed; the
    /// rows are nearly dependent): the normal equations return a point hundreds of times longer
    /// than `v`, which the check rejects, and the QR fallback gives the projection.
    #[test]
    fn nearly_dependent_rows_still_give_the_projection() {
        const ROWS: [[f64; 9]; 17] = [
            [-6.0, -12.0, -13.0, -14.0, -12.0, -7.0, -6.0, -6.0, -14.0],
            [-15.0, -14.0, -9.0, -8.0, -9.0, -16.0, -6.0, -14.0, -15.0],
            [0.0, 0.0, -1.0, 0.0, 0.0, -2.0, 0.0, 0.0, -1.0],
            [0.0, 0.0, 8.0, 0.0, 0.0, 12.0, 0.0, 0.0, 7.0],
            [-16.0, -5.0, -4.0, -12.0, -16.0, -16.0, -7.0, -16.0, -16.0],
            [13.0, 0.0, 1.0, 16.0, 13.0, 15.0, 9.0, 16.0, 16.0],
            [-3.0, -16.0, 0.0, -15.0, -16.0, -10.0, -11.0, -8.0, -16.0],
            [-13.0, -15.0, -13.0, -16.0, -16.0, 0.0, -3.0, -9.0, -10.0],
            [9.0, 16.0, 16.0, 16.0, 15.0, 15.0, 10.0, 0.0, 8.0],
            [16.0, 12.0, 0.0, 16.0, 11.0, 1.0, 13.0, 16.0, 9.0],
            [0.0, -1.0, -13.0, 0.0, 0.0, -2.0, -1.0, -3.0, -11.0],
            [2.0, 0.0, 0.0, 10.0, 0.0, 0.0, 16.0, 1.0, 0.0],
            [0.0, 0.0, 0.0, 0.0, 8.0, 4.0, 0.0, 7.0, 13.0],
            [-11.0, -9.0, 0.0, -9.0, -10.0, -10.0, -3.0, -11.0, -9.0],
            [-3.0, 0.0, -5.0, -9.0, -12.0, -5.0, 0.0, -6.0, -12.0],
            [-9.0, -1.0, 0.0, -12.0, -6.0, 0.0, -16.0, -5.0, 0.0],
            [-15.0, -2.0, 0.0, -5.0, -11.0, 0.0, -15.0, -8.0, 0.0],
        ];
        const V: [f64; 9] = [
            -0.0013418101477659513,
            -0.0007823603984293602,
            0.00038348883553310047,
            -0.0008267835218436476,
            -0.0003056276774149112,
            0.00036094389985952437,
            -0.0010954133787872981,
            0.0013863833211872243,
            -0.0012018511528366174,
        ];
        let b = Array2::from_shape_fn((ROWS.len(), 9), |(i, k)| ROWS[i][k]);
        let cone = PolyCone::new(b.view());
        let (vv, vn) = (dot(&V, &V), dot(&V, &V).sqrt());
        let mut fast = vec![0.0; 9];
        cone.project_normal(&V, &mut fast, &mut ProjState::default());
        assert!(
            dot(&fast, &fast) > 100.0 * vv,
            "the normal equations alone fail on this cone"
        );
        assert!(!is_projection(&V, &fast));
        let mut p = vec![0.0; 9];
        let act = cone.project(&V, &mut p, &mut ProjState::default());
        // Feasible, p − v = Σ α_j B̂_j with α > 0 on rows that p meets with equality, and
        // ⟨p, p − v⟩ = 0: the KKT conditions of the projection.
        assert!(cone.min_row_value(&p) >= -1e-12 * vn);
        let mut combined = V.to_vec();
        for &(j, a) in &act {
            assert!(a > 0.0);
            assert!(dot(cone.row(j), &p).abs() <= 1e-12 * vn);
            for (c, r) in combined.iter_mut().zip(cone.row(j)) {
                *c += a * r;
            }
        }
        let gap: f64 = combined.iter().zip(&p).map(|(c, q)| (c - q).powi(2)).sum();
        assert!(gap.sqrt() <= 1e-12 * vn);
        assert!((dot(&p, &p) - dot(&p, &V)).abs() <= 1e-12 * vv);
        assert!(dot(&p, &p) <= vv);
    }
}
