//! Lawson–Hanson nonnegative least squares: the public [`nnls`] and the reusable workspace
//! [`NnlsWork`] that the extreme-ray reduction drives directly.

use ndarray::ArrayView2;

use super::{axpy, dot4, max_abs, unit_into};

/// NNLS optimality: stop when every free column has c_j·r ≤ W_TOL · ‖c_j‖ · ‖t‖.
pub(crate) const W_TOL: f64 = 1e-13;
/// NNLS: a unit column whose component orthogonal to the passive columns is ≤ DEP_TOL is dependent.
const DEP_TOL: f64 = 1e-10;

/// Result of a nonnegative least-squares solve min_{α ≥ 0} ‖C α − t‖₂.
///
/// At the optimum the KKT conditions hold: α ≥ 0, Cᵀr ≤ 0 and α_j (Cᵀr)_j = 0 with r = t − Cα,
/// so r·t = ‖r‖² and r separates t from cone(C) whenever r ≠ 0.
#[derive(Debug, Clone, PartialEq)]
pub struct Nnls {
    /// The minimiser α ≥ 0, one entry per column of C (zero columns get α_j = 0).
    pub alpha: Vec<f64>,
    /// The residual r = t − C α.
    pub residual: Vec<f64>,
    /// ‖r‖₂, the Euclidean distance from t to cone(C).
    pub norm: f64,
}

/// Lawson–Hanson nonnegative least squares: α* = argmin_{α ≥ 0} ‖C α − t‖₂.
///
/// `columns` is m × h: each ROW of the view is one column c_j ∈ ℝʰ of C (so C = columnsᵀ), and
/// `target` is t ∈ ℝʰ. Any m works (including m = 0 and m > h) and zero columns are ignored. The
/// active-set method keeps the passive columns linearly independent (at most h of them) and solves
/// the least-squares subproblems with an incrementally updated QR factorisation; it stops when
/// (Cᵀr)_j ≤ 1e-13 ‖c_j‖ ‖t‖ for every column outside the passive set.
///
/// # Panics
/// If `target.len() != columns.ncols()`.
pub fn nnls(columns: ArrayView2<f64>, target: &[f64]) -> Nnls {
    let (m, h) = columns.dim();
    assert_eq!(
        target.len(),
        h,
        "nnls: target has length {} but the columns have dimension {}",
        target.len(),
        h
    );
    // Scale the target so that its largest entry is 1 and normalise every column: the core
    // solver works with unit columns, and the scales are undone on α.
    let t_scale = max_abs(target.iter().copied());
    let mut alpha = vec![0.0; m];
    if t_scale > 0.0 && t_scale.is_finite() {
        let t: Vec<f64> = target.iter().map(|v| v / t_scale).collect();
        let mut unit = vec![0.0; m * h];
        let mut inv_norm = vec![0.0; m];
        for ((row, dst), inv) in columns
            .rows()
            .into_iter()
            .zip(unit.chunks_exact_mut(h.max(1)))
            .zip(inv_norm.iter_mut())
        {
            if let Some(norm) = unit_into(row.iter().copied(), dst) {
                *inv = 1.0 / norm;
            }
        }
        let mut work = NnlsWork::new(h);
        work.solve(&unit, m, &t, 0.0);
        for ((a, x), inv) in alpha.iter_mut().zip(&work.x).zip(&inv_norm) {
            *a = x * inv * t_scale;
        }
    }
    // Residual in the caller's scale, computed directly from α.
    let mut residual = target.to_vec();
    for (row, &a) in columns.rows().into_iter().zip(&alpha) {
        if a != 0.0 {
            for (r, c) in residual.iter_mut().zip(row.iter()) {
                *r -= a * c;
            }
        }
    }
    let norm = robust_norm(&residual);
    Nnls {
        alpha,
        residual,
        norm,
    }
}

/// ‖v‖₂ without overflow or underflow for finite entries.
fn robust_norm(v: &[f64]) -> f64 {
    let s = max_abs(v.iter().copied());
    if s == 0.0 || !s.is_finite() {
        return s;
    }
    s * v.iter().map(|x| (x / s) * (x / s)).sum::<f64>().sqrt()
}

// ---------------------------------------------------------------------------------------------
// Lawson–Hanson NNLS on unit columns with reusable storage.

pub(super) const FREE: u8 = 0;
pub(super) const PASSIVE: u8 = 1;
pub(super) const REJECTED: u8 = 2;

/// Workspace of the Lawson–Hanson solver for columns in ℝʰ. After the first few calls it
/// performs no allocation (vectors only grow to the largest number of columns seen).
pub(crate) struct NnlsWork {
    h: usize,
    /// Current iterate α (one entry per column).
    pub(crate) x: Vec<f64>,
    /// Gradient Cᵀr of the free columns.
    w: Vec<f64>,
    state: Vec<u8>,
    /// Passive columns, in the order of the QR factorisation.
    pub(crate) passive: Vec<usize>,
    scratch_idx: Vec<usize>,
    /// Number of columns in the QR factorisation (= passive.len() outside rebuilds).
    k: usize,
    /// Q: k orthonormal vectors, q[i*h..(i+1)*h].
    q: Vec<f64>,
    /// R: upper triangular, R[i][l] = rmat[i*h + l].
    rmat: Vec<f64>,
    /// Qᵀt.
    qt: Vec<f64>,
    /// Least-squares solution on the passive set (passive order).
    z: Vec<f64>,
    /// Residual t − Cx.
    pub(crate) r: Vec<f64>,
    v: Vec<f64>,
    coef: Vec<f64>,
    /// Cap on outer iterations (besides the usual 3n + 3h + 10).
    pub(crate) max_outer: usize,
}

impl NnlsWork {
    pub(crate) fn new(h: usize) -> Self {
        NnlsWork {
            h,
            x: Vec::new(),
            w: Vec::new(),
            state: Vec::new(),
            passive: Vec::with_capacity(h),
            scratch_idx: Vec::with_capacity(h),
            k: 0,
            q: vec![0.0; h * h],
            rmat: vec![0.0; h * h],
            qt: vec![0.0; h],
            z: vec![0.0; h],
            r: vec![0.0; h],
            v: vec![0.0; h],
            coef: vec![0.0; h],
            max_outer: usize::MAX,
        }
    }

    /// Appends the unit column `c` to the QR factorisation (modified Gram–Schmidt, two passes).
    /// Returns false, leaving the factorisation unchanged, when c is (numerically) dependent.
    fn push_qr(&mut self, c: &[f64], t: &[f64]) -> bool {
        let h = self.h;
        let k = self.k;
        if k >= h {
            return false;
        }
        let NnlsWork {
            q,
            rmat,
            qt,
            v,
            coef,
            ..
        } = self;
        v.copy_from_slice(c);
        coef[..k].iter_mut().for_each(|x| *x = 0.0);
        for _ in 0..2 {
            for i in 0..k {
                let qi = &q[i * h..(i + 1) * h];
                let d = dot4(qi, v);
                coef[i] += d;
                axpy(-d, qi, v);
            }
        }
        let nv = dot4(v, v).sqrt();
        if nv.is_nan() || nv <= DEP_TOL {
            return false;
        }
        let qk = &mut q[k * h..(k + 1) * h];
        for (a, b) in qk.iter_mut().zip(v.iter()) {
            *a = b / nv;
        }
        for i in 0..k {
            rmat[i * h + k] = coef[i];
        }
        rmat[k * h + k] = nv;
        qt[k] = dot4(qk, t);
        self.k += 1;
        true
    }

    /// z = R⁻¹ Qᵀt on the current factorisation.
    fn solve_z(&mut self) {
        let h = self.h;
        for i in (0..self.k).rev() {
            let mut s = self.qt[i];
            for l in i + 1..self.k {
                s -= self.rmat[i * h + l] * self.z[l];
            }
            self.z[i] = s / self.rmat[i * h + i];
        }
    }

    /// Refactors the passive columns with x > 0; the others return to the free set with x = 0.
    fn rebuild(&mut self, cols: &[f64], t: &[f64]) {
        let h = self.h;
        std::mem::swap(&mut self.passive, &mut self.scratch_idx);
        self.passive.clear();
        self.k = 0;
        for p in 0..self.scratch_idx.len() {
            let j = self.scratch_idx[p];
            if self.x[j] > 0.0 && self.push_qr(&cols[j * h..(j + 1) * h], t) {
                self.passive.push(j);
            } else {
                self.x[j] = 0.0;
                self.state[j] = FREE;
            }
        }
    }

    /// Solves min_{x ≥ 0} ‖C x − t‖ for the n unit (or zero) columns stored row-wise in `cols`
    /// (cols[j*h..(j+1)*h] is c_j). Stops early once ‖r‖ ≤ `stop` (x stays feasible, so it is
    /// still a certificate). Leaves x in `self.x[..n]`, r in `self.r` and returns ‖r‖.
    pub(crate) fn solve(&mut self, cols: &[f64], n: usize, t: &[f64], stop: f64) -> f64 {
        let h = self.h;
        self.x.clear();
        self.x.resize(n, 0.0);
        self.w.clear();
        self.w.resize(n, 0.0);
        self.state.clear();
        self.state.resize(n, FREE);
        self.passive.clear();
        self.k = 0;
        self.r.copy_from_slice(t);
        let tnorm = dot4(t, t).sqrt();
        let mut rnorm = tnorm;
        if tnorm.is_nan() || tnorm <= 0.0 || n == 0 || h == 0 {
            return rnorm;
        }
        let wtol = W_TOL * tnorm;
        let max_outer = (3 * n + 3 * h + 10).min(self.max_outer);
        'outer: for _ in 0..max_outer {
            if rnorm <= stop {
                break;
            }
            for j in 0..n {
                if self.state[j] != PASSIVE {
                    self.state[j] = FREE;
                    self.w[j] = dot4(&cols[j * h..(j + 1) * h], &self.r);
                }
            }
            // Entering column: largest gradient whose LS coefficient comes out positive.
            loop {
                let mut best = None;
                let mut bw = wtol;
                for j in 0..n {
                    if self.state[j] == FREE && self.w[j] > bw {
                        bw = self.w[j];
                        best = Some(j);
                    }
                }
                let Some(j) = best else { break 'outer };
                if !self.push_qr(&cols[j * h..(j + 1) * h], t) {
                    self.state[j] = REJECTED;
                    continue;
                }
                self.passive.push(j);
                self.state[j] = PASSIVE;
                self.solve_z();
                if self.z[self.k - 1] > 0.0 {
                    break;
                }
                self.k -= 1;
                self.passive.pop();
                self.state[j] = REJECTED;
            }
            // Inner loop: move towards the LS solution until it is feasible.
            for _ in 0..=h + 1 {
                let k = self.k;
                if self.z[..k].iter().all(|&v| v > 0.0) {
                    for (p, &j) in self.passive.iter().enumerate() {
                        self.x[j] = self.z[p];
                    }
                    break;
                }
                // Largest step keeping x ≥ 0; the blocking column leaves the passive set.
                let mut step = f64::INFINITY;
                let mut blocking = None;
                for (p, &j) in self.passive.iter().enumerate() {
                    if self.z[p] <= 0.0 {
                        let d = self.x[j] - self.z[p];
                        let a = if d > 0.0 { self.x[j] / d } else { 0.0 };
                        if a < step {
                            step = a;
                            blocking = Some(p);
                        }
                    }
                }
                // Only a non-finite z leaves no blocking column; keep the feasible iterate.
                let Some(blocking) = blocking else { break };
                let step = step.min(1.0);
                for (p, &j) in self.passive.iter().enumerate() {
                    self.x[j] += step * (self.z[p] - self.x[j]);
                }
                let jb = self.passive[blocking];
                self.x[jb] = 0.0;
                self.rebuild(cols, t);
                self.solve_z();
            }
            // Residual from the (feasible) iterate.
            self.r.copy_from_slice(t);
            for &j in &self.passive {
                axpy(-self.x[j], &cols[j * h..(j + 1) * h], &mut self.r);
            }
            rnorm = dot4(&self.r, &self.r).sqrt();
        }
        rnorm
    }
}

#[cfg(test)]
mod tests;
