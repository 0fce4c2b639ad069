//! Lawson–Hanson on the normal equations of a growing set of unit columns: the fast first attempt
//! of the extreme-ray reduction's redundancy tests.

use super::nnls::{FREE, PASSIVE, REJECTED};
use super::{axpy, dot4};

/// Gram pivots below this (squared length of a unit column's component orthogonal to the
/// passive columns) count as dependent.
const GRAM_DEP: f64 = 1e-12;

/// Fast first attempt at min_{x ≥ 0} ‖Eᵀx − t‖ for the kept rows E: the Gram matrix G = E Eᵀ is
/// extended whenever a row is kept, so a solve costs O(|E| h) for E t plus O(|E| k) per
/// iteration (k ≤ h passive columns, Cholesky factor updated in O(k²)). Normal equations lose
/// accuracy on ill-conditioned passive sets, so the answer is only trusted through the residual
/// t − Eᵀx recomputed directly; the QR solver [`NnlsWork`](super::NnlsWork) handles everything else.
pub(crate) struct GramNnls {
    h: usize,
    pub(crate) n: usize,
    stride: usize,
    /// G[i][j] = g[i * stride + j].
    g: Vec<f64>,
    ct: Vec<f64>,
    x: Vec<f64>,
    w: Vec<f64>,
    state: Vec<u8>,
    pub(crate) passive: Vec<usize>,
    scratch_idx: Vec<usize>,
    pub(crate) k: usize,
    /// Lower-triangular Cholesky factor of G_PP, L[i][m] = l[i * h + m].
    l: Vec<f64>,
    y: Vec<f64>,
    z: Vec<f64>,
    /// Residual t − Eᵀx of the last solve.
    r: Vec<f64>,
}

impl GramNnls {
    pub(crate) fn new(h: usize) -> Self {
        GramNnls {
            h,
            n: 0,
            stride: 0,
            g: Vec::new(),
            ct: Vec::new(),
            x: Vec::new(),
            w: Vec::new(),
            state: Vec::new(),
            passive: Vec::with_capacity(h),
            scratch_idx: Vec::with_capacity(h),
            k: 0,
            l: vec![0.0; h * h],
            y: vec![0.0; h],
            z: vec![0.0; h],
            r: vec![0.0; h],
        }
    }

    /// Extends G by the last column of `cols` (which holds n + 1 columns).
    pub(crate) fn push_column(&mut self, cols: &[f64]) {
        let h = self.h;
        let n = self.n;
        if n + 1 > self.stride {
            let stride = (2 * self.stride).max(16);
            let mut g = vec![0.0; stride * stride];
            for i in 0..n {
                g[i * stride..i * stride + n]
                    .copy_from_slice(&self.g[i * self.stride..i * self.stride + n]);
            }
            self.g = g;
            self.stride = stride;
        }
        let cn = &cols[n * h..(n + 1) * h];
        for i in 0..=n {
            let d = dot4(&cols[i * h..(i + 1) * h], cn);
            self.g[i * self.stride + n] = d;
            self.g[n * self.stride + i] = d;
        }
        self.n = n + 1;
    }

    /// Appends column j to the Cholesky factor of G_PP; false when it is (nearly) dependent.
    fn chol_push(&mut self, j: usize) -> bool {
        let h = self.h;
        let k = self.k;
        if k >= h {
            return false;
        }
        let s = self.stride;
        let mut norm2 = 0.0;
        for i in 0..k {
            let mut v = self.g[self.passive[i] * s + j];
            for m in 0..i {
                v -= self.l[i * h + m] * self.l[k * h + m];
            }
            v /= self.l[i * h + i];
            self.l[k * h + i] = v;
            norm2 += v * v;
        }
        let d = self.g[j * s + j] - norm2;
        if d.is_nan() || d <= GRAM_DEP {
            return false;
        }
        self.l[k * h + k] = d.sqrt();
        self.k += 1;
        true
    }

    /// z = G_PP⁻¹ (E t)_P.
    fn solve_z(&mut self) {
        let h = self.h;
        let k = self.k;
        for i in 0..k {
            let mut v = self.ct[self.passive[i]];
            for m in 0..i {
                v -= self.l[i * h + m] * self.y[m];
            }
            self.y[i] = v / self.l[i * h + i];
        }
        for i in (0..k).rev() {
            let mut v = self.y[i];
            for m in i + 1..k {
                v -= self.l[m * h + i] * self.z[m];
            }
            self.z[i] = v / self.l[i * h + i];
        }
    }

    fn rebuild(&mut self) {
        std::mem::swap(&mut self.passive, &mut self.scratch_idx);
        self.passive.clear();
        self.k = 0;
        for p in 0..self.scratch_idx.len() {
            let j = self.scratch_idx[p];
            // passive must hold the first k columns while the factor row is computed.
            if self.x[j] > 0.0 && self.chol_push(j) {
                self.passive.push(j);
            } else {
                self.x[j] = 0.0;
                self.state[j] = FREE;
            }
        }
    }

    /// Lawson–Hanson for the columns `cols` (the n unit rows whose Gram matrix is held) and
    /// target t; returns the directly recomputed ‖t − Eᵀx‖ (x ≥ 0 always, so it certifies).
    pub(crate) fn solve(&mut self, cols: &[f64], t: &[f64]) -> f64 {
        let h = self.h;
        let n = self.n;
        let s = self.stride;
        self.ct.clear();
        self.ct
            .extend((0..n).map(|j| dot4(&cols[j * h..(j + 1) * h], t)));
        self.x.clear();
        self.x.resize(n, 0.0);
        self.w.clear();
        self.w.resize(n, 0.0);
        self.state.clear();
        self.state.resize(n, FREE);
        self.passive.clear();
        self.k = 0;
        let tnorm = dot4(t, t).sqrt();
        let wtol = 1e-12 * tnorm;
        'outer: for _ in 0..3 * n + 3 * h + 10 {
            for j in 0..n {
                if self.state[j] != PASSIVE {
                    self.state[j] = FREE;
                    let row = &self.g[j * s..j * s + n];
                    let mut v = self.ct[j];
                    for &p in &self.passive {
                        v -= row[p] * self.x[p];
                    }
                    self.w[j] = v;
                }
            }
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
                if !self.chol_push(j) {
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
            let mut feasible = false;
            for _ in 0..=h + 1 {
                let k = self.k;
                if self.z[..k].iter().all(|&v| v > 0.0) {
                    for (p, &j) in self.passive.iter().enumerate() {
                        self.x[j] = self.z[p];
                    }
                    feasible = true;
                    break;
                }
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
                let Some(blocking) = blocking else { break };
                let step = step.min(1.0);
                for (p, &j) in self.passive.iter().enumerate() {
                    self.x[j] += step * (self.z[p] - self.x[j]);
                }
                let jb = self.passive[blocking];
                self.x[jb] = 0.0;
                self.rebuild();
                self.solve_z();
            }
            // h independent passive columns reproduce t exactly: nothing left to gain.
            if !feasible || self.k == h {
                break;
            }
        }
        self.r.copy_from_slice(t);
        for &j in &self.passive {
            axpy(-self.x[j], &cols[j * h..(j + 1) * h], &mut self.r);
        }
        dot4(&self.r, &self.r).sqrt()
    }
}
