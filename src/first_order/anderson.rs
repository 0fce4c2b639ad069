//! Type-II Anderson acceleration of a fixed-point iteration, as the ADMM of [`super::admm`] uses it.

use crate::linalg::dot;

/// Type-II Anderson acceleration of the fixed-point map `ξ ↦ ξ + g(ξ)` with memory `m`
/// (Walker & Ni 2011; as in SCS 3): `ξ⁺ = ξ + g − (ΔΞ + ΔG)γ`, `γ = argmin ‖g − ΔG γ‖`.
pub(super) struct Anderson {
    m: usize,
    last: Option<(Vec<f64>, Vec<f64>)>,
    dxi: std::collections::VecDeque<Vec<f64>>,
    dg: std::collections::VecDeque<Vec<f64>>,
}

impl Anderson {
    pub(super) fn new(m: usize, _len: usize) -> Self {
        Self {
            m,
            last: None,
            dxi: Default::default(),
            dg: Default::default(),
        }
    }

    pub(super) fn reset(&mut self) {
        self.last = None;
        self.dxi.clear();
        self.dg.clear();
    }

    /// Records the pair `(ξ, g(ξ))` of an accepted step.
    pub(super) fn push(&mut self, xi: &[f64], g: &[f64]) {
        if self.m == 0 {
            return;
        }
        if let Some((lx, lg)) = &self.last {
            self.dxi
                .push_back(xi.iter().zip(lx).map(|(a, b)| a - b).collect());
            self.dg
                .push_back(g.iter().zip(lg).map(|(a, b)| a - b).collect());
            if self.dxi.len() > self.m {
                self.dxi.pop_front();
                self.dg.pop_front();
            }
        }
        self.last = Some((xi.to_vec(), g.to_vec()));
    }

    pub(super) fn extrapolate(&self, xi: &[f64], g: &[f64]) -> Option<Vec<f64>> {
        let k = self.dg.len();
        if k == 0 {
            return None;
        }
        // Normal equations with a small Tikhonov term.
        let mut a = vec![0.0; k * k];
        let mut b = vec![0.0; k];
        for i in 0..k {
            b[i] = dot(&self.dg[i], g);
            for j in 0..=i {
                let v = dot(&self.dg[i], &self.dg[j]);
                a[i * k + j] = v;
                a[j * k + i] = v;
            }
        }
        let tr: f64 = (0..k).map(|i| a[i * k + i]).sum();
        if !(tr > 0.0 && tr.is_finite()) {
            return None;
        }
        for i in 0..k {
            a[i * k + i] += 1e-10 * tr;
        }
        let gamma = cholesky_solve(&mut a, &mut b, k)?;
        if gamma.iter().map(|v| v * v).sum::<f64>() > 1e12 {
            return None;
        }
        let mut next: Vec<f64> = xi.iter().zip(g).map(|(a, b)| a + b).collect();
        for (i, gi) in gamma.iter().enumerate() {
            for ((n, dx), dg) in next.iter_mut().zip(&self.dxi[i]).zip(&self.dg[i]) {
                *n -= gi * (dx + dg);
            }
        }
        Some(next)
    }
}

/// Solves `A x = b` (`k × k`, symmetric positive definite, row-major) in place; `None` if not.
fn cholesky_solve(a: &mut [f64], b: &mut [f64], k: usize) -> Option<Vec<f64>> {
    crate::linalg::cholesky_solve(a, b, k, 0.0)?;
    Some(b.to_vec())
}
