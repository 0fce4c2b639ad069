//! A cache of simplicial cones that recently certified redundancy: the cheapest redundancy test
//! of the extreme-ray search.

use crate::linalg::{axpy, dot4};

/// Number of simplicial cones remembered by [`SimplexCache`].
const CACHE_SIZE: usize = 32;

/// Recently certifying simplicial cones: h linearly independent kept rows M = [c_1 … c_h] with
/// M⁻¹ stored, so t ∈ cone(M) iff λ = M⁻¹t ≥ 0. The rows of M⁻¹ are tried one at a time (most
/// misses stop after one or two dot products) and a hit is certified by recomputing t − Mλ.
pub(super) struct SimplexCache {
    h: usize,
    len: usize,
    /// Slots, most recently useful first.
    order: Vec<usize>,
    /// members[slot * h + i]: index (into the kept rows) of column i of the slot's M.
    members: Vec<usize>,
    /// inv[slot * h * h + i * h + j] = (M⁻¹)_{ij}.
    inv: Vec<f64>,
    lambda: Vec<f64>,
    r: Vec<f64>,
    /// Gauss–Jordan scratch, h × 2h.
    aug: Vec<f64>,
}

impl SimplexCache {
    pub(super) fn new(h: usize) -> Self {
        SimplexCache {
            h,
            len: 0,
            order: Vec::with_capacity(CACHE_SIZE),
            members: vec![0; CACHE_SIZE * h],
            inv: vec![0.0; CACHE_SIZE * h * h],
            lambda: vec![0.0; h],
            r: vec![0.0; h],
            aug: vec![0.0; 2 * h * h],
        }
    }

    /// True when some cached cone contains t with a directly verified residual ≤ tol.
    pub(super) fn certifies(&mut self, cols: &[f64], t: &[f64], tol: f64) -> bool {
        let h = self.h;
        for pos in 0..self.len {
            let slot = self.order[pos];
            let inv = &self.inv[slot * h * h..(slot + 1) * h * h];
            let mut inside = true;
            for (i, row) in inv.chunks_exact(h).enumerate() {
                let l = dot4(row, t);
                if l.is_nan() || l < 0.0 {
                    inside = false;
                    break;
                }
                self.lambda[i] = l;
            }
            if !inside {
                continue;
            }
            self.r.copy_from_slice(t);
            for i in 0..h {
                let c = self.members[slot * h + i];
                axpy(-self.lambda[i], &cols[c * h..(c + 1) * h], &mut self.r);
            }
            if dot4(&self.r, &self.r).sqrt() <= tol {
                self.order[..=pos].rotate_right(1);
                return true;
            }
        }
        false
    }

    /// Remembers the cone of the h kept rows `members` (skipped if numerically singular).
    pub(super) fn insert(&mut self, cols: &[f64], members: &[usize]) {
        let h = self.h;
        if members.len() != h {
            return;
        }
        // [M | I] with M[a][i] = c_i[a]; Gauss–Jordan with partial pivoting.
        let w = 2 * h;
        let aug = &mut self.aug;
        aug.iter_mut().for_each(|v| *v = 0.0);
        for (i, &c) in members.iter().enumerate() {
            for a in 0..h {
                aug[a * w + i] = cols[c * h + a];
            }
        }
        for a in 0..h {
            aug[a * w + h + a] = 1.0;
        }
        for col in 0..h {
            let mut piv = col;
            for a in col + 1..h {
                if aug[a * w + col].abs() > aug[piv * w + col].abs() {
                    piv = a;
                }
            }
            let pivot = aug[piv * w + col].abs();
            if pivot.is_nan() || pivot <= 1e-10 {
                return;
            }
            if piv != col {
                for b in 0..w {
                    aug.swap(piv * w + b, col * w + b);
                }
            }
            let d = aug[col * w + col];
            for b in 0..w {
                aug[col * w + b] /= d;
            }
            for a in 0..h {
                if a != col {
                    let f = aug[a * w + col];
                    if f != 0.0 {
                        for b in 0..w {
                            aug[a * w + b] -= f * aug[col * w + b];
                        }
                    }
                }
            }
        }
        let slot = if self.len < CACHE_SIZE {
            self.len += 1;
            self.order.push(self.len - 1);
            self.len - 1
        } else {
            self.order[self.len - 1]
        };
        for i in 0..h {
            for j in 0..h {
                self.inv[slot * h * h + i * h + j] = self.aug[i * w + h + j];
            }
        }
        self.members[slot * h..(slot + 1) * h].copy_from_slice(members);
        let pos = self.order.iter().position(|&s| s == slot).unwrap_or(0);
        self.order[..=pos].rotate_right(1);
    }
}
