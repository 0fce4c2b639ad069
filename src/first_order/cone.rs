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

use crate::linalg::{cholesky_solve, dot};

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
    pub fn project(&self, v: &[f64], out: &mut [f64], state: &mut ProjState) -> Vec<(usize, f64)> {
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
}
