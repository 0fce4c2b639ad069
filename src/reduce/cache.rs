//! A cache of simplicial cones that recently certified redundancy: the cheapest redundancy test
//! of the extreme-ray search.

use super::rows::Rows;
use crate::linalg::{axpy, dot4};
use faer::linalg::matmul::matmul;
use faer::{Accum, MatMut, MatRef, Par};

/// Number of simplicial cones remembered by [`SimplexCache`].
const CACHE_SIZE: usize = 32;
/// A cached cone's circular cone around the gate is used when its sine c is in (CAP_MIN, 1 − CAP_MIN).
const CAP_MIN: f64 = 1e-6;
/// What [`SimplexCache::gate_cap`] adds to the cosine for rounding.
pub(super) const CAP_SLACK: f64 = 1e-9;
/// Rows tested together by [`SimplexCache::sift`].
const CHUNK: usize = 512;

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
    /// Batch scratch (h × CHUNK each, column-major by row): tested rows, λ, residuals; and M.
    bt: Vec<f64>,
    bl: Vec<f64>,
    br: Vec<f64>,
    bm: Vec<f64>,
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
            bt: vec![0.0; h * CHUNK],
            bl: vec![0.0; h * CHUNK],
            br: vec![0.0; h * CHUNK],
            bm: vec![0.0; h * h],
        }
    }

    /// Experimental: (axis, cos) of every cached cone's inscribed circular cone.
    /// The widest circular cone {u : ĝ·u ≥ cos} around the unit direction `gh` that lies inside a
    /// cached simplicial cone, as its `cos` (a bound with room for rounding), when some cached cone
    /// holds `gh` in its interior with an inverse accurate to `tol`.
    ///
    /// Why a unit row u with ĝ·u ≥ cos is certified: for the rows a_i of the stored inverse and
    /// c_i = â_i·ĝ ≥ c > 0, â_i·u ≥ (ĝ·u)·c_i − √(1 − c_i²)·√(1 − (ĝ·u)²), which is positive
    /// when ĝ·u > √(1 − c²); so λ = M⁻¹u ≥ 0 exactly, and ‖u − Mλ‖ ≤ ‖I − M·M⁻¹‖ ≤ tol. The
    /// margin [`CAP_SLACK`] absorbs the rounding of the unit vectors and dot products (≈ 1e-15).
    pub(super) fn gate_cap(&self, cols: &[f64], gh: &[f64], tol: f64) -> Option<f64> {
        let h = self.h;
        let mut best: Option<f64> = None;
        for slot in 0..self.len {
            let inv = &self.inv[slot * h * h..(slot + 1) * h * h];
            let members = &self.members[slot * h..(slot + 1) * h];
            let c = inv
                .chunks_exact(h)
                .map(|a| dot4(a, gh) / dot4(a, a).sqrt())
                .fold(f64::INFINITY, f64::min);
            if !(c > CAP_MIN && c < 1.0 - CAP_MIN) || best.is_some_and(|b| b >= c) {
                continue;
            }
            // ‖I − M·M⁻¹‖_F: each entry as computed, plus the rounding of its h products and
            // h + 1 sums (at most γ_{h+1}·(1 + Σ_i |M_ai||M⁻¹_ib|), γ_k = k·u/(1 − k·u)).
            let unit = f64::EPSILON / 2.0;
            let gamma = (h + 1) as f64 * unit / (1.0 - (h + 1) as f64 * unit);
            let mut err2 = 0.0;
            for a in 0..h {
                for b in 0..h {
                    // (M·M⁻¹)_{ab} = Σ_i M_{ai} (M⁻¹)_{ib}, M_{ai} = cols[members[i]·h + a].
                    let mut v = if a == b { 1.0 } else { 0.0 };
                    let mut abs = 1.0;
                    for (i, &m) in members.iter().enumerate() {
                        let p = cols[m * h + a] * inv[i * h + b];
                        v -= p;
                        abs += p.abs();
                    }
                    let e = v.abs() + gamma * abs;
                    err2 += e * e;
                }
            }
            let bound = err2.sqrt() * (1.0 + 1e-6);
            if bound <= 0.5 * tol {
                best = Some(c);
            }
        }
        best.map(|c| (1.0 - c * c).sqrt() + CAP_SLACK)
    }

    /// Number of cached cones.
    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// The positions `left` of `rows` that the most recently useful cached cone does not certify,
    /// in their order, appended to `out`. The same test as [`Self::certifies`] (λ = M⁻¹t ≥ 0 and
    /// a recomputed ‖t − Mλ‖ ≤ tol), done for CHUNK rows at a time as two matrix products. The
    /// signs cancel in the residual: for t = −u, λ = −M⁻¹u and t − Mλ = −(u − M·M⁻¹u).
    pub(super) fn sift(
        &mut self,
        cols: &[f64],
        rows: &Rows,
        left: &[usize],
        tol: f64,
        out: &mut Vec<usize>,
    ) {
        let h = self.h;
        let slot = self.order[0];
        let inv = &self.inv[slot * h * h..(slot + 1) * h * h];
        for (i, &c) in self.members[slot * h..(slot + 1) * h].iter().enumerate() {
            for a in 0..h {
                self.bm[a * h + i] = cols[c * h + a];
            }
        }
        let base = rows.base;
        let inv = MatRef::from_row_major_slice(inv, h, h);
        let m = MatRef::from_row_major_slice(&self.bm, h, h);
        for chunk in left.chunks(CHUNK) {
            let w = chunk.len();
            // Column j: the unsigned base row of chunk[j].
            for (j, &q) in chunk.iter().enumerate() {
                let b = rows.base_of(q);
                self.bt[j * h..(j + 1) * h].copy_from_slice(&base.pos[b * h..(b + 1) * h]);
            }
            let t = MatRef::from_column_major_slice(&self.bt[..w * h], h, w);
            let mut lam = MatMut::from_column_major_slice_mut(&mut self.bl[..w * h], h, w);
            matmul(lam.as_mut(), Accum::Replace, inv, t, 1.0, Par::Seq);
            self.br[..w * h].copy_from_slice(&self.bt[..w * h]);
            let res = MatMut::from_column_major_slice_mut(&mut self.br[..w * h], h, w);
            matmul(res, Accum::Add, m, lam.as_ref(), -1.0, Par::Seq);
            for (j, &q) in chunk.iter().enumerate() {
                let s = if rows.flipped(q) { -1.0 } else { 1.0 };
                let inside = self.bl[j * h..(j + 1) * h].iter().all(|&l| s * l >= 0.0);
                let r = &self.br[j * h..(j + 1) * h];
                if !(inside && dot4(r, r).sqrt() <= tol) {
                    out.push(q);
                }
            }
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

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;
    use rand_distr::{Distribution, StandardNormal};

    fn unit(v: &mut [f64]) {
        let n = dot4(v, v).sqrt();
        v.iter_mut().for_each(|x| *x /= n);
    }

    fn gauss(rng: &mut ChaCha8Rng, h: usize) -> Vec<f64> {
        (0..h).map(|_| StandardNormal.sample(rng)).collect()
    }

    /// The circular cone of [`SimplexCache::gate_cap`] lies inside the cached simplicial cone
    /// (every unit row in it has λ = M⁻¹u ≥ 0 and a residual ≤ tol) and is the widest one: a row
    /// just outside it, towards the nearest facet, has a negative λ.
    #[test]
    fn the_gate_cap_is_inside_the_cached_cone_and_as_wide_as_it_can_be() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let tol = 1e-10;
        for &h in &[3usize, 5, 9] {
            for _ in 0..20 {
                // h unit rows around a random direction: a pointed simplicial cone.
                let mut axis = gauss(&mut rng, h);
                unit(&mut axis);
                let mut cols = Vec::new();
                for _ in 0..h {
                    let mut c = gauss(&mut rng, h);
                    unit(&mut c);
                    axpy(1.5, &axis, &mut c);
                    unit(&mut c);
                    cols.extend_from_slice(&c);
                }
                let mut cache = SimplexCache::new(h);
                let members: Vec<usize> = (0..h).collect();
                cache.insert(&cols, &members);
                assert_eq!(cache.len(), 1);
                // The gate: the mean of the rows, inside the cone.
                let mut gh = vec![0.0; h];
                for c in cols.chunks_exact(h) {
                    axpy(1.0, c, &mut gh);
                }
                unit(&mut gh);
                let cos = cache.gate_cap(&cols, &gh, tol).expect("a cap");
                assert!(cos > 0.0 && cos < 1.0, "cos {cos}");
                let inv = &cache.inv[..h * h];
                let lambda =
                    |u: &[f64]| -> Vec<f64> { inv.chunks_exact(h).map(|a| dot4(a, u)).collect() };
                // A unit vector at angle φ from ĝ towards `w` (w ⊥ ĝ, unit).
                let at = |cos_phi: f64, w: &[f64]| -> Vec<f64> {
                    let s = (1.0 - cos_phi * cos_phi).max(0.0).sqrt();
                    gh.iter().zip(w).map(|(g, w)| cos_phi * g + s * w).collect()
                };
                let perp = |mut w: Vec<f64>| -> Vec<f64> {
                    let d = dot4(&w, &gh);
                    axpy(-d, &gh, &mut w);
                    unit(&mut w);
                    w
                };
                for _ in 0..200 {
                    let w = perp(gauss(&mut rng, h));
                    let u = at(cos, &w);
                    let l = lambda(&u);
                    assert!(l.iter().all(|&v| v >= 0.0), "λ {l:?} at the cap's edge");
                    let mut r = u.clone();
                    for (i, li) in l.iter().enumerate() {
                        axpy(-li, &cols[i * h..(i + 1) * h], &mut r);
                    }
                    assert!(dot4(&r, &r).sqrt() <= tol);
                }
                // Towards the nearest facet: the row of M⁻¹ with the smallest â·ĝ.
                let (i_min, _) = inv
                    .chunks_exact(h)
                    .map(|a| dot4(a, &gh) / dot4(a, a).sqrt())
                    .enumerate()
                    .fold(
                        (0, f64::INFINITY),
                        |b, (i, c)| if c < b.1 { (i, c) } else { b },
                    );
                let mut away: Vec<f64> = inv[i_min * h..(i_min + 1) * h].to_vec();
                away.iter_mut().for_each(|v| *v = -*v);
                let w = perp(away);
                let outside = at(cos - 1e-6, &w);
                assert!(
                    lambda(&outside)[i_min] < 0.0,
                    "a row just outside the cap is still inside facet {i_min}"
                );
            }
        }
    }

    /// The chunked test of [`SimplexCache::sift`] certifies exactly the rows that
    /// [`SimplexCache::certifies`] certifies one by one, for rows read with either sign.
    #[test]
    fn sifting_in_chunks_certifies_what_the_row_test_certifies() {
        use crate::reduce::rows::{Base, Rows};
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let h = 6;
        let n = 1500;
        // The first h rows generate a wide simplicial cone around e_0: e_0 ± 2·e_i.
        let mut u = Vec::new();
        for i in 0..h {
            let mut r = vec![0.0; h];
            r[0] = 1.0;
            if i == 0 {
                r.iter_mut().skip(1).for_each(|v| *v = -2.0);
            } else {
                r[i] = 2.0 * h as f64;
            }
            unit(&mut r);
            u.extend_from_slice(&r);
        }
        for _ in h..n {
            let mut r = gauss(&mut rng, h);
            r[0] += 2.0;
            unit(&mut r);
            u.extend_from_slice(&r);
        }
        let base = Base::new(u, h, true);
        let flip: Vec<bool> = (0..n).map(|j| j >= h && j % 7 == 3).collect();
        let rows = Rows::signed(&base, flip, vec![5, 9], [false, true].into_iter());
        // A cached cone of h rows with their given signs.
        let members: Vec<usize> = (0..h).collect();
        let mut cols = Vec::new();
        for &q in &members {
            cols.extend_from_slice(rows.row(q));
        }
        let mut cache = SimplexCache::new(h);
        cache.insert(&cols, &(0..h).collect::<Vec<_>>());
        let all: Vec<usize> = (0..rows.len()).collect();
        let mut left = Vec::new();
        cache.sift(&cols, &rows, &all, 1e-10, &mut left);
        let expect: Vec<usize> = all
            .iter()
            .copied()
            .filter(|&q| !cache.certifies(&cols, rows.row(q), 1e-10))
            .collect();
        assert_eq!(left, expect);
        assert!(
            left.len() > 100 && left.len() < rows.len() - 100,
            "{} left",
            left.len()
        );
    }
}
